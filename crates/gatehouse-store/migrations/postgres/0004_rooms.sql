-- Rooms, room grants, and the participants connected to rooms on every node (SPEC §6).
-- Timestamps are Unix milliseconds.

CREATE TABLE rooms (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- What a user gets when connecting through `connect`: an ApiScope, stored as given.
CREATE TABLE room_grants (
    project_id UUID NOT NULL,
    room_name TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, room_name, user_id),
    FOREIGN KEY (project_id, room_name) REFERENCES rooms (project_id, name) ON DELETE CASCADE
);

-- One row per live connection. `node_id` is the process holding the socket; it refreshes
-- `last_seen` of its rows, and a row not refreshed for 30 s belongs to a node that died.
CREATE TABLE room_participants (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL,
    room_name TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    api_key_id UUID NOT NULL,
    node_id UUID NOT NULL,
    connected_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX room_participants_by_room ON room_participants (project_id, room_name, connected_at);
CREATE INDEX room_participants_by_node ON room_participants (node_id);
CREATE INDEX room_participants_by_last_seen ON room_participants (last_seen);

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

-- The nodes holding room connections: each stamps `last_seen` every few seconds, and a node not
-- heard of for 30 s is taken for dead, its participants removed.
CREATE TABLE room_nodes (
    node_id UUID PRIMARY KEY,
    last_seen BIGINT NOT NULL
);
CREATE INDEX room_nodes_by_last_seen ON room_nodes (last_seen);

-- One row per live connection, held by `node_id`.
CREATE TABLE room_participants (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL,
    room_name TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    api_key_id UUID NOT NULL,
    node_id UUID NOT NULL,
    connected_at BIGINT NOT NULL
);
CREATE INDEX room_participants_by_room ON room_participants (project_id, room_name, connected_at);
CREATE INDEX room_participants_by_node ON room_participants (node_id);

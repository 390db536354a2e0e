//! The room connections held by this node. Each connection has a bounded queue of outgoing
//! frames; delivering an event to a room puts one shared copy of the frame in each queue, so a
//! fan-out to a thousand participants serialises the event once.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::{Audience, Presence};
use crate::ids::{ApiKeyId, ParticipantId, ProjectId};

/// Frames a connection may have waiting; a participant that falls this far behind is dropped
/// rather than holding memory for ever.
pub const QUEUE_FRAMES: usize = 256;

/// A room: its project and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomKey {
    pub project_id: ProjectId,
    pub name: String,
}

impl RoomKey {
    /// The key of room `name` of `project_id`.
    pub fn new(project_id: ProjectId, name: &str) -> Self {
        Self {
            project_id,
            name: name.to_owned(),
        }
    }
}

/// Why the server closes a connection: a WebSocket close code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    /// The API key that signed the participant's token was revoked.
    pub const KEY_REVOKED: Self = Self {
        code: 1008,
        reason: "the API key of this participant token was revoked",
    };
    /// The node is shutting down.
    pub const SHUTDOWN: Self = Self {
        code: 1001,
        reason: "the server is shutting down",
    };
    /// The participant did not read its frames fast enough.
    pub const TOO_SLOW: Self = Self {
        code: 1008,
        reason: "the participant fell too far behind reading events",
    };
}

/// What a connection's task sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A text frame.
    Frame(Arc<str>),
    /// Close the connection.
    Close(Close),
}

struct Local {
    presence: Presence,
    tx: mpsc::Sender<Outbound>,
}

/// This node's participants, by room.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<RoomKey, HashMap<ParticipantId, Local>>>,
}

impl Hub {
    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomKey, HashMap<ParticipantId, Local>>> {
        // A panic while holding the lock leaves the maps consistent: every change is one insert
        // or remove.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a participant; the receiver yields what its connection must send.
    pub fn join(&self, presence: Presence) -> mpsc::Receiver<Outbound> {
        let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
        self.rooms()
            .entry(presence.room())
            .or_default()
            .insert(presence.id, Local { presence, tx });
        rx
    }

    /// Removes a participant; false when it was already gone.
    pub fn leave(&self, p: &Presence) -> bool {
        let mut rooms = self.rooms();
        let Entry::Occupied(mut room) = rooms.entry(p.room()) else {
            return false;
        };
        let removed = room.get_mut().remove(&p.id).is_some();
        if room.get().is_empty() {
            room.remove();
        }
        removed
    }

    /// This node's participants in a room, oldest first.
    pub fn local(&self, room: &RoomKey) -> Vec<Presence> {
        let mut out: Vec<Presence> = self
            .rooms()
            .get(room)
            .map(|m| m.values().map(|l| l.presence.clone()).collect())
            .unwrap_or_default();
        out.sort_by_key(|p| (p.connected_at, p.id));
        out
    }

    /// Queues `frame` for the audience's participants on this node; the number it reached.
    /// A participant whose queue is full is dropped: its connection closes with [`Close::TOO_SLOW`].
    pub fn deliver(&self, room: &RoomKey, to: &Audience, frame: &Arc<str>) -> usize {
        let mut rooms = self.rooms();
        let Some(members) = rooms.get_mut(room) else {
            return 0;
        };
        let mut reached = 0;
        members.retain(|_, l| {
            if !to.includes(&l.presence) {
                return true;
            }
            match l.tx.try_send(Outbound::Frame(frame.clone())) {
                Ok(()) => {
                    reached += 1;
                    true
                }
                // Dropping the sender ends the connection's queue: it closes as too slow.
                Err(mpsc::error::TrySendError::Full(_)) => false,
                // The connection is on its way out and will leave by itself.
                Err(mpsc::error::TrySendError::Closed(_)) => true,
            }
        });
        if members.is_empty() {
            rooms.remove(room);
        }
        reached
    }

    /// Closes every connection `which` selects, telling it why; the connections leave their rooms
    /// as they close.
    pub fn close_where(&self, which: impl Fn(&Presence) -> bool, why: Close) -> usize {
        let mut closed = 0;
        for members in self.rooms().values() {
            for l in members.values().filter(|l| which(&l.presence)) {
                // A full queue cannot take the close; the connection still ends when it drains.
                let _ = l.tx.try_send(Outbound::Close(why));
                closed += 1;
            }
        }
        closed
    }

    /// The API keys that signed the tokens of this node's participants.
    pub fn api_keys(&self) -> Vec<ApiKeyId> {
        let mut keys: Vec<ApiKeyId> = self
            .rooms()
            .values()
            .flat_map(|m| m.values().map(|l| l.presence.api_key_id))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// How many participants this node holds.
    pub fn len(&self) -> usize {
        self.rooms().values().map(HashMap::len).sum()
    }

    /// Whether this node holds no participant.
    pub fn is_empty(&self) -> bool {
        self.rooms().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::NodeId;
    use crate::time::Timestamp;

    fn presence(room: &str, name: &str) -> Presence {
        Presence {
            id: ParticipantId::from_uuid(uuid::Uuid::new_v4()),
            project_id: ProjectId::from_uuid(uuid::Uuid::nil()),
            room_name: room.into(),
            name: name.into(),
            role: "user".into(),
            api_key_id: ApiKeyId::from_uuid(uuid::Uuid::nil()),
            node_id: NodeId::from_uuid(uuid::Uuid::nil()),
            connected_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn events_reach_their_audience_in_their_room_only() {
        let hub = Hub::default();
        let (a, b, c) = (presence("r", "alice"), presence("r", "bob"), presence("other", "alice"));
        let (mut ra, mut rb, mut rc) = (hub.join(a.clone()), hub.join(b.clone()), hub.join(c));
        let frame: Arc<str> = Arc::from("{}");
        let room = a.room();
        let everyone_but_a = Audience::Room {
            except: Some(a.id.uuid()),
        };
        assert_eq!(hub.deliver(&room, &everyone_but_a, &frame), 1);
        assert!(ra.try_recv().is_err());
        assert_eq!(rb.try_recv().unwrap(), Outbound::Frame(frame.clone()));
        let alice = Audience::Identity { name: "alice".into() };
        assert_eq!(hub.deliver(&room, &alice, &frame), 1);
        assert!(ra.try_recv().is_ok());
        assert!(rc.try_recv().is_err(), "another room is not reached");
        assert_eq!(hub.local(&room).len(), 2);
        assert!(hub.leave(&b));
        assert!(!hub.leave(&b));
        assert_eq!(hub.len(), 2);
    }

    #[test]
    fn a_participant_that_stops_reading_is_dropped_not_buffered_for_ever() {
        let hub = Hub::default();
        let p = presence("r", "slow");
        let mut rx = hub.join(p.clone());
        let frame: Arc<str> = Arc::from("{}");
        let all = Audience::Room { except: None };
        for _ in 0..QUEUE_FRAMES {
            assert_eq!(hub.deliver(&p.room(), &all, &frame), 1);
        }
        assert_eq!(hub.deliver(&p.room(), &all, &frame), 0);
        assert!(hub.is_empty());
        for _ in 0..QUEUE_FRAMES {
            assert!(rx.try_recv().is_ok());
        }
        assert!(matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)));
    }

    #[test]
    fn closing_by_key_tells_the_connection_why() {
        let hub = Hub::default();
        let p = presence("r", "a");
        let mut rx = hub.join(p.clone());
        assert_eq!(hub.close_where(|q| q.api_key_id == p.api_key_id, Close::KEY_REVOKED), 1);
        assert_eq!(rx.try_recv().unwrap(), Outbound::Close(Close::KEY_REVOKED));
    }
}

//! The room connections held by this node. Each connection has a bounded queue of outgoing
//! frames and, beside it, a close signal that overtakes whatever is queued; delivering an event to a
//! room puts one shared copy of the frame in each queue, so a fan-out to a thousand participants
//! serialises the event once.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};

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

/// What a joined connection sends: queued frames, until the close signal says otherwise. When the
/// queue ends without a close signal, the participant fell behind ([`Close::TOO_SLOW`]).
pub struct Membership {
    pub frames: mpsc::Receiver<Arc<str>>,
    pub closed: watch::Receiver<Option<Close>>,
}

struct Local {
    presence: Presence,
    frames: mpsc::Sender<Arc<str>>,
    close: watch::Sender<Option<Close>>,
}

impl Local {
    /// Signals the close; the caller removes the entry, which ends the frame queue too.
    fn close(&self, why: Close) {
        self.close.send_replace(Some(why));
    }
}

type Rooms = HashMap<RoomKey, HashMap<ParticipantId, Local>>;

/// This node's participants, by room.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<Rooms>,
    /// Set at shutdown: nobody joins any more.
    closing: AtomicBool,
    /// Participants from their join until their departure is recorded and announced (a closed
    /// participant is out of the map before that).
    present: AtomicUsize,
    /// Departures whose record could not be deleted (storage failed); retried by the upkeep.
    unrecorded: Mutex<Vec<Presence>>,
}

impl Hub {
    fn rooms(&self) -> MutexGuard<'_, Rooms> {
        // A panic while holding the lock leaves the maps consistent: every change is one insert
        // or remove.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a participant; `None` once the node is shutting down.
    pub fn join(&self, presence: Presence) -> Option<Membership> {
        let (frames, frames_rx) = mpsc::channel(QUEUE_FRAMES);
        let (close, closed) = watch::channel(None);
        let mut rooms = self.rooms();
        // Checked under the lock that `close_all` takes, so no join slips past it.
        if self.closing.load(Ordering::SeqCst) {
            return None;
        }
        self.present.fetch_add(1, Ordering::SeqCst);
        let local = Local {
            presence,
            frames,
            close,
        };
        rooms
            .entry(local.presence.room())
            .or_default()
            .insert(local.presence.id, local);
        Some(Membership {
            frames: frames_rx,
            closed,
        })
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

    /// Every participant of this node.
    pub fn all(&self) -> Vec<Presence> {
        self.rooms()
            .values()
            .flat_map(|m| m.values().map(|l| l.presence.clone()))
            .collect()
    }

    /// Queues `frame` for the audience's participants on this node. A participant whose queue is
    /// full is dropped, and so closes with [`Close::TOO_SLOW`]; one whose connection is gone is
    /// dropped too (it leaves its room by itself).
    pub fn deliver(&self, room: &RoomKey, to: &Audience, frame: &Arc<str>) {
        let mut rooms = self.rooms();
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        members.retain(|_, l| !to.includes(&l.presence) || l.frames.try_send(frame.clone()).is_ok());
        if members.is_empty() {
            rooms.remove(room);
        }
    }

    /// Closes, at once, every connection `which` selects: it sends nothing more but its close
    /// frame, and then leaves its room.
    pub fn close_where(&self, which: impl Fn(&Presence) -> bool, why: Close) {
        let mut rooms = self.rooms();
        for members in rooms.values_mut() {
            members.retain(|_, l| {
                let selected = which(&l.presence);
                if selected {
                    l.close(why);
                }
                !selected
            });
        }
        rooms.retain(|_, m| !m.is_empty());
    }

    /// Shutdown: closes every connection and refuses new ones.
    pub fn close_all(&self) {
        let mut rooms = self.rooms();
        self.closing.store(true, Ordering::SeqCst);
        for l in rooms.values().flat_map(HashMap::values) {
            l.close(Close::SHUTDOWN);
        }
        rooms.clear();
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

    /// Whether `p` is still in the hub.
    pub fn holds(&self, p: &Presence) -> bool {
        self.rooms().get(&p.room()).is_some_and(|m| m.contains_key(&p.id))
    }

    /// A guard that counts a joined participant as gone when it drops: the end of its departure
    /// (or of a join that failed).
    pub fn departure(&self) -> Departure<'_> {
        Departure(self)
    }

    /// Keeps a departure that could not be recorded, to record and announce later.
    pub fn defer_departure(&self, p: Presence) {
        self.unrecorded().push(p);
    }

    /// The departures that could not be recorded yet.
    pub fn deferred_departures(&self) -> Vec<Presence> {
        std::mem::take(&mut *self.unrecorded())
    }

    fn unrecorded(&self) -> MutexGuard<'_, Vec<Presence>> {
        self.unrecorded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether every participant that joined has left and its departure has been recorded.
    pub fn is_settled(&self) -> bool {
        self.present.load(Ordering::SeqCst) == 0
    }
}

/// The end of a participant's departure (see [`Hub::departure`]).
pub struct Departure<'a>(&'a Hub);

impl Drop for Departure<'_> {
    fn drop(&mut self) {
        self.0.present.fetch_sub(1, Ordering::SeqCst);
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
        let (mut ma, mut mb, mut mc) = (
            hub.join(a.clone()).unwrap(),
            hub.join(b.clone()).unwrap(),
            hub.join(c).unwrap(),
        );
        let frame: Arc<str> = Arc::from("{}");
        let room = a.room();
        let everyone_but_a = Audience::Room {
            except: Some(a.id.uuid()),
        };
        hub.deliver(&room, &everyone_but_a, &frame);
        assert!(ma.frames.try_recv().is_err());
        assert_eq!(mb.frames.try_recv().unwrap(), frame);
        hub.deliver(&room, &Audience::Identity { name: "alice".into() }, &frame);
        assert!(ma.frames.try_recv().is_ok());
        assert!(mc.frames.try_recv().is_err(), "another room is not reached");
        assert_eq!(hub.local(&room).len(), 2);
        assert!(hub.leave(&b));
        assert!(!hub.leave(&b));
        assert_eq!(hub.len(), 2);
    }

    #[test]
    fn a_participant_that_stops_reading_is_dropped_not_buffered_for_ever() {
        let hub = Hub::default();
        let p = presence("r", "slow");
        let mut m = hub.join(p.clone()).unwrap();
        let frame: Arc<str> = Arc::from("{}");
        let all = Audience::Room { except: None };
        for _ in 0..=QUEUE_FRAMES {
            hub.deliver(&p.room(), &all, &frame);
        }
        assert!(hub.is_empty());
        for _ in 0..QUEUE_FRAMES {
            assert!(m.frames.try_recv().is_ok());
        }
        assert!(matches!(
            m.frames.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert_eq!(*m.closed.borrow(), None, "no close signal: it fell behind");
    }

    #[test]
    fn a_close_overtakes_queued_frames_and_ends_the_membership() {
        let hub = Hub::default();
        let p = presence("r", "a");
        let m = hub.join(p.clone()).unwrap();
        hub.deliver(&p.room(), &Audience::Room { except: None }, &Arc::from("{}"));
        hub.close_where(|q| q.api_key_id == p.api_key_id, Close::KEY_REVOKED);
        assert_eq!(*m.closed.borrow(), Some(Close::KEY_REVOKED));
        assert!(hub.is_empty(), "nothing more is delivered to it");
    }

    #[test]
    fn after_close_all_nobody_joins_and_departures_are_awaited() {
        let hub = Hub::default();
        let p = presence("r", "a");
        let m = hub.join(p.clone()).unwrap();
        hub.close_all();
        assert_eq!(*m.closed.borrow(), Some(Close::SHUTDOWN));
        assert!(hub.join(presence("r", "b")).is_none());
        assert!(!hub.holds(&p));
        assert!(!hub.is_settled(), "closed, but its departure is not recorded yet");
        drop(hub.departure());
        assert!(hub.is_settled());
    }
}

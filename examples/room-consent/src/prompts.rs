//! The consent prompts waiting for the person: a short, bounded list in memory.
//!
//! Each prompt gets a small number for the page's links. A prompt leaves the list when it is
//! answered, when its `expires_at` passes (Gatehouse has given up on it by then), or when the list
//! is full and a newer one arrives: the list never holds more than [`CAPACITY`] prompts, whatever
//! the room sends.

use std::collections::VecDeque;

use gatehouse_types::ConsentPrompt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Most prompts kept at once.
pub const CAPACITY: usize = 100;

/// How long a prompt whose `expires_at` cannot be read is kept: the longest a request can wait
/// (SPEC §7.1, `timeout` at most 900 s).
const FALLBACK_LIFETIME: time::Duration = time::Duration::seconds(900);

/// One prompt and what the page needs to show and answer it.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The prompt's number on the page (`/prompts/{n}/…`).
    pub n: u64,
    pub prompt: ConsentPrompt,
    /// When Gatehouse stops waiting for an answer.
    pub expires: OffsetDateTime,
}

/// The prompts, oldest first.
#[derive(Debug)]
pub struct Prompts {
    next: u64,
    items: VecDeque<Pending>,
    capacity: usize,
}

impl Default for Prompts {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Prompts {
    /// An empty list that keeps at most `capacity` prompts (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            next: 1,
            items: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds a prompt received at `now`; its number, or `None` when it is a repeat of one already
    /// listed (same `request_id`) or already expired.
    pub fn add(&mut self, prompt: ConsentPrompt, now: OffsetDateTime) -> Option<u64> {
        self.drop_expired(now);
        let expires = OffsetDateTime::parse(&prompt.expires_at, &Rfc3339).unwrap_or(now + FALLBACK_LIFETIME);
        if expires <= now || self.items.iter().any(|p| p.prompt.request_id == prompt.request_id) {
            return None;
        }
        while self.items.len() >= self.capacity {
            self.items.pop_front();
        }
        let n = self.next;
        self.next += 1;
        self.items.push_back(Pending { n, prompt, expires });
        Some(n)
    }

    /// The prompts still open at `now`, oldest first.
    pub fn open(&mut self, now: OffsetDateTime) -> Vec<Pending> {
        self.drop_expired(now);
        self.items.iter().cloned().collect()
    }

    /// Prompt `n`, if it is still open.
    pub fn get(&mut self, n: u64, now: OffsetDateTime) -> Option<Pending> {
        self.drop_expired(now);
        self.items.iter().find(|p| p.n == n).cloned()
    }

    /// Takes prompt `n` out of the list, to answer it (an answer is given once).
    pub fn take(&mut self, n: u64, now: OffsetDateTime) -> Option<Pending> {
        self.drop_expired(now);
        let i = self.items.iter().position(|p| p.n == n)?;
        self.items.remove(i)
    }

    /// Takes out the prompt whose `state` the provider sent back.
    pub fn take_by_state(&mut self, state: &str, now: OffsetDateTime) -> Option<Pending> {
        self.drop_expired(now);
        let i = self.items.iter().position(|p| p.prompt.state == state)?;
        self.items.remove(i)
    }

    fn drop_expired(&mut self, now: OffsetDateTime) {
        self.items.retain(|p| p.expires > now);
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_types::{ConsentRequest, Requester};

    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).expect("a timestamp")
    }

    fn prompt(id: &str, expires_at: &str) -> ConsentPrompt {
        ConsentPrompt {
            request_id: id.into(),
            requested_by: Requester {
                participant_id: None,
                name: "agent".into(),
            },
            request: ConsentRequest {
                client_id: "client".into(),
                authorization_endpoint: "https://accounts.example.com/authorize".into(),
                scopes: vec!["email".into()],
                redirect_uri: "http://127.0.0.1:3001/callback".into(),
            },
            challenge: None,
            state: format!("state-{id}"),
            expires_at: expires_at.into(),
        }
    }

    const NOW: &str = "2026-01-01T10:00:00Z";
    const LATER: &str = "2026-01-01T10:05:00Z";

    #[test]
    fn prompts_are_numbered_and_answered_once() {
        let mut list = Prompts::default();
        let now = at(NOW);
        assert_eq!(list.add(prompt("a", LATER), now), Some(1));
        assert_eq!(list.add(prompt("b", LATER), now), Some(2));
        assert_eq!(list.add(prompt("a", LATER), now), None, "a repeat is ignored");
        assert_eq!(list.get(2, now).map(|p| p.prompt.request_id), Some("b".into()));
        assert_eq!(list.take_by_state("state-a", now).map(|p| p.n), Some(1));
        assert!(list.take_by_state("state-a", now).is_none());
        assert_eq!(list.take(2, now).map(|p| p.n), Some(2));
        assert!(list.open(now).is_empty());
    }

    #[test]
    fn expired_prompts_are_dropped() {
        let mut list = Prompts::default();
        assert_eq!(list.add(prompt("old", NOW), at(NOW)), None, "expired on arrival");
        list.add(prompt("a", LATER), at(NOW));
        assert_eq!(list.open(at("2026-01-01T10:04:59Z")).len(), 1);
        assert!(list.open(at(LATER)).is_empty());
        assert!(list.take_by_state("state-a", at(LATER)).is_none());
    }

    #[test]
    fn an_unreadable_expiry_keeps_the_prompt_for_the_longest_wait() {
        let mut list = Prompts::default();
        list.add(prompt("a", "soon"), at(NOW));
        assert_eq!(list.open(at("2026-01-01T10:14:59Z")).len(), 1);
        assert!(list.open(at("2026-01-01T10:15:00Z")).is_empty());
    }

    #[test]
    fn a_full_list_drops_its_oldest_prompt() {
        let mut list = Prompts::with_capacity(2);
        let now = at(NOW);
        for id in ["a", "b", "c"] {
            list.add(prompt(id, LATER), now);
        }
        let ids: Vec<_> = list
            .open(now)
            .into_iter()
            .map(|p| p.prompt.request_id.into_secret())
            .collect();
        assert_eq!(ids, ["b", "c"]);
    }
}

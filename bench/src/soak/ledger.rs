//! What the crash soak wrote and what must be readable afterwards.
//!
//! Every object a writer touches has an entry holding the states a read may find. A write adds
//! its outcome to them before it is sent; its 2xx answer (the acknowledgement) then makes that
//! outcome the only acceptable state. A write whose answer never came (the server was killed)
//! leaves both, the old and the new state, acceptable, until a read after the restart shows
//! which one the server kept; from then on that one is the only acceptable state.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// The kinds of objects the soak writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Client,
    ApiKey,
    Room,
    Grant,
    Secret,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Client, Kind::ApiKey, Kind::Room, Kind::Grant, Kind::Secret];

    /// The plural name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Client => "OAuth clients",
            Kind::ApiKey => "API keys",
            Kind::Room => "rooms",
            Kind::Grant => "room grants",
            Kind::Secret => "project secrets",
        }
    }
}

/// An object's state as the soak expects or reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Not there (never created, or deleted).
    Absent,
    /// A confidential client; `secret` is the one the create answer showed, `None` when the
    /// create was not acknowledged (its secret was never seen). A read reports the expected
    /// secret only when the token endpoint accepts it.
    Client {
        name: String,
        secret: Option<String>,
    },
    /// An API key; `value` as for a client's secret (a read reports it only when it
    /// authenticates).
    ApiKey {
        description: String,
        value: Option<String>,
    },
    Room {
        metadata: serde_json::Value,
    },
    Grant {
        permissions: serde_json::Value,
    },
    /// A project secret's decoded data.
    Secret {
        data: String,
    },
    /// A read that shows a half-done or inconsistent object (a client without a secret, a
    /// revoked key that still authenticates, a secret whose data cannot be read).
    Broken(String),
}

/// Identifies an object: its kind and its name within the soak's project.
pub type ObjectKey = (Kind, String);

/// A write in flight: what it will leave if it completes.
#[derive(Debug)]
#[must_use = "acknowledge the write when its 2xx answer arrives"]
pub struct Pending {
    key: ObjectKey,
    outcome: State,
}

/// What a verification found wrong with one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: ObjectKey,
    pub expected: Vec<State>,
    pub found: State,
}

impl Problem {
    /// An object that a read should find but does not.
    pub fn is_lost(&self) -> bool {
        self.found == State::Absent
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?}: expected one of {:?}, found {:?}",
            self.key.0.name(),
            self.key.1,
            redacted(&self.expected),
            redacted(std::slice::from_ref(&self.found))
        )
    }
}

/// States without their credentials, for reports.
fn redacted(states: &[State]) -> Vec<State> {
    states
        .iter()
        .map(|s| match s {
            State::Client { name, secret } => State::Client {
                name: name.clone(),
                secret: secret.as_ref().map(|_| "…".into()),
            },
            State::ApiKey { description, value } => State::ApiKey {
                description: description.clone(),
                value: value.as_ref().map(|_| "…".into()),
            },
            other => other.clone(),
        })
        .collect()
}

/// The result of one verification.
#[derive(Debug, Default)]
pub struct Verified {
    /// Objects read back as expected, per kind.
    pub ok: BTreeMap<Kind, u64>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: BTreeMap<ObjectKey, Vec<State>>,
    acknowledged: BTreeMap<Kind, u64>,
}

/// The soak's record of every write, shared by the writers.
#[derive(Debug, Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
}

impl Ledger {
    /// Records that a write which will leave `outcome` is about to be sent.
    pub fn begin(&self, kind: Kind, name: &str, outcome: State) -> Pending {
        let key = (kind, name.to_owned());
        let mut inner = self.inner.lock().expect("ledger lock");
        let states = inner.entries.entry(key.clone()).or_insert_with(|| vec![State::Absent]);
        if !states.contains(&outcome) {
            states.push(outcome.clone());
        }
        Pending { key, outcome }
    }

    /// The write's 2xx answer arrived: its outcome is now the only acceptable state.
    pub fn acknowledge(&self, pending: Pending) {
        let mut inner = self.inner.lock().expect("ledger lock");
        inner.entries.insert(pending.key.clone(), vec![pending.outcome]);
        *inner.acknowledged.entry(pending.key.0).or_default() += 1;
    }

    /// The write's 2xx answer arrived and showed what the write left (a credential it
    /// generated): `outcome` is now the only acceptable state.
    pub fn acknowledge_as(&self, pending: Pending, outcome: State) {
        self.acknowledge(Pending {
            key: pending.key,
            outcome,
        });
    }

    /// Acknowledged writes per kind so far.
    pub fn acknowledged(&self) -> BTreeMap<Kind, u64> {
        self.inner.lock().expect("ledger lock").acknowledged.clone()
    }

    /// Every object with the states a read may find.
    pub fn expectations(&self) -> Vec<(ObjectKey, Vec<State>)> {
        let inner = self.inner.lock().expect("ledger lock");
        inner.entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Compares what was read (`found`, every object of the soak's project that a read
    /// found; objects missing from it were not found) with the expectations, and narrows each
    /// expectation to the state found. Objects found that no write ever created are problems
    /// too.
    pub fn verify(&self, found: &BTreeMap<ObjectKey, State>) -> Verified {
        let mut inner = self.inner.lock().expect("ledger lock");
        let mut out = Verified::default();
        for (key, expected) in inner.entries.iter_mut() {
            let state = found.get(key).cloned().unwrap_or(State::Absent);
            if expected.contains(&state) {
                *out.ok.entry(key.0).or_default() += 1;
                *expected = vec![state];
            } else {
                out.problems.push(Problem {
                    key: key.clone(),
                    expected: expected.clone(),
                    found: state,
                });
            }
        }
        for (key, state) in found {
            if !inner.entries.contains_key(key) {
                out.problems.push(Problem {
                    key: key.clone(),
                    expected: vec![State::Absent],
                    found: state.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(data: &str) -> State {
        State::Secret { data: data.into() }
    }

    fn room(n: u64) -> State {
        State::Room {
            metadata: serde_json::json!({ "n": n }),
        }
    }

    #[test]
    fn acknowledged_writes_read_back_verify() {
        let ledger = Ledger::default();
        ledger.acknowledge(ledger.begin(Kind::Secret, "s-1", secret("a")));
        ledger.acknowledge(ledger.begin(Kind::Room, "r-1", room(1)));
        let found = BTreeMap::from([
            ((Kind::Secret, "s-1".into()), secret("a")),
            ((Kind::Room, "r-1".into()), room(1)),
        ]);
        let v = ledger.verify(&found);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.ok[&Kind::Secret] + v.ok[&Kind::Room], 2);
        assert_eq!(ledger.acknowledged()[&Kind::Secret], 1);
    }

    #[test]
    fn a_missing_acknowledged_object_is_lost() {
        let ledger = Ledger::default();
        ledger.acknowledge(ledger.begin(Kind::Room, "r-1", room(1)));
        let v = ledger.verify(&BTreeMap::new());
        assert_eq!(v.problems.len(), 1);
        assert!(v.problems[0].is_lost());
    }

    #[test]
    fn an_altered_object_is_a_problem() {
        let ledger = Ledger::default();
        ledger.acknowledge(ledger.begin(Kind::Secret, "s-1", secret("a")));
        ledger.acknowledge(ledger.begin(Kind::Secret, "s-1", secret("b")));
        let v = ledger.verify(&BTreeMap::from([((Kind::Secret, "s-1".into()), secret("a"))]));
        assert_eq!(v.problems.len(), 1, "an update acknowledged but not kept");
        assert!(!v.problems[0].is_lost());
    }

    #[test]
    fn an_acknowledged_delete_must_stay_deleted() {
        let ledger = Ledger::default();
        ledger.acknowledge(ledger.begin(Kind::Secret, "s-1", secret("a")));
        ledger.acknowledge(ledger.begin(Kind::Secret, "s-1", State::Absent));
        let v = ledger.verify(&BTreeMap::from([((Kind::Secret, "s-1".into()), secret("a"))]));
        assert_eq!(v.problems.len(), 1);
    }

    #[test]
    fn an_unacknowledged_write_may_or_may_not_have_happened_until_read() {
        let ledger = Ledger::default();
        let _lost_answer = ledger.begin(Kind::Room, "r-1", room(1));
        assert!(ledger.verify(&BTreeMap::new()).problems.is_empty(), "not kept");
        let _lost_answer = ledger.begin(Kind::Room, "r-2", room(2));
        let kept = BTreeMap::from([((Kind::Room, "r-2".into()), room(2))]);
        assert!(ledger.verify(&kept).problems.is_empty(), "kept");
        // Once read, it must stay as read.
        let v = ledger.verify(&BTreeMap::new());
        assert_eq!(v.problems.len(), 1);
        assert_eq!(v.problems[0].key, (Kind::Room, "r-2".into()));
    }

    #[test]
    fn a_half_done_or_unknown_object_is_a_problem() {
        let ledger = Ledger::default();
        let _lost_answer = ledger.begin(
            Kind::Client,
            "c-1",
            State::Client {
                name: "c".into(),
                secret: None,
            },
        );
        let found = BTreeMap::from([
            ((Kind::Client, "c-1".into()), State::Broken("no client secret".into())),
            ((Kind::Room, "never-written".into()), room(1)),
        ]);
        let v = ledger.verify(&found);
        assert_eq!(v.problems.len(), 2, "{:?}", v.problems);
    }

    #[test]
    fn reports_never_show_credentials() {
        let p = Problem {
            key: (Kind::ApiKey, "k".into()),
            expected: vec![State::ApiKey {
                description: "d".into(),
                value: Some("ma-secret-value".into()),
            }],
            found: State::Client {
                name: "c".into(),
                secret: Some("client-secret-value".into()),
            },
        };
        let text = p.to_string();
        assert!(!text.contains("secret-value"), "{text}");
    }
}

//! Maps domain values to the wire types of gatehouse-types, in one place.

mod broker;

pub(crate) use broker::{oauth_token, offline_token, room_secret_list};

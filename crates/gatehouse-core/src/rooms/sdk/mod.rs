//! The MeshAgent SDK's room protocol, its parts without I/O: the packet framing of messages
//! ([`packets`]), the `[header length][JSON header][binary]` payload and its content kinds
//! ([`payload`]), and how room events read in that protocol ([`events`]). The server's
//! `room_sdk` routes run a connection with them.

pub mod events;
pub mod packets;
pub mod payload;

//! Secret values: redacted `Debug`, explicit access, constant-time equality (SPEC §9.2). The
//! wrappers are defined in `gatehouse_types::secret`, shared with the wire shapes and clients.

pub use gatehouse_types::secret::{Secret, SecretString, ct_eq};

//! Checks of free text that crosses into the domain: protocol values (ids, secrets, codes) and
//! display names. Domain types and use cases share them so that a field is refused with the same
//! words wherever it arrives.

use crate::error::{Error, Result};

/// Checks a protocol value (a client id, a secret, a code): at most `max` bytes, no control
/// characters, and not empty when `required`.
pub(crate) fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if (required && value.is_empty()) || value.len() > max || value.chars().any(char::is_control) {
        let least = if required { 1 } else { 0 };
        return Err(Error::invalid(
            field,
            format!("must be {least}-{max} bytes without control characters"),
        ));
    }
    Ok(())
}

/// Checks a required display name: 1–`max` characters, not blank, no control characters.
pub(crate) fn check_name(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be 1-{max} characters without control characters"),
        ));
    }
    Ok(())
}

//! Device flow user codes (RFC 8628 §6.1): eight characters from an alphabet without vowels or
//! look-alikes, shown as `XXXX-XXXX`, accepted in any case with or without the dash.

use crate::rng::Rng;

/// Consonants only: no vowels (no accidental words), no digits to mistake for letters.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const LEN: usize = 8;

/// A new normalised user code: 20^8 ≈ 2^34.6 possibilities.
pub fn generate(rng: &dyn Rng) -> String {
    let mut out = String::with_capacity(LEN);
    while out.len() < LEN {
        let mut b = [0u8; 16];
        rng.fill(&mut b);
        // Rejection sampling keeps the distribution uniform: 240 = 12 * 20.
        for x in b.into_iter().filter(|x| *x < 240) {
            if out.len() < LEN {
                out.push(char::from(ALPHABET[usize::from(x % 20)]));
            }
        }
    }
    out
}

/// `XXXX-XXXX` for display.
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(4));
    format!("{a}-{b}")
}

/// The normalised code a user typed, or `None` when it cannot be a user code.
pub fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SystemRng;

    #[test]
    fn generated_codes_normalize_to_themselves_in_any_display_form() {
        let code = generate(&SystemRng::default());
        assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        assert_eq!(
            normalize(&display(&code).to_lowercase()).as_deref(),
            Some(code.as_str())
        );
    }

    #[test]
    fn codes_outside_the_alphabet_are_rejected() {
        assert_eq!(normalize("ABCD-EFGH"), None);
        assert_eq!(normalize("BCDF-GHJ"), None);
        assert_eq!(normalize("BCDF-GHJKL"), None);
    }
}

//! The rules a value of the API must keep, written once as the regular expressions the OpenAPI
//! document publishes (`pattern`) and the relay checks (through [`fits`]), so that what the
//! document calls valid is what the relay accepts. Each pattern uses only syntax that reads the
//! same in JSON Schema validators, in Schemathesis' generators and in Rust's `regex`: explicit
//! character ranges written as hex escapes, no `\p{..}`, `\s` or `\w` classes (their meanings
//! differ between engines).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// A label people read (a person's, team's or number's name, a legal hold's reason): no control
/// characters, no invisible or direction-changing ones (zero-width, bidi controls, line and
/// paragraph separators, the BOM), and at least one character that is not white space.
pub const LABEL: &str = r"^[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f]*[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f]*$";
/// One line of text, possibly empty: no control characters.
pub const ONE_LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// Free text that must say something (a note, a message): at least one character that is not
/// white space.
pub const TEXT: &str = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// A role's name: no control characters and of ASCII's punctuation only `-` and `_` (so no
/// markup), not only spaces.
pub const ROLE_NAME: &str = r"^[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]*[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x20\x7f-\xa0\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]*$";
/// A customer tag: no control characters and of ASCII's punctuation only `-`, `_` and `.` (so
/// no list separators or markup), not only spaces.
pub const TAG: &str = r"^[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f\x21-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]*[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x20\x7f-\xa0\x21-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f\x21-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]*$";
/// A skill (a routing attribute): anything but commas and control characters, not only spaces.
pub const SKILL: &str = r"^[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff,\x00-\x1f\x7f-\x9f]*[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff,\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff,\x00-\x1f\x7f-\x9f]*$";
/// An email address as the relay takes it: one `@` with something printable on each side.
pub const EMAIL: &str = r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$";
/// An id Meta mints (phone number, business account, app): digits.
pub const META_ID: &str = r"^[0-9]{1,32}$";
/// A Meta id, or empty (to clear one).
pub const META_ID_OR_EMPTY: &str = r"^([0-9]{1,32})?$";
/// A phone number as people write it: 6 to 15 digits, with spaces, `-`, `(`, `)`, `+` and `/`.
pub const PHONE: &str = r"^[ ()+/-]*([0-9][ ()+/-]*){6,15}$";
/// A token or secret as Meta issues them: 8 to 1024 printable ASCII characters, no spaces.
pub const CREDENTIAL: &str = r"^[!-~]{8,1024}$";
/// A credential, or empty (to remove one).
pub const CREDENTIAL_OR_EMPTY: &str = r"^([!-~]{8,1024})?$";
/// A client's idempotency key (an HTTP header): 1 to 200 printable ASCII characters, no space
/// at either end.
pub const IDEMPOTENCY_KEY: &str = r"^[!-~]([ -~]{0,198}[!-~])?$";
/// A language as an ISO 639 code, lower case (`de`, `en`).
pub const LANGUAGE: &str = r"^[a-z]{2,3}$";

/// Every pattern above (the document may use no other).
pub const ALL: &[&str] = &[
    LABEL,
    ONE_LINE,
    TEXT,
    ROLE_NAME,
    TAG,
    SKILL,
    EMAIL,
    META_ID,
    META_ID_OR_EMPTY,
    PHONE,
    CREDENTIAL,
    CREDENTIAL_OR_EMPTY,
    IDEMPOTENCY_KEY,
    LANGUAGE,
];

/// Whether `value` matches `pattern` (one of the constants of this module).
pub fn fits(pattern: &'static str, value: &str) -> bool {
    static COMPILED: LazyLock<Mutex<HashMap<&'static str, regex::Regex>>> =
        LazyLock::new(Default::default);
    // The lock only hands out a clone (an `Arc` inside); matching happens outside it.
    let re = COMPILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(pattern)
        .or_insert_with(|| regex::Regex::new(pattern).expect("the rules compile"))
        .clone();
    re.is_match(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_need_a_visible_character_and_no_control_characters() {
        for ok in ["Ada", " Ada Lovelace ", "Qualität", "李"] {
            assert!(fits(LABEL, ok), "{ok:?}");
        }
        for bad in [
            "",
            " ",
            "\u{b}",
            "\u{a0}\u{3000}",
            "a\nb",
            "a\u{85}b",
            "x\u{7f}",
        ] {
            assert!(!fits(LABEL, bad), "{bad:?}");
        }
    }

    #[test]
    fn the_white_space_the_rules_name_is_what_rust_trims() {
        // LABEL's "visible" class must be exactly: not a control, not white space, not an
        // invisible or direction-changing character.
        let invisible = |c: char| matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
        for c in (0..0x3100u32)
            .chain([0xfeff, 0xff0c])
            .filter_map(char::from_u32)
        {
            let visible = !c.is_control() && !c.is_whitespace() && !invisible(c);
            assert_eq!(fits(LABEL, &c.to_string()), visible, "{c:?}");
            assert_eq!(fits(TEXT, &c.to_string()), !c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn names_tags_ids_and_credentials() {
        assert!(fits(ROLE_NAME, " Qualität "));
        assert!(!fits(ROLE_NAME, "<b>x</b>"));
        assert!(!fits(ROLE_NAME, "   "));
        assert!(fits(TAG, "vip"));
        assert!(fits(TAG, "stammkunde-köln"));
        assert!(!fits(TAG, "a;b"));
        assert!(!fits(ROLE_NAME, "a.b"));
        assert!(!fits(ROLE_NAME, "admin\u{200b}"));
        assert!(!fits(TAG, "vip\u{2066}"));
        assert!(fits(TAG, "b2b.eu plus"));
        assert!(!fits(TAG, "a*"));
        assert!(fits(SKILL, "Französisch"));
        assert!(!fits(SKILL, "a,b"));
        assert!(fits(EMAIL, "ada@example.com"));
        assert!(!fits(EMAIL, "ada"));
        assert!(!fits(EMAIL, "a@b@c"));
        assert!(fits(META_ID, "200000000000002"));
        assert!(!fits(META_ID, " 2"));
        assert!(fits(PHONE, "+49 30 123456"));
        assert!(!fits(PHONE, "12345"));
        assert!(!fits(PHONE, "+49 30 12345a"));
        assert!(fits(CREDENTIAL, "EAAG-token_1"));
        assert!(!fits(CREDENTIAL, "short"));
        assert!(!fits(CREDENTIAL, "with space in it"));
        assert!(fits(LANGUAGE, "de"));
        assert!(!fits(LANGUAGE, "de-AT"));
    }
}

//! Text from customers (and anything else the relay relays) made safe to print on a terminal.
//!
//! A WhatsApp message can carry control characters, and a terminal obeys them: colour and cursor
//! codes can forge or hide lines, OSC sequences set the window title, write the clipboard
//! (OSC 52) or plant hyperlinks (OSC 8). [`terminal_safe`] removes every escape sequence whole
//! (7-bit `ESC ...` and the 8-bit C1 forms such as U+009B CSI) and every other C1 control, keeps
//! `\n` and `\t`, turns `\r\n` into `\n`, and replaces every other control character (a lone
//! `\r`, backspace, BEL, NUL, DEL, ...) with U+FFFD, so a reader sees that something was there
//! instead of having a line overwritten. All other Unicode (umlauts, emoji, right-to-left
//! scripts) passes unchanged. JSON output needs none of this: serde escapes control characters.

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// 8-bit introducers: CSI, and the string controls OSC, DCS, SOS, PM and APC.
const CSI: char = '\u{9b}';
const STRINGS: [char; 5] = ['\u{9d}', '\u{90}', '\u{98}', '\u{9e}', '\u{9f}'];
/// String Terminator (8-bit; the 7-bit form is `ESC \`).
const ST: char = '\u{9c}';

/// Where the scanner is: in plain text or inside a sequence being removed.
#[derive(Clone, Copy)]
enum State {
    Text,
    /// After `ESC`.
    Escape,
    /// After `ESC` and intermediate bytes (e.g. `ESC (`), waiting for the final byte.
    EscIntermediate,
    /// Inside a CSI: parameters and intermediates until a final byte.
    Csi,
    /// Inside OSC, DCS, SOS, PM or APC: everything until BEL, ST or `ESC \`.
    Str,
    /// After an `ESC` inside a string.
    StrEsc,
}

/// `s` with escape sequences removed and other control characters replaced (see the module
/// documentation); borrowed unchanged when there is nothing to do.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut state = State::Text;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let before_newline = chars.peek() == Some(&'\n');
        state = match state {
            State::Text => text(c, before_newline, &mut out),
            State::Escape => after_escape(c, before_newline, &mut out),
            State::EscIntermediate => match c {
                '\u{20}'..='\u{2f}' => State::EscIntermediate,
                '\u{30}'..='\u{7e}' => State::Text,
                _ => text(c, before_newline, &mut out),
            },
            State::Csi => match c {
                '\u{20}'..='\u{3f}' => State::Csi,
                '\u{40}'..='\u{7e}' => State::Text,
                // Not part of a CSI: the sequence ends and the character is read as text.
                _ => text(c, before_newline, &mut out),
            },
            State::Str => match c {
                BEL | ST => State::Text,
                ESC => State::StrEsc,
                _ => State::Str,
            },
            State::StrEsc => match c {
                '\\' => State::Text,
                // An ESC that is no ST ends the string and starts a new sequence.
                _ => after_escape(c, before_newline, &mut out),
            },
        };
    }
    // A sequence cut off at the end is dropped with what it had consumed.
    Cow::Owned(out)
}

/// Search snippets: `snippet` with the match markers `start`/`end` turned into `on`/`off` (the
/// caller's own highlighting) and everything between them through [`terminal_safe`].
pub fn highlight(snippet: &str, start: char, end: char, on: &str, off: &str) -> String {
    let mut out = String::with_capacity(snippet.len());
    let mut rest = snippet;
    while let Some(i) = rest.find([start, end]) {
        out.push_str(&terminal_safe(&rest[..i]));
        let marker = rest[i..].chars().next().unwrap_or(start);
        out.push_str(if marker == start { on } else { off });
        rest = &rest[i + marker.len_utf8()..];
    }
    out.push_str(&terminal_safe(rest));
    out
}

/// One character of plain text.
fn text(c: char, before_newline: bool, out: &mut String) -> State {
    match c {
        ESC => State::Escape,
        CSI => State::Csi,
        c if STRINGS.contains(&c) => State::Str,
        '\n' | '\t' => {
            out.push(c);
            State::Text
        }
        // A Windows line end.
        '\r' if before_newline => State::Text,
        // The other C1 controls (ST, NEL, IND, SS2, ...) are removed.
        c if ('\u{80}'..='\u{9f}').contains(&c) => State::Text,
        c if c.is_control() => {
            out.push(char::REPLACEMENT_CHARACTER);
            State::Text
        }
        c => {
            out.push(c);
            State::Text
        }
    }
}

/// The character after an `ESC`.
fn after_escape(c: char, before_newline: bool, out: &mut String) -> State {
    match c {
        '[' => State::Csi,
        ']' | 'P' | 'X' | '^' | '_' => State::Str,
        '\u{20}'..='\u{2f}' => State::EscIntermediate,
        // A two-character sequence (`ESC 7`, `ESC c`, `ESC M`, ...).
        c if ('\u{30}'..='\u{7e}').contains(&c) => State::Text,
        // A lone ESC (before a control or non-ASCII character) is dropped; `c` is text.
        _ => text(c, before_newline, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(s: &str) -> String {
        terminal_safe(s).into_owned()
    }

    #[test]
    fn colour_codes_are_removed() {
        assert_eq!(safe("\x1b[1;31mAchtung\x1b[0m!"), "Achtung!");
        assert_eq!(safe("\x1b[38;2;255;0;0mrot\x1b[m"), "rot");
    }

    #[test]
    fn cursor_movement_is_removed() {
        assert_eq!(safe("a\x1b[2A\x1b[10;20H\x1b[2Kb"), "ab");
        assert_eq!(
            safe("\x1b7x\x1b8\x1bM"),
            "x",
            "save/restore cursor, reverse index"
        );
        assert_eq!(safe("\x1b[?25lunsichtbar\x1b[?25h"), "unsichtbar");
        assert_eq!(safe("\x1b(0lqk\x1b(B"), "lqk", "character set switches");
    }

    #[test]
    fn osc_8_hyperlinks_lose_their_target() {
        assert_eq!(
            safe("\x1b]8;;https://evil.example/\x1b\\Ihre Rechnung\x1b]8;;\x1b\\"),
            "Ihre Rechnung"
        );
    }

    #[test]
    fn osc_52_clipboard_writes_are_removed() {
        assert_eq!(safe("Hallo\x1b]52;c;cm0gLXJmIH4K\x07 Welt"), "Hallo Welt");
        assert_eq!(safe("Hallo\x1b]52;c;cm0gLXJmIH4K\x1b\\"), "Hallo");
    }

    #[test]
    fn a_title_set_with_bel_is_removed() {
        assert_eq!(safe("\x1b]0;pwned\x07Hallo"), "Hallo");
        assert_eq!(
            safe("\x1b]2;pwned\u{9c}Hallo"),
            "Hallo",
            "ended by the 8-bit ST"
        );
    }

    #[test]
    fn c1_controls_are_removed() {
        assert_eq!(safe("\u{9b}31mrot\u{9b}0m \u{9b}6n"), "rot ");
        assert_eq!(safe("\u{9d}0;pwned\u{7}x"), "x", "8-bit OSC");
        assert_eq!(safe("\u{90}q\u{9c}x"), "x", "8-bit DCS");
        assert_eq!(safe("a\u{85}b\u{84}c"), "abc", "NEL, IND");
    }

    #[test]
    fn a_carriage_return_cannot_overwrite_a_line() {
        assert_eq!(
            safe("Betrag: 10 EUR\rBetrag: 1000 EUR"),
            "Betrag: 10 EUR\u{fffd}Betrag: 1000 EUR"
        );
        assert_eq!(safe("Zeile 1\r\nZeile 2"), "Zeile 1\nZeile 2");
    }

    #[test]
    fn backspaces_are_replaced() {
        assert_eq!(safe("ja\x08\x08nein"), "ja\u{fffd}\u{fffd}nein");
        assert_eq!(safe("a\x00b\x07c\x7fd"), "a\u{fffd}b\u{fffd}c\u{fffd}d");
    }

    #[test]
    fn plain_text_emoji_and_rtl_pass_untouched() {
        for s in [
            "Grüße aus Köln, Straße 5 – ÄÖÜ äöü ß",
            "Danke 👋🏽👨‍👩‍👧 ✓",
            "שלום مرحبا",
            "Zwei\nZeilen\tmit Tab",
            "",
        ] {
            assert!(
                matches!(terminal_safe(s), Cow::Borrowed(b) if b == s),
                "{s:?}"
            );
        }
        assert_eq!(safe("Grüße \x1b[1m👋\x1b[0m"), "Grüße 👋");
    }

    #[test]
    fn cut_off_and_nested_sequences_leave_nothing_behind() {
        assert_eq!(safe("abc\x1b"), "abc");
        assert_eq!(safe("abc\x1b[12;"), "abc");
        assert_eq!(safe("abc\x1b]0;never ended"), "abc");
        assert_eq!(safe("\x1b\x1b[31mx"), "x");
        assert_eq!(
            safe("\x1b]0;t\x1b[31mx"),
            "x",
            "an ESC inside OSC starts a new sequence"
        );
        assert_eq!(safe("\x1bäx"), "äx", "a lone ESC before non-ASCII");
        // Long runs are handled in a loop, not by recursion.
        assert_eq!(safe(&"\x1b]\x1b".repeat(100_000)), "");
    }

    /// Whatever two control characters surround, nothing but `\n` and `\t` gets through.
    #[test]
    fn no_control_character_survives() {
        let controls: Vec<char> = (0u32..=0x9f)
            .filter_map(char::from_u32)
            .filter(|c| c.is_control())
            .collect();
        for &a in &controls {
            for &b in &controls {
                let out = safe(&format!("{a}[{b}]x{a}y{b}"));
                assert!(
                    out.chars()
                        .all(|c| !c.is_control() || c == '\n' || c == '\t'),
                    "{a:?} {b:?} -> {out:?}"
                );
            }
        }
    }

    #[test]
    fn snippets_keep_their_highlight_and_lose_escapes() {
        assert_eq!(
            highlight(
                "\x1b[31mWo ist \u{2}Bestellung\u{3} \x1b]0;x\x07?",
                '\u{2}',
                '\u{3}',
                "«",
                "»"
            ),
            "Wo ist «Bestellung» ?"
        );
        assert_eq!(
            highlight("ab\x1b\u{2}[2Jc\u{3}", '\u{2}', '\u{3}', "<", ">"),
            "ab<[2Jc>",
            "an ESC split from its sequence by a marker is still removed"
        );
    }
}

//! Customer text made safe for a desktop notification.
//!
//! Notification servers on Linux and the BSDs (the freedesktop.org protocol) read the body as a
//! subset of HTML (`<b>`, `<i>`, `<a href>`, `<img>`, entities), so a customer could style a
//! notification, plant a link or hide words. [`notification_text`] drops control characters
//! (tabs and line breaks become spaces) and, where the body is markup, escapes `&`, `<` and `>`
//! so the text shows exactly as the customer wrote it.
//!
//! The title (the protocol's `summary`) is plain text by the protocol: GNOME Shell, KDE Plasma,
//! dunst and mako escape it themselves, so escaping it here too would show `&amp;` in a name like
//! "Müller & Söhne". macOS and Windows read neither as markup.

/// Whether the notification body is read as markup on this platform.
pub const BODY_IS_MARKUP: bool = cfg!(all(unix, not(target_os = "macos")));

/// `s` without control characters and, if `markup`, with `&`, `<` and `>` escaped.
pub fn notification_text(s: &str, markup: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            '&' if markup => out.push_str("&amp;"),
            '<' if markup => out.push_str("&lt;"),
            '>' if markup => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_body_becomes_plain_escaped_text() {
        assert_eq!(
            notification_text(r#"<b>x</b> & <a href="http://evil">y</a>"#, true),
            r#"&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href="http://evil"&gt;y&lt;/a&gt;"#
        );
        assert_eq!(
            notification_text("&amp; <img src=\"file:///etc/passwd\"/>", true),
            "&amp;amp; &lt;img src=\"file:///etc/passwd\"/&gt;"
        );
    }

    #[test]
    fn control_characters_are_dropped_and_line_breaks_become_spaces() {
        assert_eq!(
            notification_text("\x1b[31mrot\x1b[0m\u{9b}6n\x07", true),
            "[31mrot[0m6n"
        );
        assert_eq!(
            notification_text("Hallo\r\nWelt\tda", false),
            "Hallo  Welt da"
        );
    }

    #[test]
    fn plain_text_is_only_cleaned_of_controls() {
        assert_eq!(
            notification_text("Müller & Söhne <GmbH>\x08", false),
            "Müller & Söhne <GmbH>"
        );
    }

    #[test]
    fn ordinary_text_passes_unchanged() {
        for s in [
            "Grüße aus Köln 👋🏽",
            "שלום مرحبا",
            "Wo ist meine Bestellung 4711?",
        ] {
            assert_eq!(notification_text(s, true), s);
            assert_eq!(notification_text(s, false), s);
        }
    }
}

//! Text for a terminal. Profile names, ARNs and messages come from files and servers rolesh
//! does not control; printed raw, an ESC or CSI sequence in one could move the cursor,
//! rewrite earlier lines or retitle the window. Everything rolesh prints for people (tables,
//! errors, warnings) goes through [`escape`]; shell code for `eval` has its own quoting.

/// `text` with every control character (C0, DEL, C1) written as `\xNN`, so the output is
/// inert on any terminal, and every bidirectional formatting character as `\u{NNNN}`, so a
/// name cannot reorder how the rest of a line reads.
pub fn escape(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() || is_bidi(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            // Control characters (Unicode's Cc) all lie below U+00A0: two hex digits.
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else if is_bidi(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode's explicit bidirectional formatting characters (embeddings, overrides, isolates,
/// and the marks): invisible, and able to make text display in another order than it is.
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// JSON for people and programs alike: serde_json escapes only C0 controls in strings, so DEL
/// and the C1 range (a raw U+009B is a CSI to some terminals) are escaped here, as `\u00XX`,
/// which leaves the JSON equal.
pub fn json(value: &impl serde::Serialize) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    if !text.chars().any(char::is_control) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        // Newlines and indentation are JSON's own; controls inside strings are already \u00XX
        // below 0x20.
        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape("plain-name_1 ü"), "plain-name_1 ü");
        assert_eq!(escape("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(escape("\u{9b}31m"), "\\x9b31m", "C1 CSI");
        assert_eq!(escape("tab\there\nnl\x7f"), "tab\\x09here\\x0anl\\x7f");
        assert_eq!(escape("dev\u{202e}nimda"), "dev\\u{202e}nimda", "a right-to-left override");
    }

    #[test]
    fn json_output_escapes_del_and_c1_and_still_parses_to_the_same_value() {
        let value = serde_json::json!({ "name": "a\u{9b}31mb\u{7f}\u{1b}" });
        let text = json(&value);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }
}

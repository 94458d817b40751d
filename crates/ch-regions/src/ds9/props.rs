//! DS9 properties (`key=value` after a shape's `#`, or on a `global` line) and colours.

/// `key=value` pairs in order; keys are lower-cased, values have their `{}`, `""` or `''`
/// delimiters removed. A word without `=` (e.g. `background`) gives an empty value. An
/// unterminated delimiter runs to the end.
pub(super) fn parse(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return out;
        }
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = &rest[key_end..];
        let Some(after_eq) = rest.strip_prefix('=') else {
            out.push((key, String::new()));
            continue;
        };
        let close = match after_eq.chars().next() {
            Some('{') => Some('}'),
            Some('"') => Some('"'),
            Some('\'') => Some('\''),
            _ => None,
        };
        let (value, next) = match close {
            Some(close) => {
                let inner = &after_eq[1..];
                match inner.find(close) {
                    Some(end) => (&inner[..end], &inner[end + 1..]),
                    None => (inner, ""),
                }
            }
            None => {
                let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                (&after_eq[..end], &after_eq[end..])
            }
        };
        out.push((key, value.to_owned()));
        rest = next;
    }
}

/// A DS9 colour as `#rrggbb`: the named colours DS9 offers, or `#rrggbb` itself (kept as
/// written). `None` for anything else.
pub(super) fn color(value: &str) -> Option<String> {
    if crate::validate::is_hex_color(value) {
        return Some(value.to_owned());
    }
    let hex = match value.to_ascii_lowercase().as_str() {
        "green" => "#00ff00",
        "red" => "#ff0000",
        "blue" => "#0000ff",
        "cyan" => "#00ffff",
        "magenta" => "#ff00ff",
        "yellow" => "#ffff00",
        "white" => "#ffffff",
        "black" => "#000000",
        _ => return None,
    };
    Some(hex.to_owned())
}

/// `text=…` for a label: braces unless the label holds `}`, then quotes; line breaks → spaces.
pub(super) fn text(label: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if !clean.contains('}') {
        format!("text={{{clean}}}")
    } else if !clean.contains('"') {
        format!("text=\"{clean}\"")
    } else if !clean.contains('\'') {
        format!("text='{clean}'")
    } else {
        format!("text={{{}}}", clean.replace('}', ")"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_ds9_properties() {
        let p =
            parse(r#" color=red dashlist=8 3 width=1 font="helvetica 10 normal roman" text={M51 nucleus} background"#);
        assert_eq!(
            p,
            kv(&[
                ("color", "red"),
                ("dashlist", "8"),
                ("3", ""),
                ("width", "1"),
                ("font", "helvetica 10 normal roman"),
                ("text", "M51 nucleus"),
                ("background", "")
            ])
        );
        assert_eq!(
            parse("TEXT='a b' Color=#FF0000"),
            kv(&[("text", "a b"), ("color", "#FF0000")])
        );
        assert_eq!(parse("text={unterminated é"), kv(&[("text", "unterminated é")]));
        assert_eq!(parse("k= x"), kv(&[("k", ""), ("x", "")]));
        assert!(parse("   ").is_empty());
    }

    #[test]
    fn colours() {
        assert_eq!(color("green").as_deref(), Some("#00ff00"));
        assert_eq!(color("Magenta").as_deref(), Some("#ff00ff"));
        assert_eq!(color("#12AbCd").as_deref(), Some("#12AbCd"));
        assert_eq!(color("orange"), None);
        assert_eq!(color("#12345"), None);
    }

    #[test]
    fn text_picks_a_delimiter() {
        assert_eq!(text("M51"), "text={M51}");
        assert_eq!(text("a}b"), "text=\"a}b\"");
        assert_eq!(text("a}\"b"), "text='a}\"b'");
        assert_eq!(text("a}\"'b"), "text={a)\"'b}");
        assert_eq!(text("two\nlines"), "text={two lines}");
    }
}

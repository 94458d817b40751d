//! Header cards: splitting header text into cards and decoding raw value text.
//!
//! Values are kept as raw text and decoded lazily, so a malformed card that the WCS never looks
//! at (a broken `DATE-OBS`, a vendor keyword) cannot make a header unreadable.

use std::collections::BTreeMap;

use crate::WcsError;

/// Largest axis number accepted in indexed keywords (`CTYPEi`, `PCi_j`); the FITS WCS papers
/// limit `i` to 1..=99.
pub(crate) const MAX_AXES: usize = 99;

/// The decoded value of one card.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CardValue {
    Str(String),
    Num(f64),
    Logical(bool),
    /// Anything else (complex numbers, unparseable text), kept trimmed.
    Other(String),
}

/// Decodes a card's raw value text: quoted strings (with `''` escapes, trailing blanks dropped),
/// numbers (including Fortran `D` exponents) and logicals. Text after a `/` comment separator
/// is ignored, so callers may pass either the bare value or the whole value-and-comment field.
pub(crate) fn parse_value(raw: &str) -> CardValue {
    let text = raw.trim_start();
    if let Some(rest) = text.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        return CardValue::Str(out.trim_end().to_string());
    }
    let value = text.split('/').next().unwrap_or("").trim();
    match value {
        "T" => return CardValue::Logical(true),
        "F" => return CardValue::Logical(false),
        _ => {}
    }
    match parse_number(value) {
        Some(v) => CardValue::Num(v),
        None => CardValue::Other(value.to_string()),
    }
}

/// Parses a FITS number: optional sign, digits, optional fraction and an `E` or `D` exponent.
/// Rejects what Rust would otherwise accept but FITS does not (`inf`, `NaN`, hex, `_`).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b"+-.eEdD".contains(&b)) {
        return None;
    }
    let normalised: String = text
        .chars()
        .map(|c| if c == 'd' || c == 'D' { 'E' } else { c })
        .collect();
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Splits header text into `(keyword, raw value)` pairs. Accepts either the FITS layout (a run
/// of 80-character cards with no line breaks, as in `.hdr` dumps) or one card per line. Cards
/// without a value indicator (`COMMENT`, `HISTORY`, blank) are skipped; `END` stops the scan.
pub(crate) fn split_header_text(text: &str) -> Vec<(String, String)> {
    let lines: Vec<String> = if text.contains('\n') {
        text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
    } else {
        let chars: Vec<char> = text.chars().collect();
        chars.chunks(80).map(|c| c.iter().collect()).collect()
    };
    let mut cards = Vec::new();
    for line in lines {
        let keyword: String = line.chars().take(8).collect::<String>().trim().to_string();
        if keyword == "END" {
            break;
        }
        let rest: String = line.chars().skip(8).collect();
        if let Some(value) = rest.strip_prefix("= ").or_else(|| rest.strip_prefix('='))
            && !keyword.is_empty()
        {
            cards.push((keyword, value.to_string()));
        }
    }
    cards
}

/// The header's cards, keyed by upper-case keyword. A repeated keyword keeps its last value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keywords {
    map: BTreeMap<String, String>,
}

impl Keywords {
    pub(crate) fn from_pairs<'a>(cards: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut map = BTreeMap::new();
        for (keyword, value) in cards {
            let key = keyword.trim().to_ascii_uppercase();
            if !key.is_empty() {
                map.insert(key, value.to_string());
            }
        }
        Self { map }
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The raw value text of a keyword, as written.
    pub(crate) fn raw(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// A string-valued keyword. Unquoted text is accepted too (some tools drop the quotes).
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        match parse_value(self.map.get(key)?) {
            CardValue::Str(s) | CardValue::Other(s) => Some(s),
            CardValue::Num(_) | CardValue::Logical(_) => None,
        }
    }

    /// A numeric keyword: `Ok(None)` when absent, an error when present but not a number.
    pub(crate) fn number(&self, key: &str) -> Result<Option<f64>, WcsError> {
        let Some(raw) = self.map.get(key) else {
            return Ok(None);
        };
        match parse_value(raw) {
            CardValue::Num(v) => Ok(Some(v)),
            // A quoted number is a common writer bug; accept it when it parses cleanly.
            CardValue::Str(s) => match parse_number(&s) {
                Some(v) => Ok(Some(v)),
                None => Err(invalid(key, raw)),
            },
            CardValue::Logical(_) | CardValue::Other(_) => Err(invalid(key, raw)),
        }
    }
}

fn invalid(key: &str, raw: &str) -> WcsError {
    WcsError::InvalidValue {
        keyword: key.to_string(),
        value: raw.trim().to_string(),
    }
}

/// Splits an indexed keyword such as `PC1_2A` or `CTYPE3` after `prefix`: returns the numbers
/// and the trailing alternate-WCS letter (if any). Used to find the highest axis in use.
pub(crate) fn axis_numbers(keyword: &str, prefix: &str) -> Option<(usize, Option<usize>, Option<char>)> {
    let rest = keyword.strip_prefix(prefix)?;
    let (body, alt) = match rest.chars().last() {
        Some(c) if c.is_ascii_uppercase() => (rest.strip_suffix(c).unwrap_or(rest), Some(c)),
        _ => (rest, None),
    };
    let mut parts = body.split('_');
    let first = parts.next()?.parse::<usize>().ok()?;
    let second = match parts.next() {
        Some(s) => Some(s.parse::<usize>().ok()?),
        None => None,
    };
    if parts.next().is_some() || first == 0 || first > MAX_AXES {
        return None;
    }
    Some((first, second, alt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strings_numbers_and_logicals() {
        assert_eq!(parse_value("'RA---SIN'"), CardValue::Str("RA---SIN".into()));
        assert_eq!(parse_value("'O''Brien '  / who"), CardValue::Str("O'Brien".into()));
        assert_eq!(
            parse_value("  -6.6666666666667E-02"),
            CardValue::Num(-6.6666666666667E-02)
        );
        assert_eq!(parse_value("1.5D+03 / comment"), CardValue::Num(1500.0));
        assert_eq!(parse_value("T"), CardValue::Logical(true));
        assert_eq!(parse_value("'unterminated"), CardValue::Str("unterminated".into()));
        assert_eq!(parse_value("inf"), CardValue::Other("inf".into()));
        assert_eq!(parse_value("(1.0, 2.0)"), CardValue::Other("(1.0, 2.0)".into()));
    }

    #[test]
    fn splits_fixed_width_and_line_headers() {
        let card = |s: &str| format!("{s:<80}");
        let text = [
            card("CTYPE1  = 'RA---TAN'"),
            card("COMMENT hello"),
            card("CRVAL1  = 10.0"),
            card("END"),
        ]
        .concat();
        let cards = split_header_text(&text);
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].0, "CTYPE1");
        let lines = split_header_text("CTYPE1  = 'RA---TAN'\nCRVAL1  =   5\n");
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn indexed_keywords() {
        assert_eq!(axis_numbers("PC1_2A", "PC"), Some((1, Some(2), Some('A'))));
        assert_eq!(axis_numbers("CTYPE3", "CTYPE"), Some((3, None, None)));
        assert_eq!(axis_numbers("CTYPE0", "CTYPE"), None);
        assert_eq!(axis_numbers("CTYPE999", "CTYPE"), None);
    }
}

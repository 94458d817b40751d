//! Header cards: 80-character records in 2880-byte blocks, with typed values.
//!
//! Parsing is linear in the number of cards (a keyword → index map answers look-ups), so a
//! header with tens of thousands of `HISTORY` cards costs only its size.

use std::collections::HashMap;

use serde::{Serialize, Serializer};

use crate::error::FitsError;

/// Length of one header card.
pub const CARD_LEN: usize = 80;
/// Length of one FITS block; headers and data units are padded to a multiple of it.
pub const BLOCK_LEN: usize = 2880;

/// A card's value, typed as the FITS standard defines it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A character string, `''` escapes resolved, trailing spaces removed, `CONTINUE` pieces joined.
    Str(String),
    /// `T` or `F`.
    Logical(bool),
    /// An integer; `i128` so that e.g. `BZERO = 9223372036854775808` (2^63) stays exact.
    Int(i128),
    /// A real number (`E` or `D` exponent).
    Float(f64),
    /// A complex value, kept as its raw text (not interpreted by this crate).
    Complex(String),
    /// A value indicator with an empty value field.
    Undefined,
    /// A commentary card (`COMMENT`, `HISTORY`, blank keyword, or no value indicator).
    None,
    /// A value field that matches no FITS type; the raw text is kept.
    Invalid(String),
}

impl Value {
    /// The value as `f64` (integers converted; `None` for other types).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as `i64`; integral floats (e.g. `NAXIS1 = 10.`) are accepted.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => i64::try_from(*i).ok(),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
            _ => None,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(v) | Value::Complex(v) | Value::Invalid(v) => s.serialize_str(v),
            Value::Logical(b) => s.serialize_bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(v) => s.serialize_i64(v),
                Err(_) => s.serialize_f64(*i as f64),
            },
            Value::Float(f) => s.serialize_f64(*f),
            Value::Undefined | Value::None => s.serialize_unit(),
        }
    }
}

/// One header card (or one logical card: a long string with its `CONTINUE` cards).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    /// Keyword, upper case as written; `HIERARCH` keywords without the `HIERARCH ` prefix.
    pub keyword: String,
    /// The value field as written, without the comment: `'RA---TAN'`, `T`, `1.5D+03`. For
    /// commentary cards, the commentary text. Long strings are re-quoted after joining.
    pub raw_value: String,
    /// The typed value.
    pub value: Value,
    /// The comment after `/`, trimmed (empty when absent).
    pub comment: String,
}

/// A parsed header: cards in order plus a keyword index (first occurrence wins, as in astropy).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    cards: Vec<Card>,
    index: HashMap<String, usize>,
    warnings: Vec<String>,
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.cards.serialize(s)
    }
}

fn is_commentary(keyword: &str) -> bool {
    matches!(keyword, "COMMENT" | "HISTORY" | "")
}

/// Normalise a look-up key: upper case, `HIERARCH ` prefix removed.
fn normalise(key: &str) -> String {
    let key = key.trim();
    let upper = key.to_ascii_uppercase();
    match upper.strip_prefix("HIERARCH ") {
        Some(rest) => rest.trim().to_string(),
        None => upper,
    }
}

impl Header {
    /// Build a header from cards (used for the image header of a compressed HDU).
    pub fn from_cards(cards: Vec<Card>) -> Header {
        let mut index = HashMap::with_capacity(cards.len());
        for (i, card) in cards.iter().enumerate() {
            if !is_commentary(&card.keyword) {
                index.entry(card.keyword.to_ascii_uppercase()).or_insert(i);
            }
        }
        Header {
            cards,
            index,
            warnings: Vec::new(),
        }
    }

    /// What the reader tolerated in this header instead of refusing it, as astropy's
    /// `VerifyWarning`s do: bytes other than spaces after `END`, bytes outside printable ASCII
    /// in a card (shown as `?`), values that match no FITS type (kept as raw text).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of (logical) cards, `END` excluded.
    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// True when the header has no cards.
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    /// All cards in order.
    pub fn card_list(&self) -> &[Card] {
        &self.cards
    }

    /// `(keyword, raw value text)` pairs in order, e.g. `("CTYPE1", "'RA---TAN'")`; for commentary
    /// cards the raw text is the commentary.
    pub fn cards(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.cards.iter().map(|c| (c.keyword.as_str(), c.raw_value.as_str()))
    }

    /// The first card with this keyword (case-insensitive; `HIERARCH ` prefix optional).
    pub fn get(&self, key: &str) -> Option<&Card> {
        let i = match self.index.get(key) {
            Some(i) => *i,
            None => *self.index.get(&normalise(key))?,
        };
        self.cards.get(i)
    }

    /// True if the keyword is present.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Typed value of a keyword.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.get(key).map(|c| &c.value)
    }

    /// Raw value text of a keyword, e.g. `'RA---TAN'` with its quotes.
    pub fn raw_value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|c| c.raw_value.as_str())
    }

    /// String value (`None` if absent or not a string).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.value(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Numeric value as `f64` (integers converted).
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.value(key)?.as_f64()
    }

    /// Integer value (`None` if absent, not integral, or outside `i64`).
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.value(key)?.as_i64()
    }

    /// Logical value.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.value(key)? {
            Value::Logical(b) => Some(*b),
            _ => None,
        }
    }

    /// Texts of all `HISTORY` cards.
    pub fn history(&self) -> impl Iterator<Item = &str> + '_ {
        self.commentary("HISTORY")
    }

    /// Texts of all `COMMENT` cards.
    pub fn comments(&self) -> impl Iterator<Item = &str> + '_ {
        self.commentary("COMMENT")
    }

    fn commentary<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.cards
            .iter()
            .filter(move |c| c.keyword == keyword)
            .map(|c| c.raw_value.as_str())
    }
}

/// True for the `END` card: keyword `END` followed, in the rest of the keyword field, by
/// blanks or by bytes that cannot be part of a keyword (NULs written by some camera software;
/// astropy reads these with "Unexpected bytes trailing END keyword"). The rest of the card is
/// not looked at.
pub(crate) fn is_end_card(card: &[u8]) -> bool {
    card.get(..3) == Some(b"END")
        && card.get(3..8).is_some_and(|rest| {
            rest.iter()
                .all(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'))
        })
}

/// Why an `END` card is not the standard 80 blanks after `END`, if it is not.
fn end_card_warning(card: &[u8]) -> Option<String> {
    let rest = card.get(3..)?;
    if rest.iter().all(|&b| b == b' ') {
        return None;
    }
    let what = if rest.iter().all(|&b| b == 0 || b == b' ') {
        "NUL bytes"
    } else {
        "bytes other than blanks"
    };
    Some(format!(
        "the END card is followed by {what} instead of blanks (read as END)"
    ))
}

/// Parse the header that starts at `bytes[0]`. Returns the header and its length in bytes,
/// padding to the 2880-byte boundary included (the padding may run past the input's end).
pub(crate) fn parse_header(bytes: &[u8]) -> Result<(Header, usize), FitsError> {
    let mut cards: Vec<Card> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut warnings: Vec<String> = Vec::new();
    // Index of the card whose string value ends in '&' and may take CONTINUE pieces.
    let mut open_long: Option<usize> = None;
    let mut n = 0usize;
    loop {
        let start = n * CARD_LEN;
        let Some(raw) = bytes.get(start..start + CARD_LEN) else {
            return Err(FitsError::Truncated(format!(
                "header has no END card within {} cards",
                n
            )));
        };
        n += 1;
        if is_end_card(raw) {
            warnings.extend(end_card_warning(raw));
            break;
        }
        if raw.iter().any(|b| !(0x20..0x7f).contains(b)) && warnings.len() < MAX_WARNINGS {
            warnings.push(format!("card {n} has bytes outside printable ASCII (shown as '?')"));
        }
        let text: String = raw
            .iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '?' })
            .collect();
        let parsed = split_card(&text);
        match parsed {
            Parsed::Continue(field) => {
                let (value, _, comment) = parse_value(field);
                let joined = match (open_long, &value) {
                    (Some(i), Value::Str(piece)) => cards.get_mut(i).map(|card| {
                        if let Value::Str(s) = &mut card.value {
                            s.pop(); // the '&'
                            s.push_str(piece);
                            card.raw_value = quote(s);
                        }
                        if !comment.is_empty() {
                            if !card.comment.is_empty() {
                                card.comment.push(' ');
                            }
                            card.comment.push_str(&comment);
                        }
                        piece.ends_with('&')
                    }),
                    _ => None,
                };
                match joined {
                    Some(more) => {
                        if !more {
                            open_long = None;
                        }
                    }
                    None => {
                        open_long = None;
                        cards.push(Card {
                            keyword: "CONTINUE".into(),
                            raw_value: field.trim().to_string(),
                            value: Value::None,
                            comment: String::new(),
                        });
                    }
                }
            }
            Parsed::Commentary(keyword, text) => {
                open_long = None;
                cards.push(Card {
                    keyword,
                    raw_value: text,
                    value: Value::None,
                    comment: String::new(),
                });
            }
            Parsed::Valued(keyword, field) => {
                let (value, raw_value, comment) = parse_value(field);
                if let Value::Invalid(text) = &value
                    && warnings.len() < MAX_WARNINGS
                {
                    warnings.push(format!("{keyword} = {text} is not a valid FITS value (kept as text)"));
                }
                open_long = match &value {
                    Value::Str(s) if s.ends_with('&') => Some(cards.len()),
                    _ => None,
                };
                index.entry(keyword.to_ascii_uppercase()).or_insert(cards.len());
                cards.push(Card {
                    keyword,
                    raw_value,
                    value,
                    comment,
                });
            }
        }
    }
    let len = (n * CARD_LEN).div_ceil(BLOCK_LEN) * BLOCK_LEN;
    Ok((Header { cards, index, warnings }, len))
}

/// At most this many card-level warnings per header (a damaged header could otherwise list
/// one per card).
const MAX_WARNINGS: usize = 20;

enum Parsed<'a> {
    Valued(String, &'a str),
    Continue(&'a str),
    Commentary(String, String),
}

/// Classify one 80-character ASCII card.
fn split_card(text: &str) -> Parsed<'_> {
    let keyword = text[..8].trim_end();
    match keyword {
        "HIERARCH" => {
            let rest = &text[8..];
            match rest.find('=') {
                Some(eq) => Parsed::Valued(rest[..eq].trim().to_string(), &rest[eq + 1..]),
                None => Parsed::Commentary(keyword.to_string(), rest.trim_end().to_string()),
            }
        }
        "CONTINUE" => Parsed::Continue(&text[8..]),
        k if is_commentary(k) => Parsed::Commentary(k.to_string(), text[8..].trim_end().to_string()),
        k if &text[8..9] == "=" => Parsed::Valued(k.to_string(), &text[9..]),
        k => Parsed::Commentary(k.to_string(), text[8..].trim_end().to_string()),
    }
}

/// Quote a string as a FITS literal (`'` doubled).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Parse a value field into (typed value, raw value text, comment).
fn parse_value(field: &str) -> (Value, String, String) {
    let s = field.trim_start();
    if let Some(body) = s.strip_prefix('\'') {
        let bytes = body.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        let mut end = None;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    out.push('\'');
                    i += 2;
                    continue;
                }
                end = Some(i);
                break;
            }
            out.push(bytes[i] as char);
            i += 1;
        }
        let value = Value::Str(out.trim_end().to_string());
        return match end {
            Some(e) => {
                let raw = s[..e + 2].to_string();
                let rest = &body[e + 1..];
                let comment = rest
                    .find('/')
                    .map(|p| rest[p + 1..].trim().to_string())
                    .unwrap_or_default();
                (value, raw, comment)
            }
            // Unterminated: keep what is there rather than failing the whole header.
            None => (value, s.trim_end().to_string(), String::new()),
        };
    }
    let (token, comment) = match s.find('/') {
        Some(p) => (s[..p].trim(), s[p + 1..].trim().to_string()),
        None => (s.trim(), String::new()),
    };
    (parse_token(token), token.to_string(), comment)
}

fn parse_token(token: &str) -> Value {
    match token {
        "" => return Value::Undefined,
        "T" => return Value::Logical(true),
        "F" => return Value::Logical(false),
        _ => {}
    }
    if token.starts_with('(') {
        return Value::Complex(token.to_string());
    }
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = token.parse::<i128>()
    {
        return Value::Int(i);
    }
    let numeric = token.bytes().all(|b| b.is_ascii_digit() || b"+-.EeDd".contains(&b));
    if numeric && token.bytes().any(|b| b.is_ascii_digit()) {
        let normalised: String = token
            .chars()
            .map(|c| if c == 'D' || c == 'd' { 'E' } else { c })
            .collect();
        if let Ok(f) = normalised.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Invalid(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cards: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cards {
            out.extend_from_slice(format!("{:<80}", c).as_bytes());
        }
        out.extend_from_slice(format!("{:<80}", "END").as_bytes());
        out.resize(out.len().div_ceil(BLOCK_LEN) * BLOCK_LEN, b' ');
        out
    }

    #[test]
    fn typed_values() {
        let bytes = block(&[
            "SIMPLE  =                    T / conforms",
            "STR     = 'O''Brien  '         / quote",
            "LEAD    = '  x'",
            "INT     =                  -42",
            "BIG     =  9223372036854775808",
            "FLT     =              1.5D+03",
            "FLT2    =                 -.5E-2",
            "CPLX    = (1.0, 2.0)",
            "UNDEF   =                      / nothing",
            "BAD     = ABC",
            "HISTORY   some history",
            "COMMENT a comment",
            "HIERARCH ESO DET CHIP = 'CCD' / chip",
            "        blank keyword text",
        ]);
        let (h, len) = parse_header(&bytes).expect("parse");
        assert_eq!(len, 2880);
        assert_eq!(h.get_bool("SIMPLE"), Some(true));
        assert_eq!(h.get_str("STR"), Some("O'Brien"));
        assert_eq!(h.raw_value("STR"), Some("'O''Brien  '"));
        assert_eq!(h.get("STR").map(|c| c.comment.as_str()), Some("quote"));
        assert_eq!(h.get_str("LEAD"), Some("  x"));
        assert_eq!(h.get_i64("INT"), Some(-42));
        assert_eq!(h.get_i64("BIG"), None);
        assert_eq!(h.value("BIG"), Some(&Value::Int(1i128 << 63)));
        assert_eq!(h.get_f64("FLT"), Some(1500.0));
        assert_eq!(h.get_f64("FLT2"), Some(-0.005));
        assert!(matches!(h.value("CPLX"), Some(Value::Complex(_))));
        assert_eq!(h.value("UNDEF"), Some(&Value::Undefined));
        assert!(matches!(h.value("BAD"), Some(Value::Invalid(_))));
        assert_eq!(h.history().collect::<Vec<_>>(), vec!["  some history"]);
        assert_eq!(h.comments().count(), 1);
        assert_eq!(h.get_str("ESO DET CHIP"), Some("CCD"));
        assert_eq!(h.get_str("hierarch eso det chip"), Some("CCD"));
        assert_eq!(h.cards().nth(1), Some(("STR", "'O''Brien  '")));
    }

    #[test]
    fn continue_cards_join() {
        let bytes = block(&[
            "SIMPLE  =                    T",
            "LONG    = 'abc&'               / first",
            "CONTINUE  'def&'               / second",
            "CONTINUE  'gh'",
            "CONTINUE  'orphan'",
        ]);
        let (h, _) = parse_header(&bytes).expect("parse");
        assert_eq!(h.get_str("LONG"), Some("abcdefgh"));
        assert_eq!(h.get("LONG").map(|c| c.comment.as_str()), Some("first second"));
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn missing_end_is_truncated() {
        let mut bytes = block(&["SIMPLE  =                    T"]);
        bytes.truncate(80);
        assert!(matches!(parse_header(&bytes), Err(FitsError::Truncated(_))));
    }

    #[test]
    fn many_history_cards_are_linear() {
        let mut cards = vec!["SIMPLE  =                    T".to_string()];
        cards.extend((0..50_000).map(|i| format!("HISTORY step {i}")));
        let refs: Vec<&str> = cards.iter().map(String::as_str).collect();
        let bytes = block(&refs);
        let t = std::time::Instant::now();
        let (h, _) = parse_header(&bytes).expect("parse");
        assert_eq!(h.history().count(), 50_000);
        assert!(t.elapsed().as_secs_f64() < 2.0);
    }
}

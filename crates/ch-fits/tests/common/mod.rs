//! Mutations shared by the property tests that feed damaged files to the parser.

/// Digit strings that stress size arithmetic when written into header values.
pub const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "3",
    "999",
    "1000",
    "2147483647",
    "-2147483648",
    "4294967296",
    "9223372036854775807",
    "99999999999999999999",
];

/// Cases per property: `default`, or `CH_FITS_FUZZ_CASES` for a longer run.
pub fn cases(default: u32) -> u32 {
    std::env::var("CH_FITS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Start offsets of the header cards with a value indicator in the first headers.
pub fn value_cards(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len().min(40 * 2880) / 80)
        .filter(|i| bytes.get(i * 80 + 8..i * 80 + 10) == Some(b"= "))
        .map(|i| i * 80)
        .collect()
}

/// Writes `NUMBERS[number]` as the value of the card starting at `card`.
pub fn write_number(bytes: &mut [u8], card: usize, number: usize) {
    let start = card + 10;
    bytes[start..start + 20].copy_from_slice(format!("{:>20}", NUMBERS[number]).as_bytes());
}

/// Overwrites bytes (half the edits land in the first blocks, where headers and table rows
/// live), then optionally truncates the file.
pub fn edit_and_cut(bytes: &mut Vec<u8>, edits: &[(u32, u8)], cut: Option<u32>) {
    for &(pos, b) in edits {
        let n = bytes.len();
        if n == 0 {
            break;
        }
        let p = if pos % 2 == 0 {
            pos as usize % n.min(3 * 2880)
        } else {
            pos as usize % n
        };
        bytes[p] = b;
    }
    if let Some(c) = cut {
        let n = bytes.len();
        bytes.truncate(c as usize % (n + 1));
    }
}

//! The server's clock: one place that says what "now" is for everything it records (job
//! times, sessions and tokens, audit records, regions, metric samples).

use chrono::{DateTime, SubsecRound, Utc};

/// Now, in UTC, at millisecond precision: the databases keep milliseconds, so a value reads
/// back exactly as it was written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_has_whole_milliseconds() {
        assert_eq!(super::now().timestamp_subsec_nanos() % 1_000_000, 0);
    }
}

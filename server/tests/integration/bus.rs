//! The event bus against a real database: a relay with a saved cursor, killed with SIGKILL in
//! the middle of the log and started again after more events were committed, delivers every
//! event — none lost, those committed while it was down included — and repeats at most the one
//! batch it had delivered but not yet acknowledged (at least once). On PostgreSQL, two
//! instances running the same durable relay take turns: one delivers, the other stands by
//! until the first is killed, then resumes after the saved cursor.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ch_domain::JobEvent;
use server::bus::{CommitSignal, Cursor, EventSink, run_relay};
use server::store::Store;
use tokio_util::sync::CancellationToken;

use crate::common::Db;

/// Set in the relay process: `<database URL>|<file the sink appends offsets to>`.
const CHILD_ENV: &str = "CH_TEST_RELAY_CHILD";
/// The name the relay's cursor is saved under.
const SINK: &str = "offsets-file";
/// Events the relay reads at a time (`bus::relay`).
const BATCH: usize = 500;

both_backends! {
    a_relay_with_a_saved_cursor_survives_kill_9 => survives_kill_9;
}

/// The relay lease is PostgreSQL's (an SQLite database serves one instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_of_a_relay_take_turns() {
    two_instances_take_turns(crate::common::Db::Postgres).await;
}

/// Appends the offset of each event to a file, one per line, flushed to disk before it
/// acknowledges (one `write` per batch); slow enough (200 ms a batch) that a kill lands in the
/// middle of the log.
struct OffsetsFile(PathBuf);

#[async_trait]
impl EventSink for OffsetsFile {
    fn name(&self) -> &'static str {
        SINK
    }

    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.0)?;
        let lines: String = events.iter().map(|e| format!("{}\n", e.offset)).collect();
        file.write_all(lines.as_bytes())?;
        file.sync_all()?;
        Ok(())
    }
}

/// Not a test of its own: the relay process that [`survives_kill_9`] starts (this test binary
/// again, running only this function) and kills. Relays until killed, at most 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the relay process of a_relay_with_a_saved_cursor_survives_kill_9"]
async fn relay_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (url, out) = spec.split_once('|').expect("url|file");
    let store = Store::connect(url).await.expect("connect");
    let relay = run_relay(
        store,
        Arc::new(OffsetsFile(out.into())),
        CommitSignal::default(),
        Cursor::Saved { first: 0 },
        CancellationToken::new(),
    );
    let _ = tokio::time::timeout(Duration::from_secs(60), relay).await;
}

fn start_relay(url: &str, out: &Path) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["bus::relay_process", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_ENV, format!("{url}|{}", out.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("relay process")
}

/// The offsets delivered so far, in delivery order.
fn delivered(out: &Path) -> Vec<i64> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// The offsets once each, ascending.
fn distinct(offsets: &[i64]) -> Vec<i64> {
    let mut seen = offsets.to_vec();
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// Waits (≤ 30 s) until `enough` holds for what was delivered.
async fn wait_delivered(out: &Path, enough: impl Fn(&[i64]) -> bool) -> Vec<i64> {
    for _ in 0..300 {
        let got = delivered(out);
        if enough(&got) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not delivered in time: {} offsets", delivered(out).len());
}

/// Waits (≤ 30 s) until the relay's saved cursor reaches `offset`; returns it.
async fn saved_at_least(store: &Store, offset: i64) -> i64 {
    for _ in 0..300 {
        if let Some(saved) = store.relay_cursor(SINK).await.expect("cursor")
            && saved >= offset
        {
            return saved;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay did not save a cursor of {offset} in time");
}

async fn survives_kill_9(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(url) = crate::common::database_url(db, &dir).await else {
        return;
    };
    let store = Store::connect(&url).await.expect("connect");
    let out = dir.path().join("offsets");
    let first = crate::common::commit_submissions(&store, 4 * BATCH).await;

    let mut relay = start_relay(&url, &out);
    // Killed once a batch is acknowledged and saved, long before the last.
    let saved = saved_at_least(&store, BATCH as i64).await;
    relay.kill().expect("kill -9");
    relay.wait().expect("reaped");
    let before = delivered(&out);
    assert!(before.len() < 4 * BATCH, "killed midway: {} delivered", before.len());

    // Committed while no relay runs.
    let last = crate::common::commit_submissions(&store, 300).await;
    assert!(last > first);
    let mut relay = start_relay(&url, &out);
    wait_delivered(&out, |d| d.last() == Some(&last)).await;
    assert_eq!(saved_at_least(&store, last).await, last);
    relay.kill().expect("kill -9");
    let all = delivered(&out);
    relay.wait().expect("reaped");

    // Every event, in order within each run; repeated: at most the unacknowledged batch.
    let seen = distinct(&all);
    assert_eq!(seen, (1..=last).collect::<Vec<_>>(), "none lost");
    let repeated = all.len() - seen.len();
    assert!(
        repeated <= BATCH,
        "{repeated} offsets delivered twice: the restarted relay resumed after its saved cursor"
    );
    let resumed = all[before.len()..].first().copied().expect("resumed");
    assert!(
        resumed > saved && all[before.len()..].windows(2).all(|w| w[0] < w[1]),
        "the second run resumed at {resumed}, after the saved {saved}, and went on in order"
    );
    store.close().await;
}

async fn two_instances_take_turns(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(url) = crate::common::database_url(db, &dir).await else {
        return;
    };
    let store = Store::connect(&url).await.expect("connect");
    let out = dir.path().join("offsets");
    // 16 batches of 200 ms each: the first instance is killed about halfway.
    let last = crate::common::commit_submissions(&store, 16 * BATCH).await;

    let mut first = start_relay(&url, &out);
    saved_at_least(&store, BATCH as i64).await;
    // The first holds the lease: the second stands by while the first delivers batches.
    let mut second = start_relay(&url, &out);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let running = delivered(&out);
    assert_eq!(
        distinct(&running).len(),
        running.len(),
        "while both ran, {} offsets were delivered twice: the standby delivered too",
        running.len() - distinct(&running).len()
    );
    first.kill().expect("kill -9");
    first.wait().expect("reaped");
    assert!(
        !delivered(&out).contains(&last),
        "the first instance was killed before the end of the log"
    );

    // The standby takes the lease once the killed instance's session is gone, and finishes.
    wait_delivered(&out, |d| d.contains(&last)).await;
    second.kill().expect("kill -9");
    second.wait().expect("reaped");
    let all = delivered(&out);
    let seen = distinct(&all);
    assert_eq!(seen, (1..=last).collect::<Vec<_>>(), "none lost");
    let repeated = all.len() - seen.len();
    assert!(
        repeated <= BATCH,
        "{repeated} offsets delivered twice: the two instances overlapped"
    );
    store.close().await;
}

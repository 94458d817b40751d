//! Helper of `cargo xtask bench submit` (built in release with the server).
//!
//! `submit_bench baseline <database-url> <seconds> <concurrency>` — the baseline: the rows one
//! `POST /api/jobs` writes (the job, its `job.submitted` and `job.status.changed` → queued
//! events, made by the same domain code) inserted by `concurrency` writers, one transaction
//! per job, straight through the store's sqlx statements: no HTTP, no authentication, no
//! group commit. Prints `jobs/s` and latency percentiles.
//!
//! `submit_bench check <database-url>` — after a run: jobs, events, whether the event log's
//! offsets are gapless and every job has both of its first events.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ch_domain::{JobStatus, NewEvent, SubmitJob, SystemCatalog};
use chrono::Utc;
use server::store::Store;
use sqlx::Row;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["baseline", url, seconds, concurrency] => baseline(url, seconds.parse()?, concurrency.parse()?).await,
        ["check", url] => check(url).await,
        _ => bail!("usage: submit_bench baseline <database-url> <seconds> <concurrency> | check <database-url>"),
    }
}

/// The rows of one submission, as the server makes them.
fn rows(catalog: &SystemCatalog) -> Result<(ch_domain::Job, Vec<NewEvent>)> {
    let req: SubmitJob = serde_json::from_value(serde_json::json!({"name": "bench", "command": "true"}))?;
    let spec = req.validate(catalog).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut job = spec.into_job(Uuid::now_v7(), "admin".into(), Uuid::now_v7().to_string(), Utc::now());
    let submitted = NewEvent::submitted(Uuid::now_v7(), &job, "admin");
    let from = job
        .transition(JobStatus::Queued, Utc::now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let queued = NewEvent::transition(Uuid::now_v7(), &job, from, "scheduler", None);
    Ok((job, vec![submitted, queued]))
}

async fn baseline(url: &str, seconds: u64, concurrency: usize) -> Result<()> {
    let store = Store::connect(url).await.context("opening the database")?;
    let catalog = SystemCatalog::default();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut writers = Vec::new();
    for _ in 0..concurrency {
        let store = store.clone();
        let catalog = catalog.clone();
        writers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let row = rows(&catalog)?;
                let t = Instant::now();
                store.create_jobs(&[row]).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await??);
    }
    all.sort();
    let pct = |p: f64| {
        let i = ((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1));
        all.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "RESULT jobs={} jobs_per_s={:.0} p50_ms={:.2} p99_ms={:.2}",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}

async fn check(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await?;
    let one = |sql: &'static str| {
        let pool = pool.clone();
        async move { anyhow::Ok(sqlx::query(sql).fetch_one(&pool).await?.try_get::<i64, _>(0)?) }
    };
    let jobs = one("select count(*) from job").await?;
    let events = one("select count(*) from job_event").await?;
    let low = one("select coalesce(min(job_event_offset), 0) from job_event").await?;
    let high = one("select coalesce(max(job_event_offset), 0) from job_event").await?;
    let submitted = one("select count(distinct job_id) from job_event where event_type = 'job.submitted'").await?;
    let queued = one(
        "select count(distinct job_id) from job_event where event_type = 'job.status.changed' \
         and payload like '%\"to\":\"queued\"%'",
    )
    .await?;
    let finished = one("select count(*) from job where status in ('completed', 'failed', 'cancelled')").await?;
    let gapless = events == 0 || high - low + 1 == events;
    println!(
        "RESULT jobs={jobs} events={events} first_offset={low} last_offset={high} gapless={gapless} \
         jobs_with_submitted={submitted} jobs_with_queued={queued} finished={finished}"
    );
    if !gapless || submitted != jobs || queued != jobs {
        bail!("the event log is not complete");
    }
    Ok(())
}

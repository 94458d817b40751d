//! The backend contract: the same assertions against SQLite and PostgreSQL.

use std::collections::HashSet;

use crate::common::Db;
use ch_domain::MetricSample;
use ch_domain::{JobStatus, ListQuery, NewEvent, SortField, SortOrder, SubmitJob, SystemCatalog};
use chrono::{DateTime, Utc};
use server::store::{Store, StoreError};
use uuid::Uuid;

both_backends! {
    job_round_trips_exactly => round_trip;
    stale_version_is_a_conflict_and_writes_nothing => stale_version;
    concurrent_writers_get_gapless_ordered_offsets => concurrent_offsets;
    queue_orders_by_priority_then_fifo => queue_order;
    list_filters_sorts_and_counts => list;
    metrics_round_trip => metrics;
    audit_batch_with_a_bad_record_keeps_the_good_ones => audit_mixed_batch;
    large_groups_span_statements_in_order_all_or_nothing => large_group;
    relay_cursors_are_kept_per_name_and_only_move_forward => relay_cursors;
}

async fn relay_cursors(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    assert_eq!(store.relay_cursor("kafka").await.expect("read"), None, "never ran");
    store.save_relay_cursor("kafka", 10).await.expect("save");
    store.save_relay_cursor("kafka", 25).await.expect("save");
    store
        .save_relay_cursor("kafka", 7)
        .await
        .expect("an older offset is no error");
    store.save_relay_cursor("mail", 3).await.expect("save");
    assert_eq!(store.relay_cursor("kafka").await.expect("read"), Some(25));
    assert_eq!(store.relay_cursor("mail").await.expect("read"), Some(3));
    store.close().await;
}

async fn store(db: Db) -> Option<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = crate::common::database_url(db, &dir).await?;
    Some((Store::connect(&url).await.expect("connect"), dir))
}

fn ms(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + n).expect("time")
}

fn job(name: &str, at: i64) -> ch_domain::Job {
    SubmitJob {
        name: name.into(),
        command: "true".into(),
        ..SubmitJob::default()
    }
    .validate(&SystemCatalog::default())
    .expect("valid")
    .into_job(Uuid::now_v7(), "ann".into(), format!("corr-{name}"), ms(at))
}

async fn round_trip(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    let mut j = job("exact", 1);
    j.resources.memory_gb = 2.5;
    j.estimated_cost_usd = 12.34;
    let ev = store
        .create_job(&j, NewEvent::submitted(Uuid::now_v7(), &j, "ann"))
        .await
        .expect("create");
    assert_eq!(ev.offset, 1);
    let got = store.get_job(j.id).await.expect("get");
    assert_eq!(got.job, j);
    assert_eq!(got.version, 1);
    let evs = store.events_for_job(j.id).await.expect("events");
    assert_eq!(evs, vec![ev.clone()]);
    assert_eq!(evs[0].job(), Some(j.clone()));
    assert!(matches!(
        store.get_job(Uuid::nil()).await,
        Err(StoreError::JobNotFound(_))
    ));
    assert_eq!(store.latest_offset().await.expect("latest"), 1);
}

async fn stale_version(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    let j = job("race", 1);
    store
        .create_job(&j, NewEvent::submitted(Uuid::now_v7(), &j, "a"))
        .await
        .expect("create");
    let mut first = j.clone();
    let from = first.transition(JobStatus::Queued, ms(2)).expect("queue");
    store
        .save_job(
            &first,
            1,
            vec![NewEvent::transition(Uuid::now_v7(), &first, from, "a", None)],
        )
        .await
        .expect("first save");
    let mut second = j.clone();
    let from = second.transition(JobStatus::Cancelled, ms(3)).expect("cancel");
    let err = store
        .save_job(
            &second,
            1,
            vec![NewEvent::transition(Uuid::now_v7(), &second, from, "b", None)],
        )
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    // The losing write left neither its row change nor its event behind.
    assert_eq!(store.get_job(j.id).await.expect("get").job.status, JobStatus::Queued);
    assert_eq!(store.events_for_job(j.id).await.expect("events").len(), 2);
}

async fn concurrent_offsets(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut j = job(&format!("w{i}"), i);
            store
                .create_job(&j, NewEvent::submitted(Uuid::now_v7(), &j, "w"))
                .await
                .expect("create");
            for (version, to) in (1..).zip([JobStatus::Queued, JobStatus::Running, JobStatus::Completed]) {
                let from = j.transition(to, ms(i)).expect("legal");
                store
                    .save_job(
                        &j,
                        version,
                        vec![NewEvent::transition(Uuid::now_v7(), &j, from, "w", None)],
                    )
                    .await
                    .expect("save");
            }
        }));
    }
    // A reader following the log while writers commit must never skip an offset.
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut cursor = 0;
            let mut seen = Vec::new();
            while seen.len() < 64 {
                for ev in store.events_after(cursor, 1000).await.expect("read") {
                    cursor = ev.offset;
                    seen.push(ev.offset);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for t in tasks {
        t.await.expect("writer");
    }
    let seen = reader.await.expect("reader");
    let all = store.events_after(0, 1000).await.expect("all");
    assert_eq!(all.len(), 64);
    let offsets: Vec<i64> = all.iter().map(|e| e.offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen, offsets, "the live reader saw a different sequence");
    let ids: HashSet<_> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), 64);
}

async fn queue_order(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    let mut expected = Vec::new();
    for (i, prio) in [
        ch_domain::Priority::Low,
        ch_domain::Priority::Urgent,
        ch_domain::Priority::Normal,
        ch_domain::Priority::Urgent,
    ]
    .into_iter()
    .enumerate()
    {
        let mut j = job(&format!("q{i}"), i as i64);
        j.priority = prio;
        store
            .create_job(&j, NewEvent::submitted(Uuid::now_v7(), &j, "q"))
            .await
            .expect("create");
        let from = j.transition(JobStatus::Queued, ms(10 + i as i64)).expect("queue");
        store
            .save_job(&j, 1, vec![NewEvent::transition(Uuid::now_v7(), &j, from, "q", None)])
            .await
            .expect("save");
        expected.push(j.name.clone());
    }
    let next: Vec<_> = store
        .next_queued("local", 10)
        .await
        .expect("queue")
        .into_iter()
        .map(|u| u.job.name)
        .collect();
    assert_eq!(next, ["q1", "q3", "q2", "q0"]);
    assert!(store.next_queued("slurm", 10).await.expect("queue").is_empty());
    assert_eq!(
        store.jobs_in_status(JobStatus::Queued).await.expect("queued").len(),
        expected.len()
    );
}

async fn list(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    for (i, (name, project)) in [("b", "x"), ("a", "y"), ("c", "x")].into_iter().enumerate() {
        let mut j = job(name, i as i64);
        j.project = project.into();
        store
            .create_job(&j, NewEvent::submitted(Uuid::now_v7(), &j, "l"))
            .await
            .expect("create");
    }
    let q = ListQuery {
        project: Some("x".into()),
        sort: Some(SortField::Name),
        order: Some(SortOrder::Asc),
        ..ListQuery::default()
    };
    let page = store.list_jobs(&q, None).await.expect("list");
    assert_eq!(page.total, 2);
    assert_eq!(
        page.jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["b", "c"]
    );
    let page = store
        .list_jobs(
            &ListQuery {
                limit: Some(1),
                offset: Some(1),
                ..ListQuery::default()
            },
            None,
        )
        .await
        .expect("list");
    // Default: newest submission first.
    assert_eq!((page.total, page.jobs[0].name.as_str()), (3, "a"));
    let page = store
        .list_jobs(
            &ListQuery {
                status: Some(JobStatus::Running),
                ..ListQuery::default()
            },
            None,
        )
        .await
        .expect("list");
    assert_eq!(page.total, 0);
}

async fn metrics(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    let j = job("m", 0);
    store
        .create_job(&j, NewEvent::submitted(Uuid::now_v7(), &j, "m"))
        .await
        .expect("create");
    let s = MetricSample {
        sampled_at: ms(5),
        cpu_percent: 87.5,
        memory_bytes: 3 << 30,
    };
    store.add_metric(j.id, &s).await.expect("add");
    assert_eq!(store.metrics_for_job(j.id).await.expect("list"), vec![s]);
}

/// 20 good audit records and one PostgreSQL refuses (a NUL, as a hostile request carries) in one
/// batch: all 20 are written; the bad one is written (SQLite) or quarantined with its reason
/// (PostgreSQL), never dropped with the others. Sanitized, it is written on both.
async fn audit_mixed_batch(db: Db) {
    use server::archive::audit::flush;
    use server::store::AccessRecord;
    let Some((store, _dir)) = store(db).await else {
        return;
    };
    let record = |path: &str| AccessRecord {
        occurred_at: ms(0),
        principal: "ann".into(),
        source: "up".into(),
        path: path.into(),
        view: "file".into(),
        status: 200,
        bytes: 10,
        cache: Some("HIT".into()),
    };
    let mut batch: Vec<AccessRecord> = (0..20).map(|i| record(&format!("ok/{i}.fits"))).collect();
    batch.insert(10, record("bad\0path.fits"));
    flush(&store, &mut batch).await;
    assert!(batch.is_empty());
    let written = store.recent_access(100).await.expect("audit");
    assert_eq!(
        written.iter().filter(|r| r.path.starts_with("ok/")).count(),
        20,
        "{db:?}"
    );
    let quarantined = store.quarantined_access(10).await.expect("quarantine");
    assert_eq!(written.len() + quarantined.len(), 21, "{db:?}: nothing lost");
    if db == Db::Postgres {
        assert_eq!(quarantined.len(), 1);
        assert!(quarantined[0].0.contains("bad\\u0000path"), "{:?}", quarantined[0]);
        assert!(!quarantined[0].1.is_empty(), "the reason is kept");
    }
    let mut again = vec![record("bad\0path.fits").sanitized()];
    flush(&store, &mut again).await;
    assert_eq!(store.recent_access(1).await.expect("audit")[0].path, "bad\\0path.fits");
}

/// 600 jobs with 1,200 events cross the multi-row statement sizes (256 jobs, 512 events):
/// every row lands, offsets follow the order given, and a group holding one duplicate job id
/// writes nothing at all.
async fn large_group(db: Db) {
    let Some((store, _dir)) = store(db).await else { return };
    let rows: Vec<_> = (0..600)
        .map(|i| {
            let mut j = job(&format!("g{i}"), i);
            let submitted = NewEvent::submitted(Uuid::now_v7(), &j, "g");
            let from = j.transition(JobStatus::Queued, ms(i)).expect("queue");
            let queued = NewEvent::transition(Uuid::now_v7(), &j, from, "scheduler", None);
            (j, vec![submitted, queued])
        })
        .collect();
    let committed = store.create_jobs(&rows).await.expect("group");
    assert_eq!(committed.len(), 1200);
    let expected: Vec<Uuid> = rows.iter().flat_map(|(_, e)| e.iter().map(|e| e.event_id)).collect();
    let got: Vec<Uuid> = committed.iter().map(|e| e.event_id).collect();
    assert_eq!(got, expected, "offsets must follow the order given");
    let offsets: Vec<i64> = committed.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, (1..=1200).collect::<Vec<i64>>());
    assert_eq!(store.events_after(0, 5000).await.expect("log"), committed);
    for (j, _) in [&rows[0], &rows[255], &rows[256], &rows[599]] {
        assert_eq!(store.get_job(j.id).await.expect("stored").job, *j);
    }

    let mut bad: Vec<_> = (0..300)
        .map(|i| {
            let j = job(&format!("b{i}"), i);
            let e = NewEvent::submitted(Uuid::now_v7(), &j, "b");
            (j, vec![e])
        })
        .collect();
    bad[299].0.id = rows[0].0.id;
    assert!(
        store.create_jobs(&bad).await.is_err(),
        "a duplicate id must fail the group"
    );
    assert!(matches!(
        store.get_job(bad[0].0.id).await,
        Err(StoreError::JobNotFound(_))
    ));
    assert_eq!(store.latest_offset().await.expect("latest"), 1200);
}

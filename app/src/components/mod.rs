//! Small building blocks shared by the pages.

pub mod account;
pub mod bell;

use ch_domain::{Job, JobStatus};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<JobStatus>) -> impl IntoView {
    view! {
        <span class=move || format!("badge status-{}", status.get()) data-testid="status">
            {move || status.get().to_string()}
        </span>
    }
}

#[component]
pub fn ProgressBar(#[prop(into)] progress: Signal<u8>, #[prop(into)] status: Signal<JobStatus>) -> impl IntoView {
    view! {
        <div
            class=move || format!("progress status-{}", status.get())
            role="progressbar"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || progress.get().to_string()
            data-testid="progress"
        >
            <div class="fill" style=move || format!("width: {}%", progress.get())></div>
            <span class="pct">{move || format!("{}%", progress.get())}</span>
        </div>
    }
}

/// UTC timestamp as `YYYY-MM-DD HH:MM:SS`; the same text on server and client.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn fmt_opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".to_owned(), fmt_time)
}

pub fn fmt_usd(v: f64) -> String {
    format!("${v:.2}")
}

/// The job's current state: the live snapshot when one is newer than what was loaded.
pub fn newest(loaded: Job, live: Option<Job>) -> Job {
    match live {
        Some(l) if l.updated_at >= loaded.updated_at => l,
        _ => loaded,
    }
}

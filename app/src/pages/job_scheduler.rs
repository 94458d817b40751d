//! A job's record at its batch scheduler on the job page: the Slurm job id, its state and why
//! it waits, and once it ended its accounting — elapsed and CPU time, peak memory, what it was
//! allocated, the CPU and memory efficiency and the actual cost next to the estimate.

use ch_domain::{Accounting, SchedulerRecord};
use leptos::prelude::*;

use crate::components::fmt_usd;

/// The scheduler card, or nothing for a job without a scheduler record (local jobs).
#[component]
pub fn SchedulerCard(record: Signal<Option<SchedulerRecord>>, estimate: Signal<f64>) -> impl IntoView {
    move || {
        record.get().map(|r| {
            let name = if r.scheduler == "slurm" { "Slurm" } else { r.scheduler.as_str() }.to_owned();
            let state = match r.reason_text() {
                Some(reason) => format!("{} ({reason})", r.state),
                None => r.state.clone(),
            };
            let accounting = r.accounting.map(|a| accounting(&r, &a, estimate.get()));
            let waiting = r.accounting.is_none().then(|| {
                view! { <p class="muted">"Accounting (time, memory, actual cost) appears once the job has ended."</p> }
            });
            view! {
                <div class="card" data-testid="scheduler">
                    <h2>{format!("{name} scheduler")}</h2>
                    <dl class="facts">
                        <dt>{format!("{name} job id")}</dt>
                        <dd data-testid="scheduler-job-id">{r.scheduler_job_id.clone().unwrap_or_else(|| "— (not accepted yet)".into())}</dd>
                        <dt>"State"</dt>
                        <dd data-testid="scheduler-state">{state}</dd>
                        {accounting}
                    </dl>
                    {waiting}
                </div>
            }
        })
    }
}

fn accounting(r: &SchedulerRecord, a: &Accounting, estimate: f64) -> impl IntoView + use<> {
    let al = a.allocated;
    let allocated = format!(
        "{} node(s), {} CPU(s), {}, {} GPU(s)",
        al.nodes,
        al.cpus,
        fmt_bytes(al.memory_bytes),
        al.gpus
    );
    let cost = r.actual_cost_usd.map_or_else(
        || "—".to_owned(),
        |c| format!("{} (estimate {})", fmt_usd(c), fmt_usd(estimate)),
    );
    let peak = a.max_rss_bytes.map_or_else(|| "not measured".to_owned(), fmt_bytes);
    view! {
        <dt>"Elapsed"</dt>
        <dd data-testid="scheduler-elapsed">{fmt_secs(a.elapsed_secs as f64)}</dd>
        <dt>"CPU time"</dt>
        <dd>{fmt_secs(a.cpu_time_secs)}</dd>
        <dt>"CPU efficiency"</dt>
        <dd data-testid="scheduler-cpu-efficiency">{fmt_share(r.cpu_efficiency)}</dd>
        <dt>"Peak memory"</dt>
        <dd>{peak}</dd>
        <dt>"Memory efficiency"</dt>
        <dd>{fmt_share(r.memory_efficiency)}</dd>
        <dt>"Allocated"</dt>
        <dd>{allocated}</dd>
        <dt>"Actual cost"</dt>
        <dd data-testid="scheduler-cost">{cost}</dd>
    }
}

/// `0.423` → `42.3 %`; `None` → `—`.
fn fmt_share(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

/// Seconds as `1 h 02 min 03 s`, `2 min 05 s` or `4.25 s`.
fn fmt_secs(s: f64) -> String {
    if s < 60.0 {
        return format!("{s:.2} s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h} h {m:02} min {sec:02} s")
    } else {
        format!("{m} min {sec:02} s")
    }
}

/// Bytes in binary units, as Slurm counts memory: `1.5 GiB`, `200 MiB`.
fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(fmt_share(Some(0.4234)), "42.3 %");
        assert_eq!(fmt_share(None), "—");
        assert_eq!(fmt_secs(4.25), "4.25 s");
        assert_eq!(fmt_secs(125.0), "2 min 05 s");
        assert_eq!(fmt_secs(3723.0), "1 h 02 min 03 s");
        assert_eq!(fmt_bytes(100 << 20), "100 MiB");
        assert_eq!(fmt_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(fmt_bytes(512), "512 B");
    }
}

//! One job: status timeline, resources, cost, logs and events, live.

use ch_domain::{EventType, Job, JobEvent, JobStatus};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::{JobDetail, get_job_detail, get_job_logs, get_job_scheduler, post_cancel};
use crate::components::{ProgressBar, StatusBadge, fmt_opt_time, fmt_time, fmt_usd, newest};
use crate::live::use_live;
use crate::pages::job_scheduler::SchedulerCard;

#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<Uuid>().ok()));
    let detail = Resource::new(id, |id| async move {
        match id {
            Some(id) => crate::api::retrying(|| get_job_detail(id)).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="empty">"Loading job…"</p> }>
                {move || {
                    detail
                        .get()
                        .map(|res| match res {
                            Ok(Some(d)) => view! { <JobView detail=d /> }.into_any(),
                            Ok(None) => view! { <p class="error">"That is not a valid job id."</p> }.into_any(),
                            Err(e) => {
                                let retry = Callback::new(move |()| detail.refetch());
                                view! { <crate::components::account::ErrorBox error=e retry /> }.into_any()
                            }
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn JobView(detail: JobDetail) -> impl IntoView {
    let live = use_live();
    let id = detail.job.id;
    let loaded = detail.job.clone();
    let job = Memo::new(move |_| {
        let l = live.jobs.with(|m| m.get(&id).cloned());
        newest(loaded.clone(), l)
    });
    let last_loaded = detail.events.last().map_or(0, |e| e.offset);
    // The live stream starts no later than what this page shows (issue 29); a finished job
    // has nothing more to hear.
    if !detail.job.status.is_terminal() {
        live.reflects(detail.offset);
    }
    let loaded_events = detail.events.clone();
    let events = Memo::new(move |_| {
        let mut all = loaded_events.clone();
        live.events.with(|v| {
            all.extend(v.iter().filter(|e| e.job_id == id && e.offset > last_loaded).cloned());
        });
        all
    });
    // Logs are not in the events: re-read them when this job has news.
    let logs = Resource::new(move || events.with(Vec::len), move |_| get_job_logs(id));
    let initial_logs = detail.logs.clone();
    // The scheduler's word (state, pending reason, accounting) comes with the job's events.
    let scheduler_read = Resource::new(move || events.with(Vec::len), move |_| get_job_scheduler(id));
    let initial_scheduler = detail.scheduler.clone();
    let scheduler = Signal::derive(move || {
        scheduler_read
            .get()
            .and_then(Result::ok)
            .unwrap_or_else(|| initial_scheduler.clone())
    });
    let estimate = Signal::derive(move || job.with(|j| j.estimated_cost_usd));
    let cancel = Action::new(move |_: &()| post_cancel(id));

    let status = Signal::derive(move || job.with(|j| j.status));
    let progress = Signal::derive(move || job.with(|j| j.progress));
    // While the live link is down, what the page shows may be stale: it says so, and a
    // cancel waits until the state is current again (issue 29).
    let stale = Signal::derive(move || {
        matches!(
            live.state.get(),
            crate::live::LinkState::Reconnecting | crate::live::LinkState::Offline
        )
    });

    view! {
        <div class="page-head">
            <h1>{move || job.with(|j| j.name.clone())}</h1>
            <StatusBadge status />
            <div class="spacer"></div>
            <Show when=move || !status.get().is_terminal()>
                <button
                    class="button danger"
                    data-testid="cancel"
                    disabled=move || stale.get()
                    title=move || stale.get().then_some("Not connected: the job's state may have changed")
                    on:click=move |_| {
                        cancel.dispatch(());
                    }
                >
                    "Cancel job"
                </button>
            </Show>
        </div>
        <Show when=move || stale.get()>
            <p class="warning stale" role="status" data-testid="stale">
                "Not connected to the server: what this page shows may be out of date. Reconnecting…"
            </p>
        </Show>
        {move || {
            cancel
                .value()
                .get()
                .and_then(Result::err)
                .map(|e| {
                    let retry = Callback::new(move |()| {
                        cancel.dispatch(());
                    });
                    view! { <crate::components::account::ErrorBox error=e retry /> }
                })
        }}
        <ProgressBar progress status />
        <Timeline events />
        <div class="grid">
            <div class="card">
                <h2>"Job"</h2>
                {move || job.with(facts)}
            </div>
            <div class="card">
                <h2>"Resources and cost"</h2>
                {move || job.with(resources)}
            </div>
        </div>
        <SchedulerCard record=scheduler estimate />
        <div class="card">
            <h2>"Log"</h2>
            <Transition fallback=move || ()>
                {
                    let initial = initial_logs.clone();
                    move || {
                        let l = logs.get().and_then(Result::ok).unwrap_or_else(|| initial.clone());
                        let stderr = (!l.stderr.is_empty())
                            .then(|| {
                                view! {
                                    <h3>"stderr"</h3>
                                    <pre class="log stderr" data-testid="stderr">{l.stderr}</pre>
                                }
                            });
                        view! {
                            <pre class="log" data-testid="stdout">{l.stdout}</pre>
                            {stderr}
                        }
                    }
                }
            </Transition>
        </div>
        <div class="card">
            <h2>"Events"</h2>
            <table class="events" data-testid="events">
                <thead>
                    <tr>
                        <th class="num">"Offset"</th>
                        <th>"Type"</th>
                        <th>"Change"</th>
                        <th>"Actor"</th>
                        <th>"At"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || events.get() key=|e| e.offset let:e>
                        <tr>
                            <td class="num">{e.offset}</td>
                            <td>
                                <code>{e.event_type.as_str()}</code>
                            </td>
                            <td>{describe(&e)}</td>
                            <td class="muted">{e.actor.clone()}</td>
                            <td class="muted">{fmt_time(e.occurred_at)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

fn describe(e: &JobEvent) -> String {
    match e.event_type {
        EventType::JobProgress => format!("progress {}%", e.payload["progress"]),
        EventType::JobSubmitted => "submitted".into(),
        EventType::JobTimeLimitNear => format!(
            "{}% of the time limit used ({} of {} s)",
            e.payload["percent"], e.payload["elapsed_seconds"], e.payload["limit_seconds"]
        ),
        EventType::JobSchedulerChanged => {
            let s = &e.payload["scheduler"];
            let reason = s["reason"].as_str().filter(|r| !r.is_empty() && *r != "None");
            format!(
                "{} job {}: {}{}",
                if s["scheduler"] == "slurm" {
                    "Slurm"
                } else {
                    s["scheduler"].as_str().unwrap_or("scheduler")
                },
                s["scheduler_job_id"].as_str().unwrap_or("—"),
                s["state"].as_str().unwrap_or("?"),
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            )
        }
        _ => format!(
            "{} → {}",
            e.payload["from"].as_str().unwrap_or("?"),
            e.payload["to"].as_str().unwrap_or("?")
        ),
    }
}

#[component]
fn Timeline(events: Memo<Vec<JobEvent>>) -> impl IntoView {
    let steps = move || {
        events.with(|evs| {
            evs.iter()
                .filter_map(|e| {
                    let to = match e.event_type {
                        EventType::JobSubmitted => Some(JobStatus::Submitted),
                        EventType::JobProgress | EventType::JobSchedulerChanged | EventType::JobTimeLimitNear => None,
                        _ => e.payload["to"].as_str().and_then(|s| s.parse().ok()),
                    }?;
                    Some((to, e.occurred_at))
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <ol class="timeline" data-testid="timeline">
            {move || {
                steps()
                    .into_iter()
                    .map(|(s, at)| {
                        view! {
                            <li class=format!("step status-{s}")>
                                <span class="dot"></span>
                                <span class="label">{s.to_string()}</span>
                                <span class="at">{fmt_time(at)}</span>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ol>
    }
}

fn row(label: &'static str, value: String) -> impl IntoView {
    view! {
        <dt>{label}</dt>
        <dd>{value}</dd>
    }
}

fn facts(j: &Job) -> impl IntoView + use<> {
    let outcome = match (&j.error_code, j.exit_code) {
        (Some(code), _) => format!("{code}: {}", j.error_message.clone().unwrap_or_default()),
        (None, Some(c)) => format!("exit code {c}"),
        (None, None) => "—".into(),
    };
    view! {
        <dl class="facts">
            {row("Id", j.id.to_string())}
            {row("Owner", j.owner.clone())}
            {row("Project", j.project.clone())}
            {row("Agent", j.agent.clone())}
            {row("Executor", j.executor.clone())}
            {row("Correlation id", j.correlation_id.clone())}
            {row("Command", j.command.clone())}
            {row("Submitted", fmt_time(j.submitted_at))}
            {row("Queued", fmt_opt_time(j.queued_at))}
            {row("Started", fmt_opt_time(j.started_at))}
            {row("Finished", fmt_opt_time(j.finished_at))}
            {row("Outcome", outcome)}
            {row("Retries", format!("{} of {}", j.retry_count, j.max_retries))}
        </dl>
    }
}

fn resources(j: &Job) -> impl IntoView + use<> {
    let r = j.resources;
    view! {
        <dl class="facts">
            {row("System", j.target_system.clone())}
            {row("Priority", j.priority.to_string())}
            {row("Nodes", r.nodes.to_string())}
            {row("CPUs per node", r.cpus.to_string())}
            {row("Memory per node", format!("{} GB", r.memory_gb))}
            {row("GPUs per node", r.gpus.to_string())}
            {row("Max runtime", format!("{} min", r.max_runtime_minutes))}
            {row("Estimated cost", fmt_usd(j.estimated_cost_usd))}
        </dl>
    }
}

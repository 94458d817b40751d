//! The job list: server-rendered first, then kept current by the live event stream.

use ch_domain::{JobStatus, ListQuery};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::accounts::get_projects;
use crate::api::get_jobs;
use crate::components::{ProgressBar, StatusBadge, fmt_time, fmt_usd, newest};
use crate::live::use_live;

#[component]
pub fn JobsPage() -> impl IntoView {
    let params = use_query_map();
    let status_filter = move || params.with(|p| p.get("status").and_then(|s| s.parse::<JobStatus>().ok()));
    let project_filter = move || params.with(|p| p.get("project").filter(|p| !p.is_empty()));
    let page = Resource::new(
        move || ListQuery {
            status: status_filter(),
            project: project_filter(),
            ..ListQuery::default()
        },
        |q| crate::api::retrying(move || get_jobs(q.clone())),
    );
    let projects = Resource::new(|| (), |_| get_projects());
    // A filter change navigates to `/?project=…&status=…` through the router; without
    // scripts the form's button submits the same query.
    let navigate = leptos_router::hooks::use_navigate();
    let go = move |project: Option<String>, status: Option<String>| {
        let query: Vec<String> = [("project", project), ("status", status)]
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode(&v))))
            .collect();
        navigate(&format!("/?{}", query.join("&")), Default::default());
    };
    let on_project = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            go(
                Some(event_target_value(&ev)),
                status_filter().map(|s| s.as_str().to_owned()),
            )
        }
    };
    let on_status = move |ev: leptos::ev::Event| go(project_filter(), Some(event_target_value(&ev)));
    let live = use_live();

    let rows = move || {
        page.get().map(|res| {
            res.map(|list| {
                // The live stream starts no later than what this list shows (issue 29).
                live.reflects(list.offset);
                let p = list.page;
                let filter = status_filter();
                let project = project_filter();
                let loaded_ids: std::collections::HashSet<_> = p.jobs.iter().map(|j| j.id).collect();
                let snapshots = live.jobs.get();
                // Jobs submitted since the page loaded come first.
                let mut fresh: Vec<_> = snapshots
                    .values()
                    .filter(|j| !loaded_ids.contains(&j.id))
                    .cloned()
                    .collect();
                fresh.sort_by_key(|j| std::cmp::Reverse(j.submitted_at));
                let mut jobs: Vec<_> = fresh
                    .into_iter()
                    .chain(p.jobs.into_iter().map(|j| {
                        let l = snapshots.get(&j.id).cloned();
                        newest(j, l)
                    }))
                    .collect();
                if let Some(f) = filter {
                    jobs.retain(|j| j.status == f);
                }
                if let Some(p) = project {
                    jobs.retain(|j| j.project == p);
                }
                (jobs, p.total)
            })
        })
    };

    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Jobs"</h1>
                <form class="filters" method="get" action="/">
                    <label>
                        "Project "
                        <select name="project" on:change=on_project data-testid="project-filter">
                            <option value="" selected=move || project_filter().is_none()>"all of mine"</option>
                            <Suspense fallback=|| ()>
                                {move || {
                                    projects
                                        .get()
                                        .and_then(Result::ok)
                                        .unwrap_or_default()
                                        .into_iter()
                                        .map(|p| {
                                            let name = p.name.clone();
                                            let selected = move || project_filter().as_deref() == Some(name.as_str());
                                            view! {
                                                <option value=p.name.clone() selected=selected>
                                                    {p.name.clone()}
                                                </option>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </Suspense>
                        </select>
                    </label>
                    <label>
                        "Status "
                        <select name="status" on:change=on_status data-testid="status-filter">
                            <option value="" selected=move || status_filter().is_none()>"all"</option>
                            {JobStatus::ALL
                                .into_iter()
                                .map(|s| {
                                    view! {
                                        <option value=s.as_str() selected=move || status_filter() == Some(s)>
                                            {s.as_str()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    <noscript>
                        <button type="submit" class="button small">"Filter"</button>
                    </noscript>
                </form>
                <A href="/submit" attr:class="button primary">"New job"</A>
            </div>
            <Transition fallback=|| view! { <p class="empty">"Loading jobs…"</p> }>
                {move || {
                    rows()
                        .map(|res| match res {
                            Err(e) => {
                                let retry = Callback::new(move |()| page.refetch());
                                view! { <crate::components::account::ErrorBox error=e retry /> }.into_any()
                            }
                            Ok((jobs, _)) if jobs.is_empty() => {
                                view! {
                                    <p class="empty">
                                        "No jobs yet. " <A href="/submit">"Submit the first one"</A> "."
                                    </p>
                                }
                                    .into_any()
                            }
                            Ok((jobs, total)) => {
                                view! {
                                    <table class="jobs" data-testid="job-table">
                                        <thead>
                                            <tr>
                                                <th>"Name"</th>
                                                <th>"Project"</th>
                                                <th>"Status"</th>
                                                <th class="w-progress">"Progress"</th>
                                                <th>"Agent"</th>
                                                <th>"System"</th>
                                                <th>"Priority"</th>
                                                <th class="num">"Est. cost"</th>
                                                <th>"Submitted"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {jobs
                                                .into_iter()
                                                .map(|j| {
                                                    let status = j.status;
                                                    let progress = j.progress;
                                                    view! {
                                                        <tr data-job-id=j.id.to_string()>
                                                            <td>
                                                                <A href=format!("/jobs/{}", j.id)>{j.name.clone()}</A>
                                                            </td>
                                                            <td class="muted">{j.project.clone()}</td>
                                                            <td>
                                                                <StatusBadge status=status />
                                                            </td>
                                                            <td>
                                                                <ProgressBar progress=progress status=status />
                                                            </td>
                                                            <td>{j.agent.clone()}</td>
                                                            <td>{j.target_system.clone()}</td>
                                                            <td class=format!("prio prio-{}", j.priority)>{j.priority.to_string()}</td>
                                                            <td class="num">{fmt_usd(j.estimated_cost_usd)}</td>
                                                            <td class="muted">{fmt_time(j.submitted_at)}</td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                    <p class="muted small">{format!("{total} job(s) matched when loaded; live updates since.")}</p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </section>
    }
}

/// Percent-encodes a query value (letters, digits and `-._~` stay).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

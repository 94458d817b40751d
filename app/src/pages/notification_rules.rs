//! The rules form on the notifications page: which kinds of the user's own jobs, which
//! projects and jobs they watch beyond them, where (inbox, e-mail) and when e-mail may come
//! (each at once, an hourly or daily digest, quiet hours in their time zone).

use ch_domain::{EmailDigest, NotificationKind, NotificationRules, QuietHours, Watch};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::UiError;
use crate::api::notifications::{get_rules, post_rules};
use crate::components::account::ErrorBox;

type SaveRules = Action<NotificationRules, Result<NotificationRules, UiError>>;

#[component]
pub fn Rules() -> impl IntoView {
    let save = Action::new(|rules: &NotificationRules| post_rules(rules.clone()));
    let rules = Resource::new(|| (), |_| get_rules());
    view! {
        <section class="card" data-testid="notification-rules">
            <h2>"Rules"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    rules
                        .get()
                        .map(|res| match res {
                            Ok(r) => {
                                view! { <RulesForm initial=r.rules email_available=r.email_available save /> }.into_any()
                            }
                            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

/// The browser's IANA time zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
fn browser_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into()).ok()?.as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Checkboxes for `kinds`, one per kind (`data-kind` names it); also the submit form's.
pub(crate) fn kind_boxes(kinds: RwSignal<Vec<NotificationKind>>) -> impl IntoView {
    NotificationKind::ALL
        .into_iter()
        .map(|k| {
            view! {
                <label class="check">
                    <input type="checkbox" data-kind=k.as_str()
                        prop:checked=move || kinds.with(|v| v.contains(&k))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            kinds.update(|v| {
                                v.retain(|x| *x != k);
                                if on {
                                    v.push(k);
                                }
                            });
                        } />
                    " " {k.label()}
                </label>
            }
        })
        .collect_view()
}

#[component]
fn RulesForm(initial: NotificationRules, email_available: bool, save: SaveRules) -> impl IntoView {
    let kinds = RwSignal::new(initial.kinds.clone());
    let in_app = RwSignal::new(initial.in_app);
    let email = RwSignal::new(initial.email.clone().unwrap_or_default());
    let digest = RwSignal::new(initial.email_digest);
    let quiet_on = RwSignal::new(initial.quiet_hours.is_some());
    let (start, end) = initial
        .quiet_hours
        .as_ref()
        .map_or(("22:00".to_owned(), "07:00".to_owned()), |q| {
            (q.start.clone(), q.end.clone())
        });
    let quiet_start = RwSignal::new(start);
    let quiet_end = RwSignal::new(end);
    let zone = RwSignal::new(initial.time_zone.clone());
    // Each watch's kinds are a signal of their own, so ticking one re-renders nothing else.
    let watches = RwSignal::new(
        initial
            .watches
            .iter()
            .map(|w| (w.project.clone(), w.job_id, RwSignal::new(w.kinds.clone())))
            .collect::<Vec<_>>(),
    );
    let new_watch = RwSignal::new(String::new());
    let problem = move |field: &'static str| {
        save.value()
            .with(|r| Some(r.as_ref()?.as_ref().err()?.message_for(field)?.to_owned()))
    };
    // A problem with watch `i` (the watch itself or one of its fields).
    let watch_problem = move |i: usize| {
        save.value().with(|r| match r.as_ref()?.as_ref().err()? {
            UiError::Invalid { field, message }
                if field == &format!("watches[{i}]") || field.starts_with(&format!("watches[{i}].")) =>
            {
                Some(message.clone())
            }
            _ => None,
        })
    };
    let add_watch = move |_| {
        let target = new_watch.get_untracked().trim().to_owned();
        if target.is_empty() {
            return;
        }
        let (project, job_id) = match target.parse::<Uuid>() {
            Ok(id) => (None, Some(id)),
            Err(_) => (Some(target), None),
        };
        let kinds = RwSignal::new(vec![NotificationKind::Failed, NotificationKind::TimedOut]);
        watches.update(|w| w.push((project, job_id, kinds)));
        new_watch.set(String::new());
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(NotificationRules {
            kinds: kinds.get(),
            in_app: in_app.get(),
            email: Some(email.get()).filter(|e| !e.trim().is_empty()),
            watches: watches
                .get()
                .into_iter()
                .map(|(project, job_id, kinds)| Watch {
                    project,
                    job_id,
                    kinds: kinds.get(),
                })
                .collect(),
            email_digest: digest.get(),
            quiet_hours: quiet_on.get().then(|| QuietHours {
                start: quiet_start.get(),
                end: quiet_end.get(),
            }),
            time_zone: zone.get(),
        });
    };
    // Read after mounting: the server renders without it, and hydration must match.
    let browser = RwSignal::new(None::<String>);
    let saved_zone = initial.time_zone.clone();
    Effect::new(move |_| browser.set(browser_zone().filter(|z| *z != saved_zone)));
    view! {
        <form class="rules" novalidate on:submit=on_submit data-testid="rules-form">
            <fieldset>
                <legend>"Tell me when, for my own jobs"</legend>
                {kind_boxes(kinds)}
            </fieldset>
            <fieldset data-testid="watches">
                <legend>"Also for these projects and jobs"</legend>
                <p class="hint">
                    "Every job of a project you may read, whoever submitted it, or one job. The most specific rule wins; none ticked mutes it."
                </p>
                <ul class="watches">
                    {move || {
                        watches
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, (project, job_id, kinds))| {
                                let what = match (&project, job_id) {
                                    (Some(p), _) => format!("Project {p}"),
                                    (None, Some(id)) => format!("Job {id}"),
                                    _ => String::new(),
                                };
                                view! {
                                    <li data-testid="watch">
                                        <div class="watch-head">
                                            <strong>{what}</strong>
                                            <button type="button" class="link" data-testid="remove-watch"
                                                on:click=move |_| watches.update(|w| { if i < w.len() { w.remove(i); } })>
                                                "Remove"
                                            </button>
                                        </div>
                                        <div class="watch-kinds">{kind_boxes(kinds)}</div>
                                        <p class="error" role="alert" hidden=move || watch_problem(i).is_none()>
                                            {move || watch_problem(i)}
                                        </p>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
                <div class="row">
                    <input type="text" placeholder="a project's name or a job's id" bind:value=new_watch
                        data-testid="watch-target" aria-label="Project or job to watch" />
                    <button type="button" class="button" on:click=add_watch data-testid="add-watch">"Watch"</button>
                </div>
            </fieldset>
            <label class="check">
                <input type="checkbox" bind:checked=in_app data-testid="rule-in-app" />
                " In this inbox (with the bell's badge)"
            </label>
            <label class="field">
                "E-mail them to "
                <input type="email" maxlength="254" placeholder="name@example.org" bind:value=email
                    data-testid="rule-email" aria-invalid=move || problem("email").is_some().to_string()
                    aria-describedby="rule-email-problem rule-email-hint" />
            </label>
            <p id="rule-email-hint" class="hint" data-testid="email-availability">
                {if email_available {
                    "Each e-mail has a link that stops them without signing in. Past the site's hourly limit, the rest come as one digest."
                } else {
                    "This site has no mail server configured ([notify.smtp]), so no e-mail is sent; the address is kept for when it has one."
                }}
            </p>
            <p id="rule-email-problem" class="error" role="alert" hidden=move || problem("email").is_none()>
                {move || problem("email")}
            </p>
            <label class="field">
                "Send e-mail "
                <select data-testid="rule-digest" on:change=move |ev| {
                    digest.set(match event_target_value(&ev).as_str() {
                        "hourly" => EmailDigest::Hourly,
                        "daily" => EmailDigest::Daily,
                        _ => EmailDigest::Off,
                    })
                }>
                    <option value="off" selected=initial.email_digest == EmailDigest::Off>"as each notification comes"</option>
                    <option value="hourly" selected=initial.email_digest == EmailDigest::Hourly>"as an hourly digest"</option>
                    <option value="daily" selected=initial.email_digest == EmailDigest::Daily>
                        {format!("as a daily digest at {:02}:00", ch_domain::notification_rules::DAILY_DIGEST_HOUR)}
                    </option>
                </select>
            </label>
            <div class="row quiet">
                <label class="check">
                    <input type="checkbox" bind:checked=quiet_on data-testid="rule-quiet" />
                    " No e-mail between "
                </label>
                <input type="time" bind:value=quiet_start data-testid="quiet-start" aria-label="Quiet hours start"
                    aria-invalid=move || problem("quiet_hours.start").is_some().to_string() />
                " and "
                <input type="time" bind:value=quiet_end data-testid="quiet-end" aria-label="Quiet hours end"
                    aria-invalid=move || problem("quiet_hours.end").is_some().to_string() />
                <span class="hint">" (what comes meanwhile arrives as one e-mail when they end)"</span>
            </div>
            <p class="error" role="alert" hidden=move || problem("quiet_hours.start").or(problem("quiet_hours.end")).is_none()>
                {move || problem("quiet_hours.start").or(problem("quiet_hours.end"))}
            </p>
            <label class="field">
                "Time zone "
                <input type="text" bind:value=zone data-testid="rule-zone" placeholder="Europe/Berlin"
                    aria-invalid=move || problem("time_zone").is_some().to_string() />
            </label>
            {move || {
                browser
                    .get()
                    .map(|z| {
                        let label = format!("Use this browser's ({z})");
                        view! {
                            <button type="button" class="link" data-testid="use-browser-zone"
                                on:click=move |_| zone.set(z.clone())>
                                {label}
                            </button>
                        }
                    })
            }}
            <p class="error" role="alert" hidden=move || problem("time_zone").is_none()>{move || problem("time_zone")}</p>
            <button type="submit" class="button primary" data-testid="save-rules">"Save rules"</button>
            {move || {
                save.value().get().map(|r| match r {
                    Ok(_) => view! { <span class="hint" role="status" data-testid="rules-saved">" Saved."</span> }.into_any(),
                    Err(UiError::Invalid { .. }) => ().into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })
            }}
        </form>
    }
}

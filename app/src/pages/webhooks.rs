//! The webhooks card of the notifications page: add a URL (its signing secret is shown), see
//! each webhook's delivery log (receiver status, latency, attempts, error) and send a given-up
//! delivery again.

use ch_api::{DeliveryRecord, Webhook};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::UiError;
use crate::api::notifications::{
    get_webhook_deliveries, get_webhooks, post_delete_webhook, post_retry_delivery, post_webhook,
};
use crate::components::account::ErrorBox;
use crate::components::fmt_opt_time;
use crate::live::use_live;

#[component]
pub fn Webhooks() -> impl IntoView {
    let add = Action::new(|(url, description): &(String, String)| post_webhook(url.clone(), description.clone()));
    let remove = Action::new(|id: &Uuid| post_delete_webhook(*id));
    let hooks = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| get_webhooks(),
    );
    let url = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let problem = move |field: &'static str| {
        add.value()
            .with(|r| Some(r.as_ref()?.as_ref().err()?.message_for(field)?.to_owned()))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add.dispatch((url.get(), description.get()));
    };
    // Added: the form is ready for the next one.
    Effect::new(move |_| {
        if add.value().with(|v| matches!(v, Some(Ok(_)))) {
            url.set(String::new());
            description.set(String::new());
        }
    });
    view! {
        <section class="card" data-testid="webhooks">
            <h2>"Webhooks"</h2>
            <p class="hint">
                "Each of your notifications is POSTed as JSON to these URLs, signed per "
                <a href="https://www.standardwebhooks.com/">"Standard Webhooks"</a>
                " (" <code>"webhook-id"</code> ", " <code>"webhook-timestamp"</code> ", "
                <code>"webhook-signature"</code> ") with the webhook's secret; a receiver that is down gets it later."
            </p>
            <form class="webhook-form" novalidate on:submit=on_submit data-testid="webhook-form">
                <label class="field">
                    "URL "
                    <input type="url" required maxlength="2048" placeholder="https://example.org/hooks/horizons"
                        bind:value=url data-testid="webhook-url"
                        aria-invalid=move || problem("url").is_some().to_string()
                        aria-describedby="webhook-url-problem" />
                </label>
                <label class="field">
                    "What it is for " <input maxlength="200" bind:value=description data-testid="webhook-description" />
                </label>
                <button type="submit" class="button" data-testid="add-webhook">"Add webhook"</button>
            </form>
            <p id="webhook-url-problem" class="error" role="alert" hidden=move || problem("url").is_none()>
                {move || problem("url")}
            </p>
            {move || {
                add.value().get().and_then(|r| match r {
                    Err(e) if e.message_for("url").is_some() => None,
                    Err(e) => Some(view! { <ErrorBox error=e /> }.into_any()),
                    Ok(_) => None,
                })
            }}
            <Transition fallback=|| ()>
                {move || {
                    hooks
                        .get()
                        .map(|res| match res {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No webhooks."</p> }.into_any(),
                            Ok(list) => {
                                list.into_iter()
                                    .map(|h| view! { <Hook hook=h remove /> })
                                    .collect_view()
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Hook(hook: Webhook, remove: Action<Uuid, Result<(), UiError>>) -> impl IntoView {
    let live = use_live();
    let id = hook.id;
    let retry = Action::new(|id: &Uuid| post_retry_delivery(*id));
    // Read again on every inbox change (a new notification means a new delivery), after a
    // retry, and every 2 s while a delivery is on its way (its retries make no event).
    let tick = RwSignal::new(0_u32);
    let log = Resource::new(
        move || (live.inbox.get(), retry.version().get(), tick.get()),
        move |_| get_webhook_deliveries(id),
    );
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let waiting = log
            .get()
            .and_then(Result::ok)
            .is_some_and(|rows| rows.iter().any(|d| d.status == "pending"));
        if waiting {
            leptos::task::spawn_local(async move {
                crate::timer::sleep_ms(2000).await;
                tick.try_update(|t| *t += 1);
            });
        }
    });
    let show_secret = RwSignal::new(false);
    let secret = hook.secret.clone();
    view! {
        <div class="webhook" data-testid="webhook" data-webhook-id=id.to_string()>
            <div class="webhook-head">
                <code class="webhook-url">{hook.url.clone()}</code>
                <span class="hint">{hook.description.clone()}</span>
                <button type="button" class="link" on:click=move |_| show_secret.update(|s| *s = !*s)
                    data-testid="show-secret">
                    {move || if show_secret.get() { "Hide secret" } else { "Show secret" }}
                </button>
                <button type="button" class="link" data-testid="remove-webhook"
                    on:click=move |_| { remove.dispatch(id); }>"Remove"</button>
            </div>
            <p hidden=move || !show_secret.get()>
                "Secret: " <code data-testid="webhook-secret">{secret.clone()}</code>
            </p>
            <Transition fallback=|| ()>
                {move || log.get().map(|res| match res {
                    Ok(rows) if rows.is_empty() => view! { <p class="hint">"Nothing sent yet."</p> }.into_any(),
                    Ok(rows) => view! { <DeliveryLog rows retry /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </div>
    }
}

#[component]
fn DeliveryLog(rows: Vec<DeliveryRecord>, retry: Action<Uuid, Result<DeliveryRecord, UiError>>) -> impl IntoView {
    view! {
        <table class="jobs deliveries" data-testid="delivery-log">
            <thead>
                <tr>
                    <th>"Status"</th>
                    <th>"Receiver said"</th>
                    <th>"Latency"</th>
                    <th>"Attempts"</th>
                    <th>"Sent / next try"</th>
                    <th>"Last error"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|d| {
                        let id = d.id;
                        let dead = d.status == "dead";
                        let when = if d.status == "sent" { d.sent_at } else { Some(d.next_attempt_at) };
                        view! {
                            <tr data-testid="delivery" data-status=d.status.clone()>
                                <td><span class=format!("badge delivery-{}", d.status)>{d.status.clone()}</span></td>
                                <td>{d.response_status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "—".into())}</td>
                                <td>{d.latency_ms.map(|l| format!("{l} ms")).unwrap_or_else(|| "—".into())}</td>
                                <td>{d.attempts}</td>
                                <td>{fmt_opt_time(when)}</td>
                                <td class="hint">{d.last_error.unwrap_or_default()}</td>
                                <td>
                                    {dead.then(|| view! {
                                        <button type="button" class="button" data-testid="send-again"
                                            on:click=move |_| { retry.dispatch(id); }>"Send again"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

//! The inbox: the signed-in user's notifications, newest first and live (a job that ends while
//! the page is open appears at once), marked read, unread or dismissed one at a time or all
//! read at once; and the rules that decide what they are told about.

use ch_api::MarkAction;
use ch_domain::Notification;
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::UiError;
use crate::api::notifications::{get_inbox, post_mark};
use crate::components::account::ErrorBox;
use crate::components::fmt_time;
use crate::live::use_live;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let live = use_live();
    let unread_only = RwSignal::new(false);
    let mark = Action::new(|(action, ids): &(MarkAction, Option<Vec<Uuid>>)| post_mark(*action, ids.clone()));
    // Read again when the filter changes, an event about the inbox arrives (this tab's marks
    // included), or a mark answers (in case the live link is down).
    let inbox = Resource::new(
        move || (unread_only.get(), live.inbox.get(), mark.version().get()),
        |(unread, _, _)| get_inbox(unread, None),
    );
    let older = RwSignal::new(Vec::<Notification>::new());
    let more = RwSignal::new(false);
    let loading_older = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(page)) = inbox.get() {
            older.set(Vec::new());
            more.set(page.more);
        }
    });
    let load_older = move |_| {
        let last = older.get_untracked().last().map(|n| n.id).or_else(|| {
            inbox
                .get_untracked()
                .and_then(|r| r.ok())
                .and_then(|p| p.items.last().map(|n| n.id))
        });
        let unread = unread_only.get_untracked();
        loading_older.set(true);
        leptos::task::spawn_local(async move {
            if let Ok(page) = get_inbox(unread, last).await {
                more.set(page.more);
                older.update(|o| o.extend(page.items));
            }
            loading_older.set(false);
        });
    };
    view! {
        <h1>"Notifications"</h1>
        <section class="card inbox" data-testid="inbox">
            <div class="inbox-bar">
                <div class="tabs" role="group" aria-label="Show">
                    <button type="button" class="button" class:primary=move || !unread_only.get()
                        aria-pressed=move || (!unread_only.get()).to_string()
                        on:click=move |_| unread_only.set(false) data-testid="show-all">"All"</button>
                    <button type="button" class="button" class:primary=move || unread_only.get()
                        aria-pressed=move || unread_only.get().to_string()
                        on:click=move |_| unread_only.set(true) data-testid="show-unread">"Unread"</button>
                </div>
                <button type="button" class="button" data-testid="mark-all-read"
                    on:click=move |_| { mark.dispatch((MarkAction::Read, None)); }>
                    "Mark all read"
                </button>
            </div>
            {move || mark.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e /> })}
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || {
                    inbox
                        .get()
                        .map(|res| match res {
                            Ok(page) if page.items.is_empty() => {
                                view! {
                                    <p class="empty" data-testid="inbox-empty">
                                        {if unread_only.get_untracked() {
                                            "Nothing unread."
                                        } else {
                                            "No notifications yet. You are told here when your jobs end (see the rules below)."
                                        }}
                                    </p>
                                }
                                    .into_any()
                            }
                            Ok(page) => {
                                view! {
                                    <p class="hint" data-testid="inbox-unread">{format!("{} unread", page.unread)}</p>
                                    <ul class="notes" data-testid="notifications">
                                        {page.items.into_iter().map(|n| view! { <Item n mark /> }).collect_view()}
                                        <For each=move || older.get() key=|n| n.id let:n>
                                            <Item n mark />
                                        </For>
                                    </ul>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        })
                }}
            </Transition>
            <button type="button" class="button" hidden=move || !more.get() disabled=move || loading_older.get()
                on:click=load_older data-testid="load-older">
                "Show older"
            </button>
        </section>
        <super::notification_rules::Rules />
        <super::webhooks::Webhooks />
    }
}

/// Marks notifications: (what to do, which ones — `None` = every unread one).
type MarkNotes = Action<(MarkAction, Option<Vec<Uuid>>), Result<ch_api::Marked, UiError>>;

#[component]
fn Item(n: Notification, mark: MarkNotes) -> impl IntoView {
    let id = n.id;
    let unread = n.read_at.is_none();
    let (toggle, toggle_label) = if unread {
        (MarkAction::Read, "Mark read")
    } else {
        (MarkAction::Unread, "Mark unread")
    };
    view! {
        <li class="note" class:unread=unread data-testid="notification" data-kind=n.kind.as_str()>
            <div class="note-main">
                <a href=format!("/jobs/{}", n.job_id) class="note-title">{n.title}</a>
                <p class="note-body">{n.body}</p>
                <time class="hint" datetime=n.created_at.to_rfc3339()>{fmt_time(n.created_at)}</time>
            </div>
            <div class="note-actions">
                <button type="button" class="link" data-testid="toggle-read"
                    on:click=move |_| { mark.dispatch((toggle, Some(vec![id]))); }>{toggle_label}</button>
                <button type="button" class="link" data-testid="dismiss"
                    on:click=move |_| { mark.dispatch((MarkAction::Dismiss, Some(vec![id]))); }>"Dismiss"</button>
            </div>
        </li>
    }
}

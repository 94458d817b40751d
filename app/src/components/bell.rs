//! The bell in the top bar: the signed-in user's unread notifications, live (read again
//! whenever an event on their `user:<id>:notifications` channel arrives), linking to the inbox.

use leptos::prelude::*;

use crate::api::notifications::get_unread;
use crate::live::use_live;

#[component]
pub fn Bell() -> impl IntoView {
    let live = use_live();
    let unread = Resource::new(move || live.inbox.get(), |_| get_unread());
    // The last count stays on screen while the next one loads (no flicker on every event).
    let shown = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        if let Some(res) = unread.get() {
            shown.set(res.ok().flatten());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || {
                let _ = unread.get();
                shown
                    .get()
                    .map(|n| {
                        let label = match n {
                            0 => "Notifications: none unread".to_owned(),
                            1 => "Notifications: 1 unread".to_owned(),
                            n => format!("Notifications: {n} unread"),
                        };
                        view! {
                            <a href="/notifications" class="bell" class:unread={n > 0} aria-label=label.clone()
                                title=label data-testid="bell">
                                // Drawn, not an emoji: a machine without an emoji font shows a box.
                                <svg viewBox="0 0 24 24" aria-hidden="true">
                                    <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
                                </svg>
                                <span class="bell-count" data-testid="bell-count" hidden={n == 0}>
                                    {if n > 99 { "99+".to_owned() } else { n.to_string() }}
                                </span>
                            </a>
                        }
                    })
            }}
        </Transition>
    }
}

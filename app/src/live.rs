//! Live job events in the browser: one WebSocket to `/api/events/ws` per page, resumed from
//! the last offset seen after a disconnect. Pages read the latest job snapshots from context.

use std::collections::HashMap;

use ch_domain::{Job, JobEvent};
use leptos::prelude::*;
use uuid::Uuid;

/// Newest events kept for pages that show an event feed.
const RECENT: usize = 500;

#[derive(Debug, Clone, Copy)]
pub struct LiveEvents {
    /// Latest snapshot of every job an event mentioned since the page loaded.
    pub jobs: RwSignal<HashMap<Uuid, Job>>,
    /// The most recent events, oldest first.
    pub events: RwSignal<Vec<JobEvent>>,
    pub connected: RwSignal<bool>,
}

impl LiveEvents {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn apply(&self, ev: JobEvent) {
        if let Some(job) = ev.job() {
            self.jobs.update(|m| {
                m.insert(job.id, job);
            });
        }
        self.events.update(|v| {
            if v.last().is_some_and(|last| last.offset >= ev.offset) {
                return;
            }
            v.push(ev);
            if v.len() > RECENT {
                v.drain(..v.len() - RECENT);
            }
        });
    }
}

pub fn use_live() -> LiveEvents {
    expect_context::<LiveEvents>()
}

pub fn provide_live_events() {
    let live = LiveEvents {
        jobs: RwSignal::new(HashMap::new()),
        events: RwSignal::new(Vec::new()),
        connected: RwSignal::new(false),
    };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<bool>| {
        if started != Some(true) {
            socket::connect(live, None);
        }
        true
    });
}

#[component]
pub fn LiveIndicator() -> impl IntoView {
    let live = use_live();
    let location = leptos_router::hooks::use_location();
    // Nothing streams on the sign-in page.
    let shown = move || location.pathname.get() != "/login";
    view! {
        <span
            hidden=move || !shown()
            class="live"
            class:on=move || live.connected.get()
            data-testid="live-indicator"
            title="Live updates from the server's event stream"
        >
            {move || if live.connected.get() { "● live" } else { "○ connecting" }}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod socket {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    use super::*;

    pub fn connect(live: LiveEvents, after: Option<i64>) {
        let Some(window) = web_sys::window() else { return };
        let location = window.location();
        // The sign-in page has nobody to stream for (the socket would be refused with 401);
        // signing in loads the next page afresh.
        if location.pathname().is_ok_and(|p| p == "/login") {
            return;
        }
        let (Ok(protocol), Ok(host)) = (location.protocol(), location.host()) else {
            return;
        };
        let scheme = if protocol == "https:" { "wss" } else { "ws" };
        let url = match after {
            Some(a) => format!("{scheme}://{host}/api/events/ws?after={a}"),
            None => format!("{scheme}://{host}/api/events/ws"),
        };
        let Ok(ws) = WebSocket::new(&url) else { return };

        let on_open = Closure::<dyn FnMut()>::new(move || live.connected.set(true));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string()
                && let Ok(ev) = serde_json::from_str::<JobEvent>(&text)
            {
                live.apply(ev);
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = Closure::<dyn FnMut()>::new(move || {
            live.connected.set(false);
            let resume = live.events.with_untracked(|v| v.last().map(|e| e.offset)).or(after);
            let retry = Closure::<dyn FnMut()>::new(move || connect(live, resume));
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(retry.as_ref().unchecked_ref(), 1000);
            }
            retry.forget();
        });
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
    }
}

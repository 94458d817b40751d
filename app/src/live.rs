//! Live job events in the browser through the real-time gateway (docs/realtime.md): one
//! WebSocket per tab, subscribed to the `project:<name>:jobs` channel of every project the user
//! may read and to the user's own `user:<id>:notifications`, resumed from each channel's last (epoch, offset) after a disconnect, reconnected with
//! exponential backoff and jitter (1 s … 60 s). Pages read the latest job snapshots from context.

use std::collections::HashMap;

use ch_domain::{Job, JobEvent};
use leptos::prelude::*;
use uuid::Uuid;

/// Newest events kept for pages that show an event feed.
const RECENT: usize = 500;

/// The state of the tab's connection, shown in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Live,
    /// Lost; trying again after a backoff.
    Reconnecting,
    /// The browser says it is offline; trying again when it is back.
    Offline,
}

#[derive(Debug, Clone, Copy)]
pub struct LiveEvents {
    /// Latest snapshot of every job an event mentioned since the page loaded.
    pub jobs: RwSignal<HashMap<Uuid, Job>>,
    /// The most recent events, oldest first.
    pub events: RwSignal<Vec<JobEvent>>,
    pub state: RwSignal<LinkState>,
    /// Bumped on every change of the user's notifications (sent, read, unread, dismissed, in
    /// this tab or another): the bell and the inbox read again when it moves.
    pub inbox: RwSignal<u64>,
    /// The oldest log offset that a page on screen reflects (its data was read up to there):
    /// the socket subscribes from the older of it and the connection's welcome, so the events
    /// between a page's first render and its subscription are replayed, not lost.
    floor: RwSignal<Option<i64>>,
}

impl LiveEvents {
    /// A page shows data that reflects the event log up to `offset` (inclusive): events after
    /// it must reach the page. Call it when the page's data arrives, before the live stream
    /// is needed; a page's own view drops the events it already reflects.
    pub fn reflects(&self, offset: i64) {
        self.floor
            .update_untracked(|f| *f = Some(f.map_or(offset, |old| old.min(offset))));
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn apply(&self, ev: JobEvent) {
        if ev.event_type.is_notification() {
            self.inbox.update(|v| *v += 1);
            return;
        }
        if let Some(job) = ev.job() {
            self.jobs.update(|m| {
                m.insert(job.id, job);
            });
        }
        self.events.update(|v| {
            // The same event can arrive on two channels; the feed keeps it once.
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
        state: RwSignal::new(LinkState::Connecting),
        inbox: RwSignal::new(0),
        floor: RwSignal::new(None),
    };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<bool>| {
        if started != Some(true) {
            socket::start(live);
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
            class:on=move || live.state.get() == LinkState::Live
            data-state=move || format!("{:?}", live.state.get()).to_lowercase()
            data-testid="live-indicator"
            title="Live updates from the server's real-time gateway"
        >
            {move || match live.state.get() {
                LinkState::Live => "● live",
                LinkState::Connecting => "○ connecting",
                LinkState::Reconnecting => "○ reconnecting…",
                LinkState::Offline => "○ offline",
            }}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod socket {
    use std::cell::RefCell;
    use std::rc::Rc;

    use serde_json::{Value, json};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    use super::*;

    /// Per channel: the (epoch, offset) to resume after.
    type Positions = Rc<RefCell<HashMap<String, (String, i64)>>>;

    const MIN_BACKOFF_MS: f64 = 1000.0;
    const MAX_BACKOFF_MS: f64 = 60_000.0;

    pub fn start(live: LiveEvents) {
        connect(live, Positions::default(), 0);
    }

    /// Full jitter on an exponential backoff (AWS architecture blog, "Exponential Backoff And
    /// Jitter"): a random delay in [½·d, d], d = min(60 s, 1 s · 2^attempt).
    fn backoff_ms(attempt: u32) -> i32 {
        let d = (MIN_BACKOFF_MS * 2f64.powi(attempt.min(16) as i32)).min(MAX_BACKOFF_MS);
        (d * (0.5 + js_sys::Math::random() / 2.0)) as i32
    }

    fn send(ws: &WebSocket, v: &Value) {
        let _ = ws.send_with_str(&v.to_string());
    }

    /// Subscribes to every readable project and to the user's notifications. A channel without a position of its own resumes
    /// from the connection's welcome — or from the oldest offset a page on screen reflects, when
    /// that is older (the page was rendered before the socket connected) — so nothing committed
    /// between a page's render and its subscription, or while the project list loads, is lost.
    fn subscribe_all(live: LiveEvents, ws: WebSocket, positions: Positions, welcome: Option<(String, i64)>) {
        leptos::task::spawn_local(async move {
            let Ok(projects) = crate::api::accounts::get_projects().await else {
                return;
            };
            let me = crate::api::get_me().await.ok().flatten();
            let start = welcome.map(|(epoch, offset)| {
                let floor = live.floor.get_untracked().unwrap_or(offset);
                (epoch, offset.min(floor))
            });
            let channels = projects
                .into_iter()
                .map(|p| format!("project:{}:jobs", p.name))
                .chain(me.map(|u| format!("user:{}:notifications", u.user_id)));
            for channel in channels {
                let mut msg = json!({ "op": "subscribe", "channel": channel });
                if let Some((epoch, offset)) = positions.borrow().get(&channel).or(start.as_ref()) {
                    msg["since"] = json!({ "epoch": epoch, "offset": offset });
                }
                send(&ws, &msg);
            }
        });
    }

    fn on_message(live: LiveEvents, ws: &WebSocket, positions: &Positions, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let channel = v["channel"].as_str().unwrap_or_default().to_owned();
        let position = || Some((v["epoch"].as_str()?.to_owned(), v["offset"].as_i64()?));
        match v["type"].as_str().unwrap_or_default() {
            "welcome" => {
                live.state.set(LinkState::Live);
                subscribe_all(live, ws.clone(), positions.clone(), position());
            }
            "subscribed" => {
                if let Some(p) = position() {
                    positions.borrow_mut().entry(channel).or_insert(p);
                }
            }
            "event" => {
                if let Ok(ev) = serde_json::from_value::<JobEvent>(v["event"].clone()) {
                    live.apply(ev);
                }
                if let Some(p) = position() {
                    positions.borrow_mut().insert(channel, p);
                }
            }
            // The log cannot fill the hole (a restored database): start from what the server
            // shows now.
            "gap" => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
            _ => {}
        }
    }

    fn connect(live: LiveEvents, positions: Positions, attempt: u32) {
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
        let Ok(ws) = WebSocket::new(&format!("{scheme}://{host}/api/realtime/ws")) else {
            return;
        };
        let opened = Rc::new(std::cell::Cell::new(false));

        let on_message = {
            let (ws2, positions, opened) = (ws.clone(), positions.clone(), opened.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                opened.set(true);
                if let Some(text) = e.data().as_string() {
                    on_message(live, &ws2, &positions, &text);
                }
            })
        };
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = Closure::<dyn FnMut()>::new(move || {
            let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
            live.state.set(if online {
                LinkState::Reconnecting
            } else {
                LinkState::Offline
            });
            // A connection that worked starts the backoff afresh.
            let next = if opened.get() { 0 } else { attempt + 1 };
            let positions = positions.clone();
            let retry = Closure::<dyn FnMut()>::new(move || connect(live, positions.clone(), next));
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    retry.as_ref().unchecked_ref(),
                    backoff_ms(next),
                );
            }
            retry.forget();
        });
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
    }
}

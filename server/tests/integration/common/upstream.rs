//! A local stand-in for an upstream archive: serves `/files/{name}` with the test's handler and
//! counts requests per file.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use server::settings::{Settings, UpstreamSource};

#[derive(Clone, Default)]
pub struct Upstream {
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Upstream {
    /// Counts one request for `name`; handlers call it first.
    pub fn hit(&self, name: &str) {
        if let Ok(mut h) = self.hits.lock() {
            *h.entry(name.to_owned()).or_default() += 1;
        }
    }

    pub fn hits(&self, name: &str) -> usize {
        self.hits.lock().map(|h| h.get(name).copied().unwrap_or(0)).unwrap_or(0)
    }
}

/// Serves `handler` at `/files/{name}` on a free port; returns the base URL and the counter.
pub async fn start<H, T>(handler: H) -> (String, Upstream)
where
    H: axum::handler::Handler<T, Upstream>,
    T: 'static,
{
    let up = Upstream::default();
    let router = Router::new()
        .route("/files/{name}", axum::routing::get(handler))
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/files"), up)
}

/// Settings tweak: archive source `up` at `base`.
pub fn source(base: String, timeout_secs: u64) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        s.archive.sources = BTreeMap::from([(
            "up".to_owned(),
            UpstreamSource {
                base_url: base,
                timeout_secs,
                projects: None,
            },
        )]);
    }
}

//! The route table's authorization rules. Every route the server answers has a rule here;
//! the guard refuses a matched route without one (deny by default), and the route-table test
//! walks this table against the running router.

use std::collections::HashMap;
use std::sync::Arc;

/// Who may reach a route at all. Finer decisions (which job, which project) are made by the
/// services through `ch_api::authorize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Anyone: probes, sign-in, the API description, static files.
    Public,
    /// Anyone may call; the service authorizes each read or write (anonymous callers only
    /// get through under `auth.public_read`, and only to reads of public things).
    Authorized,
    /// Signed-in users only (their own account: tokens, password).
    SignedIn,
    /// A server function of the UI: reads and writes are both POSTs, so the service decides
    /// alone (anonymous callers get through only under `auth.public_read`).
    ServerFn,
    /// A page: anonymous visitors without public read are sent to the sign-in page.
    Page,
}

/// Rules of the JSON API routes, by axum path pattern.
pub const API_RULES: &[(&str, Rule)] = &[
    ("/healthz", Rule::Public),
    ("/readyz", Rule::Public),
    ("/api/openapi.json", Rule::Public),
    ("/api/auth/login", Rule::Public),
    ("/api/auth/link", Rule::Public),
    ("/api/auth/logout", Rule::Public),
    ("/api/auth/me", Rule::Public),
    ("/api/auth/password", Rule::SignedIn),
    ("/api/tokens", Rule::SignedIn),
    ("/api/tokens/{id}", Rule::SignedIn),
    ("/api/users", Rule::SignedIn),
    ("/api/users/{name}", Rule::SignedIn),
    ("/api/projects", Rule::Authorized),
    ("/api/projects/{name}/members", Rule::SignedIn),
    ("/api/jobs", Rule::Authorized),
    ("/api/jobs/batch", Rule::Authorized),
    ("/api/jobs/{id}", Rule::Authorized),
    ("/api/jobs/{id}/cancel", Rule::Authorized),
    ("/api/jobs/{id}/logs", Rule::Authorized),
    ("/api/jobs/{id}/events", Rule::Authorized),
    ("/api/jobs/{id}/metrics", Rule::Authorized),
    ("/api/jobs/{id}/scheduler", Rule::Authorized),
    ("/api/events", Rule::Authorized),
    ("/api/realtime/ws", Rule::Authorized),
    ("/api/realtime/sse", Rule::Authorized),
    ("/api/regions", Rule::Authorized),
    ("/api/regions/ds9", Rule::Authorized),
    ("/api/systems", Rule::Authorized),
    ("/api/systems/{name}/queue", Rule::Authorized),
    ("/api/templates", Rule::Authorized),
    ("/api/submit-targets", Rule::Authorized),
    ("/api/notifications", Rule::SignedIn),
    ("/api/notifications/unread", Rule::SignedIn),
    ("/api/notifications/mark", Rule::SignedIn),
    ("/api/notifications/rules", Rule::SignedIn),
    ("/api/notifications/webhooks", Rule::SignedIn),
    ("/api/notifications/webhooks/{id}", Rule::SignedIn),
    ("/api/notifications/webhooks/{id}/deliveries", Rule::SignedIn),
    ("/api/notifications/deliveries/{id}/retry", Rule::SignedIn),
    // An e-mail's link: the signed token is the credential.
    ("/api/notifications/unsubscribe", Rule::Public),
    ("/api/fits/{source}/{*path}", Rule::Authorized),
    ("/api/soda/{source}/sync", Rule::Authorized),
    // Unknown API paths answer a JSON 404 to everyone.
    ("/api/{*rest}", Rule::Public),
];

/// Pages that anonymous visitors may always see.
pub const PUBLIC_PAGES: &[&str] = &["/login"];

/// The complete table: API routes, the UI's server functions (each authorizes in its service)
/// and pages, built once at start-up.
#[derive(Debug, Clone, Default)]
pub struct RouteRules {
    rules: Arc<HashMap<String, Rule>>,
}

impl RouteRules {
    /// The API table plus the pages and server-function paths the UI registers.
    pub fn new<'a>(pages: impl IntoIterator<Item = &'a str>, server_fns: impl IntoIterator<Item = &'a str>) -> Self {
        let mut rules: HashMap<String, Rule> = API_RULES.iter().map(|(p, r)| ((*p).to_owned(), *r)).collect();
        for page in pages {
            let rule = if PUBLIC_PAGES.contains(&page) {
                Rule::Public
            } else {
                Rule::Page
            };
            rules.insert(page.to_owned(), rule);
        }
        for f in server_fns {
            rules.insert(f.to_owned(), Rule::ServerFn);
        }
        Self { rules: Arc::new(rules) }
    }

    /// The rule of a matched path pattern; `None` = no rule (refused).
    pub fn get(&self, pattern: &str) -> Option<Rule> {
        self.rules.get(pattern).copied()
    }

    /// Every (pattern, rule), sorted, for the route-table test and docs.
    pub fn all(&self) -> Vec<(String, Rule)> {
        let mut v: Vec<_> = self.rules.iter().map(|(p, r)| (p.clone(), *r)).collect();
        v.sort();
        v
    }
}

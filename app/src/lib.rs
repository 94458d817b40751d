//! Cosmic Horizons UI: one Leptos codebase rendered on the server and hydrated in the browser.

pub mod api;
mod components;
pub mod live;
mod pages;
#[cfg(feature = "hydrate")]
mod timer;
pub mod viewer;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="dark light" />
                <link rel="stylesheet" href=css />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    live::provide_live_events();
    view! {
        <Title text="Cosmic Horizons" />
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark">"◎"</span>
                    " Cosmic Horizons"
                </A>
                <nav>
                    <A href="/" exact=true>"Jobs"</A>
                    <A href="/submit">"Submit"</A>
                    <A href="/viewer">"Viewer"</A>
                </nav>
                <live::LiveIndicator />
                <components::bell::Bell />
                <components::account::UserMenu />
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view=pages::jobs::JobsPage />
                    <Route path=path!("/jobs/:id") view=pages::job::JobPage />
                    <Route path=path!("/submit") view=pages::submit::SubmitPage />
                    <Route path=path!("/viewer") view=viewer::ViewerPage />
                    <Route path=path!("/login") view=pages::login::LoginPage />
                    <Route path=path!("/account") view=pages::account::AccountPage />
                    <Route path=path!("/admin") view=pages::admin::AdminPage />
                    <Route path=path!("/notifications") view=pages::notifications::NotificationsPage />
                </Routes>
            </main>
        </Router>
    }
}

//! The sign-in page: a plain form posted to `/api/auth/login` (works before hydration and
//! without JavaScript); the server redirects to `next` or back here with the error.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let params = use_query_map();
    let error = move || params.with(|p| p.get("error"));
    let next = move || params.with(|p| p.get("next")).unwrap_or_else(|| "/".to_owned());
    view! {
        <section class="login card" data-testid="login-page">
            <h1>"Sign in"</h1>
            <p class="hint">"Sign in to see your projects' jobs and images."</p>
            {move || {
                error()
                    .map(|e| {
                        view! {
                            <p class="error" role="alert" id="login-error" data-testid="login-error">
                                {e}
                            </p>
                        }
                    })
            }}
            <form method="post" action="/api/auth/login" class="login-form">
                <label for="login-username">"User name"</label>
                <input
                    id="login-username"
                    name="username"
                    autocomplete="username"
                    required
                    maxlength="64"
                    aria-invalid=move || error().is_some().then_some("true")
                    aria-describedby=move || error().is_some().then_some("login-error")
                />
                <label for="login-password">"Password"</label>
                <input
                    id="login-password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    maxlength="256"
                />
                <input type="hidden" name="next" value=next />
                <button type="submit" class="button primary" data-testid="login-submit">"Sign in"</button>
            </form>
            <p class="hint">
                "First start? Follow the one-time link the server printed in its terminal. "
                "Administrators create accounts with "<code>"cosmic-horizons user create"</code>"."
            </p>
        </section>
    }
}

//! The account page: who you are, your API tokens (create — shown once — and revoke), and
//! your password.

use ch_api::TokenRequest;
use leptos::prelude::*;

use crate::api::accounts::{get_tokens, post_password, post_revoke_token, post_token};
use crate::api::get_me;
use crate::components::fmt_opt_time;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <h1>"Account"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || {
                me.get()
                    .map(|res| match res {
                        Ok(Some(u)) => {
                            let projects = u
                                .projects
                                .iter()
                                .map(|(p, r)| format!("{p} ({r})"))
                                .collect::<Vec<_>>()
                                .join(", ");
                            view! {
                                <section class="card" data-testid="account-summary">
                                    <p>
                                        "Signed in as " <strong>{u.username.clone()}</strong> " — site role "
                                        <strong>{u.role.clone()}</strong>
                                    </p>
                                    <p class="hint">"Projects: " {projects}</p>
                                </section>
                                <Tokens />
                                <Password />
                            }
                                .into_any()
                        }
                        Ok(None) => view! { <crate::components::account::SignInRequired /> }.into_any(),
                        Err(e) => view! { <crate::components::account::ErrorBox error=e /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let revoke = Action::new(|id: &uuid::Uuid| post_revoke_token(*id));
    let create = Action::new(|req: &TokenRequest| post_token(req.clone()));
    let tokens = Resource::new(
        move || (revoke.version().get(), create.version().get()),
        |_| get_tokens(),
    );
    let name = RwSignal::new(String::new());
    let scope = RwSignal::new("read".to_owned());
    let project = RwSignal::new(String::new());
    let days = RwSignal::new("90".to_owned());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let scopes = match scope.get().as_str() {
            "admin" => vec!["admin".to_owned()],
            "submit" => vec!["submit".to_owned()],
            _ => vec!["read".to_owned()],
        };
        create.dispatch(TokenRequest {
            name: name.get(),
            scopes,
            project: Some(project.get()).filter(|p| !p.trim().is_empty()),
            expires_in_days: days.get().trim().parse().ok(),
        });
    };
    view! {
        <section class="card">
            <h2>"API tokens"</h2>
            <p class="hint">
                "For scripts: send " <code>"Authorization: Bearer <token>"</code>
                ". A token is shown once, when it is created."
            </p>
            <form class="token-form" on:submit=on_submit data-testid="token-form">
                <label>"Name " <input required maxlength="64" bind:value=name data-testid="token-name" /></label>
                <label>
                    "Scope "
                    <select bind:value=scope data-testid="token-scope">
                        <option value="read">"read"</option>
                        <option value="submit">"submit (and read)"</option>
                        <option value="admin">"admin (everything)"</option>
                    </select>
                </label>
                <label>"Project (optional) " <input maxlength="64" bind:value=project /></label>
                <label>"Expires in days " <input inputmode="numeric" size="5" bind:value=days /></label>
                <button type="submit" class="button">"Create token"</button>
            </form>
            {move || {
                create
                    .value()
                    .get()
                    .map(|res| match res {
                        Ok(t) => {
                            view! {
                                <p class="created-token" role="status">
                                    "New token (copy it now; it is not shown again): "
                                    <code data-testid="new-token">{t.token}</code>
                                </p>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <crate::components::account::ErrorBox error=e /> }.into_any(),
                    })
            }}
            <Suspense fallback=|| ()>
                {move || {
                    tokens
                        .get()
                        .map(|res| match res {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                            Ok(list) => {
                                view! {
                                    <table class="jobs" data-testid="tokens">
                                        <thead>
                                            <tr>
                                                <th>"Name"</th>
                                                <th>"Scopes"</th>
                                                <th>"Project"</th>
                                                <th>"Created"</th>
                                                <th>"Expires"</th>
                                                <th>"Last used"</th>
                                                <th></th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|t| {
                                                    let id = t.id;
                                                    let revoked = t.revoked_at.is_some();
                                                    view! {
                                                        <tr class:revoked=revoked>
                                                            <td>{t.name}</td>
                                                            <td>{t.scopes.join(", ")}</td>
                                                            <td>{t.project.unwrap_or_else(|| "any".into())}</td>
                                                            <td>{fmt_opt_time(Some(t.created_at))}</td>
                                                            <td>{fmt_opt_time(t.expires_at)}</td>
                                                            <td>{fmt_opt_time(t.last_used_at)}</td>
                                                            <td>
                                                                {if revoked {
                                                                    view! { <span class="hint">"revoked"</span> }.into_any()
                                                                } else {
                                                                    view! {
                                                                        <button type="button" class="link" on:click=move |_| {
                                                                            revoke.dispatch(id);
                                                                        }>"Revoke"</button>
                                                                    }
                                                                        .into_any()
                                                                }}
                                                            </td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <crate::components::account::ErrorBox error=e /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn Password() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let change = Action::new(|(c, n): &(String, String)| post_password(c.clone(), n.clone()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch((current.get(), new.get()));
    };
    view! {
        <section class="card">
            <h2>"Password"</h2>
            <form class="token-form" on:submit=on_submit>
                <label>
                    "Current password (empty if you have none yet) "
                    <input type="password" autocomplete="current-password" bind:value=current />
                </label>
                <label>
                    "New password (10+ characters) "
                    <input type="password" autocomplete="new-password" minlength="10" maxlength="256" bind:value=new />
                </label>
                <button type="submit" class="button">"Change password"</button>
            </form>
            {move || {
                change
                    .value()
                    .get()
                    .map(|res| match res {
                        Ok(()) => {
                            view! {
                                <p role="status">"Password changed. Every session was signed out; sign in again."</p>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <crate::components::account::ErrorBox error=e /> }.into_any(),
                    })
            }}
        </section>
    }
}

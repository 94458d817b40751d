//! The user menu in the top bar: who is signed in, and sign-out.

use leptos::prelude::*;

use crate::api::get_me;

#[component]
pub fn UserMenu() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    let sign_out = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async {
            // The session is revoked on the server; its cookies are cleared by the answer.
            let _ = crate::viewer::dom::send_json("POST", "/api/auth/logout", "{}").await;
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href("/login");
            }
        });
    };
    view! {
        <Suspense fallback=|| ()>
            {move || {
                me.get()
                    .map(|res| match res.ok().flatten() {
                        Some(u) => {
                            view! {
                                <div class="user-menu" data-testid="user-menu">
                                    <span class="user-name" data-testid="user-name">
                                        {u.username}
                                    </span>
                                    <span class="user-role">{u.role.clone()}</span>
                                    <a href="/account" data-testid="account-link">"Account"</a>
                                    {(u.role == "admin").then(|| view! { <a href="/admin">"Admin"</a> })}
                                    <button type="button" class="link" on:click=sign_out data-testid="sign-out">
                                        "Sign out"
                                    </button>
                                </div>
                            }
                                .into_any()
                        }
                        None => view! { <a href="/login" class="user-menu">"Sign in"</a> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

/// Shown where a page needs a signed-in user: says so and links to the sign-in page.
#[component]
pub fn SignInRequired() -> impl IntoView {
    view! {
        <section class="card denied" data-testid="sign-in-required">
            <h2>"Sign in required (401)"</h2>
            <p>"This page shows data of your projects. " <a href="/login">"Sign in"</a> " to continue."</p>
        </section>
    }
}

/// An error from a server function, shown as a page would: a sign-in prompt for 401, a
/// "not allowed" panel naming the reason for 403, [`Unreachable`] when the server did not
/// answer (with `retry`, a button that tries again), the message otherwise.
#[component]
pub fn ErrorBox(
    error: crate::api::UiError,
    /// Tries the failed call again.
    #[prop(optional, into)]
    retry: Option<Callback<()>>,
) -> impl IntoView {
    use crate::api::UiError;
    match error {
        UiError::Unreachable(_) => view! { <Unreachable retry /> }.into_any(),
        UiError::Unauthenticated(_) => view! { <SignInRequired /> }.into_any(),
        UiError::Forbidden(why) => view! {
            <section class="card denied" data-testid="forbidden" role="alert">
                <h2>"Not allowed (403)"</h2>
                <p>{why}</p>
                <p class="hint">"Ask a project owner or a site admin for access."</p>
            </section>
        }
        .into_any(),
        other => view! { <p class="error" role="alert">{other.to_string()}</p> }.into_any(),
    }
}

/// The server did not answer a call (it is down or restarting, or this computer is offline):
/// says so, never the browser's raw error, and offers to try again. `note` says what became
/// of the user's action.
#[component]
pub fn Unreachable(
    #[prop(default = None, into)] retry: Option<Callback<()>>,
    #[prop(default = "Tried again for a few seconds without an answer.")] note: &'static str,
) -> impl IntoView {
    view! {
        <section class="card unreachable" role="alert" data-testid="unreachable">
            <h2>"Cannot reach the server"</h2>
            <p>"It may be restarting, or this computer may be offline. " {note}</p>
            {retry
                .map(|retry| {
                    view! {
                        <button type="button" class="button" data-testid="retry" on:click=move |_| retry.run(())>
                            "Try again"
                        </button>
                    }
                })}
        </section>
    }
}

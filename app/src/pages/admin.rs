//! The admin page: users (create, disable, enable) and projects (create, add members).
//! Everything here is refused by the server for non-admins; the page says so.

use leptos::prelude::*;

use crate::api::accounts::{get_projects, get_users, post_member, post_project, post_user, post_user_disabled};
use crate::components::fmt_time;

#[component]
pub fn AdminPage() -> impl IntoView {
    let create_user =
        Action::new(|(u, p, r): &(String, String, String)| post_user(u.clone(), Some(p.clone()), r.clone()));
    let toggle = Action::new(|(u, d): &(String, bool)| post_user_disabled(u.clone(), *d));
    let create_project = Action::new(|(n, p): &(String, bool)| post_project(n.clone(), *p));
    let add_member = Action::new(|(p, u, r): &(String, String, String)| post_member(p.clone(), u.clone(), r.clone()));
    let users = Resource::new(
        move || (create_user.version().get(), toggle.version().get()),
        |_| get_users(),
    );
    let projects = Resource::new(move || create_project.version().get(), |_| get_projects());

    let (username, password, role) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("scientist".to_owned()),
    );
    let (pname, public) = (RwSignal::new(String::new()), RwSignal::new(false));
    let (mproject, muser, mrole) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("member".to_owned()),
    );
    let outcome = |res: Option<Result<String, String>>| {
        res.map(|r| match r {
            Ok(m) => view! { <p role="status">{m}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        })
    };
    view! {
        <h1>"Administration"</h1>
        <section class="card">
            <h2>"Users"</h2>
            <form class="token-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                create_user.dispatch((username.get(), password.get(), role.get()));
            }>
                <label>"User name " <input required maxlength="64" bind:value=username data-testid="new-user-name" /></label>
                <label>
                    "Password " <input type="password" autocomplete="new-password" bind:value=password data-testid="new-user-password" />
                </label>
                <label>
                    "Role "
                    <select bind:value=role>
                        <option value="scientist">"scientist"</option>
                        <option value="viewer">"viewer"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <button type="submit" class="button">"Create user"</button>
            </form>
            {move || outcome(create_user.value().get().map(|r| r.map(|u| format!("created {}", u.username)).map_err(|e| e.to_string())))}
            <Suspense fallback=|| ()>
                {move || {
                    users
                        .get()
                        .map(|res| match res {
                            Ok(list) => {
                                view! {
                                    <table class="jobs" data-testid="users">
                                        <thead>
                                            <tr><th>"User"</th><th>"Role"</th><th>"Created"</th><th>"Status"</th></tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|u| {
                                                    let name = u.username.clone();
                                                    let disabled = u.disabled;
                                                    view! {
                                                        <tr>
                                                            <td>{u.username}</td>
                                                            <td>{u.role}</td>
                                                            <td>{fmt_time(u.created_at)}</td>
                                                            <td>
                                                                {if disabled { "disabled " } else { "active " }}
                                                                <button type="button" class="link" on:click=move |_| {
                                                                    toggle.dispatch((name.clone(), !disabled));
                                                                }>{if disabled { "Enable" } else { "Disable" }}</button>
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
        <section class="card">
            <h2>"Projects"</h2>
            <form class="token-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                create_project.dispatch((pname.get(), public.get()));
            }>
                <label>"Name " <input required maxlength="64" bind:value=pname /></label>
                <label><input type="checkbox" bind:checked=public />" public (every signed-in user reads it)"</label>
                <button type="submit" class="button">"Create project"</button>
            </form>
            {move || outcome(create_project.value().get().map(|r| r.map(|p| format!("created {}", p.name)).map_err(|e| e.to_string())))}
            <form class="token-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                add_member.dispatch((mproject.get(), muser.get(), mrole.get()));
            }>
                <label>"Project " <input required maxlength="64" bind:value=mproject /></label>
                <label>"User " <input required maxlength="64" bind:value=muser /></label>
                <label>
                    "Role "
                    <select bind:value=mrole>
                        <option value="member">"member"</option>
                        <option value="viewer">"viewer"</option>
                        <option value="owner">"owner"</option>
                    </select>
                </label>
                <button type="submit" class="button">"Add member"</button>
            </form>
            {move || outcome(add_member.value().get().map(|r| r.map(|()| "member saved".to_owned()).map_err(|e| e.to_string())))}
            <Suspense fallback=|| ()>
                {move || {
                    projects
                        .get()
                        .map(|res| match res {
                            Ok(list) => {
                                view! {
                                    <ul data-testid="projects">
                                        {list
                                            .into_iter()
                                            .map(|p| {
                                                view! {
                                                    <li>{p.name} {if p.public { " (public)" } else { "" }}</li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
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

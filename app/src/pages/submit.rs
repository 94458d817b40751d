//! Submit form. The browser runs the same validation as the server (the domain crate is
//! compiled to wasm), so problems show while typing; the server's answer is shown too. The
//! project is chosen among those the user may submit to (the server names them and the one to
//! start with); a template shows its own fields, a command line of one's own is labelled
//! `custom` (the domain's default agent).

use std::collections::BTreeMap;

use ch_api::{SubmitTargets, TemplateCatalog};
use ch_domain::{FieldError, NotificationKind, ParamKind, Priority, ResourceRequest, SubmitJob, SystemCatalog};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{UiError, get_submit_targets, get_systems, get_templates, post_job, retrying};
use crate::components::account::{ErrorBox, Unreachable};
use crate::components::fmt_usd;
use crate::pages::submit_notify::NotifyChoice;
use crate::pages::submit_queue::QueuePanel;

#[derive(Clone, Copy)]
struct Fields {
    name: RwSignal<String>,
    command: RwSignal<String>,
    /// Empty until chosen when the server names no default.
    project: RwSignal<String>,
    system: RwSignal<String>,
    priority: RwSignal<String>,
    nodes: RwSignal<String>,
    cpus: RwSignal<String>,
    memory_gb: RwSignal<String>,
    gpus: RwSignal<String>,
    runtime: RwSignal<String>,
    /// The chosen template; empty = a command line of one's own.
    template: RwSignal<String>,
    /// Template parameter values as typed.
    params: RwSignal<BTreeMap<String, String>>,
    /// What the owner hears about this job (`None`: their rules decide).
    notify: RwSignal<Option<Vec<NotificationKind>>>,
}

fn int(field: &str, raw: &str) -> Result<Option<i64>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| FieldError::new(field, format!("'{raw}' is not a whole number")))
}

/// A typed parameter value: numbers for numeric parameters, text otherwise.
fn param_value(kind: &ParamKind, raw: &str) -> serde_json::Value {
    let raw = raw.trim();
    match kind {
        ParamKind::Integer { .. } => raw.parse::<i64>().map_or_else(|_| raw.into(), Into::into),
        ParamKind::Number { .. } => raw.parse::<f64>().map_or_else(|_| raw.into(), Into::into),
        _ => raw.into(),
    }
}

impl Fields {
    /// The resources as typed (a field that is not a number named).
    fn resources(&self) -> Result<ResourceRequest, FieldError> {
        let memory = self.memory_gb.get();
        let memory_gb = match memory.trim() {
            "" => None,
            m => Some(
                m.parse::<f64>()
                    .map_err(|_| FieldError::new("resources.memory_gb", format!("'{m}' is not a number")))?,
            ),
        };
        Ok(ResourceRequest {
            nodes: int("resources.nodes", &self.nodes.get())?,
            cpus: int("resources.cpus", &self.cpus.get())?,
            memory_gb,
            gpus: int("resources.gpus", &self.gpus.get())?,
            max_runtime_minutes: int("resources.max_runtime_minutes", &self.runtime.get())?,
        })
    }

    fn request(&self, templates: &TemplateCatalog) -> Result<SubmitJob, FieldError> {
        let resources = self.resources()?;
        let opt = |s: String| (!s.trim().is_empty()).then_some(s);
        let template = opt(self.template.get());
        let parameters = template.as_ref().and_then(|t| templates.templates.get(t)).map(|t| {
            let typed = self.params.get();
            t.parameters
                .iter()
                .filter_map(|(name, p)| {
                    let raw = typed.get(name).filter(|v| !v.trim().is_empty())?;
                    Some((name.clone(), param_value(&p.kind, raw)))
                })
                .collect::<BTreeMap<_, _>>()
        });
        Ok(SubmitJob {
            name: self.name.get(),
            command: if template.is_some() {
                String::new()
            } else {
                self.command.get()
            },
            // A template names its agent; a command line of one's own is `custom`.
            agent: None,
            // Sent as chosen: an empty choice is named, not replaced by the site's default.
            project: Some(self.project.get()),
            target_system: opt(self.system.get()),
            priority: self.priority.get().parse::<Priority>().ok(),
            resources: Some(resources),
            max_retries: None,
            template,
            parameters,
            notify: self.notify.get(),
        })
    }
}

/// The page: the form once the server has said where the user may submit, or why they cannot.
#[component]
pub fn SubmitPage() -> impl IntoView {
    let targets = Resource::new(|| (), |_| retrying(get_submit_targets));
    let retry = Callback::new(move |()| targets.refetch());
    view! {
        <section class="page narrow">
            <h1>"Submit a job"</h1>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || {
                    targets
                        .get()
                        .map(|res| match res {
                            Err(e) => view! { <ErrorBox error=e retry /> }.into_any(),
                            Ok(t) if t.projects.is_empty() => view! { <NoProject /> }.into_any(),
                            Ok(t) => view! { <SubmitForm targets=t /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

/// Instead of a form that can only fail: the user may submit to no project.
#[component]
fn NoProject() -> impl IntoView {
    view! {
        <section class="card no-project" role="status" data-testid="no-project">
            <h2>"No project to submit to"</h2>
            <p>
                "Jobs run in a project, and you are not a member of any project you may submit to "
                "(a project's viewers only read). Ask a project owner or a site admin to add you as a member."
            </p>
        </section>
    }
}

#[component]
fn SubmitForm(targets: SubmitTargets) -> impl IntoView {
    let catalog = Resource::new(|| (), |_| retrying(get_systems));
    let templates = Resource::new(|| (), |_| retrying(get_templates));
    let f = Fields {
        name: RwSignal::new(String::new()),
        command: RwSignal::new(String::new()),
        project: RwSignal::new(targets.default.clone().unwrap_or_default()),
        system: RwSignal::new("local".into()),
        priority: RwSignal::new("normal".into()),
        nodes: RwSignal::new("1".into()),
        cpus: RwSignal::new("1".into()),
        memory_gb: RwSignal::new("1".into()),
        gpus: RwSignal::new("0".into()),
        runtime: RwSignal::new("60".into()),
        template: RwSignal::new(String::new()),
        params: RwSignal::new(BTreeMap::new()),
        notify: RwSignal::new(None),
    };
    // Where only templates may run, start with the first one.
    Effect::new(move |_| {
        if let Some(Ok(t)) = templates.get()
            && !t.allow_commands
            && f.template.get_untracked().is_empty()
            && let Some(first) = t.templates.keys().next()
        {
            f.template.set(first.clone());
        }
    });
    let commands_allowed = move || templates.get().and_then(Result::ok).is_none_or(|t| t.allow_commands);
    let touched = RwSignal::new(false);
    let check = move || -> Option<Result<(SubmitJob, f64), FieldError>> {
        let cat: SystemCatalog = catalog.get()?.ok()?;
        let tpl: TemplateCatalog = templates.get()?.ok()?;
        Some(f.request(&tpl).and_then(|req| {
            let spec = req.clone().resolve_template(&tpl.templates)?.validate(&cat)?;
            Ok((req, spec.estimated_cost_usd))
        }))
    };
    let submit = Action::new(move |req: &SubmitJob| post_job(req.clone()));
    // A submission that got no answer is sent again only when the user asks: it may have
    // reached the server.
    let resubmit = Callback::new(move |()| {
        if let Some(Ok((req, _))) = check() {
            submit.dispatch(req);
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = submit.value().get() {
            navigate(&format!("/jobs/{}", job.id), Default::default());
        }
    });
    let field_error = move |name: std::borrow::Cow<'static, str>| {
        move || {
            let name = name.clone();
            let local = touched
                .get()
                .then(|| check().and_then(Result::err))
                .flatten()
                .filter(|e| e.field == name)
                .map(|e| e.message);
            let remote = submit
                .value()
                .with(|r| Some(r.as_ref()?.as_ref().err()?.message_for(&name)?.to_owned()));
            local
                .or(remote)
                .map(|m| view! { <span class="field-error" data-field=name.to_string()>{m}</span> })
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if let Some(Ok((req, _))) = check() {
            submit.dispatch(req);
        }
    };
    let text = move |label: &'static str, name: &'static str, sig: RwSignal<String>, kind: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    type=kind
                    name=name
                    prop:value=move || sig.get()
                    on:input=move |e| sig.set(event_target_value(&e))
                    class:invalid=move || touched.get() && check().and_then(Result::err).is_some_and(|e| e.field == name)
                />
                {field_error(name.into())}
            </label>
        }
    };

    let projects = targets.projects;
    let choose = targets.default.is_none();

    // Each part's type is erased: one nested view type overflowed a 2 MiB stack when the
    // server rendered it in debug builds.
    let template_field = view! {
        <label class="field">
            <span>"Template"</span>
            <select name="template" on:change=move |e| f.template.set(event_target_value(&e)) data-testid="template">
                {move || {
                    commands_allowed()
                        .then(|| {
                            view! {
                                <option value="" selected=move || f.template.get().is_empty()>
                                    "none — my own command line"
                                </option>
                            }
                        })
                }}
                <Transition fallback=|| ()>
                    {move || {
                        templates
                            .get()
                            .and_then(Result::ok)
                            .map(|t| {
                                t.templates
                                    .into_iter()
                                    .map(|(name, tpl)| {
                                        let n = name.clone();
                                        view! {
                                            <option value=name.clone() selected=move || f.template.get() == n>
                                                {format!("{name} — {}", tpl.description)}
                                            </option>
                                        }
                                    })
                                    .collect_view()
                            })
                    }}
                </Transition>
            </select>
            {field_error("template".into())}
        </label>
    }
    .into_any();
    let project_field = view! {
        <label class="field project-field">
            <span>"Project"</span>
            <select name="project" on:change=move |e| f.project.set(event_target_value(&e)) data-testid="project">
                {choose
                    .then(|| {
                        view! {
                            <option value="" disabled=true selected=move || f.project.get().is_empty()>
                                "choose a project"
                            </option>
                        }
                    })}
                {projects
                    .into_iter()
                    .map(|p| {
                        let name = p.clone();
                        let label = p.clone();
                        view! {
                            <option value=p selected=move || f.project.get() == name>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {field_error("project".into())}
        </label>
    }
    .into_any();
    let placement = view! {
        <div class="row">
            <label class="field">
                <span>"Target system"</span>
                <select name="target_system" on:change=move |e| f.system.set(event_target_value(&e))>
                    <Transition fallback=|| ()>
                        {move || {
                            catalog
                                .get()
                                .and_then(Result::ok)
                                .map(|cat| {
                                    cat.0
                                        .into_iter()
                                        .map(|(name, info)| {
                                            let runnable = info.executor.is_some();
                                            let label = if runnable {
                                                format!("{name} — {}", info.description)
                                            } else {
                                                format!("{name} — {} (estimate only, no executor here)", info.description)
                                            };
                                            let selected = name == f.system.get_untracked();
                                            view! {
                                                <option value=name.clone() selected=selected>{label}</option>
                                            }
                                        })
                                        .collect_view()
                                })
                        }}
                    </Transition>
                </select>
                {field_error("target_system".into())}
            </label>
            <label class="field">
                <span>"Priority"</span>
                <select name="priority" on:change=move |e| f.priority.set(event_target_value(&e))>
                    {Priority::ALL
                        .into_iter()
                        .map(|p| view! { <option value=p.as_str() selected=p == Priority::Normal>{p.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
        </div>
    }
    .into_any();
    let resources = view! {
        <fieldset>
            <legend>"Resources (per node)"</legend>
            <div class="row">
                {text("Nodes", "resources.nodes", f.nodes, "number")}
                {text("CPUs", "resources.cpus", f.cpus, "number")}
                {text("Memory (GB)", "resources.memory_gb", f.memory_gb, "number")}
                {text("GPUs", "resources.gpus", f.gpus, "number")}
                {text("Max runtime (min)", "resources.max_runtime_minutes", f.runtime, "number")}
            </div>
        </fieldset>
    }
    .into_any();
    // Systems whose executor schedules into a queue (Slurm) show it before a user submits.
    let queued_system = Signal::derive(move || {
        let name = f.system.get();
        let cat = catalog.get().and_then(Result::ok)?;
        let executor = cat.get(&name)?.executor.clone()?;
        (executor != "local").then_some(name)
    });
    // Asked only for resources the form accepts (the browser checks the system's limits too).
    let typed_resources = Signal::derive(move || {
        let req = f.resources().ok()?;
        let name = f.system.get();
        catalog.get()?.ok()?.get(&name)?.admit(&name, &req).ok()?;
        Some(req)
    });
    let foot = view! {
        <QueuePanel system=queued_system resources=typed_resources />
        <div class="form-foot">
            <span class="muted" data-testid="estimate">
                {move || match check() {
                    Some(Ok((_, cost))) => format!("Estimated cost: {}", fmt_usd(cost)),
                    _ => String::new(),
                }}
            </span>
            <button type="submit" class="button primary" disabled=move || submit.pending().get()>
                {move || if submit.pending().get() { "Submitting…" } else { "Submit job" }}
            </button>
        </div>
    }
    .into_any();

    view! {
        <form class="submit" on:submit=on_submit novalidate=true data-testid="submit-form">
            <div class="row">{text("Name", "name", f.name, "text")} {project_field}</div>
            {template_field}
            {move || {
                let chosen = f.template.get();
                if chosen.is_empty() {
                    return view! {
                        <label class="field">
                            <span>"Command"</span>
                            <textarea
                                name="command"
                                rows="3"
                                placeholder="the command line to run, e.g. python3 calibrate.py --field 3C286"
                                prop:value=move || f.command.get()
                                on:input=move |e| f.command.set(event_target_value(&e))
                            ></textarea>
                            {field_error("command".into())}
                        </label>
                    }
                        .into_any();
                }
                let params = templates
                    .get_untracked()
                    .and_then(Result::ok)
                    .and_then(|t| t.templates.get(&chosen).cloned())
                    .map(|t| t.parameters)
                    .unwrap_or_default();
                view! {
                    <div class="row" data-testid="template-params">
                        {params
                            .into_iter()
                            .map(|(name, p)| {
                                let key = name.clone();
                                let field = format!("parameters.{name}");
                                let placeholder = p.default.map(|d| d.to_string()).unwrap_or_default();
                                view! {
                                    <label class="field">
                                        <span>{format!("{name} ({})", p.description)}</span>
                                        <input
                                            name=field.clone()
                                            placeholder=placeholder
                                            on:input=move |e| {
                                                let v = event_target_value(&e);
                                                f.params.update(|m| {
                                                    m.insert(key.clone(), v);
                                                });
                                            }
                                        />
                                        {field_error(field.into())}
                                    </label>
                                }
                            })
                            .collect_view()}
                    </div>
                }
                    .into_any()
            }}
            {placement}
            {resources}
            <NotifyChoice choice=f.notify />
            {foot}
            {move || match submit.value().get() {
                Some(Err(UiError::Unreachable(_))) => Some(
                    view! { <Unreachable retry=resubmit note="The form keeps what you typed; try again once the server is back." /> }
                        .into_any(),
                ),
                Some(Err(UiError::Message(m) | UiError::Forbidden(m) | UiError::Unauthenticated(m))) => {
                    Some(view! { <p class="error" role="alert">{m}</p> }.into_any())
                }
                _ => None,
            }}
        </form>
    }
    .into_any()
}

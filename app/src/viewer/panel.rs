//! The viewer's side panel: source, layers, display settings, cube, regions, share link.

use ch_render::{Blend, Colormap, Limits, Rgba, Scale};
use leptos::prelude::*;

use super::actions;
use super::state::LayerSettings;
use super::ui::use_ui;
use super::vocab::{SAMPLE, Tool};

const SCALES: [(&str, &str); 8] = [
    ("linear", "Linear"),
    ("log", "Log"),
    ("sqrt", "Square root"),
    ("squared", "Squared"),
    ("power", "Power (γ)"),
    ("asinh", "Asinh"),
    ("sinh", "Sinh"),
    ("histeq", "Histogram equalisation"),
];

const LIMITS: [(&str, &str); 10] = [
    ("minmax", "Min / max"),
    ("90", "90 %"),
    ("95", "95 %"),
    ("99", "99 %"),
    ("99.5", "99.5 %"),
    ("99.9", "99.9 %"),
    ("99.99", "99.99 %"),
    ("zscale", "zscale"),
    ("manual", "Manual"),
    ("custom", "Custom percentiles"),
];

fn scale_key(s: Scale) -> &'static str {
    match s {
        Scale::Linear => "linear",
        Scale::Log => "log",
        Scale::Sqrt => "sqrt",
        Scale::Squared => "squared",
        Scale::Power(_) => "power",
        Scale::Asinh => "asinh",
        Scale::Sinh => "sinh",
        Scale::HistEq => "histeq",
    }
}

fn limits_key(l: Limits) -> String {
    match l {
        Limits::MinMax => "minmax".into(),
        Limits::ZScale => "zscale".into(),
        Limits::Manual { .. } => "manual".into(),
        Limits::Percentile { low, high } if ((100.0 - high) - low).abs() < 1e-9 => {
            let key = format!("{high}");
            if LIMITS.iter().any(|(k, _)| *k == key) {
                key
            } else {
                "custom".into()
            }
        }
        Limits::Percentile { .. } => "custom".into(),
    }
}

fn limits_from_key(key: &str, current: (f64, f64)) -> Limits {
    match key {
        "minmax" => Limits::MinMax,
        "zscale" => Limits::ZScale,
        "manual" | "custom" => Limits::Manual {
            min: current.0,
            max: if current.1 == current.0 {
                current.0 + 1.0
            } else {
                current.1
            },
        },
        p => {
            let high = p.parse::<f64>().unwrap_or(99.5).clamp(50.0, 100.0);
            Limits::Percentile {
                low: 100.0 - high,
                high,
            }
        }
    }
}

#[component]
pub fn Panel() -> impl IntoView {
    let ui = use_ui();
    let url = RwSignal::new(SAMPLE.to_owned());
    let current = move || ui.layers.with(|l| l.get(ui.active.get()).cloned());
    let settings = move || current().map(|l| l.settings).unwrap_or_default();
    let update = move |f: &dyn Fn(&mut LayerSettings)| {
        let mut s = settings();
        f(&mut s);
        actions::set_settings(ui, ui.active.get_untracked(), s);
    };
    let planes = move || ui.layers.with(|l| l.first().map_or(1, |l| l.planes));
    view! {
        <aside class="viewer-panel">
            <h2>"Image"</h2>
            <div class="row">
                <input
                    class="grow"
                    data-testid="src-input"
                    prop:value=move || url.get()
                    on:change=move |ev| url.set(event_target_value(&ev))
                    aria-label="FITS URL"
                />
            </div>
            <div class="row">
                <button class="button small" data-testid="open-url" on:click=move |_| actions::open_url(ui, url.get_untracked(), true)>
                    "Open"
                </button>
                <button class="button small" data-testid="add-layer" on:click=move |_| actions::open_url(ui, url.get_untracked(), false)>
                    "Add as layer"
                </button>
                <label class="button small">
                    "File…"
                    <input type="file" accept=".fits,.fit,.fts,.gz,application/fits" data-testid="file-input" hidden on:change=move |ev| actions::open_file(ui, ev) />
                </label>
            </div>
            <h2>"Layers"</h2>
            <ul class="layers" data-testid="layers">
                <For each=move || ui.layers.get().into_iter().enumerate() key=|(i, l)| (*i, l.name.clone(), serde_json::to_string(&l.settings).unwrap_or_default()) let((i, l))>
                    <li class:active=move || ui.active.get() == i on:click=move |_| ui.active.set(i)>
                        <div class="layer-name" title=l.src.clone()>
                            {l.name.clone()}
                            {l.reprojected.then_some(view! { <span class="tag">"reprojected"</span> })}
                        </div>
                        <div class="row small">
                            <input type="range" min="0" max="1" step="0.05" prop:value=l.settings.opacity.to_string() aria-label="opacity"
                                on:input=move |ev| {
                                    let v = event_target_value(&ev).parse::<f32>().unwrap_or(1.0);
                                    let mut s = ui.layers.with_untracked(|ls| ls.get(i).map(|l| l.settings.clone())).unwrap_or_default();
                                    s.opacity = v.clamp(0.0, 1.0);
                                    actions::set_settings(ui, i, s);
                                } />
                            <select aria-label="blend mode" data-testid=format!("blend-{i}")
                                on:change=move |ev| {
                                    let mut s = ui.layers.with_untracked(|ls| ls.get(i).map(|l| l.settings.clone())).unwrap_or_default();
                                    s.blend = event_target_value(&ev).parse().unwrap_or_default();
                                    actions::set_settings(ui, i, s);
                                }>
                                {Blend::ALL.into_iter().map(|b| view! { <option value=b.to_string() selected=b == l.settings.blend>{b.to_string()}</option> }).collect_view()}
                            </select>
                            {(i > 0).then(|| view! { <button class="button small" title="Remove layer" on:click=move |_| actions::remove_layer(ui, i)>"✕"</button> })}
                        </div>
                    </li>
                </For>
            </ul>
            <button class="button small" data-testid="rgb" title="Red, green and blue colormaps with additive blending on the first three layers" on:click=move |_| actions::rgb_composite(ui)>
                "RGB composite"
            </button>
            {move || current().filter(|l| l.hdus.len() > 1).map(|l| view! {
                <label class="field-row">"HDU"
                    <select data-testid="hdu" on:change=move |ev| {
                        if let Ok(h) = event_target_value(&ev).parse::<usize>() {
                            actions::set_hdu(ui, ui.active.get_untracked(), h);
                        }
                    }>
                        {l.hdus.iter().map(|(i, label)| view! { <option value=i.to_string() selected=*i == l.hdu>{label.clone()}</option> }).collect_view()}
                    </select>
                </label>
            })}
            {move || current().filter(|l| !l.warnings.is_empty()).map(|l| view! {
                <details class="header-warnings" data-testid="header-warnings">
                    <summary>{format!("⚠ {} header warning(s)", l.warnings.len())}</summary>
                    <ul class="small">
                        {l.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                    </ul>
                </details>
            })}
            <h2>"Display"</h2>
            <label class="field-row">"Scale"
                <select data-testid="scale" on:change=move |ev| {
                    let key = event_target_value(&ev);
                    update(&|s| s.render.scale = match key.as_str() {
                        "log" => Scale::Log, "sqrt" => Scale::Sqrt, "squared" => Scale::Squared,
                        "power" => Scale::Power(2.0), "asinh" => Scale::Asinh, "sinh" => Scale::Sinh,
                        "histeq" => Scale::HistEq, _ => Scale::Linear,
                    });
                }>
                    {SCALES.into_iter().map(|(k, label)| view! { <option value=k selected=move || scale_key(settings().render.scale) == k>{label}</option> }).collect_view()}
                </select>
            </label>
            {move || match settings().render.scale {
                Scale::Power(g) => Some(view! {
                    <label class="field-row">"γ"
                        <input type="number" step="0.1" min="0.05" data-testid="gamma" prop:value=g.to_string()
                            on:change=move |ev| { let v = event_target_value(&ev).parse::<f64>().unwrap_or(1.0).max(0.05); update(&|s| s.render.scale = Scale::Power(v)); } />
                    </label>
                }),
                _ => None,
            }}
            <label class="field-row">"Limits"
                <select data-testid="limits" on:change=move |ev| {
                    let key = event_target_value(&ev);
                    let lim = current().map_or((0.0, 1.0), |l| l.limits);
                    update(&|s| s.render.limits = limits_from_key(&key, lim));
                }>
                    {LIMITS.into_iter().map(|(k, label)| view! { <option value=k selected=move || limits_key(settings().render.limits) == k>{label}</option> }).collect_view()}
                </select>
            </label>
            <div class="row small">
                <label>"min "<input type="number" step="any" class="num-input" data-testid="vmin" prop:value=move || current().map(|l| format!("{:.6}", l.limits.0)).unwrap_or_default()
                    on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { let hi = current().map_or(1.0, |l| l.limits.1); if v.is_finite() && v != hi { update(&|s| s.render.limits = Limits::Manual { min: v, max: hi }); } } } /></label>
                <label>"max "<input type="number" step="any" class="num-input" data-testid="vmax" prop:value=move || current().map(|l| format!("{:.6}", l.limits.1)).unwrap_or_default()
                    on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { let lo = current().map_or(0.0, |l| l.limits.0); if v.is_finite() && v != lo { update(&|s| s.render.limits = Limits::Manual { min: lo, max: v }); } } } /></label>
            </div>
            <label class="field-row">"Colormap"
                <select data-testid="colormap" on:change=move |ev| { let c: Colormap = event_target_value(&ev).parse().unwrap_or_default(); update(&|s| s.render.colormap = c); }>
                    {Colormap::ALL.into_iter().map(|c| view! { <option value=c.name() selected=move || settings().render.colormap == c>{c.name()}</option> }).collect_view()}
                </select>
            </label>
            <div class="row small">
                <label><input type="checkbox" data-testid="invert" prop:checked=move || settings().render.invert on:change=move |ev| { let v = event_target_checked(&ev); update(&|s| s.render.invert = v); } />" invert"</label>
                <label>" NaN "<input type="color" data-testid="nan-colour" prop:value=move || settings().render.nan_rgba.to_string()[..7].to_owned()
                    on:input=move |ev| { if let Some(c) = Rgba::parse(&event_target_value(&ev)) { update(&|s| s.render.nan_rgba = c); } } /></label>
                <button class="button small" title="Reset bias and contrast (right-drag on the image changes them)" on:click=move |_| update(&|s| { s.render.bias = 0.5; s.render.contrast = 1.0; })>"bias/contrast ⟲"</button>
            </div>
            <div class="small muted" data-testid="bias-contrast">{move || { let s = settings(); format!("bias {:.2} · contrast {:.2}", s.render.bias, s.render.contrast) }}</div>
            <Show when=move || { planes() > 1 }>
                <h2>"Cube"</h2>
                <div class="row">
                    <button class="button small" data-testid="play" on:click=move |_| actions::toggle_play(ui)>{move || if ui.playing.get() { "⏸" } else { "▶" }}</button>
                    <input type="range" class="grow" min="0" max=move || planes().saturating_sub(1).to_string() step="1" data-testid="plane"
                        prop:value=move || ui.plane.get().to_string()
                        on:input=move |ev| actions::set_plane(ui, event_target_value(&ev).parse().unwrap_or(0)) />
                    <span class="small" data-testid="plane-label">{move || format!("{}/{}", ui.plane.get() + 1, planes())}</span>
                </div>
                <div class="small" data-testid="plane-world">{move || ui.layers.with(|l| l.first().map(|l| l.plane_label.clone()).unwrap_or_default())}</div>
                <label class="small"><input type="checkbox" prop:checked=move || settings().cube_limits on:change=move |ev| { let v = event_target_checked(&ev); update(&|s| s.cube_limits = v); } />" limits over the whole cube"</label>
            </Show>
            <h2>"View"</h2>
            <div class="row">
                <button class="button small" data-testid="fit" title="Fit (f)" on:click=move |_| actions::fit(ui)>"Fit"</button>
                <button class="button small" data-testid="one-to-one" title="1:1 (1)" on:click=move |_| actions::one_to_one(ui)>"1:1"</button>
                <button class="button small" title="Zoom in (+)" on:click=move |_| actions::zoom(ui, 2.0)>"+"</button>
                <button class="button small" title="Zoom out (-)" on:click=move |_| actions::zoom(ui, 0.5)>"−"</button>
                <label class="small"><input type="checkbox" data-testid="grid" prop:checked=move || ui.grid.get() on:change=move |ev| actions::set_grid(ui, event_target_checked(&ev)) />" grid (g)"</label>
            </div>
            <h2>"Regions"</h2>
            <div class="row tools" role="toolbar">
                {Tool::ALL.into_iter().map(|(t, key, title)| view! {
                    <button class="button small tool" class:active=move || ui.tool.get() == t title=title data-testid=format!("tool-{key}") on:click=move |_| ui.tool.set(t)>{key}</button>
                }).collect_view()}
            </div>
            <div class="row">
                <label class="button small">"Import DS9…"<input type="file" accept=".reg,text/plain" hidden data-testid="ds9-import" on:change=move |ev| actions::import_ds9(ui, ev) /></label>
                <button class="button small" data-testid="ds9-export" on:click=move |_| actions::export_ds9(ui)>"Export DS9"</button>
                <button class="button small" title="Delete the selected region (Delete)" on:click=move |_| actions::delete_selected(ui)>"Delete"</button>
            </div>
            <div class="small muted" data-testid="regions-saved">{move || ui.regions_saved.get()}</div>
            <div class="small warning" role="status" data-testid="regions-import">{move || ui.regions_import.get()}</div>
            {move || ui.region_report.get().map(|r| view! {
                <div class="region-report" data-testid="region-report">
                    <div class="small">{format!("{} · {}", r.id, r.kind)}</div>
                    <table class="small">
                        {r.rows.into_iter().map(|(k, v)| { let id = format!("stat-{}", k.replace(' ', "-")); view! { <tr><th>{k}</th><td class="num" data-testid=id>{v}</td></tr> } }).collect_view()}
                    </table>
                    {r.profile_svg.map(|svg| view! { <div class="profile" data-testid="profile" inner_html=svg></div> })}
                </div>
            })}
            <h2>"Share"</h2>
            <div class="row">
                <button class="button small" data-testid="share" title="Copy a link that restores this view (s)" on:click=move |_| actions::share(ui)>"Copy link"</button>
            </div>
            <input class="share-link small" readonly data-testid="share-link" prop:value=move || ui.share.get() />
            <p class="small muted">"Keys: f fit · 1 one-to-one · +/− zoom · arrows pan · g grid · i invert · c/b/e/p/l/o/v tools · Delete region · [ ] plane · space play"</p>
        </aside>
    }
}

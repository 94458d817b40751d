//! Mode B: the GPU FITS viewer. The page (toolbar, layer panel, canvas, colour bar, readout)
//! renders on the server; in the browser a wgpu surface (WebGL2, or WebGPU when available) draws
//! the float image uploaded once, and every display change is a uniform update.
//!
//! Layout, each part importing only those after it: [`panel`] (controls) · [`actions`] (what the
//! controls do; a no-op on the server) · hydrate-only: `boot` (start-up), `hooks` (test and
//! benchmark entry points on `window.__chViewer`), `interact` (pointer, wheel and keys on the
//! canvas, the region editor), `web` (loading, settings, view, share link), `regions` (region
//! report, saving, DS9 files), `overlay` (grid, regions, colour bar), `engine` (layers, camera,
//! uniforms), `layer` (one decoded image), `gpu` (typed wgpu layer + image.wgsl), `dom` (browser
//! helpers) · the leaves, the same on server and browser: [`ui`] (the signals the controls share),
//! [`keys`] (keyboard shortcuts), [`state`] (share-link state) and [`vocab`] (the shared types,
//! limits and value formatting).

pub mod actions;
pub mod keys;
mod panel;
pub mod state;
pub mod ui;
pub mod vocab;

#[cfg(feature = "hydrate")]
mod boot;
#[cfg(feature = "hydrate")]
pub(crate) mod dom;
#[cfg(feature = "hydrate")]
pub(crate) mod engine;
#[cfg(feature = "hydrate")]
pub(crate) mod gpu;
#[cfg(feature = "hydrate")]
mod hooks;
#[cfg(feature = "hydrate")]
mod interact;
#[cfg(feature = "hydrate")]
mod layer;
#[cfg(feature = "hydrate")]
mod overlay;
#[cfg(feature = "hydrate")]
mod regions;
#[cfg(feature = "hydrate")]
mod web;

use ch_regions::RegionSet;
use leptos::prelude::*;

use ui::Ui;
use vocab::{Status, Tool};

#[component]
pub fn ViewerPage() -> impl IntoView {
    let ui = Ui {
        status: RwSignal::new(Status::Starting),
        layers: RwSignal::new(Vec::new()),
        active: RwSignal::new(0),
        plane: RwSignal::new(0),
        playing: RwSignal::new(false),
        grid: RwSignal::new(false),
        readout: RwSignal::new(None),
        tool: RwSignal::new(Tool::Pan),
        regions: RwSignal::new(RegionSet::default()),
        selected: RwSignal::new(None),
        region_report: RwSignal::new(None),
        regions_saved: RwSignal::new(String::new()),
        regions_import: RwSignal::new(String::new()),
        share: RwSignal::new(String::new()),
    };
    provide_context(ui);
    Effect::new(move |started: Option<bool>| {
        if started != Some(true) {
            actions::start(ui);
        }
        true
    });
    let message = move || match ui.status.get() {
        Status::Starting => Some(("info", "Starting the GPU viewer…".to_owned())),
        Status::Loading(what) => Some(("info", format!("Loading {what}…"))),
        Status::Ready => None,
        Status::Error(e) => Some(("error", e)),
    };
    view! {
        <div class="viewer" data-testid="viewer">
            <panel::Panel />
            <section class="viewer-stage">
                <div
                    class="canvas-wrap"
                    tabindex="0"
                    data-testid="canvas-wrap"
                    on:wheel=move |ev| actions::wheel(ui, ev)
                    on:pointerdown=move |ev| actions::pointer_down(ui, ev)
                    on:pointermove=move |ev| actions::pointer_move(ui, ev)
                    on:pointerup=move |ev| actions::pointer_up(ui, ev)
                    on:pointercancel=move |ev| actions::pointer_up(ui, ev)
                    on:pointerleave=move |_| ui.readout.set(None)
                    on:dblclick=move |ev| actions::double_click(ui, ev)
                    on:keydown=move |ev| actions::key(ui, ev)
                    on:contextmenu=move |ev| ev.prevent_default()
                >
                    <canvas id="modeb-gl" data-testid="modeb-canvas"></canvas>
                    <canvas id="modeb-overlay" data-testid="modeb-overlay"></canvas>
                    {move || {
                        message()
                            .map(|(kind, text)| {
                                view! {
                                    <div class=format!("viewer-message {kind}") data-testid="viewer-message">
                                        {text}
                                    </div>
                                }
                            })
                    }}
                </div>
                <div class="colorbar">
                    <canvas id="modeb-colorbar" width="512" height="14" data-testid="colorbar"></canvas>
                    <div class="colorbar-labels" data-testid="colorbar-labels">
                        {move || {
                            actions::colorbar_labels(ui)
                                .into_iter()
                                .map(|(pos, text)| {
                                    view! { <span style=format!("left: {pos:.2}%")>{text}</span> }
                                })
                                .collect_view()
                        }}
                    </div>
                </div>
                <div class="readout" data-testid="readout">
                    {move || match ui.readout.get() {
                        Some(r) => {
                            view! {
                                <span data-testid="readout-pixel">{r.pixel}</span>
                                <span data-testid="readout-value">{r.value}</span>
                                <span data-testid="readout-radec">{r.sexagesimal}</span>
                                <span data-testid="readout-deg">{r.degrees}</span>
                                <span data-testid="readout-gal">{r.galactic}</span>
                            }
                                .into_any()
                        }
                        None => view! { <span class="muted">"Move the cursor over the image"</span> }.into_any(),
                    }}
                </div>
            </section>
        </div>
    }
}

//! Mode B: the GPU FITS viewer. The page (toolbar, layer panel, canvas, colour bar, readout)
//! renders on the server; in the browser a wgpu surface (WebGL2, or WebGPU when available) draws
//! the float image uploaded once, and every display change is a uniform update.
//!
//! Layout: [`state`] (share-link state, pure) · [`panel`] (controls) · [`actions`] (what the
//! controls do; a no-op on the server) · hydrate-only: `gpu` (typed wgpu layer + image.wgsl),
//! `engine` (layers, camera, uniforms), `layer` (one decoded image), `overlay` (grid, regions, colour bar), `hooks` (test and
//! benchmark entry points on `window.__chViewer`).

pub mod actions;
mod panel;
pub mod state;

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

use state::LayerSettings;

/// Layers composited on the GPU in one pass (texture bindings in the shader); the share link,
/// the engine and the GPU layer all take the limit from here.
pub const MAX_LAYERS: usize = 4;

/// One loaded layer as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    pub name: String,
    pub src: String,
    pub width: usize,
    pub height: usize,
    pub planes: usize,
    /// Image HDUs of the file (index, label) and the one shown.
    pub hdus: Vec<(usize, String)>,
    pub hdu: usize,
    /// Spectral value / Stokes product of the shown plane.
    pub plane_label: String,
    pub bunit: String,
    pub limits: (f64, f64),
    pub reprojected: bool,
    pub settings: LayerSettings,
    /// What the FITS reader tolerated in this HDU's header and WCS (astropy's
    /// FITSFixedWarning / CARTA's header warnings), shown in the panel.
    pub warnings: Vec<String>,
}

/// The cursor readout, already formatted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadoutText {
    pub pixel: String,
    pub value: String,
    pub sexagesimal: String,
    pub degrees: String,
    pub galactic: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    #[default]
    Pan,
    Circle,
    Box,
    Ellipse,
    Polygon,
    Line,
    Point,
}

impl Tool {
    pub const ALL: [(Tool, &'static str, &'static str); 7] = [
        (Tool::Pan, "pan", "Pan / select (v)"),
        (Tool::Circle, "circle", "Circle (c)"),
        (Tool::Box, "box", "Box (b)"),
        (Tool::Ellipse, "ellipse", "Ellipse (e)"),
        (
            Tool::Polygon,
            "polygon",
            "Polygon (p): click vertices, double-click to close",
        ),
        (Tool::Line, "line", "Line with profile (l)"),
        (Tool::Point, "point", "Point (o)"),
    ];
}

/// Everything the viewer's controls read and write.
#[derive(Clone, Copy)]
pub struct Ui {
    pub status: RwSignal<Status>,
    pub layers: RwSignal<Vec<LayerInfo>>,
    pub active: RwSignal<usize>,
    pub plane: RwSignal<usize>,
    pub playing: RwSignal<bool>,
    pub grid: RwSignal<bool>,
    pub readout: RwSignal<Option<ReadoutText>>,
    pub tool: RwSignal<Tool>,
    pub regions: RwSignal<RegionSet>,
    pub selected: RwSignal<Option<String>>,
    /// Region statistics and profile text for the selected region.
    pub region_report: RwSignal<Option<actions::RegionReport>>,
    pub regions_saved: RwSignal<String>,
    /// What the last DS9 import could not place (empty when it placed everything).
    pub regions_import: RwSignal<String>,
    pub share: RwSignal<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Status {
    #[default]
    Starting,
    Loading(String),
    Ready,
    Error(String),
}

pub fn use_ui() -> Ui {
    expect_context::<Ui>()
}

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

//! Start-up of the viewer in the browser: the GPU surface and the engine, the test hooks, the
//! canvas sizing, then the layers the URL names (a share link's state, `?src=`, or the sample).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::engine::{Engine, install, with_engine};
use super::gpu::Gpu;
use super::state::{LayerSettings, LayerState, ViewState};
use super::ui::Ui;
use super::vocab::{SAMPLE, Status};
use super::{dom, hooks, overlay, web};

fn element<T: JsCast>(id: &str) -> Option<T> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into::<T>()
        .ok()
}

/// Sizes the drawing buffers to the element's CSS size × device pixel ratio.
fn resize() {
    let Some(gl) = element::<web_sys::HtmlCanvasElement>("modeb-gl") else {
        return;
    };
    let dpr = dom::device_pixel_ratio();
    let (w, h) = (
        (f64::from(gl.client_width().max(1)) * dpr).round() as u32,
        (f64::from(gl.client_height().max(1)) * dpr).round() as u32,
    );
    for id in ["modeb-gl", "modeb-overlay"] {
        if let Some(c) = element::<web_sys::HtmlCanvasElement>(id) {
            c.set_width(w);
            c.set_height(h);
        }
    }
    with_engine(|e| {
        e.gpu.resize(w, h);
        e.render();
    });
}

/// Creates the GPU surface and the engine, installs the test hooks and loads what the URL names.
pub fn start(ui: Ui) {
    spawn_local(async move {
        let Some(canvas) = element::<web_sys::HtmlCanvasElement>("modeb-gl") else {
            ui.status.set(Status::Error("the viewer canvas is missing".into()));
            return;
        };
        resize();
        match Gpu::new(canvas).await {
            Ok(gpu) => {
                leptos::logging::log!("Mode B: {} (max texture {})", gpu.backend, gpu.max_texture);
                let mut engine = Engine::new(gpu);
                if let Some(tile) = dom::location_search_param("tile").and_then(|t| t.parse::<u32>().ok()) {
                    engine.tile = tile.clamp(16, engine.tile);
                }
                install(engine);
            }
            Err(e) => {
                ui.status
                    .set(Status::Error(format!("The GPU viewer cannot start: {e}")));
                return;
            }
        }
        resize();
        hooks::install(ui);
        let on_resize = Closure::<dyn Fn()>::new(move || {
            resize();
            overlay::draw(ui);
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
        }
        on_resize.forget();
        let hash = dom::location_hash();
        let state = if hash.len() > 1 {
            match ViewState::from_fragment(&hash) {
                Ok(s) => s,
                Err(e) => {
                    ui.status.set(Status::Error(e));
                    return;
                }
            }
        } else {
            let src = dom::location_search_param("src").unwrap_or_else(|| SAMPLE.to_owned());
            ViewState {
                layers: vec![LayerState {
                    src,
                    hdu: None,
                    plane: 0,
                    settings: LayerSettings::default(),
                }],
                ..ViewState::default()
            }
        };
        if let Err(e) = web::apply_state(ui, state).await {
            ui.status.set(Status::Error(e));
        }
    });
}

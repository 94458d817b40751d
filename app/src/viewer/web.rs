//! Browser side of the viewer's controls: loading, display settings, view, share link.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::engine::{LoadRequest, with_engine};
use super::state::{LayerSettings, LayerState, ViewState};
use super::ui::{LayerInfo, Ui};
use super::vocab::Status;
use super::{dom, overlay};

/// Loads every layer of a share-link state, then restores view, grid and regions.
pub async fn apply_state(ui: Ui, state: ViewState) -> Result<(), String> {
    for (i, l) in state.layers.iter().enumerate() {
        load_url(ui, &l.src, l.hdu, l.plane, l.settings.clone(), i == 0).await?;
    }
    with_engine(|e| {
        if let Some(c) = state.centre {
            e.camera.centre = c;
        }
        if let Some(z) = state.zoom {
            e.camera.zoom = z;
        }
        e.render();
    });
    ui.plane.set(state.layers.first().map_or(0, |l| l.plane));
    ui.grid.set(state.grid);
    if state.regions.regions.is_empty() {
        super::regions::load_regions(ui).await;
    } else {
        ui.regions.set(state.regions);
    }
    overlay::draw(ui);
    Ok(())
}

fn file_name(src: &str) -> String {
    src.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(src)
        .to_owned()
}

async fn load_url(
    ui: Ui,
    src: &str,
    hdu: Option<usize>,
    plane: usize,
    settings: LayerSettings,
    replace: bool,
) -> Result<(), String> {
    ui.status.set(Status::Loading(src.to_owned()));
    let bytes = dom::fetch_bytes(src)
        .await
        .inspect_err(|e| ui.status.set(Status::Error(e.clone())))?;
    load_bytes(
        ui,
        LoadRequest {
            name: file_name(src),
            src: src.to_owned(),
            bytes,
            hdu,
            plane,
            settings,
            replace,
        },
    )
}

/// Adds decoded bytes as a layer and refreshes the panel; errors leave the viewer as it was.
pub fn load_bytes(ui: Ui, req: LoadRequest) -> Result<(), String> {
    let (replace, plane) = (req.replace, req.plane);
    let result = with_engine(|e| e.load(req)).unwrap_or_else(|| Err("the GPU viewer is not running".into()));
    match &result {
        Ok(()) => {
            ui.status.set(Status::Ready);
            if replace {
                ui.active.set(0);
                ui.plane.set(plane);
                ui.selected.set(None);
                ui.region_report.set(None);
            }
            sync(ui);
        }
        Err(e) => ui.status.set(Status::Error(e.clone())),
    }
    result
}

/// Copies the engine's layers into the panel's signal and redraws overlay and colour bar.
pub fn sync(ui: Ui) {
    let infos = with_engine(|e| {
        e.layers
            .iter()
            .map(|l| LayerInfo {
                name: l.name.clone(),
                src: l.src.clone(),
                width: l.image.width,
                height: l.image.height,
                planes: l.planes,
                plane_label: l.plane_label(),
                hdus: l.image_hdus(),
                hdu: l.hdu,
                bunit: l.bunit(),
                limits: l.limits,
                reprojected: l.reprojected,
                settings: l.settings.clone(),
                warnings: l.warnings.clone(),
            })
            .collect::<Vec<_>>()
    })
    .unwrap_or_default();
    if ui.active.get_untracked() >= infos.len() {
        ui.active.set(0);
    }
    ui.layers.set(infos);
    overlay::draw(ui);
    overlay::draw_colorbar(ui);
}

pub fn open_url(ui: Ui, url: String, replace: bool) {
    let url = url.trim().to_owned();
    if !url.starts_with('/') {
        ui.status.set(Status::Error(format!(
            "'{url}' is not a path on this server (e.g. /api/fits/<source>/<file> or /samples/…)"
        )));
        return;
    }
    spawn_local(async move {
        if load_url(ui, &url, None, 0, LayerSettings::default(), replace)
            .await
            .is_ok()
            && replace
        {
            super::regions::load_regions(ui).await;
            overlay::draw(ui);
        }
    });
}

pub fn open_file(ui: Ui, ev: leptos::ev::Event) {
    let Some((input, file)) = dom::chosen_file(&ev) else {
        return;
    };
    spawn_local(async move {
        ui.status.set(Status::Loading(file.name()));
        match dom::read_file(&file).await {
            Ok(bytes) => {
                let _ = load_bytes(ui, LoadRequest::local(file.name(), bytes, true));
            }
            Err(e) => ui.status.set(Status::Error(e)),
        }
        input.set_value("");
    });
}

pub fn set_settings(ui: Ui, index: usize, settings: LayerSettings) {
    with_engine(|e| e.set_settings(index, settings));
    sync(ui);
}

pub fn remove_layer(ui: Ui, index: usize) {
    with_engine(|e| e.remove_layer(index));
    sync(ui);
}

pub fn rgb_composite(ui: Ui) {
    use ch_render::{Blend, Colormap};
    let maps = [Colormap::Red, Colormap::Green, Colormap::Blue];
    let n = with_engine(|e| {
        let n = e.layers.len().min(3);
        for (i, cmap) in maps.into_iter().enumerate().take(n) {
            let mut s = e.layers[i].settings.clone();
            s.render.colormap = cmap;
            s.blend = Blend::Add;
            s.opacity = 1.0;
            e.set_settings(i, s);
        }
        n
    })
    .unwrap_or(0);
    if n < 3 {
        ui.status.set(Status::Error(format!(
            "an RGB composite needs three layers; {n} loaded (use \"Add as layer\")"
        )));
    }
    sync(ui);
}

pub fn set_plane(ui: Ui, plane: usize) {
    match with_engine(|e| e.set_plane(plane)) {
        Some(Ok(())) => {
            ui.plane.set(plane);
            sync(ui);
        }
        Some(Err(e)) => ui.status.set(Status::Error(e)),
        None => {}
    }
}

pub fn set_hdu(ui: Ui, index: usize, hdu: usize) {
    match with_engine(|e| e.set_hdu(index, hdu)) {
        Some(Ok(())) => {
            ui.status.set(Status::Ready);
            if index == 0 {
                ui.plane.set(0);
            }
            sync(ui);
        }
        Some(Err(e)) => ui.status.set(Status::Error(e)),
        None => {}
    }
}

pub fn toggle_play(ui: Ui) {
    if ui.playing.get_untracked() {
        ui.playing.set(false);
        return;
    }
    ui.playing.set(true);
    spawn_local(async move {
        while ui.playing.get_untracked() {
            let planes = ui.layers.with_untracked(|l| l.first().map_or(1, |l| l.planes));
            if planes <= 1 {
                break;
            }
            set_plane(ui, (ui.plane.get_untracked() + 1) % planes);
            dom::sleep_ms(150).await;
        }
        ui.playing.set(false);
    });
}

pub fn fit(ui: Ui) {
    with_engine(|e| {
        e.fit();
        e.render();
    });
    overlay::draw(ui);
}

pub fn one_to_one(ui: Ui) {
    with_engine(|e| {
        e.camera.zoom = dom::device_pixel_ratio();
        e.render();
    });
    overlay::draw(ui);
}

pub fn zoom(ui: Ui, factor: f64) {
    with_engine(|e| {
        let (w, h) = e.gpu.size();
        e.zoom_at(factor, f64::from(w) / 2.0, f64::from(h) / 2.0);
        e.render();
    });
    overlay::draw(ui);
}

pub fn set_grid(ui: Ui, on: bool) {
    ui.grid.set(on);
    overlay::draw(ui);
}

/// The state a share link carries.
pub fn current_state(ui: Ui) -> ViewState {
    with_engine(|e| ViewState {
        layers: e
            .layers
            .iter()
            .filter(|l| !l.src.is_empty())
            .map(|l| LayerState {
                src: l.src.clone(),
                hdu: Some(l.hdu),
                plane: l.plane,
                settings: l.settings.clone(),
            })
            .collect(),
        centre: Some(e.camera.centre),
        zoom: Some(e.camera.zoom),
        grid: ui.grid.get_untracked(),
        regions: ui.regions.get_untracked(),
    })
    .unwrap_or_default()
}

pub fn share(ui: Ui) {
    let fragment = current_state(ui).to_fragment();
    dom::replace_hash(&fragment);
    let Some(w) = web_sys::window() else { return };
    let href = w.location().href().unwrap_or_default();
    ui.share.set(href.clone());
    let _ = w.navigator().clipboard().write_text(&href);
}

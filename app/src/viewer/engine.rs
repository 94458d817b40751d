//! The Mode B engine (hydrate only): decoded layers on one pixel grid, the camera, limits and
//! the uniforms handed to [`Gpu`]; `upload` puts the planes on the GPU. The UI talks to it
//! through [`with_engine`].

use std::cell::RefCell;

use ch_fits::Fits;
use ch_fits::image::Image;
use ch_fits::region::{Region, RegionStats};
use ch_render::stretch::Prepared;
use ch_render::{Colormap, Scale};
use ch_wcs::Wcs;

use super::gpu::{Camera, Globals, Gpu, HISTEQ_SIZE, LayerUniform};
pub use super::layer::Layer;
use super::layer::{decode, update_limits};
use super::state::LayerSettings;
use super::vocab::MAX_LAYERS;

mod upload;

/// Viewer background behind blank (NaN) pixels.
pub const BACKGROUND: [f32; 4] = [0.043, 0.059, 0.09, 1.0];

/// A file to show: its bytes, where it came from, which HDU/plane, how, and whether it
/// replaces the layers or is added as one.
pub struct LoadRequest {
    pub name: String,
    /// Same-origin URL; empty for a local file.
    pub src: String,
    pub bytes: Vec<u8>,
    pub hdu: Option<usize>,
    pub plane: usize,
    pub settings: LayerSettings,
    pub replace: bool,
}

impl LoadRequest {
    /// A file that did not come from this server (not shareable), with default settings.
    pub fn local(name: String, bytes: Vec<u8>, replace: bool) -> LoadRequest {
        LoadRequest {
            name,
            src: String::new(),
            bytes,
            hdu: None,
            plane: 0,
            settings: LayerSettings::default(),
            replace,
        }
    }
}

/// What the cursor is over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readout {
    pub x: f64,
    pub y: f64,
    pub value: Option<f32>,
    pub inside: bool,
    pub equatorial: Option<(f64, f64)>,
    pub galactic: Option<(f64, f64)>,
}

pub struct Engine {
    pub gpu: Gpu,
    pub layers: Vec<Layer>,
    pub camera: Camera,
    /// Largest tile edge (≤ the GPU's MAX_TEXTURE_SIZE; smaller to exercise tiling in tests).
    pub tile: u32,
    /// Milliseconds of the last load: decode, limits, upload (pyramid and the levels the view
    /// reads), first frame, and (once the finer levels are written after it) full resolution.
    pub timings: Vec<(String, f64)>,
    /// When the last load started (`performance.now()`), for its full-resolution time.
    load_started: f64,
    /// Generation of the task writing the finer levels; a newer upload retires older tasks.
    upload_task: u64,
    /// Write only the levels the view reads before the first frame (the default); off, all
    /// of them (the benchmark's baseline).
    pub progressive: bool,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

pub fn install(engine: Engine) {
    ENGINE.with(|e| *e.borrow_mut() = Some(engine));
}

/// Takes the engine out for an `await` that must not hold a borrow; put it back with [`install`].
pub fn take() -> Option<Engine> {
    ENGINE.with(|e| e.try_borrow_mut().ok().and_then(|mut e| e.take()))
}

/// Runs `f` on the engine when it exists.
pub fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    ENGINE.with(|e| e.try_borrow_mut().ok().and_then(|mut e| e.as_mut().map(f)))
}

impl Engine {
    pub fn new(gpu: Gpu) -> Engine {
        let tile = gpu.max_texture;
        Engine {
            gpu,
            layers: Vec::new(),
            camera: Camera {
                centre: [0.0, 0.0],
                zoom: 1.0,
            },
            tile,
            timings: Vec::new(),
            load_started: 0.0,
            upload_task: 0,
            progressive: true,
        }
    }

    pub fn width(&self) -> usize {
        self.layers.first().map_or(0, |l| l.image.width)
    }

    pub fn height(&self) -> usize {
        self.layers.first().map_or(0, |l| l.image.height)
    }

    /// Parses `bytes` and adds the image as a layer (replacing all layers when `replace`).
    /// Nothing changes when the file cannot be shown.
    pub fn load(&mut self, req: LoadRequest) -> Result<(), String> {
        let LoadRequest {
            name,
            src,
            bytes,
            hdu,
            plane,
            settings,
            replace,
        } = req;
        let (name, src) = (name.as_str(), src.as_str());
        let t0 = super::dom::now_ms();
        let fits = Fits::from_vec(bytes).map_err(|e| format!("{name}: {e}"))?;
        let hdu = match hdu {
            Some(h) => h,
            None => fits
                .first_image()
                .map(|h| h.index())
                .ok_or_else(|| format!("{name}: the file has no image HDU with data"))?,
        };
        let header = fits.hdu(hdu).map_err(|e| format!("{name}: {e}"))?.header().clone();
        let mut image = decode(&fits, hdu, plane).map_err(|e| format!("{name}: {e}"))?;
        if image.width == 0 || image.height == 0 {
            return Err(format!("{name}: the image is empty (a zero-length axis)"));
        }
        let planes = image.planes;
        let (wcs, warnings) = super::layer::read_wcs(&header);
        let t1 = super::dom::now_ms();
        let first = replace || self.layers.is_empty();
        let mut reprojected = false;
        if !first {
            if self.layers.len() >= MAX_LAYERS {
                return Err(format!("at most {MAX_LAYERS} layers"));
            }
            (image, reprojected) = self.align(name, image, wcs.as_ref())?;
        }
        let mut layer = Layer {
            name: name.to_owned(),
            src: src.to_owned(),
            fits,
            hdu,
            plane,
            planes,
            image,
            header,
            wcs,
            settings,
            limits: (0.0, 1.0),
            cube_limits: Vec::new(),
            reprojected,
            warnings,
        };
        if first {
            self.layers.clear();
        }
        update_limits(&mut layer);
        self.layers.push(layer);
        let index = self.layers.len() - 1;
        self.upload_histeq(index);
        let t_limits = super::dom::now_ms();
        if first {
            self.fit();
        }
        self.load_started = t0;
        self.upload();
        let t2 = super::dom::now_ms();
        self.render();
        let t3 = super::dom::now_ms();
        self.timings = vec![
            ("decode".into(), t1 - t0),
            ("limits".into(), t_limits - t1),
            ("upload".into(), t2 - t_limits),
            ("first_frame".into(), t3 - t2),
            ("total".into(), t3 - t0),
        ];
        if !self.gpu.has_pending() {
            // Nothing was queued: the first frame is at full resolution. (Left set, the start
            // time would be charged to a later plane change's upload.)
            self.timings.push(("full_resolution".into(), t3 - t0));
            self.load_started = 0.0;
        }
        Ok(())
    }

    /// Puts a new layer's plane on the first layer's grid: as is when the grids agree,
    /// reprojected through both WCSs otherwise.
    fn align(&self, name: &str, image: Image<f32>, wcs: Option<&Wcs>) -> Result<(Image<f32>, bool), String> {
        let base = &self.layers[0];
        let (w, h) = (base.image.width, base.image.height);
        match (base.wcs.as_ref(), wcs) {
            (Some(bw), Some(lw)) if !ch_render::reproject::same_grid(bw, lw, w, h) => {
                let data =
                    ch_render::reproject::reproject_nearest(&image.data, image.width, image.height, lw, bw, w, h)
                        .map_err(|e| format!("{name}: {e}"))?;
                Ok((
                    Image {
                        width: w,
                        height: h,
                        data,
                        ..image
                    },
                    true,
                ))
            }
            _ if image.width == w && image.height == h => Ok((image, false)),
            _ => Err(format!(
                "{name}: {}×{} pixels without a celestial WCS cannot be aligned with the first layer ({w}×{h})",
                image.width, image.height
            )),
        }
    }

    /// Shows another plane of a cube layer (and of every layer with as many planes).
    pub fn set_plane(&mut self, plane: usize) -> Result<(), String> {
        for i in 0..self.layers.len() {
            let layer = &self.layers[i];
            if plane >= layer.planes || plane == layer.plane {
                continue;
            }
            let image = decode(&layer.fits, layer.hdu, plane)?;
            let wcs = layer.wcs.clone();
            let name = layer.name.clone();
            let (image, _) = if i == 0 {
                (image, false)
            } else {
                self.align(&name, image, wcs.as_ref())?
            };
            let layer = &mut self.layers[i];
            layer.image = image;
            layer.plane = plane;
            if !layer.settings.cube_limits {
                update_limits(layer);
            }
            self.upload_histeq(i);
            // Only this layer's textures change; the others stay on the GPU.
            let width = self.width() as u32;
            let zoom = self.upload_zoom();
            self.gpu.replace_layer(i, &self.layers[i].image.data, width, zoom);
        }
        self.render();
        self.schedule_uploads();
        Ok(())
    }

    /// Shows another image HDU of a layer's file (its first plane). The first layer can only
    /// switch while it is alone, since the others are aligned to its grid.
    pub fn set_hdu(&mut self, index: usize, hdu: usize) -> Result<(), String> {
        if index == 0 && self.layers.len() > 1 {
            return Err("remove the other layers before showing another HDU of the first".into());
        }
        let layer = self.layers.get(index).ok_or("no such layer")?;
        let name = layer.name.clone();
        let header = layer
            .fits
            .hdu(hdu)
            .map_err(|e| format!("{name}: {e}"))?
            .header()
            .clone();
        let image = decode(&layer.fits, hdu, 0).map_err(|e| format!("{name}: {e}"))?;
        if image.width == 0 || image.height == 0 {
            return Err(format!("{name}: HDU {hdu} is empty"));
        }
        let (wcs, warnings) = super::layer::read_wcs(&header);
        let (image, reprojected) = if index == 0 {
            (image, false)
        } else {
            self.align(&name, image, wcs.as_ref())?
        };
        let layer = &mut self.layers[index];
        layer.planes = image.planes;
        layer.image = image;
        layer.header = header;
        layer.wcs = wcs;
        layer.warnings = warnings;
        layer.hdu = hdu;
        layer.plane = 0;
        layer.cube_limits.clear();
        layer.reprojected = reprojected;
        update_limits(layer);
        self.upload_histeq(index);
        if index == 0 {
            self.fit();
        }
        self.upload();
        self.render();
        Ok(())
    }

    /// Applies new display settings to a layer; only uniforms (and, for limits or histogram
    /// equalisation, a small table) change.
    pub fn set_settings(&mut self, index: usize, settings: LayerSettings) {
        let Some(layer) = self.layers.get_mut(index) else {
            return;
        };
        let relimit = layer.settings.render.limits != settings.render.limits
            || layer.settings.cube_limits != settings.cube_limits
            || (settings.render.scale == Scale::HistEq && layer.settings.render.scale != Scale::HistEq);
        layer.settings = settings;
        if relimit {
            update_limits(layer);
            self.upload_histeq(index);
        }
        self.render();
    }

    pub fn remove_layer(&mut self, index: usize) {
        if index > 0 && index < self.layers.len() {
            self.layers.remove(index);
            for i in 0..self.layers.len() {
                self.upload_histeq(i);
            }
            self.upload();
            self.render();
        }
    }

    pub fn globals(&self, camera: Camera, target: (u32, u32), background: [f32; 4]) -> Globals {
        let mut layers = [LayerUniform {
            range: [0.0; 4],
            shape: [0.0; 4],
            codes: [0; 4],
            nan_rgba: [0.0; 4],
        }; MAX_LAYERS];
        for (u, l) in layers.iter_mut().zip(&self.layers) {
            let r = &l.settings.render;
            let colormap = Colormap::ALL.iter().position(|c| *c == r.colormap).unwrap_or(0) as u32;
            let nan = r.nan_rgba.0.map(|c| f32::from(c) / 255.0);
            *u = LayerUniform {
                range: [
                    l.limits.0 as f32,
                    l.limits.1 as f32,
                    r.scale.parameter(),
                    l.settings.opacity,
                ],
                shape: [r.bias as f32, r.contrast as f32, 0.0, 0.0],
                codes: [r.scale.code(), colormap, u32::from(r.invert), l.settings.blend.code()],
                nan_rgba: nan,
            };
        }
        let zoom = camera.zoom.max(1e-6);
        let level = self.gpu.level_for(zoom);
        Globals {
            view: [
                camera.centre[0] as f32,
                camera.centre[1] as f32,
                (2.0 * zoom / f64::from(target.0)) as f32,
                (2.0 * zoom / f64::from(target.1)) as f32,
            ],
            background,
            counts: [self.layers.len() as u32, level, 0, 0],
            layers,
        }
    }

    pub fn render(&mut self) {
        if self.layers.is_empty() {
            return;
        }
        let globals = self.globals(self.camera, self.gpu.size(), BACKGROUND);
        if let Err(e) = self.gpu.draw(&globals) {
            leptos::logging::warn!("draw failed: {e}");
        }
        if self.gpu.wants_compile() {
            // This frame was drawn with the generic pipeline: compile its specialised one once
            // the frame is on screen (after the next animation frame), then redraw with it.
            leptos::task::spawn_local(async {
                super::dom::after_frame_shown().await;
                with_engine(|e| {
                    if e.gpu.compile_wanted() {
                        e.render();
                    }
                });
            });
        }
    }

    /// Fits the whole image in the canvas.
    pub fn fit(&mut self) {
        let (cw, ch) = self.gpu.size();
        let (w, h) = (self.width().max(1) as f64, self.height().max(1) as f64);
        self.camera = Camera {
            centre: [(w - 1.0) / 2.0, (h - 1.0) / 2.0],
            zoom: (f64::from(cw) / w).min(f64::from(ch) / h),
        };
    }

    /// Canvas pixel (device pixels, y down) → image pixel.
    pub fn to_image(&self, cx: f64, cy: f64) -> (f64, f64) {
        let (cw, ch) = self.gpu.size();
        let z = self.camera.zoom;
        (
            self.camera.centre[0] + (cx - f64::from(cw) / 2.0) / z,
            self.camera.centre[1] - (cy - f64::from(ch) / 2.0) / z,
        )
    }

    /// Image pixel → canvas pixel (device pixels, y down).
    pub fn to_canvas(&self, x: f64, y: f64) -> (f64, f64) {
        let (cw, ch) = self.gpu.size();
        let z = self.camera.zoom;
        (
            (x - self.camera.centre[0]) * z + f64::from(cw) / 2.0,
            f64::from(ch) / 2.0 - (y - self.camera.centre[1]) * z,
        )
    }

    /// Zooms by `factor` keeping the image point under canvas pixel (cx, cy) fixed.
    pub fn zoom_at(&mut self, factor: f64, cx: f64, cy: f64) {
        let before = self.to_image(cx, cy);
        self.camera.zoom = (self.camera.zoom * factor).clamp(1.0 / 64.0, 256.0);
        let after = self.to_image(cx, cy);
        self.camera.centre[0] += before.0 - after.0;
        self.camera.centre[1] += before.1 - after.1;
    }

    /// Moves the view by a drag of (dx, dy) canvas pixels.
    pub fn pan_by(&mut self, dx: f64, dy: f64) {
        self.camera.centre[0] -= dx / self.camera.zoom;
        self.camera.centre[1] += dy / self.camera.zoom;
    }

    pub fn readout(&self, cx: f64, cy: f64) -> Readout {
        let (x, y) = self.to_image(cx, cy);
        let Some(layer) = self.layers.first() else {
            return Readout::default();
        };
        let (ix, iy) = (x.round(), y.round());
        let inside = ix >= 0.0 && iy >= 0.0 && ix < layer.image.width as f64 && iy < layer.image.height as f64;
        let value = if inside {
            layer.image.get(ix as usize, iy as usize)
        } else {
            None
        };
        let wcs = layer.wcs.as_ref();
        Readout {
            x,
            y,
            value,
            inside,
            equatorial: wcs.and_then(|w| w.pixel_to_equatorial(x, y)),
            galactic: wcs.and_then(|w| w.pixel_to_galactic(x, y)),
        }
    }

    /// Statistics (incl. median and flux density) of an area region on the first layer.
    pub fn region_stats(&self, geometry: &ch_regions::Geometry) -> Option<RegionStats> {
        let layer = self.layers.first()?;
        let shape = geometry.to_shape()?;
        Some(Region::new(shape).measure(&layer.image, &layer.header))
    }

    /// What [`Engine::read_back_native`] should return, computed on the CPU by `ch-render`
    /// (`to_rgba_gpu` per layer, then `composite`).
    pub fn cpu_reference(&self) -> Result<Vec<u8>, String> {
        let (w, h) = (self.width(), self.height());
        let mut rgba = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let (lo, hi) = ordered(l.limits);
            let table = (l.settings.render.scale == Scale::HistEq)
                .then(|| Prepared::new(Scale::HistEq, &l.image.data, lo, hi).table(HISTEQ_SIZE));
            let px = ch_render::to_rgba_gpu(&l.image.data, w, h, &l.settings.render, l.limits, table.as_deref())
                .map_err(|e| e.to_string())?;
            rgba.push(px);
        }
        let layers: Vec<ch_render::Layer> = rgba
            .iter()
            .zip(&self.layers)
            .map(|(px, l)| ch_render::Layer {
                rgba: px,
                opacity: l.settings.opacity,
                blend: l.settings.blend,
            })
            .collect();
        ch_render::composite(&layers, w * h).map_err(|e| e.to_string())
    }

    /// Renders the image at one screen pixel per image pixel and reads it back, row 0 = FITS
    /// row 1 (the order `ch_render::to_rgba` produces), over a transparent background.
    pub async fn read_back_native(&self) -> Result<(u32, u32, Vec<u8>), String> {
        let (w, h) = (self.width() as u32, self.height() as u32);
        let camera = Camera {
            centre: [(f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0],
            zoom: 1.0,
        };
        let globals = self.globals(camera, (w, h), [0.0; 4]);
        let rows = self.gpu.read_back(&globals, w, h).await.map_err(|e| e.to_string())?;
        let stride = w as usize * 4;
        let flipped: Vec<u8> = rows.chunks_exact(stride).rev().flatten().copied().collect();
        Ok((w, h, flipped))
    }
}

fn ordered((a, b): (f64, f64)) -> (f64, f64) {
    if a <= b { (a, b) } else { (b, a) }
}

//! 2-D overlay on top of the GPU canvas: coordinate grid, regions with handles, and the colour
//! bar. Drawn with Canvas 2D from the engine's camera, so it follows every pan and zoom.

use std::cell::RefCell;

use ch_regions::Geometry;
use ch_wcs::Wcs;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};

use super::engine::{Engine, with_engine};
use super::ui::Ui;

fn context(id: &str) -> Option<(web_sys::HtmlCanvasElement, web_sys::CanvasRenderingContext2d)> {
    let canvas = web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .ok()?;
    let ctx = canvas
        .get_context("2d")
        .ok()??
        .dyn_into::<web_sys::CanvasRenderingContext2d>()
        .ok()?;
    Some((canvas, ctx))
}

const REGION_COLOUR: &str = "#33ff99";

thread_local! {
    /// The region being drawn (dashed, over the others), as the pointer handlers left it.
    static DRAFT: RefCell<Option<Geometry>> = const { RefCell::new(None) };
}

/// Sets the region being drawn (`None`: none is), shown from the next [`draw`] on.
pub fn set_draft(geometry: Option<Geometry>) {
    DRAFT.with(|d| *d.borrow_mut() = geometry);
}

/// Takes the region being drawn, leaving none.
pub fn take_draft() -> Option<Geometry> {
    DRAFT.with(|d| d.borrow_mut().take())
}

/// Redraws grid and regions.
pub fn draw(ui: Ui) {
    let Some((canvas, ctx)) = context("modeb-overlay") else {
        return;
    };
    ctx.clear_rect(0.0, 0.0, f64::from(canvas.width()), f64::from(canvas.height()));
    let grid = ui.grid.get_untracked();
    let regions = ui.regions.get_untracked();
    let selected = ui.selected.get_untracked();
    let draft = DRAFT.with(|d| d.borrow().clone());
    let dpr = super::dom::device_pixel_ratio();
    with_engine(|e| {
        // An empty overlay is hidden: the compositor then skips blending a transparent
        // canvas-sized layer over every GPU frame (a large share of a frame in software GL).
        let empty = e.layers.is_empty()
            || (!(grid && e.layers[0].wcs.is_some()) && regions.regions.is_empty() && draft.is_none());
        let _ =
            web_sys::HtmlElement::style(&canvas).set_property("visibility", if empty { "hidden" } else { "visible" });
        if e.layers.is_empty() {
            return;
        }
        if grid && let Some(wcs) = e.layers[0].wcs.as_ref() {
            draw_grid(&ctx, e, wcs, dpr);
        }
        ctx.set_line_width(1.5 * dpr);
        for r in &regions.regions {
            let colour = r.color.as_deref().unwrap_or(REGION_COLOUR);
            let is_selected = selected.as_deref() == Some(r.id.as_str());
            draw_geometry(&ctx, e, &r.geometry, colour, is_selected, dpr);
            if let Some(label) = &r.label {
                let [x, y] = r.geometry.centre();
                let (cx, cy) = e.to_canvas(x, y);
                ctx.set_fill_style_str(colour);
                ctx.set_font(&format!("{}px sans-serif", (12.0 * dpr).round()));
                let _ = ctx.fill_text(label, cx + 6.0 * dpr, cy - 6.0 * dpr);
            }
        }
        if let Some(g) = draft {
            ctx.set_line_dash(&js_sys::Array::of2(&(4.0 * dpr).into(), &(3.0 * dpr).into()))
                .ok();
            draw_geometry(&ctx, e, &g, "#ffd166", false, dpr);
            ctx.set_line_dash(&js_sys::Array::new()).ok();
        }
    });
}

fn draw_geometry(
    ctx: &web_sys::CanvasRenderingContext2d,
    e: &Engine,
    g: &Geometry,
    colour: &str,
    selected: bool,
    dpr: f64,
) {
    ctx.set_stroke_style_str(colour);
    let points: Vec<(f64, f64)> = g.outline().iter().map(|p| e.to_canvas(p[0], p[1])).collect();
    ctx.begin_path();
    match g {
        Geometry::Point { .. } => {
            if let Some(&(x, y)) = points.first() {
                let s = 6.0 * dpr;
                ctx.move_to(x - s, y);
                ctx.line_to(x + s, y);
                ctx.move_to(x, y - s);
                ctx.line_to(x, y + s);
            }
        }
        _ => {
            for (i, &(x, y)) in points.iter().enumerate() {
                if i == 0 {
                    ctx.move_to(x, y);
                } else {
                    ctx.line_to(x, y);
                }
            }
            if !matches!(g, Geometry::Line { .. }) {
                ctx.close_path();
            }
        }
    }
    ctx.stroke();
    if selected {
        ctx.set_fill_style_str(colour);
        let s = 4.0 * dpr;
        for h in g.handles() {
            let (x, y) = e.to_canvas(h[0], h[1]);
            ctx.fill_rect(x - s, y - s, 2.0 * s, 2.0 * s);
        }
    }
}

/// A grid step (degrees) giving a handful of lines over `span` degrees.
fn grid_step(span: f64) -> f64 {
    const STEPS: [f64; 17] = [
        1.0 / 3600.0,
        2.0 / 3600.0,
        5.0 / 3600.0,
        10.0 / 3600.0,
        30.0 / 3600.0,
        1.0 / 60.0,
        2.0 / 60.0,
        5.0 / 60.0,
        10.0 / 60.0,
        30.0 / 60.0,
        1.0,
        2.0,
        5.0,
        10.0,
        15.0,
        30.0,
        45.0,
    ];
    STEPS.into_iter().find(|s| span / s <= 8.0).unwrap_or(90.0)
}

/// World-coordinate grid in the image's own celestial frame, labelled at the left and bottom.
fn draw_grid(ctx: &web_sys::CanvasRenderingContext2d, e: &Engine, wcs: &Wcs, dpr: f64) {
    let (w, h) = e.gpu.size();
    let (w, h) = (f64::from(w), f64::from(h));
    let centre = e.to_image(w / 2.0, h / 2.0);
    let Some((lon0, _)) = wcs.pixel_to_world(centre.0, centre.1) else {
        return;
    };
    let (mut lon_lo, mut lon_hi, mut lat_lo, mut lat_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for i in 0..=16 {
        for j in 0..=16 {
            let (x, y) = e.to_image(w * f64::from(i) / 16.0, h * f64::from(j) / 16.0);
            if let Some((lon, lat)) = wcs.pixel_to_world(x, y) {
                let lon = lon0 + (lon - lon0 + 540.0).rem_euclid(360.0) - 180.0;
                lon_lo = lon_lo.min(lon);
                lon_hi = lon_hi.max(lon);
                lat_lo = lat_lo.min(lat);
                lat_hi = lat_hi.max(lat);
            }
        }
    }
    if lon_lo > lon_hi || lat_lo > lat_hi {
        return;
    }
    let lat_step = grid_step(lat_hi - lat_lo);
    let lon_step = grid_step((lon_hi - lon_lo).min(360.0));
    let equatorial = wcs.frame().is_some_and(|f| f.is_j2000_equatorial());
    ctx.set_stroke_style_str("rgba(140, 200, 255, 0.55)");
    ctx.set_fill_style_str("rgba(180, 220, 255, 0.95)");
    ctx.set_line_width(dpr);
    ctx.set_font(&format!("{}px sans-serif", (11.0 * dpr).round()));
    // Each line is drawn as a polyline; its label goes where it leaves the view on the left
    // (latitude) or at the bottom (longitude), skipped when it would overlap the previous one.
    let polyline = |pts: &mut dyn Iterator<Item = (f64, f64)>| -> Vec<(f64, f64)> {
        ctx.begin_path();
        let mut pen = false;
        let mut visible = Vec::new();
        for (lon, lat) in pts {
            match wcs
                .world_to_pixel(lon.rem_euclid(360.0), lat)
                .map(|(x, y)| e.to_canvas(x, y))
            {
                Some((cx, cy)) if cx.is_finite() && cy.is_finite() => {
                    if pen {
                        ctx.line_to(cx, cy);
                    } else {
                        ctx.move_to(cx, cy);
                    }
                    pen = true;
                    if (0.0..=w).contains(&cx) && (0.0..=h).contains(&cy) {
                        visible.push((cx, cy));
                    }
                }
                _ => pen = false,
            }
        }
        ctx.stroke();
        visible
    };
    // Labels sit where a line enters the view, kept apart so they never overlap.
    let mut placed: Vec<(f64, f64)> = Vec::new();
    let mut label = |pts: &[(f64, f64)], text: &str| {
        let Some(&(x, y)) = pts.first() else { return };
        let (x, y) = (x.clamp(2.0 * dpr, w - 80.0 * dpr), y.clamp(12.0 * dpr, h - 4.0 * dpr));
        if placed.iter().all(|(px, py)| (px - x).hypot(py - y) > 60.0 * dpr) {
            let _ = ctx.fill_text(text, x + 3.0 * dpr, y - 3.0 * dpr);
            placed.push((x, y));
        }
    };
    let mut lat = (lat_lo / lat_step).floor() * lat_step;
    while lat <= lat_hi {
        let pts = polyline(&mut (0..=96).map(|k| (lon_lo + (lon_hi - lon_lo) * f64::from(k) / 96.0, lat)));
        let text = if equatorial {
            ch_wcs::format::dec_dms(lat, 0)
        } else {
            format!("{lat:.3}°")
        };
        label(&pts, &text);
        lat += lat_step;
    }
    let mut lon = (lon_lo / lon_step).floor() * lon_step;
    while lon <= lon_hi {
        let mut pts = polyline(&mut (0..=96).map(|k| (lon, lat_lo + (lat_hi - lat_lo) * f64::from(k) / 96.0)));
        // Meridians are labelled at their lower end, where a reader looks for them.
        pts.sort_by(|a, b| b.1.total_cmp(&a.1));
        let l = lon.rem_euclid(360.0);
        let text = if equatorial {
            ch_wcs::format::ra_hms(l, 0)
        } else {
            format!("{l:.3}°")
        };
        label(&pts, &text);
        lon += lon_step;
    }
}

/// Paints the active layer's value → colour mapping into the colour bar.
pub fn draw_colorbar(ui: Ui) {
    let Some((canvas, ctx)) = context("modeb-colorbar") else {
        return;
    };
    let active = ui.active.get_untracked();
    let Some((params, limits)) = with_engine(|e| e.layers.get(active).map(|l| (l.settings.render, l.limits))).flatten()
    else {
        return;
    };
    let (w, h) = (canvas.width() as usize, canvas.height() as usize);
    let ramp: Vec<f32> = (0..w)
        .map(|i| (limits.0 + (limits.1 - limits.0) * i as f64 / (w.max(2) - 1) as f64) as f32)
        .collect();
    let Ok(row) = ch_render::to_rgba_with_limits(&ramp, w, 1, &params, limits) else {
        return;
    };
    let pixels: Vec<u8> = (0..h).flat_map(|_| row.iter().copied()).collect();
    if let Ok(data) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), w as u32, h as u32) {
        let _ = ctx.put_image_data(&data, 0.0, 0.0);
    }
}

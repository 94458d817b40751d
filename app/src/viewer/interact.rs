//! Pointer, wheel and keyboard handling on the canvas, and the region editor (draw, select,
//! move, resize, statistics, line profile, DS9 import/export, saving per image on the server).

use std::cell::RefCell;
use std::collections::BTreeMap;

use ch_regions::{Geometry, Region};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::engine::with_engine;
use super::keys::{self, KeyCommand};
use super::regions::{report, save};
use super::ui::Ui;
use super::vocab::{ReadoutText, Tool, fmt_value};
use super::{dom, overlay, web};

enum Drag {
    Idle,
    Pan { last: (f64, f64) },
    BiasContrast,
    Move { id: String, last: (f64, f64) },
    Handle { id: String, index: usize },
    Create { start: (f64, f64) },
}

struct Pointer {
    drag: Drag,
    down: BTreeMap<i32, (f64, f64)>,
    pinch: Option<f64>,
    moved: bool,
    polygon: Vec<[f64; 2]>,
    next_id: u32,
}

thread_local! {
    static P: RefCell<Pointer> = const { RefCell::new(Pointer {
        drag: Drag::Idle, down: BTreeMap::new(), pinch: None, moved: false,
        polygon: Vec::new(), next_id: 1,
    }) };
}

/// Canvas position of a pointer event in device pixels.
fn canvas_pos(ev: &web_sys::MouseEvent) -> (f64, f64) {
    let rect = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|el| el.get_bounding_client_rect());
    let dpr = dom::device_pixel_ratio();
    let (left, top) = rect.map_or((0.0, 0.0), |r| (r.left(), r.top()));
    (
        (f64::from(ev.client_x()) - left) * dpr,
        (f64::from(ev.client_y()) - top) * dpr,
    )
}

fn redraw(ui: Ui) {
    with_engine(|e| e.render());
    overlay::draw(ui);
}

pub fn wheel(ui: Ui, ev: leptos::ev::WheelEvent) {
    ev.prevent_default();
    let (x, y) = canvas_pos(&ev);
    let factor = (-ev.delta_y() * 0.0015).exp().clamp(0.5, 2.0);
    with_engine(|e| e.zoom_at(factor, x, y));
    redraw(ui);
}

fn new_geometry(tool: Tool, a: (f64, f64), b: (f64, f64)) -> Option<Geometry> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    Some(match tool {
        Tool::Circle => Geometry::Circle {
            x: a.0,
            y: a.1,
            r: dx.hypot(dy),
        },
        Tool::Box => Geometry::Box {
            x: (a.0 + b.0) / 2.0,
            y: (a.1 + b.1) / 2.0,
            width: dx.abs(),
            height: dy.abs(),
            angle: 0.0,
        },
        Tool::Ellipse => Geometry::Ellipse {
            x: a.0,
            y: a.1,
            a: dx.abs(),
            b: dy.abs(),
            angle: 0.0,
        },
        Tool::Line => Geometry::Line {
            x1: a.0,
            y1: a.1,
            x2: b.0,
            y2: b.1,
        },
        Tool::Point => Geometry::Point { x: b.0, y: b.1 },
        Tool::Pan | Tool::Polygon => return None,
    })
}

pub fn pointer_down(ui: Ui, ev: leptos::ev::PointerEvent) {
    let pos = canvas_pos(&ev);
    if let Some(t) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
        let _ = t.set_pointer_capture(ev.pointer_id());
        if let Some(h) = t.dyn_ref::<web_sys::HtmlElement>() {
            let _ = h.focus();
        }
    }
    let Some((img, zoom)) = with_engine(|e| (e.to_image(pos.0, pos.1), e.camera.zoom)) else {
        return;
    };
    let tool = ui.tool.get_untracked();
    let regions = ui.regions.get_untracked();
    let selected = ui.selected.get_untracked();
    P.with(|p| {
        let mut p = p.borrow_mut();
        p.down.insert(ev.pointer_id(), pos);
        p.moved = false;
        if p.down.len() == 2 {
            let pts: Vec<_> = p.down.values().copied().collect();
            p.pinch = Some((pts[0].0 - pts[1].0).hypot(pts[0].1 - pts[1].1));
            p.drag = Drag::Idle;
            return;
        }
        if ev.button() == 2 {
            p.drag = Drag::BiasContrast;
            return;
        }
        let tol = 6.0 * dom::device_pixel_ratio() / zoom;
        p.drag = match tool {
            Tool::Pan => {
                let handle = selected.as_ref().and_then(|id| {
                    let r = regions.regions.iter().find(|r| &r.id == id)?;
                    let i = r
                        .geometry
                        .handles()
                        .iter()
                        .position(|h| (h[0] - img.0).hypot(h[1] - img.1) <= tol)?;
                    Some(Drag::Handle {
                        id: id.clone(),
                        index: i,
                    })
                });
                handle.unwrap_or_else(|| {
                    match regions.regions.iter().rev().find(|r| r.geometry.hit(img.0, img.1, tol)) {
                        Some(r) => Drag::Move {
                            id: r.id.clone(),
                            last: img,
                        },
                        None => Drag::Pan { last: pos },
                    }
                })
            }
            Tool::Polygon => Drag::Idle,
            _ => Drag::Create { start: img },
        };
    });
    let picked = P.with(|p| match &p.borrow().drag {
        Drag::Move { id, .. } | Drag::Handle { id, .. } => Some(id.clone()),
        Drag::Pan { .. } => None,
        _ => selected.clone(),
    });
    if picked != selected {
        ui.selected.set(picked);
        report(ui);
    }
    overlay::draw(ui);
}

fn update_readout(ui: Ui, pos: (f64, f64)) {
    let Some((r, unit)) = with_engine(|e| (e.readout(pos.0, pos.1), e.layers.first().map(|l| l.bunit()))) else {
        return;
    };
    let unit = unit.unwrap_or_default();
    let fmt_pair = |p: Option<(f64, f64)>| p.map_or("—".to_owned(), |(a, b)| format!("{a:.6}° {b:+.6}°"));
    ui.readout.set(Some(ReadoutText {
        pixel: format!("x {:.1} y {:.1}", r.x + 1.0, r.y + 1.0),
        value: match (r.inside, r.value) {
            (false, _) => "outside".into(),
            (true, Some(v)) if v.is_finite() => format!("{} {unit}", fmt_value(f64::from(v))),
            (true, _) => "NaN (blank)".into(),
        },
        sexagesimal: r.equatorial.map_or("no celestial WCS".to_owned(), |(ra, dec)| {
            format!("{} {}", ch_wcs::format::ra_hms(ra, 2), ch_wcs::format::dec_dms(dec, 1))
        }),
        degrees: format!("RA/Dec {}", fmt_pair(r.equatorial)),
        galactic: format!("l/b {}", fmt_pair(r.galactic)),
    }));
}

pub fn pointer_move(ui: Ui, ev: leptos::ev::PointerEvent) {
    let pos = canvas_pos(&ev);
    update_readout(ui, pos);
    let tool = ui.tool.get_untracked();
    let mut changed_regions = false;
    let mut bias_contrast = None;
    // What a move changes: nothing (hover: only the readout), the overlay, or the view.
    let (mut overlay, mut view) = (false, false);
    P.with(|p| {
        let mut p = p.borrow_mut();
        let Some(prev) = p.down.get(&ev.pointer_id()).copied() else {
            return;
        };
        p.down.insert(ev.pointer_id(), pos);
        if (pos.0 - prev.0).abs() + (pos.1 - prev.1).abs() > 0.0 {
            p.moved = true;
        }
        if p.down.len() == 2
            && let Some(d0) = p.pinch
        {
            let pts: Vec<_> = p.down.values().copied().collect();
            let d1 = (pts[0].0 - pts[1].0).hypot(pts[0].1 - pts[1].1);
            let mid = ((pts[0].0 + pts[1].0) / 2.0, (pts[0].1 + pts[1].1) / 2.0);
            if d0 > 0.0 {
                with_engine(|e| e.zoom_at(d1 / d0, mid.0, mid.1));
                view = true;
            }
            p.pinch = Some(d1);
            return;
        }
        let Some(img) = with_engine(|e| e.to_image(pos.0, pos.1)) else {
            return;
        };
        match &mut p.drag {
            Drag::Idle => {}
            Drag::Pan { last } => {
                let (dx, dy) = (pos.0 - last.0, pos.1 - last.1);
                *last = pos;
                with_engine(|e| e.pan_by(dx, dy));
                view = true;
            }
            Drag::BiasContrast => {
                let size = with_engine(|e| e.gpu.size()).unwrap_or((1, 1));
                // DS9: horizontal position → bias, vertical → contrast (0–10, 1 at the middle).
                let bias = (pos.0 / f64::from(size.0)).clamp(0.0, 1.0);
                let contrast = (10f64.powf(1.0 - 2.0 * pos.1 / f64::from(size.1))).clamp(0.0, 10.0);
                bias_contrast = Some((bias, contrast));
            }
            Drag::Move { id, last } => {
                let (dx, dy) = (img.0 - last.0, img.1 - last.1);
                *last = img;
                let id = id.clone();
                ui.regions.update_untracked(|s| {
                    if let Some(r) = s.regions.iter_mut().find(|r| r.id == id) {
                        r.geometry.translate(dx, dy);
                    }
                });
                changed_regions = true;
            }
            Drag::Handle { id, index } => {
                let (id, index) = (id.clone(), *index);
                ui.regions.update_untracked(|s| {
                    if let Some(r) = s.regions.iter_mut().find(|r| r.id == id) {
                        r.geometry.drag_handle(index, img.0, img.1);
                    }
                });
                changed_regions = true;
            }
            Drag::Create { start } => {
                let start = *start;
                overlay::set_draft(new_geometry(tool, start, img));
                overlay = true;
            }
        }
    });
    if let Some((bias, contrast)) = bias_contrast {
        let i = ui.active.get_untracked();
        if let Some(mut s) = ui.layers.with_untracked(|l| l.get(i).map(|l| l.settings.clone())) {
            s.render.bias = bias;
            s.render.contrast = contrast;
            web::set_settings(ui, i, s);
        }
    }
    if changed_regions {
        report(ui);
    }
    if view {
        redraw(ui);
    } else if overlay || changed_regions {
        overlay::draw(ui);
    }
}

pub fn pointer_up(ui: Ui, ev: leptos::ev::PointerEvent) {
    let pos = canvas_pos(&ev);
    let tool = ui.tool.get_untracked();
    let Some(img) = with_engine(|e| e.to_image(pos.0, pos.1)) else {
        return;
    };
    let (drag, moved, draft) = P.with(|p| {
        let mut p = p.borrow_mut();
        p.down.remove(&ev.pointer_id());
        if p.down.len() < 2 {
            p.pinch = None;
        }
        (
            std::mem::replace(&mut p.drag, Drag::Idle),
            p.moved,
            overlay::take_draft(),
        )
    });
    match drag {
        Drag::Create { start } => {
            let geometry = if tool == Tool::Point {
                new_geometry(tool, start, img)
            } else {
                draft
            };
            if let Some(g) = geometry.filter(|g| tool == Tool::Point || big_enough(g)) {
                add_region(ui, g);
            }
        }
        Drag::Move { .. } | Drag::Handle { .. } if moved => save(ui),
        Drag::Idle if tool == Tool::Polygon && ev.button() == 0 => {
            P.with(|p| {
                let mut p = p.borrow_mut();
                p.polygon.push([img.0, img.1]);
                overlay::set_draft((p.polygon.len() >= 2).then(|| Geometry::Polygon {
                    vertices: p.polygon.clone(),
                }));
            });
        }
        _ => {}
    }
    // Releasing never moves the view (pans and pinches apply while moving).
    overlay::draw(ui);
}

fn big_enough(g: &Geometry) -> bool {
    match *g {
        Geometry::Circle { r, .. } => r >= 0.5,
        Geometry::Box { width, height, .. } => width >= 0.5 && height >= 0.5,
        Geometry::Ellipse { a, b, .. } => a >= 0.5 && b >= 0.5,
        Geometry::Line { x1, y1, x2, y2 } => (x2 - x1).hypot(y2 - y1) >= 1.0,
        _ => true,
    }
}

/// Closes the polygon being drawn.
pub fn double_click(ui: Ui, _ev: leptos::ev::MouseEvent) {
    if ui.tool.get_untracked() != Tool::Polygon {
        return;
    }
    let mut vertices = P.with(|p| {
        overlay::set_draft(None);
        std::mem::take(&mut p.borrow_mut().polygon)
    });
    // The double click's own two clicks added the last vertex twice.
    vertices.dedup_by(|a, b| (a[0] - b[0]).hypot(a[1] - b[1]) < 0.5);
    if vertices.len() >= 3 {
        add_region(ui, Geometry::Polygon { vertices });
    }
    overlay::draw(ui);
}

fn add_region(ui: Ui, geometry: Geometry) {
    let existing = ui
        .regions
        .with_untracked(|s| s.regions.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
    let id = P.with(|p| {
        let mut p = p.borrow_mut();
        loop {
            let id = format!("r{}", p.next_id);
            p.next_id += 1;
            if !existing.contains(&id) {
                break id;
            }
        }
    });
    ui.regions.update(|s| {
        s.regions.push(Region {
            id: id.clone(),
            geometry,
            label: None,
            color: None,
        })
    });
    ui.selected.set(Some(id));
    report(ui);
    save(ui);
}

pub fn delete_selected(ui: Ui) {
    let Some(id) = ui.selected.get_untracked() else { return };
    ui.regions.update(|s| s.regions.retain(|r| r.id != id));
    ui.selected.set(None);
    ui.region_report.set(None);
    save(ui);
    overlay::draw(ui);
}

/// Keyboard shortcuts on the focused canvas ([`keys::command`] says which key does what).
pub fn key(ui: Ui, ev: leptos::ev::KeyboardEvent) {
    let Some(command) = keys::command(&ev.key()) else {
        return;
    };
    match command {
        KeyCommand::Fit => web::fit(ui),
        KeyCommand::OneToOne => web::one_to_one(ui),
        KeyCommand::Zoom(factor) => web::zoom(ui, factor),
        KeyCommand::ToggleGrid => web::set_grid(ui, !ui.grid.get_untracked()),
        KeyCommand::Invert => {
            let i = ui.active.get_untracked();
            if let Some(mut s) = ui.layers.with_untracked(|l| l.get(i).map(|l| l.settings.clone())) {
                s.render.invert = !s.render.invert;
                web::set_settings(ui, i, s);
            }
        }
        KeyCommand::Share => web::share(ui),
        KeyCommand::TogglePlay => web::toggle_play(ui),
        KeyCommand::StepPlane { forward } => {
            let planes = ui.layers.with_untracked(|l| l.first().map_or(1, |l| l.planes));
            web::set_plane(ui, keys::step_plane(ui.plane.get_untracked(), planes, forward));
        }
        KeyCommand::DeleteSelected => delete_selected(ui),
        KeyCommand::Escape => {
            ui.tool.set(Tool::Pan);
            ui.selected.set(None);
            ui.region_report.set(None);
            overlay::draw(ui);
        }
        KeyCommand::Pan(x, y) => {
            let step = 40.0 * dom::device_pixel_ratio();
            with_engine(|e| {
                e.pan_by(x * step, y * step);
                e.render();
            });
            overlay::draw(ui);
        }
        KeyCommand::Tool(t) => ui.tool.set(t),
    }
    ev.prevent_default();
}

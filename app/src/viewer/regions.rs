//! Region statistics and profile report, server persistence and DS9 files.

use ch_regions::ds9::{Physical, SkyTransform};
use ch_regions::{Geometry, RegionSet};
use ch_wcs::Wcs;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::engine::with_engine;
use super::state::percent_encode;
use super::ui::Ui;
use super::vocab::{RegionReport, fmt_value};
use super::{dom, overlay};

thread_local! {
    /// Version of the saved region set this page last saw.
    static VERSION: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
    static SAVING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Recomputes the statistics (or line profile) of the selected region.
pub fn report(ui: Ui) {
    let Some(id) = ui.selected.get_untracked() else {
        ui.region_report.set(None);
        return;
    };
    let Some(region) = ui
        .regions
        .with_untracked(|s| s.regions.iter().find(|r| r.id == id).cloned())
    else {
        ui.region_report.set(None);
        return;
    };
    let t0 = dom::now_ms();
    let bunit = ui
        .layers
        .with_untracked(|l| l.first().map(|l| l.bunit.clone()).unwrap_or_default());
    let kind = serde_json::to_value(&region.geometry)
        .ok()
        .and_then(|v| v.get("shape").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut profile_svg = None;
    match &region.geometry {
        Geometry::Line { x1, y1, x2, y2 } => {
            let samples = with_engine(|e| {
                e.layers
                    .first()
                    .map(|l| ch_regions::image_profile(&l.image, *x1, *y1, *x2, *y2))
            })
            .flatten()
            .unwrap_or_default();
            rows.push(("length px".to_owned(), format!("{:.2}", (x2 - x1).hypot(y2 - y1))));
            rows.push(("samples".to_owned(), samples.len().to_string()));
            profile_svg = Some(profile_plot(&samples, &bunit));
        }
        Geometry::Point { x, y } => {
            let v = with_engine(|e| {
                e.layers
                    .first()
                    .and_then(|l| l.image.get(x.round() as usize, y.round() as usize))
            })
            .flatten();
            rows.push((
                "value".to_owned(),
                v.map_or("—".into(), |v| format!("{} {bunit}", fmt_value(f64::from(v)))),
            ));
        }
        g => {
            if let Some(s) = with_engine(|e| e.region_stats(g)).flatten() {
                let st = s.stats;
                let u = |v: f64| format!("{} {bunit}", fmt_value(v));
                rows.extend([
                    ("count".to_owned(), st.count.to_string()),
                    ("nan count".to_owned(), st.nan_count.to_string()),
                    ("min".to_owned(), u(st.min)),
                    ("max".to_owned(), u(st.max)),
                    ("mean".to_owned(), u(st.mean)),
                    ("median".to_owned(), u(st.median)),
                    ("std".to_owned(), u(st.std)),
                    ("rms".to_owned(), u(st.rms)),
                    ("sum".to_owned(), u(st.sum)),
                ]);
                rows.push((
                    "flux density".to_owned(),
                    match (s.flux.flux_jy, s.flux.reason) {
                        (Some(f), _) => format!("{} Jy", fmt_value(f)),
                        (None, reason) => reason.unwrap_or_else(|| "—".into()),
                    },
                ));
            }
        }
    }
    rows.push(("time ms".to_owned(), format!("{:.1}", dom::now_ms() - t0)));
    ui.region_report.set(Some(RegionReport {
        id: region.id,
        kind,
        rows,
        profile_svg,
    }));
}

/// The profile along a line as an SVG plot (plotters).
fn profile_plot(samples: &[ch_regions::ProfileSample], unit: &str) -> String {
    use plotters::prelude::*;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.value.map(|v| (s.distance, f64::from(v))))
        .collect();
    let mut svg = String::new();
    let draw = || -> Option<()> {
        let root = SVGBackend::with_string(&mut svg, (300, 180)).into_drawing_area();
        let _ = root.fill(&RGBColor(18, 24, 36));
        let xmax = samples.last().map_or(1.0, |s| s.distance).max(1.0);
        let (lo, hi) = points
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 1.0, lo + 1.0) };
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(24)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..xmax, lo..hi)
            .ok()?;
        let text = TextStyle::from(("sans-serif", 10).into_font()).color(&RGBColor(200, 210, 225));
        let _ = chart
            .configure_mesh()
            .x_desc("offset (px)")
            .y_desc(unit)
            .label_style(text.clone())
            .axis_desc_style(text)
            .light_line_style(RGBColor(40, 50, 66))
            .draw();
        let _ = chart.draw_series(LineSeries::new(points, &RGBColor(51, 255, 153)));
        root.present().ok()
    };
    draw();
    svg
}

fn image_key(ui: Ui) -> Option<String> {
    ui.layers
        .with_untracked(|l| l.first().map(|l| l.src.clone()))
        .filter(|s| !s.is_empty())
}

/// Loads the regions saved on the server for the first layer's image.
pub async fn load_regions(ui: Ui) {
    let Some(key) = image_key(ui) else {
        ui.regions.set(RegionSet::default());
        return;
    };
    match dom::fetch_bytes(&format!("/api/regions?image={}", percent_encode(&key))).await {
        Ok(bytes) => {
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            VERSION.with(|v| v.set(doc.get("version").and_then(|v| v.as_i64()).unwrap_or(0)));
            let set = doc
                .get("regions")
                .cloned()
                .and_then(|r| serde_json::from_value(serde_json::json!({ "regions": r })).ok())
                .unwrap_or_default();
            ui.regions.set(set);
            ui.regions_saved.set(String::new());
        }
        Err(e) => ui.regions_saved.set(format!("regions not loaded: {e}")),
    }
}

/// Saves the regions for the first layer's image (optimistic version check on the server).
/// Saves are serialised: edits made while one is in flight are sent when it returns, so a quick
/// sequence of edits never races itself into a version conflict.
pub fn save(ui: Ui) {
    let Some(key) = image_key(ui) else {
        ui.regions_saved.set("local file: regions are not saved".into());
        return;
    };
    if SAVING.with(|s| s.replace(true)) {
        PENDING.with(|p| p.set(true));
        return;
    }
    spawn_local(async move {
        loop {
            PENDING.with(|p| p.set(false));
            let regions = ui.regions.get_untracked();
            let body = serde_json::json!({ "regions": regions.regions, "version": VERSION.with(|v| v.get()) });
            let url = format!("/api/regions?image={}", percent_encode(&key));
            match dom::send_json("PUT", &url, &body.to_string()).await {
                Ok(doc) => {
                    VERSION.with(|v| v.set(doc.get("version").and_then(|v| v.as_i64()).unwrap_or(0)));
                    ui.regions_saved
                        .set(format!("{} region(s) saved", regions.regions.len()));
                }
                Err(e) => {
                    ui.regions_saved.set(format!("not saved: {e}"));
                    break;
                }
            }
            if !PENDING.with(|p| p.get()) {
                break;
            }
        }
        SAVING.with(|s| s.set(false));
    });
}

/// Runs `f` with the first layer's sky transform (in the image's own reference frame: DS9
/// regions in other frames are converted to it) and IRAF physical coordinates.
fn with_sky<R>(f: impl FnOnce(Option<&SkyTransform<'_>>, Option<&Physical>) -> R) -> R {
    let (wcs, physical): (Option<Wcs>, Option<Physical>) = with_engine(|e| {
        e.layers.first().map_or((None, None), |l| {
            (l.wcs.clone(), Physical::from_keywords(|k| l.header.get_f64(k)))
        })
    })
    .unwrap_or((None, None));
    ch_regions::ds9::with_wcs(wcs.as_ref(), |sky| f(sky, physical.as_ref()))
}

pub fn import_ds9(ui: Ui, ev: leptos::ev::Event) {
    let Some((input, file)) = dom::chosen_file(&ev) else {
        return;
    };
    spawn_local(async move {
        let text = dom::read_file(&file)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        input.set_value("");
        match text.and_then(|t| {
            with_sky(|sky, physical| ch_regions::ds9::import(&t, sky, physical)).map_err(|e| e.to_string())
        }) {
            Ok(import) => {
                ui.regions.set(import.set);
                ui.selected.set(None);
                ui.region_report.set(None);
                save(ui);
                overlay::draw(ui);
                let lines: Vec<String> = import
                    .skipped
                    .iter()
                    .map(|s| format!("line {}: {}", s.line, s.message))
                    .collect();
                ui.regions_import.set(if lines.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{}: {} region(s) not placed — {}",
                        file.name(),
                        lines.len(),
                        lines.join("; ")
                    )
                });
            }
            Err(e) => ui.regions_saved.set(format!("{}: {e}", file.name())),
        }
    });
}

/// Downloads the regions as a DS9 file (sky coordinates when the image has a WCS).
pub fn export_ds9(ui: Ui) {
    let set = ui.regions.get_untracked();
    let text = with_sky(|sky, _| ch_regions::ds9::write(&set, sky));
    let href = format!("data:text/plain;charset=utf-8,{}", percent_encode(&text));
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(a) = doc.create_element("a") {
        let _ = a.set_attribute("href", &href);
        let _ = a.set_attribute("download", "regions.reg");
        if let Some(a) = a.dyn_ref::<web_sys::HtmlElement>() {
            a.click();
        }
    }
}

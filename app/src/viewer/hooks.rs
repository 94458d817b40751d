//! `window.__chViewer`: the entry points the Chromium tests and the browser benchmark use —
//! pixel read-back, state, loading bytes, settings, frame timing and region-statistics timing.

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;

use super::engine::{LoadRequest, with_engine};
use super::state::LayerSettings;
use super::ui::Ui;
use super::{dom, web};

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn json(value: &serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

fn info() -> serde_json::Value {
    with_engine(|e| {
        serde_json::json!({
            "backend": e.gpu.backend,
            "max_texture": e.gpu.max_texture,
            "tiles": e.gpu.tile_count(),
            "canvas": e.gpu.size(),
            "pipelines": e.gpu.pipeline_count(),
            "view_level": e.gpu.level_for(e.camera.zoom),
            "resident_level": e.gpu.resident_level(),
            "camera": { "centre": e.camera.centre, "zoom": e.camera.zoom },
            "timings": e.timings.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "layers": e.layers.iter().map(|l| serde_json::json!({
                "name": l.name, "src": l.src, "width": l.image.width, "height": l.image.height,
                "planes": l.planes, "plane": l.plane, "limits": [l.limits.0, l.limits.1],
                "reprojected": l.reprojected, "settings": l.settings,
            })).collect::<Vec<_>>(),
        })
    })
    .unwrap_or(serde_json::Value::Null)
}

fn p95(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.95))
}

pub fn install(ui: Ui) {
    let hooks = Object::new();
    let read = Closure::<dyn Fn() -> Promise>::new(|| {
        future_to_promise(async {
            // The engine stays borrowed only while encoding; the read-back itself awaits.
            // Full resolution: what is still queued is written first.
            with_engine(|e| e.finish_uploads());
            let engine = super::engine::take().ok_or_else(|| JsValue::from_str("viewer not running"))?;
            let result = engine.read_back_native().await;
            super::engine::install(engine);
            let (w, h, data) = result.map_err(|e| JsValue::from_str(&e))?;
            let out = Object::new();
            set(&out, "width", &w.into());
            set(&out, "height", &h.into());
            set(&out, "data", &Uint8Array::from(data.as_slice()).into());
            Ok(out.into())
        })
    });
    set(&hooks, "readNative", read.as_ref());
    read.forget();

    let reference = Closure::<dyn Fn() -> JsValue>::new(|| match with_engine(|e| e.cpu_reference()) {
        Some(Ok(px)) => Uint8Array::from(px.as_slice()).into(),
        Some(Err(e)) => JsValue::from_str(&e),
        None => JsValue::from_str("viewer not running"),
    });
    set(&hooks, "cpuReference", reference.as_ref());
    reference.forget();

    let info_fn = Closure::<dyn Fn() -> JsValue>::new(|| json(&info()));
    set(&hooks, "info", info_fn.as_ref());
    info_fn.forget();

    let load = Closure::<dyn Fn(Uint8Array, String, bool) -> JsValue>::new(
        move |bytes: Uint8Array, name: String, replace: bool| match web::load_bytes(
            ui,
            LoadRequest::local(name, bytes.to_vec(), replace),
        ) {
            Ok(()) => JsValue::NULL,
            Err(e) => JsValue::from_str(&e),
        },
    );
    set(&hooks, "loadBytes", load.as_ref());
    load.forget();

    let settings =
        Closure::<dyn Fn(usize, String) -> JsValue>::new(
            move |index: usize, text: String| match serde_json::from_str::<LayerSettings>(&text) {
                Ok(s) => {
                    web::set_settings(ui, index, s);
                    JsValue::NULL
                }
                Err(e) => JsValue::from_str(&e.to_string()),
            },
        );
    set(&hooks, "setSettings", settings.as_ref());
    settings.forget();

    // Frame timing of re-stretches: every animation frame changes the colormap or scale (a
    // uniform update + draw); the interval between frames is what a user sees. With `finish` (a
    // function that waits for the GPU, e.g. a 1-pixel `readPixels`) it also times each change
    // up to the GPU's completion: the frame's cost without the display's vsync rounding. With
    // `generic` true it draws with the one unspecialised pipeline (the baseline).
    let bench = Closure::<dyn Fn(u32, JsValue, JsValue) -> Promise>::new(
        move |n: u32, finish: JsValue, generic: JsValue| {
            let generic = generic.is_truthy();
            let finish = finish.dyn_into::<js_sys::Function>().ok();
            future_to_promise(async move {
                with_engine(|e| e.gpu.specialise = !generic);
                let maps = ch_render::Colormap::ALL;
                let scales = [
                    ch_render::Scale::Linear,
                    ch_render::Scale::Log,
                    ch_render::Scale::Sqrt,
                    ch_render::Scale::Asinh,
                ];
                let base = with_engine(|e| e.layers.first().map(|l| l.settings.clone()))
                    .flatten()
                    .ok_or_else(|| JsValue::from_str("no image"))?;
                let mut times = Vec::new();
                let mut work = Vec::new();
                let mut cost = Vec::new();
                let mut last = dom::next_frame().await;
                for i in 0..n as usize {
                    let mut s = base.clone();
                    s.render.colormap = maps[i % maps.len()];
                    s.render.scale = scales[i % scales.len()];
                    let t0 = dom::now_ms();
                    with_engine(|e| e.set_settings(0, s));
                    work.push(dom::now_ms() - t0);
                    if let Some(f) = &finish {
                        f.call0(&JsValue::NULL)?;
                        cost.push(dom::now_ms() - t0);
                    }
                    let now = dom::next_frame().await;
                    times.push(now - last);
                    last = now;
                }
                with_engine(|e| {
                    e.gpu.specialise = true;
                    e.set_settings(0, base);
                });
                let (p50, p95v) = p95(times);
                let (w50, w95) = p95(work);
                let mut out = serde_json::json!({ "frames": n, "frame_p50_ms": p50, "frame_p95_ms": p95v, "cpu_p50_ms": w50, "cpu_p95_ms": w95 });
                if !cost.is_empty() {
                    let (c50, c95) = p95(cost);
                    out["cost_p50_ms"] = c50.into();
                    out["cost_p95_ms"] = c95.into();
                }
                Ok(json(&out))
            })
        },
    );
    set(&hooks, "frameBench", bench.as_ref());
    bench.forget();

    // Draw (and read back) with the specialised pipelines (true, the default) or the generic one.
    let specialise = Closure::<dyn Fn(bool)>::new(|on: bool| {
        with_engine(|e| {
            e.gpu.specialise = on;
            e.render();
        });
    });
    set(&hooks, "specialise", specialise.as_ref());
    specialise.forget();

    // Upload only what the view reads before the first frame (true, the default), or every
    // resolution level first (the baseline).
    let progressive = Closure::<dyn Fn(bool)>::new(|on: bool| {
        with_engine(|e| e.progressive = on);
    });
    set(&hooks, "progressive", progressive.as_ref());
    progressive.forget();

    let region = Closure::<dyn Fn(String) -> JsValue>::new(move |text: String| {
        let Ok(g) = serde_json::from_str::<ch_regions::Geometry>(&text) else {
            return JsValue::from_str("bad geometry");
        };
        let t0 = dom::now_ms();
        let stats = with_engine(|e| e.region_stats(&g)).flatten();
        let ms = dom::now_ms() - t0;
        json(&serde_json::json!({ "ms": ms, "stats": stats }))
    });
    set(&hooks, "regionStats", region.as_ref());
    region.forget();

    set(&hooks, "ready", &JsValue::TRUE);
    if let Some(w) = web_sys::window() {
        let _ = Reflect::set(&w, &JsValue::from_str("__chViewer"), &hooks);
    }
}

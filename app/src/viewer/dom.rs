//! Small browser helpers for the viewer (hydrate only): timers, fetching bytes, URL fragment.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::api::UiError;

pub use crate::timer::sleep_ms;

/// Waits for the next animation frame; resolves with its timestamp.
pub async fn next_frame() -> f64 {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(&resolve);
        }
    });
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or_else(now_ms)
}

/// Resolves once the frame being prepared has been shown: after the next animation frame and a
/// zero timeout, so work started then does not delay that frame.
pub async fn after_frame_shown() {
    next_frame().await;
    sleep_ms(0).await;
}

/// Milliseconds since page load (`performance.now()`).
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

fn js_error(e: wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// GETs `url` and returns the body, or a message naming the HTTP status (and the server's JSON
/// error message when it sent one).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("could not fetch {url}: {}", js_error(e)))?;
    let response: web_sys::Response = response.dyn_into().map_err(js_error)?;
    let buffer = JsFuture::from(response.array_buffer().map_err(js_error)?)
        .await
        .map_err(js_error)?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    if !response.ok() {
        let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| response.status_text());
        return Err(format!("{url}: HTTP {} {detail}", response.status()));
    }
    Ok(bytes)
}

/// Sends `body` as JSON with `method` and returns the parsed JSON answer. Errors take the
/// server functions' path ([`UiError`]): the API's error shape decodes as the server named it,
/// a request that got no answer is [`UiError::Unreachable`].
pub async fn send_json(method: &str, url: &str, body: &str) -> Result<serde_json::Value, UiError> {
    let message = |e| UiError::Message(js_error(e));
    let window = web_sys::window().ok_or_else(|| UiError::Message("no window".into()))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_body(&wasm_bindgen::JsValue::from_str(body));
    let headers = web_sys::Headers::new().map_err(message)?;
    headers.set("content-type", "application/json").map_err(message)?;
    init.set_headers(&headers);
    // `fetch` rejects only when no answer came.
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| UiError::Unreachable(js_error(e)))?;
    let response: web_sys::Response = response.dyn_into().map_err(message)?;
    let text = JsFuture::from(response.text().map_err(message)?)
        .await
        .map_err(|e| UiError::Unreachable(js_error(e)))?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        let status = response.status();
        return Err(serde_json::from_str::<UiError>(&text)
            .unwrap_or_else(|_| UiError::Message(format!("HTTP {status} {}", response.status_text()))));
    }
    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

/// The `<input type=file>` an event came from and the file chosen in it.
pub fn chosen_file(ev: &web_sys::Event) -> Option<(web_sys::HtmlInputElement, web_sys::File)> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let file = input.files()?.get(0)?;
    Some((input, file))
}

/// Reads a user-chosen file into memory.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(js_error)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

pub fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

pub fn location_search_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(key)
}

/// Replaces the URL fragment without adding a history entry.
pub fn replace_hash(fragment: &str) {
    let Some(w) = web_sys::window() else { return };
    let (Ok(path), Ok(search)) = (w.location().pathname(), w.location().search()) else {
        return;
    };
    if let Ok(history) = w.history() {
        let url = format!("{path}{search}#{fragment}");
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

pub fn device_pixel_ratio() -> f64 {
    web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(0.5, 4.0)
}

//! A browser timer for whatever waits in the page (retries, the viewer's pauses). A leaf: it
//! imports nothing of the crate.

use wasm_bindgen_futures::JsFuture;

/// Resolves after `ms` milliseconds, letting the browser run in between (`setTimeout`).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

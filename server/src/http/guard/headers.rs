//! The security headers of every response.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Content-Security-Policy of every response: same-origin everything; WebAssembly may
/// compile (`wasm-unsafe-eval`); inline scripts only with this response's nonce (the
/// hydration bootstrap carries it); inline styles (components set `style` attributes); blobs
/// and data URLs for local files, thumbnails and workers; no framing, no plugins.
pub fn csp(nonce: Option<&str>) -> String {
    let scripts = nonce.map_or_else(String::new, |n| format!(" 'nonce-{n}'"));
    format!(
        "default-src 'self'; script-src 'self'{scripts} 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The CSP nonce of a page request, for the server-side renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

/// Sets the security headers on `res`; `nonce` is the page's script nonce.
pub(super) fn security_headers(res: &mut Response, nonce: Option<&str>) {
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp(nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scripts_run_only_with_the_pages_nonce() {
        assert!(super::csp(Some("abc")).contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(!super::csp(None).contains("nonce"));
        assert!(super::csp(None).contains("frame-ancestors 'none'"));
    }
}

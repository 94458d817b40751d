//! The site's static files: the browser bundle is served precompressed when the client accepts
//! it, as is otherwise.

use crate::common::{Db, TestApp};

#[tokio::test]
async fn the_bundle_is_served_precompressed_when_the_client_accepts_it() {
    let site = tempfile::tempdir().expect("tempdir");
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    std::fs::write(pkg.join("app.wasm"), b"\0asm plain").expect("wasm");
    std::fs::write(pkg.join("app.wasm.br"), b"brotli bytes").expect("br");
    std::fs::write(pkg.join("app.wasm.gz"), b"gzip bytes").expect("gz");
    std::fs::write(pkg.join("only.css"), b"body {}").expect("css");
    let leptos_toml = site.path().join("Leptos.toml");
    let conf = format!(
        "[package.metadata.leptos]\noutput-name = \"app\"\nsite-root = \"{}\"\nsite-pkg-dir = \"pkg\"\n",
        site.path().display()
    );
    std::fs::write(&leptos_toml, conf).expect("Leptos.toml");
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.leptos_toml = leptos_toml).await else {
        return;
    };
    let get = |path: &'static str, accept: Option<&'static str>| {
        let mut req = app.client.get(app.url(path));
        if let Some(a) = accept {
            req = req.header("accept-encoding", a);
        }
        async move {
            let res = req.send().await.expect("request");
            let header = |name: &str| {
                res.headers()
                    .get(name)
                    .map(|v| v.to_str().expect("ascii header").to_owned())
            };
            let (status, encoding, vary, kind) = (
                res.status().as_u16(),
                header("content-encoding"),
                header("vary"),
                header("content-type"),
            );
            (status, encoding, vary, kind, res.bytes().await.expect("body").to_vec())
        }
    };
    let (status, encoding, vary, kind, body) = get("/pkg/app.wasm", Some("gzip, deflate, br")).await;
    assert_eq!(status, 200);
    assert_eq!(encoding.as_deref(), Some("br"));
    assert_eq!(body, b"brotli bytes");
    assert_eq!(kind.as_deref(), Some("application/wasm"));
    assert!(vary.is_some_and(|v| v.contains("accept-encoding")));
    let (_, encoding, _, _, body) = get("/pkg/app.wasm", Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(body, b"gzip bytes");
    let (_, encoding, _, _, body) = get("/pkg/app.wasm", None).await;
    assert_eq!(encoding, None);
    assert_eq!(body, b"\0asm plain");
    // A file without compressed copies is served as it is to a client that accepts Brotli.
    let (status, encoding, _, _, body) = get("/pkg/only.css", Some("br")).await;
    assert_eq!((status, encoding), (200, None));
    assert_eq!(body, b"body {}");
    app.stop().await;
}

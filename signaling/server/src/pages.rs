//! The web client, embedded in the binary.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../admin-ui/"]
struct Ui;

pub async fn index() -> Response {
    file("index.html")
}

pub async fn setup() -> Response {
    file("setup.html")
}

pub async fn login() -> Response {
    file("login.html")
}

pub async fn join() -> Response {
    file("join.html")
}

pub async fn asset(Path(path): Path<String>) -> Response {
    file(&path)
}

fn file(path: &str) -> Response {
    match Ui::get(path) {
        Some(content) => {
            let mime = content.metadata.mimetype().to_owned();
            (
                [(CONTENT_TYPE, mime), (CACHE_CONTROL, "no-cache".to_owned())],
                content.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

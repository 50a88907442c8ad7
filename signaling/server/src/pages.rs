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

/// A meeting's page for staff (`/meeting?id=m_...`; the id is opaque, never a token).
pub async fn meeting() -> Response {
    file("meeting.html")
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

/// A page of its own for a login that ends badly: what happened, in Swedish and English, and
/// the way back. `detail` is shown escaped.
pub fn message_page(
    status: StatusCode,
    sv: (&str, &str),
    en: (&str, &str),
    back: &str,
    detail: Option<&str>,
) -> Response {
    let detail = detail
        .map(|d| format!("<p class=\"muted\"><code>{}</code></p>", escape(d)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sluss</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body>\
         <header class=\"bar\"><h1>Sluss</h1></header><main class=\"page\">\
         <section class=\"card\" id=\"refusal\"><h2>{}</h2><p>{}</p>\
         <h2 lang=\"en\">{}</h2><p lang=\"en\">{}</p>{detail}\
         <p><a href=\"{}\">Tillbaka / Back</a></p></section></main></body></html>",
        escape(sv.0),
        escape(sv.1),
        escape(en.0),
        escape(en.1),
        escape(back),
    );
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        html,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

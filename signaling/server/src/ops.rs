//! The operations side: the listener for monitoring (`/metrics`, `/healthz`, `/readyz`), on
//! its own address and never on the public port, and the public port's access log.
//!
//! The access log names the route template (`/api/v1/meetings/{meeting_id}`), never the path
//! or the query: paths carry meeting ids and queries may carry a login's state. Link tokens
//! travel in the URL fragment, which no server sees.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

/// How long `/readyz` waits for the store.
const STORE_DEADLINE: Duration = Duration::from_secs(2);

/// The operations router: plain HTTP, meant for loopback or a monitoring network.
pub fn ops_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(phone) = state.registry.phone.as_ref() {
        state
            .metrics
            .sync_phone_queue_full(phone.stack().calls_refused_queue_full());
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&state.media),
    )
}

/// Ready for traffic: the store answers, every media worker runs, and we are not draining.
/// Otherwise 503 with what is wrong (for the person reading the probe's output).
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let mut problems = Vec::new();
    if *state.shutdown.borrow() {
        problems.push("draining: shutting down".to_owned());
    }
    let (running, workers) = (state.media.workers_running(), state.media.stats().len());
    if running < workers {
        problems.push(format!("{running} of {workers} media workers running"));
    }
    match tokio::time::timeout(STORE_DEADLINE, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("the store failed: {e}")),
        Err(_) => problems.push("the store did not answer within 2 s".to_owned()),
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", problems.join("; ")),
        )
    }
}

/// Where the innermost router that matched writes its route template for the access log.
#[derive(Clone, Default)]
pub(crate) struct RouteSlot(Arc<Mutex<Option<String>>>);

/// A route layer on every router: notes the template that matched.
pub(crate) async fn note_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.as_str().to_owned());
    }
    next.run(request).await
}

/// The outermost layer: times the request, logs one line, counts it in the histogram.
pub(crate) async fn access_log(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().clone();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let route = slot
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let code = status.to_string();
    state
        .metrics
        .http_seconds
        .with_label_values(&[route.as_str(), method_label(&method), code.as_str()])
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        target: "sluss::access",
        method = %method,
        route = %route,
        status,
        ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// A bounded set of label values: an unknown method is "other".
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

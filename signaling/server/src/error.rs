//! REST errors: a stable code and a safe message; details go to the log, never to the client.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_protocol::{ApiError, ErrorBody};

#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds, for `Retry-After` on a limited or busy answer.
    retry_after: Option<u64>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Adds `Retry-After` (whole seconds, at least one).
    pub fn retry_after(mut self, wait: Duration) -> HttpError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after = Some(secs.max(1));
        self
    }

    /// This address made too many requests of this kind.
    pub fn rate_limited(wait: Duration) -> HttpError {
        HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many attempts from your address. Wait a moment and try again.",
        )
        .retry_after(wait)
    }

    /// The server is saturated with work of this kind; try again soon.
    pub fn busy(wait: Duration) -> HttpError {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "The server is busy. Try again in a moment.",
        )
        .retry_after(wait)
    }

    pub fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> HttpError {
        HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", "Sign in first.")
    }

    pub fn internal(error: impl std::fmt::Display) -> HttpError {
        tracing::error!(%error, "request failed");
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on the server.",
        )
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ApiError {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::store::StoreError> for HttpError {
    fn from(e: crate::store::StoreError) -> Self {
        HttpError::internal(e)
    }
}

/// `Json<T>` whose rejections come back in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "Send JSON with Content-Type: application/json.",
            )),
            Err(JsonRejection::BytesRejection(_)) => Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.",
            )),
            Err(_) => Err(HttpError::bad_request(
                "The request body is not the expected JSON.",
            )),
        }
    }
}

//! The one HTTP error type: client faults become 4xx with a message, internal faults a
//! generic 5xx (the detail goes to the log, not to the client).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use thiserror::Error;
use tracing::error;

/// An error an endpoint returns.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The named resource (e.g. a queue) does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The credential is valid but the resource is outside its scope.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request cannot be served as asked; the message says why.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The server cannot serve this now (not ready, too many clients).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Something broke inside; logged with its detail.
    #[error("internal error")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(detail) => {
                error!(detail, "internal error serving a request");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

//! `/`: the built-in wallboard, one self-contained page fed by `/ws`.

use axum::response::Html;

const PAGE: &str = include_str!("wallboard/index.html");

pub(crate) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

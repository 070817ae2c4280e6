//! `/api-docs`: Swagger UI and the OpenAPI document, served by the function itself
//! (assets vendored from swagger-ui-dist, no CDN).

use crm_core::{AppState, Error};
use lambda_http::{Body, Request, Response, http::StatusCode, http::header};

use crate::{HandlerResult, http, openapi};

const BUNDLE_JS: &str = include_str!("../assets/swagger-ui/swagger-ui-bundle.js");
const UI_CSS: &str = include_str!("../assets/swagger-ui/swagger-ui.css");

/// A file, not an inline script, so the page's Content-Security-Policy allows no inline
/// script at all (see `headers`).
const INITIALIZER_JS: &str =
    "window.ui = SwaggerUIBundle({ url: \"/api-docs/openapi.json\", dom_id: \"#swagger-ui\" });\n";

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>SimpleCRM API</title>
  <link rel="stylesheet" href="/api-docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api-docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api-docs/assets/swagger-initializer.js"></script>
</body>
</html>
"##;

/// The one handler of the `docs` function: its three routes share one binary.
pub async fn serve(state: AppState, req: Request) -> HandlerResult {
    match req.uri().path().trim_end_matches('/') {
        "/api-docs" => ui(state, req).await,
        "/api-docs/openapi.json" => spec(state, req).await,
        _ => asset(state, req).await,
    }
}

/// Swagger UI.
#[utoipa::path(get, operation_id = "getDocsPage", path = "/api-docs", tag = "system", security(()), responses((status = 200, description = "Swagger UI", content_type = "text/html")))]
pub async fn ui(_state: AppState, _req: Request) -> HandlerResult {
    text(PAGE, "text/html; charset=utf-8", "no-cache")
}

/// This OpenAPI document.
#[utoipa::path(get, operation_id = "getOpenApiDocument", path = "/api-docs/openapi.json", tag = "system", security(()), responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub async fn spec(_state: AppState, _req: Request) -> HandlerResult {
    text(openapi::json(), "application/json", "no-cache")
}

/// The files `/api-docs/assets/{file}` serves (the document lists them, so a client or a
/// fuzzer knows the only names that exist).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only its schema is used
enum AssetFile {
    #[schema(rename = "swagger-ui-bundle.js")]
    Bundle,
    #[schema(rename = "swagger-ui.css")]
    Css,
    #[schema(rename = "swagger-initializer.js")]
    Initializer,
}

/// Swagger UI's script and stylesheet.
#[utoipa::path(get, operation_id = "getDocsAsset", path = "/api-docs/assets/{file}", tag = "system", security(()),
    params(("file" = inline(AssetFile), Path, description = "`swagger-ui-bundle.js`, `swagger-ui.css` or `swagger-initializer.js`")),
    responses((status = 200, description = "The asset"), (status = 404, description = "No such asset", body = crm_core::error::Problem, content_type = "application/problem+json")))]
pub async fn asset(_state: AppState, req: Request) -> HandlerResult {
    let file = http::path_param(&req, "file")?;
    // Versioned by the vendored release, so a day of caching is safe.
    match file.as_str() {
        "swagger-ui-bundle.js" => text(BUNDLE_JS, "text/javascript; charset=utf-8", "public, max-age=86400"),
        "swagger-ui.css" => text(UI_CSS, "text/css; charset=utf-8", "public, max-age=86400"),
        "swagger-initializer.js" => text(INITIALIZER_JS, "text/javascript; charset=utf-8", "no-cache"),
        _ => Err(Error::NotFound("asset")),
    }
}

fn text(body: &'static str, content_type: &str, cache: &str) -> HandlerResult {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .body(Body::Text(body.to_owned()))
        .map_err(|e| Error::Internal(format!("build response: {e}")))
}

//! GET /api-docs, /api-docs/openapi.json, /api-docs/assets/{file}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::docs::serve).await
}

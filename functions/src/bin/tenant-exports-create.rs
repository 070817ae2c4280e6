//! POST /api/v1/tenant/exports
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::tenancy::create_export).await
}

//! GET /api/v1/audit-log
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::audit::list).await
}

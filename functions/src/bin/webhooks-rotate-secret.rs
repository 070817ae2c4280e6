//! POST /api/v1/webhooks/{id}/rotate-secret
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::webhooks::rotate_secret).await
}

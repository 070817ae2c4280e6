//! POST /api/v1/auth/password/reset
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::auth::reset_password).await
}

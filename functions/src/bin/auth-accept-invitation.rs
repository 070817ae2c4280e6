//! POST /api/v1/auth/accept-invitation
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::auth::accept_invitation).await
}

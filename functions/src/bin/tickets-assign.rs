//! PATCH /api/v1/tickets/{id}/assign
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::tickets::assign).await
}

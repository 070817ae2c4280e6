//! POST /api/v1/tickets/{id}/comments
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::comments::create).await
}

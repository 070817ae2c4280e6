//! POST /api/v1/customers/{id}/erase
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::lambda::run(env!("CARGO_BIN_NAME"), crm_functions::customers::erase).await
}

//! SQS events queue → notifications (partial batch failures).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::pipeline::run_consumer().await
}

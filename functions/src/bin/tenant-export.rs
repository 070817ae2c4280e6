//! SQS export queue → one tenant export per message, JSON Lines to the blob store.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::pipeline::run_exporter().await
}

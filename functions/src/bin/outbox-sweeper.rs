//! Schedule → publishes outbox events left unpublished.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::pipeline::run_sweeper().await
}

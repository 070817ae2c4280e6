//! Applies pending SQL migrations (invoked by the deploy pipeline).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::migrate::run().await
}

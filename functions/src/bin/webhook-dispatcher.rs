//! SQS webhook queue → one signed POST per due delivery (partial batch failures).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::pipeline::run_dispatcher().await
}

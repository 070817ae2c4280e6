//! Schedule → records breached service levels and announces them.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    crm_functions::pipeline::run_sla_monitor().await
}

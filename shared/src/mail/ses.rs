//! SES (API v2) as the mail transport: in AWS with the function role's keys, locally
//! against moto or LocalStack (`SES_ENDPOINT_URL`).

use std::{sync::OnceLock, time::Duration};

use aws_sdk_sesv2::{
    Client, Config,
    config::{BehaviorVersion, SharedCredentialsProvider, retry::RetryConfig, timeout::TimeoutConfig},
    types::{Body, Content, Destination, EmailContent, Message},
};

use super::Mail;
use crate::{
    aws::{https_client, region_and_keys},
    error::Error,
};

pub(super) struct SesMailer {
    from: String,
    endpoint: Option<String>,
    client: OnceLock<Client>,
}

impl SesMailer {
    pub(super) fn new(from: &str, endpoint: Option<&str>) -> Self {
        Self { from: from.to_owned(), endpoint: endpoint.map(str::to_owned), client: OnceLock::new() }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::from_conf(config(self.endpoint.as_deref())))
    }

    pub(super) async fn send(&self, mail: &Mail) -> Result<(), Error> {
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| Error::Internal(format!("SES content: {e}")))
        };
        let message = Message::builder()
            .subject(text(&mail.subject)?)
            .body(Body::builder().text(text(&mail.text)?).build())
            .build();
        self.client()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("SES send: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e))))?;
        tracing::info!(subject = %mail.subject, "mail sent through SES");
        Ok(())
    }
}

/// A mail is sent inside the request that asked for it: a short, bounded wait.
fn config(endpoint: Option<&str>) -> Config {
    let (region, credentials) = region_and_keys(endpoint, |name| std::env::var(name).ok());
    let mut builder = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(3))
                .build(),
        )
        .region(region)
        .http_client(https_client());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.set_credentials_provider(credentials.map(SharedCredentialsProvider::new));
    builder.build()
}

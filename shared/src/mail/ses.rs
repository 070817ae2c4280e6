//! SES (API v2) as the mail transport: in AWS with the function role's keys, locally
//! against moto or LocalStack (`SES_ENDPOINT_URL`).

use std::{sync::OnceLock, time::Duration};

use aws_sdk_sesv2::{
    Client, Config,
    types::{Body, Content, Destination, EmailContent, Message},
};

use super::Mail;
use crate::{aws::client_config, error::Error};

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
    Config::from(&client_config(endpoint, |name| std::env::var(name).ok(), Duration::from_secs(3)))
}

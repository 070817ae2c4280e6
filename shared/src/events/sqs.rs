//! The events queue. The client is built on first use, once per container, from the
//! standard AWS environment (`AWS_ENDPOINT_URL` points it at LocalStack or moto locally).
//!
//! Built without `aws-config`: Lambda always hands a function its role's keys and region
//! in the environment, and the default provider chain's profile, SSO, STS, ECS and IMDS
//! providers (and the STS client they bring) only grew every function's zip.

use std::{sync::OnceLock, time::Duration};

use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::{
    Client, Config,
    config::{
        BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedHttpClient, retry::RetryConfig,
        timeout::TimeoutConfig,
    },
    types::{
        DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
        SendMessageBatchRequestEntry,
    },
};
use aws_smithy_http_client::{
    ConnectorBuilder,
    proxy::ProxyConfig,
    tls::{self, rustls_provider::CryptoMode},
};

use crate::{error::Error, events::OutboxEvent, ids::EventId};

/// SQS takes at most 10 messages per batch call.
const BATCH: usize = 10;

pub struct EventsQueue {
    url: String,
    /// `AWS_ENDPOINT_URL`: LocalStack or moto locally; unset in AWS.
    endpoint: Option<String>,
    client: OnceLock<Client>,
}

impl EventsQueue {
    pub fn new(url: impl Into<String>, endpoint: Option<String>) -> Self {
        Self { url: url.into(), endpoint, client: OnceLock::new() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::from_conf(config(self.endpoint.as_deref(), |name| std::env::var(name).ok())))
    }

    /// Sends the events, ten per call, with their id, type and tenant as message
    /// attributes. Answers the ids SQS accepted; the rest stay in the outbox for the sweeper.
    pub async fn send(&self, events: &[OutboxEvent]) -> Result<Vec<EventId>, Error> {
        let client = self.client();
        let mut sent = Vec::with_capacity(events.len());
        for chunk in events.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, event) in chunk.iter().enumerate() {
                entries.push(entry(i, event)?);
            }
            let output =
                client.send_message_batch().queue_url(&self.url).set_entries(Some(entries)).send().await.map_err(
                    |e| Error::Unavailable(format!("SQS send: {}", aws_sdk_sqs::error::DisplayErrorContext(&e))),
                )?;
            for ok in output.successful() {
                if let Some(event) = ok.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    sent.push(event.id);
                }
            }
            for failed in output.failed() {
                tracing::warn!(
                    entry = failed.id(),
                    code = failed.code(),
                    "SQS refused an event; the sweeper will retry it"
                );
            }
        }
        Ok(sent)
    }

    /// Long-polls up to ten messages and shapes them as the event source mapping hands
    /// them to a function (`crm-local`'s stand-in for it).
    pub async fn receive(&self, wait_seconds: i32) -> Result<Vec<SqsMessage>, Error> {
        let output = self
            .client()
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(BATCH as i32)
            .wait_time_seconds(wait_seconds)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("SQS receive: {}", aws_sdk_sqs::error::DisplayErrorContext(&e))))?;
        Ok(output.messages.unwrap_or_default().iter().map(as_lambda_record).collect())
    }

    /// Deletes processed messages by receipt handle.
    pub async fn delete(&self, receipts: &[String]) -> Result<(), Error> {
        for chunk in receipts.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, receipt) in chunk.iter().enumerate() {
                entries.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .map_err(|e| Error::Internal(format!("SQS delete entry: {e}")))?,
                );
            }
            self.client().delete_message_batch().queue_url(&self.url).set_entries(Some(entries)).send().await.map_err(
                |e| Error::Unavailable(format!("SQS delete: {}", aws_sdk_sqs::error::DisplayErrorContext(&e))),
            )?;
        }
        Ok(())
    }
}

/// The client's configuration: the environment's region and keys, and short waits.
fn config(endpoint: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Config {
    let (region, credentials) = region_and_keys(endpoint, var);
    // A request never waits long on a queue outage: the event is safe in the outbox and
    // the sweeper sends it later.
    let mut builder = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(5))
                .build(),
        )
        .region(region)
        .http_client(https_client());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    // No keys at all (never in Lambda): every call fails as the queue being unavailable,
    // and the events wait in the outbox.
    builder.set_credentials_provider(credentials.map(SharedCredentialsProvider::new));
    builder.build()
}

/// The SDK's default HTTPS client, over ring instead of aws-lc: one crypto library in the
/// binary, shared with PostgreSQL's TLS. Built as aws-smithy-runtime builds its default
/// (same connector settings, sleep and proxy variables); smithy restricts the cipher suites
/// the same way for both, and SQS does not need aws-lc's post-quantum key exchange.
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The region and keys from the variables Lambda sets (`var` reads one). They are fixed
/// for the life of the execution environment, so reading them once per container sees
/// what a provider reading them on every call would.
fn region_and_keys(
    endpoint: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> (Option<Region>, Option<Credentials>) {
    let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let mut region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let mut credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(key), Some(secret)) => Some(Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment")),
        _ => None,
    };
    if endpoint.is_some() {
        // Local endpoints check no signature: fill in what a laptop lacks.
        region = region.or_else(|| Some("us-east-1".to_owned()));
        credentials = credentials.or_else(|| Some(Credentials::new("test", "test", None, None, "local-endpoint")));
    }
    (region.map(Region::new), credentials)
}

fn as_lambda_record(message: &Message) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id.clone();
    record.receipt_handle = message.receipt_handle.clone();
    record.body = message.body.clone();
    record.md5_of_body = message.md5_of_body.clone();
    record.event_source = Some("aws:sqs".to_owned());
    if let Some(attributes) = &message.attributes {
        record.attributes = attributes.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect();
    }
    if let Some(attributes) = &message.message_attributes {
        for (name, value) in attributes {
            let mut attribute = SqsMessageAttribute::default();
            attribute.string_value = value.string_value.clone();
            attribute.data_type = Some(value.data_type.clone());
            record.message_attributes.insert(name.clone(), attribute);
        }
    }
    record
}

fn entry(index: usize, event: &OutboxEvent) -> Result<SendMessageBatchRequestEntry, Error> {
    let attribute = |value: String| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| Error::Internal(format!("SQS attribute: {e}")))
    };
    SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(event.payload.to_string())
        .message_attributes("eventId", attribute(event.id.to_string())?)
        .message_attributes("eventType", attribute(event.event_type.clone())?)
        .message_attributes("tenantId", attribute(event.tenant_id.to_string())?)
        .build()
        .map_err(|e| Error::Internal(format!("SQS entry: {e}")))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn keys(credentials: Option<Credentials>) -> Option<(String, String, Option<String>)> {
        credentials.map(|c| {
            (c.access_key_id().to_owned(), c.secret_access_key().to_owned(), c.session_token().map(str::to_owned))
        })
    }

    #[test]
    fn in_lambda_the_role_keys_and_region_come_from_the_environment() {
        let (region, credentials) = region_and_keys(
            None,
            lookup(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
                ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_SESSION_TOKEN", "token"),
            ]),
        );
        assert_eq!(region, Some(Region::new("eu-west-1")));
        assert_eq!(keys(credentials), Some(("ASIAEXAMPLE".into(), "secret".into(), Some("token".into()))));
    }

    #[test]
    fn a_local_endpoint_gets_a_region_and_placeholder_keys() {
        let (region, credentials) = region_and_keys(Some("http://127.0.0.1:4566"), lookup(&[]));
        assert_eq!(region, Some(Region::new("us-east-1")));
        assert_eq!(keys(credentials), Some(("test".into(), "test".into(), None)));

        let (region, credentials) = region_and_keys(
            Some("http://127.0.0.1:4566"),
            lookup(&[
                ("AWS_DEFAULT_REGION", "eu-central-1"),
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "b"),
            ]),
        );
        assert_eq!(region, Some(Region::new("eu-central-1")));
        assert_eq!(keys(credentials), Some(("a".into(), "b".into(), None)));
    }

    #[test]
    fn without_keys_in_aws_there_is_nothing_to_sign_with() {
        let (_, credentials) = region_and_keys(
            None,
            lookup(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", " ")]),
        );
        assert_eq!(credentials, None);
    }

    #[test]
    fn a_queue_outage_costs_a_request_at_most_two_short_attempts() {
        let config = config(None, lookup(&[]));
        assert_eq!(config.retry_config().map(RetryConfig::max_attempts), Some(2));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(Duration::from_secs(5)));
    }
}

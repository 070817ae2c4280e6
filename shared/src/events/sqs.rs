//! The events queue. The client is built on first use, once per container, from the
//! standard AWS environment (`AWS_ENDPOINT_URL` points it at LocalStack or moto locally).
//!
//! Built without `aws-config`: Lambda always hands a function its role's keys and region
//! in the environment, and the default provider chain's profile, SSO, STS, ECS and IMDS
//! providers (and the STS client they bring) only grew every function's zip.

use std::{sync::OnceLock, time::Duration};

use crate::{aws::client_config, error::Error, events::OutboxEvent, ids::EventId};
use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::{
    Client, Config,
    config::{retry::RetryConfig, timeout::TimeoutConfig},
    types::{
        ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageAttributeValue,
        MessageSystemAttributeName, SendMessageBatchRequestEntry,
    },
};

/// SQS takes at most 10 messages per batch call.
pub const BATCH: usize = 10;
/// The whole of one send call, connection and answer included, in one attempt. A send
/// follows a committed write inside the request (or the sweeper's run): a slow queue must
/// never push that past the function's timeout, where the client would see an error for a
/// write that happened and retry it. Whatever is not sent waits in the outbox for the
/// sweeper.
const SEND_BUDGET: Duration = Duration::from_secs(2);
/// The longest SQS lets a received message stay hidden.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);
/// The longest delay SQS puts on a message.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

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
        let mut sent = Vec::with_capacity(events.len());
        for chunk in events.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, event) in chunk.iter().enumerate() {
                entries.push(entry(i, event)?);
            }
            let output = self.send_batch(entries).await?;
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

    /// One batch, one attempt within [`SEND_BUDGET`]: a send is made inside a request or a
    /// sweep, and what fails is sent again later.
    async fn send_batch(
        &self,
        entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput, Error> {
        self.client()
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .customize()
            .config_override(
                Config::builder()
                    .retry_config(RetryConfig::standard().with_max_attempts(1))
                    .timeout_config(TimeoutConfig::builder().operation_timeout(SEND_BUDGET).build()),
            )
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("SQS send: {}", aws_sdk_sqs::error::DisplayErrorContext(&e))))
    }

    /// Sends plain message bodies, each hidden for its delay (SQS allows at most 15
    /// minutes); answers how many SQS accepted. As [`EventsQueue::send`], one short attempt.
    pub async fn send_messages(&self, messages: &[(String, Duration)]) -> Result<usize, Error> {
        let mut accepted = 0;
        for chunk in messages.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, (body, delay)) in chunk.iter().enumerate() {
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .delay_seconds(delay.as_secs().min(MAX_DELAY.as_secs()) as i32)
                        .build()
                        .map_err(|e| Error::Internal(format!("SQS entry: {e}")))?,
                );
            }
            let output = self.send_batch(entries).await?;
            accepted += output.successful().len();
            for failed in output.failed() {
                tracing::warn!(entry = failed.id(), code = failed.code(), "SQS refused a message");
            }
        }
        Ok(accepted)
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

    /// Hides received messages for the given time each, counted from now (at most 12 h,
    /// SQS's limit): a retry later than the queue's visibility timeout would bring it.
    pub async fn hide(&self, messages: &[(String, Duration)]) -> Result<(), Error> {
        for chunk in messages.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, (receipt, hidden)) in chunk.iter().enumerate() {
                let seconds = hidden.as_secs().min(MAX_VISIBILITY.as_secs()) as i32;
                entries.push(
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .visibility_timeout(seconds)
                        .build()
                        .map_err(|e| Error::Internal(format!("SQS visibility entry: {e}")))?,
                );
            }
            let output = self
                .client()
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    Error::Unavailable(format!(
                        "SQS change visibility: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    ))
                })?;
            for failed in output.failed() {
                tracing::warn!(entry = failed.id(), code = failed.code(), "SQS kept a message's visibility");
            }
        }
        Ok(())
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

/// The client's configuration. A request never waits long on a queue outage: the event is
/// safe in the outbox and the sweeper sends it later.
fn config(endpoint: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Config {
    Config::from(&client_config(endpoint, var, Duration::from_secs(5)))
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

    #[test]
    fn a_queue_outage_costs_a_request_at_most_two_short_attempts() {
        let config = config(None, lookup(&[]));
        assert_eq!(config.retry_config().map(RetryConfig::max_attempts), Some(2));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(Duration::from_secs(5)));
    }
}

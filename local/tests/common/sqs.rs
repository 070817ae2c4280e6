//! A real SQS endpoint for the pipeline tests: moto's server (scripts/local-sqs), a new
//! queue and dead-letter queue per test so tests run in parallel.
#![allow(dead_code)]

use std::{path::Path, process::Command, time::Duration};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::{Client, config::Credentials, types::QueueAttributeName};

pub const DEFAULT_PORT: u16 = 4566;

pub fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Starts moto on `port` unless something answers there (the script is idempotent).
pub fn ensure_endpoint(port: u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-sqs");
    let out =
        Command::new("bash").arg(&script).env("SQS_PORT", port.to_string()).output().expect("run scripts/local-sqs");
    assert!(out.status.success(), "scripts/local-sqs failed: {}", String::from_utf8_lossy(&out.stderr));
}

pub fn stop_endpoint(port: u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-sqs");
    let _ = Command::new("bash").arg(&script).arg("stop").env("SQS_PORT", port.to_string()).status();
}

pub async fn client(port: u16) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint(port))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    Client::new(&config)
}

pub struct TestQueue {
    pub client: Client,
    pub url: String,
    pub dlq_url: String,
}

impl TestQueue {
    /// A fresh queue with its own dead-letter queue.
    pub async fn create(port: u16, max_receive: u32, visibility_secs: u32) -> Self {
        Self::create_named(port, &format!("t-{}", uuid::Uuid::new_v4().simple()), max_receive, visibility_secs).await
    }

    /// The queues named `name` (again, after an endpoint restart lost them).
    pub async fn create_named(port: u16, name: &str, max_receive: u32, visibility_secs: u32) -> Self {
        ensure_endpoint(port);
        let client = client(port).await;
        let dlq_url = client.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive}"}}"#);
        let url = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::RedrivePolicy, redrive)
            .attributes(QueueAttributeName::VisibilityTimeout, visibility_secs.to_string())
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        Self { client, url, dlq_url }
    }

    pub async fn send(&self, body: &str) {
        self.client.send_message().queue_url(&self.url).message_body(body).send().await.unwrap();
    }

    pub async fn depth(&self, url: &str) -> i64 {
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let n = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    /// Receives whatever is in `url` now (for the dead-letter queue).
    pub async fn bodies(&self, url: &str) -> Vec<String> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        out.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect()
    }
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An SQS endpoint that accepts every connection and never says a word: a slow SQS, not
/// a refusing one.
pub async fn silent_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    endpoint(port)
}

/// An SQS endpoint that accepts the first `accepted` SendMessageBatch calls whole and
/// answers every later call with a 500, as an SQS that fails half-way through a run would.
/// Answers the AWS JSON 1.0 protocol the SDK speaks, over keep-alive connections.
pub async fn failing_after(accepted: usize) -> String {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let calls = calls.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        let mut chunk = [0u8; 8192];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buffer.len() < end + 4 + length {
                        let mut chunk = [0u8; 8192];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let request: serde_json::Value =
                        serde_json::from_slice(&buffer[end + 4..end + 4 + length]).unwrap_or_default();
                    buffer.drain(..end + 4 + length);
                    let (status, body) = if calls.fetch_add(1, Ordering::SeqCst) < accepted {
                        let ids = request["Entries"].as_array().cloned().unwrap_or_default();
                        let successful: Vec<serde_json::Value> = ids
                            .iter()
                            .map(|e| {
                                serde_json::json!({"Id": e["Id"], "MessageId": uuid::Uuid::new_v4().to_string(),
                                    "MD5OfMessageBody": "00000000000000000000000000000000"})
                            })
                            .collect();
                        ("200 OK", serde_json::json!({"Successful": successful, "Failed": []}))
                    } else {
                        (
                            "500 Internal Server Error",
                            serde_json::json!({"__type": "InternalFailure", "message": "injected"}),
                        )
                    };
                    let body = body.to_string();
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    endpoint(port)
}

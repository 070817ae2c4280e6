//! SES on moto's server (the same one scripts/local-sqs starts): the tests verify the
//! sender's identity, as the template's SES identity is in AWS, and read what was sent
//! from moto's state (`/moto-api/data.json`).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sesv2::config::Credentials;
use serde_json::Value;

pub async fn verify_identity(endpoint: &str, identity: &str) {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let client = aws_sdk_sesv2::Client::new(&config);
    client.create_email_identity().email_identity(identity).send().await.expect("create the SES identity");
}

/// The text of the newest mail SES accepted from `from` to `to` (waits up to 5 s).
pub async fn sent_text(endpoint: &str, from: &str, to: &str) -> String {
    let started = Instant::now();
    loop {
        let state: Value = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.unwrap().json().await.unwrap();
        let messages = state["ses"]["Message"].as_array().cloned().unwrap_or_default();
        let sent = messages.iter().rev().find(|m| {
            m["source"] == from
                && m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|t| t == to))
        });
        if let Some(text) = sent.and_then(|m| m["body"].as_str()) {
            return text.to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "SES recorded no mail from {from} to {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

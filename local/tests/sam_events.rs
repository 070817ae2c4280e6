//! Every file in `events/` (what developers hand to `sam local invoke`) fed, unchanged,
//! through the real Lambda event types into the function it is named for, over a fresh
//! database holding `events/seed.sql`, with `env.json`'s settings.

mod common;

use std::{collections::BTreeSet, path::PathBuf};

use aws_lambda_events::sqs::SqsEvent;
use common::sqs::{DEFAULT_PORT, TestQueue, endpoint};
use crm_core::{AppState, Config, db::testing::TestDb};
use crm_functions::{invoke::dispatch, migrate, pipeline, routes};
use lambda_http::Body;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::oneshot,
};

const SEEDED_TICKET: &str = "0195f000-0000-7000-8000-000000000006";
const SEEDED_EVENT: &str = "0195f000-0000-7000-8000-000000000007";
const SEEDED_TENANT: &str = "0195f000-0000-7000-8000-000000000001";
/// The tenant the seed's pending sign-up created (auth-verify-email).
const SIGNUP_TENANT: &str = "0195f000-0000-7000-8000-000000000010";
/// The seed's PENDING export, which events/tenant-export.json names.
const SEEDED_EXPORT: &str = "0195f000-0000-7000-8000-000000000019";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn event_text(function: &str) -> String {
    let path = root().join("events").join(format!("{function}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn env_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("env.json")).unwrap()).unwrap()
}

/// The functions: one binary each in functions/src/bin.
fn functions() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions/src/bin"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn event_files() -> BTreeSet<String> {
    std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// env.json's settings, pointed at this test's database, queue and blob directory.
async fn state(db: &TestDb, queue: &TestQueue, blob_dir: &std::path::Path) -> AppState {
    common::capture_logs();
    let env = env_json();
    let params = env["Parameters"].as_object().expect("env.json has Parameters").clone();
    let url = db.url.clone();
    let queue_url = queue.url.clone();
    let blob_dir = blob_dir.display().to_string();
    let config = Config::from_lookup(move |k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "SQS_QUEUE_URL" => Some(queue_url.clone()),
        "AWS_ENDPOINT_URL" => Some(endpoint(DEFAULT_PORT)),
        // Deliveries stay in the database (no queue, no dispatcher loop here), and the
        // create event's receiver is on this machine, as in local development.
        "WEBHOOK_QUEUE_URL" => None,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS" => Some("true".to_owned()),
        // Exports stay in the database until their event is handed to tenant-export below,
        // whose file goes to crm-local's own store (no bucket in env.json) in a directory
        // of this test's.
        "EXPORT_QUEUE_URL" => None,
        "BLOB_DIR" => Some(blob_dir.clone()),
        // The runtime-role URL is the Compose database's; here the owner serves both.
        "APP_DATABASE_URL" | "METRICS_NAMESPACE" => None,
        _ => params.get(k).and_then(|v| v.as_str()).map(str::to_owned),
    })
    .expect("env.json is a valid configuration");
    AppState::new(config, 2).unwrap()
}

async fn invoke_http(state: &AppState, function: &str) -> (u16, Value) {
    let text = event_text(function);
    let route_key = serde_json::from_str::<Value>(&text).unwrap()["routeKey"].as_str().unwrap().to_owned();
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("events/{function}.json is not an API Gateway event: {e}"));
    let table = routes::routes();
    let route = table.iter().find(|r| r.key() == route_key).unwrap_or_else(|| panic!("no route {route_key}"));
    assert_eq!(route.function, function, "events/{function}.json names another function's route");
    let response = dispatch(route.function, state.clone(), request, route.handler).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::String(t.clone())),
        _ => Value::Null,
    };
    (status, body)
}

/// A stand-in for CloudFormation's pre-signed S3 URL: takes one PUT and hands over its body.
async fn response_catcher() -> (String, oneshot::Receiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cloudformation-response", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            data.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&data).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let head = &text[..end];
                let length: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    let body = serde_json::from_slice(&data[end + 4..end + 4 + length]).unwrap();
                    let method = head.split(' ').next().unwrap_or_default().to_owned();
                    socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.unwrap();
                    let _ = tx.send((method, body));
                    return;
                }
            }
            if n == 0 {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn there_is_exactly_one_event_per_function() {
    assert_eq!(event_files(), functions(), "events/*.json must name the functions of functions/src/bin");
}

#[tokio::test]
async fn every_event_gets_a_sensible_answer_from_its_function() {
    let db = TestDb::create().await;
    db.connect().await.batch_execute(&std::fs::read_to_string(root().join("events/seed.sql")).unwrap()).await.unwrap();
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let blob_dir = std::env::temp_dir().join(format!("crm-sam-events-blobs-{}", uuid::Uuid::now_v7()));
    let state = state(&db, &queue, &blob_dir).await;

    // Reads first, then writes (the delete last of the customers), as a developer would.
    let expected: &[(&str, u16)] = &[
        ("health", 200),
        ("docs", 200),
        ("auth-me", 200),
        ("users-list", 200),
        ("users-get", 200),
        ("customers-list", 200),
        ("customers-get", 200),
        ("tickets-list", 200),
        ("tickets-get", 200),
        ("tickets-events", 200),
        ("comments-list", 200),
        ("attachments-list", 200),
        ("attachments-get", 200),
        // The seeded attachment was never uploaded.
        ("attachments-complete", 409),
        ("notifications-list", 200),
        ("events-list", 200),
        ("webhooks-list", 200),
        ("webhooks-deliveries", 200),
        ("stats", 200),
        ("sla-policy-get", 200),
        ("tags-list", 200),
        // The seeded export, not yet run.
        ("tenant-exports-get", 200),
        ("auth-register", 202),
        // The seed's pending sign-up: its tenant and admin appear, and the admin logs in.
        ("auth-verify-email", 200),
        ("auth-login", 200),
        ("auth-refresh", 200),
        ("auth-logout", 204),
        ("auth-password-forgot", 202),
        // Both end the seeded admin's sessions, so they follow refresh and logout.
        ("auth-password-change", 204),
        ("auth-password-reset", 204),
        ("users-invite", 201),
        ("auth-accept-invitation", 200),
        ("users-create", 201),
        ("users-update", 200),
        ("customers-create", 201),
        ("customers-update", 200),
        ("customers-delete", 204),
        // A customer of its own (the spare one is gone with the delete): 202, empty body.
        ("customers-erase", 202),
        ("tickets-create", 201),
        ("tickets-update", 200),
        ("tickets-status", 200),
        ("tickets-assign", 200),
        // Recomputes the open tickets' due dates: the seeded one, now URGENT, is overdue.
        ("sla-policy-put", 200),
        ("attachments-create", 201),
        ("attachments-delete", 204),
        // A new PENDING export, left to the queue (none here).
        ("tenant-exports-create", 202),
        ("webhooks-create", 201),
        ("webhooks-update", 200),
        ("webhooks-rotate-secret", 200),
        ("webhooks-test", 202),
        // After the writes, so the page has their entries (the seed wrote none).
        ("audit-log-list", 200),
    ];
    let mut answers = std::collections::HashMap::new();
    for (function, status) in expected {
        let (got, body) = invoke_http(&state, function).await;
        assert_eq!(got, *status, "events/{function}.json answered {got}: {body}");
        answers.insert(*function, body);
    }
    assert_eq!(answers["auth-me"]["user"]["role"], "admin", "{}", answers["auth-me"]);
    assert!(answers["docs"]["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let listed: Vec<&str> =
        answers["tickets-list"]["items"].as_array().unwrap().iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(listed, [SEEDED_TICKET]);
    assert!(answers["auth-login"]["accessToken"].is_string());
    assert_eq!(answers["auth-verify-email"]["tenant"]["name"], "Sam Local Ltd");
    assert_eq!(answers["auth-accept-invitation"]["user"]["role"], "agent");
    assert!(answers["auth-refresh"]["refreshToken"].is_string());
    assert_eq!(answers["tickets-assign"]["assigneeId"], "0195f000-0000-7000-8000-000000000003");
    assert_eq!(answers["sla-policy-get"]["timezone"], "Europe/Berlin", "{}", answers["sla-policy-get"]);
    assert!(answers["tickets-get"]["sla"].is_object(), "{}", answers["tickets-get"]);
    let tags: Vec<(&str, i64)> = answers["tags-list"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tag"].as_str().unwrap(), t["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(tags.len(), 2, "{}", answers["tags-list"]);
    assert!(tags.contains(&("login", 1)) && tags.contains(&("email", 1)), "{}", answers["tags-list"]);
    assert_eq!(answers["sla-policy-put"]["holidays"][0], "2026-12-24", "{}", answers["sla-policy-put"]);
    assert_eq!(answers["sla-policy-put"]["targets"]["URGENT"]["firstResponseMinutes"], 30);
    let seeded = &answers["tenant-exports-get"];
    assert_eq!((seeded["id"].as_str(), seeded["status"].as_str()), (Some(SEEDED_EXPORT), Some("PENDING")), "{seeded}");
    assert!(seeded["downloadUrl"].is_null(), "{seeded}");
    let created = &answers["tenant-exports-create"];
    assert_eq!(created["status"], "PENDING", "{created}");
    assert_ne!(created["id"], SEEDED_EXPORT, "{created}");
    // Newest first: the last write on top, by the seeded admin; the ticket's update among them.
    let audit = &answers["audit-log-list"];
    assert_eq!(audit["items"][0]["action"], "webhooks-test", "{audit}");
    assert_eq!(audit["items"][0]["actor"]["id"], "0195f000-0000-7000-8000-000000000002", "{audit}");
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "tickets-update" && e["targetId"] == SEEDED_TICKET),
        "{audit}"
    );

    // The consumer: the SQS batch's one record becomes one notification, none failed.
    let batch: SqsEvent = serde_json::from_str(&event_text("ticket-consumer")).unwrap();
    let reply = pipeline::consume(state.clone(), batch).await;
    assert!(reply.batch_item_failures.is_empty(), "{:?}", reply.batch_item_failures);
    let row = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM notifications WHERE event_id = $1::text::uuid", &[&SEEDED_EVENT])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);

    // The dispatcher: the seeded delivery has FAILED for good, so the message is a no-op
    // (nothing is posted) and no record fails. Then an admin redelivers it and removes
    // the endpoint, which takes the delivery with it.
    let batch: SqsEvent = serde_json::from_str(&event_text("webhook-dispatcher")).unwrap();
    let reply = pipeline::dispatch(state.clone(), batch).await;
    assert!(reply.batch_item_failures.is_empty(), "{:?}", reply.batch_item_failures);
    let (status, body) = invoke_http(&state, "webhooks-redeliver").await;
    assert_eq!((status, body["status"].as_str()), (202, Some("PENDING")), "{body}");
    let (status, body) = invoke_http(&state, "webhooks-delete").await;
    assert_eq!(status, 204, "{body}");
    assert!(answers["webhooks-create"]["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    assert_eq!(answers["webhooks-deliveries"]["items"][0]["status"], "FAILED", "{}", answers["webhooks-deliveries"]);

    // The exporter: the message names the seeded export, which it writes to the blob
    // store as JSON Lines (the tenant as the writes above left it) and marks READY, with a
    // download URL from then on. The same message again changes nothing.
    let batch: SqsEvent = serde_json::from_str(&event_text("tenant-export")).unwrap();
    let reply = pipeline::export(state.clone(), batch.clone()).await;
    assert!(reply.batch_item_failures.is_empty(), "{:?}", reply.batch_item_failures);
    let (status, ready) = invoke_http(&state, "tenant-exports-get").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("READY")), "{ready}");
    assert!(ready["downloadUrl"].is_string() && ready["rows"].as_u64().is_some_and(|n| n > 10), "{ready}");
    let file = blob_dir.join(format!("tenants/{SEEDED_TENANT}/exports/{SEEDED_EXPORT}.jsonl"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(ready["sizeBytes"].as_u64(), Some(text.len() as u64));
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!((header["type"].as_str(), header["data"]["exportId"].as_str()), (Some("export"), Some(SEEDED_EXPORT)));
    assert!(text.contains("Cannot log in"), "the seeded ticket is in the export");
    let reply = pipeline::export(state.clone(), batch).await;
    assert!(reply.batch_item_failures.is_empty(), "{:?}", reply.batch_item_failures);
    let (_, again) = invoke_http(&state, "tenant-exports-get").await;
    assert_eq!((again["status"].as_str(), again["sizeBytes"].as_u64()), (Some("READY"), Some(text.len() as u64)));

    // The monitor takes its schedule's event as a tick: under the new policy both clocks
    // of the seeded ticket (URGENT, opened 2026-11-25) are overdue, and the first public
    // reply came late. Each breach is recorded once and published right after its commit.
    let _tick: Value = serde_json::from_str(&event_text("sla-monitor")).unwrap();
    let monitored = pipeline::monitor_sla(state.clone()).await.expect("the monitor runs");
    assert_eq!(monitored["breaches"], 2, "{monitored}");
    let again = pipeline::monitor_sla(state.clone()).await.expect("the monitor runs again");
    assert_eq!(again["breaches"], 0, "a breach is recorded once: {again}");
    let row = db
        .connect()
        .await
        .query_one(
            "SELECT count(*), count(published_at) FROM outbox
             WHERE event_type = 'ticket.sla_breached' AND ticket_id = $1::text::uuid",
            &[&SEEDED_TICKET],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (2, 2), "both breaches announced");

    // The sweeper takes the schedule's event as a tick and answers what it published and pruned.
    let _tick: Value = serde_json::from_str(&event_text("outbox-sweeper")).unwrap();
    let swept = pipeline::sweep(state.clone()).await.expect("the sweeper runs");
    assert!(swept["published"].is_u64(), "{swept}");
    assert!(swept["pruned"]["refreshTokens"].is_u64() && swept["pruned"]["idempotencyKeys"].is_u64(), "{swept}");

    // migrate: the CloudFormation Create request, answered on its ResponseURL.
    let mut request: Value = serde_json::from_str(&event_text("migrate")).unwrap();
    let (url, answer) = response_catcher().await;
    request["ResponseURL"] = Value::String(url);
    migrate::handle(&db.url, request.clone()).await.expect("migrate answers");
    let (method, body) = answer.await.unwrap();
    assert_eq!(method, "PUT");
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["PhysicalResourceId"], migrate::PHYSICAL_RESOURCE_ID);
    assert_eq!(body["RequestId"], request["RequestId"]);
    assert_eq!(body["LogicalResourceId"], "DatabaseMigrations");

    // Last, since it ends everything above: the admin deletes the seeded tenant, naming it.
    // 202 with an empty body, and from then on the admin's token is refused.
    let (status, body) = invoke_http(&state, "tenant-delete").await;
    assert_eq!((status, &body), (202, &Value::Null), "events/tenant-delete.json answered {status}: {body}");
    let (status, body) = invoke_http(&state, "stats").await;
    assert_eq!(status, 401, "the deleted tenant's token still works: {body}");
    // A tick a minute later (the sweeper leaves a tenant marked only seconds ago) purges it,
    // a few rows well inside one run's budget; the tenant the sign-up created stays.
    let owner = db.connect().await;
    owner
        .execute(
            "UPDATE tenants SET deleting_at = deleting_at - interval '1 minute' WHERE id = $1::text::uuid",
            &[&SEEDED_TENANT],
        )
        .await
        .unwrap();
    let swept = pipeline::sweep(state.clone()).await.expect("the sweeper runs");
    assert_eq!(swept["tenantsDeleted"], 1, "{swept}");
    for (tenant, left) in [(SEEDED_TENANT, 0), (SIGNUP_TENANT, 1)] {
        let row = owner.query_one("SELECT count(*) FROM tenants WHERE id = $1::text::uuid", &[&tenant]).await.unwrap();
        assert_eq!(row.get::<_, i64>(0), left, "tenant {tenant}");
    }
    // Its export's file went with it.
    assert!(!file.exists(), "{} outlived its tenant", file.display());
    let _ = std::fs::remove_dir_all(&blob_dir);
}

#[tokio::test]
async fn a_failed_migration_fails_the_deploy_and_a_delete_leaves_the_database_alone() {
    let mut request: Value = serde_json::from_str(&event_text("migrate")).unwrap();
    let (url, answer) = response_catcher().await;
    request["ResponseURL"] = Value::String(url);
    // Nothing listens on port 9: the migration cannot connect.
    migrate::handle("postgres://postgres@127.0.0.1:9/none", request.clone()).await.expect("answered");
    let (_, body) = answer.await.unwrap();
    assert_eq!(body["Status"], "FAILED", "{body}");
    assert!(body["Reason"].as_str().is_some_and(|r| r.contains("migrations failed")), "{body}");

    let (url, answer) = response_catcher().await;
    request["ResponseURL"] = Value::String(url);
    request["RequestType"] = Value::String("Delete".into());
    request["PhysicalResourceId"] = Value::String(migrate::PHYSICAL_RESOURCE_ID.into());
    migrate::handle("postgres://postgres@127.0.0.1:9/none", request).await.expect("answered");
    let (_, body) = answer.await.unwrap();
    assert_eq!(body["Status"], "SUCCESS", "a Delete never touches the database: {body}");
}

//! Tenant exports: "can we take our data and leave". An admin asks for one, a job writes
//! every resource of the tenant as JSON Lines to the blob store, and the download holds,
//! row for row, what the database holds for that tenant (secrets left out) and nothing of
//! any other tenant. Through the embedded runner, through SQS (moto), and when an erasure
//! withdraws a file that holds the erased person.

mod common;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use common::{
    Session, TestApp,
    sqs::{DEFAULT_PORT, TestQueue, endpoint},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the export promises per table: the line `type`, the table, the column that
/// orders it, and the columns it never writes.
const EXPECTED: &[(&str, &str, &str, &[&str])] = &[
    ("user", "users", "id", &["password_hash"]),
    ("apiKey", "api_keys", "id", &["secret_hash"]),
    ("invitation", "invitations", "id", &["token_hash"]),
    ("slaPolicy", "sla_policies", "tenant_id", &["recomputed_version"]),
    ("customer", "customers", "id", &[]),
    ("ticket", "tickets", "id", &["sla_watch_at"]),
    ("ticketEvent", "ticket_events", "id", &[]),
    ("comment", "comments", "id", &[]),
    ("attachment", "attachments", "id", &[]),
    ("notification", "notifications", "id", &[]),
    ("webhook", "webhooks", "id", &["secret", "previous_secret"]),
    ("webhookDelivery", "webhook_deliveries", "id", &["leased_until"]),
    ("customerErasure", "customer_erasures", "customer_id", &[]),
    ("auditEntry", "audit_log", "id", &[]),
];

/// A tenant with a bit of everything: an agent, an invitation, an API key, an SLA policy,
/// customers, tickets with tags, comments and a file.
async fn seed(app: &TestApp, name: &str, domain: &str) -> Session {
    let admin = app.register(name, &format!("ann@{domain}")).await;
    app.add_user(&admin, &format!("bob@{domain}"), "agent").await;
    let r = app
        .post(
            "/api/v1/users/invitations",
            Some(&admin.access),
            json!({"email": format!("cid@{domain}"), "name": "Cid", "role": "agent"}),
        )
        .await;
    assert!(r.status.is_success(), "invite: {}", r.body);
    app.api_key(&admin, "integration", "agent").await;
    let policy = json!({"timezone": "Europe/Paris", "targets": {"URGENT": {"firstResponseMinutes": 30, "resolutionMinutes": 240}}});
    let r = app.send(reqwest::Method::PUT, "/api/v1/sla-policy", Some(&admin.access), Some(policy)).await;
    assert!(r.status.is_success(), "SLA policy: {}", r.body);
    for i in 0..3 {
        let customer = app.customer(&admin, &format!("Customer {i}"), &format!("c{i}@client.{domain}")).await;
        let ticket = app.ticket(&admin, &customer, &format!("Printer {i} on fire"), Some("URGENT")).await;
        let id = ticket["id"].as_str().unwrap();
        let r = app.patch(&format!("/api/v1/tickets/{id}"), Some(&admin.access), json!({"tags": ["hardware"]})).await;
        assert!(r.status.is_success(), "tags: {}", r.body);
        let r = app
            .post(
                &format!("/api/v1/tickets/{id}/comments"),
                Some(&admin.access),
                json!({"body": "On it", "public": true}),
            )
            .await;
        assert!(r.status.is_success(), "comment: {}", r.body);
        if i == 0 {
            app.attach(&admin, id, "log.txt", b"paper jam").await;
        }
    }
    admin
}

/// Asks for an export and waits until it is READY; answers its last view.
async fn export(app: &TestApp, admin: &Session) -> Value {
    let r = app.post("/api/v1/tenant/exports", Some(&admin.access), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let r = app.get(&format!("/api/v1/tenant/exports/{id}"), Some(&admin.access)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        match r.body["status"].as_str().unwrap() {
            "READY" => return r.body,
            "PENDING" | "RUNNING" => {}
            other => panic!("export {other}: {}", r.body),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never READY: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn download(app: &TestApp, view: &Value) -> (StatusCode, String) {
    let url = view["downloadUrl"].as_str().expect("a download URL");
    let res = app.http.get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The rows of the tenant as the database holds them, by line type, in key order.
async fn database_rows(app: &TestApp, tenant: &str) -> BTreeMap<&'static str, Vec<Value>> {
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = tenant.parse().unwrap();
    let mut rows = BTreeMap::new();
    for (kind, table, key, omit) in EXPECTED {
        let omit: Vec<String> = omit.iter().map(|c| c.to_string()).collect();
        let sql =
            format!("SELECT (to_jsonb(t) - $2::text[])::text FROM {table} t WHERE t.tenant_id = $1 ORDER BY t.{key}");
        let found: Vec<Value> = owner
            .query(&sql, &[&tenant, &omit])
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
            .collect();
        rows.insert(*kind, found);
    }
    rows
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

#[tokio::test]
async fn an_export_holds_every_row_of_the_tenant_and_nothing_else() {
    let app = TestApp::spawn().await;
    let acme = seed(&app, "Acme", "acme.test").await;
    let other = seed(&app, "Globex", "globex.test").await;
    app.settle().await;

    // Agents cannot take the tenant's data.
    let bob = app.login("bob@acme.test", common::PASSWORD).await;
    let bob = common::session(&bob.body);
    app.post("/api/v1/tenant/exports", Some(&bob.access), json!({})).await.problem(403);

    let view = export(&app, &acme).await;
    assert!(view["expiresAt"].is_string() && view["finishedAt"].is_string(), "{view}");
    let (status, text) = download(&app, &view).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["sizeBytes"].as_u64(), Some(text.len() as u64));
    let lines = lines(&text);
    assert_eq!(view["rows"].as_u64(), Some(lines.len() as u64 - 1), "every line but the header");

    let header = &lines[0];
    assert_eq!(header["type"], "export");
    assert_eq!(header["data"]["format"], "simplecrm-export/1");
    assert_eq!(header["data"]["tenantId"], acme.tenant_id.as_str());
    assert_eq!(header["data"]["exportId"], view["id"]);
    assert_eq!(lines[1]["type"], "tenant");
    assert_eq!(lines[1]["data"]["id"], acme.tenant_id.as_str());
    assert_eq!(lines[1]["data"]["name"], "Acme");

    // Row by row, in the order of the sections, what the database holds.
    let mut exported: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in &lines[2..] {
        exported.entry(line["type"].as_str().unwrap().to_owned()).or_default().push(line["data"].clone());
    }
    let held = database_rows(&app, &acme.tenant_id).await;
    for (kind, rows) in &held {
        assert_eq!(exported.get(*kind).cloned().unwrap_or_default(), *rows, "{kind}");
    }
    assert_eq!(exported.keys().filter(|k| !held.contains_key(k.as_str())).count(), 0, "{:?}", exported.keys());
    for kind in [
        "user",
        "apiKey",
        "invitation",
        "slaPolicy",
        "customer",
        "ticket",
        "ticketEvent",
        "comment",
        "attachment",
        "auditEntry",
    ] {
        assert!(!held[kind].is_empty(), "the seed made no {kind}");
    }
    assert!(held["notification"].len() >= 3, "the pipeline's notifications");

    // Nothing of the other tenant, and no secret.
    assert!(!text.contains(&other.tenant_id), "the other tenant's id is in the export");
    assert!(!text.contains("globex"), "the other tenant's data is in the export");
    for secret in ["password_hash", "secret_hash", "token_hash", "$argon2"] {
        assert!(!text.contains(secret), "{secret} in the export");
    }
}

#[tokio::test]
async fn exports_are_the_tenants_own() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let globex = app.register("Globex", "gil@globex.test").await;
    let view = export(&app, &acme).await;
    let id = view["id"].as_str().unwrap();
    app.get(&format!("/api/v1/tenant/exports/{id}"), Some(&globex.access)).await.problem(404);
    app.get(&format!("/api/v1/tenant/exports/{}", uuid::Uuid::now_v7()), Some(&acme.access)).await.problem(404);
    let r = app.get("/api/v1/tenant/exports/not-an-id", Some(&acme.access)).await;
    r.problem(400);
}

#[tokio::test]
async fn an_erasure_withdraws_the_exports_that_hold_the_person() {
    let app = TestApp::spawn().await;
    let acme = seed(&app, "Acme", "acme.test").await;
    app.settle().await;
    let view = export(&app, &acme).await;
    let (_, text) = download(&app, &view).await;
    assert!(text.contains("c1@client.acme.test"));

    let customers = app.get("/api/v1/customers?q=c1%40client", Some(&acme.access)).await;
    let customer = customers.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("/api/v1/customers/{customer}/erase"), Some(&acme.access), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

    let id = view["id"].as_str().unwrap();
    let now = app.get(&format!("/api/v1/tenant/exports/{id}"), Some(&acme.access)).await;
    assert_eq!(now.body["status"], "WITHDRAWN", "{}", now.body);
    assert!(now.body["downloadUrl"].is_null() && now.body["sizeBytes"].is_null(), "{}", now.body);
    let (status, _) = download(&app, &view).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old URL finds no file");

    // A new export has everyone but the erased customer.
    let fresh = export(&app, &acme).await;
    let (_, text) = download(&app, &fresh).await;
    assert!(!text.contains("c1@client.acme.test") && text.contains("c2@client.acme.test"));
}

#[tokio::test]
async fn through_sqs_an_export_runs_once_per_message_and_a_lost_message_is_sent_again() {
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let app =
        TestApp::spawn_with(&[("AWS_ENDPOINT_URL", &endpoint(DEFAULT_PORT)), ("EXPORT_QUEUE_URL", &queue.url)]).await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&acme, "Customer", "c@client.acme.test").await;
    app.ticket(&acme, &customer, "Printer on fire", None).await;

    let view = export(&app, &acme).await;
    let (status, text) = download(&app, &view).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("Printer on fire"));

    // A duplicate message for a READY export does nothing.
    let id = view["id"].as_str().unwrap();
    queue.send(&json!({"tenantId": acme.tenant_id, "exportId": id}).to_string()).await;
    let started = Instant::now();
    while queue.depth(&queue.url).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the duplicate was never consumed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = app.get(&format!("/api/v1/tenant/exports/{id}"), Some(&acme.access)).await;
    assert_eq!(
        (again.body["status"].as_str(), again.body["sizeBytes"].as_u64()),
        (Some("READY"), view["sizeBytes"].as_u64())
    );
    assert_eq!(queue.depth(&queue.dlq_url).await, 0);

    // An export whose message never reached the queue (recorded a while ago, as if the
    // send after its commit had failed) is queued again by the sweeper, and runs.
    let lost = uuid::Uuid::now_v7();
    let tenant: uuid::Uuid = acme.tenant_id.parse().unwrap();
    app.db
        .connect()
        .await
        .execute(
            "INSERT INTO tenant_exports (tenant_id, id, created_at) VALUES ($1, $2, now() - interval '2 minutes')",
            &[&tenant, &lost],
        )
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let r = app.get(&format!("/api/v1/tenant/exports/{lost}"), Some(&acme.access)).await;
        if r.body["status"] == "READY" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the lost export never ran: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_export_whose_runs_all_died_fails_instead_of_running_for_ever() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let id = uuid::Uuid::now_v7();
    let tenant: uuid::Uuid = acme.tenant_id.parse().unwrap();
    // Three runs that each ended at the function's timeout: the last lease has passed.
    app.db
        .connect()
        .await
        .execute(
            "INSERT INTO tenant_exports (tenant_id, id, status, attempts, leased_until)
             VALUES ($1, $2, 'RUNNING', 3, now() - interval '1 second')",
            &[&tenant, &id],
        )
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let r = app.get(&format!("/api/v1/tenant/exports/{id}"), Some(&acme.access)).await;
        match r.body["status"].as_str().unwrap() {
            "FAILED" => {
                assert!(r.body["downloadUrl"].is_null() && r.body["finishedAt"].is_string(), "{}", r.body);
                break;
            }
            "RUNNING" => {}
            other => panic!("{other}: {}", r.body),
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never given up: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

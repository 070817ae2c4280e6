//! Webhooks end to end on loopback: signed deliveries an independent HMAC verifies,
//! retries with the same `webhook-id`, FAILED after the schedule, deactivation and the
//! admins' mail, secret rotation, test events and redelivery, and every SSRF class refused
//! at registration and at delivery time.

mod common;

use std::time::{Duration, Instant};

use common::{
    Session, TestApp,
    receiver::{HANG, Receiver, verify},
    remember_secret,
    sqs::{DEFAULT_PORT, TestQueue, endpoint},
};
use serde_json::{Value, json};

/// Local development's setting, so the loopback receiver is a valid target; a short
/// schedule so retries happen within a test.
const LOCAL: [(&str, &str); 3] = [
    ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"),
    ("WEBHOOK_RETRY_SCHEDULE", "1s,1s"),
    ("WEBHOOK_DISABLE_AFTER_FAILURES", "2"),
];

async fn register(app: &TestApp, admin: &Session, url: &str, events: Value) -> (String, String) {
    let r = app.post("/api/v1/webhooks", Some(&admin.access), json!({"url": url, "events": events})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    remember_secret(&secret);
    (r.body["webhook"]["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(app: &TestApp, admin: &Session, webhook: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/webhooks/{webhook}/deliveries"), Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// Waits until the endpoint's deliveries satisfy `done` (20 s at most).
async fn deliveries_when(app: &TestApp, admin: &Session, webhook: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let items = deliveries(app, admin, webhook).await;
        if done(&items) || started.elapsed() > Duration::from_secs(20) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The tenant's newest endpoint once it is inactive (20 s at most).
async fn first_endpoint_once_inactive(app: &TestApp, admin: &Session) -> Value {
    let started = Instant::now();
    loop {
        let endpoint = app.get("/api/v1/webhooks", Some(&admin.access)).await.body["items"][0].clone();
        if endpoint["active"] == false || started.elapsed() > Duration::from_secs(20) {
            return endpoint;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_event_is_posted_signed_once_and_logged() {
    let app = TestApp::spawn_with(&LOCAL).await;
    let receiver = Receiver::start().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let (webhook, secret) = register(&app, &admin, &receiver.url, json!(["ticket.created"])).await;
    assert!(secret.starts_with("whsec_") && secret.len() == 50, "{secret}");
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await;
    // Not subscribed: no delivery.
    let comment = app
        .post(
            &format!("/api/v1/tickets/{}/comments", ticket["id"].as_str().unwrap()),
            Some(&admin.access),
            json!({"body": "Hi"}),
        )
        .await;
    assert_eq!(comment.status, 201);

    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let delivery = &got[0];
    assert!(verify(&secret, delivery), "the signature does not verify: {delivery:?}");
    assert!(!verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", delivery), "another secret verifies too");
    assert_eq!(delivery.content_type, "application/json");
    let now = chrono::Utc::now().timestamp();
    let sent: i64 = delivery.timestamp.parse().unwrap();
    assert!((now - sent).abs() < 60, "webhook-timestamp {sent} is not now ({now})");
    let body = delivery.json();
    assert_eq!(body["type"], "ticket.created");
    assert_eq!(body["data"]["ticketId"], ticket["id"]);
    assert_eq!(body["data"]["after"]["title"], "Printer on fire");
    assert_eq!(body["data"]["actor"], json!({"type": "user", "id": admin.user_id}));
    // webhook-id is the event's id: the same as the feed's.
    let feed = app.get("/api/v1/events?types=ticket.created", Some(&admin.access)).await;
    assert_eq!(delivery.id, feed.body["items"][0]["id"].as_str().unwrap());

    let log = deliveries_when(&app, &admin, &webhook, |d| d.first().is_some_and(|d| d["status"] == "SUCCEEDED")).await;
    assert_eq!(log.len(), 1, "{log:?}");
    let entry = &log[0];
    assert_eq!(
        (entry["status"].as_str(), entry["attempt"].as_i64(), entry["responseStatus"].as_i64()),
        (Some("SUCCEEDED"), Some(1), Some(200))
    );
    assert_eq!(entry["eventId"], delivery.id.as_str());
    assert_eq!(entry["eventType"], "ticket.created");
    assert!(entry["nextAttemptAt"].is_null() && entry["error"].is_null(), "{entry}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "posted more than once");

    // Listing shows no secret; agents may not manage webhooks.
    let list = app.get("/api/v1/webhooks", Some(&admin.access)).await;
    assert_eq!(list.body["items"][0]["id"], webhook.as_str());
    assert!(!list.body.to_string().contains(&secret));
    app.add_user(&admin, "bob@acme.test", "agent").await;
    let bob = common::session(&app.login("bob@acme.test", common::PASSWORD).await.body);
    for (method, path) in [("GET", "/api/v1/webhooks".to_owned()), ("POST", format!("/api/v1/webhooks/{webhook}/test"))]
    {
        let r = app.send(method.parse().unwrap(), &path, Some(&bob.access), Some(json!({}))).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_the_same_id_then_failed_and_at_last_deactivated() {
    let app = TestApp::spawn_with(&LOCAL).await;
    let receiver = Receiver::start().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let (webhook, secret) = register(&app, &admin, &receiver.url, json!(["*"])).await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;

    // 500, then 200: delivered at the second attempt, with the same id and a fresh timestamp.
    receiver.answer(&[500]);
    app.ticket(&admin, &customer, "First", None).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].id, got[1].id);
    assert!(verify(&secret, &got[0]) && verify(&secret, &got[1]));
    let waited = got[1].at - got[0].at;
    assert!(waited >= Duration::from_millis(900), "retried after {waited:?}, not the schedule's 1 s");
    let log = deliveries_when(&app, &admin, &webhook, |d| d[0]["status"] == "SUCCEEDED").await;
    assert_eq!((log[0]["attempt"].as_i64(), log[0]["responseStatus"].as_i64()), (Some(2), Some(200)));

    // Always 500: three attempts (the first and the schedule's two), then FAILED.
    receiver.answer(&[500; 20]);
    app.ticket(&admin, &customer, "Second", None).await;
    let log = deliveries_when(&app, &admin, &webhook, |d| d[0]["status"] == "FAILED").await;
    let failed = &log[0];
    assert_eq!((failed["status"].as_str(), failed["attempt"].as_i64()), (Some("FAILED"), Some(3)), "{failed}");
    assert_eq!((failed["responseStatus"].as_i64(), failed["error"].as_str().is_some()), (Some(500), true));
    let attempts: Vec<_> =
        receiver.received().into_iter().filter(|r| r.id == failed["eventId"].as_str().unwrap()).collect();
    assert_eq!(attempts.len(), 3);
    let endpoint = app.get("/api/v1/webhooks", Some(&admin.access)).await.body["items"][0].clone();
    assert_eq!(endpoint["active"], true, "one FAILED delivery of the two allowed");

    // A second FAILED delivery in a row deactivates the endpoint and mails its admins.
    app.ticket(&admin, &customer, "Third", None).await;
    let endpoint = first_endpoint_once_inactive(&app, &admin).await;
    assert_eq!(endpoint["active"], false, "{endpoint}");
    let mail = app.mailbox("ann@acme.test").await;
    let off = mail.iter().find(|m| m["subject"] == "A webhook endpoint was turned off").expect("admins mailed");
    assert!(off["text"].as_str().unwrap().contains(&receiver.url), "{off}");

    // Inactive: new events make no delivery; reactivating resumes them.
    let before = receiver.received().len();
    app.ticket(&admin, &customer, "Fourth", None).await;
    app.settle().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), before);
    let on = app.patch(&format!("/api/v1/webhooks/{webhook}"), Some(&admin.access), json!({"active": true})).await;
    assert_eq!(on.body["active"], true, "{}", on.body);
    app.ticket(&admin, &customer, "Fifth", None).await;
    let got = receiver.wait_for(before + 1).await;
    assert_eq!(got.last().unwrap().json()["data"]["after"]["title"], "Fifth");
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_and_test_and_redeliver_post_again() {
    let app = TestApp::spawn_with(&LOCAL).await;
    let receiver = Receiver::start().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let (webhook, old) = register(&app, &admin, &receiver.url, json!(["comment.created"])).await;

    let rotated = app.post(&format!("/api/v1/webhooks/{webhook}/rotate-secret"), Some(&admin.access), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    remember_secret(&new);
    assert_ne!(new, old);

    let test = app.post(&format!("/api/v1/webhooks/{webhook}/test"), Some(&admin.access), json!({})).await;
    assert_eq!(test.status, 202, "{}", test.body);
    assert_eq!(
        (test.body["eventType"].as_str(), test.body["status"].as_str()),
        (Some("webhook.test"), Some("PENDING"))
    );
    let got = receiver.wait_for(1).await;
    let first = &got[0];
    assert_eq!(first.json()["type"], "webhook.test");
    assert_eq!(first.json()["data"]["webhookId"], webhook.as_str());
    assert_eq!(first.signature.split(' ').count(), 2, "{}", first.signature);
    assert!(verify(&new, first) && verify(&old, first), "both secrets sign during the overlap");

    // Redelivery posts the same event again, with the same id.
    let delivery = test.body["id"].as_str().unwrap();
    deliveries_when(&app, &admin, &webhook, |d| d[0]["status"] == "SUCCEEDED").await;
    let again = app
        .post(&format!("/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver"), Some(&admin.access), json!({}))
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id, got[0].id);
    let log = deliveries_when(&app, &admin, &webhook, |d| d[0]["attempt"] == 2).await;
    assert_eq!((log[0]["attempt"].as_i64(), log[0]["status"].as_str()), (Some(2), Some("SUCCEEDED")));

    // Unknown ids are 404; another endpoint's delivery is not this one's.
    let missing = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/webhooks/{missing}/test"),
        format!("/api/v1/webhooks/{missing}/rotate-secret"),
        format!("/api/v1/webhooks/{webhook}/deliveries/{missing}/redeliver"),
    ] {
        assert_eq!(app.post(&path, Some(&admin.access), json!({})).await.status, 404, "{path}");
    }
    let (other, _) = register(&app, &admin, &receiver.url, json!(["*"])).await;
    let r = app
        .post(&format!("/api/v1/webhooks/{other}/deliveries/{delivery}/redeliver"), Some(&admin.access), json!({}))
        .await;
    assert_eq!(r.status, 404);
    let gone = app.send(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{other}"), Some(&admin.access), None).await;
    assert_eq!(gone.status, 204);
    assert_eq!(app.get(&format!("/api/v1/webhooks/{other}/deliveries"), Some(&admin.access)).await.status, 404);
}

#[tokio::test]
async fn every_forbidden_address_class_is_refused_at_registration() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fc00::1]/hook",
        "http://[fd12:3456::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://[::ffff:10.1.2.3]/hook",
    ] {
        let r = app.post("/api/v1/webhooks", Some(&admin.access), json!({"url": url, "events": ["*"]})).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "url", "{url}: {}", r.body);
    }
    for (body, field) in [
        (json!({"url": "ftp://hooks.example.com/x", "events": ["*"]}), "url"),
        (json!({"url": "https://user:pw@hooks.example.com/x", "events": ["*"]}), "url"),
        (json!({"url": "not a url at all", "events": ["*"]}), "url"),
        (json!({"url": "https://hooks.example.com/x", "events": []}), "events"),
        (json!({"url": "https://hooks.example.com/x", "events": ["ticket.deleted"]}), "events"),
        (json!({"url": "https://hooks.example.com/x", "events": ["*", "ticket.created"]}), "events"),
        (json!({"url": "https://hooks.example.com/x", "events": ["*"], "secret": "mine"}), "secret"),
    ] {
        let r = app.post("/api/v1/webhooks", Some(&admin.access), body.clone()).await;
        let named = r.problem(422)["errors"][0]["field"].as_str().unwrap_or_default().to_owned();
        assert!(named == field || named.starts_with(&format!("{field}[")), "{body}: {}", r.body);
    }
    let owner = app.db.connect().await;
    let count: i64 = owner.query_one("SELECT count(*) FROM webhooks", &[]).await.unwrap().get(0);
    assert_eq!(count, 0, "a refused registration wrote a row");
}

#[tokio::test]
async fn a_target_that_is_private_at_delivery_time_fails_without_a_connection() {
    // Registered where private targets are allowed (as if their names resolved publicly
    // then); delivered by an instance where they are not (as once a name points inward).
    let lenient = TestApp::spawn_with(&LOCAL).await;
    let receiver = Receiver::start().await;
    let admin = lenient.register("Acme", "ann@acme.test").await;
    let mut hooks = vec![(register(&lenient, &admin, &receiver.url, json!(["*"])).await.0, "loopback")];
    // One of each other class; were the check missing, these would be tried off the
    // machine, and the test would see a connection error instead of the refusal.
    for (url, class) in [
        ("http://10.20.30.40:9/hook", "private network"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://100.64.1.1:9/hook", "carrier-grade NAT"),
        ("http://[fd00::1]:9/hook", "unique local"),
        ("http://[fe80::1]:9/hook", "link-local"),
        ("http://[::ffff:192.168.0.1]:9/hook", "private network"),
    ] {
        hooks.push((register(&lenient, &admin, url, json!(["*"])).await.0, class));
    }
    let strict = lenient.spawn_sharing(&[("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "false")]).await;
    drop(lenient);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let customer = strict.customer(&admin, "Globex", "ops@globex.test").await;
    strict.ticket(&admin, &customer, "Printer on fire", None).await;
    for (webhook, class) in hooks {
        let log =
            deliveries_when(&strict, &admin, &webhook, |d| d.first().is_some_and(|d| d["status"] == "FAILED")).await;
        let failed = &log[0];
        assert_eq!((failed["status"].as_str(), failed["attempt"].as_i64()), (Some("FAILED"), Some(1)), "{failed}");
        assert!(failed["responseStatus"].is_null(), "{failed}");
        let error = failed["error"].as_str().unwrap();
        assert!(error.contains(&format!("({class})")), "{class}: {error}");
    }
    assert!(receiver.received().is_empty(), "a forbidden target was connected to");
}

#[tokio::test]
async fn through_the_webhook_queue_a_failed_attempt_comes_back_delayed_with_the_same_id() {
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let endpoint = endpoint(DEFAULT_PORT);
    let mut vars = LOCAL.to_vec();
    vars.extend([("AWS_ENDPOINT_URL", endpoint.as_str()), ("WEBHOOK_QUEUE_URL", queue.url.as_str())]);
    let app = TestApp::spawn_with(&vars).await;
    let receiver = Receiver::start().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let (webhook, secret) = register(&app, &admin, &receiver.url, json!(["ticket.created"])).await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;

    receiver.answer(&[503]);
    app.ticket(&admin, &customer, "Printer on fire", None).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].id, got[1].id);
    assert!(verify(&secret, &got[1]));
    assert!(got[1].at - got[0].at >= Duration::from_millis(900), "the retry came back before its delay");
    let log = deliveries_when(&app, &admin, &webhook, |d| d[0]["status"] == "SUCCEEDED").await;
    assert_eq!((log[0]["attempt"].as_i64(), log[0]["responseStatus"].as_i64()), (Some(2), Some(200)), "{log:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 2, "a delivery was posted again after it succeeded");
}

#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_no_other_tenant() {
    let app = TestApp::spawn_with(&LOCAL).await;
    let (stuck, quick) = (Receiver::start().await, Receiver::start().await);
    stuck.answer(&[HANG; 20]);
    let acme = app.register("Acme", "ann@acme.test").await;
    let globex = app.register("Globex", "gil@globex.test").await;
    register(&app, &acme, &stuck.url, json!(["*"])).await;
    register(&app, &globex, &quick.url, json!(["*"])).await;
    // Acme's events keep its dispatcher slots waiting on a receiver that never answers ...
    let acme_customer = app.customer(&acme, "Initech", "bill@initech.test").await;
    for i in 0..3 {
        app.ticket(&acme, &acme_customer, &format!("Stuck {i}"), None).await;
    }
    stuck.wait_for(3).await;
    // ... while Globex's arrive at once, and the API answers as fast as ever.
    let customer = app.customer(&globex, "Hooli", "gavin@hooli.test").await;
    let started = Instant::now();
    app.ticket(&globex, &customer, "Quick", None).await;
    let created = started.elapsed();
    let got = quick.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let delivered = got[0].at - started;
    assert!(delivered < Duration::from_secs(3), "another tenant's delivery waited {delivered:?}");
    assert!(created < Duration::from_secs(1), "a request waited {created:?} on a receiver");
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_deactivated_at_its_next_failure() {
    let app = TestApp::spawn_with(&LOCAL).await;
    let receiver = Receiver::start().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let (webhook, _) = register(&app, &admin, &receiver.url, json!(["*"])).await;
    // Nothing but failures for six days (and no FAILED delivery in a row yet).
    let owner = app.db.connect().await;
    let id: uuid::Uuid = webhook.parse().unwrap();
    owner.execute("UPDATE webhooks SET failing_since = now() - interval '6 days' WHERE id = $1", &[&id]).await.unwrap();
    receiver.answer(&[500]);
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    app.ticket(&admin, &customer, "Printer on fire", None).await;
    let endpoint = first_endpoint_once_inactive(&app, &admin).await;
    assert_eq!(endpoint["active"], false, "{endpoint}");
    assert!(app.mailbox("ann@acme.test").await.iter().any(|m| m["subject"] == "A webhook endpoint was turned off"));
}

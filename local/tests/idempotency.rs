//! A client retrying a create after a timeout never makes a second resource or event.

mod common;

use common::TestApp;
use serde_json::json;

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.connect().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_same_key_twice_and_twice_at_once_makes_one_ticket_and_one_event() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let body = json!({"title": "Printer on fire", "description": "Smoke", "customerId": customer, "priority": "HIGH"});
    let post = |key: &'static str, body: serde_json::Value| {
        let req = app
            .http
            .post(app.url("/api/v1/tickets"))
            .bearer_auth(&admin.access)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { TestApp::reply(req.send().await.unwrap()).await }
    };

    let first = post("key-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = post("key-1", body.clone()).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body, "the same answer");
    assert_eq!(retry.headers.get("idempotent-replayed").unwrap(), "true");

    let (a, b) = tokio::join!(post("key-2", body.clone()), post("key-2", body.clone()));
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201), "{} / {}", a.body, b.body);
    assert_eq!(a.body, b.body);
    assert_ne!(a.body["id"], first.body["id"], "another key is another ticket");

    assert_eq!(count(&app, "SELECT count(*) FROM tickets").await, 2);
    assert_eq!(count(&app, "SELECT count(*) FROM outbox WHERE event_type = 'ticket.created'").await, 2);

    let other_body = json!({"title": "Something else", "description": "", "customerId": customer});
    let misuse = post("key-1", other_body).await;
    let problem = misuse.problem(422);
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(count(&app, "SELECT count(*) FROM tickets").await, 2);

    let bad = app
        .http
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&admin.access)
        .header("Idempotency-Key", "")
        .json(&body)
        .send()
        .await
        .unwrap();
    TestApp::reply(bad).await.problem(400);
    // Without a key every POST is a new ticket.
    app.post("/api/v1/tickets", Some(&admin.access), body.clone()).await;
    assert_eq!(count(&app, "SELECT count(*) FROM tickets").await, 3);
}

#[tokio::test]
async fn customer_creation_is_idempotent_per_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let other = app.register("Other", "zed@other.test").await;
    let post = |token: &str, key: &str, email: &str| {
        let req = app
            .http
            .post(app.url("/api/v1/customers"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"name": "Globex", "email": email}));
        async move { TestApp::reply(req.send().await.unwrap()).await }
    };
    let first = post(&acme.access, "same", "ops@globex.test").await;
    let again = post(&acme.access, "same", "ops@globex.test").await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.body, again.body);
    // The key belongs to the tenant that used it: another tenant's same key is its own.
    let theirs = post(&other.access, "same", "ops@globex.test").await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
    assert_eq!(count(&app, "SELECT count(*) FROM customers").await, 2);
}

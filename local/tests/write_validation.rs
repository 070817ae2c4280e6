//! Bad input on every write route of the CRM: each case answers a 4xx problem+json that
//! names the field, and writes nothing.

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn every_write_route_names_the_bad_field() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer", None).await["id"].as_str().unwrap().to_owned();
    let before = app.snapshot(&admin.tenant_id).await;

    let long = "x".repeat(201);
    let c = format!("/api/v1/customers/{customer}");
    let t = format!("/api/v1/tickets/{ticket}");
    let cases: Vec<(Method, String, Value, u16, &str)> = vec![
        (Method::POST, "/api/v1/customers".into(), json!({"name": "", "email": "a@b.test"}), 422, "name"),
        (Method::POST, "/api/v1/customers".into(), json!({"name": long, "email": "a@b.test"}), 422, "name"),
        (Method::POST, "/api/v1/customers".into(), json!({"name": "A", "email": "not-an-email"}), 422, "email"),
        (
            Method::POST,
            "/api/v1/customers".into(),
            json!({"name": "A", "email": "a@b.test", "phone": "call me"}),
            422,
            "phone",
        ),
        (Method::POST, "/api/v1/customers".into(), json!({"name": "A"}), 422, "email"),
        (Method::POST, "/api/v1/customers".into(), json!({"name": "A", "email": "a@b.test", "vip": true}), 422, "vip"),
        (Method::PATCH, c.clone(), json!({"email": "nope"}), 422, "email"),
        (Method::PATCH, c.clone(), json!({"name": "   "}), 422, "name"),
        (Method::PATCH, "/api/v1/customers/not-a-uuid".into(), json!({"name": "A"}), 400, "id"),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "", "description": "", "customerId": customer}),
            422,
            "title",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": long, "description": "", "customerId": customer}),
            422,
            "title",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "T", "description": "x".repeat(10001), "customerId": customer}),
            422,
            "description",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "T", "description": "", "customerId": "not-a-uuid"}),
            422,
            "customerId",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "T", "description": "", "customerId": customer, "priority": "CRITICAL"}),
            422,
            "priority",
        ),
        (Method::POST, "/api/v1/tickets".into(), json!({"title": "T", "customerId": customer}), 422, "description"),
        (Method::PATCH, t.clone(), json!({"priority": "low"}), 422, "priority"),
        (Method::PATCH, t.clone(), json!({"title": ""}), 422, "title"),
        (Method::PATCH, t.clone(), json!({"status": "RESOLVED"}), 422, "status"),
        (Method::PATCH, format!("{t}/status"), json!({"status": "CLOSED"}), 422, "status"),
        (Method::PATCH, format!("{t}/status"), json!({}), 422, "status"),
        (Method::PATCH, format!("{t}/assign"), json!({"assigneeId": "bob"}), 422, "assigneeId"),
        (Method::PATCH, "/api/v1/tickets/123/status".into(), json!({"status": "OPEN"}), 400, "id"),
        (Method::DELETE, "/api/v1/customers/123".into(), Value::Null, 400, "id"),
    ];
    for (method, path, body, status, field) in cases {
        let body = (!body.is_null()).then_some(body);
        let r = app.send(method.clone(), &path, Some(&admin.access), body.clone()).await;
        r.problem(status);
        assert!(
            r.error_fields().contains(&field.to_owned()),
            "{method} {path} {body:?} should name {field}: {}",
            r.body
        );
    }
    // Malformed JSON on every write route is a 400, not a crash.
    for path in ["/api/v1/customers", "/api/v1/tickets"] {
        app.post_raw(path, Some(&admin.access), Some("application/json"), b"{".to_vec()).await.problem(400);
    }
    let raw_patch = app
        .http
        .patch(app.url(&format!("{t}/status")))
        .bearer_auth(&admin.access)
        .header("content-type", "application/json")
        .body("[")
        .send()
        .await
        .unwrap();
    TestApp::reply(raw_patch).await.problem(400);

    assert_eq!(app.snapshot(&admin.tenant_id).await, before, "nothing was written");
}

#[tokio::test]
async fn the_embedded_pipeline_writes_notifications_listed_newest_first_per_tenant_and_ticket() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let t1 = app.ticket(&admin, &customer, "One", None).await["id"].as_str().unwrap().to_owned();
    let t2 = app.ticket(&admin, &customer, "Two", None).await["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/tickets/{t1}/status"), Some(&admin.access), json!({"status": "RESOLVED"})).await;
    // Without SQS_QUEUE_URL, crm-local hands the outbox to the consumer in process.
    app.settle().await;

    let all = app.get("/api/v1/notifications", Some(&admin.access)).await;
    let messages: Vec<&str> =
        all.body["items"].as_array().unwrap().iter().map(|n| n["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        ["Ticket status changed from OPEN to RESOLVED", "Ticket \"Two\" was opened", "Ticket \"One\" was opened"]
    );
    assert_eq!(all.body["items"][0]["ticketId"], t1.as_str());
    assert_eq!(all.body["items"][0]["eventType"], "ticket.status_changed");
    assert_eq!(all.body["items"][1]["ticketId"], t2.as_str());
    let one = app.get(&format!("/api/v1/notifications?ticketId={t1}&limit=1"), Some(&admin.access)).await;
    assert_eq!(one.body["items"].as_array().unwrap().len(), 1);
    let next = one.body["nextCursor"].as_str().unwrap();
    let rest =
        app.get(&format!("/api/v1/notifications?ticketId={t1}&limit=1&cursor={next}"), Some(&admin.access)).await;
    assert_eq!(rest.body["items"][0]["message"], "Ticket \"One\" was opened");
    assert!(rest.body["nextCursor"].is_null());
    app.get("/api/v1/notifications?ticketId=nope", Some(&admin.access)).await.problem(400);

    let other = app.register("Other", "zed@other.test").await;
    let theirs = app.get("/api/v1/notifications", Some(&other.access)).await;
    assert_eq!(theirs.body["items"], json!([]));
}

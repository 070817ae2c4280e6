//! Ticket tags through the API: normalised and bounded on create and update, a filter of
//! the ticket list in keyset pages, and counts per tenant that follow every change,
//! deletes by cascade included.

mod common;

use common::{Session, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

async fn tagged(app: &TestApp, s: &Session, customer: &str, title: &str, tags: Value) -> Value {
    let body = json!({"title": title, "description": "", "customerId": customer, "tags": tags});
    let r = app.post("/api/v1/tickets", Some(&s.access), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn counts(app: &TestApp, s: &Session) -> Value {
    let r = app.get("/api/v1/tags", Some(&s.access)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn listed(app: &TestApp, s: &Session, query: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/tickets?{query}"), Some(&s.access)).await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn tags_are_stored_lower_case_once_and_replaced_by_an_update() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&s, "C", "c@c.test").await;
    let t = tagged(&app, &s, &customer, "T", json!([" Billing", "billing", "VIP", "Straße "])).await;
    assert_eq!(t["tags"], json!(["billing", "vip", "straße"]));
    let id = t["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/tickets/{id}"), Some(&s.access)).await.body["tags"], t["tags"]);

    let r = app.patch(&format!("/api/v1/tickets/{id}"), Some(&s.access), json!({"tags": ["vip", "Urgent"]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["tags"], json!(["vip", "urgent"]));
    let timeline = app.get(&format!("/api/v1/tickets/{id}/events"), Some(&s.access)).await.body;
    let edit = timeline.as_array().unwrap().last().unwrap();
    assert_eq!(edit["data"]["before"]["tags"], json!(["billing", "vip", "straße"]), "{edit}");
    assert_eq!(edit["data"]["after"]["tags"], json!(["vip", "urgent"]), "{edit}");
    let untouched = app.patch(&format!("/api/v1/tickets/{id}"), Some(&s.access), json!({"title": "Renamed"})).await;
    assert_eq!(untouched.body["tags"], json!(["vip", "urgent"]), "absent tags stay");
    let cleared = app.patch(&format!("/api/v1/tickets/{id}"), Some(&s.access), json!({"tags": []})).await;
    assert_eq!(cleared.body["tags"], json!([]));
    assert_eq!(counts(&app, &s).await, json!({"items": []}));
}

#[tokio::test]
async fn too_many_too_long_or_blank_tags_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&s, "C", "c@c.test").await;
    let twenty_one: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    let cases = [
        (json!(twenty_one), "tags"),
        (json!(["ok", "x".repeat(51)]), "tags[1]"),
        (json!(["  "]), "tags[0]"),
        (json!(["a\u{7}b"]), "tags[0]"),
    ];
    for (tags, field) in cases {
        let body = json!({"title": "T", "description": "", "customerId": customer, "tags": tags});
        let r = app.post("/api/v1/tickets", Some(&s.access), body).await;
        assert_eq!(r.status, 422, "{tags}: {}", r.body);
        assert_eq!(r.error_fields(), [field], "{tags}");
    }
    for tags in [json!("vip"), json!([1, 2]), json!(null)] {
        let body = json!({"title": "T", "description": "", "customerId": customer, "tags": tags});
        assert_eq!(app.post("/api/v1/tickets", Some(&s.access), body).await.status, 422, "{tags}");
    }
    // Twenty-five given, twenty different: within the bound.
    let many: Vec<String> = (0..25).map(|i| format!("Tag{}", i % 20)).collect();
    assert_eq!(tagged(&app, &s, &customer, "T", json!(many)).await["tags"].as_array().unwrap().len(), 20);
    let t = app.get("/api/v1/tickets", Some(&s.access)).await.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app.patch(&format!("/api/v1/tickets/{t}"), Some(&s.access), json!({"tags": twenty_one})).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{t}"), Some(&s.access)).await.body["tags"].as_array().unwrap().len(),
        20
    );
    assert_eq!(app.get("/api/v1/tickets", Some(&s.access)).await.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_tag_filter_pages_newest_first_and_combines_with_the_others() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&s, "C", "c@c.test").await;
    for i in 0..7 {
        let tags = if i % 2 == 0 { json!(["vip", "billing"]) } else { json!(["billing"]) };
        let t = tagged(&app, &s, &customer, &format!("T{i}"), tags).await;
        if i == 4 {
            let id = t["id"].as_str().unwrap();
            app.patch(&format!("/api/v1/tickets/{id}/status"), Some(&s.access), json!({"status": "RESOLVED"})).await;
        }
    }
    assert_eq!(listed(&app, &s, "tag=VIP").await, ["T6", "T4", "T2", "T0"], "compared lower-case");
    assert_eq!(listed(&app, &s, "tag=vip&status=OPEN").await, ["T6", "T2", "T0"]);
    assert_eq!(listed(&app, &s, "tag=nobody").await, Vec::<String>::new());

    let first = app.get("/api/v1/tickets?tag=billing&limit=3", Some(&s.access)).await.body;
    let cursor = first["nextCursor"].as_str().unwrap();
    let titles = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(titles(&first), ["T6", "T5", "T4"]);
    let second = app.get(&format!("/api/v1/tickets?tag=billing&limit=3&cursor={cursor}"), Some(&s.access)).await.body;
    assert_eq!(titles(&second), ["T3", "T2", "T1"]);

    for query in ["tag=%20%20", &format!("tag={}", "x".repeat(51))] {
        let r = app.get(&format!("/api/v1/tickets?{query}"), Some(&s.access)).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.error_fields(), ["tag"]);
    }
}

#[tokio::test]
async fn counts_follow_creates_edits_and_deletes_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let other = app.register("Other", "zed@other.test").await;
    let keep = app.customer(&s, "Keep", "keep@c.test").await;
    let gone = app.customer(&s, "Gone", "gone@c.test").await;
    let a = tagged(&app, &s, &keep, "A", json!(["vip", "billing"])).await;
    tagged(&app, &s, &keep, "B", json!(["billing"])).await;
    let c = tagged(&app, &s, &gone, "C", json!(["billing", "legacy"])).await;
    let noise = app.customer(&other, "N", "n@o.test").await;
    tagged(&app, &other, &noise, "N", json!(["vip", "secret"])).await;

    assert_eq!(
        counts(&app, &s).await,
        json!({"items": [{"tag": "billing", "count": 3}, {"tag": "legacy", "count": 1}, {"tag": "vip", "count": 1}]})
    );
    let a = a["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/tickets/{a}"), Some(&s.access), json!({"tags": ["vip", "refund"]})).await;
    // A customer's tickets go with it once they are resolved (the cascade).
    let c = c["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/tickets/{c}/status"), Some(&s.access), json!({"status": "RESOLVED"})).await;
    let r = app.send(Method::DELETE, &format!("/api/v1/customers/{gone}"), Some(&s.access), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        counts(&app, &s).await,
        json!({"items": [{"tag": "billing", "count": 1}, {"tag": "refund", "count": 1}, {"tag": "vip", "count": 1}]})
    );
    assert_eq!(
        counts(&app, &other).await,
        json!({"items": [{"tag": "secret", "count": 1}, {"tag": "vip", "count": 1}]})
    );
    // The counts equal a recount of the tickets' own arrays.
    let owner = app.db.connect().await;
    let recount: String = owner
        .query_one(
            "SELECT string_agg(tag || '=' || n, ',' ORDER BY tag) FROM (
                 SELECT tag, count(*) AS n FROM tickets, unnest(tags) tag GROUP BY tag) r",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recount, "billing=1,refund=1,secret=1,vip=2");
}

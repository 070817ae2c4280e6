//! Customer erasure (GDPR Art. 17): nothing about the customer is left in any table, nor
//! its files in the blob store; erasing again succeeds; another tenant's customer stays.

mod common;

use common::{Session, TestApp, remember_secret};
use serde_json::json;

/// A tenant's rows, in every table with a `tenant_id`, that mention any of `needles` (as
/// the row's text: ids, addresses and names, JSON payloads included).
async fn mentions(app: &TestApp, needles: &[String]) -> Vec<String> {
    let owner = app.db.connect().await;
    let tables = app.tenant_tables().await;
    assert!(tables.iter().any(|t| t == "webhook_deliveries"), "{tables:?}");
    let mut found = Vec::new();
    for table in tables {
        for needle in needles {
            let sql = format!("SELECT t::text FROM {table} t WHERE t::text LIKE '%' || $1 || '%'");
            for row in owner.query(&sql, &[needle]).await.unwrap() {
                found.push(format!("{table}: {}", row.get::<_, String>(0)));
            }
        }
    }
    found
}

async fn erase(app: &TestApp, s: &Session, customer: &str) -> common::Reply {
    app.post(&format!("/api/v1/customers/{customer}/erase"), Some(&s.access), json!({})).await
}

#[tokio::test]
async fn erasing_a_customer_leaves_nothing_of_it_and_can_be_repeated() {
    let app = TestApp::spawn_with(&[("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")]).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let hook = app
        .post("/api/v1/webhooks", Some(&admin.access), json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    remember_secret(hook.body["secret"].as_str().unwrap());

    let customer = app.customer(&admin, "Erin Erasable", "erin@erasable.test").await;
    let kept = app.customer(&admin, "Kim Kept", "kim@kept.test").await;
    let open = app.ticket(&admin, &customer, "Erin's printer", Some("HIGH")).await;
    let open_id = open["id"].as_str().unwrap().to_owned();
    let done = app.ticket(&admin, &customer, "Erin's invoice", None).await;
    let done_id = done["id"].as_str().unwrap().to_owned();
    let status = format!("/api/v1/tickets/{done_id}/status");
    assert_eq!(app.patch(&status, Some(&admin.access), json!({"status": "RESOLVED"})).await.status, 200);
    let comment = app
        .post(&format!("/api/v1/tickets/{open_id}/comments"), Some(&admin.access), json!({"body": "Dear Erin"}))
        .await;
    assert_eq!(comment.status, 201);
    let file = app.attach(&admin, &open_id, "erin.txt", b"Erin's secret file").await;
    let retitle = json!({"title": "Erin's printer, again"});
    assert_eq!(app.patch(&format!("/api/v1/tickets/{open_id}"), Some(&admin.access), retitle).await.status, 200);
    // A ticket made with an idempotency key: its remembered answer names the customer.
    let keyed = app
        .http
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&admin.access)
        .header("Idempotency-Key", "erin-1")
        .json(&json!({"title": "Erin again", "description": "", "customerId": customer}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 201);
    let keyed_id = TestApp::reply(keyed).await.body["id"].as_str().unwrap().to_owned();
    let other = app.ticket(&admin, &kept, "Kim's ticket", None).await;
    app.settle().await;

    let needles = vec![
        customer.clone(),
        open_id.clone(),
        done_id.clone(),
        keyed_id.clone(),
        "erin@erasable.test".to_owned(),
        "Erin".to_owned(),
    ];
    let before = mentions(&app, &needles).await;
    for table in [
        "customers:",
        "tickets:",
        "comments:",
        "attachments:",
        "notifications:",
        "outbox:",
        "webhook_deliveries:",
        "idempotency_keys:",
    ] {
        assert!(before.iter().any(|row| row.starts_with(table)), "the story wrote {table} rows");
    }

    let r = erase(&app, &admin, &customer).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let left = mentions(&app, &needles).await;
    // What remains is ids: the erasure's own record, and the audit log's rows (who did
    // what to which id, when; the fields they recorded are blanked).
    let erasure_record = format!("customer_erasures: ({},{customer},", admin.tenant_id);
    let left: Vec<&String> =
        left.iter().filter(|row| !row.starts_with(&erasure_record) && !row.starts_with("audit_log:")).collect();
    assert!(left.is_empty(), "left behind: {left:#?}");
    let words = mentions(&app, &["erin@erasable.test".to_owned(), "Erin".to_owned()]).await;
    assert!(words.is_empty(), "no name or address anywhere, the audit log included: {words:#?}");
    let owner = app.db.connect().await;
    let erased_entry: i64 = owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'customers-erase' AND target_id = $1 AND changes = '{}'",
            &[&customer.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(erased_entry, 1, "the audit log keeps the erasure, ids only");

    let blobs = app.state.blobs.clone().unwrap();
    let key = crm_core::blobs::BlobKey::parse(&format!(
        "tenants/{}/tickets/{open_id}/{}",
        admin.tenant_id,
        file["id"].as_str().unwrap()
    ))
    .unwrap();
    assert_eq!(blobs.head(&key).await.unwrap(), None, "the stored file is gone");
    assert_eq!(app.get(&format!("/api/v1/customers/{customer}"), Some(&admin.access)).await.status, 404);
    assert_eq!(app.get(&format!("/api/v1/tickets/{open_id}"), Some(&admin.access)).await.status, 404);

    // Again: the same answer, nothing else touched.
    assert_eq!(erase(&app, &admin, &customer).await.status, 202);
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/tickets/{other_id}"), Some(&admin.access)).await.status, 200);
    assert_eq!(app.get(&format!("/api/v1/customers/{kept}"), Some(&admin.access)).await.status, 200);
    let feed = app.get("/api/v1/events?limit=1000", Some(&admin.access)).await.body;
    let tickets: Vec<&str> = feed["items"].as_array().unwrap().iter().filter_map(|e| e["ticketId"].as_str()).collect();
    assert!(tickets.contains(&other_id) && !tickets.contains(&open_id.as_str()), "{tickets:?}");
}

#[tokio::test]
async fn only_an_admin_erases_and_only_its_own_tenants_customers() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let rival = app.register("Rival", "ron@rival.test").await;
    app.add_user(&admin, "bob@acme.test", "agent").await;
    let agent = common::session(&app.login("bob@acme.test", common::PASSWORD).await.body);
    let customer = app.customer(&admin, "Erin", "erin@erasable.test").await;

    assert_eq!(erase(&app, &agent, &customer).await.status, 403);
    assert_eq!(erase(&app, &rival, &customer).await.status, 404, "another tenant's customer is not there");
    assert_eq!(erase(&app, &admin, &uuid::Uuid::now_v7().to_string()).await.status, 404, "never existed");
    assert_eq!(erase(&app, &admin, "not-a-uuid").await.status, 400);
    assert_eq!(app.get(&format!("/api/v1/customers/{customer}"), Some(&admin.access)).await.status, 200);
    assert_eq!(erase(&app, &admin, &customer).await.status, 202);
    assert_eq!(erase(&app, &rival, &customer).await.status, 404, "nor its erasure");
}

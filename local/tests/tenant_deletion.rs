//! Deleting a tenant: every credential refused on the next request, its rows and files
//! gone after the purge, other tenants untouched, its addresses free again.

mod common;

use std::time::Duration;

use common::{PASSWORD, TestApp, session};
use crm_core::service::tenancy;
use reqwest::Method;
use serde_json::json;

async fn rows_of(app: &TestApp, tenant: &str) -> Vec<String> {
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = tenant.parse().unwrap();
    let tables = app.tenant_tables().await;
    let mut found = Vec::new();
    for table in tables {
        let n: i64 = owner
            .query_one(&format!("SELECT count(*) FROM {table} WHERE tenant_id = $1"), &[&tenant])
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            found.push(format!("{table}: {n}"));
        }
    }
    let n: i64 = owner.query_one("SELECT count(*) FROM tenants WHERE id = $1", &[&tenant]).await.unwrap().get(0);
    if n > 0 {
        found.push("tenants: 1".to_owned());
    }
    found
}

#[tokio::test]
async fn a_deleted_tenant_is_refused_at_once_then_gone_and_its_addresses_free() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let rival = app.register("Rival", "ron@rival.test").await;
    app.add_user(&ann, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let key = app.api_key(&ann, "Zapier", "agent").await["key"].as_str().unwrap().to_owned();
    let customer = app.customer(&ann, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&ann, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let file = app.attach(&ann, &ticket, "notes.txt", b"notes").await;
    app.post(&format!("/api/v1/tickets/{ticket}/comments"), Some(&ann.access), json!({"body": "On it"})).await;
    let noise = app.customer(&rival, "Noise", "noise@rival.test").await;
    app.ticket(&rival, &noise, "Rival's ticket", None).await;
    app.settle().await;
    let rival_before = app.snapshot(&rival.tenant_id).await;

    let delete = |token: String, confirm: &'static str| {
        let app = &app;
        async move { app.send(Method::DELETE, "/api/v1/tenant", Some(&token), Some(json!({"confirm": confirm}))).await }
    };
    assert_eq!(delete(bob.access.clone(), "Acme").await.status, 403, "agents may not");
    let wrong = delete(ann.access.clone(), "acme").await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(wrong.error_fields(), ["confirm"]);
    assert_eq!(app.get("/api/v1/tickets", Some(&ann.access)).await.status, 200, "nothing happened yet");

    let r = delete(ann.access.clone(), "Acme").await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Every credential of the tenant, on its very next request.
    for token in [&ann.access, &bob.access, &key] {
        assert_eq!(app.get("/api/v1/tickets", Some(token)).await.status, 401);
    }
    let refresh = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": ann.refresh})).await;
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    assert_eq!(app.login("ann@acme.test", PASSWORD).await.status, 401);

    // The purge (crm-local's schedule runs it too) takes it all, files included.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !rows_of(&app, &ann.tenant_id).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "left: {:?}", rows_of(&app, &ann.tenant_id).await);
        tenancy::purge(&app.state, Duration::from_secs(10), Duration::ZERO).await.unwrap();
    }
    let blobs = app.state.blobs.clone().unwrap();
    let key = crm_core::blobs::BlobKey::parse(&format!(
        "tenants/{}/tickets/{ticket}/{}",
        ann.tenant_id,
        file["id"].as_str().unwrap()
    ))
    .unwrap();
    assert_eq!(blobs.head(&key).await.unwrap(), None, "its files are gone");
    assert_eq!(app.snapshot(&rival.tenant_id).await, rival_before, "another tenant is untouched");

    // The address is free again: a new tenant, not the old one back.
    let again = app.register("Acme again", "ann@acme.test").await;
    assert_ne!(again.tenant_id, ann.tenant_id);
    assert_eq!(app.get("/api/v1/tickets", Some(&again.access)).await.body["items"], json!([]));
}

/// A large tenant goes in bounded batches: each purge run stops after its budget and the
/// next goes on.
#[tokio::test]
async fn a_large_tenant_goes_in_batches() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&ann, "Globex", "ops@globex.test").await;
    let owner = app.db.connect().await;
    let (tenant, customer_id): (uuid::Uuid, uuid::Uuid) = (ann.tenant_id.parse().unwrap(), customer.parse().unwrap());
    owner
        .execute(
            "INSERT INTO tickets (tenant_id, id, customer_id, title, description)
             SELECT $1, gen_random_uuid(), $2, 'bulk', '' FROM generate_series(1, $3::int)",
            &[&tenant, &customer_id, &(tenancy::TICKET_BATCH as i32 * 3 + 7)],
        )
        .await
        .unwrap();
    assert_eq!(
        app.send(Method::DELETE, "/api/v1/tenant", Some(&ann.access), Some(json!({"confirm": "Acme"}))).await.status,
        202
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !rows_of(&app, &ann.tenant_id).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "left: {:?}", rows_of(&app, &ann.tenant_id).await);
        tenancy::purge(&app.state, Duration::from_millis(1), Duration::ZERO).await.unwrap();
    }
}

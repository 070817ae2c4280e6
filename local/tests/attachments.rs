//! Files on a ticket, through the API and the blob store: declare, upload with the signed
//! PUT, complete, list, download, delete; what bad input and early or wrong uploads get.
//! The default run uses crm-local's own store; the S3 story runs the same body on moto.

mod common;

use common::{Session, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn upload(app: &TestApp, created: &Value, bytes: &'static [u8]) -> StatusCode {
    let upload = &created["upload"];
    assert_eq!(upload["method"], "PUT");
    let mut put = app.http.put(upload["url"].as_str().unwrap()).body(bytes);
    for (name, value) in upload["headers"].as_object().unwrap() {
        put = put.header(name.as_str(), value.as_str().unwrap());
    }
    put.send().await.unwrap().status()
}

/// The whole story on whichever store `app` has.
async fn attachment_story(app: &TestApp, admin: &Session, ticket: &str) {
    let path = format!("/api/v1/tickets/{ticket}/attachments");
    let declared = json!({"fileName": "error log.txt", "contentType": "text/plain", "size": 11});
    let created = app.post(&path, Some(&admin.access), declared).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let attachment = created.body["attachment"].clone();
    assert_eq!(
        (attachment["status"].as_str(), attachment["size"].as_i64(), attachment["commentId"].is_null()),
        (Some("PENDING"), Some(11), true)
    );
    let id = attachment["id"].as_str().unwrap().to_owned();
    let one = format!("{path}/{id}");

    // Completing before the upload is a conflict; a PENDING file is not listed and has
    // no download link.
    app.post(&format!("{one}/complete"), Some(&admin.access), json!({})).await.problem(409);
    assert_eq!(app.get(&path, Some(&admin.access)).await.body["items"], json!([]));
    assert!(app.get(&one, Some(&admin.access)).await.body["downloadUrl"].is_null());

    assert_eq!(upload(app, &created.body, b"hello world").await, StatusCode::OK);
    let done = app.post(&format!("{one}/complete"), Some(&admin.access), json!({})).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "READY");
    let again = app.post(&format!("{one}/complete"), Some(&admin.access), json!({})).await;
    assert_eq!(again.body, done.body, "completing twice changes nothing");

    let listed = app.get(&path, Some(&admin.access)).await.body;
    assert_eq!(listed["items"], json!([done.body]));
    let shown = app.get(&one, Some(&admin.access)).await.body;
    let download = app.http.get(shown["downloadUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"hello world");

    let deleted = app.send(reqwest::Method::DELETE, &one, Some(&admin.access), None).await;
    assert_eq!(deleted.status, 204);
    app.get(&one, Some(&admin.access)).await.problem(404);
    let gone = app.http.get(shown["downloadUrl"].as_str().unwrap()).send().await.unwrap();
    assert_ne!(gone.status(), StatusCode::OK, "the object went with the row");
}

async fn world(app: &TestApp) -> (Session, String) {
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    (admin, ticket)
}

#[tokio::test]
async fn a_file_is_declared_uploaded_completed_downloaded_and_deleted_in_the_local_store() {
    let app = TestApp::spawn().await;
    let (admin, ticket) = world(&app).await;
    attachment_story(&app, &admin, &ticket).await;
}

#[tokio::test]
async fn a_file_is_declared_uploaded_completed_downloaded_and_deleted_in_s3() {
    let bucket = format!("crm-test-{}", uuid::Uuid::now_v7().simple());
    let created = reqwest::Client::new().put(format!("http://127.0.0.1:4566/{bucket}")).send().await.unwrap();
    assert!(created.status().is_success());
    let app =
        TestApp::spawn_with(&[("ATTACHMENTS_BUCKET", &bucket), ("S3_ENDPOINT_URL", "http://127.0.0.1:4566")]).await;
    let (admin, ticket) = world(&app).await;
    attachment_story(&app, &admin, &ticket).await;
}

#[tokio::test]
async fn a_wrong_upload_never_completes() {
    let app = TestApp::spawn().await;
    let (admin, ticket) = world(&app).await;
    let path = format!("/api/v1/tickets/{ticket}/attachments");
    let created =
        app.post(&path, Some(&admin.access), json!({"fileName": "a.png", "contentType": "image/png", "size": 5})).await;
    assert_eq!(created.status, 201);
    let mut wrong = created.body.clone();
    wrong["upload"]["headers"]["Content-Type"] = json!("text/html");
    assert_eq!(upload(&app, &wrong, b"<b>hi").await, StatusCode::FORBIDDEN);
    let id = created.body["attachment"]["id"].as_str().unwrap();
    app.post(&format!("{path}/{id}/complete"), Some(&admin.access), json!({})).await.problem(409);
}

#[tokio::test]
async fn bad_declarations_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (admin, ticket) = world(&app).await;
    let path = format!("/api/v1/tickets/{ticket}/attachments");
    let ok = json!({"fileName": "a.txt", "contentType": "text/plain", "size": 1});
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    for (body, field) in [
        (with("fileName", json!("")), "fileName"),
        (with("fileName", json!("../../etc/passwd")), "fileName"),
        (with("fileName", json!("a/b.txt")), "fileName"),
        (with("fileName", json!("a\\b.txt")), "fileName"),
        (with("fileName", json!("..")), "fileName"),
        (with("fileName", json!("bell\u{7}.txt")), "fileName"),
        (with("fileName", json!("x".repeat(256))), "fileName"),
        (with("contentType", json!("not a type")), "contentType"),
        (with("contentType", json!("text")), "contentType"),
        (with("size", json!(0)), "size"),
        (with("size", json!(-5)), "size"),
        (with("size", json!("big")), "size"),
        (with("commentId", json!("nope")), "commentId"),
        (with("extra", json!(1)), "extra"),
    ] {
        let r = app.post(&path, Some(&admin.access), body.clone()).await;
        r.problem(422);
        assert!(r.error_fields().iter().any(|f| f == field), "{body}: {}", r.body);
    }
    let huge = app.post(&path, Some(&admin.access), with("size", json!(25 * 1024 * 1024 + 1))).await;
    assert_eq!(huge.problem(413)["detail"], "the file exceeds the limit of 26214400 bytes");
    let exact = app.post(&path, Some(&admin.access), with("size", json!(25 * 1024 * 1024))).await;
    assert_eq!(exact.status, 201, "25 MiB exactly is allowed");
    let unicode = app.post(&path, Some(&admin.access), with("fileName", json!("Übersicht 2026.pdf"))).await;
    assert_eq!(unicode.status, 201);

    let missing = format!("/api/v1/tickets/{}/attachments", uuid::Uuid::now_v7());
    assert_eq!(app.post(&missing, Some(&admin.access), ok.clone()).await.problem(404)["detail"], "ticket not found");
    let stranger = with("commentId", json!(uuid::Uuid::now_v7()));
    assert_eq!(app.post(&path, Some(&admin.access), stranger).await.problem(404)["detail"], "comment not found");
    let count: i64 = app.db.connect().await.query_one("SELECT count(*) FROM attachments", &[]).await.unwrap().get(0);
    assert_eq!(count, 2, "only the two good declarations");
}

#[tokio::test]
async fn a_file_can_belong_to_a_comment_of_its_ticket_only() {
    let app = TestApp::spawn().await;
    let (admin, ticket) = world(&app).await;
    let comment = app
        .post(&format!("/api/v1/tickets/{ticket}/comments"), Some(&admin.access), json!({"body": "See the log"}))
        .await
        .body["id"]
        .clone();
    let declared = json!({"fileName": "log.txt", "contentType": "text/plain", "size": 3, "commentId": comment});
    let r = app.post(&format!("/api/v1/tickets/{ticket}/attachments"), Some(&admin.access), declared.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["attachment"]["commentId"], comment);
    let customer = app.customer(&admin, "Initech", "it@initech.test").await;
    let other = app.ticket(&admin, &customer, "Other", None).await["id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("/api/v1/tickets/{other}/attachments"), Some(&admin.access), declared).await;
    assert_eq!(r.problem(404)["detail"], "comment not found");
}

#[tokio::test]
async fn a_signed_url_of_one_tenant_never_reaches_another_tenants_object() {
    let app = TestApp::spawn().await;
    let (ann, ticket_a) = world(&app).await;
    let a = app.attach(&ann, &ticket_a, "secret.txt", b"secret").await;
    let a_key = format!("tenants/{}/tickets/{ticket_a}/{}", ann.tenant_id, a["id"].as_str().unwrap());

    let eve = app.register("Evil", "eve@evil.test").await;
    let customer = app.customer(&eve, "Evil customer", "c@evil.test").await;
    let ticket_b = app.ticket(&eve, &customer, "Mine", None).await["id"].as_str().unwrap().to_owned();
    let path_b = format!("/api/v1/tickets/{ticket_b}/attachments");
    let created = app
        .post(&path_b, Some(&eve.access), json!({"fileName": "x.txt", "contentType": "text/plain", "size": 6}))
        .await;
    let b_id = created.body["attachment"]["id"].as_str().unwrap().to_owned();
    let b_key = format!("tenants/{}/tickets/{ticket_b}/{b_id}", eve.tenant_id);
    let upload_url = created.body["upload"]["url"].as_str().unwrap();
    assert!(upload_url.contains(&b_key), "{upload_url}");

    // Eve points her own signed upload at Ann's object: refused, Ann's bytes unchanged.
    let mut aimed = created.body.clone();
    aimed["upload"]["url"] = json!(upload_url.replace(&b_key, &a_key));
    assert_eq!(upload(&app, &aimed, b"pwned!").await, StatusCode::FORBIDDEN);
    assert_eq!(upload(&app, &created.body, b"mine!!").await, StatusCode::OK);
    app.post(&format!("{path_b}/{b_id}/complete"), Some(&eve.access), json!({})).await;
    let mine = app.get(&format!("{path_b}/{b_id}"), Some(&eve.access)).await.body;
    let download = mine["downloadUrl"].as_str().unwrap();
    let stolen = app.http.get(download.replace(&b_key, &a_key)).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::FORBIDDEN);
    let ann_view = app
        .get(&format!("/api/v1/tickets/{ticket_a}/attachments/{}", a["id"].as_str().unwrap()), Some(&ann.access))
        .await;
    let bytes =
        app.http.get(ann_view.body["downloadUrl"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"secret");
    // And through the API, Eve's ids for Ann's ticket find nothing.
    let foreign = format!("/api/v1/tickets/{ticket_a}/attachments/{}", a["id"].as_str().unwrap());
    app.get(&foreign, Some(&eve.access)).await.problem(404);
}

#[tokio::test]
async fn deleting_a_customer_erases_its_tickets_comments_and_files() {
    let app = TestApp::spawn().await;
    let (admin, ticket) = world(&app).await;
    let comments = format!("/api/v1/tickets/{ticket}/comments");
    assert_eq!(app.post(&comments, Some(&admin.access), json!({"body": "a note"})).await.status, 201);
    let file = app.attach(&admin, &ticket, "invoice.txt", b"invoice").await;
    let one = format!("/api/v1/tickets/{ticket}/attachments/{}", file["id"].as_str().unwrap());
    let download = app.get(&one, Some(&admin.access)).await.body["downloadUrl"].as_str().unwrap().to_owned();
    assert_eq!(app.http.get(&download).send().await.unwrap().status(), StatusCode::OK);

    let customer = app.get(&format!("/api/v1/tickets/{ticket}"), Some(&admin.access)).await.body["customerId"].clone();
    let status = format!("/api/v1/tickets/{ticket}/status");
    assert_eq!(app.patch(&status, Some(&admin.access), json!({"status": "RESOLVED"})).await.status, 200);
    let path = format!("/api/v1/customers/{}", customer.as_str().unwrap());
    assert_eq!(app.send(reqwest::Method::DELETE, &path, Some(&admin.access), None).await.status, 204);

    let owner = app.db.connect().await;
    for table in ["tickets", "comments", "attachments"] {
        let n: i64 = owner.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "{table}");
    }
    let blobs = app.state.blobs.clone().unwrap();
    let key = crm_core::blobs::BlobKey::parse(&format!(
        "tenants/{}/tickets/{ticket}/{}",
        admin.tenant_id,
        file["id"].as_str().unwrap()
    ))
    .unwrap();
    assert_eq!(blobs.head(&key).await.unwrap(), None, "the object is erased");
    assert_eq!(app.http.get(&download).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_never_completed_expires_after_a_day_with_its_object() {
    let app = TestApp::spawn().await;
    let (admin, ticket) = world(&app).await;
    let path = format!("/api/v1/tickets/{ticket}/attachments");
    let declare = |name: &str| json!({"fileName": name, "contentType": "text/plain", "size": 5});
    let stale = app.post(&path, Some(&admin.access), declare("stale.txt")).await.body;
    assert_eq!(upload(&app, &stale, b"stale").await, StatusCode::OK, "uploaded, never completed");
    assert_eq!(app.post(&path, Some(&admin.access), declare("fresh.txt")).await.status, 201, "PENDING, but young");
    let ready = app.attach(&admin, &ticket, "ready.txt", b"ready").await;
    let owner = app.db.connect().await;
    let old = "UPDATE attachments SET created_at = now() - interval '25 hours' WHERE id = ANY($1::text[]::uuid[])";
    let ids: Vec<String> =
        [&stale["attachment"]["id"], &ready["id"]].iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    owner.execute(old, &[&ids]).await.unwrap();

    let expired = crm_core::service::housekeeping::expire_stale_uploads(&app.state, 100).await.unwrap();
    assert_eq!(expired, 1, "only the day-old PENDING one");
    let left: Vec<String> = owner
        .query("SELECT file_name FROM attachments ORDER BY file_name", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["fresh.txt", "ready.txt"]);
    let key = format!("tenants/{}/tickets/{ticket}/{}", admin.tenant_id, stale["attachment"]["id"].as_str().unwrap());
    let key = crm_core::blobs::BlobKey::parse(&key).unwrap();
    assert_eq!(app.state.blobs.clone().unwrap().head(&key).await.unwrap(), None, "its object went too");
}

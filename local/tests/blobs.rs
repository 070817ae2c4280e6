//! The blob store of attachments, both ways: `crm-local`'s own (the default) and S3 on
//! moto (`ATTACHMENTS_BUCKET` with `S3_ENDPOINT_URL`), through the same story: a signed
//! PUT of exactly the signed bytes, the store's HEAD, a signed download, a delete. Only
//! the local store enforces what it signed (moto checks no signature), so the refusals
//! run against it, and the S3 URLs are checked to bind the size and type they sign.

mod common;

use common::TestApp;
use crm_core::{
    blobs::{BlobKey, Blobs},
    ids::{TenantId, TicketId},
};
use reqwest::StatusCode;

const ENDPOINT: &str = "http://127.0.0.1:4566";

fn key() -> BlobKey {
    BlobKey::new(TenantId::generate(), TicketId::generate(), uuid::Uuid::now_v7())
}

async fn put(app: &TestApp, url: &str, headers: &[(String, String)], body: &'static [u8]) -> StatusCode {
    let mut req = app.http.put(url).body(body);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.send().await.expect("PUT to the store").status()
}

/// What every store does: keeps the signed upload, tells its size, serves it as a named
/// download, and forgets it on delete.
async fn store_story(app: &TestApp, blobs: &Blobs) {
    let key = key();
    assert_eq!(blobs.head(&key).await.unwrap(), None, "nothing before the upload");
    let upload = blobs.upload(&key, "text/plain", 5).await.unwrap();
    let headers: Vec<(String, String)> = upload.headers.clone().into_iter().collect();
    assert!(upload.expires_at > chrono::Utc::now() + chrono::Duration::minutes(14));
    assert_eq!(put(app, &upload.url, &headers, b"hello").await, StatusCode::OK);
    assert_eq!(blobs.head(&key).await.unwrap().map(|o| o.size), Some(5));

    let download = blobs.download(&key, "greeting.txt", "text/plain").await.unwrap();
    let got = app.http.get(&download.url).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"hello");

    blobs.delete(&key).await.unwrap();
    assert_eq!(blobs.head(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();
}

#[tokio::test]
async fn the_local_store_keeps_exactly_what_it_signed_and_refuses_the_rest() {
    let app = TestApp::spawn().await;
    let blobs = app.state.blobs.clone().expect("a development run has its own store");
    assert!(blobs.local().is_some());
    store_story(&app, &blobs).await;

    let key = key();
    let upload = blobs.upload(&key, "image/png", 5).await.unwrap();
    let headers: Vec<(String, String)> = upload.headers.clone().into_iter().collect();
    let with_type = |t: &str| vec![("Content-Type".to_owned(), t.to_owned())];
    // More or fewer bytes than signed, another type, another size or key in the URL, a
    // forged signature, another method: all refused, and nothing stored.
    assert_eq!(put(&app, &upload.url, &with_type("image/png"), b"hello!!").await, StatusCode::FORBIDDEN);
    assert_eq!(put(&app, &upload.url, &with_type("image/png"), b"hey").await, StatusCode::FORBIDDEN);
    assert_eq!(put(&app, &upload.url, &with_type("text/html"), b"hello").await, StatusCode::FORBIDDEN);
    let bigger = upload.url.replace("size=5", "size=7");
    assert_eq!(put(&app, &bigger, &with_type("image/png"), b"hello!!").await, StatusCode::FORBIDDEN);
    let other = key.as_str().replace(&key.as_str()[key.as_str().len() - 36..], &uuid::Uuid::now_v7().to_string());
    let elsewhere = upload.url.replace(key.as_str(), &other);
    assert_eq!(put(&app, &elsewhere, &headers, b"hello").await, StatusCode::FORBIDDEN);
    let (unsigned, _) = upload.url.split_once("&sig=").unwrap();
    let forged = format!("{unsigned}&sig={}", "0".repeat(64));
    assert_eq!(put(&app, &forged, &headers, b"hello").await, StatusCode::FORBIDDEN);
    assert_eq!(app.http.get(&upload.url).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(blobs.head(&key).await.unwrap(), None, "no refused upload was stored");

    // The signed download carries its name and type; the same URL reaches no other key.
    assert_eq!(put(&app, &upload.url, &headers, b"hello").await, StatusCode::OK);
    let download = blobs.download(&key, "Été \"1\".png", "image/png").await.unwrap();
    let got = app.http.get(&download.url).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"_t_ _1_.png\"; filename*=UTF-8''%C3%89t%C3%A9%20%221%22.png"
    );
    let renamed = download.url.replace("name=", "name=x");
    assert_eq!(app.http.get(&renamed).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let elsewhere = download.url.replace(key.as_str(), &other);
    assert_eq!(app.http.get(&elsewhere).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    // A second app (another process) has its own key: its URLs open nothing here.
    let stranger = TestApp::spawn().await;
    let theirs = stranger.state.blobs.clone().unwrap().download(&key, "x.png", "image/png").await.unwrap();
    let here = theirs.url.replace(&stranger.addr.to_string(), &app.addr.to_string());
    assert_eq!(app.http.get(&here).send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn s3_keeps_what_its_presigned_urls_sign_on_moto() {
    let bucket = format!("crm-test-{}", uuid::Uuid::now_v7().simple());
    // moto creates a bucket on an unsigned path-style PUT.
    let created = reqwest::Client::new().put(format!("{ENDPOINT}/{bucket}")).send().await.expect("moto answers");
    assert!(created.status().is_success(), "create bucket: {}", created.status());
    let app = TestApp::spawn_with(&[("ATTACHMENTS_BUCKET", &bucket), ("S3_ENDPOINT_URL", ENDPOINT)]).await;
    let blobs = app.state.blobs.clone().expect("the S3 store");
    assert!(blobs.local().is_none());
    store_story(&app, &blobs).await;

    // moto enforces no signature, so check what S3 would: the URL signs the size and type.
    let upload = blobs.upload(&key(), "application/pdf", 1234).await.unwrap();
    let url = reqwest::Url::parse(&upload.url).unwrap();
    let signed: String = url.query_pairs().find(|(k, _)| k == "X-Amz-SignedHeaders").unwrap().1.into_owned();
    let signed: Vec<&str> = signed.split(';').collect();
    assert!(signed.contains(&"content-length") && signed.contains(&"content-type"), "{signed:?}");
    assert_eq!(upload.headers.get("content-length").map(String::as_str), Some("1234"), "{:?}", upload.headers);
    assert!(url.path().starts_with(&format!("/{bucket}/tenants/")), "path-style, under the tenant: {url}");
    let download = blobs.download(&key(), "a.pdf", "application/pdf").await.unwrap();
    let query: String = reqwest::Url::parse(&download.url).unwrap().query().unwrap().to_owned();
    assert!(query.contains("response-content-disposition=attachment"), "{query}");
}

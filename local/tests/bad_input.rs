//! Every bad input answers a clear 4xx problem+json; nothing answers 500.

mod common;

use common::{PASSWORD, TestApp};
use serde_json::json;

const REGISTER: &str = "/api/v1/auth/register";

#[tokio::test]
async fn malformed_and_mistyped_bodies_name_what_is_wrong() {
    let app = TestApp::spawn().await;
    let json_ct = Some("application/json");

    let r = app.post_raw(REGISTER, None, json_ct, b"{\"tenantName\": ".to_vec()).await;
    r.problem(400);
    let r = app.post_raw(REGISTER, None, json_ct, Vec::new()).await;
    r.problem(400);
    let r = app.post_raw(REGISTER, None, Some("text/plain"), b"{}".to_vec()).await;
    r.problem(415);
    let r = app.post_raw(REGISTER, None, None, b"{}".to_vec()).await;
    r.problem(415);

    let cases = [
        (json!({"email": "a@b.test", "password": PASSWORD}), "tenantName"),
        (json!({"tenantName": 42, "email": "a@b.test", "password": PASSWORD}), "tenantName"),
        (json!({"tenantName": "A", "email": "a@b.test", "password": PASSWORD, "isAdmin": true}), "isAdmin"),
        (json!({"tenantName": "A", "email": "not-an-email", "password": PASSWORD}), "email"),
        (json!({"tenantName": "A", "email": "a@b.test", "password": "short"}), "password"),
        (json!({"tenantName": "   ", "email": "a@b.test", "password": PASSWORD}), "tenantName"),
        (json!({"tenantName": "x".repeat(201), "email": "a@b.test", "password": PASSWORD}), "tenantName"),
        (json!({"tenantName": "A", "email": "a@b.test", "password": "p".repeat(129)}), "password"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let r = app.post(REGISTER, None, body.clone()).await;
        r.problem(422);
        assert!(r.error_fields().contains(&field.to_owned()), "{body} should name {field}: {}", r.body);
    }
    let r = app.post("/api/v1/users", None, json!({})).await;
    r.problem(401);

    let admin = app.register("Acme", "ann@acme.test").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({"email": "b@acme.test", "name": "B", "password": PASSWORD, "role": "owner"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "role");
    let r =
        app.patch(&format!("/api/v1/users/{}", admin.user_id), Some(&admin.access), json!({"disabled": "yes"})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "disabled");
    let r = app.get("/api/v1/users/not-a-uuid", Some(&admin.access)).await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "id");
    // None of the refused registrations created a tenant or user.
    let owner = app.db.connect().await;
    let users: i64 = owner.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert_eq!(users, 1);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let big = json!({"tenantName": "A", "email": "a@b.test", "password": PASSWORD, "name": "x".repeat(1024 * 1024)});
    let r = app.post(REGISTER, None, big).await;
    assert!(r.problem(413)["detail"].as_str().unwrap().contains("1048576"));
    // Above API Gateway's own 10 MB limit the emulated gateway refuses it first.
    let huge = vec![b' '; 11 * 1024 * 1024];
    let r = app.post_raw(REGISTER, None, Some("application/json"), huge).await;
    r.problem(413);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/nothing-here", None).await;
    r.problem(404);
    let r = app.send(reqwest::Method::DELETE, "/api/v1/users", None, None).await;
    r.problem(405);
    assert_eq!(r.headers.get("allow").unwrap(), "POST, GET");
    let r = app.send(reqwest::Method::GET, "/api/v1/auth/login", None, None).await;
    r.problem(405);
}

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::spawn().await;
    let r = app.get("/health", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"status": "ok", "database": "up"}));
}

#[tokio::test]
async fn the_docs_function_serves_swagger_ui_and_the_spec_without_a_cdn() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/api-docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/api-docs/assets/swagger-ui-bundle.js") && !html.contains("https://"), "{html}");
    for (asset, kind) in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")] {
        let r = app.http.get(app.url(&format!("/api-docs/assets/{asset}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(kind));
        assert!(r.bytes().await.unwrap().len() > 10_000, "{asset} is the real asset");
    }
    app.get("/api-docs/assets/secrets.txt", None).await.problem(404);
    let spec = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.body["info"]["title"], "SimpleCRM API");
    assert!(spec.body["paths"]["/api/v1/users/{id}"]["patch"].is_object());
}

//! Security hardening seen from outside: security headers on every kind of answer, strict
//! JSON, and `crm-local` refusing huge bodies without buffering them.

mod common;

use std::time::Duration;

use common::{PASSWORD, Reply, TestApp};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const REGISTER: &str = "/api/v1/auth/register";

#[track_caller]
fn assert_secure(r: &Reply, what: &str) {
    for (name, value) in
        [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")]
    {
        assert_eq!(r.headers.get(name).map(|v| v.to_str().unwrap()), Some(value), "{what}: {name}");
    }
    assert!(r.headers.contains_key("content-security-policy"), "{what}: CSP");
}

fn cache(r: &Reply) -> &str {
    r.headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn every_kind_of_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let accepted =
        app.post(REGISTER, None, json!({"tenantName": "Acme", "email": "ann@acme.test", "password": PASSWORD})).await;
    assert_eq!(accepted.status, 202);
    assert_secure(&accepted, "register");
    let link = app.mailed_token("ann@acme.test", "/verify-email").await;
    let registered = app.post("/api/v1/auth/verify-email", None, json!({"token": link})).await;
    assert_eq!(registered.status, 200);
    assert_secure(&registered, "verify-email");
    assert_eq!(cache(&registered), "no-store", "tokens are never cached");
    let token = registered.body["accessToken"].as_str().unwrap();

    let login = app.login("ann@acme.test", PASSWORD).await;
    assert_eq!((login.status.as_u16(), cache(&login)), (200, "no-store"));
    assert_secure(&login, "login");
    let me = app.get("/api/v1/auth/me", Some(token)).await;
    assert_eq!((me.status.as_u16(), cache(&me)), (200, "no-store"));
    assert_eq!(me.headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");

    let problem = app.get("/api/v1/users", None).await;
    problem.problem(401);
    assert_secure(&problem, "controller problem");
    assert_eq!(cache(&problem), "no-store");
    let no_route = app.get("/nowhere", None).await;
    no_route.problem(404);
    assert_secure(&no_route, "crm-local 404");
    let wrong_method = app.send(reqwest::Method::PUT, "/health", None, None).await;
    wrong_method.problem(405);
    assert_secure(&wrong_method, "crm-local 405");
    assert_secure(&app.get("/health", None).await, "health");

    let page = app.get("/api-docs", None).await;
    assert_secure(&page, "docs page");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"), "{csp}");
    let html = page.body.as_str().unwrap();
    // No inline script: every <script> loads a file, which `default-src 'self'` allows.
    assert_eq!(html.matches("<script").count(), html.matches("<script src=\"/api-docs/assets/").count(), "{html}");
    let init = app.get("/api-docs/assets/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200);
    assert!(init.body.as_str().unwrap().contains("SwaggerUIBundle"));
    let asset = app.get("/api-docs/assets/swagger-ui.css", None).await;
    assert_secure(&asset, "asset");
    assert!(cache(&asset).starts_with("public, max-age="), "static assets may be cached");
}

#[tokio::test]
async fn strict_json_refuses_duplicates_deep_nesting_and_impossible_numbers() {
    let app = TestApp::spawn().await;
    let ct = Some("application/json");
    let send = |body: String| app.post_raw(REGISTER, None, ct, body.into_bytes());

    let r = send(format!(
        r#"{{"tenantName":"Acme","email":"ann@acme.test","email":"eve@evil.test","password":"{PASSWORD}"}}"#
    ))
    .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["email"], "{}", r.body);

    let deep = format!(r#"{{"tenantName":{}1{}}}"#, "[".repeat(33), "]".repeat(33));
    let r = send(deep).await;
    assert!(r.problem(400)["detail"].as_str().unwrap().contains("32"), "{}", r.body);
    let very_deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    send(very_deep).await.problem(400);

    for number in ["1e400", "-1e400", "123456789012345678901234567890"] {
        let r = send(format!(r#"{{"tenantName":{number},"email":"a@b.test","password":"{PASSWORD}"}}"#)).await;
        assert!(r.status.is_client_error(), "{number}: {}", r.body);
        r.problem(422);
        assert_eq!(r.error_fields(), ["tenantName"], "{number}: {}", r.body);
    }
    for not_json in ["NaN", "Infinity", "-Infinity"] {
        send(format!(r#"{{"tenantName":{not_json},"email":"a@b.test","password":"{PASSWORD}"}}"#)).await.problem(400);
    }
    // Nothing was created by any of it.
    let owner = app.db.connect().await;
    let users: i64 = owner.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert_eq!(users, 0);
}

/// Sends `head`, then pushes up to 100 MiB of `chunk`s while reading the answer; returns
/// the answer's text and how many chunks the server took before it stopped reading.
async fn push_100_mib(app: &TestApp, head: String, chunk: Vec<u8>) -> (String, usize) {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let pusher = tokio::spawn(async move {
        let mut sent = 0usize;
        for _ in 0..100 {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(20), reader.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    (String::from_utf8_lossy(&raw).into_owned(), pusher.await.unwrap())
}

/// Writes the whole request, as Python's urllib does, and only then reads the answer.
async fn write_all_then_read(app: &TestApp, head: String, body: Vec<u8>) -> String {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.expect("the head is written");
    stream.write_all(&body).await.expect("the whole body is written: the server reads it before refusing it");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes")
        .expect("the answer is read, not reset");
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test]
async fn a_client_that_writes_an_8_mb_body_before_reading_gets_the_413() {
    let app = TestApp::spawn().await;
    let size = 8 * 1024 * 1024;
    let head = format!(
        "POST {REGISTER} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"
    );
    let text = write_all_then_read(&app, head, vec![b' '; size]).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("limit of 1048576 bytes"), "{text}");

    // Chunked: the cap is passed mid-body, and the rest is read all the same.
    let head = format!(
        "POST {REGISTER} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let mib = 1024 * 1024;
    let mut body = format!("{:x}\r\n{}\r\n", mib, " ".repeat(mib)).repeat(8).into_bytes();
    body.extend_from_slice(b"0\r\n\r\n");
    let text = write_all_then_read(&app, head, body).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[tokio::test]
async fn a_100_megabyte_body_is_refused_without_being_read() {
    let app = TestApp::spawn().await;
    let head = |extra: &str| {
        format!("POST {REGISTER} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n{extra}\r\n")
    };
    let mib = 1024 * 1024;

    // Declared by Content-Length: refused on the headers alone.
    let (text, sent) = push_100_mib(&app, head("content-length: 104857600\r\n"), vec![b' '; mib]).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("application/problem+json") && text.contains("limit of 1048576 bytes"), "{text}");
    assert!(text.to_ascii_lowercase().contains("x-content-type-options: nosniff"), "{text}");
    assert!(sent < 100, "the server stopped reading long before 100 MiB ({sent} MiB accepted)");

    // Chunked, no length: streamed with a cap, refused once the cap is passed.
    let chunk = format!("{:x}\r\n{}\r\n", mib, " ".repeat(mib)).into_bytes();
    let (text, sent) = push_100_mib(&app, head("transfer-encoding: chunked\r\n"), chunk).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(sent < 100, "the server stopped reading long before 100 MiB ({sent} MiB accepted)");

    // And it keeps serving.
    let health = app.get("/health", None).await;
    assert_eq!(health.status, 200);
    let r =
        app.post(REGISTER, None, json!({"tenantName": "Acme", "email": "ann@acme.test", "password": PASSWORD})).await;
    assert_eq!(r.status, 202, "{}", r.body);
}

/// Inputs the fuzzer (scripts/fuzz-api) found answering 500, now refused as 4xx.
#[tokio::test]
async fn fuzzer_findings_are_client_errors() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;

    // U+0000 cannot be stored in PostgreSQL text: refused before it gets there.
    let r = app
        .post_raw(
            "/api/v1/auth/login",
            None,
            Some("application/json"),
            br#"{"email":"a\u0000@b.test","password":"x"}"#.to_vec(),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "email");
    let r =
        app.post("/api/v1/customers", Some(&s.access), json!({"name": "Nul\u{0}", "email": "nul@globex.test"})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "name");
    let r = app.get("/api/v1/customers?q=%00", Some(&s.access)).await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "q");

    // A header value that is not UTF-8 cannot travel in an API Gateway event.
    let res = app
        .http
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&s.access)
        .header("idempotency-key", reqwest::header::HeaderValue::from_bytes(b"key-\xff").unwrap())
        .json(&json!({"name": "Globex", "email": "ops@globex.test"}))
        .send()
        .await
        .unwrap();
    let r = TestApp::reply(res).await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "idempotency-key");
    assert_eq!(app.get("/health", None).await.status, 200);
}

/// Every answer names its request in `x-request-id`, the id a problem's `requestId`
/// carries: answers of a function, its problems, and the gateway's own refusals.
#[tokio::test]
async fn every_answer_carries_its_request_id() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let id = |r: &Reply| r.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();

    let ok = app.get("/api/v1/tickets", Some(&s.access)).await;
    assert_eq!(ok.status, 200);
    let problems = [
        app.get("/api/v1/tickets?limit=0", Some(&s.access)).await,
        app.get("/api/v1/tickets", None).await,
        app.get("/api/v1/no-such-route", Some(&s.access)).await,
        app.send(reqwest::Method::DELETE, "/api/v1/tickets", Some(&s.access), None).await,
    ];
    let mut seen = vec![id(&ok)];
    for r in &problems {
        assert!(r.status.is_client_error(), "{}", r.body);
        assert_eq!(r.body["requestId"].as_str(), Some(id(r).as_str()), "{} {}", r.status, r.body);
        seen.push(id(r));
    }
    assert!(seen.iter().all(|i| !i.is_empty()), "{seen:?}");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 1 + problems.len(), "one id per request: {seen:?}");
}

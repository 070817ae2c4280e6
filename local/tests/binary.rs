//! The README's run command, as a user runs it: the `crm-local` binary creates its
//! database, migrates, serves, logs one JSON line per request, and stops cleanly on SIGTERM.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::PASSWORD;
use crm_core::db::testing::TestDb;
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn the_binary_creates_its_database_serves_logs_and_stops_on_sigterm() {
    // Reserved, not created: creating it is the binary's job.
    let db = TestDb::reserve();
    let database_url = db.url.clone();
    let addr = format!("127.0.0.1:{}", free_port());
    let jwt_secret = "binary-test-signing-key-0123456789abcdef-SECRET";

    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-local"))
        .env("DATABASE_URL", &database_url)
        .env("LISTEN_ADDR", &addr)
        .env("JWT_SECRET", jwt_secret)
        .env("LOG_FORMAT", "json")
        .env("METRICS_NAMESPACE", "SimpleCRM/binary-test")
        .env_remove("APP_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines =
        std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>());

    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "crm-local did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let accepted = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"tenantName": "Acme", "email": "ann@acme.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    // A person trying the API reads the link from the local mailbox.
    let mailbox: Value =
        http.get(format!("{base}/_local/mailbox?to=ann@acme.test")).send().await.unwrap().json().await.unwrap();
    let text = mailbox["items"][0]["text"].as_str().unwrap_or_default();
    let token = common::link_token(text, "/verify-email").expect("a verification link in the mail");
    common::remember_secret(&token);
    let registered: Value = http
        .post(format!("{base}/api/v1/auth/verify-email"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = registered["accessToken"].as_str().unwrap();
    let refresh = registered["refreshToken"].as_str().unwrap();
    let me = http.get(format!("{base}/api/v1/auth/me")).bearer_auth(access).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let wrong = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "ann@acme.test", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    http.post(format!("{base}/api/v1/auth/refresh")).json(&json!({"refreshToken": refresh})).send().await.unwrap();

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exits 0 on SIGTERM");

    let lines = lines.join().unwrap();
    let records: Vec<Value> =
        lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}"))).collect();
    // CloudWatch EMF: one metrics document per route per invocation, beside the logs.
    let emf = records
        .iter()
        .find(|r| r["Route"] == "GET /api/v1/auth/me" && r["_aws"].is_object())
        .unwrap_or_else(|| panic!("no EMF document for auth-me in {lines:#?}"));
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "SimpleCRM/binary-test");
    assert_eq!(directive["Dimensions"], json!([["Route"]]));
    let names: Vec<&str> = directive["Metrics"].as_array().unwrap().iter().filter_map(|m| m["Name"].as_str()).collect();
    assert!(names.contains(&"Requests") && names.contains(&"Latency"), "{names:?}");
    assert_eq!(emf["Requests"], 1);
    assert!(emf["_aws"]["Timestamp"].is_u64());
    let login_failure = records
        .iter()
        .find(|r| r["Route"] == "POST /api/v1/auth/login" && r["_aws"].is_object())
        .unwrap_or_else(|| panic!("no EMF document for auth-login"));
    assert_eq!(login_failure["ClientErrors"], 1, "a 401 counts as a client error");
    let me_line = records
        .iter()
        .find(|r| r["span"]["function"] == "auth-me" && r["status"] == 200)
        .unwrap_or_else(|| panic!("no request line for auth-me in {lines:#?}"));
    let span = &me_line["span"];
    assert_eq!(span["route"], "GET /api/v1/auth/me");
    assert_eq!(span["tenant_id"], registered["tenant"]["id"]);
    assert_eq!(span["user_id"], registered["user"]["id"]);
    assert!(span["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(me_line["latency_ms"].is_number());
    assert!(records.iter().any(|r| r["span"]["function"] == "auth-login" && r["status"] == 401));

    let all = lines.join("\n");
    for secret in [PASSWORD, "wrong password", access, refresh, jwt_secret, "$argon2id"] {
        assert!(!all.contains(secret), "the logs leak a secret: {secret}");
    }
}

//! Faults the API survives: its idle database connections killed under it (a failover, a
//! restart, RDS Proxy recycling) cost nothing: a unit of work whose first round trip finds
//! its connection gone moves to another before anything of it ran. Never a 500 or a hang.

mod common;

use std::time::Duration;

use common::{JWT_SECRET, TestApp};
use crm_core::{AppState, Config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn killed_database_connections_are_replaced() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let owner = app.db.connect().await;

    for round in 0..3 {
        let killed: i64 = owner
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'simplecrm') k",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(killed > 0, "round {round}: the app had connections to kill");
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let r = app
                .post(
                    "/api/v1/tickets",
                    Some(&admin.access),
                    json!({"title": "T", "description": "", "customerId": customer}),
                )
                .await;
            statuses.push(r.status.as_u16());
        }
        eprintln!("round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 201), "round {round}: every request served: {statuses:?}");
    }
    let stats = app.get("/api/v1/stats", Some(&admin.access)).await.body;
    let created: i64 = owner.query_one("SELECT count(*) FROM tickets", &[]).await.unwrap().get(0);
    assert_eq!(stats["totalTickets"].as_i64(), Some(created), "every 201 is one ticket");
}

#[tokio::test]
async fn a_row_locked_elsewhere_costs_a_503_in_seconds_not_the_function_timeout() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let owner = app.db.connect().await;
    // Another session holds the ticket's row, as a stuck transaction would.
    owner.batch_execute(&format!("BEGIN; SELECT 1 FROM tickets WHERE id = '{ticket}' FOR UPDATE")).await.unwrap();

    let path = format!("/api/v1/tickets/{ticket}/status");
    let started = std::time::Instant::now();
    let change = || app.patch(&path, Some(&admin.access), json!({"status": "IN_PROGRESS"}));
    let r = tokio::time::timeout(std::time::Duration::from_secs(9), change())
        .await
        .expect("an answer while the lock is still held, inside the 10 s function timeout");
    r.problem(503);
    assert_eq!(r.headers.get("retry-after").unwrap(), "5", "a 503 tells when to retry");
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "{:?}", started.elapsed());

    owner.batch_execute("ROLLBACK").await.unwrap();
    let r = change().await;
    assert_eq!(r.status, 200, "once the lock is gone: {}", r.body);
}

/// A TCP proxy in front of PostgreSQL, on a thread and runtime of its own, that holds each
/// chunk the app sends for `delay`: a database some distance away, so that a statement's
/// round trip outlasts the few steps an answer takes.
fn distant_database(delay: Duration) -> u16 {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            while let Ok((app, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await else { return };
                    let (mut from_app, mut to_app) = app.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    let upstream = async {
                        let mut buffer = vec![0u8; 16 * 1024];
                        loop {
                            let n = from_app.read(&mut buffer).await?;
                            if n == 0 {
                                return to_server.shutdown().await;
                            }
                            tokio::time::sleep(delay).await;
                            to_server.write_all(&buffer[..n]).await?;
                        }
                    };
                    let downstream = tokio::io::copy(&mut from_server, &mut to_app);
                    let _: (std::io::Result<()>, _) = tokio::join!(upstream, downstream);
                });
            }
        });
    });
    port_rx.recv().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_transaction_an_error_dropped_is_rolled_back_before_the_answer() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let port = distant_database(Duration::from_millis(200));
    let url = app.db.url.replacen("@127.0.0.1:5432/", &format!("@127.0.0.1:{port}/"), 1);
    assert_ne!(url, app.db.url, "the test database is on 127.0.0.1:5432");
    let config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
        _ => None,
    })
    .unwrap();
    let function = AppState::new(config, 1).unwrap();
    // The insert fails on the customer's foreign key: the error drops the transaction.
    let body = json!({"title": "T", "description": "", "customerId": uuid::Uuid::now_v7()}).to_string();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/api/v1/tickets")
        .header("authorization", format!("Bearer {}", admin.access))
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(body))
        .unwrap();
    let answer = crm_functions::invoke::dispatch("tickets-create", function, req, crm_functions::tickets::create).await;
    assert_eq!(answer.status(), 404);

    // Lambda freezes the container now: nothing more runs on this (single) thread while
    // another thread looks at the function's session from the database's side.
    let url = app.db.url.clone();
    let open = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let (owner, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            // The test's own crm-local shares the database and the application name: its
            // background work passes through "idle in transaction" for a moment. A session
            // the frozen function left open stays there, so it is seen on every look.
            let mut open = Vec::new();
            for _ in 0..10 {
                let rows = owner
                    .query(
                        "SELECT state FROM pg_stat_activity
                         WHERE datname = current_database() AND application_name = 'simplecrm'
                           AND state LIKE 'idle in transaction%'",
                        &[],
                    )
                    .await
                    .unwrap();
                open = rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
                if open.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            open
        })
    })
    .join()
    .unwrap();
    assert!(open.is_empty(), "sessions left in a transaction after the answer: {open:?}");
}

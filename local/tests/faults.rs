//! Faults the API survives: its idle database connections killed under it (a failover, a
//! restart, RDS Proxy recycling) cost nothing: a unit of work whose first round trip finds
//! its connection gone moves to another before anything of it ran. Never a 500 or a hang.

mod common;

use common::TestApp;
use serde_json::json;

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

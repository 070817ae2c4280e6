//! The event pipeline over a real SQS endpoint (moto's server, a queue per test): no lost
//! events, no doubled notifications, poison messages dead-lettered, outages survived.

mod common;

use std::time::Duration;

use common::{
    TestApp,
    sqs::{DEFAULT_PORT, TestQueue, endpoint, eventually, failing_after, silent_endpoint, stop_endpoint},
};
use crm_core::{AppState, Config, db::testing::TestDb, service::pipeline};
use serde_json::{Value, json};

async fn notifications(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/notifications?limit=100", Some(token)).await.body["items"].as_array().cloned().unwrap_or_default()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.connect().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn each_ticket_event_becomes_exactly_one_notification_through_sqs() {
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let app = TestApp::spawn_with_sqs(&endpoint(DEFAULT_PORT), &queue.url).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent = app.add_user(&admin, "bob@acme.test", "agent").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/tickets/{ticket}/status"), Some(&admin.access), json!({"status": "IN_PROGRESS"})).await;
    app.patch(&format!("/api/v1/tickets/{ticket}/assign"), Some(&admin.access), json!({"assigneeId": agent})).await;

    eventually(Duration::from_secs(20), "three notifications", || async {
        notifications(&app, &admin.access).await.len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = notifications(&app, &admin.access).await;
    let types: Vec<&str> = got.iter().map(|n| n["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["ticket.assigned", "ticket.status_changed", "ticket.created"], "newest first, one each");
    assert!(got.iter().all(|n| n["ticketId"] == ticket.as_str()));
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await,
        0,
        "published right after commit"
    );
    eventually(Duration::from_secs(10), "the queue to drain", || async { queue.depth(&queue.url).await == 0 }).await;

    // Another tenant sees none of it.
    let other = app.register("Other", "zed@other.test").await;
    assert!(notifications(&app, &other.access).await.is_empty());
}

#[tokio::test]
async fn a_redelivered_event_writes_one_notification() {
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let app = TestApp::spawn_with_sqs(&endpoint(DEFAULT_PORT), &queue.url).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer", None).await["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(20), "the created notification", || async {
        notifications(&app, &admin.access).await.len() == 1
    })
    .await;

    // SQS delivers at least once: the same event arrives twice.
    let owner = app.db.connect().await;
    let payload: Value = owner.query_one("SELECT payload FROM outbox LIMIT 1", &[]).await.unwrap().get(0);
    queue.send(&payload.to_string()).await;
    queue.send(&payload.to_string()).await;
    eventually(Duration::from_secs(20), "the duplicates to be consumed", || async {
        queue.depth(&queue.url).await == 0
    })
    .await;
    let got = notifications(&app, &admin.access).await;
    assert_eq!(got.len(), 1, "still one notification: {got:?}");
    assert_eq!(got[0]["ticketId"], ticket.as_str());
}

#[tokio::test]
async fn a_redelivered_public_reply_mails_the_customer_once() {
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let app = TestApp::spawn_with_sqs(&endpoint(DEFAULT_PORT), &queue.url).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer", None).await["id"].as_str().unwrap().to_owned();
    let r = app
        .post(&format!("/api/v1/tickets/{ticket}/comments"), Some(&admin.access), json!({"body": "On our way."}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    eventually(Duration::from_secs(20), "the reply's mail", || async {
        !app.mailbox("ops@globex.test").await.is_empty()
    })
    .await;

    // The same comment.created event arrives twice more.
    let owner = app.db.connect().await;
    let payload: Value =
        owner.query_one("SELECT payload FROM outbox WHERE event_type = 'comment.created'", &[]).await.unwrap().get(0);
    queue.send(&payload.to_string()).await;
    queue.send(&payload.to_string()).await;
    eventually(Duration::from_secs(20), "the duplicates to be consumed", || async {
        queue.depth(&queue.url).await == 0
    })
    .await;
    let mails = app.mailbox("ops@globex.test").await;
    assert_eq!(mails.len(), 1, "one mail for one reply: {mails:?}");
    assert_eq!(mails[0]["subject"], "Re: Printer");
    assert!(mails[0]["text"].as_str().unwrap().contains("On our way."), "{mails:?}");
}

#[tokio::test]
async fn a_poison_message_is_retried_alone_and_then_dead_lettered() {
    // Two receives, then the dead-letter queue; one second of invisibility between tries.
    let queue = TestQueue::create(DEFAULT_PORT, 2, 1).await;
    let app = TestApp::spawn_with_sqs(&endpoint(DEFAULT_PORT), &queue.url).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    app.ticket(&admin, &customer, "Printer", None).await;
    eventually(Duration::from_secs(20), "the good event", || async {
        notifications(&app, &admin.access).await.len() == 1
    })
    .await;

    queue.send("this is not a ticket event").await;
    let owner = app.db.connect().await;
    let mut good: Value = owner.query_one("SELECT payload FROM outbox LIMIT 1", &[]).await.unwrap().get(0);
    good["eventId"] = json!(uuid::Uuid::now_v7());
    good["type"] = json!("ticket.status_changed");
    good["before"] = json!({"status": "OPEN"});
    good["after"] = json!({"status": "RESOLVED"});
    queue.send(&good.to_string()).await;

    eventually(Duration::from_secs(30), "the poison message in the dead-letter queue", || async {
        queue.depth(&queue.dlq_url).await == 1 && queue.depth(&queue.url).await == 0
    })
    .await;
    assert_eq!(queue.bodies(&queue.dlq_url).await, ["this is not a ticket event"]);
    let got = notifications(&app, &admin.access).await;
    assert_eq!(got.len(), 2, "the good message of the batch was consumed once: {got:?}");
}

#[tokio::test]
async fn tickets_made_while_sqs_is_down_are_delivered_by_the_sweeper() {
    // A private endpoint this test can stop and start.
    let port = 4600 + (std::process::id() % 300) as u16;
    stop_endpoint(port);
    let name = format!("outage-{}", uuid::Uuid::new_v4().simple());
    let queue = TestQueue::create_named(port, &name, 5, 30).await;
    let app = TestApp::spawn_with_sqs(&endpoint(port), &queue.url).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;

    stop_endpoint(port);
    let mut tickets = Vec::new();
    for i in 0..20 {
        let r = app
            .post(
                "/api/v1/tickets",
                Some(&admin.access),
                json!({"title": format!("T{i}"), "description": "", "customerId": customer}),
            )
            .await;
        assert_eq!(r.status, 201, "a queue outage never fails the request: {}", r.body);
        tickets.push(r.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(count(&app, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await, 20, "safe in the outbox");

    // The endpoint returns empty (moto keeps nothing); the queue is created again.
    let again = TestQueue::create_named(port, &name, 5, 30).await;
    assert_eq!(again.url, queue.url, "the same queue URL as before the outage");
    eventually(Duration::from_secs(40), "20 notifications after the outage", || async {
        notifications(&app, &admin.access).await.len() >= 20
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = notifications(&app, &admin.access).await;
    let mut per_ticket: Vec<&str> = got.iter().map(|n| n["ticketId"].as_str().unwrap()).collect();
    per_ticket.sort();
    let mut expected: Vec<&str> = tickets.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(per_ticket, expected, "exactly one notification per ticket");
    assert_eq!(count(&app, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await, 0);
    stop_endpoint(port);
}

/// A sweeper's state (no HTTP): `db`, the queue at `queue_url` on `sqs`.
fn sweeper_state(db: &TestDb, queue_url: &str, sqs: &str) -> AppState {
    pipeline_state(db, queue_url, sqs, &[])
}

/// The pipeline's state with extra configuration `vars`.
fn pipeline_state(db: &TestDb, queue_url: &str, sqs: &str, vars: &[(&str, &str)]) -> AppState {
    let config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(db.url.clone()),
        "SQS_QUEUE_URL" => Some(queue_url.to_owned()),
        "AWS_ENDPOINT_URL" => Some(sqs.to_owned()),
        _ => vars.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned()),
    })
    .unwrap();
    AppState::new(config, 4).unwrap()
}

#[tokio::test]
async fn a_database_outage_longer_than_five_receives_backs_off_and_dead_letters_nothing() {
    // Tickets whose events wait in the outbox: made while the queue was unreachable.
    let unreachable = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let app =
        TestApp::spawn_with_sqs(&endpoint(unreachable), &format!("{}/123456789012/none", endpoint(unreachable))).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    for i in 0..8 {
        app.ticket(&admin, &customer, &format!("T{i}"), None).await;
    }
    // Visible again 1 s after a receive: five receives take a few seconds without backoff.
    let queue = TestQueue::create(DEFAULT_PORT, 5, 1).await;
    let vars = [("CONSUMER_BACKOFF_SECONDS", "1")];
    let state = pipeline_state(&app.db, &queue.url, &endpoint(DEFAULT_PORT), &vars);
    // The app's own sweeper keeps trying its unreachable queue and leases rows meanwhile.
    let mut sent = 0;
    for _ in 0..50 {
        sent += pipeline::sweep(&state, state.events.queue.as_ref().unwrap(), Duration::ZERO, 50).await.unwrap();
        if sent == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, 8, "every event in the queue before the outage");

    app.db.set_outage(true).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = crm_local::workers::spawn(state, stopped);
    // Receives at about 0, 1, 3 and 7 s fail; the fifth comes after the database is back.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(queue.depth(&queue.dlq_url).await, 0, "nothing dead-lettered during the outage");
    app.db.set_outage(false).await;

    let owner = app.db.connect().await;
    eventually(Duration::from_secs(30), "8 notifications after the outage", || async {
        scalar(&owner, "SELECT count(*) FROM notifications").await == 8
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(scalar(&owner, "SELECT count(DISTINCT event_id) FROM notifications").await, 8);
    assert_eq!(scalar(&owner, "SELECT count(*) FROM notifications").await, 8, "each event notified once");
    assert_eq!(queue.depth(&queue.dlq_url).await, 0, "the dead-letter queue is empty");
    assert_eq!(queue.depth(&queue.url).await, 0, "every message consumed and deleted");
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
}

/// `n` events of one tenant left unpublished a minute ago, the oldest first by a second each.
async fn stale_events(db: &TestDb, n: i32) -> tokio_postgres::Client {
    let owner = db.connect().await;
    owner
        .execute(
            "WITH t AS (INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'T') RETURNING id)
             INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload, created_at)
             SELECT t.id, gen_random_uuid(), 'ticket.created', gen_random_uuid(), jsonb_build_object('n', n),
                    now() - interval '1 minute' - make_interval(secs => $1 - n)
             FROM t, generate_series(1, $1) n",
            &[&n],
        )
        .await
        .unwrap();
    owner
}

async fn scalar(owner: &tokio_postgres::Client, sql: &str) -> i64 {
    owner.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_sweep_that_fails_half_way_keeps_what_it_sent_marked_and_frees_the_rest() {
    let db = TestDb::create().await;
    let owner = stale_events(&db, 25).await;
    // SQS takes the first batch of ten and fails the second.
    let flaky = sweeper_state(&db, "http://sqs.invalid/123456789012/flaky", &failing_after(1).await);
    let flaky_queue = flaky.events.queue.as_ref().unwrap();
    let failed = pipeline::sweep(&flaky, flaky_queue, Duration::from_secs(5), 50).await;
    assert!(failed.is_err(), "the run reports the failed batch");
    let first_ten = "SELECT count(*) FROM (SELECT published_at FROM outbox ORDER BY created_at LIMIT 10) s
                     WHERE published_at IS NOT NULL";
    assert_eq!(scalar(&owner, first_ten).await, 10, "the batch SQS accepted is marked published");
    let free = "SELECT count(*) FROM outbox WHERE published_at IS NULL AND leased_until IS NULL";
    assert_eq!(scalar(&owner, free).await, 15, "the rest is given back, not left leased");

    // The next run, on a queue that works, sends the fifteen and nothing twice.
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let state = sweeper_state(&db, &queue.url, &endpoint(DEFAULT_PORT));
    let sent = pipeline::sweep(&state, state.events.queue.as_ref().unwrap(), Duration::from_secs(5), 50).await;
    assert_eq!(sent.unwrap(), 15);
    eventually(Duration::from_secs(10), "15 messages", || async { queue.depth(&queue.url).await == 15 }).await;
}

#[tokio::test]
async fn a_sweep_waiting_on_sqs_holds_no_row_lock_and_its_rows_go_to_no_other_sweeper() {
    let db = TestDb::create().await;
    let owner = stale_events(&db, 5).await;
    let silent = silent_endpoint().await;
    let stuck = sweeper_state(&db, &format!("{silent}/123456789012/silent"), &silent);
    let run = tokio::spawn(async move {
        let queue = stuck.events.queue.as_ref().unwrap();
        pipeline::sweep(&stuck, queue, Duration::from_secs(5), 50).await
    });
    let leased = "SELECT count(*) FROM outbox WHERE leased_until IS NOT NULL";
    eventually(Duration::from_secs(5), "the stuck run's lease", || async { scalar(&owner, leased).await == 5 }).await;

    // While it waits on SQS, a writer can lock every outbox row at once...
    let locked = scalar(&owner, "SELECT count(*) FROM (SELECT 1 FROM outbox FOR UPDATE NOWAIT) l").await;
    assert_eq!(locked, 5);
    // ...and another sweeper finds nothing to send: the rows are leased.
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let state = sweeper_state(&db, &queue.url, &endpoint(DEFAULT_PORT));
    let other = pipeline::sweep(&state, state.events.queue.as_ref().unwrap(), Duration::from_secs(5), 50).await;
    assert_eq!(other.unwrap(), 0);

    assert!(run.await.unwrap().is_err(), "the silent queue fails the run within its send budget");
    let again = pipeline::sweep(&state, state.events.queue.as_ref().unwrap(), Duration::from_secs(5), 50).await;
    assert_eq!(again.unwrap(), 5, "the failed run gave its rows back");
}

#[tokio::test]
async fn two_racing_sweepers_publish_each_row_once() {
    let queue = TestQueue::create(DEFAULT_PORT, 5, 30).await;
    let db = TestDb::create().await;
    let owner = db.connect().await;
    // 500 events left unpublished, as if every post-commit publish had failed.
    owner
        .batch_execute(
            "INSERT INTO tenants (id, name) VALUES ('00000000-0000-7000-8000-0000000000aa', 'T');
             INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload, created_at)
             SELECT '00000000-0000-7000-8000-0000000000aa', gen_random_uuid(), 'ticket.created', gen_random_uuid(),
                    jsonb_build_object('n', n), now() - interval '1 minute'
             FROM generate_series(1, 500) n;",
        )
        .await
        .unwrap();
    let state = sweeper_state(&db, &queue.url, &endpoint(DEFAULT_PORT));
    let sweeper = |state: AppState| async move {
        let queue = state.events.queue.as_ref().unwrap();
        let mut sent = 0;
        loop {
            let n = pipeline::sweep(&state, queue, Duration::from_secs(5), 50).await.unwrap();
            if n == 0 {
                return sent;
            }
            sent += n;
        }
    };
    let (a, b) = tokio::join!(sweeper(state.clone()), sweeper(state.clone()));
    assert_eq!(a + b, 500, "together they sent every row once ({a} + {b})");
    assert!(a > 0 && b > 0, "both sweepers took part ({a} + {b})");
    let left: i64 =
        owner.query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[]).await.unwrap().get(0);
    assert_eq!(left, 0);
    eventually(Duration::from_secs(10), "500 messages", || async { queue.depth(&queue.url).await == 500 }).await;
}

#[tokio::test]
async fn a_queue_that_never_answers_cannot_hold_a_write_past_the_function_timeout() {
    let silent = silent_endpoint().await;
    let queue_url = format!("{silent}/123456789012/silent");
    let app = TestApp::spawn_with_sqs(&silent, &queue_url).await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;

    let started = std::time::Instant::now();
    let r = app
        .post("/api/v1/tickets", Some(&admin.access), json!({"title": "T", "description": "", "customerId": customer}))
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, 201, "{}", r.body);
    // The Lambda timeout is 10 s; one send attempt is bounded at 2 s.
    assert!(took < Duration::from_secs(5), "the committed write answered after {took:?}");
    assert_eq!(count(&app, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await, 1, "safe in the outbox");
}

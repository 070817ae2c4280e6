//! The change feed (`GET /events`): every committed event exactly once, in one order that
//! a re-read repeats, while writers commit out of order; its filters, its bad input and
//! its tenant wall.

mod common;

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{Session, TestApp};
use serde_json::{Value, json};

/// Reads the feed from `after` until `endOfStream`; answers the events and the last cursor.
async fn read_to_end(app: &TestApp, s: &Session, after: Option<String>, limit: u32) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut cursor = after;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?limit={limit}&after={c}"),
            None => format!("/api/v1/events?limit={limit}"),
        };
        let r = app.get(&path, Some(&s.access)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        let next = r.body["nextCursor"].as_str().expect("nextCursor is never null").to_owned();
        cursor = Some(next.clone());
        if r.body["endOfStream"] == true {
            return (items, next);
        }
    }
}

/// Reads from `after` (from the start when empty) to the end until `done` holds of what
/// was read: the newest events show once every older transaction has ended.
async fn read_when(app: &TestApp, s: &Session, after: &str, done: impl Fn(&[Value]) -> bool) -> (Vec<Value>, String) {
    let after = (!after.is_empty()).then(|| after.to_owned());
    let started = Instant::now();
    loop {
        let (items, cursor) = read_to_end(app, s, after.clone(), 100).await;
        if done(&items) || started.elapsed() > Duration::from_secs(20) {
            return (items, cursor);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

async fn outbox_ids(app: &TestApp, tenant: &str) -> HashSet<String> {
    let tenant: uuid::Uuid = tenant.parse().unwrap();
    let owner = app.db.connect().await;
    let rows = owner.query("SELECT id::text FROM outbox WHERE tenant_id = $1", &[&tenant]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn every_event_is_handed_out_once_in_one_order_while_writers_commit_out_of_order() {
    let app = Arc::new(TestApp::spawn().await);
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let first = app.ticket(&admin, &customer, "Before the race", None).await;

    // A transaction that takes its place in the order now and commits last: a reader that
    // moved past the events committed meanwhile would never see it.
    let mut late = app.db.connect().await;
    let late_tx = late.transaction().await.unwrap();
    let late_id = uuid::Uuid::now_v7();
    let tenant: uuid::Uuid = admin.tenant_id.parse().unwrap();
    let ticket: uuid::Uuid = first["id"].as_str().unwrap().parse().unwrap();
    let payload = json!({
        "eventId": late_id, "type": "ticket.assigned", "tenantId": tenant, "ticketId": ticket,
        "actorId": admin.user_id, "actorType": "user", "occurredAt": chrono::Utc::now(),
        "before": {"assigneeId": null}, "after": {"assigneeId": admin.user_id},
    });
    late_tx
        .execute(
            "INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload) VALUES ($1, $2, 'ticket.assigned', $3, $4)",
            &[&tenant, &late_id, &ticket, &payload],
        )
        .await
        .unwrap();

    // A reader polls throughout, in small pages, from the start.
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (app, admin, seen, stop) = (app.clone(), admin.clone(), seen.clone(), stop.clone());
        tokio::spawn(async move {
            let mut cursor = None;
            loop {
                let stopping = stop.load(Ordering::SeqCst);
                let (items, next) = read_to_end(&app, &admin, cursor.clone(), 7).await;
                seen.lock().unwrap().extend(items);
                cursor = Some(next);
                if stopping {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let write_round = |round: usize| {
        let futures = (0..8).map(|w| {
            let (app, admin, customer) = (app.clone(), admin.clone(), customer.clone());
            async move {
                for i in 0..6 {
                    let t = app.ticket(&admin, &customer, &format!("Round {round} writer {w} #{i}"), None).await;
                    let path = format!("/api/v1/tickets/{}/comments", t["id"].as_str().unwrap());
                    let c = app.post(&path, Some(&admin.access), json!({"body": "On it", "public": false})).await;
                    assert_eq!(c.status, 201, "{}", c.body);
                }
            }
        });
        futures::future::join_all(futures)
    };
    write_round(1).await;
    // Everything the writers committed sorts after the open transaction's event: the
    // reader has been handed none of it yet.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before_commit = ids(&seen.lock().unwrap());
    assert_eq!(before_commit, ids(&read_to_end(&app, &admin, None, 100).await.0));
    assert!(before_commit.len() <= 1, "handed out past an open transaction: {before_commit:?}");

    late_tx.commit().await.unwrap();
    write_round(2).await;
    let expected = outbox_ids(&app, &admin.tenant_id).await;
    assert_eq!(expected.len(), 1 + 1 + 2 * 8 * 6 * 2);
    let started = Instant::now();
    while seen.lock().unwrap().len() < expected.len() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    reader.await.unwrap();

    let polled = ids(&seen.lock().unwrap());
    let unique: HashSet<_> = polled.iter().cloned().collect();
    assert_eq!(unique.len(), polled.len(), "an event was handed out twice");
    assert_eq!(unique, expected, "the feed lost or invented events");
    let late_at = polled.iter().position(|id| *id == late_id.to_string()).unwrap();
    assert_eq!(late_at, before_commit.len(), "the late event sorts where its transaction began");
    // A full re-read, in other page sizes, repeats the order.
    assert_eq!(ids(&read_to_end(&app, &admin, None, 1000).await.0), polled);
    assert_eq!(ids(&read_to_end(&app, &admin, None, 3).await.0), polled);
}

#[tokio::test]
async fn events_carry_what_happened_filter_by_type_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", Some("HIGH")).await;
    let id = ticket["id"].as_str().unwrap();
    let comment = app.post(&format!("/api/v1/tickets/{id}/comments"), Some(&admin.access), json!({"body": "Hi"})).await;
    let status =
        app.patch(&format!("/api/v1/tickets/{id}/status"), Some(&admin.access), json!({"status": "RESOLVED"})).await;
    assert_eq!((comment.status.as_u16(), status.status.as_u16()), (201, 200));

    let (items, cursor) = read_when(&app, &admin, "", |items| items.len() == 3).await;
    let types: Vec<&str> = items.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ticket.created", "comment.created", "ticket.status_changed"]);
    let created = &items[0];
    assert_eq!(created["ticketId"], id);
    assert_eq!(created["actor"], json!({"type": "user", "id": admin.user_id}));
    assert_eq!(created["data"]["before"], Value::Null);
    assert_eq!(created["data"]["after"]["title"], "Printer on fire");
    assert!(created["occurredAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(items[2]["data"]["after"]["status"], "RESOLVED");

    // Polling on from the end hands out nothing until something new commits.
    let quiet = app.get(&format!("/api/v1/events?after={cursor}"), Some(&admin.access)).await;
    assert_eq!((quiet.body["items"].clone(), quiet.body["nextCursor"].as_str()), (json!([]), Some(cursor.as_str())));
    assert_eq!(quiet.body["endOfStream"], true);
    let later = app.ticket(&admin, &customer, "Another", None).await;
    // It shows once every transaction older than it has ended (other tests' included).
    let (next, _) = read_when(&app, &admin, &cursor, |items| !items.is_empty()).await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0]["ticketId"], later["id"]);

    // Types filter; repeated and spaced names are one.
    let only = app.get("/api/v1/events?types=comment.created,%20comment.created", Some(&admin.access)).await;
    assert_eq!(only.status, 200, "{}", only.body);
    assert_eq!(ids(only.body["items"].as_array().unwrap()), ids(&items[1..2]));

    // A page boundary: endOfStream only on the last page.
    let page = app.get("/api/v1/events?limit=2", Some(&admin.access)).await;
    assert_eq!((page.body["items"].as_array().unwrap().len(), page.body["endOfStream"].clone()), (2, json!(false)));

    // Bad input: 400 naming the parameter.
    let list_cursor = app.get("/api/v1/tickets?limit=1", Some(&admin.access)).await.body["nextCursor"].clone();
    for (query, field) in [
        ("after=not-a-cursor".to_owned(), "after"),
        (format!("after={}", list_cursor.as_str().unwrap()), "after"),
        ("limit=0".to_owned(), "limit"),
        ("limit=1001".to_owned(), "limit"),
        ("types=ticket.deleted".to_owned(), "types"),
        ("types=webhook.test".to_owned(), "types"),
    ] {
        let r = app.get(&format!("/api/v1/events?{query}"), Some(&admin.access)).await;
        assert_eq!(r.problem(400)["errors"][0]["field"], field, "{query}: {}", r.body);
    }
    assert_eq!(app.get("/api/v1/events", None).await.status, 401);

    // Another tenant reads its own, empty feed, even with this tenant's cursor.
    let eve = app.register("Evil", "eve@evil.test").await;
    let (theirs, _) = read_to_end(&app, &eve, None, 100).await;
    assert!(theirs.is_empty(), "{theirs:?}");
    let r = app.get("/api/v1/events", Some(&eve.access)).await;
    assert_eq!(r.body["items"], json!([]));
    let first_cursor = app.get("/api/v1/events?limit=1", Some(&admin.access)).await.body["nextCursor"].clone();
    let r = app.get(&format!("/api/v1/events?after={}", first_cursor.as_str().unwrap()), Some(&eve.access)).await;
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn transaction_ids_order_as_numbers_not_as_text() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket: uuid::Uuid =
        app.ticket(&admin, &customer, "First", None).await["id"].as_str().unwrap().parse().unwrap();
    // Rows as if written by transactions 9 and 10 (long finished): as text '10' < '9'.
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = admin.tenant_id.parse().unwrap();
    let mut written = Vec::new();
    for txid in ["10", "9"] {
        let id = uuid::Uuid::now_v7();
        let payload = json!({
            "eventId": id, "type": "ticket.updated", "tenantId": tenant, "ticketId": ticket,
            "actorId": admin.user_id, "occurredAt": chrono::Utc::now(), "before": {}, "after": {}
        });
        owner
            .execute(
                "INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload, txid, published_at)
                 VALUES ($1, $2, 'ticket.updated', $3, $4, $5::text::xid8, now())",
                &[&tenant, &id, &ticket, &payload, &txid],
            )
            .await
            .unwrap();
        written.push(id.to_string());
    }
    let (items, _) = read_when(&app, &admin, "", |items| items.len() == 3).await;
    let order = ids(&items);
    assert_eq!(order[..2], [written[1].clone(), written[0].clone()], "transaction 9 before 10, then the ticket's");
    // Paging one by one crosses from 9 to 10 without skipping.
    assert_eq!(ids(&read_to_end(&app, &admin, None, 1).await.0), order);
}

//! Stats come from counters kept in the ticket's own transactions; after a random mix of
//! creates, edits, status changes and deletes they equal a brute-force count.

mod common;

use common::{Session, TestApp};
use serde_json::{Value, json};

/// A small deterministic generator: the same seed replays the same story.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

async fn brute_force(app: &TestApp, s: &Session) -> Value {
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = s.tenant_id.parse().unwrap();
    let t = owner
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status = 'IN_PROGRESS'),
                    count(*) FILTER (WHERE status = 'RESOLVED'),
                    count(*) FILTER (WHERE priority = 'LOW'), count(*) FILTER (WHERE priority = 'MEDIUM'),
                    count(*) FILTER (WHERE priority = 'HIGH'), count(*) FILTER (WHERE priority = 'URGENT'),
                    (avg(extract(epoch FROM resolved_at - created_at)) FILTER (WHERE status = 'RESOLVED'))::float8,
                    count(*) FILTER (WHERE first_response_due_at IS NOT NULL AND first_response_breached_at IS NULL
                                     AND least(first_responded_at, resolved_at) <= first_response_due_at),
                    count(*) FILTER (WHERE first_response_breached_at IS NOT NULL),
                    count(*) FILTER (WHERE resolution_due_at IS NOT NULL AND resolution_breached_at IS NULL
                                     AND resolved_at <= resolution_due_at),
                    count(*) FILTER (WHERE resolution_breached_at IS NOT NULL),
                    (avg(extract(epoch FROM first_responded_at - created_at)))::float8
             FROM tickets WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap();
    let customers: i64 =
        owner.query_one("SELECT count(*) FROM customers WHERE tenant_id = $1", &[&tenant]).await.unwrap().get(0);
    let percent = |met: i64, breached: i64| (met + breached > 0).then(|| met as f64 * 100.0 / (met + breached) as f64);
    json!({
        "slaFirstResponseMetPercent": percent(t.get(9), t.get(10)),
        "slaResolutionMetPercent": percent(t.get(11), t.get(12)),
        "avgFirstResponseSeconds": t.get::<_, Option<f64>>(13),
        "totalTickets": t.get::<_, i64>(0), "open": t.get::<_, i64>(1), "inProgress": t.get::<_, i64>(2),
        "resolved": t.get::<_, i64>(3), "totalCustomers": customers,
        "byPriority": {"LOW": t.get::<_, i64>(4), "MEDIUM": t.get::<_, i64>(5), "HIGH": t.get::<_, i64>(6), "URGENT": t.get::<_, i64>(7)},
        "avgResolutionSeconds": t.get::<_, Option<f64>>(8),
    })
}

const MEANS: [&str; 4] =
    ["avgResolutionSeconds", "avgFirstResponseSeconds", "slaFirstResponseMetPercent", "slaResolutionMetPercent"];

fn assert_same(stats: &Value, expected: &Value) {
    let mut a = stats.clone();
    let mut b = expected.clone();
    for field in MEANS {
        let (x, y) = (a[field].take(), b[field].take());
        match (x.as_f64(), y.as_f64()) {
            (None, None) => {}
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{field} {x} vs {y}"),
            other => panic!("{field} differs: {other:?}"),
        }
    }
    assert_eq!(a, b, "counters");
}

#[tokio::test]
async fn counters_equal_a_brute_force_count_after_a_random_story() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let other = app.register("Other", "zed@other.test").await;
    let empty = app.get("/api/v1/stats", Some(&acme.access)).await.body;
    assert_eq!(empty["totalTickets"], 0);
    assert!(empty["avgResolutionSeconds"].is_null());

    // Service levels on every priority, so clocks start, stop, breach and restart.
    let target = json!({"firstResponseMinutes": 30, "resolutionMinutes": 240});
    let policy =
        json!({"timezone": "UTC", "targets": {"LOW": target, "MEDIUM": target, "HIGH": target, "URGENT": target}});
    let r = app.send(reqwest::Method::PUT, "/api/v1/sla-policy", Some(&acme.access), Some(policy)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let owner = app.db.connect().await;

    let seed = 0x5EED_1234_u64;
    let mut rng = Rng(seed);
    let mut customers = vec![app.customer(&acme, "First", "first@c.test").await];
    let mut tickets: Vec<String> = Vec::new();
    app.customer(&other, "Noise", "noise@c.test").await;

    for step in 0..160 {
        match rng.next() % 10 {
            0 => customers.push(app.customer(&acme, "C", &format!("c{step}@c.test")).await),
            1..=3 => {
                let customer = rng.pick(&customers).clone();
                let priority = *rng.pick(&["LOW", "MEDIUM", "HIGH", "URGENT"]);
                tickets
                    .push(app.ticket(&acme, &customer, "T", Some(priority)).await["id"].as_str().unwrap().to_owned());
            }
            4..=6 if !tickets.is_empty() => {
                let t = rng.pick(&tickets).clone();
                let status = *rng.pick(&["OPEN", "IN_PROGRESS", "RESOLVED", "RESOLVED"]);
                app.patch(&format!("/api/v1/tickets/{t}/status"), Some(&acme.access), json!({"status": status})).await;
            }
            7 if !tickets.is_empty() => {
                let t = rng.pick(&tickets).clone();
                let priority = *rng.pick(&["LOW", "MEDIUM", "HIGH", "URGENT"]);
                app.patch(&format!("/api/v1/tickets/{t}"), Some(&acme.access), json!({"priority": priority})).await;
            }
            8 if !tickets.is_empty() && rng.next() % 2 == 0 => {
                // Time passes for one ticket (its clocks fall due), or an agent answers it.
                let t: uuid::Uuid = rng.pick(&tickets).parse().unwrap();
                if rng.next() % 2 == 0 {
                    owner
                        .execute(
                            "UPDATE tickets SET first_response_due_at = now() - interval '1 second',
                                                resolution_due_at = now() - interval '1 second' WHERE id = $1",
                            &[&t],
                        )
                        .await
                        .unwrap();
                    crm_core::service::sla::monitor(&app.state, std::time::Duration::from_secs(30)).await.unwrap();
                } else {
                    let body = json!({"body": "On it", "public": rng.next() % 3 != 0});
                    app.post(&format!("/api/v1/tickets/{t}/comments"), Some(&acme.access), body).await;
                }
            }
            8 if customers.len() > 1 => {
                // Deleting succeeds only without open tickets; either way counters must hold.
                let c = rng.pick(&customers).clone();
                let r = app
                    .send(reqwest::Method::DELETE, &format!("/api/v1/customers/{c}"), Some(&acme.access), None)
                    .await;
                if r.status == 204 {
                    customers.retain(|x| *x != c);
                }
            }
            _ => {
                // Noise in another tenant, which must never count here.
                let noise = app.get("/api/v1/customers", Some(&other.access)).await.body["items"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                app.ticket(&other, &noise, "noise", Some("URGENT")).await;
            }
        }
    }
    let stats = app.get("/api/v1/stats", Some(&acme.access)).await;
    assert_eq!(stats.status, 200);
    let expected = brute_force(&app, &acme).await;
    assert!(expected["totalTickets"].as_i64().unwrap() > 10, "the story made tickets (seed {seed:#x}): {expected}");
    assert!(expected["resolved"].as_i64().unwrap() > 0, "and resolved some: {expected}");
    assert!(expected["slaResolutionMetPercent"].as_f64().is_some_and(|p| p > 0.0 && p < 100.0), "{expected}");
    assert!(expected["avgFirstResponseSeconds"].is_number(), "and answered some: {expected}");
    assert_same(&stats.body, &expected);
    assert_same(&app.get("/api/v1/stats", Some(&other.access)).await.body, &brute_force(&app, &other).await);
}

#[tokio::test]
async fn concurrent_changes_keep_the_counters_exact() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&acme, "Globex", "ops@globex.test").await;
    let created = futures::future::join_all((0..40).map(|_| app.ticket(&acme, &customer, "T", Some("HIGH")))).await;
    let ids: Vec<String> = created.iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
    let paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/tickets/{id}/status")).collect();
    let answers = futures::future::join_all(
        paths.iter().map(|p| app.patch(p, Some(&acme.access), json!({"status": "RESOLVED"}))),
    )
    .await;
    assert!(answers.iter().all(|r| r.status == 200), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    let stats = app.get("/api/v1/stats", Some(&acme.access)).await.body;
    assert_eq!(
        (stats["totalTickets"].as_i64(), stats["resolved"].as_i64(), stats["byPriority"]["HIGH"].as_i64()),
        (Some(40), Some(40), Some(40))
    );
    assert_same(&stats, &brute_force(&app, &acme).await);
}

/// A connection writes its counter changes to the slot of its own process id (V24), so two
/// connections queue on one counter row only when their ids agree modulo 64, and a
/// connection's transactions, which never overlap, share one. (By transaction id, as before,
/// five transactions of one connection wrote five slots.)
#[tokio::test]
async fn a_connections_counter_changes_land_in_its_own_slot() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let customer: uuid::Uuid = app.customer(&acme, "Globex", "ops@globex.test").await.parse().unwrap();
    let tenant: uuid::Uuid = acme.tenant_id.parse().unwrap();
    let owner = app.db.connect().await;
    let before: i64 =
        owner.query_one("SELECT count(*) FROM tenant_stats WHERE tenant_id = $1", &[&tenant]).await.unwrap().get(0);
    for priority in ["LOW", "MEDIUM", "HIGH", "URGENT", "HIGH"] {
        owner
            .execute(
                "INSERT INTO tickets (tenant_id, id, customer_id, title, description, priority)
                 VALUES ($1, gen_random_uuid(), $2, 'T', '', $3)",
                &[&tenant, &customer, &priority],
            )
            .await
            .unwrap();
    }
    let rows = owner
        .query(
            "SELECT slot::int4, total_tickets, (pg_backend_pid() % 64)::int4 FROM tenant_stats
             WHERE tenant_id = $1 AND total_tickets > 0",
            &[&tenant],
        )
        .await
        .unwrap();
    let slots: Vec<(i32, i64, i32)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(slots.len(), 1, "five transactions of one connection, one counter row: {slots:?} (before: {before})");
    let (slot, total, own) = slots[0];
    assert_eq!((slot, total), (own, 5), "the connection's own slot counted all five");
    let stats = app.get("/api/v1/stats", Some(&acme.access)).await.body;
    assert_eq!((stats["totalTickets"].as_i64(), stats["byPriority"]["HIGH"].as_i64()), (Some(5), Some(2)));
    assert_same(&stats, &brute_force(&app, &acme).await);
}

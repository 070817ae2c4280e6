//! Service levels through the API: the policy, due dates in business time on every
//! ticket, recomputed on a priority or policy change, and breaches recorded exactly once
//! however many monitors run, with one `ticket.sla_breached` event each.

mod common;

use std::time::Duration;

use common::{Session, TestApp};
use crm_core::service::sla;
use reqwest::Method;
use serde_json::{Value, json};

const POLICY: &str = "/api/v1/sla-policy";

async fn put_policy(app: &TestApp, s: &Session, policy: Value) -> common::Reply {
    app.send(Method::PUT, POLICY, Some(&s.access), Some(policy)).await
}

/// Around the clock: due dates are `createdAt` plus the minutes.
fn around_the_clock(first_response: i32, resolution: i32) -> Value {
    json!({
        "timezone": "UTC",
        "targets": {
            "MEDIUM": {"firstResponseMinutes": first_response, "resolutionMinutes": resolution},
            "HIGH": {"firstResponseMinutes": first_response / 2, "resolutionMinutes": resolution / 2},
        },
    })
}

fn at(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value.as_str().unwrap_or_else(|| panic!("not a date-time: {value}")).parse().unwrap()
}

async fn owner_exec(app: &TestApp, sql: &str, ticket: &str) {
    let owner = app.db.connect().await;
    let id: uuid::Uuid = ticket.parse().unwrap();
    owner.execute(sql, &[&id]).await.unwrap();
}

/// Time passes for one ticket: its clocks fell due a minute ago (the owner moves them).
async fn fall_due(app: &TestApp, ticket: &str) {
    owner_exec(
        app,
        "UPDATE tickets SET first_response_due_at = now() - interval '1 minute',
                            resolution_due_at = now() - interval '1 minute' WHERE id = $1",
        ticket,
    )
    .await;
}

async fn breach_events(app: &TestApp) -> Vec<(String, String)> {
    let owner = app.db.connect().await;
    owner
        .query(
            "SELECT ticket_id::text, payload -> 'after' ->> 'kind' FROM outbox
             WHERE event_type = 'ticket.sla_breached' ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_tenant_without_a_policy_has_none_and_its_tickets_no_due_dates() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let policy = app.get(POLICY, Some(&s.access)).await;
    assert_eq!(policy.status, 200);
    assert_eq!(
        policy.body,
        json!({"timezone": null, "businessHours": null, "holidays": [], "targets": null, "updatedAt": null})
    );
    let customer = app.customer(&s, "C", "c@c.test").await;
    let ticket = app.ticket(&s, &customer, "T", None).await;
    assert_eq!(
        ticket["sla"],
        json!({"firstResponseDueAt": null, "resolutionDueAt": null, "firstResponseBreachedAt": null, "resolutionBreachedAt": null})
    );
}

#[tokio::test]
async fn only_admins_set_a_policy_and_a_bad_one_is_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    app.add_user(&admin, "bob@acme.test", "agent").await;
    let agent = common::session(&app.login("bob@acme.test", common::PASSWORD).await.body);
    assert_eq!(put_policy(&app, &agent, around_the_clock(60, 480)).await.status, 403);

    let cases = [
        (json!({"timezone": "Mars/Olympus", "targets": {}}), "timezone"),
        (json!({"timezone": "EST5EDT+1", "targets": {}}), "timezone"),
        (
            json!({"timezone": "UTC", "targets": {"HIGH": {"firstResponseMinutes": 0}}}),
            "targets.HIGH.firstResponseMinutes",
        ),
        (
            json!({"timezone": "UTC", "targets": {"LOW": {"resolutionMinutes": 525_601}}}),
            "targets.LOW.resolutionMinutes",
        ),
        (
            json!({"timezone": "UTC", "businessHours": {"mon": [["17:00", "09:00"]]}, "targets": {}}),
            "businessHours.mon[0]",
        ),
        (
            json!({"timezone": "UTC", "businessHours": {"tue": [["09:00", "12:00"], ["11:00", "13:00"]]}, "targets": {}}),
            "businessHours.tue[1]",
        ),
        (
            json!({"timezone": "UTC", "businessHours": {"wed": [["9:00", "12:00"]]}, "targets": {}}),
            "businessHours.wed[0]",
        ),
        (
            json!({"timezone": "UTC", "businessHours": {"thu": [["09:00", "24:30"]]}, "targets": {}}),
            "businessHours.thu[0]",
        ),
        (json!({"timezone": "UTC", "businessHours": {}, "targets": {}}), "businessHours"),
    ];
    for (body, field) in cases {
        let r = put_policy(&app, &admin, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.error_fields(), [field], "{body}: {}", r.body);
    }
    for body in [
        json!({"timezone": "UTC", "targets": {"SEVERE": {}}}),
        json!({"timezone": "UTC", "businessHours": {"someday": []}, "targets": {}}),
        json!({"timezone": "UTC", "holidays": ["2026-02-30"], "targets": {}}),
        json!({"timezone": "UTC"}),
    ] {
        let r = put_policy(&app, &admin, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    assert_eq!(app.get(POLICY, Some(&admin.access)).await.body["timezone"], Value::Null, "nothing was stored");
}

#[tokio::test]
async fn due_dates_are_business_time_from_creation_and_follow_a_priority_change() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let week = [["09:00", "17:00"]];
    let r = put_policy(
        &app,
        &s,
        json!({
            "timezone": "Europe/Berlin",
            "businessHours": {"mon": week, "tue": week, "wed": week, "thu": week, "fri": week},
            "holidays": ["2026-12-25", "2026-12-25", "2026-12-24"],
            "targets": {"HIGH": {"firstResponseMinutes": 60, "resolutionMinutes": 480}, "LOW": {"resolutionMinutes": 960}},
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["holidays"], json!(["2026-12-24", "2026-12-25"]), "sorted, each once");
    assert_eq!(app.get(POLICY, Some(&s.access)).await.body, r.body);

    let customer = app.customer(&s, "C", "c@c.test").await;
    let ticket = app.ticket(&s, &customer, "T", Some("MEDIUM")).await;
    assert!(ticket["sla"]["firstResponseDueAt"].is_null(), "no target for MEDIUM: {ticket}");
    let id = ticket["id"].as_str().unwrap();

    // Created on Wednesday 23 December at 16:30 in Berlin (15:30Z): half an hour left that
    // day, the 24th and 25th are holidays, then the weekend; Monday the 28th opens at 09:00.
    owner_exec(&app, "UPDATE tickets SET created_at = '2026-12-23T15:30:00Z' WHERE id = $1", id).await;
    let high = app.patch(&format!("/api/v1/tickets/{id}"), Some(&s.access), json!({"priority": "HIGH"})).await;
    assert_eq!(high.status, 200, "{}", high.body);
    assert_eq!(at(&high.body["sla"]["firstResponseDueAt"]), at(&json!("2026-12-28T08:30:00Z")), "Mon 09:30 CET");
    assert_eq!(at(&high.body["sla"]["resolutionDueAt"]), at(&json!("2026-12-28T15:30:00Z")), "Mon 16:30 CET");

    let low = app.patch(&format!("/api/v1/tickets/{id}"), Some(&s.access), json!({"priority": "LOW"})).await;
    assert!(low.body["sla"]["firstResponseDueAt"].is_null(), "LOW has no first-response target");
    // 30 min + Mon 8 h + Tue 7.5 h = 16 h.
    assert_eq!(at(&low.body["sla"]["resolutionDueAt"]), at(&json!("2026-12-29T15:30:00Z")), "Tue 16:30 CET");
    assert_eq!(app.get(&format!("/api/v1/tickets/{id}"), Some(&s.access)).await.body["sla"], low.body["sla"]);
}

#[tokio::test]
async fn a_policy_change_recomputes_open_tickets_and_leaves_resolved_ones() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    assert_eq!(put_policy(&app, &s, around_the_clock(60, 600)).await.status, 200);
    let customer = app.customer(&s, "C", "c@c.test").await;
    let open = app.ticket(&s, &customer, "open", None).await;
    let created = at(&open["createdAt"]);
    assert_eq!(at(&open["sla"]["firstResponseDueAt"]), created + chrono::Duration::minutes(60));
    assert_eq!(at(&open["sla"]["resolutionDueAt"]), created + chrono::Duration::minutes(600));
    let done = app.ticket(&s, &customer, "done", None).await;
    let done_id = done["id"].as_str().unwrap();
    let r =
        app.patch(&format!("/api/v1/tickets/{done_id}/status"), Some(&s.access), json!({"status": "RESOLVED"})).await;
    assert_eq!(r.status, 200);

    assert_eq!(put_policy(&app, &s, around_the_clock(120, 1200)).await.status, 200);
    let open_now = app.get(&format!("/api/v1/tickets/{}", open["id"].as_str().unwrap()), Some(&s.access)).await.body;
    assert_eq!(at(&open_now["sla"]["firstResponseDueAt"]), created + chrono::Duration::minutes(120));
    assert_eq!(at(&open_now["sla"]["resolutionDueAt"]), created + chrono::Duration::minutes(1200));
    let done_now = app.get(&format!("/api/v1/tickets/{done_id}"), Some(&s.access)).await.body;
    assert_eq!(done_now["sla"], done["sla"], "a resolved ticket keeps its dates");
}

#[tokio::test]
async fn open_tickets_beyond_one_request_are_caught_up_by_the_monitor() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    assert_eq!(put_policy(&app, &s, around_the_clock(60, 600)).await.status, 200);
    let customer = app.customer(&s, "C", "c@c.test").await;
    app.ticket(&s, &customer, "T", None).await;
    // More open tickets than a policy change recomputes in its own request.
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = s.tenant_id.parse().unwrap();
    let customer_id: uuid::Uuid = customer.parse().unwrap();
    let extra = sla::RECOMPUTE_BATCH + 200;
    owner
        .execute(
            "INSERT INTO tickets (tenant_id, id, customer_id, title, description)
             SELECT $1, gen_random_uuid(), $2, 'bulk', '' FROM generate_series(1, $3::int)",
            &[&tenant, &customer_id, &(extra as i32)],
        )
        .await
        .unwrap();
    assert_eq!(put_policy(&app, &s, around_the_clock(90, 900)).await.status, 200);
    let stale = "SELECT count(*) FROM tickets WHERE tenant_id = $1 AND first_response_due_at <> created_at + interval '90 minutes'";
    let left: i64 = owner.query_one(stale, &[&tenant]).await.unwrap().get(0);
    // crm-local's own monitor may already have gone on.
    assert!(left <= extra + 1 - sla::RECOMPUTE_BATCH, "the request recomputed a batch: {left} left");
    sla::monitor(&app.state, Duration::from_secs(30)).await.unwrap();
    let left: i64 = owner.query_one(stale, &[&tenant]).await.unwrap().get(0);
    assert_eq!(left, 0, "the monitor (this run or crm-local's own) caught up the rest");
    let caught_up: bool = owner
        .query_one("SELECT recomputed_version = version FROM sla_policies WHERE tenant_id = $1", &[&tenant])
        .await
        .unwrap()
        .get(0);
    assert!(caught_up);
}

#[tokio::test]
async fn two_monitors_at_once_record_each_breach_once_with_one_event() {
    let app = TestApp::spawn().await;
    let second = app.spawn_sharing(&[]).await;
    let s = app.register("Acme", "ann@acme.test").await;
    assert_eq!(put_policy(&app, &s, around_the_clock(60, 600)).await.status, 200);
    let customer = app.customer(&s, "C", "c@c.test").await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let t = app.ticket(&s, &customer, &format!("T{i}"), None).await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = s.tenant_id.parse().unwrap();
    owner
        .execute(
            "UPDATE tickets SET first_response_due_at = now() - interval '1 minute',
                                resolution_due_at = now() - interval '1 minute' WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap();
    // Two containers' monitors (and crm-local's own schedule) race for the same rows.
    let (a, b, c, d) = tokio::join!(
        sla::monitor(&app.state, Duration::from_secs(30)),
        sla::monitor(&second.state, Duration::from_secs(30)),
        sla::monitor(&app.state, Duration::from_secs(30)),
        sla::monitor(&second.state, Duration::from_secs(30)),
    );
    let _ = (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap());
    // crm-local's schedule may still be finishing a batch it took before ours.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while breach_events(&app).await.len() < 80 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sla::monitor(&app.state, Duration::from_secs(30)).await.unwrap();
    let events = breach_events(&app).await;
    let mut expected: Vec<(String, String)> = ids
        .iter()
        .flat_map(|id| [(id.clone(), "firstResponse".to_owned()), (id.clone(), "resolution".to_owned())])
        .collect();
    expected.sort();
    assert_eq!(events, expected, "one event per ticket and clock");

    let ticket = app.get(&format!("/api/v1/tickets/{}", ids[0]), Some(&s.access)).await.body;
    assert_eq!(ticket["sla"]["firstResponseBreachedAt"], ticket["sla"]["firstResponseDueAt"], "{ticket}");
    assert_eq!(ticket["sla"]["resolutionBreachedAt"], ticket["sla"]["resolutionDueAt"], "{ticket}");
    app.settle().await;
    // The feed hands out an event once every transaction older than it has ended (in any
    // database of the server, other tests' included): poll as a reader would.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let feed = loop {
        let feed = app.get("/api/v1/events?types=ticket.sla_breached&limit=100", Some(&s.access)).await;
        assert_eq!(feed.status, 200, "{}", feed.body);
        if feed.body["items"].as_array().is_some_and(|i| i.len() >= 80) || std::time::Instant::now() > deadline {
            break feed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let items = feed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 80, "{}", feed.body);
    assert_eq!(items[0]["actor"], json!({"type": "system", "id": null}), "{}", items[0]);
    assert!(matches!(items[0]["data"]["after"]["kind"].as_str(), Some("firstResponse" | "resolution")), "{}", items[0]);
}

#[tokio::test]
async fn a_ticket_answered_or_resolved_in_time_never_breaches() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    assert_eq!(put_policy(&app, &s, around_the_clock(60, 600)).await.status, 200);
    let customer = app.customer(&s, "C", "c@c.test").await;
    let id = |t: &Value| t["id"].as_str().unwrap().to_owned();
    let answered = id(&app.ticket(&s, &customer, "answered", None).await);
    let resolved = id(&app.ticket(&s, &customer, "resolved", None).await);
    let late = id(&app.ticket(&s, &customer, "answered late", None).await);
    let noted = id(&app.ticket(&s, &customer, "only an internal note", None).await);
    for t in [&answered, &late] {
        let r = app.post(&format!("/api/v1/tickets/{t}/comments"), Some(&s.access), json!({"body": "On it"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = app
        .post(&format!("/api/v1/tickets/{noted}/comments"), Some(&s.access), json!({"body": "hm", "public": false}))
        .await;
    assert_eq!(r.status, 201);
    let r =
        app.patch(&format!("/api/v1/tickets/{resolved}/status"), Some(&s.access), json!({"status": "RESOLVED"})).await;
    assert_eq!(r.status, 200);
    // Time passes: every clock is now due, each ticket moved in one statement so that
    // crm-local's own monitor never sees half of it. The answer to `late` came after its
    // due date; `answered` and `resolved` stopped their clocks before theirs.
    fall_due(&app, &noted).await;
    owner_exec(
        &app,
        "UPDATE tickets SET first_response_due_at = first_responded_at - interval '1 second',
                            resolution_due_at = now() - interval '1 minute' WHERE id = $1",
        &late,
    )
    .await;
    owner_exec(
        &app,
        "UPDATE tickets SET created_at = now() - interval '10 minutes', first_responded_at = now() - interval '5 minutes',
                            first_response_due_at = now() - interval '2 minutes',
                            resolution_due_at = now() - interval '1 minute' WHERE id = $1",
        &answered,
    )
    .await;
    owner_exec(
        &app,
        "UPDATE tickets SET created_at = now() - interval '10 minutes', resolved_at = now() - interval '5 minutes',
                            first_response_due_at = now() - interval '2 minutes',
                            resolution_due_at = now() - interval '2 minutes' WHERE id = $1",
        &resolved,
    )
    .await;
    sla::monitor(&app.state, Duration::from_secs(30)).await.unwrap();
    let mut expected = vec![
        (answered.clone(), "resolution".to_owned()),
        (late.clone(), "firstResponse".to_owned()),
        (late.clone(), "resolution".to_owned()),
        (noted.clone(), "firstResponse".to_owned()),
        (noted.clone(), "resolution".to_owned()),
    ];
    expected.sort();
    assert_eq!(breach_events(&app).await, expected, "the resolved ticket and the answered clock never breach");

    let stats = app.get("/api/v1/stats", Some(&s.access)).await.body;
    // First response: met by `answered` and `resolved`, breached by `late` and `noted`.
    assert_eq!(stats["slaFirstResponseMetPercent"], json!(50.0), "{stats}");
    // Resolution: met by `resolved`, breached by the other three.
    assert_eq!(stats["slaResolutionMetPercent"], json!(25.0), "{stats}");
    assert!(stats["avgFirstResponseSeconds"].as_f64().unwrap() > 0.0, "{stats}");
}

#[tokio::test]
async fn breached_and_due_before_filter_the_ticket_list() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    assert_eq!(put_policy(&app, &s, around_the_clock(60, 600)).await.status, 200);
    let customer = app.customer(&s, "C", "c@c.test").await;
    let id = |t: &Value| t["id"].as_str().unwrap().to_owned();
    let calm = id(&app.ticket(&s, &customer, "calm", None).await);
    let urgent = id(&app.ticket(&s, &customer, "soon", Some("HIGH")).await);
    let breached = id(&app.ticket(&s, &customer, "breached", None).await);
    fall_due(&app, &breached).await;
    sla::monitor(&app.state, Duration::from_secs(30)).await.unwrap();

    let list = |query: String| {
        let app = &app;
        let token = s.access.clone();
        async move {
            let r = app.get(&format!("/api/v1/tickets?{query}"), Some(&token)).await;
            assert_eq!(r.status, 200, "{query}: {}", r.body);
            r.body["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(list("breached=true".into()).await, std::slice::from_ref(&breached));
    assert_eq!(list("breached=false".into()).await, [urgent.clone(), calm.clone()]);
    // HIGH's first response is due in 30 minutes, MEDIUM's in 60.
    let in_45 = (chrono::Utc::now() + chrono::Duration::minutes(45)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(list(format!("dueBefore={in_45}")).await, std::slice::from_ref(&urgent));
    let in_90 = (chrono::Utc::now() + chrono::Duration::minutes(90)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(list(format!("dueBefore={in_90}&priority=MEDIUM")).await, std::slice::from_ref(&calm));

    for (query, field) in [
        ("breached=yes", "breached"),
        ("dueBefore=tomorrow", "dueBefore"),
        ("dueBefore=2026-12-01T10:00:00.0000000000000000000000000Z", "dueBefore"),
        ("q=printer&breached=true", "q"),
    ] {
        let r = app.get(&format!("/api/v1/tickets?{query}"), Some(&s.access)).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.error_fields(), [field], "{query}");
    }
}

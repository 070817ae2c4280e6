//! Tickets, as API.md tells their story: create, list with filters, edit, status,
//! assignment, timeline, and the outbox rows each change leaves behind.

mod common;

use common::{PASSWORD, TestApp, session};
use serde_json::{Value, json};

async fn outbox(app: &TestApp, ticket: &str) -> Vec<(String, Value)> {
    let owner = app.db.connect().await;
    let id: uuid::Uuid = ticket.parse().unwrap();
    owner
        .query("SELECT event_type, payload FROM outbox WHERE ticket_id = $1 ORDER BY id", &[&id])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_ticket_is_opened_worked_assigned_and_resolved_with_its_timeline_and_events() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent_id = app.add_user(&admin, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;

    let r = app
        .post(
            "/api/v1/tickets",
            Some(&bob.access),
            json!({"title": "Printer on fire", "description": "Smoke everywhere", "customerId": customer}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let t = r.body.clone();
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!((t["status"].as_str(), t["priority"].as_str()), (Some("OPEN"), Some("MEDIUM")));
    assert_eq!(t["customer"], json!({"id": customer, "name": "Globex", "email": "ops@globex.test"}));
    assert!(t["assigneeId"].is_null() && t["resolvedAt"].is_null());
    assert_eq!(app.get(&format!("/api/v1/tickets/{id}"), Some(&bob.access)).await.body, t);

    let path = |suffix: &str| format!("/api/v1/tickets/{id}{suffix}");
    let edited =
        app.patch(&path(""), Some(&bob.access), json!({"priority": "URGENT", "title": "Printer on fire!"})).await;
    assert_eq!(
        (edited.body["priority"].as_str(), edited.body["title"].as_str()),
        (Some("URGENT"), Some("Printer on fire!"))
    );

    let working = app.patch(&path("/status"), Some(&bob.access), json!({"status": "IN_PROGRESS"})).await;
    assert_eq!(working.body["status"], "IN_PROGRESS");
    assert!(working.body["resolvedAt"].is_null());
    let resolved = app.patch(&path("/status"), Some(&bob.access), json!({"status": "RESOLVED"})).await;
    assert_eq!(resolved.body["status"], "RESOLVED");
    assert!(resolved.body["resolvedAt"].is_string());
    let again = app.patch(&path("/status"), Some(&bob.access), json!({"status": "RESOLVED"})).await;
    assert_eq!(again.body["resolvedAt"], resolved.body["resolvedAt"], "resolving twice keeps the first time");
    let reopened = app.patch(&path("/status"), Some(&admin.access), json!({"status": "OPEN"})).await;
    assert!(reopened.body["resolvedAt"].is_null(), "reopening clears resolvedAt");

    app.patch(&path("/assign"), Some(&bob.access), json!({"assigneeId": agent_id})).await.problem(403);
    let assigned = app.patch(&path("/assign"), Some(&admin.access), json!({"assigneeId": agent_id})).await;
    assert_eq!(assigned.body["assigneeId"], agent_id.as_str());
    let unassigned = app.patch(&path("/assign"), Some(&admin.access), json!({"assigneeId": null})).await;
    assert!(unassigned.body["assigneeId"].is_null());
    let missing = app.patch(&path("/assign"), Some(&admin.access), json!({})).await;
    assert_eq!(missing.problem(422)["errors"][0]["field"], "assigneeId");
    app.patch(&path("/assign"), Some(&admin.access), json!({"assigneeId": uuid::Uuid::now_v7()})).await.problem(404);
    // A disabled user is not an active user.
    app.patch(&format!("/api/v1/users/{agent_id}"), Some(&admin.access), json!({"disabled": true})).await;
    app.patch(&path("/assign"), Some(&admin.access), json!({"assigneeId": agent_id})).await.problem(404);

    let timeline = app.get(&path("/events"), Some(&admin.access)).await;
    assert_eq!(timeline.status, 200);
    let entries = timeline.body.as_array().unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["created", "updated", "status_changed", "status_changed", "status_changed", "assigned", "assigned"]
    );
    assert_eq!(entries[0]["actor"]["email"], "bob@acme.test");
    assert_eq!(
        entries[1]["data"],
        json!({"before": {"priority": "MEDIUM", "title": "Printer on fire"}, "after": {"priority": "URGENT", "title": "Printer on fire!"}})
    );
    assert_eq!(entries[3]["data"], json!({"before": {"status": "IN_PROGRESS"}, "after": {"status": "RESOLVED"}}));
    assert_eq!(entries[4]["actor"]["email"], "ann@acme.test");
    assert_eq!(entries[5]["data"], json!({"before": {"assigneeId": null}, "after": {"assigneeId": agent_id}}));
    let times: Vec<&str> = entries.iter().map(|e| e["createdAt"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    // Every change left one outbox row, edits (`ticket.updated`) included.
    let events = outbox(&app, &id).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "ticket.created",
            "ticket.updated",
            "ticket.status_changed",
            "ticket.status_changed",
            "ticket.status_changed",
            "ticket.assigned",
            "ticket.assigned"
        ]
    );
    let (_, created) = &events[0];
    assert_eq!(created["tenantId"], admin.tenant_id.as_str());
    assert_eq!(created["ticketId"], id.as_str());
    assert_eq!(created["actorId"], bob.user_id.as_str());
    assert_eq!(created["eventId"], entries[0]["id"], "the outbox event and its timeline entry share an id");
    assert!(created["before"].is_null() && created["after"]["status"] == "OPEN");
    assert_eq!(events[5].1["after"], json!({"assigneeId": agent_id}));
}

#[tokio::test]
async fn tickets_are_filtered_and_searched() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent = app.add_user(&admin, "bob@acme.test", "agent").await;
    let globex = app.customer(&admin, "Globex", "ops@globex.test").await;
    let initech = app.customer(&admin, "Initech", "bill@initech.test").await;
    let a = app.ticket(&admin, &globex, "Printer jam", Some("HIGH")).await;
    let b = app.ticket(&admin, &initech, "TPS report cover sheet", Some("LOW")).await;
    let c = app.ticket(&admin, &globex, "VPN drops hourly", None).await;
    let (a, b, c) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap(), c["id"].as_str().unwrap());
    app.patch(&format!("/api/v1/tickets/{b}/status"), Some(&admin.access), json!({"status": "IN_PROGRESS"})).await;
    app.patch(&format!("/api/v1/tickets/{c}/assign"), Some(&admin.access), json!({"assigneeId": agent})).await;

    let ids = |query: &str| {
        let app = &app;
        let token = admin.access.clone();
        let path = format!("/api/v1/tickets{query}");
        async move {
            let r = app.get(&path, Some(&token)).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            r.body["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("").await, [c, b, a]);
    assert_eq!(ids("?status=IN_PROGRESS").await, [b]);
    assert_eq!(ids("?status=OPEN").await, [c, a]);
    assert_eq!(ids("?priority=HIGH").await, [a]);
    assert_eq!(ids(&format!("?assigneeId={agent}")).await, [c]);
    assert_eq!(ids(&format!("?customerId={globex}")).await, [c, a]);
    assert_eq!(ids(&format!("?customerId={globex}&priority=MEDIUM")).await, [c]);
    assert_eq!(ids("?q=vpn").await, [c]);
    assert_eq!(ids("?q=details&status=OPEN&priority=HIGH").await, [a], "q searches the description too");
    assert!(ids("?q=nothing-like-this").await.is_empty());

    for bad in ["?status=CLOSED", "?priority=urgent", "?assigneeId=42", "?customerId=x", "?limit=500", "?cursor=abc"] {
        let r = app.get(&format!("/api/v1/tickets{bad}"), Some(&admin.access)).await;
        r.problem(400);
        assert!(!r.error_fields().is_empty(), "{bad}");
    }
}

#[tokio::test]
async fn a_ticket_needs_a_customer_of_this_tenant() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let body = |customer: String| json!({"title": "Help", "description": "", "customerId": customer});
    // More refusals than the pool has connections: the insert fails in the round trip
    // that carries its COMMIT, and each connection must come back clean from that.
    for _ in 0..12 {
        let r = app.post("/api/v1/tickets", Some(&admin.access), body(uuid::Uuid::now_v7().to_string())).await;
        assert_eq!(r.problem(404)["detail"], "customer not found");
    }
    let stats = app.get("/api/v1/stats", Some(&admin.access)).await.body;
    assert_eq!(stats["totalTickets"], 0, "nothing half-written");
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let r = app.post("/api/v1/tickets", Some(&admin.access), body(customer)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let owner = app.db.connect().await;
    let count = |table: &'static str| {
        let owner = &owner;
        async move {
            let row = owner.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap();
            row.get::<_, i64>(0)
        }
    };
    assert_eq!((count("tickets").await, count("ticket_events").await, count("outbox").await), (1, 1, 1));
}

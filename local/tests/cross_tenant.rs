//! The cross-tenant matrix, generated from the route table: tenant B, an admin, aims every
//! route at tenant A's ids (in the path, the query and the body). Each answer is a 404 or
//! 422 or an empty list, never A's data, and A's rows are byte-for-byte unchanged.

mod common;

use common::{PASSWORD, Session, TestApp};
use crm_functions::routes::routes;
use reqwest::Method;
use serde_json::{Value, json};

/// Tenant A's world: a second user, a customer, a ticket with history, a notification.
struct Victim {
    session: Session,
    user: String,
    customer: String,
    ticket: String,
}

async fn victim(app: &TestApp) -> Victim {
    let session = app.register("Acme", "ann@acme.test").await;
    let user = app.add_user(&session, "bob@acme.test", "agent").await;
    let customer = app.customer(&session, "Globex", "ops@globex.test").await;
    let ticket =
        app.ticket(&session, &customer, "Secret outage", Some("URGENT")).await["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/tickets/{ticket}/assign"), Some(&session.access), json!({"assigneeId": user})).await;
    let owner = app.db.connect().await;
    let (tenant, ticket_id): (uuid::Uuid, uuid::Uuid) = (session.tenant_id.parse().unwrap(), ticket.parse().unwrap());
    owner
        .execute(
            "INSERT INTO notifications (tenant_id, id, event_id, ticket_id, event_type, message) VALUES ($1, $2, $3, $4, 'ticket.created', 'secret')",
            &[&tenant, &uuid::Uuid::now_v7(), &uuid::Uuid::now_v7(), &ticket_id],
        )
        .await
        .unwrap();
    Victim { session, user, customer, ticket }
}

/// A body the route would accept from its own tenant, carrying A's ids where it takes ids.
fn body_for(function: &str, a: &Victim) -> Option<Value> {
    Some(match function {
        "users-create" => {
            json!({"email": "mallory@evil.test", "name": "M", "password": PASSWORD, "role": "admin"})
        }
        "users-update" => json!({"role": "agent", "disabled": true}),
        "customers-create" => json!({"name": "X", "email": "x@evil.test"}),
        "customers-update" => json!({"name": "Pwned"}),
        "tickets-create" => json!({"title": "X", "description": "", "customerId": a.customer}),
        "tickets-update" => json!({"title": "Pwned"}),
        "tickets-status" => json!({"status": "RESOLVED"}),
        "tickets-assign" => json!({"assigneeId": a.user}),
        _ => return None,
    })
}

/// A's id for the resource a path template names.
fn id_for(path: &str, a: &Victim) -> String {
    let id = if path.starts_with("/api/v1/users/") {
        &a.user
    } else if path.starts_with("/api/v1/customers/") {
        &a.customer
    } else if path.starts_with("/api/v1/tickets/") {
        &a.ticket
    } else {
        panic!("the matrix has no id of tenant A for {path}: add one");
    };
    path.replace("{id}", id)
}

#[tokio::test]
async fn tenant_b_never_reaches_tenant_a() {
    let app = TestApp::spawn().await;
    let a = victim(&app).await;
    let b = app.register("Evil", "eve@evil.test").await;
    let b_customer = app.customer(&b, "Evil customer", "c@evil.test").await;
    let b_ticket = app.ticket(&b, &b_customer, "B's own ticket", None).await["id"].as_str().unwrap().to_owned();
    let before = app.snapshot(&a.session.tenant_id).await;
    let secrets =
        [a.user.as_str(), a.customer.as_str(), a.ticket.as_str(), "Secret outage", "ops@globex.test", "bob@acme.test"];

    let mut checked = 0;
    for route in routes() {
        // Auth routes take credentials, not ids: whoever holds A's password or refresh
        // token is A. Docs and health hold no tenant data.
        if route.path.starts_with("/api/v1/auth/") || route.path.starts_with("/api-docs") || route.path == "/health" {
            continue;
        }
        let mut targets = Vec::new();
        if route.path.contains('{') {
            targets.push(id_for(route.path, &a));
        } else {
            targets.push(route.path.to_owned());
        }
        // A's ids in the query of the list routes.
        match route.function {
            "tickets-list" => {
                targets.push(format!("{}?customerId={}", route.path, a.customer));
                targets.push(format!("{}?assigneeId={}", route.path, a.user));
            }
            "notifications-list" => targets.push(format!("{}?ticketId={}", route.path, a.ticket)),
            _ => {}
        }
        for target in targets {
            let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
            let r = app.send(method, &target, Some(&b.access), body_for(route.function, &a)).await;
            // `instance` echoes the path B sent; everything else must be free of A's data.
            let mut shown = r.body.clone();
            if let Some(o) = shown.as_object_mut() {
                o.remove("instance");
            }
            let text = shown.to_string();
            for secret in secrets {
                assert!(!text.contains(secret), "{} {target} leaked {secret}: {text}", route.method);
            }
            let status = r.status.as_u16();
            let allowed = match route.function {
                // Routes without A's ids act on B's own tenant (or are public).
                "users-create" | "customers-create" | "users-list" | "customers-list" | "stats" => status < 500,
                "tickets-list" | "notifications-list" => {
                    status == 200 && (target == route.path || r.body["items"] == json!([]))
                }
                _ => status == 404 || status == 422,
            };
            assert!(allowed, "{} {target} answered {status}: {text}", route.method);
            checked += 1;
        }
    }
    assert!(checked >= 20, "the matrix covered the route table ({checked} requests)");

    // A's ids inside B's bodies, on B's own resources.
    let assign =
        app.patch(&format!("/api/v1/tickets/{b_ticket}/assign"), Some(&b.access), json!({"assigneeId": a.user})).await;
    assert_eq!(assign.problem(404)["detail"], "assignee not found");
    let ticket = app
        .post("/api/v1/tickets", Some(&b.access), json!({"title": "X", "description": "", "customerId": a.customer}))
        .await;
    assert_eq!(ticket.problem(404)["detail"], "customer not found");

    assert_eq!(app.snapshot(&a.session.tenant_id).await, before, "tenant A's rows are unchanged");
}

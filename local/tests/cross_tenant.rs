//! The cross-tenant matrix, generated from the route table: tenant B, an admin, aims every
//! route at tenant A's ids (in the path, the query and the body). Each answer is a 404 or
//! 422 or an empty list, never A's data, and A's rows are byte-for-byte unchanged.
//!
//! Every function of the route table must have an entry in [`expectation`]: a route added
//! without one fails the test, so no route is left out of the matrix by accident.

mod common;

use common::{Ids, Session, TestApp, body_for};
use crm_functions::routes::routes;
use reqwest::Method;
use serde_json::{Value, json};

/// Tenant A's world: a second user, a customer, a ticket with history, a tag, due dates
/// and a recorded breach, an internal note, a notification, a service-level policy, an
/// API key, a file, a webhook with a delivery, and a READY export of it all.
struct Victim {
    session: Session,
    user: String,
    customer: String,
    ticket: String,
    api_key: String,
    api_key_prefix: String,
    attachment: String,
    webhook: String,
    delivery: String,
    export: String,
}

/// Tenant A's name: B names it to delete "its" tenant.
const VICTIM_NAME: &str = "Acme";

async fn victim(app: &TestApp) -> Victim {
    let session = app.register(VICTIM_NAME, "ann@acme.test").await;
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
    // A policy of its own (B's due dates must never follow it) and a tag only A uses.
    let policy = json!({
        "timezone": "Pacific/Chatham",
        "businessHours": null,
        "holidays": [],
        "targets": {"URGENT": {"firstResponseMinutes": 30, "resolutionMinutes": 240}},
    });
    let r = app.send(Method::PUT, "/api/v1/sla-policy", Some(&session.access), Some(policy)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        app.patch(&format!("/api/v1/tickets/{ticket}"), Some(&session.access), json!({"tags": ["secret-vip"]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["sla"]["firstResponseDueAt"].is_string(), "A's ticket has due dates: {}", r.body);
    // A breach as the monitor records it, so `?breached=true` has one of A's tickets to find.
    owner
        .execute(
            "UPDATE tickets SET first_response_breached_at = first_response_due_at WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &ticket_id],
        )
        .await
        .unwrap();
    // A finds its ticket by each of them; B, aimed at the same filters, must find nothing.
    for filter in ["tag=secret-vip", "breached=true", "dueBefore=2100-01-01T00:00:00Z"] {
        let r = app.get(&format!("/api/v1/tickets?{filter}"), Some(&session.access)).await;
        assert_eq!(r.body["items"][0]["id"], ticket.as_str(), "{filter}: {}", r.body);
    }
    // A's audit log holds A's writes on them; B's, filtered by the same ids, must be empty.
    for id in [&ticket, &customer, &user] {
        let r = app.get(&format!("/api/v1/audit-log?targetId={id}"), Some(&session.access)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["items"][0]["targetId"], id.as_str(), "A's audit log, targetId={id}: {}", r.body);
    }
    let note = json!({"body": "Secret note", "public": false});
    let r = app.post(&format!("/api/v1/tickets/{ticket}/comments"), Some(&session.access), note).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = app.api_key(&session, "A's integration", "admin").await;
    let api_key = key["apiKey"]["id"].as_str().unwrap().to_owned();
    let api_key_prefix = key["apiKey"]["prefix"].as_str().unwrap().to_owned();
    let attachment =
        app.attach(&session, &ticket, "secret-plan.txt", b"secret").await["id"].as_str().unwrap().to_owned();
    // An endpoint with a delivery in its log; inactive, so nothing the matrix does posts to it.
    let hook = json!({"url": "http://127.0.0.1:9/secret-hook", "events": ["*"], "description": "Secret sync"});
    let r = app.post("/api/v1/webhooks", Some(&session.access), hook).await;
    assert_eq!(r.status, 201, "{}", r.body);
    common::remember_secret(r.body["secret"].as_str().unwrap());
    let webhook = r.body["webhook"]["id"].as_str().unwrap().to_owned();
    let off = app.patch(&format!("/api/v1/webhooks/{webhook}"), Some(&session.access), json!({"active": false})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    let delivery = uuid::Uuid::now_v7();
    owner
        .execute(
            "INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, attempt, status)
             VALUES ($1, $2, $3, $4, 'ticket.created', '{\"type\": \"ticket.created\"}', 1, 'FAILED')",
            &[&tenant, &delivery, &webhook.parse::<uuid::Uuid>().unwrap(), &uuid::Uuid::now_v7()],
        )
        .await
        .unwrap();
    let delivery = delivery.to_string();
    // An export of all of the above, READY (so nothing of A changes while the matrix runs):
    // B aimed at it must get a 404, never its download URL.
    let r = app.post("/api/v1/tenant/exports", Some(&session.access), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let export = r.body["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    loop {
        let r = app.get(&format!("/api/v1/tenant/exports/{export}"), Some(&session.access)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == "READY" {
            assert!(r.body["downloadUrl"].is_string(), "{}", r.body);
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "A's export never READY: {}", r.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Victim { session, user, customer, ticket, api_key, api_key_prefix, attachment, webhook, delivery, export }
}

impl Victim {
    fn ids(&self) -> Ids<'_> {
        Ids {
            user: &self.user,
            customer: &self.customer,
            ticket: &self.ticket,
            api_key: &self.api_key,
            attachment: &self.attachment,
            webhook: &self.webhook,
            delivery: &self.delivery,
            export: &self.export,
        }
    }
}

/// What tenant B may see from a route aimed at tenant A.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// The route takes one of A's ids in its path: 404 (or 422 for a body B got wrong).
    ForeignId,
    /// The route acts on B's own tenant whatever it is sent: any non-5xx, never A's data.
    OwnTenant,
    /// A list filtered by A's ids: 200 and empty.
    FilteredList,
    /// Not a tenant-data route (credentials, docs, health); the reason is the string.
    Exempt(&'static str),
}

/// The matrix's plan for every function of the route table. Adding a route means adding
/// it here (the test fails otherwise).
fn expectation(function: &str) -> Option<Expect> {
    use Expect::*;
    const CREDENTIALS: &str = "takes credentials, not ids: whoever holds A's password or refresh token is A";
    Some(match function {
        "auth-register" | "auth-login" | "auth-refresh" | "auth-logout" => Exempt(CREDENTIALS),
        "auth-verify-email" | "auth-password-forgot" | "auth-password-reset" | "auth-accept-invitation" => {
            Exempt("takes an address or a mailed token, not ids: whoever reads A's mail is A")
        }
        "auth-me" | "auth-password-change" | "users-invite" => OwnTenant,
        "users-create" | "users-list" | "customers-create" | "customers-list" | "stats" => OwnTenant,
        // The tenant's one policy and its tags: no id to aim at A, B reads and writes its own.
        "sla-policy-get" | "sla-policy-put" | "tags-list" => OwnTenant,
        "api-keys-create" | "api-keys-list" => OwnTenant,
        "events-list" | "webhooks-create" | "webhooks-list" => OwnTenant,
        "webhooks-update" | "webhooks-delete" | "webhooks-rotate-secret" | "webhooks-test" => ForeignId,
        "webhooks-deliveries" | "webhooks-redeliver" => ForeignId,
        "api-keys-revoke" => ForeignId,
        "tickets-create" => ForeignId,
        "users-get" | "users-update" | "customers-get" | "customers-update" | "customers-delete" => ForeignId,
        "customers-erase" => ForeignId,
        "tickets-get" | "tickets-update" | "tickets-status" | "tickets-assign" | "tickets-events" => ForeignId,
        "comments-create" | "comments-list" => ForeignId,
        "attachments-create" | "attachments-complete" | "attachments-list" | "attachments-get" => ForeignId,
        "attachments-delete" => ForeignId,
        // Deletes the caller's own tenant only, confirmed by its name: B naming A gets 422
        // (`confirm`), and neither tenant is touched (the matrix goes on as B).
        "tenant-delete" => OwnTenant,
        // B's own export (of B's tenant); A's export by its id is a 404.
        "tenant-exports-create" => OwnTenant,
        "tenant-exports-get" => ForeignId,
        // The audit log has no id to aim at A either; filtered by A's ids it must be empty.
        "tickets-list" | "notifications-list" | "audit-log-list" => FilteredList,
        "health" => Exempt("holds no tenant data"),
        "docs" => Exempt("the public API description"),
        _ => return None,
    })
}

#[tokio::test]
async fn tenant_b_never_reaches_tenant_a() {
    // Webhook URLs on loopback, so no test sends traffic off the machine.
    let app = TestApp::spawn_with(&[("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")]).await;
    let a = victim(&app).await;
    let b = app.register("Evil", "eve@evil.test").await;
    let b_customer = app.customer(&b, "Evil customer", "c@evil.test").await;
    let b_ticket = app.ticket(&b, &b_customer, "B's own ticket", None).await["id"].as_str().unwrap().to_owned();
    // An idempotency key is scoped to its tenant: B reusing A's key gets its own resource,
    // never A's stored answer.
    let key = "shared-key-0001";
    let create_with_key = |access: &str, body: Value| {
        app.http
            .post(app.url("/api/v1/customers"))
            .bearer_auth(access)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = create_with_key(&a.session.access, json!({"name": "A's idempotent", "email": "idem@globex.test"}));
    assert_eq!(first.await.unwrap().status(), 201);
    let reused = create_with_key(&b.access, json!({"name": "B's own", "email": "idem@evil.test"})).await.unwrap();
    assert_eq!(reused.status(), 201);
    assert!(reused.headers().get("idempotent-replayed").is_none());
    let body: Value = reused.json().await.unwrap();
    assert_eq!(body["name"], "B's own");
    let before = app.snapshot(&a.session.tenant_id).await;
    let secrets = [
        // A's admin: the actor of every entry in A's audit log.
        a.session.user_id.as_str(),
        a.user.as_str(),
        a.customer.as_str(),
        a.ticket.as_str(),
        a.api_key_prefix.as_str(),
        "Secret outage",
        "Secret note",
        "secret-plan.txt",
        "secret-hook",
        "Secret sync",
        "ops@globex.test",
        "bob@acme.test",
        // A's export: its id only ever in the path B sent (`instance`), never in an answer
        // (its download URL names it too).
        a.export.as_str(),
        "Pacific/Chatham",
        "secret-vip",
    ];

    let routes = routes();
    let uncovered: Vec<String> = routes.iter().filter(|r| expectation(r.function).is_none()).map(|r| r.key()).collect();
    assert!(uncovered.is_empty(), "routes missing from the cross-tenant matrix: {uncovered:?}");

    let mut checked = 0;
    let mut tried = std::collections::BTreeSet::new();
    for route in &routes {
        let expect = expectation(route.function).unwrap_or(Expect::Exempt("checked above"));
        if let Expect::Exempt(_) = expect {
            continue;
        }
        let takes_body = matches!(route.method.as_str(), "POST" | "PATCH" | "PUT");
        assert!(
            !takes_body || body_for(route.function, &a.ids()).is_some(),
            "{}: the matrix has no body for {} (add one to body_for)",
            route.key(),
            route.function
        );
        let mut targets = Vec::new();
        if route.path.contains('{') {
            assert_eq!(expect, Expect::ForeignId, "{} takes an id: it must be a ForeignId route", route.key());
            targets.push(a.ids().path(route.path));
        } else {
            targets.push(route.path.to_owned());
        }
        // A's ids in the query of the list routes.
        match route.function {
            "tickets-list" => {
                targets.push(format!("{}?customerId={}", route.path, a.customer));
                targets.push(format!("{}?assigneeId={}", route.path, a.user));
                // Filters only A's ticket matches: its tag, its recorded breach, its due dates.
                targets.push(format!("{}?tag=secret-vip", route.path));
                targets.push(format!("{}?breached=true", route.path));
                targets.push(format!("{}?dueBefore=2100-01-01T00:00:00Z", route.path));
            }
            "notifications-list" => targets.push(format!("{}?ticketId={}", route.path, a.ticket)),
            "audit-log-list" => {
                for id in [&a.ticket, &a.customer, &a.user] {
                    targets.push(format!("{}?targetId={id}", route.path));
                }
                targets.push(format!("{}?actorId={}", route.path, a.session.user_id));
            }
            _ => {}
        }
        if expect == Expect::FilteredList {
            assert!(targets.len() > 1, "{}: a filtered list needs A's ids in its query", route.key());
        }
        for target in targets {
            let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
            let body = match route.function {
                "tenant-delete" => Some(json!({"confirm": VICTIM_NAME})),
                _ => body_for(route.function, &a.ids()),
            };
            let r = app.send(method, &target, Some(&b.access), body).await;
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
            let allowed = match expect {
                Expect::OwnTenant if route.function == "tenant-delete" => {
                    status == 422 && r.error_fields() == ["confirm"]
                }
                Expect::OwnTenant => status < 500,
                Expect::FilteredList => status == 200 && (target == route.path || r.body["items"] == json!([])),
                Expect::ForeignId => status == 404 || status == 422,
                Expect::Exempt(_) => unreachable!(),
            };
            assert!(allowed, "{} {target} ({expect:?}) answered {status}: {text}", route.method);
            checked += 1;
            tried.insert(route.key());
        }
    }
    let expected: std::collections::BTreeSet<String> = routes
        .iter()
        .filter(|r| !matches!(expectation(r.function), Some(Expect::Exempt(_))))
        .map(|r| r.key())
        .collect();
    assert_eq!(tried, expected, "every tenant route was aimed at tenant A");
    assert!(checked >= 22, "the matrix covered the route table ({checked} requests)");

    // A's ids inside B's bodies, on B's own resources.
    let assign =
        app.patch(&format!("/api/v1/tickets/{b_ticket}/assign"), Some(&b.access), json!({"assigneeId": a.user})).await;
    assert_eq!(assign.problem(404)["detail"], "assignee not found");
    let ticket = app
        .post("/api/v1/tickets", Some(&b.access), json!({"title": "X", "description": "", "customerId": a.customer}))
        .await;
    assert_eq!(ticket.problem(404)["detail"], "customer not found");

    // B is still there: its tenant-delete, naming A, deleted nothing.
    assert_eq!(app.get("/api/v1/stats", Some(&b.access)).await.status, 200);
    assert_eq!(app.snapshot(&a.session.tenant_id).await, before, "tenant A's rows are unchanged");
}

//! Authorization comes from the database, not from the token's claims: a disabled user, a
//! demoted admin and a promoted agent are refused or limited, or empowered, on their very
//! next request, whatever their still-valid access token says.

mod common;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{Ids, PASSWORD, Session, TestApp, body_for, session};
use crm_functions::routes::routes;
use reqwest::Method;
use serde_json::{Value, json};

/// The functions that take no access token. Every other route must refuse a disabled user.
const PUBLIC: &[&str] = &[
    "auth-register",
    "auth-verify-email",
    "auth-login",
    "auth-refresh",
    "auth-logout",
    "auth-password-forgot",
    "auth-password-reset",
    "auth-accept-invitation",
    "health",
    "docs",
];

/// Ann's tenant with a second admin, Rex, logged in; a customer and a ticket.
struct Acme {
    ann: Session,
    rex: Session,
    customer: String,
    ticket: String,
    api_key: String,
}

async fn acme(app: &TestApp) -> Acme {
    let ann = app.register("Acme", "ann@acme.test").await;
    app.add_user(&ann, "rex@acme.test", "admin").await;
    let rex = session(&app.login("rex@acme.test", PASSWORD).await.body);
    let customer = app.customer(&ann, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&ann, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let api_key = app.api_key(&ann, "Zapier", "agent").await["apiKey"]["id"].as_str().unwrap().to_owned();
    Acme { ann, rex, customer, ticket, api_key }
}

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

#[tokio::test]
async fn a_disabled_admins_old_token_is_refused_on_every_route() {
    let app = TestApp::spawn().await;
    let acme = acme(&app).await;
    let rex_path = format!("/api/v1/users/{}", acme.rex.user_id);
    let r = app.patch(&rex_path, Some(&acme.ann.access), json!({"disabled": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Rex's token is valid for minutes more, but it cannot undo the decision ...
    let p = app.patch(&rex_path, Some(&acme.rex.access), json!({"disabled": false})).await;
    assert_eq!(p.problem(401)["detail"], "this user is disabled");
    assert_eq!(app.get(&rex_path, Some(&acme.ann.access)).await.body["disabled"], true);
    // ... nor leave a backdoor admin behind, nor read.
    let backdoor = json!({"email": "back@door.test", "name": "B", "password": PASSWORD, "role": "admin"});
    app.post("/api/v1/users", Some(&acme.rex.access), backdoor).await.problem(401);
    app.login("back@door.test", PASSWORD).await.problem(401);
    app.get(&format!("/api/v1/tickets/{}", acme.ticket), Some(&acme.rex.access)).await.problem(401);

    // Every authenticated route of the route table, each with a body it would accept.
    let attachment =
        app.attach(&acme.ann, &acme.ticket, "notes.txt", b"notes").await["id"].as_str().unwrap().to_owned();
    let before = app.snapshot(&acme.ann.tenant_id).await;
    // Refused before any lookup: ids of rows that need not exist do.
    let (webhook, delivery, export) =
        (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let ids = Ids {
        user: &acme.rex.user_id,
        customer: &acme.customer,
        ticket: &acme.ticket,
        api_key: &acme.api_key,
        attachment: &attachment,
        webhook: &webhook,
        delivery: &delivery,
        export: &export,
    };
    let mut refused = 0;
    for route in routes().iter().filter(|r| !PUBLIC.contains(&r.function)) {
        let target = if route.path.contains('{') { ids.path(route.path) } else { route.path.to_owned() };
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let body = match route.function {
            // Naming the tenant right: refused all the same, and the tenant stays.
            "tenant-delete" => Some(json!({"confirm": "Acme"})),
            _ => body_for(route.function, &ids),
        };
        let r = app.send(method, &target, Some(&acme.rex.access), body).await;
        assert_eq!(r.status, 401, "{} {target} answered a disabled admin: {}", route.method, r.body);
        r.problem(401);
        refused += 1;
    }
    assert!(refused >= 19, "every authenticated route was tried ({refused})");
    assert_eq!(app.snapshot(&acme.ann.tenant_id).await, before, "nothing changed");

    // Enabled again by Ann, the same token works again: the row decides, not the token.
    app.patch(&rex_path, Some(&acme.ann.access), json!({"disabled": false})).await;
    assert_eq!(app.get("/api/v1/users", Some(&acme.rex.access)).await.status, 200);
}

#[tokio::test]
async fn a_demoted_admin_is_an_agent_on_its_next_request() {
    let app = TestApp::spawn().await;
    let acme = acme(&app).await;
    let rex_path = format!("/api/v1/users/{}", acme.rex.user_id);
    let r = app.patch(&rex_path, Some(&acme.ann.access), json!({"role": "agent"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(claims(&acme.rex.access)["role"], "admin", "the token still claims admin");

    app.patch(&rex_path, Some(&acme.rex.access), json!({"role": "admin"})).await.problem(403);
    assert_eq!(app.get(&rex_path, Some(&acme.ann.access)).await.body["role"], "agent");
    let backdoor = json!({"email": "back@door.test", "name": "B", "password": PASSWORD, "role": "admin"});
    app.post("/api/v1/users", Some(&acme.rex.access), backdoor).await.problem(403);
    app.get("/api/v1/users", Some(&acme.rex.access)).await.problem(403);
    app.get(&format!("/api/v1/users/{}", acme.ann.user_id), Some(&acme.rex.access)).await.problem(403);
    let assign = format!("/api/v1/tickets/{}/assign", acme.ticket);
    app.patch(&assign, Some(&acme.rex.access), json!({"assigneeId": acme.rex.user_id})).await.problem(403);
    let customer = format!("/api/v1/customers/{}", acme.customer);
    app.send(Method::DELETE, &customer, Some(&acme.rex.access), None).await.problem(403);

    // What an agent may do, Rex still does.
    let ticket = format!("/api/v1/tickets/{}", acme.ticket);
    assert_eq!(app.get(&ticket, Some(&acme.rex.access)).await.status, 200);
    let r = app.patch(&format!("{ticket}/status"), Some(&acme.rex.access), json!({"status": "IN_PROGRESS"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get("/api/v1/auth/me", Some(&acme.rex.access)).await.body["user"]["role"], "agent");
}

#[tokio::test]
async fn a_promoted_agent_is_an_admin_without_a_new_token() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let bob_id = app.add_user(&ann, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    app.get("/api/v1/users", Some(&bob.access)).await.problem(403);

    app.patch(&format!("/api/v1/users/{bob_id}"), Some(&ann.access), json!({"role": "admin"})).await;
    assert_eq!(claims(&bob.access)["role"], "agent");
    assert_eq!(app.get("/api/v1/users", Some(&bob.access)).await.status, 200);
    let r = app
        .post(
            "/api/v1/users",
            Some(&bob.access),
            json!({"email": "cy@acme.test", "name": "Cy", "password": PASSWORD, "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn a_token_whose_user_is_gone_is_refused() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let bob_id = app.add_user(&ann, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let owner = app.db.connect().await;
    let bob_uuid: uuid::Uuid = bob_id.parse().unwrap();
    owner.execute("DELETE FROM refresh_tokens WHERE user_id = $1", &[&bob_uuid]).await.unwrap();
    owner.execute("DELETE FROM users WHERE id = $1", &[&bob_uuid]).await.unwrap();

    let r = app.get("/api/v1/stats", Some(&bob.access)).await;
    assert_eq!(r.problem(401)["detail"], "the user of this token no longer exists");
}

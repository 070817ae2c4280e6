//! The audit log: every write through a caller's unit of work appends one row in its own
//! transaction, with the request's id; the runtime role can add and read rows, never
//! change or remove them; admins read the log newest first with filters.

mod common;

use common::{Ids, PASSWORD, Session, TestApp, body_for, remember_secret, session};
use crm_functions::routes::routes;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Write routes whose caller the service finds itself (a password, a refresh token, a
/// mailed link): walked by their own test below, each with what it needs. A sign-up
/// (`auth-register`) writes nothing of a tenant until its link is redeemed
/// (`auth-verify-email`, audited): the tenant does not exist before.
const NO_CALLER: &[&str] = &[
    "auth-register",
    "auth-verify-email",
    "auth-login",
    "auth-refresh",
    "auth-logout",
    "auth-password-forgot",
    "auth-password-reset",
    "auth-accept-invitation",
];

/// Run last, in this order: each would take away what others need.
const LAST: &[&str] = &[
    "users-update",
    "attachments-delete",
    "webhooks-delete",
    "api-keys-revoke",
    "customers-delete",
    "customers-erase",
    "auth-password-change",
    // Every credential of the tenant is refused after this one.
    "tenant-delete",
];

async fn audit_rows(app: &TestApp, request_id: &str) -> Vec<(String, Option<String>, Value)> {
    let owner = app.db.connect().await;
    owner
        .query("SELECT action, target_type, changes FROM audit_log WHERE request_id = $1", &[&request_id])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn every_write_route_records_one_row_in_its_transaction() {
    let app = TestApp::spawn_with(&[("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")]).await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let bob = app.add_user(&ann, "bob@acme.test", "agent").await;
    let customer = app.customer(&ann, "Globex", "ops@globex.test").await;
    let spare = app.customer(&ann, "Spare", "spare@globex.test").await;
    let erasable = app.customer(&ann, "Erin", "erin@globex.test").await;
    let ticket = app.ticket(&ann, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let api_key = app.api_key(&ann, "Zapier", "agent").await["apiKey"]["id"].as_str().unwrap().to_owned();
    let attachment = app.attach(&ann, &ticket, "notes.txt", b"notes").await["id"].as_str().unwrap().to_owned();
    let hook = app
        .post("/api/v1/webhooks", Some(&ann.access), json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    remember_secret(hook.body["secret"].as_str().unwrap());
    let webhook = hook.body["webhook"]["id"].as_str().unwrap().to_owned();
    // A delivery of its own: the events above may all be consumed before the endpoint
    // existed, and then none fans out to it.
    let test = app.post(&format!("/api/v1/webhooks/{webhook}/test"), Some(&ann.access), json!({})).await;
    assert!(test.status.is_success(), "{}", test.body);
    app.settle().await;
    let deliveries = app.get(&format!("/api/v1/webhooks/{webhook}/deliveries"), Some(&ann.access)).await;
    let delivery = deliveries.body["items"][0]["id"].as_str().expect("a delivery").to_owned();
    // No write route takes an export's id (tenant-exports-create makes one).
    let export = uuid::Uuid::now_v7().to_string();

    let mut writes: Vec<_> =
        routes().into_iter().filter(|r| r.method != Method::GET && !NO_CALLER.contains(&r.function)).collect();
    writes.sort_by_key(|r| LAST.iter().position(|f| *f == r.function).map_or(0, |at| at + 1));
    let mut audited = 0;
    for route in &writes {
        let customer = match route.function {
            "customers-delete" => &spare,
            "customers-erase" => &erasable,
            _ => &customer,
        };
        let ids = Ids {
            user: &bob,
            customer,
            ticket: &ticket,
            api_key: &api_key,
            attachment: &attachment,
            webhook: &webhook,
            delivery: &delivery,
            export: &export,
        };
        if route.function == "attachments-complete" {
            // A file declared and uploaded, not yet completed.
            let declared = app
                .post(
                    &format!("/api/v1/tickets/{ticket}/attachments"),
                    Some(&ann.access),
                    body_for("attachments-create", &ids).unwrap(),
                )
                .await;
            let put = &declared.body["upload"];
            let sent = app
                .http
                .put(put["url"].as_str().unwrap())
                .header("content-type", "text/plain")
                .body("x")
                .send()
                .await
                .unwrap();
            assert!(sent.status().is_success());
            let id = declared.body["attachment"]["id"].as_str().unwrap().to_owned();
            let path = format!("/api/v1/tickets/{ticket}/attachments/{id}/complete");
            let r = app.post(&path, Some(&ann.access), json!({})).await;
            check(&app, route.function, &r).await;
            audited += 1;
            continue;
        }
        let target = if route.path.contains('{') { ids.path(route.path) } else { route.path.to_owned() };
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let body = match route.function {
            "tenant-delete" => Some(json!({"confirm": "Acme"})),
            _ => body_for(route.function, &ids),
        };
        let r = app.send(method, &target, Some(&ann.access), body).await;
        check(&app, route.function, &r).await;
        audited += 1;
    }
    assert!(audited >= 25, "every write route was tried ({audited})");

    // A write that fails leaves no row.
    // (Acme is gone by now: another tenant tries.)
    let rival = app.register("Rival", "ron@rival.test").await;
    let r = app.post("/api/v1/customers", Some(&rival.access), json!({"name": "", "email": "x@y.test"})).await;
    assert_eq!(r.status, 422);
    assert!(audit_rows(&app, &request_id(&r)).await.is_empty());
}

fn request_id(r: &common::Reply) -> String {
    r.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id").to_owned()
}

async fn check(app: &TestApp, function: &str, r: &common::Reply) {
    assert!(r.status.is_success(), "{function} answered {}: {}", r.status, r.body);
    let rows = audit_rows(app, &request_id(r)).await;
    assert_eq!(rows.len(), 1, "{function}: one audit row for its request: {rows:?}");
    assert_eq!(rows[0].0, function);
    assert!(rows[0].1.is_some(), "{function}: a target type");
    let changes = rows[0].2.to_string();
    for secret in ["password", "secret", "hash", PASSWORD] {
        assert!(!changes.to_lowercase().contains(secret), "{function}: {changes}");
    }
}

#[tokio::test]
async fn the_runtime_role_adds_and_reads_rows_but_never_changes_them() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    app.customer(&ann, "Globex", "ops@globex.test").await;
    let owner = app.db.connect().await;
    let tenant: uuid::Uuid = ann.tenant_id.parse().unwrap();
    owner.batch_execute("SET ROLE crm_app").await.unwrap();
    owner.execute("SELECT set_config('app.tenant_id', $1, false)", &[&ann.tenant_id]).await.unwrap();
    let n: i64 = owner.query_one("SELECT count(*) FROM audit_log", &[]).await.unwrap().get(0);
    assert!(n >= 1, "the runtime role reads its tenant's rows");
    owner
        .execute(
            "INSERT INTO audit_log (tenant_id, actor_type, action) VALUES ($1, 'system', 'test-insert')",
            &[&tenant],
        )
        .await
        .unwrap();
    for sql in [
        "UPDATE audit_log SET action = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY",
    ] {
        let e = owner.batch_execute(sql).await.expect_err(sql);
        let code = e.as_db_error().map(|d| d.code().code().to_owned());
        assert!(matches!(code.as_deref(), Some("42501")), "{sql}: {e:?}");
    }
    owner.batch_execute("RESET ROLE").await.unwrap();
    let kept: i64 = owner.query_one("SELECT count(*) FROM audit_log", &[]).await.unwrap().get(0);
    assert_eq!(kept, n + 1);
}

#[tokio::test]
async fn admins_read_the_log_newest_first_with_filters_and_only_their_own() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let rival = app.register("Rival", "ron@rival.test").await;
    app.add_user(&ann, "bob@acme.test", "agent").await;
    let bob: Session = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let customer = app.customer(&ann, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&bob, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let r = app
        .patch(
            &format!("/api/v1/tickets/{ticket}"),
            Some(&bob.access),
            json!({"title": "Printer fixed", "priority": "HIGH"}),
        )
        .await;
    assert_eq!(r.status, 200);
    app.customer(&rival, "Noise", "noise@rival.test").await;

    assert_eq!(app.get("/api/v1/audit-log", Some(&bob.access)).await.status, StatusCode::FORBIDDEN);
    let all = app.get("/api/v1/audit-log", Some(&ann.access)).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let actions: Vec<&str> =
        all.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["tickets-update", "tickets-create", "customers-create", "auth-login", "users-create", "auth-verify-email"],
        "newest first"
    );

    let edits = app.get(&format!("/api/v1/audit-log?targetId={ticket}&action=tickets-update"), Some(&ann.access)).await;
    let items = edits.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", edits.body);
    let edit = &items[0];
    assert_eq!(edit["actor"], json!({"type": "user", "id": bob.user_id}));
    assert_eq!(edit["targetType"], "ticket");
    assert_eq!(edit["changes"], json!({"title": ["Printer on fire", "Printer fixed"], "priority": ["MEDIUM", "HIGH"]}));
    assert_eq!(edit["requestId"], r.headers["x-request-id"].to_str().unwrap());

    let by_bob = app.get(&format!("/api/v1/audit-log?actorId={}", bob.user_id), Some(&ann.access)).await;
    assert_eq!(by_bob.body["items"].as_array().unwrap().len(), 3, "login, create, edit");
    let future = app.get("/api/v1/audit-log?after=2100-01-01T00:00:00Z", Some(&ann.access)).await;
    assert_eq!(future.body["items"], json!([]));
    let page = app.get("/api/v1/audit-log?limit=2", Some(&ann.access)).await.body;
    let cursor = page["nextCursor"].as_str().unwrap();
    let next = app.get(&format!("/api/v1/audit-log?limit=2&cursor={cursor}"), Some(&ann.access)).await.body;
    assert_eq!(next["items"][0]["action"], "customers-create");
    assert_eq!(next["items"][1]["action"], "auth-login");
    let theirs = app.get("/api/v1/audit-log", Some(&rival.access)).await.body;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 2, "its sign-up and its customer: {theirs}");

    // Other edits record their fields too, old and new, and only those that changed.
    let renamed = json!({"name": "Globex Corp", "company": null});
    assert_eq!(app.patch(&format!("/api/v1/customers/{customer}"), Some(&ann.access), renamed).await.status, 200);
    let promoted = json!({"role": "admin", "name": "Bob"});
    assert_eq!(app.patch(&format!("/api/v1/users/{}", bob.user_id), Some(&ann.access), promoted).await.status, 200);
    let edits = app.get("/api/v1/audit-log?limit=2", Some(&ann.access)).await.body;
    assert_eq!(
        edits["items"][0]["changes"],
        json!({"role": ["agent", "admin"], "name": ["Someone", "Bob"]}),
        "{edits}"
    );
    assert_eq!(edits["items"][1]["changes"], json!({"name": ["Globex", "Globex Corp"]}), "{edits}");

    for query in ["actorId=x", "action=Drop%20table", "after=yesterday", "targetType=a_b"] {
        let r = app.get(&format!("/api/v1/audit-log?{query}"), Some(&ann.access)).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
    }
}

/// The routes that find their caller themselves record it once they have: each leaves one
/// row for its request, naming the user.
#[tokio::test]
async fn sign_in_refresh_logout_and_mailed_links_are_recorded_too() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let owner = app.db.connect().await;
    let verified: Vec<String> = owner
        .query("SELECT actor_id::text FROM audit_log WHERE action = 'auth-verify-email'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(verified, std::slice::from_ref(&ann.user_id));

    let expect_row = |function: &'static str, user: String| {
        let app = &app;
        move |r: common::Reply| async move {
            assert!(r.status.is_success(), "{function}: {} {}", r.status, r.body);
            let owner = app.db.connect().await;
            let rows: Vec<(String, Option<String>)> = owner
                .query("SELECT action, actor_id::text FROM audit_log WHERE request_id = $1", &[&request_id(&r)])
                .await
                .unwrap()
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            assert_eq!(rows, [(function.to_owned(), Some(user))], "{function}");
            r
        }
    };
    let login = app.login("ann@acme.test", PASSWORD).await;
    let login = expect_row("auth-login", ann.user_id.clone())(login).await;
    let refresh = login.body["refreshToken"].as_str().unwrap().to_owned();
    let refreshed = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh})).await;
    let refreshed = expect_row("auth-refresh", ann.user_id.clone())(refreshed).await;
    let out = app.post("/api/v1/auth/logout", None, json!({"refreshToken": refreshed.body["refreshToken"]})).await;
    expect_row("auth-logout", ann.user_id.clone())(out).await;

    let forgot = app.post("/api/v1/auth/password/forgot", None, json!({"email": "ann@acme.test"})).await;
    expect_row("auth-password-forgot", ann.user_id.clone())(forgot).await;
    let token = app.mailed_token("ann@acme.test", "/reset-password").await;
    let reset = app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": PASSWORD})).await;
    expect_row("auth-password-reset", ann.user_id.clone())(reset).await;

    let invited = app
        .post(
            "/api/v1/users/invitations",
            Some(&ann.access),
            json!({"email": "ivy@acme.test", "name": "Ivy", "role": "agent"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let token = app.mailed_token("ivy@acme.test", "/accept-invitation").await;
    let accepted =
        app.post("/api/v1/auth/accept-invitation", None, json!({"token": token, "password": PASSWORD})).await;
    let ivy = accepted.body["user"]["id"].as_str().unwrap_or_default().to_owned();
    expect_row("auth-accept-invitation", ivy)(accepted).await;

    // A refused sign-in writes nothing of the tenant, and records nothing.
    let wrong = app.login("ann@acme.test", "not the password").await;
    assert_eq!(wrong.status, 401);
    let n: i64 = owner
        .query_one("SELECT count(*) FROM audit_log WHERE request_id = $1", &[&request_id(&wrong)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

//! Accounts done right, as people use them: sign-up that proves the address, password
//! reset and change, invitations; all mail read from `crm-local`'s mailbox.

mod common;

use common::{PASSWORD, TestApp, session};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn sign_up(tenant: &str, email: &str) -> Value {
    json!({"tenantName": tenant, "email": email, "password": PASSWORD, "name": "Someone"})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.connect().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn register_answers_the_same_for_a_new_and_a_taken_address() {
    let app = TestApp::spawn().await;
    app.register("Acme", "ann@acme.test").await;
    let tenants = count(&app, "SELECT count(*) FROM tenants").await;

    let taken = app.post("/api/v1/auth/register", None, sign_up("Squat", "ANN@acme.test")).await;
    let new = app.post("/api/v1/auth/register", None, sign_up("Globex", "gil@globex.test")).await;
    assert_eq!((taken.status, new.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(taken.body, new.body, "the same body");
    assert_eq!(taken.body, json!({"status": "verification_sent"}));
    let names = |r: &common::Reply| {
        let mut names: Vec<String> = r.headers.keys().map(|k| k.to_string()).filter(|k| k != "date").collect();
        names.sort();
        names
    };
    assert_eq!(names(&taken), names(&new), "the same headers");

    // The owner of the taken address hears of it; no link can create a second account.
    let mails = app.mailbox("ann@acme.test").await;
    assert_eq!(mails[0]["subject"], "You already have a SimpleCRM account");
    let text = mails[0]["text"].as_str().unwrap();
    assert!(text.contains("http://127.0.0.1:3000/forgot-password") && !text.contains("token="), "{text}");
    assert_eq!(count(&app, "SELECT count(*) FROM tenants").await, tenants, "nothing was created");
    // The new address gets its link and nothing exists before it is followed.
    app.login("gil@globex.test", PASSWORD).await.problem(401);
    let token = app.mailed_token("gil@globex.test", "/verify-email").await;
    let verified = app.post("/api/v1/auth/verify-email", None, json!({"token": token})).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["tenant"]["name"], "Globex");
    assert_eq!(verified.body["user"]["role"], "admin");
    assert_eq!(app.login("gil@globex.test", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_verification_link_works_once_and_expires() {
    let app = TestApp::spawn().await;
    app.post("/api/v1/auth/register", None, sign_up("Acme", "ann@acme.test")).await;
    let token = app.mailed_token("ann@acme.test", "/verify-email").await;
    let verify = |token: String| app.post("/api/v1/auth/verify-email", None, json!({"token": token}));
    assert_eq!(verify(token.clone()).await.status, 200);
    let again = verify(token).await;
    assert_eq!(again.problem(400)["type"], "https://simplecrm.dev/problems/invalid-token");
    verify("not-a-token".into()).await.problem(400);

    app.post("/api/v1/auth/register", None, sign_up("Late", "lee@late.test")).await;
    let late = app.mailed_token("lee@late.test", "/verify-email").await;
    app.db.connect().await.execute("UPDATE signups SET expires_at = now() - interval '1 second'", &[]).await.unwrap();
    verify(late).await.problem(400);
    app.login("lee@late.test", PASSWORD).await.problem(401);
}

#[tokio::test]
async fn of_two_sign_ups_for_one_address_the_first_verified_wins() {
    let app = TestApp::spawn().await;
    app.post("/api/v1/auth/register", None, sign_up("First", "ann@acme.test")).await;
    let first = app.mailed_token("ann@acme.test", "/verify-email").await;
    app.post("/api/v1/auth/register", None, sign_up("Second", "ann@acme.test")).await;
    let second = app.mailed_token("ann@acme.test", "/verify-email").await;
    assert_ne!(first, second);
    assert_eq!(app.post("/api/v1/auth/verify-email", None, json!({"token": second})).await.status, 200);
    app.post("/api/v1/auth/verify-email", None, json!({"token": first})).await.problem(409);
    assert_eq!(count(&app, "SELECT count(*) FROM tenants").await, 1);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_and_every_session_ends() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let other = session(&app.login("ann@acme.test", PASSWORD).await.body);

    let known = app.post("/api/v1/auth/password/forgot", None, json!({"email": "Ann@acme.test"})).await;
    let unknown = app.post("/api/v1/auth/password/forgot", None, json!({"email": "nobody@acme.test"})).await;
    assert_eq!((known.status, unknown.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(known.body, unknown.body);
    assert!(app.mailbox("nobody@acme.test").await.is_empty());
    let earlier = app.mailed_token("ann@acme.test", "/reset-password").await;
    app.post("/api/v1/auth/password/forgot", None, json!({"email": "ann@acme.test"})).await;
    let token = app.mailed_token("ann@acme.test", "/reset-password").await;

    let reset = |token: &str, password: &str| {
        app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": password}))
    };
    assert_eq!(reset(&token, "short").await.problem(422)["errors"][0]["field"], "password");
    assert_eq!(reset(&token, NEW_PASSWORD).await.status, 204);
    reset(&token, "another passphrase").await.problem(400);
    reset(&earlier, "another passphrase").await.problem(400);

    for refresh in [&ann.refresh, &other.refresh] {
        app.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh})).await.problem(401);
    }
    app.login("ann@acme.test", PASSWORD).await.problem(401);
    assert_eq!(app.login("ann@acme.test", NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_password_change_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let here = app.register("Acme", "ann@acme.test").await;
    let elsewhere = session(&app.login("ann@acme.test", PASSWORD).await.body);
    let change = |current: &str| {
        app.post(
            "/api/v1/auth/password/change",
            Some(&here.access),
            json!({"currentPassword": current, "newPassword": NEW_PASSWORD}),
        )
    };
    assert_eq!(change("not my password").await.problem(422)["errors"][0]["field"], "currentPassword");
    assert_eq!(change(PASSWORD).await.status, 204);

    app.post("/api/v1/auth/refresh", None, json!({"refreshToken": elsewhere.refresh})).await.problem(401);
    let refreshed = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": here.refresh})).await;
    assert_eq!(refreshed.status, 200, "this session goes on: {}", refreshed.body);
    app.login("ann@acme.test", PASSWORD).await.problem(401);
    assert_eq!(app.login("ann@acme.test", NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_invitee_chooses_a_password_and_joins_with_the_invited_role() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let invite = |token: String, email: &'static str| {
        let app = &app;
        async move {
            app.post("/api/v1/users/invitations", Some(&token), json!({"email": email, "name": "Bob", "role": "agent"}))
                .await
        }
    };
    let r = invite(ann.access.clone(), "Bob@acme.test").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!((r.body["email"].as_str(), r.body["role"].as_str()), (Some("bob@acme.test"), Some("agent")));
    assert!(r.body["id"].is_string() && r.body["expiresAt"].is_string() && r.body.get("token").is_none());
    invite(ann.access.clone(), "ann@acme.test").await.problem(409);

    let token = app.mailed_token("bob@acme.test", "/accept-invitation").await;
    let accept = |password: &str| {
        app.post("/api/v1/auth/accept-invitation", None, json!({"token": token, "password": password}))
    };
    let joined = accept(NEW_PASSWORD).await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(joined.body["user"]["role"], "agent");
    assert_eq!(joined.body["user"]["name"], "Bob");
    assert_eq!(joined.body["tenant"]["id"], ann.tenant_id.as_str());
    accept("yet another passphrase").await.problem(400);
    let bob = session(&app.login("bob@acme.test", NEW_PASSWORD).await.body);
    // An agent invites nobody; an invited address that is now a user cannot be invited again.
    invite(bob.access.clone(), "cy@acme.test").await.problem(403);
    invite(ann.access.clone(), "bob@acme.test").await.problem(409);
    // POST /users still adds a user directly.
    app.add_user(&ann, "dee@acme.test", "agent").await;
}

#[tokio::test]
async fn sign_up_mail_goes_through_ses_when_an_endpoint_is_configured() {
    common::sqs::ensure_endpoint(common::sqs::DEFAULT_PORT);
    let endpoint = common::sqs::endpoint(common::sqs::DEFAULT_PORT);
    let from = format!("no-reply-{}@simplecrm.test", uuid::Uuid::new_v4().simple());
    common::ses::verify_identity(&endpoint, &from).await;
    let app = TestApp::spawn_with(&[("SES_ENDPOINT_URL", &endpoint), ("MAIL_FROM", &from)]).await;
    let to = format!("ann-{}@acme.test", uuid::Uuid::new_v4().simple());

    let r = app.post("/api/v1/auth/register", None, sign_up("Acme", &to)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Nothing is captured: the mail left through SES, where moto recorded it.
    assert_eq!(app.get(&format!("/_local/mailbox?to={to}"), None).await.status, 404);
    let text = common::ses::sent_text(&endpoint, &from, &to).await;
    let token = common::link_token(&text, "/verify-email").expect("a verification link");
    common::remember_secret(&token);
    let r = app.post("/api/v1/auth/verify-email", None, json!({"token": token})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

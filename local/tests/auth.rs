//! The auth story of API.md, against the real PostgreSQL through `crm-local`.

mod common;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{JWT_SECRET, PASSWORD, TestApp, session};
use crm_core::{config::Secret, security::tokens::key_id};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

#[tokio::test]
async fn register_login_me_refresh_reuse_and_logout() {
    // No reuse grace: the reuse below comes at once (the grace has tests of its own).
    let app = TestApp::spawn_with(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "0")]).await;

    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"tenantName": "Acme", "email": "Ann@Acme.test", "password": PASSWORD, "name": "Ann"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body, json!({"status": "verification_sent"}));
    app.login("ann@acme.test", PASSWORD).await.problem(401);
    let token = app.mailed_token("ann@acme.test", "/verify-email").await;
    let r = app.post("/api/v1/auth/verify-email", None, json!({"token": token})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user = &r.body["user"];
    assert_eq!(user["email"], "ann@acme.test");
    assert_eq!(user["name"], "Ann");
    assert_eq!(user["role"], "admin");
    assert_eq!(user["tenantId"], r.body["tenant"]["id"]);
    assert_eq!(r.body["tenant"]["name"], "Acme");
    assert_eq!(r.body["expiresIn"], 900);
    assert!(user.get("passwordHash").is_none() && !r.body.to_string().contains("argon2"), "no hash leaks: {}", r.body);

    let login = app.login("ANN@acme.test", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let first = session(&login.body);
    assert_eq!(login.body["user"], r.body["user"]);

    let me = app.get("/api/v1/auth/me", Some(&first.access)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"]["id"], first.user_id.as_str());
    assert_eq!(me.body["tenant"]["name"], "Acme");

    // Rotation: a new pair; the old refresh token is spent.
    let refreshed = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": first.refresh})).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let second = session(&refreshed.body);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(app.get("/api/v1/auth/me", Some(&second.access)).await.status, 200);

    // Reusing the spent token is refused and revokes the whole family, including the
    // token that was rotated from it.
    let reuse = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": first.refresh})).await;
    reuse.problem(401);
    let after_reuse = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": second.refresh})).await;
    after_reuse.problem(401);

    // Another login is another family, untouched by that revocation; logout ends it.
    let third = session(&app.login("ann@acme.test", PASSWORD).await.body);
    let out = app.post("/api/v1/auth/logout", None, json!({"refreshToken": third.refresh})).await;
    assert_eq!(out.status, 204);
    assert!(out.body.is_null());
    app.post("/api/v1/auth/refresh", None, json!({"refreshToken": third.refresh})).await.problem(401);
    // Logging out twice is fine; a token we never issued is not.
    assert_eq!(app.post("/api/v1/auth/logout", None, json!({"refreshToken": third.refresh})).await.status, 204);
    app.post("/api/v1/auth/logout", None, json!({"refreshToken": "bm90IGEgdG9rZW4"})).await.problem(401);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_the_same() {
    let app = TestApp::spawn().await;
    app.register("Acme", "ann@acme.test").await;
    let wrong = app.login("ann@acme.test", "not the password").await;
    let unknown = app.login("nobody@acme.test", PASSWORD).await;
    wrong.problem(401);
    unknown.problem(401);
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("requestId");
        v
    };
    assert_eq!(strip(&wrong.body), strip(&unknown.body));
    assert_eq!(wrong.headers.get("www-authenticate").unwrap(), "Bearer");
}

/// A token as this API would sign it with `key`: the key's id in the header.
fn forge(alg: Algorithm, key: &[u8], claims: serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(key_id(&Secret::new(key.to_vec())));
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key)).unwrap()
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": s.user_id, "tenantId": s.tenant_id, "role": "admin", "iat": now - 10, "exp": exp, "jti": uuid::Uuid::now_v7()});

    let payload = URL_SAFE_NO_PAD.encode(claims(now + 600).to_string());
    let alg_none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
    let other_key = forge(Algorithm::HS256, b"some-other-key-that-is-long-enough-0123", claims(now + 600));
    let other_alg = forge(Algorithm::HS512, JWT_SECRET.as_bytes(), claims(now + 600));
    let expired = forge(Algorithm::HS256, JWT_SECRET.as_bytes(), claims(now - 120));
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(now + 600),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let unknown_kid = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("0011223344556677".into());
        jsonwebtoken::encode(&header, &claims(now + 600), &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
    };
    // The right key and algorithm still work, so the refusals above are about the forgery.
    let genuine = forge(Algorithm::HS256, JWT_SECRET.as_bytes(), claims(now + 600));
    assert_eq!(app.get("/api/v1/auth/me", Some(&genuine)).await.status, 200);

    for (what, token) in [
        ("alg none", alg_none.as_str()),
        ("HS256 with another key", &other_key),
        ("HS512", &other_alg),
        ("expired", &expired),
        ("no kid", &no_kid),
        ("unknown kid", &unknown_kid),
        ("malformed", "definitely.not.a-jwt"),
        ("empty", ""),
    ] {
        let r = app.get("/api/v1/auth/me", Some(token)).await;
        let p = r.problem(401);
        assert!(p["detail"].is_string(), "{what}");
    }
    let r = app.send(reqwest::Method::GET, "/api/v1/users", None, None).await;
    r.problem(401);
    let basic = app.http.get(app.url("/api/v1/auth/me")).header("authorization", "Basic YTpi").send().await.unwrap();
    TestApp::reply(basic).await.problem(401);
}

#[tokio::test]
async fn a_disabled_user_can_neither_log_in_nor_refresh() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent_id = app.add_user(&admin, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);

    let r = app.patch(&format!("/api/v1/users/{agent_id}"), Some(&admin.access), json!({"disabled": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);

    app.login("bob@acme.test", PASSWORD).await.problem(401);
    app.post("/api/v1/auth/refresh", None, json!({"refreshToken": bob.refresh})).await.problem(401);

    // Enabled again, Bob logs in; the session revoked while disabled stays revoked.
    app.patch(&format!("/api/v1/users/{agent_id}"), Some(&admin.access), json!({"disabled": false})).await;
    assert_eq!(app.login("bob@acme.test", PASSWORD).await.status, 200);
    app.post("/api/v1/auth/refresh", None, json!({"refreshToken": bob.refresh})).await.problem(401);
}

#[tokio::test]
async fn the_signing_key_rotates_without_logging_anyone_out() {
    const K1: &str = "rotation-test-key-one-0123456789abcdef";
    const K2: &str = "rotation-test-key-two-0123456789abcdef";
    const K3: &str = "rotation-test-key-three-0123456789abcd";
    let before = TestApp::spawn_with(&[("JWT_SECRET", K1)]).await;
    let old = before.register("Acme", "ann@acme.test").await;
    let header = jsonwebtoken::decode_header(&old.access).unwrap();
    assert_eq!(header.kid.as_deref(), Some(key_id(&Secret::new(K1.as_bytes().to_vec())).as_str()));

    // Rotated: K2 signs, K1 still verifies.
    let rotated = before.spawn_sharing(&[("JWT_SECRET", K2), ("JWT_PREVIOUS_SECRET", K1)]).await;
    assert_eq!(rotated.get("/api/v1/auth/me", Some(&old.access)).await.status, 200, "the previous key still works");
    let new = session(&rotated.post("/api/v1/auth/refresh", None, json!({"refreshToken": old.refresh})).await.body);
    assert_eq!(rotated.get("/api/v1/auth/me", Some(&new.access)).await.status, 200);

    // Rotated again: K1 is retired and its tokens are refused; K2's still work.
    let again = before.spawn_sharing(&[("JWT_SECRET", K3), ("JWT_PREVIOUS_SECRET", K2)]).await;
    let r = again.get("/api/v1/auth/me", Some(&old.access)).await;
    assert!(r.problem(401)["detail"].as_str().unwrap().contains("key"), "{}", r.body);
    assert_eq!(again.get("/api/v1/auth/me", Some(&new.access)).await.status, 200);
    // The app without any rotation refuses K2's token too.
    before.get("/api/v1/auth/me", Some(&new.access)).await.problem(401);
}

async fn refresh(app: &TestApp, token: &str) -> common::Reply {
    app.post("/api/v1/auth/refresh", None, json!({"refreshToken": token})).await
}

async fn families(app: &TestApp, tenant_id: &str) -> i64 {
    let tenant: uuid::Uuid = tenant_id.parse().unwrap();
    let owner = app.db.connect().await;
    let sql = "SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE tenant_id = $1";
    owner.query_one(sql, &[&tenant]).await.unwrap().get(0)
}

#[tokio::test]
async fn two_refreshes_racing_with_one_token_both_get_a_working_pair_of_the_same_session() {
    let app = TestApp::spawn().await;
    let s = app.register("Acme", "ann@acme.test").await;
    let (a, b) = tokio::join!(refresh(&app, &s.refresh), refresh(&app, &s.refresh));
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200), "{} / {}", a.body, b.body);
    let (a, b) = (session(&a.body), session(&b.body));
    assert_ne!(a.refresh, b.refresh);
    assert_eq!(families(&app, &s.tenant_id).await, 1, "both pairs belong to the registration's session");

    // Neither answer revoked the session: both new refresh tokens rotate, both access
    // tokens work.
    for pair in [&a, &b] {
        assert_eq!(app.get("/api/v1/auth/me", Some(&pair.access)).await.status, 200);
        let next = refresh(&app, &pair.refresh).await;
        assert_eq!(next.status, 200, "{}", next.body);
    }
    // A retry a moment later is still within the grace.
    assert_eq!(refresh(&app, &s.refresh).await.status, 200);
    // One family: logging out with any of its tokens ends every one.
    let last = session(&refresh(&app, &a.refresh).await.body);
    assert_eq!(app.post("/api/v1/auth/logout", None, json!({"refreshToken": last.refresh})).await.status, 204);
    refresh(&app, &b.refresh).await.problem(401);
}

#[tokio::test]
async fn a_spent_refresh_token_presented_after_the_grace_revokes_the_session() {
    let app = TestApp::spawn_with(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "1")]).await;
    let s = app.register("Acme", "ann@acme.test").await;
    let next = refresh(&app, &s.refresh).await;
    assert_eq!(next.status, 200, "{}", next.body);
    let next = session(&next.body);

    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    refresh(&app, &s.refresh).await.problem(401);
    // The whole family went with it, including the token rotated from the spent one.
    refresh(&app, &next.refresh).await.problem(401);
    // Another login is another session, untouched.
    let again = session(&app.login("ann@acme.test", PASSWORD).await.body);
    assert_eq!(refresh(&app, &again.refresh).await.status, 200);
}

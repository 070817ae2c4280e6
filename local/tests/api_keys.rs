//! API keys as an integration uses them: created by an admin and shown once, accepted
//! wherever an access token is (but the `/auth/*` session routes), limited to their role,
//! named as the actor of what they do, and refused on the very next request once revoked
//! or expired.

mod common;

use common::{PASSWORD, TestApp, session};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_key_is_shown_once_and_acts_with_its_role_as_itself() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let created = app.api_key(&ann, "  Zapier  ", "agent").await;
    let key = created["key"].as_str().unwrap().to_owned();
    let meta = &created["apiKey"];
    let prefix = meta["prefix"].as_str().unwrap();
    assert!(key.starts_with(&format!("crm_{prefix}_")), "{key}");
    assert_eq!((meta["name"].as_str(), meta["role"].as_str()), (Some("Zapier"), Some("agent")));
    assert!(meta["lastUsedAt"].is_null() && meta["expiresAt"].is_null() && meta["revokedAt"].is_null());

    // The listing never shows the secret again.
    let list = app.get("/api/v1/api-keys", Some(&ann.access)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], meta["id"]);
    assert!(!list.body.to_string().contains(&key[prefix.len() + 5..]), "no secret in {}", list.body);

    // An agent key does agent work, attributed to the key ...
    let customer =
        app.post("/api/v1/customers", Some(&key), json!({"name": "Globex", "email": "ops@globex.test"})).await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let ticket = app
        .post(
            "/api/v1/tickets",
            Some(&key),
            json!({"title": "Synced from the shop", "description": "", "customerId": customer.body["id"]}),
        )
        .await;
    assert_eq!(ticket.status, 201, "{}", ticket.body);
    let events =
        app.get(&format!("/api/v1/tickets/{}/events", ticket.body["id"].as_str().unwrap()), Some(&ann.access)).await;
    assert_eq!(events.status, 200, "{}", events.body);
    let actor = &events.body[0]["actor"];
    assert_eq!(actor, &json!({"type": "apiKey", "id": meta["id"], "name": "Zapier"}), "{}", events.body);
    // ... and no admin work, nor a user's session routes.
    let backdoor = json!({"email": "back@door.test", "name": "B", "password": PASSWORD, "role": "admin"});
    app.post("/api/v1/users", Some(&key), backdoor).await.problem(403);
    app.post("/api/v1/api-keys", Some(&key), json!({"name": "more", "role": "admin"})).await.problem(403);
    app.get("/api/v1/auth/me", Some(&key)).await.problem(403);
    let change = json!({"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"});
    app.post("/api/v1/auth/password/change", Some(&key), change).await.problem(403);

    // Its use is recorded.
    let list = app.get("/api/v1/api-keys", Some(&ann.access)).await;
    assert!(list.body["items"][0]["lastUsedAt"].is_string(), "{}", list.body);

    // A user's own timeline entries still name the user.
    let r = app
        .patch(
            &format!("/api/v1/tickets/{}/status", ticket.body["id"].as_str().unwrap()),
            Some(&ann.access),
            json!({"status": "IN_PROGRESS"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = app.get(&format!("/api/v1/tickets/{}/events", ticket.body["id"].as_str().unwrap()), Some(&key)).await;
    assert_eq!(events.body[1]["actor"]["type"], "user");
    assert_eq!(events.body[1]["actor"]["email"], "ann@acme.test");
}

#[tokio::test]
async fn a_revoked_or_expired_key_is_refused_on_its_next_request() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let admin_key = app.api_key(&ann, "Provisioning", "admin").await;
    let key = admin_key["key"].as_str().unwrap().to_owned();
    let id = admin_key["apiKey"]["id"].as_str().unwrap().to_owned();
    // An admin key does admin work.
    let r = app.get("/api/v1/users", Some(&key)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A tampered secret, an unknown prefix and garbage are refused alike.
    let flipped = if &key[30..31] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &key[..30], &key[31..]);
    assert_eq!(app.get("/api/v1/stats", Some(&tampered)).await.problem(401)["detail"], "the API key is not valid");
    let unknown = format!("crm_aaaaaaaaaaaaaaaa_{}", &key[21..]);
    assert_eq!(app.get("/api/v1/stats", Some(&unknown)).await.problem(401)["detail"], "the API key is not valid");
    app.get("/api/v1/stats", Some("crm_nonsense")).await.problem(401);

    let path = format!("/api/v1/api-keys/{id}");
    assert_eq!(app.send(Method::DELETE, &path, Some(&ann.access), None).await.status, 204);
    let refused = app.get("/api/v1/users", Some(&key)).await;
    assert_eq!(refused.problem(401)["detail"], "this API key has been revoked");
    // Revoking again answers the same; the listing shows when it was revoked.
    assert_eq!(app.send(Method::DELETE, &path, Some(&ann.access), None).await.status, 204);
    let list = app.get("/api/v1/api-keys", Some(&ann.access)).await;
    assert!(list.body["items"][0]["revokedAt"].is_string(), "{}", list.body);
    let missing = format!("/api/v1/api-keys/{}", uuid::Uuid::now_v7());
    app.send(Method::DELETE, &missing, Some(&ann.access), None).await.problem(404);

    // Expiry: in the past is refused at creation; a key whose time has come is refused.
    let past = json!({"name": "Old", "role": "agent", "expiresAt": "2020-01-01T00:00:00Z"});
    let r = app.post("/api/v1/api-keys", Some(&ann.access), past).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "expiresAt");
    let soon = json!({"name": "Short-lived", "role": "agent", "expiresAt": "2099-01-01T00:00:00Z"});
    let r = app.post("/api/v1/api-keys", Some(&ann.access), soon).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let short = r.body["key"].as_str().unwrap().to_owned();
    common::remember_secret(&short);
    assert_eq!(app.get("/api/v1/stats", Some(&short)).await.status, 200);
    let owner = app.db.connect().await;
    let short_id: uuid::Uuid = r.body["apiKey"]["id"].as_str().unwrap().parse().unwrap();
    owner
        .execute("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", &[&short_id])
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/stats", Some(&short)).await.problem(401)["detail"], "this API key has expired");
}

#[tokio::test]
async fn only_admins_manage_keys_and_a_key_never_opens_another_tenant() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    app.add_user(&ann, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    app.post("/api/v1/api-keys", Some(&bob.access), json!({"name": "mine", "role": "agent"})).await.problem(403);
    app.get("/api/v1/api-keys", Some(&bob.access)).await.problem(403);

    let acme_key = app.api_key(&ann, "Acme sync", "admin").await;
    let eve = app.register("Evil", "eve@evil.test").await;
    let evil_key = app.api_key(&eve, "Evil sync", "admin").await;
    let evil_key = evil_key["key"].as_str().unwrap();
    // Eve's key sees Eve's tenant only, and cannot revoke Acme's key.
    let users = app.get("/api/v1/users", Some(evil_key)).await;
    assert_eq!(users.body["items"].as_array().unwrap().len(), 1, "{}", users.body);
    assert_eq!(users.body["items"][0]["email"], "eve@evil.test");
    let acme_path = format!("/api/v1/api-keys/{}", acme_key["apiKey"]["id"].as_str().unwrap());
    app.send(Method::DELETE, &acme_path, Some(evil_key), None).await.problem(404);
    let r = app.get("/api/v1/stats", Some(acme_key["key"].as_str().unwrap())).await;
    assert_eq!(r.status, 200, "Acme's key still works: {}", r.body);
    // Bad input is a clear 4xx.
    let r = app.post("/api/v1/api-keys", Some(&ann.access), json!({"name": " ", "role": "agent"})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "name");
    app.post("/api/v1/api-keys", Some(&ann.access), json!({"name": "x", "role": "root"})).await.problem(422);
    app.send(Method::DELETE, "/api/v1/api-keys/not-a-uuid", Some(&ann.access), None).await.problem(400);
}

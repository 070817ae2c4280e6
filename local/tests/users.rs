//! Admins manage the people of their tenant; agents cannot; a tenant keeps an admin.

mod common;

use common::{PASSWORD, TestApp, session};
use serde_json::json;

#[tokio::test]
async fn an_admin_adds_an_agent_who_can_log_in_but_not_add_users() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;

    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({"email": "Bob@Acme.test", "name": "Bob", "password": PASSWORD, "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["email"], "bob@acme.test");
    assert_eq!(r.body["role"], "agent");
    assert_eq!(r.body["tenantId"], admin.tenant_id.as_str());
    let bob_id = r.body["id"].as_str().unwrap().to_owned();

    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let denied = app
        .post(
            "/api/v1/users",
            Some(&bob.access),
            json!({"email": "eve@acme.test", "name": "Eve", "password": PASSWORD, "role": "admin"}),
        )
        .await;
    denied.problem(403);
    app.get("/api/v1/users", Some(&bob.access)).await.problem(403);
    app.patch(&format!("/api/v1/users/{bob_id}"), Some(&bob.access), json!({"role": "admin"})).await.problem(403);
    // An agent sees itself, not others.
    assert_eq!(app.get(&format!("/api/v1/users/{bob_id}"), Some(&bob.access)).await.status, 200);
    app.get(&format!("/api/v1/users/{}", admin.user_id), Some(&bob.access)).await.problem(403);
    // Nobody was added by the refused request.
    let login = app.login("eve@acme.test", PASSWORD).await;
    login.problem(401);

    let dup = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({"email": "bob@acme.test", "name": "Bob 2", "password": PASSWORD, "role": "agent"}),
        )
        .await;
    dup.problem(409);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_disabled() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let me = format!("/api/v1/users/{}", ann.user_id);

    app.patch(&me, Some(&ann.access), json!({"role": "agent"})).await.problem(409);
    app.patch(&me, Some(&ann.access), json!({"disabled": true})).await.problem(409);
    assert_eq!(app.get(&me, Some(&ann.access)).await.body["role"], "admin", "still an admin");

    // With a second admin, one may step down; then the other is the last.
    let cid = app.add_user(&ann, "cid@acme.test", "admin").await;
    let r = app.patch(&me, Some(&ann.access), json!({"role": "agent", "name": "Ann (agent)"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["role"].as_str(), r.body["name"].as_str()), (Some("agent"), Some("Ann (agent)")));
    let cid_session = session(&app.login("cid@acme.test", PASSWORD).await.body);
    app.patch(&format!("/api/v1/users/{cid}"), Some(&cid_session.access), json!({"disabled": true})).await.problem(409);
    // A disabled admin does not count as the admin that remains.
    let dee = app.add_user(&cid_session, "dee@acme.test", "admin").await;
    app.patch(&format!("/api/v1/users/{dee}"), Some(&cid_session.access), json!({"disabled": true})).await;
    app.patch(&format!("/api/v1/users/{cid}"), Some(&cid_session.access), json!({"role": "agent"})).await.problem(409);
}

#[tokio::test]
async fn concurrent_demotions_leave_one_admin() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let bob_id = app.add_user(&ann, "bob@acme.test", "admin").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    // Each demotes the other at the same moment: exactly one may win.
    let (bob_path, ann_path) = (format!("/api/v1/users/{bob_id}"), format!("/api/v1/users/{}", ann.user_id));
    let (a, b) = tokio::join!(
        app.patch(&bob_path, Some(&ann.access), json!({"role": "agent"})),
        app.patch(&ann_path, Some(&bob.access), json!({"role": "agent"})),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    // The loser is refused as the last admin (409) or, if the winner committed before
    // the loser's request began, as the agent it has just become (403).
    assert!(statuses == [200, 409] || statuses == [200, 403], "{statuses:?}: {} / {}", a.body, b.body);
    let admins =
        app.get("/api/v1/users?role=admin", Some(if a.status == 200 { &ann.access } else { &bob.access })).await;
    assert_eq!(admins.body["items"].as_array().map(Vec::len), Some(1), "{}", admins.body);
}

#[tokio::test]
async fn users_are_listed_newest_first_in_keyset_pages() {
    let app = TestApp::spawn().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let mut created = vec![ann.user_id.clone()];
    for i in 0..6 {
        created.push(app.add_user(&ann, &format!("agent{i}@acme.test"), "agent").await);
    }
    // Another tenant's users never appear.
    app.register("Other", "zed@other.test").await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".to_owned(),
        };
        let page = app.get(&path, Some(&ann.access)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);

    let agents = app.get("/api/v1/users?role=agent", Some(&ann.access)).await;
    assert_eq!(agents.body["items"].as_array().unwrap().len(), 6);
    assert!(agents.body["nextCursor"].is_null());
    app.get("/api/v1/users?role=boss", Some(&ann.access)).await.problem(400);
    app.get("/api/v1/users?limit=0", Some(&ann.access)).await.problem(400);
    app.get("/api/v1/users?limit=101", Some(&ann.access)).await.problem(400);
    let bad = app.get("/api/v1/users?cursor=garbage", Some(&ann.access)).await;
    assert_eq!(bad.problem(400)["errors"][0]["field"], "cursor");
}

#[tokio::test]
async fn another_tenants_user_is_not_found() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let other = app.register("Other", "zed@other.test").await;
    let theirs = format!("/api/v1/users/{}", other.user_id);
    app.get(&theirs, Some(&acme.access)).await.problem(404);
    app.patch(&theirs, Some(&acme.access), json!({"name": "pwned"})).await.problem(404);
    let mine = app.get(&theirs, Some(&other.access)).await;
    assert_eq!(mine.body["name"], "Founder", "their row is unchanged");
    let unknown = format!("/api/v1/users/{}", uuid::Uuid::now_v7());
    assert_eq!(
        app.get(&unknown, Some(&acme.access)).await.problem(404)["title"],
        app.get(&theirs, Some(&acme.access)).await.body["title"]
    );
}

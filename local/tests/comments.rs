//! A ticket's conversation: public replies and internal notes, their count and the first
//! response time on the ticket, their pages, their events, and what bad input gets.

mod common;

use common::{PASSWORD, TestApp, session};
use serde_json::{Value, json};

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.connect().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn replies_and_notes_make_the_conversation_and_are_counted_on_the_ticket() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent_id = app.add_user(&admin, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await;
    let id = ticket["id"].as_str().unwrap();
    assert_eq!((ticket["commentCount"].as_i64(), ticket["firstRespondedAt"].is_null()), (Some(0), true));
    let comments = format!("/api/v1/tickets/{id}/comments");

    // An internal note answers nobody: no first response yet.
    let note = app.post(&comments, Some(&bob.access), json!({"body": "Checking the toner", "public": false})).await;
    assert_eq!(note.status, 201, "{}", note.body);
    assert_eq!(note.body["public"], false);
    assert_eq!(note.body["ticketId"], id);
    assert_eq!(
        note.body["author"],
        json!({"type": "user", "id": agent_id, "name": "Someone", "email": "bob@acme.test"})
    );
    let after_note = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin.access)).await.body;
    assert_eq!((after_note["commentCount"].as_i64(), after_note["firstRespondedAt"].is_null()), (Some(1), true));

    // The first public reply (public is the default) is the first response.
    let reply = app.post(&comments, Some(&bob.access), json!({"body": "A technician is on the way."})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["public"], true);
    let answered = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin.access)).await.body;
    assert_eq!(answered["commentCount"], 2);
    let first = answered["firstRespondedAt"].as_str().expect("firstRespondedAt set").to_owned();
    let second = app.post(&comments, Some(&admin.access), json!({"body": "Fixed?", "public": true})).await;
    assert_eq!(second.status, 201);
    let later = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin.access)).await.body;
    assert_eq!((later["commentCount"].as_i64(), later["firstRespondedAt"].as_str()), (Some(3), Some(first.as_str())));

    // Oldest first, in keyset pages.
    let all = app.get(&comments, Some(&admin.access)).await.body;
    let bodies: Vec<&str> = all["items"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Checking the toner", "A technician is on the way.", "Fixed?"]);
    assert!(all["nextCursor"].is_null());
    assert_eq!(all["items"][0], note.body, "listed as created");
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map_or("?limit=2".to_owned(), |c| format!("?limit=2&cursor={c}"));
        let page = app.get(&format!("{comments}{query}"), Some(&admin.access)).await.body;
        walked.extend(page["items"].as_array().unwrap().iter().map(|c| c["id"].clone()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<Value> = all["items"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    assert_eq!(walked, ids);

    // Each comment is one `comment.created` event and, once consumed, one notification.
    app.settle().await;
    let owner = app.db.connect().await;
    let ticket_id: uuid::Uuid = id.parse().unwrap();
    let events: Vec<(String, Value)> = owner
        .query("SELECT event_type, payload FROM outbox WHERE ticket_id = $1 ORDER BY id", &[&ticket_id])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let comment_events: Vec<&Value> =
        events.iter().filter(|(kind, _)| kind == "comment.created").map(|(_, payload)| payload).collect();
    assert_eq!(comment_events.len(), 3);
    assert_eq!(
        comment_events[0]["after"],
        json!({"commentId": note.body["id"], "public": false, "body": "Checking the toner"})
    );
    assert_eq!(comment_events[0]["actorId"], agent_id);
    let messages: Vec<String> = owner
        .query(
            "SELECT message FROM notifications WHERE ticket_id = $1 AND event_type = 'comment.created' ORDER BY id",
            &[&ticket_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(messages, ["Internal note added", "Public reply added", "Public reply added"]);
}

#[tokio::test]
async fn an_api_key_comments_as_itself_and_is_no_first_response() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let id = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let key = app.api_key(&admin, "Auto-responder", "agent").await;
    let secret = key["key"].as_str().unwrap();
    let r =
        app.post(&format!("/api/v1/tickets/{id}/comments"), Some(secret), json!({"body": "We got your mail."})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["author"], json!({"type": "apiKey", "id": key["apiKey"]["id"], "name": "Auto-responder"}));
    let t = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin.access)).await.body;
    assert_eq!((t["commentCount"].as_i64(), t["firstRespondedAt"].is_null()), (Some(1), true));
}

#[tokio::test]
async fn concurrent_comments_are_each_counted() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let id = app.ticket(&admin, &customer, "Busy ticket", None).await["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/tickets/{id}/comments");
    let posts = (0..24).map(|i| app.post(&path, Some(&admin.access), json!({"body": format!("comment {i}")})));
    for r in futures::future::join_all(posts).await {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let t = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin.access)).await.body;
    assert_eq!(t["commentCount"], 24);
    assert_eq!(count(&app, "SELECT count(*) FROM comments").await, 24);
}

#[tokio::test]
async fn bad_comments_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let id = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/tickets/{id}/comments");
    let cases = [
        (json!({}), "body"),
        (json!({"body": ""}), "body"),
        (json!({"body": " \n\t "}), "body"),
        (json!({"body": "x".repeat(20_001)}), "body"),
        (json!({"body": 42}), "body"),
        (json!({"body": "hi", "public": "yes"}), "public"),
        (json!({"body": "hi", "internal": true}), "internal"),
    ];
    for (body, field) in cases {
        let r = app.post(&path, Some(&admin.access), body.clone()).await;
        r.problem(422);
        assert!(r.error_fields().iter().any(|f| f == field), "{body}: {:?}", r.body);
    }
    let longest = app.post(&path, Some(&admin.access), json!({"body": "é".repeat(20_000)})).await;
    assert_eq!(longest.status, 201, "20,000 characters fit, however many bytes");

    let missing = format!("/api/v1/tickets/{}/comments", uuid::Uuid::now_v7());
    app.post(&missing, Some(&admin.access), json!({"body": "hi"})).await.problem(404);
    app.get(&missing, Some(&admin.access)).await.problem(404);
    app.post("/api/v1/tickets/not-a-uuid/comments", Some(&admin.access), json!({"body": "hi"})).await.problem(400);
    app.get(&format!("{path}?limit=0"), Some(&admin.access)).await.problem(400);
    app.get(&format!("{path}?cursor=abc"), Some(&admin.access)).await.problem(400);
    app.post(&path, None, json!({"body": "hi"})).await.problem(401);

    assert_eq!(count(&app, "SELECT count(*) FROM comments").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM outbox WHERE event_type = 'comment.created'").await, 1);
    let t = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin.access)).await.body;
    assert_eq!(t["commentCount"], 1);
}

#[tokio::test]
async fn the_customer_hears_of_replies_and_resolution_and_the_assignee_of_the_assignment() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let bob_id = app.add_user(&admin, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let id = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let comments = format!("/api/v1/tickets/{id}/comments");
    let post = |token: String, body: Value| {
        let (app, comments) = (&app, &comments);
        async move { assert_eq!(app.post(comments, Some(&token), body).await.status, 201) }
    };
    post(bob.access.clone(), json!({"body": "Only between us: it is the fuser.", "public": false})).await;
    post(bob.access.clone(), json!({"body": "A technician is on the way."})).await;
    let assign = format!("/api/v1/tickets/{id}/assign");
    assert_eq!(app.patch(&assign, Some(&admin.access), json!({"assigneeId": bob_id})).await.status, 200);
    let taken = app.patch(&assign, Some(&admin.access), json!({"assigneeId": admin.user_id})).await;
    assert_eq!(taken.status, 200, "the admin takes it over");
    let status = format!("/api/v1/tickets/{id}/status");
    assert_eq!(app.patch(&status, Some(&bob.access), json!({"status": "RESOLVED"})).await.status, 200);
    app.settle().await;

    let to_customer = app.mailbox("ops@globex.test").await;
    let subjects: Vec<&str> = to_customer.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Resolved: Printer on fire", "Re: Printer on fire"], "newest first; no internal note");
    let reply = to_customer[1]["text"].as_str().unwrap();
    assert!(reply.contains("A technician is on the way.") && !reply.contains("fuser"), "{reply}");
    let to_bob = app.mailbox("bob@acme.test").await;
    assert_eq!(to_bob.len(), 1, "{to_bob:?}");
    assert_eq!(to_bob[0]["subject"], "Assigned to you: Printer on fire");
    assert!(to_bob[0]["text"].as_str().unwrap().contains(&format!("/tickets/{id}")));
    let to_admin: Vec<Value> = app.mailbox("ann@acme.test").await;
    assert!(
        to_admin.iter().all(|m| m["subject"] != "Assigned to you: Printer on fire"),
        "nobody is told what they did"
    );
}

//! Customers, as API.md tells their story.

mod common;

use common::{PASSWORD, TestApp, session};
use serde_json::json;

#[tokio::test]
async fn create_get_list_update_and_the_email_rules() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;

    let r = app
        .post("/api/v1/customers", Some(&admin.access), json!({"name": " Globex ", "email": "Ops@Globex.test", "phone": "+1 (555) 010-2000", "company": "Globex Corp"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let c = r.body.clone();
    assert_eq!((c["name"].as_str(), c["email"].as_str()), (Some("Globex"), Some("ops@globex.test")));
    assert_eq!((c["phone"].as_str(), c["company"].as_str()), (Some("+1 (555) 010-2000"), Some("Globex Corp")));
    assert_eq!(c["tenantId"], admin.tenant_id.as_str());
    let id = c["id"].as_str().unwrap();

    assert_eq!(app.get(&format!("/api/v1/customers/{id}"), Some(&admin.access)).await.body, c);

    // One address per tenant; another tenant may use it.
    let dup =
        app.post("/api/v1/customers", Some(&admin.access), json!({"name": "Again", "email": "OPS@globex.test"})).await;
    dup.problem(409);
    let other = app.register("Other", "zed@other.test").await;
    app.customer(&other, "Globex elsewhere", "ops@globex.test").await;

    let initech = app.customer(&admin, "Initech", "bill@initech.test").await;
    let umbrella = app.customer(&admin, "Umbrella", "info@umbrella.test").await;

    let all = app.get("/api/v1/customers", Some(&admin.access)).await;
    let ids: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [umbrella.as_str(), initech.as_str(), id], "newest first, this tenant only");
    let found = app.get("/api/v1/customers?q=INITECH", Some(&admin.access)).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let by_email = app.get("/api/v1/customers?q=umbrella.test", Some(&admin.access)).await;
    assert_eq!(by_email.body["items"][0]["id"], umbrella.as_str());
    let literal = app.get("/api/v1/customers?q=%25", Some(&admin.access)).await;
    assert_eq!(literal.body["items"].as_array().unwrap().len(), 0, "% is a literal, not a wildcard");

    let patched = app
        .patch(&format!("/api/v1/customers/{id}"), Some(&admin.access), json!({"company": "Globex International"}))
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        (patched.body["company"].as_str(), patched.body["name"].as_str()),
        (Some("Globex International"), Some("Globex"))
    );
    let clash =
        app.patch(&format!("/api/v1/customers/{id}"), Some(&admin.access), json!({"email": "bill@initech.test"})).await;
    clash.problem(409);
}

#[tokio::test]
async fn only_an_admin_deletes_and_never_while_tickets_are_open() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    app.add_user(&admin, "bob@acme.test", "agent").await;
    let bob = session(&app.login("bob@acme.test", PASSWORD).await.body);
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await;
    let path = format!("/api/v1/customers/{customer}");

    app.send(reqwest::Method::DELETE, &path, Some(&bob.access), None).await.problem(403);
    let open = app.send(reqwest::Method::DELETE, &path, Some(&admin.access), None).await;
    assert!(open.problem(409)["detail"].as_str().unwrap().contains("open"));

    let tid = ticket["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/tickets/{tid}/status"), Some(&bob.access), json!({"status": "RESOLVED"})).await;
    let gone = app.send(reqwest::Method::DELETE, &path, Some(&admin.access), None).await;
    assert_eq!(gone.status, 204);
    app.get(&path, Some(&admin.access)).await.problem(404);
    app.get(&format!("/api/v1/tickets/{tid}"), Some(&admin.access)).await.problem(404);
    app.send(reqwest::Method::DELETE, &path, Some(&admin.access), None).await.problem(404);
    let stats = app.get("/api/v1/stats", Some(&admin.access)).await.body;
    assert_eq!((stats["totalCustomers"].as_i64(), stats["totalTickets"].as_i64()), (Some(0), Some(0)));
}

#[tokio::test]
async fn a_reopen_in_flight_keeps_the_customer_and_its_ticket() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let status = format!("/api/v1/tickets/{ticket}/status");
    assert_eq!(app.patch(&status, Some(&admin.access), json!({"status": "RESOLVED"})).await.status, 200);

    // Another session reopens the ticket and has not committed yet when the delete starts.
    let owner = app.db.connect().await;
    owner
        .batch_execute(&format!("BEGIN; UPDATE tickets SET status = 'OPEN', resolved_at = NULL WHERE id = '{ticket}'"))
        .await
        .unwrap();
    let path = format!("/api/v1/customers/{customer}");
    let delete = app.send(reqwest::Method::DELETE, &path, Some(&admin.access), None);
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        owner.batch_execute("COMMIT").await.unwrap();
    };
    let (deleted, ()) = tokio::join!(delete, commit);

    assert!(deleted.problem(409)["detail"].as_str().unwrap().contains("open"), "{}", deleted.body);
    assert_eq!(app.get(&path, Some(&admin.access)).await.status, 200);
    let reopened = app.get(&format!("/api/v1/tickets/{ticket}"), Some(&admin.access)).await;
    assert_eq!(reopened.body["status"], "OPEN");
}

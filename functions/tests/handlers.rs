//! Real API Gateway HTTP API v2 events (fixtures/) through `lambda_http`'s own
//! deserialisation into the controllers, against the real PostgreSQL: the Lambda path
//! without the Lambda runtime's HTTP loop.

use crm_core::{AppState, Config, db::testing::TestDb};
use crm_functions::{invoke::dispatch, routes};
use lambda_http::{Body, Response};
use serde_json::Value;

struct Fixtures {
    state: AppState,
    db: TestDb,
}

impl Fixtures {
    async fn new() -> Self {
        let db = TestDb::create().await;
        let url = db.url.clone();
        let config = Config::from_lookup(|k| match k {
            "DATABASE_URL" => Some(url.clone()),
            "JWT_SECRET" => Some("handler-tests-signing-key-0123456789abcdef".into()),
            _ => None,
        })
        .unwrap();
        Self { state: AppState::new(config, 2).unwrap(), db }
    }

    /// Loads `fixtures/<name>`, fills `{{placeholders}}`, and runs the function its
    /// `routeKey` names, exactly as the Lambda binary would.
    async fn invoke(&self, name: &str, vars: &[(&str, &str)]) -> (u16, Value) {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (k, v) in vars {
            text = text.replace(&format!("{{{{{k}}}}}"), v);
        }
        let route_key = serde_json::from_str::<Value>(&text).unwrap()["routeKey"].as_str().unwrap().to_owned();
        let request =
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
        let table = routes::routes();
        let route = table.iter().find(|r| r.key() == route_key).unwrap_or_else(|| panic!("no route for {route_key}"));
        let response = dispatch(route.function, self.state.clone(), request, route.handler).await;
        parse(response)
    }
}

fn parse(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Empty => Value::Null,
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

#[tokio::test]
async fn fixtures_drive_the_controllers() {
    let f = Fixtures::new().await;

    let (status, body) = f.invoke("health.json", &[]).await;
    assert_eq!((status, body["database"].as_str()), (200, Some("up")));

    // Sign-up answers 202 and mails a link; verifying its token creates the tenant.
    let (status, accepted) = f.invoke("auth-register.json", &[]).await;
    assert_eq!(status, 202, "{accepted}");
    let mails = f.state.mailer.mailbox().expect("mail is captured in tests").list(Some("founder@fixture.test"));
    let token = mails.first().and_then(|m| m.text.split("?token=").nth(1)).expect("a verification link");
    let token: String = token.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let (status, registered) = f.invoke("auth-verify-email.json", &[("token", &token)]).await;
    assert_eq!(status, 200, "{registered}");
    assert_eq!(registered["tenant"]["name"], "Fixture Co");

    // A base64-encoded body, as API Gateway sends binary-safe payloads.
    let (status, login) = f.invoke("auth-login-base64.json", &[]).await;
    assert_eq!(status, 200, "{login}");
    let token = login["accessToken"].as_str().unwrap();
    let user_id = login["user"]["id"].as_str().unwrap();
    let vars = [("accessToken", token), ("userId", user_id)];

    let (status, problem) = f.invoke("auth-me-without-token.json", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(problem["requestId"], "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "API Gateway's request id");
    assert_eq!(problem["instance"], "/api/v1/auth/me");

    let (status, user) = f.invoke("users-get.json", &vars).await;
    assert_eq!((status, user["id"].as_str()), (200, Some(user_id)), "{user}");

    let (status, page) = f.invoke("users-list.json", &vars).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert!(page["nextCursor"].is_null());

    let (status, problem) = f.invoke("users-update-malformed.json", &vars).await;
    assert_eq!(status, 400, "{problem}");
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_problem_not_a_crash() {
    // Port 1 on loopback refuses at once.
    let config =
        Config::from_lookup(|k| (k == "DATABASE_URL").then(|| "postgres://postgres@127.0.0.1:1/none".to_owned()))
            .unwrap();
    let f = Fixtures { state: AppState::new(config, 2).unwrap(), db: TestDb::create().await };
    let (status, problem) = f.invoke("health.json", &[]).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "https://simplecrm.dev/problems/unavailable");
    let (status, _) = f.invoke("auth-register.json", &[]).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn the_migrate_function_applies_pending_migrations_once() {
    let db = TestDb::create_empty().await;
    let first = crm_functions::migrate::apply(&db.url).await.unwrap();
    let applied = first["applied"].as_array().unwrap();
    assert!(applied.iter().any(|m| m.as_str().is_some_and(|m| m.contains("tenants_users_auth"))), "{first}");
    let again = crm_functions::migrate::apply(&db.url).await.unwrap();
    assert_eq!(again["applied"], serde_json::json!([]), "nothing left to apply");
    let tables: i64 = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('tenants', 'users', 'refresh_tokens')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 3);
}

#[tokio::test]
async fn an_sqs_batch_fixture_reports_only_its_poison_record_as_failed() {
    let f = Fixtures::new().await;
    let owner = f.db.connect().await;
    let (tenant, ticket) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    owner
        .execute(
            "WITH t AS (INSERT INTO tenants (id, name) VALUES ($1, 'T') RETURNING id),
                  c AS (INSERT INTO customers (tenant_id, id, name, email) SELECT id, $2, 'C', 'c@c.test' FROM t RETURNING tenant_id, id)
             INSERT INTO tickets (tenant_id, id, customer_id, title, description) SELECT tenant_id, $2, id, 'Printer', '' FROM c",
            &[&tenant, &ticket],
        )
        .await
        .unwrap();
    let body = serde_json::json!({
        "eventId": uuid::Uuid::now_v7(), "type": "ticket.created", "tenantId": tenant, "ticketId": ticket,
        "actorId": uuid::Uuid::now_v7(), "occurredAt": "2026-11-25T16:00:00Z", "before": null, "after": {"title": "Printer"},
    });
    let text = std::fs::read_to_string(format!("{}/tests/fixtures/sqs-batch.json", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .replace("{{goodBody}}", &body.to_string().replace('"', "\\\""));
    // The same deserialisation lambda_runtime applies to the invocation payload.
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(&text).unwrap();
    let response = crm_functions::pipeline::consume(f.state.clone(), event.clone()).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["22222222-2222-4222-8222-222222222222"]);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "22222222-2222-4222-8222-222222222222");

    // Delivered again: still one notification for the good record.
    crm_functions::pipeline::consume(f.state.clone(), event).await;
    let rows: i64 = owner.query_one("SELECT count(*) FROM notifications", &[]).await.unwrap().get(0);
    assert_eq!(rows, 1);
    let message: String = owner.query_one("SELECT message FROM notifications", &[]).await.unwrap().get(0);
    assert_eq!(message, "Ticket \"Printer\" was opened");
}

//! The app under test: `crm-local` on a random port over a fresh, migrated database.
#![allow(dead_code)]

pub mod receiver;
pub mod ses;
pub mod sqs;

use std::{net::SocketAddr, sync::Arc};

use crm_core::{Config, db::testing::TestDb};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot};

pub const JWT_SECRET: &str = "integration-tests-signing-key-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// Shared by every instance spawned on it ([`TestApp::spawn_sharing`]); dropped with the last.
    pub db: Arc<TestDb>,
    vars: Vec<(String, String)>,
    stop: Option<oneshot::Sender<()>>,
    /// The app's state, as its functions see it (its blob store, for one).
    pub state: crm_core::AppState,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().is_some_and(|t| t.starts_with("https://")), "{}", self.body);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string(), "{}", self.body);
        &self.body
    }

    /// The fields named in a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// A registered tenant's first admin, logged in.
#[derive(Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
}

/// The per-tenant quota of the suites: counted (every answer carries its headers) but
/// never reached.
pub const TEST_TENANT_RATE: &str = "100000";

impl TestApp {
    /// The app with the embedded event pipeline (no SQS).
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// The app with SQS: events go through `queue_url` on `endpoint`.
    pub async fn spawn_with_sqs(endpoint: &str, queue_url: &str) -> Self {
        Self::spawn_with(&[("AWS_ENDPOINT_URL", endpoint), ("SQS_QUEUE_URL", queue_url)]).await
    }

    /// The app with extra configuration (`AUTH_*`, `ARGON2_*`, `JWT_PREVIOUS_SECRET`, ...);
    /// `JWT_SECRET` may be overridden too.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        let db = Arc::new(TestDb::create().await);
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::start(db, vars).await
    }

    /// A second, independent instance (its own state, pool and port: another Lambda
    /// container) on this app's database, with this app's configuration plus `vars`.
    pub async fn spawn_sharing(&self, vars: &[(&str, &str)]) -> Self {
        let mut all = self.vars.clone();
        all.retain(|(k, _)| !vars.iter().any(|(name, _)| name == k));
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self::start(self.db.clone(), all).await
    }

    async fn start(db: Arc<TestDb>, vars: Vec<(String, String)>) -> Self {
        capture_logs();
        for (name, value) in &vars {
            if name.contains("SECRET") {
                remember_secret(value);
            }
        }
        // Bound first, so the app knows the address its own blob store's URLs name.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let blob_dir = std::env::temp_dir().join(format!("crm-test-blobs-{}", uuid::Uuid::now_v7()));
        let url = db.url.clone();
        let config = Config::from_lookup(|k| match k {
            "DATABASE_URL" => Some(url.clone()),
            "LISTEN_ADDR" => Some(addr.to_string()),
            "BLOB_DIR" => Some(blob_dir.display().to_string()),
            _ => vars
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .or_else(|| (k == "JWT_SECRET").then(|| JWT_SECRET.to_owned()))
                // Suites fire requests as fast as they can; quota.rs sets its own limits.
                .or_else(|| (k == "TENANT_RATE_PER_SECOND").then(|| TEST_TENANT_RATE.to_owned())),
        })
        .expect("test configuration");
        let state = crm_local::prepare(config).await.expect("prepare the app");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(crm_local::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Self { addr, http: reqwest::Client::new(), db, vars, stop: Some(stop), state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            remember_secrets(&b);
            req = req.json(&b);
        }
        Self::reply(req.send().await.expect("request")).await
    }

    pub async fn reply(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        remember_secrets(&body);
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    /// Sends raw bytes with the given content type, for malformed-input tests.
    pub async fn post_raw(&self, path: &str, token: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::reply(req.send().await.expect("request")).await
    }

    /// Signs a tenant up as a person would: register, read the link from the mailbox,
    /// verify. Returns its first admin, logged in.
    pub async fn register(&self, tenant: &str, email: &str) -> Session {
        let r = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"tenantName": tenant, "email": email, "password": PASSWORD, "name": "Founder"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "register: {}", r.body);
        let token = self.mailed_token(email, "/verify-email").await;
        let r = self.post("/api/v1/auth/verify-email", None, json!({"token": token})).await;
        assert_eq!(r.status, StatusCode::OK, "verify email: {}", r.body);
        session(&r.body)
    }

    /// The mail `crm-local` captured for `to`, newest first.
    pub async fn mailbox(&self, to: &str) -> Vec<Value> {
        let r = self.get(&format!("/_local/mailbox?to={}", to.replace('+', "%2B")), None).await;
        assert_eq!(r.status, StatusCode::OK, "mailbox: {}", r.body);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The token of the newest mailed link to `path` for `to`.
    pub async fn mailed_token(&self, to: &str, path: &str) -> String {
        let mails = self.mailbox(to).await;
        let token = mails
            .iter()
            .find_map(|m| link_token(m["text"].as_str()?, path))
            .unwrap_or_else(|| panic!("no mail to {to} with a link to {path}: {mails:?}"));
        remember_secret(&token);
        token
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await
    }

    /// An admin adds a user; returns the new user's id.
    pub async fn add_user(&self, admin: &Session, email: &str, role: &str) -> String {
        let r = self
            .post(
                "/api/v1/users",
                Some(&admin.access),
                json!({"email": email, "name": "Someone", "password": PASSWORD, "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "add user: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }
}

pub fn session(body: &Value) -> Session {
    Session {
        access: body["accessToken"].as_str().expect("accessToken").to_owned(),
        refresh: body["refreshToken"].as_str().expect("refreshToken").to_owned(),
        user_id: body["user"]["id"].as_str().expect("user.id").to_owned(),
        tenant_id: body["tenant"]["id"].as_str().expect("tenant.id").to_owned(),
        email: body["user"]["email"].as_str().expect("user.email").to_owned(),
    }
}

/// The `token` of the first link to `path` in a mail's text.
pub fn link_token(text: &str, path: &str) -> Option<String> {
    let start = text.find(&format!("{path}?token="))? + path.len() + "?token=".len();
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!token.is_empty()).then_some(token)
}

/// One tenant's ids, for requests built from the route table.
pub struct Ids<'a> {
    pub user: &'a str,
    pub customer: &'a str,
    pub ticket: &'a str,
    pub api_key: &'a str,
    /// An attachment of `ticket`.
    pub attachment: &'a str,
    pub webhook: &'a str,
    /// A delivery of `webhook`.
    pub delivery: &'a str,
    /// A tenant export.
    pub export: &'a str,
}

impl Ids<'_> {
    /// The path template with the id of the resource it names.
    pub fn path(&self, template: &str) -> String {
        let id = if template.starts_with("/api/v1/users/") {
            self.user
        } else if template.starts_with("/api/v1/customers/") {
            self.customer
        } else if template.starts_with("/api/v1/tickets/") {
            self.ticket
        } else if template.starts_with("/api/v1/api-keys/") {
            self.api_key
        } else if template.starts_with("/api/v1/webhooks/") {
            self.webhook
        } else if template.starts_with("/api/v1/tenant/exports/") {
            self.export
        } else {
            panic!("no id for {template}: add one to Ids::path");
        };
        template.replace("{id}", id).replace("{attachmentId}", self.attachment).replace("{deliveryId}", self.delivery)
    }
}

/// A body the function's route accepts, carrying `ids` where it takes ids; `None` for a
/// route that takes no body. Tests that walk the route table send these.
pub fn body_for(function: &str, ids: &Ids) -> Option<Value> {
    Some(match function {
        "users-create" => {
            json!({"email": "mallory@evil.test", "name": "M", "password": PASSWORD, "role": "admin"})
        }
        "users-update" => json!({"role": "agent", "disabled": true}),
        "users-invite" => json!({"email": "invitee@evil.test", "name": "I", "role": "admin"}),
        "api-keys-create" => json!({"name": "Backdoor", "role": "admin"}),
        "auth-password-change" => json!({"currentPassword": PASSWORD, "newPassword": PASSWORD}),
        "customers-create" => json!({"name": "X", "email": "x@evil.test"}),
        "customers-update" => json!({"name": "Pwned"}),
        "tickets-create" => json!({"title": "X", "description": "", "customerId": ids.customer}),
        "tickets-update" => json!({"title": "Pwned"}),
        "tickets-status" => json!({"status": "RESOLVED"}),
        "tickets-assign" => json!({"assigneeId": ids.user}),
        "comments-create" => json!({"body": "Pwned", "public": true}),
        "attachments-create" => json!({"fileName": "pwned.txt", "contentType": "text/plain", "size": 1}),
        "webhooks-create" => json!({"url": "http://127.0.0.1:9/pwned", "events": ["*"]}),
        "webhooks-update" => json!({"description": "Pwned", "active": true}),
        // The caller's own tenant's policy: the route takes no id.
        "sla-policy-put" => json!({
            "timezone": "Europe/Berlin",
            "businessHours": {"mon": [["09:00", "17:00"]]},
            "holidays": ["2026-12-25"],
            "targets": {"HIGH": {"firstResponseMinutes": 60, "resolutionMinutes": 480}},
        }),
        // Take no body; an empty object is what a client would send.
        "attachments-complete" | "webhooks-rotate-secret" | "webhooks-test" | "webhooks-redeliver" => json!({}),
        "customers-erase" => json!({}),
        // An export of the caller's own tenant: the route takes no id and no body.
        "tenant-exports-create" => json!({}),
        // Not one the route accepts: a name no test gives a tenant, so it answers 422 and
        // deletes nothing. A test that means a tenant to go, or aims at one by its name,
        // sends that name itself.
        "tenant-delete" => json!({"confirm": "no tenant is named so"}),
        _ => return None,
    })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestApp {
    /// An admin creates an API key with `role`; returns the created answer
    /// (`{apiKey: {id, prefix, ..}, key}`).
    pub async fn api_key(&self, admin: &Session, name: &str, role: &str) -> Value {
        let r = self.post("/api/v1/api-keys", Some(&admin.access), json!({"name": name, "role": role})).await;
        assert_eq!(r.status, StatusCode::CREATED, "create API key: {}", r.body);
        remember_secret(r.body["key"].as_str().unwrap());
        r.body
    }

    /// Creates a customer; returns its id.
    pub async fn customer(&self, s: &Session, name: &str, email: &str) -> String {
        let r = self.post("/api/v1/customers", Some(&s.access), json!({"name": name, "email": email})).await;
        assert_eq!(r.status, StatusCode::CREATED, "create customer: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Opens a ticket; returns its body.
    pub async fn ticket(&self, s: &Session, customer: &str, title: &str, priority: Option<&str>) -> Value {
        let mut body = json!({"title": title, "description": format!("{title}: details"), "customerId": customer});
        if let Some(p) = priority {
            body["priority"] = json!(p);
        }
        let r = self.post("/api/v1/tickets", Some(&s.access), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create ticket: {}", r.body);
        r.body
    }

    /// Attaches `bytes` to the ticket through the API and the blob store (declare, PUT,
    /// complete); returns the READY attachment.
    pub async fn attach(&self, s: &Session, ticket: &str, file_name: &str, bytes: &'static [u8]) -> Value {
        let path = format!("/api/v1/tickets/{ticket}/attachments");
        let declared = json!({"fileName": file_name, "contentType": "text/plain", "size": bytes.len()});
        let r = self.post(&path, Some(&s.access), declared).await;
        assert_eq!(r.status, StatusCode::CREATED, "declare attachment: {}", r.body);
        let upload = &r.body["upload"];
        let mut put = self.http.put(upload["url"].as_str().unwrap()).body(bytes);
        for (name, value) in upload["headers"].as_object().unwrap() {
            put = put.header(name.as_str(), value.as_str().unwrap());
        }
        assert_eq!(put.send().await.unwrap().status(), StatusCode::OK, "upload");
        let id = r.body["attachment"]["id"].as_str().unwrap();
        let done = self.post(&format!("{path}/{id}/complete"), Some(&s.access), json!({})).await;
        assert_eq!(done.status, StatusCode::OK, "complete: {}", done.body);
        done.body
    }

    /// Waits until the event pipeline has delivered every outbox event, so what follows
    /// sees a quiet database.
    pub async fn settle(&self) {
        let owner = self.db.connect().await;
        let started = std::time::Instant::now();
        loop {
            let pending: i64 =
                owner.query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[]).await.unwrap().get(0);
            if pending == 0 {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{pending} outbox events were never delivered"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Every table that holds a tenant's rows (a `tenant_id` column): a new one is covered
    /// by the tests that walk them without a change there.
    pub async fn tenant_tables(&self) -> Vec<String> {
        let owner = self.db.connect().await;
        let tables: Vec<String> = owner
            .query(
                "SELECT table_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(tables.iter().any(|t| t == "comments"), "{tables:?}");
        tables
    }

    /// Every row a tenant owns, as the owner sees it, once the pipeline is quiet: for
    /// "nothing changed" assertions.
    pub async fn snapshot(&self, tenant_id: &str) -> Vec<String> {
        self.settle().await;
        let owner = self.db.connect().await;
        let tenant: uuid::Uuid = tenant_id.parse().unwrap();
        let mut out = Vec::new();
        // The quota's counts (V20) meter requests, refused ones included; they are not data.
        let data = self.tenant_tables().await.into_iter().filter(|t| t != "tenant_request_counts");
        for table in std::iter::once("tenants".to_owned()).chain(data) {
            let key = if table == "tenants" { "id" } else { "tenant_id" };
            let sql =
                format!("SELECT coalesce(json_agg(t ORDER BY t::text)::text, '[]') FROM {table} t WHERE {key} = $1");
            let rows: String = owner.query_one(&sql, &[&tenant]).await.unwrap().get(0);
            out.push(format!("{table}: {rows}"));
        }
        out
    }
}

/// Sends this test binary's logs, in the production JSON format, to
/// `target/tmp/test-logs/<binary>-<pid>.log`, and notes every password and token the tests
/// use in `<binary>-<pid>.secrets`: `scripts/check-test-logs` (a CI step after the suite)
/// fails if any secret appears in any log.
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let file = log_path("log");
        let log = std::fs::File::create(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        crm_core::telemetry::init_json(std::sync::Mutex::new(log));
        remember_secret(PASSWORD);
        remember_secret(JWT_SECRET);
    });
}

fn log_path(extension: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let binary = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    dir.join(format!("{}-{}.{extension}", binary.unwrap_or_default(), std::process::id()))
}

pub fn remember_secret(secret: &str) {
    use std::io::Write;
    if secret.len() < 8 {
        return;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log_path("secrets")).unwrap();
    writeln!(file, "{secret}").unwrap();
}

/// Passwords sent and tokens received, wherever they sit in a JSON body.
pub fn remember_secrets(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("password" | "accessToken" | "refreshToken" | "key", Value::String(s)) => remember_secret(s),
                    _ => remember_secrets(v),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(remember_secrets),
        _ => {}
    }
}

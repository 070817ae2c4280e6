//! Warm handler latency, in process: each scenario's API Gateway v2 event is parsed by
//! `lambda_http` and run through the same `dispatch` and controller the Lambda binary runs,
//! with the state `lambda::init` builds from the environment (one pooled connection, as in
//! a Lambda container). The scenarios run interleaved, one request of each per round.
//! Writes p50/p99 per scenario as JSON for bench/harness.py.
//!
//!   crm-bench <spec.json> <out.json>
//!
//! The spec names the logins (whose access tokens the scenarios carry) and the scenarios;
//! bench/harness.py writes it. Logs go to stdout like on Lambda: send them to /dev/null.

use std::{collections::BTreeMap, time::Instant};

use anyhow::{Context, Result, bail};
use crm_core::{
    AppState, Config,
    config::Needs,
    ids::{ExportId, TenantId},
    pagination::encode_cursor,
    service::exports,
};
use crm_functions::{
    invoke::dispatch,
    lambda::HTTP_POOL_SIZE,
    routes::{Route, routes},
};
use lambda_http::Body;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Deserialize)]
struct Spec {
    iterations: usize,
    warmup: usize,
    logins: BTreeMap<String, Login>,
    scenarios: Vec<Scenario>,
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct Scenario {
    name: String,
    function: String,
    /// The login whose access token the request carries; none for public routes.
    auth: Option<String>,
    #[serde(default)]
    query: BTreeMap<String, String>,
    /// A ticket id whose cursor is sent as `cursor`: the keyset page right after it.
    cursor_after: Option<Uuid>,
    /// `{id}` of the path, taken in turn, so a get does not hit one row only.
    #[serde(default)]
    ids: Vec<Uuid>,
    body: Option<Value>,
    /// For `function: "password-verify"`, the ceiling of a login: one Argon2id check of
    /// this password against this stored hash, as the login runs it.
    hash: Option<String>,
    /// Overrides the spec's iterations (login is deliberately slow).
    iterations: Option<usize>,
    /// Runs on a state with the tenant quota off (`TENANT_RATE_PER_SECOND=0`): the quota's
    /// cost is the difference to the same scenario with it on.
    #[serde(default)]
    quota_off: bool,
}

#[derive(Serialize)]
struct Measured {
    name: String,
    function: String,
    iterations: usize,
    p50_ms: f64,
    p99_ms: f64,
    mean_ms: f64,
    /// Answers by status code: a figure made of errors would be worthless.
    statuses: BTreeMap<u16, usize>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, tenant, export_id] = args.as_slice()
        && mode == "export"
    {
        return export(tenant, export_id).await;
    }
    let [_, spec, out] = args.as_slice() else {
        bail!("usage: crm-bench <spec.json> <out.json> | crm-bench export <tenantId> <exportId>");
    };
    let spec: Spec = serde_json::from_str(&std::fs::read_to_string(spec)?).context("spec")?;
    let state = crm_functions::lambda::init_with("crm-bench", Needs::DATABASE_AND_JWT, HTTP_POOL_SIZE);
    let without_quota = {
        let mut config = Config::from_env().context("configuration")?;
        config.quota.per_second = 0;
        AppState::new(config, HTTP_POOL_SIZE)?
    };
    let table = routes();

    // One sign-in per login (not timed): the whole run stays well inside the 15-minute token.
    let mut tokens = BTreeMap::new();
    for (name, login) in &spec.logins {
        tokens.insert(name.as_str(), access_token(&state, &table, name, login).await?);
    }
    let runs: Result<Vec<Run>> =
        spec.scenarios.iter().map(|scenario| Run::new(&table, &spec, &tokens, scenario)).collect();
    let mut runs = runs?;
    // Round by round, one request of every scenario still running: whatever else the
    // machine does meanwhile falls on all of them alike, not on whichever ran just then.
    let rounds = runs.iter().map(|r| r.warmup + r.iterations).max().unwrap_or(0);
    for round in 0..rounds {
        for run in runs.iter_mut().filter(|r| round < r.warmup + r.iterations) {
            let state = if run.scenario.quota_off { &without_quota } else { &state };
            run.step(state, round).await?;
        }
    }
    let results: Vec<Measured> = runs.into_iter().map(Run::measured).collect();
    std::fs::write(out, serde_json::to_string_pretty(&results)?)?;
    Ok(())
}

/// One scenario in progress: its request, ready but for the path's id, and its samples.
struct Run<'a> {
    scenario: &'a Scenario,
    route: Option<&'a Route>,
    token: Option<String>,
    query: Vec<(String, String)>,
    warmup: usize,
    iterations: usize,
    samples: Vec<f64>,
    statuses: BTreeMap<u16, usize>,
}

impl<'a> Run<'a> {
    fn new(table: &'a [Route], spec: &Spec, tokens: &BTreeMap<&str, String>, scenario: &'a Scenario) -> Result<Self> {
        let iterations = scenario.iterations.unwrap_or(spec.iterations);
        let password_verify = scenario.function == PASSWORD_VERIFY;
        let route = if password_verify { None } else { Some(find(table, &scenario.function)?) };
        let token = match &scenario.auth {
            Some(name) => Some(tokens.get(name.as_str()).with_context(|| format!("no login {name}"))?.clone()),
            None => None,
        };
        let mut query: Vec<(String, String)> = scenario.query.clone().into_iter().collect();
        if let Some(id) = scenario.cursor_after {
            query.push(("cursor".into(), encode_cursor(id)));
        }
        Ok(Self {
            scenario,
            route,
            token,
            query,
            warmup: if password_verify { 0 } else { spec.warmup.min(iterations) },
            iterations,
            samples: Vec::with_capacity(iterations),
            statuses: BTreeMap::new(),
        })
    }

    async fn step(&mut self, state: &AppState, round: usize) -> Result<()> {
        let scenario = self.scenario;
        let (elapsed, status) = match self.route {
            None => password_verify(state, scenario).await?,
            Some(route) => {
                let id = (!scenario.ids.is_empty()).then(|| scenario.ids[round % scenario.ids.len()]);
                let text = event(route, self.token.as_deref(), &self.query, id, scenario.body.as_ref());
                let started = Instant::now();
                let (status, _) = call(state, route, text).await?;
                (started.elapsed().as_secs_f64() * 1000.0, status)
            }
        };
        if round >= self.warmup {
            self.samples.push(elapsed);
            *self.statuses.entry(status).or_default() += 1;
        }
        Ok(())
    }

    fn measured(self) -> Measured {
        Measured::new(self.scenario, self.samples, self.statuses)
    }
}

async fn access_token(state: &AppState, table: &[Route], name: &str, login: &Login) -> Result<String> {
    let body = json!({ "email": login.email, "password": login.password });
    let route = find(table, "auth-login")?;
    let (status, answer) = call(state, route, event(route, None, &[], None, Some(&body))).await?;
    let token = answer["accessToken"].as_str().with_context(|| format!("login {name}: {status} {answer}"))?;
    Ok(token.to_owned())
}

const PASSWORD_VERIFY: &str = "password-verify";

/// Runs one recorded export as `tenant-export` does (one pooled connection, the blob store
/// the environment names) and prints its time, size, rows and this process's peak RSS.
async fn export(tenant: &str, export_id: &str) -> Result<()> {
    let state = crm_functions::lambda::init_with("crm-bench", Needs::DATABASE, 1);
    let tenant = TenantId(tenant.parse().context("tenant id")?);
    let id = ExportId(export_id.parse().context("export id")?);
    let started = Instant::now();
    let run = exports::run(&state, tenant, id).await?;
    let seconds = started.elapsed().as_secs_f64();
    let exports::Run::Written { size, rows } = run else {
        bail!("the export was not claimed");
    };
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM")?;
    println!("{}", json!({"seconds": seconds, "size_bytes": size, "rows": rows, "peak_rss_kib": peak_kib}));
    Ok(())
}

impl Measured {
    fn new(scenario: &Scenario, mut samples: Vec<f64>, statuses: BTreeMap<u16, usize>) -> Self {
        samples.sort_by(f64::total_cmp);
        Self {
            name: scenario.name.clone(),
            function: scenario.function.clone(),
            iterations: samples.len(),
            p50_ms: percentile(&samples, 0.50),
            p99_ms: percentile(&samples, 0.99),
            mean_ms: samples.iter().sum::<f64>() / samples.len().max(1) as f64,
            statuses,
        }
    }
}

/// One Argon2id check of the scenario's password against its hash, as a login runs it.
async fn password_verify(state: &AppState, scenario: &Scenario) -> Result<(f64, u16)> {
    let hash = scenario.hash.clone().context("password-verify needs `hash`")?;
    let password =
        scenario.body.as_ref().and_then(|b| b["password"].as_str()).context("password-verify needs body.password")?;
    let started = Instant::now();
    let ok = state.passwords.verify(password.to_owned(), Some(hash)).await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, if ok { 200 } else { 401 }))
}

fn find<'a>(table: &'a [Route], function: &str) -> Result<&'a Route> {
    table.iter().find(|r| r.function == function).with_context(|| format!("no route for function {function}"))
}

/// Parses the event text (as the runtime does per invocation) and runs the controller.
async fn call(state: &AppState, route: &Route, event: String) -> Result<(u16, Value)> {
    let request = lambda_http::request::from_str(&event).context("event")?;
    let response = dispatch(route.function, state.clone(), request, route.handler).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Ok((status, body))
}

/// An API Gateway HTTP API (payload 2.0) event, shaped like the files in events/.
fn event(
    route: &Route,
    token: Option<&str>,
    query: &[(String, String)],
    id: Option<Uuid>,
    body: Option<&Value>,
) -> String {
    let path = match id {
        Some(id) => route.path.replace("{id}", &id.to_string()),
        None => route.path.to_owned(),
    };
    let mut headers = json!({
        "accept": "application/json",
        "content-type": "application/json",
        "host": "bench.execute-api.us-east-1.amazonaws.com",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-proto": "https",
    });
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let raw_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "http": { "method": route.method.as_str(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "crm-bench" },
            "requestId": Uuid::new_v4().to_string(),
            "routeKey": route.key(),
            "stage": "$default",
            "timeEpoch": 1_795_665_600_000u64,
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = query.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    }
    if let Some(id) = id {
        event["pathParameters"] = json!({ "id": id });
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event.to_string()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

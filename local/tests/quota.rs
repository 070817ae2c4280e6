//! Per-tenant request quotas: one tenant past its share answers 429 with `Retry-After` and
//! the IETF `RateLimit-Policy` / `RateLimit` fields, while another tenant on the same
//! functions goes on unaffected; the count is shared by every container, an API key
//! spends its tenant's quota, and a wrong secret spends none.

mod common;

use std::time::{Duration, Instant};

use common::{Reply, Session, TestApp};
use reqwest::StatusCode;

/// 1 request per second sustained (10 in the 10-second window), at most 3 in one second.
const LIMITS: [(&str, &str); 2] = [("TENANT_RATE_PER_SECOND", "1"), ("TENANT_RATE_BURST", "3")];
const POLICY: &str = "\"burst\";q=3;w=1, \"tenant\";q=10;w=10";

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} in {:?}", r.headers))
}

/// What remains of the window, from `RateLimit`.
fn remaining(r: &Reply) -> u32 {
    let value = header(r, "ratelimit");
    let tenant = value.split(", ").find(|p| p.starts_with("\"tenant\"")).unwrap();
    tenant.split(';').find_map(|p| p.strip_prefix("r=")).unwrap().parse().unwrap()
}

async fn customers(app: &TestApp, s: &Session) -> Reply {
    app.get("/api/v1/customers", Some(&s.access)).await
}

#[tokio::test]
async fn a_noisy_tenant_gets_429_while_another_is_unaffected() {
    let app = TestApp::spawn_with(&LIMITS).await;
    // Registration is not counted (no tenant yet); the first counted request starts clean.
    let noisy = app.register("Noisy", "ann@noisy.test").await;
    let quiet = app.register("Quiet", "bob@quiet.test").await;

    let first = customers(&app, &noisy).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(header(&first, "ratelimit-policy"), POLICY);
    assert_eq!(remaining(&first), 9, "{:?}", first.headers);

    let mut refused = Vec::new();
    let mut taken = 1;
    for round in 0..15 {
        let r = customers(&app, &noisy).await;
        match r.status {
            StatusCode::OK => taken += 1,
            StatusCode::TOO_MANY_REQUESTS => refused.push(r),
            other => panic!("{other}: {}", r.body),
        }
        // The other tenant, within its own limits between the noisy one's requests: never refused.
        if round % 5 == 0 {
            let r = customers(&app, &quiet).await;
            assert_eq!(r.status, StatusCode::OK, "the quiet tenant: {}", r.body);
            assert_eq!(header(&r, "ratelimit-policy"), POLICY);
        }
    }
    assert!(taken <= 10, "the window's quota holds: {taken} taken");
    assert!(refused.len() >= 6, "{} refused", refused.len());
    let problem = refused[0].problem(429);
    assert!(problem["type"].as_str().unwrap().ends_with("tenant-quota-exceeded"), "{problem}");
    for r in &refused {
        assert_eq!(header(r, "ratelimit-policy"), POLICY);
        let retry: u64 = header(r, "retry-after").parse().unwrap();
        assert!((1..=10).contains(&retry), "Retry-After {retry}");
        assert!(!header(r, "x-request-id").is_empty());
    }
    // The quiet tenant spent its 3, and only those. Far enough from its limits at the turn
    // of a second, its container may still hold one in its batch: a fourth request past the
    // interval (and in a second of its own: the 3 may have filled theirs) carries it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(customers(&app, &quiet).await.status, StatusCode::OK);
    assert_eq!(counted_in_db(&app, &quiet.tenant_id).await, 4);

    // A client that waits as told gets through.
    let started = Instant::now();
    loop {
        let r = customers(&app, &noisy).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(12), "still refused after the window: {}", r.body);
        let retry: u64 = header(&r, "retry-after").parse().unwrap();
        tokio::time::sleep(Duration::from_secs(retry)).await;
    }
}

#[tokio::test]
async fn the_quota_is_shared_by_every_container_and_by_the_tenants_api_keys() {
    let app = TestApp::spawn_with(&LIMITS).await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let created = app.api_key(&ann, "integration", "agent").await;
    let key = created["key"].as_str().unwrap().to_owned();
    let other = app.spawn_sharing(&[]).await;

    // A wrong secret under the key's real prefix is refused and spends nothing.
    // (The key's last base64 character carries padding bits, so it stays as it is.)
    let n = key.len();
    let swapped = if &key[n - 5..n - 1] == "AAAA" { "BBBB" } else { "AAAA" };
    let forged = format!("{}{swapped}{}", &key[..n - 5], &key[n - 1..]);
    for _ in 0..12 {
        let r = app.get("/api/v1/customers", Some(&forged)).await;
        r.problem(401);
        assert!(r.headers.get("ratelimit").is_none(), "{:?}", r.headers);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Two containers, a token and a key of one tenant: one count.
    let mut taken = 0;
    let mut refused = 0;
    for round in 0..8 {
        let (server, credential) = if round % 2 == 0 { (&app, ann.access.as_str()) } else { (&other, key.as_str()) };
        for _ in 0..2 {
            let r = server.get("/api/v1/customers", Some(credential)).await;
            match r.status {
                StatusCode::OK => taken += 1,
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                s => panic!("{s}: {}", r.body),
            }
        }
    }
    assert!(taken <= 10, "{taken} taken across containers and credentials");
    assert!(refused >= 6, "{refused} refused");
}

/// What the database has counted of `tenant`'s requests.
async fn counted_in_db(app: &TestApp, tenant: &str) -> i64 {
    app.db
        .connect()
        .await
        .query_one(
            "SELECT coalesce(sum(count), 0)::bigint FROM tenant_request_counts WHERE tenant_id = $1",
            &[&tenant.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn far_from_its_limits_a_tenant_is_counted_in_batches_and_nothing_is_lost() {
    // 1,000 a second: 20 requests are far from every limit.
    let app = TestApp::spawn_with(&[("TENANT_RATE_PER_SECOND", "1000")]).await;
    let ann = app.register("Acme", "ann@acme.test").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = counted_in_db(&app, &ann.tenant_id).await;
    let mut last = None;
    for n in 0..20 {
        let r = customers(&app, &ann).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // The container counts what it serves between counts in the database: the answers
        // still go down one by one.
        let left = remaining(&r);
        if let Some(last) = last {
            assert_eq!(left, last - 1, "request {n}: {:?}", r.headers);
        }
        last = Some(left);
    }
    let batched = counted_in_db(&app, &ann.tenant_id).await - before;
    assert!(batched < 20, "every request counted in the database on its own ({batched})");
    // The next count in the database, past the interval, carries those served meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(customers(&app, &ann).await.status, StatusCode::OK);
    assert_eq!(counted_in_db(&app, &ann.tenant_id).await - before, 21, "requests went uncounted");
}

#[tokio::test]
async fn a_rate_of_zero_turns_quotas_off() {
    let app = TestApp::spawn_with(&[("TENANT_RATE_PER_SECOND", "0")]).await;
    let ann = app.register("Acme", "ann@acme.test").await;
    for _ in 0..5 {
        let r = customers(&app, &ann).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.get("ratelimit-policy").is_none(), "{:?}", r.headers);
    }
}

#[tokio::test]
async fn a_count_that_fails_lets_the_request_through() {
    let app = TestApp::spawn_with(&LIMITS).await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let created = app.api_key(&ann, "integration", "agent").await;
    let key = created["key"].as_str().unwrap().to_owned();
    let customer = app.customer(&ann, "Carol", "carol@acme.test").await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The count's statement fails (the runtime role may no longer run it): the quota
    // protects the service and must not become a second way for it to fail.
    let owner = app.db.connect().await;
    owner.batch_execute("REVOKE EXECUTE ON FUNCTION quota_count(uuid, bigint, integer) FROM crm_app").await.unwrap();
    for _ in 0..5 {
        let r = customers(&app, &ann).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.headers.get("ratelimit").is_none(), "uncounted, yet {:?}", r.headers);
        let r = app.get("/api/v1/customers", Some(&key)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // A write goes through whole, in its own tenant.
    let ticket = app.ticket(&ann, &customer, "Printer on fire", None).await;
    let r = app.get(&format!("/api/v1/tickets/{}", ticket["id"].as_str().unwrap()), Some(&ann.access)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["title"], "Printer on fire");

    // Back, the next request is counted again.
    owner.batch_execute("GRANT EXECUTE ON FUNCTION quota_count(uuid, bigint, integer) TO crm_app").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = customers(&app, &ann).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(header(&r, "ratelimit").contains("\"burst\";r=2;"), "{:?}", r.headers);
}

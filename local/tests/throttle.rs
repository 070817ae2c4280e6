//! Login and refresh throttling (API.md: 429 when an address or account is hammered),
//! shared by every instance through PostgreSQL.

mod common;

use std::{net::IpAddr, time::Duration};

use common::{PASSWORD, Reply, TestApp};
use serde_json::{Value, json};

const WRONG: &str = "not the password at all";

fn retry_after(r: &Reply) -> u64 {
    r.headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {}", r.body))
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

/// The problem without what differs per request.
fn comparable(r: &Reply) -> Value {
    let mut v = r.body.clone();
    v.as_object_mut().unwrap().remove("requestId");
    v
}

/// A client whose requests come from another loopback address (another source IP).
async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Reply {
    let client = reqwest::Client::builder().local_address(ip.parse::<IpAddr>().unwrap()).build().unwrap();
    let res = client.post(app.url("/api/v1/auth/login")).json(&json!({"email": email, "password": password})).send();
    TestApp::reply(res.await.unwrap()).await
}

#[tokio::test]
async fn an_address_locks_after_five_failures_known_or_not_with_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register("Acme", "ann@acme.test").await;

    for _ in 0..5 {
        app.login("ann@acme.test", WRONG).await.problem(401);
        app.login("nobody@acme.test", WRONG).await.problem(401);
    }
    let known = app.login("Ann@Acme.test", WRONG).await;
    let unknown = app.login("nobody@acme.test", WRONG).await;
    known.problem(429);
    unknown.problem(429);
    assert_eq!(comparable(&known), comparable(&unknown), "a lock never tells which addresses exist");
    let (a, b) = (retry_after(&known), retry_after(&unknown));
    assert!((1..=60).contains(&a) && (1..=60).contains(&b), "first lock is about a minute: {a}, {b}");
    assert_eq!(known.headers.get("cache-control").unwrap(), "no-store");

    // While locked, even the right password is refused: the lock is not a password oracle.
    app.login("ann@acme.test", PASSWORD).await.problem(429);
    // Other addresses from the same IP are unaffected (10 failures, far below 50).
    app.register("Other", "olga@other.test").await;
    assert_eq!(app.login("olga@other.test", PASSWORD).await.status, 200);

    // The table holds digests, never the addresses.
    let owner = app.db.connect().await;
    let rows: String = owner.query_one("SELECT json_agg(t)::text FROM auth_throttle t", &[]).await.unwrap().get(0);
    assert!(!rows.contains("acme") && !rows.contains("127.0.0.1"), "{rows}");
}

#[tokio::test]
async fn a_success_resets_the_address_counter() {
    let app = TestApp::spawn().await;
    app.register("Acme", "ann@acme.test").await;
    for _ in 0..4 {
        app.login("ann@acme.test", WRONG).await.problem(401);
    }
    assert_eq!(app.login("ann@acme.test", PASSWORD).await.status, 200);
    for _ in 0..4 {
        app.login("ann@acme.test", WRONG).await.problem(401);
    }
    assert_eq!(app.login("ann@acme.test", PASSWORD).await.status, 200, "four failures after a reset do not lock");
    for _ in 0..5 {
        app.login("ann@acme.test", WRONG).await.problem(401);
    }
    app.login("ann@acme.test", PASSWORD).await.problem(429);
}

#[tokio::test]
async fn two_instances_share_one_counter() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sharing(&[]).await;
    first.register("Acme", "ann@acme.test").await;
    for _ in 0..3 {
        first.login("ann@acme.test", WRONG).await.problem(401);
    }
    for _ in 0..2 {
        second.login("ann@acme.test", WRONG).await.problem(401);
    }
    first.login("ann@acme.test", PASSWORD).await.problem(429);
    second.login("ann@acme.test", PASSWORD).await.problem(429);
}

#[tokio::test]
async fn one_ip_locks_across_many_addresses_and_other_ips_do_not() {
    let app = TestApp::spawn_with(&[("AUTH_LOGIN_MAX_FAILURES_PER_IP", "10")]).await;
    app.register("Acme", "ann@acme.test").await;
    for i in 0..10 {
        // Each address fails once: no address limit is near.
        login_from(&app, "127.0.0.2", &format!("guess{i}@acme.test"), WRONG).await.problem(401);
    }
    let r = login_from(&app, "127.0.0.2", "guess99@acme.test", WRONG).await;
    r.problem(429);
    assert!(retry_after(&r) >= 1);
    login_from(&app, "127.0.0.2", "ann@acme.test", PASSWORD).await.problem(429);
    // Ann herself, from her own address, is not locked out by someone else's IP.
    assert_eq!(login_from(&app, "127.0.0.3", "ann@acme.test", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_attacker_locks_the_address_for_their_ip_only_and_the_owner_still_logs_in() {
    let app = TestApp::spawn().await;
    app.register("Acme", "ann@acme.test").await;
    for _ in 0..5 {
        login_from(&app, "127.0.0.2", "ann@acme.test", WRONG).await.problem(401);
    }
    let r = login_from(&app, "127.0.0.2", "ann@acme.test", PASSWORD).await;
    r.problem(429);
    assert!((1..=60).contains(&retry_after(&r)), "first lock is about a minute");

    // Ann, from her own IP, with her password: the attacker cannot lock her out.
    let ann = login_from(&app, "127.0.0.3", "ann@acme.test", PASSWORD).await;
    assert_eq!(ann.status, 200, "{}", ann.body);
    // Her success clears her own counters, never the attacker's lock.
    login_from(&app, "127.0.0.2", "ann@acme.test", PASSWORD).await.problem(429);
    // An unknown address behaves the same, so the pair lock tells nothing either.
    for _ in 0..5 {
        login_from(&app, "127.0.0.2", "nobody@acme.test", WRONG).await.problem(401);
    }
    login_from(&app, "127.0.0.2", "nobody@acme.test", WRONG).await.problem(429);
    login_from(&app, "127.0.0.3", "nobody@acme.test", WRONG).await.problem(401);
}

#[tokio::test]
async fn guesses_spread_over_many_ips_still_lock_the_address_for_everyone() {
    let app = TestApp::spawn_with(&[
        ("AUTH_LOGIN_MAX_FAILURES_PER_EMAIL", "3"),
        ("AUTH_LOGIN_MAX_FAILURES_PER_EMAIL_ANY_IP", "6"),
    ])
    .await;
    app.register("Acme", "ann@acme.test").await;
    app.register("Other", "olga@other.test").await;
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        // Two each: no (address, IP) pair reaches its limit of three.
        for _ in 0..2 {
            login_from(&app, ip, "ann@acme.test", WRONG).await.problem(401);
        }
    }
    // Six failures in all: the address-wide backstop locks it, even from a clean IP with
    // the right password.
    let r = login_from(&app, "127.0.0.5", "ann@acme.test", PASSWORD).await;
    r.problem(429);
    assert!(retry_after(&r) >= 1);
    // The IPs themselves are not locked (two failures each): other addresses still work.
    assert_eq!(login_from(&app, "127.0.0.2", "olga@other.test", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn locks_double_with_each_repeat() {
    let app = TestApp::spawn_with(&[("AUTH_THROTTLE_LOCK_SECS", "1"), ("AUTH_THROTTLE_MAX_LOCK_SECS", "600")]).await;
    for _ in 0..5 {
        app.login("nobody@acme.test", WRONG).await.problem(401);
    }
    assert_eq!(retry_after(&app.login("nobody@acme.test", WRONG).await), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..5 {
        app.login("nobody@acme.test", WRONG).await.problem(401);
    }
    let r = app.login("nobody@acme.test", WRONG).await;
    r.problem(429);
    assert_eq!(retry_after(&r), 2, "the second lock lasts twice the first");
}

#[tokio::test]
async fn refused_refresh_tokens_lock_the_ip() {
    let app = TestApp::spawn_with(&[("AUTH_REFRESH_MAX_FAILURES_PER_IP", "3")]).await;
    let s = app.register("Acme", "ann@acme.test").await;
    // A garbage token and a well-formed one with the wrong secret both count.
    let forged = {
        let mut t = s.refresh.clone().into_bytes();
        let last = t.len() - 2;
        t[last] = if t[last] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).unwrap()
    };
    for token in ["garbage", forged.as_str(), "more garbage"] {
        app.post("/api/v1/auth/refresh", None, json!({"refreshToken": token})).await.problem(401);
    }
    let r = app.post("/api/v1/auth/refresh", None, json!({"refreshToken": s.refresh})).await;
    r.problem(429);
    assert!(retry_after(&r) >= 1);
}

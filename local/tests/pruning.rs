//! The sweeper's pruning (migrations V7 and V9): refresh tokens expired or revoked more
//! than a day ago, idempotency keys past their day, and mailed account tokens a day after
//! they were spent or expired go, for every tenant, a bounded batch per run; live rows,
//! and spent refresh tokens kept for reuse detection, stay.

mod common;

use std::time::Duration;

use common::{TestApp, sqs::eventually};
use crm_core::{AppState, Config, db::testing::TestDb, service::housekeeping};
use uuid::Uuid;

/// One refresh token of `user`, its times given as SQL relative to now.
async fn token(
    owner: &tokio_postgres::Client,
    tenant: Uuid,
    user: Uuid,
    expires: &str,
    used: &str,
    revoked: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at, used_at, revoked_at)
         VALUES ($1, $2, $3, gen_random_uuid(), '\\x00', {expires}, {used}, {revoked})"
    );
    owner.execute(&sql, &[&tenant, &id, &user]).await.unwrap();
    id
}

async fn idempotency_key(owner: &tokio_postgres::Client, tenant: Uuid, key: &str, created: &str) {
    let sql = format!(
        "INSERT INTO idempotency_keys (tenant_id, route, key, request_hash, response_status, response_body, created_at)
         VALUES ($1, 'tickets-create', $2, '\\x00', 201, '{{}}', {created})"
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&tenant, &key];
    owner.execute(&sql, &params).await.unwrap();
}

async fn token_ids(owner: &tokio_postgres::Client) -> Vec<Uuid> {
    owner.query("SELECT id FROM refresh_tokens", &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

async fn keys(owner: &tokio_postgres::Client) -> Vec<String> {
    let rows = owner.query("SELECT key FROM idempotency_keys ORDER BY key", &[]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// A tenant with one admin, written as the owner; returns their ids.
async fn tenant_with_admin(owner: &tokio_postgres::Client) -> (Uuid, Uuid) {
    let (tenant, user) = (Uuid::now_v7(), Uuid::now_v7());
    owner.execute("INSERT INTO tenants (id, name) VALUES ($1, 'T')", &[&tenant]).await.unwrap();
    owner
        .execute(
            "INSERT INTO users (tenant_id, id, email, password_hash, role) VALUES ($1, $2, 'u@t.test', 'x', 'admin')",
            &[&tenant, &user],
        )
        .await
        .unwrap();
    (tenant, user)
}

#[tokio::test]
async fn crm_locals_sweeper_prunes_dead_rows_of_every_tenant_and_keeps_live_ones() {
    let app = TestApp::spawn().await;
    let owner = app.db.connect().await;
    let (mut dead, mut kept) = (Vec::new(), Vec::new());
    let mut sessions = Vec::new();
    for (i, (tenant, email)) in [("Acme", "ann@acme.test"), ("Other", "olga@other.test")].into_iter().enumerate() {
        let s = app.register(tenant, email).await;
        let (t, u): (Uuid, Uuid) = (s.tenant_id.parse().unwrap(), s.user_id.parse().unwrap());
        dead.push(token(&owner, t, u, "now() - interval '2 days'", "NULL", "NULL").await);
        dead.push(token(&owner, t, u, "now() + interval '20 days'", "NULL", "now() - interval '25 hours'").await);
        kept.push(token(&owner, t, u, "now() - interval '1 hour'", "NULL", "NULL").await);
        kept.push(token(&owner, t, u, "now() + interval '20 days'", "NULL", "now() - interval '23 hours'").await);
        // Spent long ago but alive: presenting it again is how a stolen copy is caught.
        kept.push(token(&owner, t, u, "now() + interval '20 days'", "now() - interval '5 days'", "NULL").await);
        idempotency_key(&owner, t, &format!("old-{i}"), "now() - interval '25 hours'").await;
        idempotency_key(&owner, t, &format!("new-{i}"), "now() - interval '23 hours'").await;
        sessions.push(s);
    }

    eventually(Duration::from_secs(15), "the sweeper to prune the dead rows", || async {
        let ids = token_ids(&owner).await;
        dead.iter().all(|d| !ids.contains(d)) && keys(&owner).await.len() == 2
    })
    .await;
    let ids = token_ids(&owner).await;
    assert!(kept.iter().all(|k| ids.contains(k)), "live and young rows stay");
    assert_eq!(keys(&owner).await, ["new-0", "new-1"]);
    for s in &sessions {
        let r = app.post("/api/v1/auth/refresh", None, serde_json::json!({"refreshToken": s.refresh})).await;
        assert_eq!(r.status, 200, "the session's own token was left alone: {}", r.body);
    }
}

#[tokio::test]
async fn a_run_prunes_a_bounded_batch_and_the_next_runs_the_rest() {
    let db = TestDb::create().await;
    let owner = db.connect().await;
    let (tenant, user) = tenant_with_admin(&owner).await;
    for _ in 0..5 {
        token(&owner, tenant, user, "now() - interval '2 days'", "NULL", "NULL").await;
    }
    let url = db.url.clone();
    let config = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
    let state = AppState::new(config, 2).unwrap();

    let tokens_per_run = |n: i32| {
        let state = state.clone();
        async move { housekeeping::prune(&state, n).await.unwrap().refresh_tokens }
    };
    assert_eq!([tokens_per_run(2).await, tokens_per_run(2).await, tokens_per_run(2).await], [2, 2, 1]);
    // However large the batch asked for, a run deletes at most 1000 rows per table.
    owner
        .execute(
            "INSERT INTO idempotency_keys (tenant_id, route, key, request_hash, created_at)
             SELECT $1, 'customers-create', 'k' || n, '\\x00', now() - interval '2 days'
             FROM generate_series(1, 1001) n",
            &[&tenant],
        )
        .await
        .unwrap();
    let first = housekeeping::prune(&state, 5000).await.unwrap();
    assert_eq!(first.idempotency_keys, 1000);
    let second = housekeeping::prune(&state, 5000).await.unwrap();
    assert_eq!((second.idempotency_keys, second.refresh_tokens), (1, 0));
}

#[tokio::test]
async fn mailed_tokens_go_a_day_after_they_were_spent_or_expired() {
    let db = TestDb::create().await;
    let owner = db.connect().await;
    let (tenant, user) = tenant_with_admin(&owner).await;
    // (expires, spent): dead ones first, then live ones.
    let cases = [
        ("now() - interval '25 hours'", "NULL", true),
        ("now() + interval '1 hour'", "now() - interval '25 hours'", true),
        ("now() - interval '23 hours'", "NULL", false),
        ("now() + interval '1 hour'", "now() - interval '1 hour'", false),
        ("now() + interval '1 hour'", "NULL", false),
    ];
    for (expires, spent, _) in cases {
        owner
            .batch_execute(&format!(
                "INSERT INTO signups (tenant_id, id, email, tenant_name, password_hash, token_hash, expires_at, used_at)
                 VALUES (gen_random_uuid(), gen_random_uuid(), 'a@b.test', 'N', 'x', decode(repeat('00', 32), 'hex'), {expires}, {spent});
                 INSERT INTO password_resets (tenant_id, id, user_id, token_hash, expires_at, used_at)
                 VALUES ('{tenant}', gen_random_uuid(), '{user}', decode(repeat('00', 32), 'hex'), {expires}, {spent});
                 INSERT INTO invitations (tenant_id, id, email, name, role, invited_by, token_hash, expires_at, accepted_at)
                 VALUES ('{tenant}', gen_random_uuid(), 'i@t.test', 'I', 'agent', '{user}', decode(repeat('00', 32), 'hex'), {expires}, {spent});"
            ))
            .await
            .unwrap();
    }
    let url = db.url.clone();
    let config = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
    let state = AppState::new(config, 2).unwrap();
    let dead = cases.iter().filter(|c| c.2).count() as u64;
    assert_eq!(housekeeping::prune(&state, 1000).await.unwrap().account_tokens, 3 * dead);
    assert_eq!(housekeeping::prune(&state, 1000).await.unwrap().account_tokens, 0, "the live ones stay");
    for table in ["signups", "password_resets", "invitations"] {
        let left: i64 = owner.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        assert_eq!(left as usize, cases.len() - dead as usize, "{table}");
    }
}

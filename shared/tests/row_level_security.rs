//! The third wall, proven at the database with the connection settings the app really
//! uses: the runtime role sees and writes only the tenant its transaction names.

use crm_core::{
    Config,
    db::{RUNTIME_ROLE, runtime_pg_config, testing::TestDb},
};
use tokio_postgres::{Client, NoTls, error::SqlState};
use uuid::Uuid;

async fn app_connection(db: &TestDb) -> Client {
    let url = db.url.clone();
    let config = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
    let (client, connection) = runtime_pg_config(&config).unwrap().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Two tenants with one user each, written by the owner.
async fn seed(db: &TestDb) -> (Uuid, Uuid) {
    let owner = db.connect().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    for (tenant, email) in [(a, "a@example.test"), (b, "b@example.test")] {
        owner.execute("INSERT INTO tenants (id, name) VALUES ($1, 'T')", &[&tenant]).await.unwrap();
        owner
            .execute(
                "INSERT INTO users (tenant_id, id, email, role, password_hash) VALUES ($1, $2, $3, 'admin', 'x')",
                &[&tenant, &Uuid::now_v7(), &email],
            )
            .await
            .unwrap();
    }
    (a, b)
}

/// A SECURITY DEFINER function's owner is no way around row-level security: the runtime
/// role is not a member of it, and it cannot log in, bypass RLS or act as superuser.
async fn assert_no_door(app: &Client, role: &str) {
    let row = app
        .query_one(
            "SELECT pg_has_role('crm_app', $1, 'MEMBER'),
                    (SELECT rolcanlogin OR rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = $1)",
            &[&role],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, bool>(0), row.get::<_, Option<bool>>(1)), (false, Some(false)), "{role}");
}

async fn begin_as(client: &Client, tenant: Option<Uuid>) {
    client.batch_execute("BEGIN").await.unwrap();
    if let Some(t) = tenant {
        client.execute("SELECT set_config('app.tenant_id', $1, true)", &[&t.to_string()]).await.unwrap();
    }
}

#[tokio::test]
async fn the_app_connects_as_a_role_that_owns_nothing_and_cannot_bypass_rls() {
    let db = TestDb::create().await;
    let app = app_connection(&db).await;
    let row = app
        .query_one("SELECT current_user::text, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), RUNTIME_ROLE);
    assert!(!row.get::<_, bool>(1), "runtime role must lack BYPASSRLS");
    assert!(!row.get::<_, bool>(2), "runtime role must not be a superuser");
    let owned: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owned, 0, "runtime role must own no relation");
    let forced: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname IN ('tenants', 'users', 'refresh_tokens') AND relrowsecurity AND relforcerowsecurity",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(forced, 3, "every tenant table has RLS enabled and forced");
}

#[tokio::test]
async fn tenant_a_can_neither_read_nor_write_tenant_b() {
    let db = TestDb::create().await;
    let (a, b) = seed(&db).await;
    let app = app_connection(&db).await;

    begin_as(&app, Some(a)).await;
    let visible: Vec<Uuid> =
        app.query("SELECT tenant_id FROM users", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(visible, [a], "only tenant A's users are visible");
    let b_rows = app.query("SELECT id FROM users WHERE tenant_id = $1", &[&b]).await.unwrap();
    assert!(b_rows.is_empty(), "tenant B's users are invisible");
    let updated = app.execute("UPDATE users SET name = 'pwned' WHERE tenant_id = $1", &[&b]).await.unwrap();
    assert_eq!(updated, 0);
    let insert = app
        .execute(
            "INSERT INTO users (tenant_id, id, email, role, password_hash) VALUES ($1, $2, 'evil@example.test', 'admin', 'x')",
            &[&b, &Uuid::now_v7()],
        )
        .await
        .unwrap_err();
    assert_eq!(insert.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{insert}");
    app.batch_execute("ROLLBACK").await.unwrap();

    // Without a tenant nothing is visible, and the setting does not outlive its transaction.
    begin_as(&app, None).await;
    assert!(app.query("SELECT id FROM users", &[]).await.unwrap().is_empty());
    assert!(app.query("SELECT id FROM tenants", &[]).await.unwrap().is_empty());
    app.batch_execute("COMMIT").await.unwrap();

    let owner = db.connect().await;
    let b_names: Vec<Option<String>> = owner
        .query("SELECT name FROM users WHERE tenant_id = $1", &[&b])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(b_names, [None], "tenant B's row is untouched");
}

#[tokio::test]
async fn login_lookup_is_the_only_door_before_the_tenant_is_known() {
    let db = TestDb::create().await;
    let (_, b) = seed(&db).await;
    let app = app_connection(&db).await;
    begin_as(&app, None).await;
    let found = app.query("SELECT tenant_id FROM auth_login_lookup('B@Example.test')", &[]).await.unwrap();
    assert_eq!(found.iter().map(|r| r.get::<_, Uuid>(0)).collect::<Vec<_>>(), [b]);
    app.batch_execute("ROLLBACK").await.unwrap();
    // The function's owner is no back door: the runtime role is not a member of it, and it
    // may only read the columns login needs.
    let row = app
        .query_one(
            "SELECT pg_has_role('crm_app', 'crm_auth', 'MEMBER'),
                    has_table_privilege('crm_auth', 'users', 'INSERT'),
                    has_table_privilege('crm_auth', 'users', 'UPDATE'),
                    has_column_privilege('crm_auth', 'users', 'name', 'SELECT')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, bool>(0), row.get::<_, bool>(1), row.get::<_, bool>(2), row.get::<_, bool>(3)),
        (false, false, false, false)
    );
}

#[tokio::test]
async fn the_throttle_table_is_reached_only_through_its_three_functions() {
    let db = TestDb::create().await;
    let app = app_connection(&db).await;
    let key = vec![7u8; 32];
    // The functions work for the runtime role...
    for _ in 0..3 {
        app.query_one("SELECT auth_throttle_fail($1, 3, 900, 60, 3600)", &[&key]).await.unwrap();
    }
    let locked: i32 = app.query_one("SELECT auth_throttle_locked(ARRAY[$1::bytea])", &[&key]).await.unwrap().get(0);
    assert!((1..=60).contains(&locked), "{locked}");
    app.execute("SELECT auth_throttle_reset($1)", &[&key]).await.unwrap();
    let locked: i32 = app.query_one("SELECT auth_throttle_locked(ARRAY[$1::bytea])", &[&key]).await.unwrap().get(0);
    assert_eq!(locked, 0);
    // ...and the table itself is closed to it: no listing keys, no editing counts.
    for sql in [
        "SELECT count(*) FROM auth_throttle",
        "DELETE FROM auth_throttle",
        "UPDATE auth_throttle SET failures = 0",
        "INSERT INTO auth_throttle (key) VALUES (decode(repeat('00', 32), 'hex'))",
    ] {
        let err = app.batch_execute(sql).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{sql}: {err}");
    }
    assert_no_door(&app, "crm_throttle").await;
}

#[tokio::test]
async fn the_search_function_answers_only_for_the_tenant_of_the_transaction() {
    let db = TestDb::create().await;
    let (a, b) = seed(&db).await;
    let owner = db.connect().await;
    let mut tickets = Vec::new();
    for tenant in [a, b] {
        let customer = Uuid::now_v7();
        owner
            .execute(
                "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'C', 'c@example.test')",
                &[&tenant, &customer],
            )
            .await
            .unwrap();
        let ticket = Uuid::now_v7();
        owner
            .execute(
                "INSERT INTO tickets (tenant_id, id, customer_id, title, description) VALUES ($1, $2, $3, 'Secret plan', '')",
                &[&tenant, &ticket, &customer],
            )
            .await
            .unwrap();
        tickets.push(ticket);
    }
    let app = app_connection(&db).await;
    let search = "SELECT s FROM ticket_search($1, '%secret%', NULL, NULL, NULL, NULL, NULL, 10) s";
    let found = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, Uuid>(0)).collect::<Vec<_>>();

    begin_as(&app, Some(a)).await;
    assert_eq!(found(app.query(search, &[&a]).await.unwrap()), [tickets[0]]);
    // Naming the other tenant does not reach its tickets: the transaction's tenant rules.
    assert!(found(app.query(search, &[&b]).await.unwrap()).is_empty());
    app.batch_execute("ROLLBACK").await.unwrap();
    begin_as(&app, None).await;
    assert!(found(app.query(search, &[&a]).await.unwrap()).is_empty(), "no tenant, no tickets");
    app.batch_execute("ROLLBACK").await.unwrap();

    // The function's owner is no door either: the runtime role is not a member of it, and
    // it can log in nowhere.
    assert_no_door(&app, "crm_search").await;
}

#[tokio::test]
async fn the_prune_role_sees_and_deletes_only_dead_rows_and_reads_no_secret() {
    let db = TestDb::create().await;
    let (a, _) = seed(&db).await;
    let owner = db.connect().await;
    let user: Uuid = owner.query_one("SELECT id FROM users WHERE tenant_id = $1", &[&a]).await.unwrap().get(0);
    for expires in ["now() - interval '2 days'", "now() + interval '2 days'"] {
        let sql = format!(
            "INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at)
             VALUES ($1, gen_random_uuid(), $2, gen_random_uuid(), '\\x00', {expires})"
        );
        owner.execute(&sql, &[&a, &user]).await.unwrap();
    }
    // As the function's owner, even in a transaction naming the tenant: the live row is
    // out of reach, and so is every token hash.
    owner.batch_execute("BEGIN; SET LOCAL ROLE crm_prune").await.unwrap();
    owner.execute("SELECT set_config('app.tenant_id', $1, true)", &[&a.to_string()]).await.unwrap();
    let seen: i64 = owner.query_one("SELECT count(*) FROM refresh_tokens", &[]).await.unwrap().get(0);
    assert_eq!(seen, 1, "only the dead row");
    let err = owner.query("SELECT token_hash FROM refresh_tokens", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err}");
    owner.batch_execute("ROLLBACK").await.unwrap();

    let app = app_connection(&db).await;
    let deleted: i64 =
        app.query_one("SELECT refresh_tokens_deleted FROM prune_dead_rows(100)", &[]).await.unwrap().get(0);
    assert_eq!(deleted, 1);
    let left: i64 = owner.query_one("SELECT count(*) FROM refresh_tokens", &[]).await.unwrap().get(0);
    assert_eq!(left, 1, "the live token stays");
    assert_no_door(&app, "crm_prune").await;
}

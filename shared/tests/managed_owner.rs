//! The migrations as a managed database's master user (RDS): a role with CREATEROLE and
//! CREATEDB that is not a superuser, owning the database it migrates.

use crm_core::db::{migrate, testing::TestDb};
use uuid::Uuid;

#[tokio::test]
async fn a_non_superuser_owner_migrates_and_the_app_role_works() {
    let admin = TestDb::reserve();
    let server = admin.url.rsplit_once('/').unwrap().0.to_owned();
    let (root, connection) =
        tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let owner = format!("crm_test_owner_{}", Uuid::new_v4().simple());
    root.batch_execute(&format!("CREATE ROLE {owner} LOGIN CREATEROLE CREATEDB NOSUPERUSER")).await.unwrap();
    let db = TestDb::reserve();
    let name = db.url.rsplit_once('/').unwrap().1.to_owned();
    root.batch_execute(&format!("CREATE DATABASE {name} OWNER {owner}")).await.unwrap();
    let owner_url = format!("{}/{name}", server.replacen("postgres@", &format!("{owner}@"), 1));

    let applied = migrate(&owner_url).await.expect("a non-superuser owner migrates");
    assert!(applied.len() >= 3, "{applied:?}");
    assert!(migrate(&owner_url).await.unwrap().is_empty(), "a second run applies nothing");

    // The SECURITY DEFINER functions ended up with their roles, not with the owner.
    let (client, connection) = tokio_postgres::connect(&owner_url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let owners: Vec<String> = client
        .query(
            "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname IN ('auth_login_lookup', 'outbox_claim_stale', 'prune_dead_rows', 'ticket_search') ORDER BY proname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(owners, ["crm_auth", "crm_outbox", "crm_prune", "crm_search"]);
    // The runtime role sees nothing without a tenant, and can call the login lookup.
    client.batch_execute("SET ROLE crm_app").await.unwrap();
    let n: i64 = client.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
    client.query("SELECT * FROM auth_login_lookup('nobody@example.com')", &[]).await.unwrap();
    drop(client);

    drop(db);
    // The database goes with `db`; the owner role once nothing depends on it any more.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let _ = root
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE); DROP OWNED BY {owner}; DROP ROLE IF EXISTS {owner}"
        ))
        .await;
}

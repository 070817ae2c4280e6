//! Units of work: an uncommitted transaction leaves nothing behind, not even on the pooled
//! connection that served it.

use crm_core::{
    Config,
    db::{Db, auth as auth_db, testing::TestDb, users as users_db, users::NewUser},
    error::Error,
    ids::{TenantId, UserId},
    model::Role,
};

#[tokio::test]
async fn a_dropped_transaction_rolls_back_and_its_connection_is_reused() {
    let test_db = TestDb::create().await;
    let url = test_db.url.clone();
    let config = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
    let db = Db::new(&config, 1).unwrap();
    let tenant = TenantId::generate();

    let tx = db.begin_for(tenant).await.unwrap();
    auth_db::manager::create_tenant(&tx, tenant, "Acme").await.unwrap();
    tx.commit().await.unwrap();

    let user = UserId::generate();
    let tx = db.begin_for(tenant).await.unwrap();
    let new = NewUser { id: user, email: "ann@acme.test", name: None, role: Role::Admin, password_hash: "x" };
    users_db::manager::create(&tx, tenant, &new).await.unwrap();
    drop(tx); // an error path: `?` returned before commit

    // The pool has one connection: this waits for the rollback, then reuses it.
    let tx = db.begin_for(tenant).await.unwrap();
    let found = users_db::manager::get(&tx, tenant, user).await;
    assert!(matches!(found, Err(Error::NotFound("user"))), "the dropped insert was rolled back");
    tx.commit().await.unwrap();

    let owner = test_db.connect().await;
    let sessions: i64 = owner
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'simplecrm' AND datname = current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1, "the connection was returned, not replaced");
}

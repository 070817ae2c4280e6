//! A fresh, migrated database per test, dropped when the test ends, so test binaries and
//! the tests inside them run in parallel against the real PostgreSQL.

use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::db::{create_database_if_missing, migrate};

/// The server tests use: `TEST_DATABASE_URL`, else the local default. Its database part
/// is replaced by a new name per test.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub struct TestDb {
    /// Owner URL of the new database (what `DATABASE_URL` would be).
    pub url: String,
    name: String,
}

impl TestDb {
    /// Creates `crm_test_<uuid>` and applies every migration.
    pub async fn create() -> Self {
        let db = Self::create_empty().await;
        migrate(&db.url).await.expect("migrate the test database");
        db
    }

    /// Creates `crm_test_<uuid>` without applying any migration.
    pub async fn create_empty() -> Self {
        let db = Self::reserve();
        create_database_if_missing(&db.url).await.expect("create the test database (is PostgreSQL running?)");
        db
    }

    /// A new database name, not yet created (for code under test that creates it);
    /// dropped all the same when the test ends.
    pub fn reserve() -> Self {
        let name = format!("crm_test_{}", Uuid::new_v4().simple());
        Self { url: with_dbname(&server_url(), &name), name }
    }

    /// A raw connection as the owner, for tests that prove things at the database itself.
    pub async fn connect(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.url, NoTls).await.expect("connect to the test database");
        tokio::spawn(connection);
        client
    }

    /// A database outage as clients see it: with `down`, new connections are refused and
    /// every open session is cut; without, connections are allowed again.
    pub async fn set_outage(&self, down: bool) {
        let (server, connection) = tokio_postgres::connect(&server_url(), NoTls).await.expect("connect to the server");
        tokio::spawn(connection);
        let name = &self.name;
        server.batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {}", !down)).await.unwrap();
        if down {
            server
                .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", &[name])
                .await
                .unwrap();
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (url, name) = (server_url(), self.name.clone());
        // Drop runs inside the test's runtime; the cleanup gets a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Replaces the database of a `postgres://` URL (a key=value string gets `dbname=`).
fn with_dbname(url: &str, name: &str) -> String {
    if let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) {
        let (authority, query) = match rest.split_once('/') {
            Some((authority, path)) => (authority, path.split_once('?').map(|(_, q)| q)),
            None => (rest.split_once('?').map_or(rest, |(a, _)| a), rest.split_once('?').map(|(_, q)| q)),
        };
        match query {
            Some(q) => format!("postgres://{authority}/{name}?{q}"),
            None => format!("postgres://{authority}/{name}"),
        }
    } else {
        format!("{url} dbname={name}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(super::with_dbname("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(super::with_dbname("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(super::with_dbname("postgres://u@h", "x"), "postgres://u@h/x");
    }
}

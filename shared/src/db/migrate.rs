//! Schema migrations (refinery, SQL files in `/migrations`), run with the owner connection
//! by `crm-local` at start and by the `migrate` function on deploy.

use super::tls;
use crate::error::Error;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Runs before the migrations so they also apply as a managed database's master user
/// (RDS: CREATEROLE, not superuser). Such an owner may only hand a function to a role it
/// belongs to (V1/V3/V4/V5/V7 give the SECURITY DEFINER functions to `crm_auth`, `crm_outbox`,
/// `crm_throttle`, `crm_search` and `crm_prune`),
/// and that role needs CREATE on the schema, which PostgreSQL 15 no longer grants to
/// everyone. Creating the roles here is idempotent with V1/V3, which create them only if
/// missing; a superuser needs none of it.
const OWNER_BOOTSTRAP: &str = r#"
DO $bootstrap$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['crm_app', 'crm_auth', 'crm_outbox', 'crm_throttle', 'crm_search', 'crm_prune'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration created it meanwhile
            END;
        END IF;
    END LOOP;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        -- crm_app too: without APP_DATABASE_URL the app switches to it on every connection.
        FOREACH name IN ARRAY ARRAY['crm_app', 'crm_auth', 'crm_outbox', 'crm_throttle', 'crm_search', 'crm_prune'] LOOP
            IF NOT pg_has_role(current_user, name, 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', name, current_user);
            END IF;
        END LOOP;
        GRANT CREATE ON SCHEMA public TO crm_auth, crm_outbox, crm_throttle, crm_search, crm_prune;
    END IF;
END
$bootstrap$;
"#;

/// Applies pending migrations; returns the names of those applied now.
pub async fn migrate(database_url: &str) -> Result<Vec<String>, Error> {
    let config: tokio_postgres::Config =
        database_url.parse().map_err(|e| Error::Internal(format!("database url: {e}")))?;
    let mut client = tls::connect(&config).await?;
    client
        .batch_execute(OWNER_BOOTSTRAP)
        .await
        .map_err(|e| Error::Internal(format!("migration bootstrap failed: {e}")))?;
    let report = embedded::migrations::runner()
        .run_async(&mut client)
        .await
        .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
    Ok(report.applied_migrations().iter().map(|m| m.to_string()).collect())
}

/// Creates the database named in `database_url` when it does not exist (local runs, tests).
pub async fn create_database_if_missing(database_url: &str) -> Result<bool, Error> {
    let config: tokio_postgres::Config =
        database_url.parse().map_err(|e| Error::Internal(format!("database url: {e}")))?;
    let name = config.get_dbname().unwrap_or("postgres").to_owned();
    let mut admin = config.clone();
    admin.dbname("postgres");
    let client = tls::connect(&admin).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(|e| Error::Internal(format!("look up database: {e}")))?
        .is_some();
    if !exists {
        // Identifiers cannot be bound as parameters; quote it as PostgreSQL would.
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        if let Err(e) = client.batch_execute(&format!("CREATE DATABASE {quoted}")).await {
            // Another process may have created it between the check and now.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                return Err(Error::Internal(format!("create database: {e}")));
            }
        }
    }
    Ok(!exists)
}

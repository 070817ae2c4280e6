//! The database plumbing: the pool, tenant-scoped units of work, migrations, and the
//! error every repository returns. Only this module tree names the PostgreSQL driver.

pub mod accounts;
mod actors;
pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod comments;
pub mod customers;
pub mod exports;
pub mod feed;
pub mod housekeeping;
pub mod idempotency;
pub mod notifications;
pub mod outbox;
mod quota;
pub mod sla;
pub mod stats;
pub mod tags;
pub mod tenancy;
pub mod throttle;
pub mod tickets;
pub mod users;
pub mod webhooks;

mod errors;
mod keyset;
mod migrate;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::Notify;
use tokio_postgres::NoTls;

pub use errors::{DbError, unavailable_or_internal};
pub use migrate::{create_database_if_missing, migrate};
pub use tokio_postgres::Config as PgConfig;

use crate::{
    audit as request_audit,
    config::Config,
    error::Error,
    ids::{TenantId, UserId},
    quota::{
        self as request_quota, QuotaConfig,
        tally::{self, Plan, Tally},
    },
    security::{ActorId, Credential, Principal, Requires, api_key::PresentedKey, principal::Subject},
};

/// The role every pooled connection acts as: owns nothing, lacks BYPASSRLS (migration V1).
pub const RUNTIME_ROLE: &str = "crm_app";
/// A handle on the pool. Cheap to clone; built once per container; connects on first use.
#[derive(Clone)]
pub struct Db {
    /// None in a function deployed without a database URL (docs).
    pool: Option<Pool>,
    rollbacks: Arc<PendingRollbacks>,
    quota: QuotaConfig,
    tally: Arc<Tally>,
}

/// How long an answer waits for the rollbacks of its dropped transactions.
const SETTLE_BUDGET: Duration = Duration::from_secs(2);

/// Rollbacks of dropped transactions that are still running in the background.
#[derive(Default)]
struct PendingRollbacks {
    running: AtomicUsize,
    finished: Notify,
}

impl PendingRollbacks {
    fn start(self: &Arc<Self>) -> RollbackGuard {
        self.running.fetch_add(1, Ordering::SeqCst);
        RollbackGuard(self.clone())
    }
}

/// Counts a background rollback as finished when dropped, however its task ends.
struct RollbackGuard(Arc<PendingRollbacks>);

impl Drop for RollbackGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        self.0.finished.notify_waiters();
    }
}

impl Db {
    /// `max_size` is the most connections this process holds at once: each unit of work
    /// holds one until it commits, so a process that never opens one inside another (a
    /// Lambda container, one request at a time) needs only one.
    pub fn new(config: &Config, max_size: usize) -> Result<Self, Error> {
        if config.app_database_url.is_none() && config.database_url.is_none() {
            return Ok(Self { pool: None, rollbacks: Arc::default(), quota: config.quota, tally: Arc::default() });
        }
        let pg = runtime_pg_config(config)?;
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if tls::wants_tls(&pg) {
            Manager::from_config(pg, tls::connector()?, manager_config)
        } else {
            Manager::from_config(pg, NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| Error::Internal(format!("pool: {e}")))?;
        Ok(Self { pool: Some(pool), rollbacks: Arc::default(), quota: config.quota, tally: Arc::default() })
    }

    /// Waits (at most 2 s) until the rollbacks of transactions dropped on error paths have
    /// run. Lambda freezes a container as soon as it answers: a rollback still in the
    /// background would keep its transaction open, and its row locks held, until the
    /// container thaws or `idle_in_transaction_session_timeout` ends the session. So
    /// every invocation settles before it answers.
    pub async fn settle(&self) {
        let all_done = async {
            loop {
                let finished = self.rollbacks.finished.notified();
                tokio::pin!(finished);
                finished.as_mut().enable();
                if self.rollbacks.running.load(Ordering::SeqCst) == 0 {
                    return;
                }
                finished.await;
            }
        };
        if tokio::time::timeout(SETTLE_BUDGET, all_done).await.is_err() {
            tracing::warn!("rollbacks still running when the answer went out");
        }
    }

    fn pool(&self) -> Result<&Pool, Error> {
        self.pool.as_ref().ok_or_else(|| Error::Internal("no database URL is set for this function".into()))
    }

    async fn connection(&self) -> Result<Object, Error> {
        self.pool()?.get().await.map_err(|e| Error::Unavailable(format!("database pool: {}", tls::chain(&e))))
    }

    /// A transaction in which row-level security sees only `tenant`.
    pub async fn begin_for(&self, tenant: TenantId) -> Result<Tx, Error> {
        self.start(&begin_for_tenant(tenant)).await
    }

    /// The unit of work of an authenticated request: a transaction scoped to the caller's
    /// tenant, opened in the same round trip as the read of the caller's row, so that what
    /// the caller may do comes from the database as it is now, never from the token's
    /// claims. A user that is gone or disabled is refused (401), a role below `requires`
    /// too (403); the transaction is rolled back before either answer.
    ///
    /// The same round trip counts the request against its tenant's quota (the first unit
    /// of work of a request only), or this container does (`quota::tally`): past it, 429,
    /// after the refusals above.
    pub async fn begin_as(&self, credential: &Credential, requires: Requires) -> Result<(Tx, Principal), Error> {
        let counts = self.quota.enabled() && request_quota::recorded().is_none();
        let hint = match credential.subject {
            Subject::User { tenant_id, .. } => Some(tenant_id),
            Subject::ApiKey(ref key) => self.tally.tenant_of_key(key.prefix()),
        };
        let now_s = tally::epoch_second();
        let plan = counts.then(|| self.tally.plan(&self.quota, hint, Instant::now(), now_s));
        let amount = match plan {
            Some(Plan::Count { amount }) => Some(amount),
            _ => None,
        };
        let mut attempts = 0;
        let (conn, (authorised, touch), window) = loop {
            let conn = self.connection().await?;
            match begin_reading(&conn, credential, amount).await {
                Ok(read) => break (conn, read.0, read.1),
                Err(e) if self.retire(conn, &e, &mut attempts) => continue,
                Err(e) => {
                    if amount.is_some() {
                        self.tally.count_failed(hint);
                    }
                    return Err(e.into_error("begin and read the caller"));
                }
            }
        };
        let mut tx = Tx { conn: Some(conn), rollbacks: self.rollbacks.clone(), audit: None };
        let admitted = authorised.and_then(|principal| principal.require(requires).map(|()| principal));
        // A refused caller counts only if the database counted it (its tenant known).
        let tenant = admitted.as_ref().ok().map(|principal| principal.tenant_id);
        let quota = match (plan, window) {
            (None, _) => None,
            (Some(Plan::Here), _) => tenant.and_then(|tenant| self.tally.count_here(&self.quota, tenant, now_s)),
            (Some(Plan::Count { amount }), Some((db_now_s, before))) => tenant
                .or(hint)
                .map(|tenant| self.tally.counted(&self.quota, tenant, Instant::now(), db_now_s, &before, amount)),
            // An authorised caller's count failed: the request goes through uncounted.
            (Some(Plan::Count { .. }), None) if tenant.is_some() => {
                self.tally.count_failed(tenant);
                None
            }
            // Refused uncounted (a wrong secret): the batch it carried waits for the next count.
            (Some(Plan::Count { amount }), None) => {
                if let Some(hint) = hint {
                    self.tally.not_counted(hint, amount - 1);
                }
                None
            }
        };
        if let (Ok(principal), Subject::ApiKey(key)) = (&admitted, &credential.subject) {
            self.tally.key_authorised(key.prefix(), principal.tenant_id);
        }
        match (admitted, quota) {
            (Ok(_), Some(status)) if !status.taken => {
                request_quota::record(status.clone());
                tx.rollback().await?;
                Err(Error::QuotaExceeded(Box::new(status)))
            }
            (Ok(principal), quota) => {
                if let Some(status) = quota {
                    request_quota::record(status);
                }
                tx.audit = request_audit::Entry::for_request(principal.tenant_id, principal.actor).map(Box::new);
                if let (true, ActorId::ApiKey(id)) = (touch, principal.actor) {
                    api_keys::repository::touch(&tx, principal.tenant_id, id)
                        .await
                        .map_err(|e| e.into_error("record the API key's use"))?;
                }
                Ok((tx, principal))
            }
            (Err(refusal), _) => {
                tx.rollback().await?;
                Err(refusal)
            }
        }
    }

    /// A transaction with no tenant: row-level security shows no tenant rows at all.
    /// For the few steps that precede knowing the tenant (login by email).
    pub async fn begin_unscoped(&self) -> Result<Tx, Error> {
        self.start("BEGIN").await
    }

    async fn start(&self, sql: &str) -> Result<Tx, Error> {
        let mut attempts = 0;
        loop {
            let conn = self.connection().await?;
            match conn.batch_execute(sql).await.map_err(DbError::from) {
                Ok(()) => return Ok(Tx { conn: Some(conn), rollbacks: self.rollbacks.clone(), audit: None }),
                Err(e) if self.retire(conn, &e, &mut attempts) => continue,
                Err(e) => return Err(e.into_error("begin")),
            }
        }
    }

    /// Runs one statement outside any transaction block, in one round trip: PostgreSQL
    /// commits it on its own (an implicit transaction). For a statement that stands alone
    /// and scopes itself (a SECURITY DEFINER function), where BEGIN and COMMIT would be two
    /// more round trips. Not tried again on a lost connection: it may have run.
    pub(crate) async fn execute_alone(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        operation: &'static str,
    ) -> Result<u64, Error> {
        let conn = self.connection().await?;
        let run = async {
            let stmt = conn.prepare_cached(sql).await?;
            conn.execute(&stmt, params).await
        };
        match run.await {
            Ok(n) => Ok(n),
            Err(e) => {
                let e = DbError::from(e);
                // Outside a transaction block an error leaves the session clean, unless it was lost.
                if conn.is_closed() || e.is_connection_lost() {
                    drop(Object::take(conn));
                }
                Err(e.into_error(operation))
            }
        }
    }

    /// After the round trip that opens a unit of work failed with `e` on `conn`: drops the
    /// connection (its transaction may be open or aborted, so it is never pooled again) and
    /// says whether to try again on another.
    ///
    /// A pooled connection can die while idle (a failover, a restart, RDS Proxy recycling
    /// it) before the pool notices. When that first round trip finds its connection gone,
    /// nothing of the work has run, so it is tried again: at most once per pooled
    /// connection, after which a new one is made.
    fn retire(&self, conn: Object, e: &DbError, attempts: &mut usize) -> bool {
        let lost = conn.is_closed() || e.is_connection_lost();
        drop(Object::take(conn));
        *attempts += 1;
        lost && self.pool.as_ref().is_some_and(|pool| *attempts <= pool.status().max_size)
    }

    /// `SELECT 1` through the pool: is the database answering?
    pub async fn ping(&self) -> Result<(), Error> {
        let conn = self.connection().await?;
        conn.simple_query("SELECT 1").await.map_err(|e| DbError::from(e).into_error("ping"))?;
        Ok(())
    }
}

/// `set_config(.., true)` is transaction-local: a pooled connection (or RDS Proxy) never
/// carries one tenant into the next unit of work. The id is a typed UUID, so formatting it
/// into the statement is safe, and saves a round trip.
fn begin_for_tenant(tenant: TenantId) -> String {
    format!("BEGIN; SELECT set_config('app.tenant_id', '{}', true)", tenant.0)
}

/// What opening an authenticated unit of work read: the caller's authorisation, whether
/// to record an API key's use, and the database's second and the quota's window (when
/// the requests were counted).
type Reading = ((Result<Principal, Error>, bool), Option<(i64, Vec<i32>)>);

/// Opens the transaction and reads the caller (a user or an API key) in one round trip,
/// with a count of `amount` requests against its tenant's quota ahead of it, if any. A
/// count that fails lets the request through (logged): the quota protects the service,
/// it must not become a second way for it to fail.
async fn begin_reading(
    conn: &deadpool_postgres::ClientWrapper,
    credential: &Credential,
    amount: Option<i32>,
) -> Result<Reading, DbError> {
    let (authorised, counted) = match credential.subject {
        Subject::User { user_id, tenant_id, .. } => {
            let begin = begin_for_tenant(tenant_id);
            let ahead = amount.map(|amount| quota::repository::count_for_tenant(tenant_id, amount));
            let (caller, counted) =
                auth::repository::begin_reading_caller(conn, &begin, tenant_id, user_id, ahead).await?;
            ((authorise_user(caller, user_id, tenant_id), false), counted)
        }
        Subject::ApiKey(ref key) => {
            let ahead = amount.map(|amount| quota::repository::count_for_key(key.prefix(), key.secret_hash(), amount));
            let (stored, counted) = api_keys::repository::begin_reading_key(conn, key.prefix(), ahead).await?;
            (authorise_key(stored, key), counted)
        }
    };
    let window = match counted.map(|row| row.and_then(|row| quota::repository::window(&row))) {
        Some(Ok(window)) => window,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the tenant quota could not be counted; the request goes through");
            None
        }
        None => None,
    };
    Ok((authorised, window))
}

/// A statement of its own ahead of a unit of work, in its round trip: sent outside any
/// transaction block, PostgreSQL commits it on its own (an implicit transaction) before
/// the unit of work begins.
pub(crate) struct Ahead<'a> {
    pub sql: &'static str,
    pub params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send + 'a>>,
}

/// Sends `begin` (the batch that opens a transaction) and the prepared `sql` in one round
/// trip: tokio-postgres writes requests polled together back to back (pipelining), and
/// PostgreSQL runs them in order, so `sql` runs in the new transaction after its
/// `set_config`. With `ahead`, it goes first. Preparing costs a round trip once per
/// connection. `ahead`'s failure is its own: it neither stops nor aborts the rest.
pub(crate) async fn begin_and_query_opt(
    client: &deadpool_postgres::ClientWrapper,
    begin: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ahead: Option<Ahead<'_>>,
) -> Result<(Option<tokio_postgres::Row>, Option<Result<tokio_postgres::Row, DbError>>), DbError> {
    let stmt = client.prepare_cached(sql).await?;
    let Some(ahead) = ahead else {
        let (begun, row) = tokio::join!(client.batch_execute(begin), client.query_opt(&stmt, params));
        begun?;
        return Ok((row?, None));
    };
    let ahead_stmt = client.prepare_cached(ahead.sql).await?;
    let ahead_params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        ahead.params.iter().map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
    let (counted, begun, row) = tokio::join!(
        client.query_one(&ahead_stmt, &ahead_params),
        client.batch_execute(begin),
        client.query_opt(&stmt, params)
    );
    begun?;
    Ok((row?, Some(counted.map_err(DbError::from))))
}

/// A user that is gone or disabled is refused (401).
fn authorise_user(
    caller: Option<auth::repository::Caller>,
    user: UserId,
    tenant: TenantId,
) -> Result<Principal, Error> {
    match caller {
        None => Err(Error::Unauthorized("the user of this token no longer exists")),
        Some(c) if c.disabled => Err(Error::Unauthorized("this user is disabled")),
        Some(c) => Ok(Principal::new(ActorId::User(user), tenant, c.role)),
    }
}

/// An unknown key, a wrong secret, a revoked or an expired key is refused (401). The flag
/// says whether its last use is older than a minute and should be recorded.
fn authorise_key(
    stored: Option<api_keys::repository::StoredKey>,
    key: &PresentedKey,
) -> (Result<Principal, Error>, bool) {
    let refused = |why| (Err(Error::Unauthorized(why)), false);
    let Some(k) = stored.filter(|k| key.matches(&k.secret_hash)) else {
        return refused("the API key is not valid");
    };
    let now = chrono::Utc::now();
    if k.revoked_at.is_some() {
        return refused("this API key has been revoked");
    }
    if k.expires_at.is_some_and(|at| at <= now) {
        return refused("this API key has expired");
    }
    let stale = k.last_used_at.is_none_or(|at| now - at > chrono::TimeDelta::minutes(1));
    (Ok(Principal::new(ActorId::ApiKey(k.id), k.tenant_id, k.role)), stale)
}

/// What the server enforces on every runtime connection, sized for a function that times
/// out after 10 s: no statement runs past 5 s, no lock is waited for past 3 s (a row held
/// elsewhere costs a retryable 503, not the function's timeout), and a transaction left
/// open by a frozen or killed container is ended after 15 s, releasing its locks. Set as
/// connection options because a role's own settings (`ALTER ROLE crm_app SET ..`) do not
/// apply to a login role that is only a member of it (`APP_DATABASE_URL`).
const SESSION_BUDGETS: &str = "-c statement_timeout=5s -c lock_timeout=3s -c idle_in_transaction_session_timeout=15s";

/// How the app connects: as `APP_DATABASE_URL`, or as `DATABASE_URL` switched to the
/// runtime role for the whole session, before any query.
pub fn runtime_pg_config(config: &Config) -> Result<PgConfig, Error> {
    let (url, switch_role) = match (&config.app_database_url, &config.database_url) {
        (Some(url), _) => (url.as_str(), false),
        (None, Some(url)) => (url.as_str(), true),
        (None, None) => return Err(Error::Internal("neither APP_DATABASE_URL nor DATABASE_URL is set".into())),
    };
    let mut pg: PgConfig = url.parse().map_err(|e| Error::Internal(format!("database url: {e}")))?;
    let mut options = pg.get_options().unwrap_or_default().to_owned();
    if switch_role {
        // A superuser bypasses row-level security even when it is FORCEd.
        options.push_str(&format!(" -c role={RUNTIME_ROLE}"));
    }
    options.push(' ');
    options.push_str(SESSION_BUDGETS);
    pg.options(options.trim());
    pg.application_name("simplecrm");
    pg.connect_timeout(Duration::from_secs(5));
    Ok(pg)
}

/// A `LIKE` pattern matching `text` anywhere, case-insensitively (the column side is
/// lowered too); `%`, `_` and `\` in the text match themselves.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// One unit of work. Commit it explicitly; dropping it uncommitted rolls it back before its
/// connection returns to the pool, so a half-done transaction is never reused.
pub struct Tx {
    conn: Option<Object>,
    rollbacks: Arc<PendingRollbacks>,
    /// Written with the COMMIT: a unit of work opened for a write request records it.
    audit: Option<Box<request_audit::Entry>>,
}

impl Tx {
    pub(crate) fn client(&self) -> &deadpool_postgres::ClientWrapper {
        // `conn` is only None after commit, which consumes self.
        self.conn.as_deref().unwrap_or_else(|| unreachable!("transaction used after commit"))
    }

    /// The audit entry this unit of work writes as it commits, for the service to add what
    /// only it knows (the id of what it created, the fields it changed); none when it serves
    /// no write request.
    pub fn audit(&mut self) -> Option<&mut request_audit::Entry> {
        self.audit.as_deref_mut()
    }

    /// Records this unit of work, in a write request, as `actor`'s in `tenant` (and about
    /// `user`): for the routes that learn who the caller is only inside it (login, refresh
    /// and the mailed links). A unit of work opened by [`Db::begin_as`] needs none.
    pub fn record_as(&mut self, tenant: TenantId, actor: ActorId, user: UserId) {
        self.audit = request_audit::Entry::for_request(tenant, actor).map(|mut entry| {
            entry.target("user", user.0);
            Box::new(entry)
        });
    }

    /// Commits; with the audit entry, if any, inserted in the same round trip.
    pub async fn commit(mut self) -> Result<(), Error> {
        match self.audit.take() {
            None => self.finish("COMMIT", "commit").await,
            Some(entry) => {
                let params = audit::repository::InsertParams::of(*entry);
                self.query_opt_and_commit(audit::repository::INSERT, &params.all())
                    .await
                    .map(drop)
                    .map_err(|e| e.into_error("record the audit entry and commit"))
            }
        }
    }

    /// Ends a unit of work that wrote nothing worth keeping, keeping the connection pooled.
    pub async fn rollback(self) -> Result<(), Error> {
        self.finish("ROLLBACK", "rollback").await
    }

    /// Runs the unit of work's last statement and its COMMIT in one round trip
    /// (pipelined, as in [`begin_and_query_opt`]). A statement that fails aborts the
    /// transaction, so PostgreSQL answers the COMMIT behind it with a rollback, not an
    /// error, and the connection goes back to the pool clean; the statement's error is
    /// returned. A failed COMMIT closes the connection, as [`Tx::commit`] does.
    pub(crate) async fn query_opt_and_commit(
        mut self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, DbError> {
        let stmt = self.client().prepare_cached(sql).await?;
        let audit = self.audit.take().map(|entry| audit::repository::InsertParams::of(*entry));
        let audit_stmt = match &audit {
            Some(_) => Some(self.client().prepare_cached(audit::repository::INSERT).await?),
            None => None,
        };
        let Some(conn) = self.conn.take() else { unreachable!("transaction used after commit") };
        // The audit row after the write, before the COMMIT: a write that fails aborts the
        // transaction and the insert with it.
        let audited = async {
            match (&audit_stmt, &audit) {
                (Some(stmt), Some(params)) => conn.execute(stmt, &params.all()).await.map(|_| ()),
                _ => Ok(()),
            }
        };
        let (row, recorded, committed) =
            tokio::join!(conn.query_opt(&stmt, params), audited, conn.batch_execute("COMMIT"));
        match committed {
            Ok(()) => {
                let row = row?;
                recorded?;
                Ok(row)
            }
            Err(e) => {
                drop(Object::take(conn));
                Err(DbError::from(row.err().or(recorded.err()).unwrap_or(e)))
            }
        }
    }

    async fn finish(mut self, sql: &str, operation: &'static str) -> Result<(), Error> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        match conn.batch_execute(sql).await {
            Ok(()) => Ok(()),
            Err(e) => {
                drop(Object::take(conn));
                Err(DbError::from(e).into_error(operation))
            }
        }
    }
}

impl Drop for Tx {
    /// An error returned mid-transaction drops it here. The rollback runs in the
    /// background ([`Db::settle`] waits for it before the answer goes out) and only then
    /// does the connection go back to the pool; without a runtime, or if the rollback
    /// fails, the connection is closed instead (PostgreSQL rolls back itself). Either way
    /// no half-done transaction is ever reused.
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let running = self.rollbacks.start();
                runtime.spawn(async move {
                    let _running = running;
                    if conn.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(conn));
                    }
                });
            }
            Err(_) => drop(Object::take(conn)),
        }
    }
}

/// bench/ceiling/ copies the repositories' SQL (pgbench has no include): each benchmark
/// figure is only as honest as that copy. Fails when `file` no longer holds `sql`, spacing
/// aside, so a change to a query must be made in its ceiling too.
#[cfg(test)]
pub(crate) fn assert_ceiling_runs(file: &str, sql: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/ceiling").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squash(&text).contains(&squash(sql)), "{} no longer runs:\n{sql}", path.display());
}

/// `sql` with its `$n` parameters replaced by pgbench's values, the highest first (so `$1`
/// does not eat the start of `$10`).
#[cfg(test)]
pub(crate) fn as_pgbench(sql: &str, values: &[&str]) -> String {
    let mut sql = sql.to_owned();
    for (i, value) in values.iter().enumerate().rev() {
        sql = sql.replace(&format!("${}", i + 1), value);
    }
    sql
}

//! SQL for tickets, the timeline and the outbox.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, types::ToSql};
use uuid::Uuid;

use crate::{
    db::{
        DbError, Tx,
        actors::{actor, actor_sql},
        keyset::KeysetQuery,
        like_pattern,
    },
    ids::{CustomerId, EventId, TenantId, TicketId, UserId},
    model::{CustomerSummary, EventType, Priority, Ticket, TicketEvent, TicketSla, TicketStatus},
    pagination::PageRequest,
    security::ActorId,
};

/// A ticket with its customer's summary; `t` is the ticket row, `c` the customer.
const SELECT: &str = "SELECT t.id, t.title, t.description, t.status, t.priority, t.customer_id, t.assignee_id,
        t.created_at, t.updated_at, t.resolved_at, t.first_responded_at, t.comment_count, t.tags,
        t.first_response_due_at, t.resolution_due_at, t.first_response_breached_at, t.resolution_breached_at,
        c.name AS customer_name, c.email AS customer_email";
const JOIN_CUSTOMER: &str = "JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id";

pub struct NewTicket<'a> {
    pub id: TicketId,
    pub customer_id: CustomerId,
    pub title: &'a str,
    pub description: &'a str,
    pub priority: Priority,
    pub tags: &'a [String],
}

/// Absent fields stay as they are.
#[derive(Debug, Default)]
pub struct TicketPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub tags: Option<Vec<String>>,
}

/// The filters of GET /tickets; each present one narrows the keyset scan.
#[derive(Debug, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    pub q: Option<String>,
    /// Some(true): a breach was recorded on either clock; Some(false): none was.
    pub breached: Option<bool>,
    /// A clock whose outcome is still open is due before then.
    pub due_before: Option<DateTime<Utc>>,
    pub tag: Option<String>,
}

fn parse<T: std::str::FromStr>(row: &Row, column: &str) -> Result<T, DbError> {
    let text: &str = row.try_get(column)?;
    text.parse().map_err(|_| DbError::Corrupt(format!("{column} `{text}`")))
}

fn ticket(row: &Row) -> Result<Ticket, DbError> {
    let customer_id = CustomerId(row.try_get("customer_id")?);
    Ok(Ticket {
        id: TicketId(row.try_get("id")?),
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        status: parse(row, "status")?,
        priority: parse(row, "priority")?,
        customer_id,
        customer: CustomerSummary {
            id: customer_id,
            name: row.try_get("customer_name")?,
            email: row.try_get("customer_email")?,
        },
        assignee_id: row.try_get::<_, Option<Uuid>>("assignee_id")?.map(UserId),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        resolved_at: row.try_get("resolved_at")?,
        first_responded_at: row.try_get("first_responded_at")?,
        comment_count: row.try_get("comment_count")?,
        tags: row.try_get("tags")?,
        sla: TicketSla {
            first_response_due_at: row.try_get("first_response_due_at")?,
            resolution_due_at: row.try_get("resolution_due_at")?,
            first_response_breached_at: row.try_get("first_response_breached_at")?,
            resolution_breached_at: row.try_get("resolution_breached_at")?,
        },
    })
}

/// The timeline entry a change of a ticket writes with it; a published one (`outbox`)
/// goes into the outbox too, under the same id.
pub struct NewEvent<'a> {
    pub id: EventId,
    pub actor: ActorId,
    pub kind: EventType,
    pub data: &'a serde_json::Value,
    pub outbox: Option<Outboxed<'a>>,
}

pub struct Outboxed<'a> {
    pub event_type: &'a str,
    pub payload: &'a serde_json::Value,
}

/// A data-changing statement on `tickets` (its parameters numbered from $1, `given` of
/// them) with the timeline entry and outbox row of the change, answering the changed row
/// with its customer: one statement, one round trip. Nothing is recorded when no row
/// changed. The foreign keys of the entry are checked at the end of the statement, when
/// the ticket row is there.
fn write_recording(write: &str, given: usize) -> String {
    let [id, user, key, kind, data, event_type, payload] = std::array::from_fn(|i| format!("${}", given + i + 1));
    format!(
        "WITH t AS ({write} RETURNING *),
         e AS (INSERT INTO ticket_events (tenant_id, id, ticket_id, actor_id, actor_api_key_id, type, data)
               SELECT t.tenant_id, {id}::uuid, t.id, {user}::uuid, {key}::uuid, {kind}::text, {data}::jsonb FROM t
               RETURNING tenant_id, id, ticket_id),
         o AS (INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
               SELECT e.tenant_id, e.id, {event_type}::text, e.ticket_id, {payload}::jsonb FROM e
               WHERE {event_type}::text IS NOT NULL)
         {SELECT} FROM t {JOIN_CUSTOMER}"
    )
}

/// The values of [`write_recording`]'s event parameters.
struct EventParams<'a> {
    id: Uuid,
    user: Option<Uuid>,
    key: Option<Uuid>,
    kind: &'static str,
    data: &'a serde_json::Value,
    event_type: Option<&'a str>,
    payload: Option<&'a serde_json::Value>,
}

impl<'a> EventParams<'a> {
    fn of(event: &NewEvent<'a>) -> Self {
        let (user, key) = event.actor.columns();
        Self {
            id: event.id.0,
            user,
            key,
            kind: event.kind.as_str(),
            data: event.data,
            event_type: event.outbox.as_ref().map(|o| o.event_type),
            payload: event.outbox.as_ref().map(|o| o.payload),
        }
    }

    fn after<'p>(&'p self, given: &[&'p (dyn ToSql + Sync)]) -> Vec<&'p (dyn ToSql + Sync)> {
        let mut all = given.to_vec();
        all.extend_from_slice(&[
            &self.id,
            &self.user,
            &self.key,
            &self.kind,
            self.data,
            &self.event_type,
            &self.payload,
        ]);
        all
    }
}

async fn write_returning(
    tx: &Tx,
    write: &str,
    params: &[&(dyn ToSql + Sync)],
    event: &NewEvent<'_>,
) -> Result<Option<Ticket>, DbError> {
    let sql = write_recording(write, params.len());
    let stmt = tx.client().prepare_cached(&sql).await?;
    let event = EventParams::of(event);
    tx.client().query_opt(&stmt, &event.after(params)).await?.as_ref().map(ticket).transpose()
}

const INSERT: &str = "INSERT INTO tickets (tenant_id, id, customer_id, title, description, priority, tags)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(super) async fn insert(
    tx: &Tx,
    tenant: TenantId,
    new: &NewTicket<'_>,
    event: &NewEvent<'_>,
) -> Result<Option<Ticket>, DbError> {
    let priority = new.priority.as_str();
    write_returning(
        tx,
        INSERT,
        &[&tenant.0, &new.id.0, &new.customer_id.0, &new.title, &new.description, &priority, &new.tags],
        event,
    )
    .await
}

/// [`insert`] and the COMMIT of the unit of work in one round trip.
pub(super) async fn insert_and_commit(
    tx: Tx,
    tenant: TenantId,
    new: &NewTicket<'_>,
    event: &NewEvent<'_>,
) -> Result<Option<Ticket>, DbError> {
    let priority = new.priority.as_str();
    let given: [&(dyn ToSql + Sync); 7] =
        [&tenant.0, &new.id.0, &new.customer_id.0, &new.title, &new.description, &priority, &new.tags];
    let event = EventParams::of(event);
    tx.query_opt_and_commit(&write_recording(INSERT, given.len()), &event.after(&given))
        .await?
        .as_ref()
        .map(ticket)
        .transpose()
}

pub(super) async fn get(tx: &Tx, tenant: TenantId, id: TicketId) -> Result<Option<Ticket>, DbError> {
    let sql = format!("{SELECT} FROM tickets t {JOIN_CUSTOMER} WHERE t.tenant_id = $1 AND t.id = $2");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(ticket).transpose()
}

/// Locks the ticket row for a change: concurrent changes apply one after the other, and
/// each timeline entry's `before` is what the change really replaced.
pub(super) async fn lock(tx: &Tx, tenant: TenantId, id: TicketId) -> Result<Option<Ticket>, DbError> {
    let sql = format!("{SELECT} FROM tickets t {JOIN_CUSTOMER} WHERE t.tenant_id = $1 AND t.id = $2 FOR UPDATE OF t");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(ticket).transpose()
}

pub(super) async fn update(
    tx: &Tx,
    tenant: TenantId,
    id: TicketId,
    patch: &TicketPatch,
    event: &NewEvent<'_>,
) -> Result<Option<Ticket>, DbError> {
    let priority = patch.priority.map(Priority::as_str);
    write_returning(
        tx,
        "UPDATE tickets SET title = coalesce($3, title), description = coalesce($4, description),
             priority = coalesce($5, priority), tags = coalesce($6, tags), updated_at = now()
         WHERE tenant_id = $1 AND id = $2",
        &[&tenant.0, &id.0, &patch.title, &patch.description, &priority, &patch.tags],
        event,
    )
    .await
}

/// `resolved_at` is stamped on entering RESOLVED and cleared on leaving it.
pub(super) async fn set_status(
    tx: &Tx,
    tenant: TenantId,
    id: TicketId,
    status: TicketStatus,
    event: &NewEvent<'_>,
) -> Result<Option<Ticket>, DbError> {
    write_returning(
        tx,
        "UPDATE tickets SET status = $3, updated_at = now(),
             resolved_at = CASE WHEN $3 = 'RESOLVED' THEN coalesce(resolved_at, now()) END
         WHERE tenant_id = $1 AND id = $2",
        &[&tenant.0, &id.0, &status.as_str()],
        event,
    )
    .await
}

pub(super) async fn set_assignee(
    tx: &Tx,
    tenant: TenantId,
    id: TicketId,
    assignee: Option<UserId>,
    event: &NewEvent<'_>,
) -> Result<Option<Ticket>, DbError> {
    let assignee = assignee.map(|a| a.0);
    write_returning(
        tx,
        "UPDATE tickets SET assignee_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        &[&tenant.0, &id.0, &assignee],
        event,
    )
    .await
}

/// Newest first. The SQL names only the filters given, so each combination is planned as
/// a keyset scan of the index that leads with its filter (`tickets_*_idx`). A search (`q`)
/// goes through [`search`].
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    filter: &TicketFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Ticket>, DbError> {
    let status = filter.status.map(TicketStatus::as_str);
    let priority = filter.priority.map(Priority::as_str);
    let assignee = filter.assignee_id.map(|a| a.0);
    let customer = filter.customer_id.map(|c| c.0);
    if let Some(q) = filter.q.as_deref() {
        let filters = SearchFilters { status, priority, assignee, customer };
        return search(tx, tenant, &like_pattern(q), &filters, after, limit).await;
    }
    let (query, id_column) = list_query(&tenant, filter, &status, &priority, &assignee, &customer);
    let rows = query.fetch(tx, id_column, &after, &limit).await?;
    rows.iter().map(ticket).collect()
}

/// The keyset query of a list without `q`, and its id column. A tag filter walks that
/// tag's index entries newest first (`ticket_tags`, V16).
fn list_query<'a>(
    tenant: &'a TenantId,
    filter: &'a TicketFilter,
    status: &'a Option<&'static str>,
    priority: &'a Option<&'static str>,
    assignee: &'a Option<Uuid>,
    customer: &'a Option<Uuid>,
) -> (KeysetQuery<'a>, &'static str) {
    let (from, tenant_column, id_column) = match filter.tag {
        Some(_) => (
            format!(
                "{SELECT} FROM ticket_tags g JOIN tickets t ON t.tenant_id = g.tenant_id AND t.id = g.ticket_id {JOIN_CUSTOMER}"
            ),
            "g.tenant_id",
            "g.ticket_id",
        ),
        None => (format!("{SELECT} FROM tickets t {JOIN_CUSTOMER}"), "t.tenant_id", "t.id"),
    };
    let breached = "(t.first_response_breached_at IS NOT NULL OR t.resolution_breached_at IS NOT NULL)";
    let query = KeysetQuery::new(from, tenant_column, &tenant.0)
        .and("g.tag =", &filter.tag)
        .and("t.status =", status)
        .and("t.priority =", priority)
        .and("t.assignee_id =", assignee)
        .and("t.customer_id =", customer)
        .and("t.sla_watch_at <", &filter.due_before)
        .and_if(filter.breached == Some(true), breached)
        .and_if(filter.breached == Some(false), &format!("NOT {breached}"));
    (query, id_column)
}

/// The other filters of a search, as bound; `None` is not filtered.
struct SearchFilters<'a> {
    status: Option<&'a str>,
    priority: Option<&'a str>,
    assignee: Option<Uuid>,
    customer: Option<Uuid>,
}

/// A search: `lower(title || ' ' || description) LIKE pattern` with the other filters,
/// newest first after the cursor. `ticket_search` (migration V5) picks the matching ids,
/// through the trigram index that row-level security keeps from this role's own queries,
/// and only for the tenant of this transaction; the tickets themselves are read here
/// under row-level security as every other list is. V5's comment calls every step
/// bounded; only its walks are (at most 16,000 rows). The index search after them gathers
/// and rechecks every older match, about 4 µs each, so the cost grows with the tenant: on
/// a million tickets a term on 270,000 tickets older than the newest 100,000 and on none
/// newer took 0.6 to 2 s, and a two-letter term found nowhere (no trigram to narrow by)
/// 3.4 s, against the 5 s statement_timeout. Walking on instead costs about 3 µs a row up
/// to the page, and neither distance is known in advance: alternating the two in doubling
/// turns halved the first case but doubled those where the page lies further than the
/// matches are many, so V5 stands. (A landed migration is not edited: refinery refuses
/// one whose checksum changed.)
async fn search(
    tx: &Tx,
    tenant: TenantId,
    pattern: &str,
    filters: &SearchFilters<'_>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Ticket>, DbError> {
    let sql = format!(
        "{SELECT} FROM tickets t {JOIN_CUSTOMER}
         WHERE t.tenant_id = $1
           AND t.id IN (SELECT s.id FROM ticket_search($1, $2, $3, $4, $5, $6, $7, $8) AS s (id))
         ORDER BY t.id DESC LIMIT $8"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let rows = tx
        .client()
        .query(
            &stmt,
            &[
                &tenant.0,
                &pattern,
                &filters.status,
                &filters.priority,
                &filters.assignee,
                &filters.customer,
                &after,
                &limit,
            ],
        )
        .await?;
    rows.iter().map(ticket).collect()
}

/// Oldest first, after `page.after`, one row more than the page (the page knows then
/// whether another follows).
pub(super) async fn list_events(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Vec<TicketEvent>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let (actor, joins) = actor_sql("e", "actor_id", "actor_api_key_id");
        format!(
            "SELECT e.id, e.ticket_id, e.type, e.data, e.created_at, {actor}
             FROM ticket_events e {joins}
             WHERE e.tenant_id = $1 AND e.ticket_id = $2 AND ($3::uuid IS NULL OR e.id > $3)
             ORDER BY e.id
             LIMIT $4"
        )
    });
    let stmt = tx.client().prepare_cached(&SQL).await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &ticket.0, &page.after, &page.fetch_limit()]).await?;
    rows.iter()
        .map(|row| {
            Ok(TicketEvent {
                id: EventId(row.try_get("id")?),
                ticket_id: TicketId(row.try_get("ticket_id")?),
                kind: parse(row, "type")?,
                actor: actor(row)?,
                data: row.try_get("data")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{INSERT, JOIN_CUSTOMER, SELECT, TicketFilter, list_query, write_recording};
    use crate::{
        config::Config,
        db::{Db, as_pgbench, assert_ceiling_runs, testing::TestDb},
        ids::TenantId,
    };

    /// Row-level security keeps an operator that is not leakproof (a trigram LIKE, an
    /// array `@>`) out of an index scan for the runtime role. The tag, breach and due-date
    /// filters are plain equalities and null tests, so each must walk its index as
    /// `crm_app` on a tenant large enough that a sequential scan would be the cheap plan
    /// otherwise.
    #[tokio::test]
    async fn the_tag_and_service_level_filters_walk_their_indexes_as_the_runtime_role() {
        let db = TestDb::create().await;
        let owner = db.connect().await;
        let (tenant, customer) = (Uuid::now_v7(), Uuid::now_v7());
        owner
            .batch_execute(&format!(
                "INSERT INTO tenants (id, name) VALUES ('{tenant}', 'Big');
                 INSERT INTO customers (tenant_id, id, name, email) VALUES ('{tenant}', '{customer}', 'C', 'c@c.test');
                 -- In bulk, as bench/load.sql loads: the triggers' work is done once after.
                 ALTER TABLE tickets DISABLE TRIGGER USER;
                 INSERT INTO tickets (tenant_id, id, customer_id, title, description, tags, first_response_breached_at)
                 SELECT '{tenant}', gen_random_uuid(), '{customer}', 'T', '',
                        CASE WHEN n % 500 = 0 THEN ARRAY['rare'] ELSE ARRAY['common', 'tag' || n % 7] END,
                        CASE WHEN n % 500 = 1 THEN now() END
                 FROM generate_series(1, 30000) n;
                 ALTER TABLE tickets ENABLE TRIGGER USER;
                 INSERT INTO ticket_tags (tenant_id, tag, ticket_id) SELECT tenant_id, unnest(tags), id FROM tickets;
                 UPDATE tickets SET first_response_due_at = now() + interval '1 hour'
                 WHERE tenant_id = '{tenant}' AND id IN (SELECT id FROM tickets ORDER BY id LIMIT 60);
                 ANALYZE;"
            ))
            .await
            .unwrap();
        let url = db.url.clone();
        let config = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
        let app = Db::new(&config, 1).unwrap();
        let tx = app.begin_for(TenantId(tenant)).await.unwrap();
        let filters = [
            (TicketFilter { tag: Some("rare".into()), ..TicketFilter::default() }, "ticket_tags_pkey"),
            (TicketFilter { breached: Some(true), ..TicketFilter::default() }, "tickets_breached_idx"),
            (
                TicketFilter {
                    due_before: Some(chrono::Utc::now() + chrono::Duration::hours(2)),
                    ..TicketFilter::default()
                },
                "sla_watch_at < ",
            ),
        ];
        let role: String = tx.client().query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
        assert_eq!(role, "crm_app");
        let (tenant, none, no_id): (TenantId, Option<&'static str>, Option<Uuid>) = (TenantId(tenant), None, None);
        for (filter, index) in filters {
            let (query, id_column) = list_query(&tenant, &filter, &none, &none, &no_id, &no_id);
            let plan = query.explain(&tx, id_column, &None, &21).await.unwrap();
            let walked = plan
                .lines()
                .any(|line| (line.contains(" Scan ") || line.contains("Index Cond")) && line.contains(index));
            assert!(walked, "{filter:?} should walk {index}:\n{plan}");
            assert!(!plan.contains("Seq Scan on tickets"), "{filter:?}:\n{plan}");
        }
    }

    #[test]
    fn the_create_ceiling_writes_as_create_does() {
        // pgbench's values for $1..$14, as insert's and EventParams' order gives them.
        let values = [
            ":tenant",
            "bench_uuid7()",
            ":customer",
            "'Printer on fire'",
            "'Smoke from tray 2 since this morning'",
            "'HIGH'",
            "'{}'",
            "bench_uuid7()",
            ":actor",
            "NULL",
            "'created'",
            ":event_data",
            "'ticket.created'",
            ":event_payload",
        ];
        let mut sql = write_recording(INSERT, 7);
        for (i, value) in values.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", i + 1), value);
        }
        assert_ceiling_runs("create.sql", &sql);
    }

    #[test]
    fn the_benchmark_ceilings_filter_by_tag_and_breach_as_list_does() {
        let tenant = TenantId(Uuid::nil());
        let (none, no_id): (Option<&'static str>, Option<Uuid>) = (None, None);
        let cases = [
            (TicketFilter { tag: Some("escalated".into()), ..TicketFilter::default() }, "list-tag.sql", "'escalated'"),
            (TicketFilter { breached: Some(true), ..TicketFilter::default() }, "list-breached.sql", "21"),
        ];
        for (filter, file, second) in cases {
            let (query, id_column) = list_query(&tenant, &filter, &none, &none, &no_id, &no_id);
            let sql = query.paged_sql(id_column, &None, &21);
            assert_ceiling_runs(file, &as_pgbench(&sql, &[":tenant", second, "21"]));
        }
    }

    #[test]
    fn the_benchmark_ceilings_read_tickets_as_list_and_get_do() {
        let read = format!("{SELECT} FROM tickets t {JOIN_CUSTOMER} WHERE t.tenant_id = :tenant");
        for file in ["list.sql", "list-deep.sql", "list-status.sql", "get.sql"] {
            assert_ceiling_runs(file, &read);
        }
    }
}

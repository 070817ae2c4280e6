//! SQL for comments.

use std::sync::LazyLock;

use tokio_postgres::Row;

use crate::{
    db::{
        DbError, Tx,
        actors::{actor, actor_sql},
    },
    events::OutboxEvent,
    ids::{CommentId, TenantId, TicketId},
    model::Comment,
    pagination::PageRequest,
    security::ActorId,
};

pub struct NewComment<'a> {
    pub id: CommentId,
    pub ticket: TicketId,
    pub author: ActorId,
    pub body: &'a str,
    pub public: bool,
}

fn comment(row: &Row) -> Result<Comment, DbError> {
    Ok(Comment {
        id: CommentId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        author: actor(row)?,
        body: row.try_get("body")?,
        public: row.try_get("public")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The comment, its count on the ticket (with `first_responded_at` on a user's first
/// public one) and its outbox row, in one statement; nothing when the ticket is not this
/// tenant's. Concurrent comments on one ticket queue on the ticket's row, so the count is
/// exact.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let (actor, joins) = actor_sql("c", "author_id", "author_api_key_id");
    format!(
        "WITH t AS (UPDATE tickets SET comment_count = comment_count + 1, updated_at = now(),
                        first_responded_at = CASE WHEN $7::boolean AND $4::uuid IS NOT NULL
                                                  THEN coalesce(first_responded_at, now())
                                                  ELSE first_responded_at END
                    WHERE tenant_id = $1 AND id = $2
                    RETURNING tenant_id, id),
              c AS (INSERT INTO comments (tenant_id, id, ticket_id, author_id, author_api_key_id, body, public)
                    SELECT t.tenant_id, $3::uuid, t.id, $4::uuid, $5::uuid, $6::text, $7::boolean FROM t
                    RETURNING *),
              o AS (INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
                    SELECT c.tenant_id, $8::uuid, $9::text, c.ticket_id, $10::jsonb FROM c)
         SELECT c.id, c.ticket_id, c.body, c.public, c.created_at, {actor} FROM c {joins}"
    )
});

/// [`INSERT`] and the COMMIT of the unit of work in one round trip.
pub(super) async fn insert_and_commit(
    tx: Tx,
    tenant: TenantId,
    new: &NewComment<'_>,
    event: &OutboxEvent,
) -> Result<Option<Comment>, DbError> {
    let (user, key) = new.author.columns();
    tx.query_opt_and_commit(
        &INSERT,
        &[
            &tenant.0,
            &new.ticket.0,
            &new.id.0,
            &user,
            &key,
            &new.body,
            &new.public,
            &event.id.0,
            &event.event_type,
            &event.payload,
        ],
    )
    .await?
    .as_ref()
    .map(comment)
    .transpose()
}

static LIST: LazyLock<String> = LazyLock::new(|| {
    let (actor, joins) = actor_sql("c", "author_id", "author_api_key_id");
    format!(
        "SELECT c.id, c.ticket_id, c.body, c.public, c.created_at, {actor}
         FROM comments c {joins}
         WHERE c.tenant_id = $1 AND c.ticket_id = $2 AND ($3::uuid IS NULL OR c.id > $3)
         ORDER BY c.id
         LIMIT $4"
    )
});

/// Oldest first, after `page.after`, one row more than the page.
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Vec<Comment>, DbError> {
    let stmt = tx.client().prepare_cached(&LIST).await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &ticket.0, &page.after, &page.fetch_limit()]).await?;
    rows.iter().map(comment).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{as_pgbench, assert_ceiling_runs};

    #[test]
    fn the_benchmark_ceilings_comment_and_read_as_the_app_does() {
        let insert = [
            ":tenant",
            ":ticket0",
            "bench_uuid7()",
            ":actor",
            "NULL",
            "'We are on it.'",
            "true",
            "bench_uuid7()",
            "'comment.created'",
            ":comment_payload",
        ];
        assert_ceiling_runs("comment.sql", &as_pgbench(&INSERT, &insert));
        let list = as_pgbench(&LIST, &[":tenant", ":ticket0", "NULL", "21"]);
        assert_ceiling_runs("comments.sql", &list);
    }
}

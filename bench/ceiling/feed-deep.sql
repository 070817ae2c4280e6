-- GET /events 90% into the big tenant's 1M events (limit 100): as feed.sql,
-- after the position the harness finds (pgbench variables feed_txid, feed_position).
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
SELECT txid::text AS tx, position, id, event_type, ticket_id, payload
     FROM outbox
     WHERE tenant_id = :tenant
       AND (txid, position) > (:feed_txid::text::xid8, :feed_position::bigint)
       AND txid < pg_snapshot_xmin(pg_current_snapshot())
       AND (NULL::text[]::text[] IS NULL OR event_type = ANY (NULL::text[]))
     ORDER BY txid, position
     LIMIT 101;
COMMIT;

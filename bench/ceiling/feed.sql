-- GET /events, first page (limit 100): the caller read with BEGIN, then
-- feed/repository.rs `page` from the start, then COMMIT.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
SELECT txid::text AS tx, position, id, event_type, ticket_id, payload
     FROM outbox
     WHERE tenant_id = :tenant
       AND (txid, position) > ('0'::text::xid8, 0::bigint)
       AND txid < pg_snapshot_xmin(pg_current_snapshot())
       AND (NULL::text[]::text[] IS NULL OR event_type = ANY (NULL::text[]))
     ORDER BY txid, position
     LIMIT 101;
COMMIT;

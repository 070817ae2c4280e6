-- POST /tickets/{id}/comments, as service/comments.rs `create` runs it: the caller read
-- with BEGIN (one round trip), then comments/repository.rs `insert_and_commit`: the
-- comment, the ticket's count and the outbox row in one statement, then the request's
-- audit row, pipelined with the COMMIT (the second round trip). The event's JSON comes from the harness
-- (-D comment_payload).
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
\startpipeline
WITH t AS (UPDATE tickets SET comment_count = comment_count + 1, updated_at = now(),
                first_responded_at = CASE WHEN true::boolean AND :actor::uuid IS NOT NULL
                                          THEN coalesce(first_responded_at, now())
                                          ELSE first_responded_at END
            WHERE tenant_id = :tenant AND id = :ticket0
            RETURNING tenant_id, id),
      c AS (INSERT INTO comments (tenant_id, id, ticket_id, author_id, author_api_key_id, body, public)
            SELECT t.tenant_id, bench_uuid7()::uuid, t.id, :actor::uuid, NULL::uuid, 'We are on it.'::text, true::boolean FROM t
            RETURNING *),
      o AS (INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
            SELECT c.tenant_id, bench_uuid7()::uuid, 'comment.created'::text, c.ticket_id, :comment_payload::jsonb FROM c)
 SELECT c.id, c.ticket_id, c.body, c.public, c.created_at, c.author_api_key_id AS actor_api_key_id, coalesce(c.author_id, c.author_api_key_id) AS actor_id,
         coalesce(u.name, k.name) AS actor_name, u.email AS actor_email FROM c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id
         LEFT JOIN api_keys k ON k.tenant_id = c.tenant_id AND k.id = c.author_api_key_id;
INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, target_type, target_id, changes, request_id, source_ip)
    SELECT :tenant::uuid, 'user'::text, :actor::uuid, 'comments-create'::text, 'ticket'::text, :ticket0::uuid, '{}'::jsonb,
           'bench-request-id'::text, '127.0.0.1'::text
    WHERE pg_current_xact_id_if_assigned() IS NOT NULL;
COMMIT;
\endpipeline

-- POST /tickets without an idempotency key, as service/tickets.rs `create` runs it: the
-- caller read with BEGIN (one round trip), then tickets/repository.rs `insert_and_commit`:
-- the ticket, its timeline entry and its outbox row in one statement (`write_recording`)
-- and the request's audit row, pipelined with the COMMIT (the second round trip). The JSON the app serialises comes
-- from the harness (-D event_data, -D event_payload).
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
\startpipeline
WITH t AS (INSERT INTO tickets (tenant_id, id, customer_id, title, description, priority, tags)
     VALUES (:tenant, bench_uuid7(), :customer, 'Printer on fire', 'Smoke from tray 2 since this morning', 'HIGH', '{}')
           RETURNING *),
     e AS (INSERT INTO ticket_events (tenant_id, id, ticket_id, actor_id, actor_api_key_id, type, data)
           SELECT t.tenant_id, bench_uuid7()::uuid, t.id, :actor::uuid, NULL::uuid, 'created'::text, :event_data::jsonb FROM t
           RETURNING tenant_id, id, ticket_id),
     o AS (INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
           SELECT e.tenant_id, e.id, 'ticket.created'::text, e.ticket_id, :event_payload::jsonb FROM e
           WHERE 'ticket.created'::text IS NOT NULL)
SELECT t.id, t.title, t.description, t.status, t.priority, t.customer_id, t.assignee_id,
        t.created_at, t.updated_at, t.resolved_at, t.first_responded_at, t.comment_count, t.tags,
        t.first_response_due_at, t.resolution_due_at, t.first_response_breached_at, t.resolution_breached_at,
        c.name AS customer_name, c.email AS customer_email
    FROM t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id;
INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, target_type, target_id, changes, request_id, source_ip)
    SELECT :tenant::uuid, 'user'::text, :actor::uuid, 'tickets-create'::text, 'ticket'::text, bench_uuid7()::uuid, '{}'::jsonb,
           'bench-request-id'::text, '127.0.0.1'::text
    WHERE pg_current_xact_id_if_assigned() IS NOT NULL;
COMMIT;
\endpipeline

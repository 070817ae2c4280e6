-- POST /tickets: tickets/repository.rs `insert` (write_returning), `insert_event` and
-- `insert_outbox`, as service/tickets.rs `create` runs them without an idempotency key.
-- The JSON the app serialises comes from the harness (-D event_data, -D event_payload).
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
WITH t AS (INSERT INTO tickets (tenant_id, id, customer_id, title, description, priority)
           VALUES (:tenant, bench_uuid7(), :customer, 'Printer on fire', 'Smoke from tray 2 since this morning', 'HIGH') RETURNING *)
    SELECT t.id, t.title, t.description, t.status, t.priority, t.customer_id, t.assignee_id,
           t.created_at, t.updated_at, t.resolved_at, c.name AS customer_name, c.email AS customer_email
    FROM t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id \gset
INSERT INTO ticket_events (tenant_id, id, ticket_id, actor_id, type, data)
    VALUES (:tenant, bench_uuid7(), :id, :actor, 'created', :event_data)
    RETURNING id AS event \gset
INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
    VALUES (:tenant, :event, 'ticket.created', :id,
            :event_payload);
COMMIT;

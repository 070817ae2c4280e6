-- One ticket event consumed: service/pipeline.rs `consume_body` with
-- notifications/repository.rs `record`.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
\endpipeline
INSERT INTO notifications (tenant_id, id, event_id, ticket_id, event_type, message)
    VALUES (:tenant, bench_uuid7(), bench_uuid7(), :ticket0, 'ticket.status_changed', 'Ticket "Bench" moved from OPEN to IN_PROGRESS')
    ON CONFLICT (event_id) DO NOTHING;
COMMIT;

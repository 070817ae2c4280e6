-- GET /tickets?breached=true (first page): tickets/repository.rs `list_query`, through the
-- partial index of breached tickets.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
SELECT t.id, t.title, t.description, t.status, t.priority, t.customer_id, t.assignee_id,
        t.created_at, t.updated_at, t.resolved_at, t.first_responded_at, t.comment_count, t.tags,
        t.first_response_due_at, t.resolution_due_at, t.first_response_breached_at, t.resolution_breached_at,
        c.name AS customer_name, c.email AS customer_email
    FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
    WHERE t.tenant_id = :tenant AND (t.first_response_breached_at IS NOT NULL OR t.resolution_breached_at IS NOT NULL)
    ORDER BY t.id DESC LIMIT 21;
COMMIT;

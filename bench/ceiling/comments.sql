-- GET /tickets/{id}/comments, first page: the caller read with BEGIN, then (pipelined, as
-- service/comments.rs `list` joins them) tickets/repository.rs `get` and
-- comments/repository.rs `list`, then COMMIT.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
\startpipeline
SELECT t.id, t.title, t.description, t.status, t.priority, t.customer_id, t.assignee_id,
        t.created_at, t.updated_at, t.resolved_at, t.first_responded_at, t.comment_count, t.tags,
        t.first_response_due_at, t.resolution_due_at, t.first_response_breached_at, t.resolution_breached_at,
        c.name AS customer_name, c.email AS customer_email
    FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
    WHERE t.tenant_id = :tenant AND t.id = :ticket0;
SELECT c.id, c.ticket_id, c.body, c.public, c.created_at, c.author_api_key_id AS actor_api_key_id, coalesce(c.author_id, c.author_api_key_id) AS actor_id,
         coalesce(u.name, k.name) AS actor_name, u.email AS actor_email
     FROM comments c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id
         LEFT JOIN api_keys k ON k.tenant_id = c.tenant_id AND k.id = c.author_api_key_id
     WHERE c.tenant_id = :tenant AND c.ticket_id = :ticket0 AND (NULL::uuid IS NULL OR c.id > NULL)
     ORDER BY c.id
     LIMIT 21;
\endpipeline
COMMIT;

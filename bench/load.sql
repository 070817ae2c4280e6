-- The benchmark data set, loaded through SQL as the owner in seconds, not through the API:
-- :tenants tenants; the first ("Big") has :big_tickets tickets and :big_customers
-- customers, every other one :small_tickets tickets and 20 customers. Each tenant has an
-- admin (admin@t<n>.bench.test) and 20 agents, all with the password `bench-password-2026`.
-- Ids are time-ordered like the app's UUIDv7, so `ORDER BY id DESC` is newest first.
--   psql -v tenants=100 -v big_tickets=1000000 -v big_customers=50000 -v small_tickets=100 -f bench/load.sql <db>
\set ON_ERROR_STOP on
CREATE FUNCTION pg_temp.time_uuid(ts timestamptz) RETURNS uuid LANGUAGE sql AS $$
    SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' ||
            substr(md5(random()::text || clock_timestamp()::text), 1, 19))::uuid
$$;
-- Tenant n's id: 00000000-0000-7000-8000-<n as 12 hex digits>.
CREATE FUNCTION pg_temp.tenant(n int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid
$$;

-- The counters are computed once at the end instead of one trigger update per row.
ALTER TABLE tickets DISABLE TRIGGER USER;
-- The tickets' secondary indexes (the search's trigram index above all) are built once
-- after the load instead of row by row: their definitions are kept, not repeated here.
SET maintenance_work_mem = '512MB';
SELECT string_agg(format('DROP INDEX %s;', indexrelid::regclass), ' ') AS drop_ticket_indexes,
       string_agg(pg_get_indexdef(indexrelid) || ';', ' ') AS create_ticket_indexes
FROM pg_index WHERE indrelid = 'tickets'::regclass AND NOT indisunique \gset
:drop_ticket_indexes
ALTER TABLE customers DISABLE TRIGGER USER;

INSERT INTO tenants (id, name, created_at)
SELECT pg_temp.tenant(n), CASE n WHEN 1 THEN 'Big' ELSE 'Small ' || n END, now() - interval '400 days'
FROM generate_series(1, :tenants) n;

-- argon2id with the app's default parameters (m=19456, t=2, p=1).
INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at)
SELECT pg_temp.tenant(n), pg_temp.time_uuid(now() - interval '400 days' + a * interval '1 second'),
       CASE a WHEN 0 THEN 'admin' ELSE 'agent' || a END || '@t' || n || '.bench.test',
       CASE a WHEN 0 THEN 'Admin' ELSE 'Agent ' || a END, CASE a WHEN 0 THEN 'admin' ELSE 'agent' END,
       '$argon2id$v=19$m=19456,t=2,p=1$dns9UeEu22QCIHukYRYozw$GJswA8T2GMiGP59sa5bIu3o1N99gyuQA80gMzjhOkZc',
       now() - interval '400 days'
FROM generate_series(1, :tenants) n, generate_series(0, 20) a;

INSERT INTO customers (tenant_id, id, name, email, company, created_at, updated_at)
SELECT pg_temp.tenant(n), pg_temp.time_uuid(ts), 'Customer ' || c, 'customer' || c || '@t' || n || '.bench.test',
       'Company ' || (c % 500), ts, ts
FROM generate_series(1, :tenants) n,
     LATERAL generate_series(1, CASE n WHEN 1 THEN :big_customers ELSE 20 END) c,
     LATERAL (SELECT now() - interval '390 days' + c * interval '1 second' AS ts) t;

-- Titles and descriptions mix common words (a fifth of the tickets say "printer") with
-- rare ones (one ticket in 100,000 says "kerberos"), for the search figures.
WITH refs AS (
    SELECT tenant_id,
           array_agg(id ORDER BY id) FILTER (WHERE kind = 'customer') AS cs,
           array_agg(id ORDER BY id) FILTER (WHERE kind = 'agent') AS agents
    FROM (SELECT tenant_id, id, 'customer' AS kind FROM customers
          UNION ALL SELECT tenant_id, id, 'agent' FROM users WHERE role = 'agent') r
    GROUP BY tenant_id
)
-- Tags: one of five topics each, and one ticket in 100 also "escalated" (the ?tag= figure).
-- Service levels: one ticket in 50 breached its first-response target an hour in (the
-- ?breached=true figure).
INSERT INTO tickets (tenant_id, id, customer_id, assignee_id, title, description, status, priority, created_at, updated_at, resolved_at,
                     tags, first_response_due_at, first_response_breached_at)
SELECT refs.tenant_id, pg_temp.time_uuid(ts), refs.cs[1 + i % array_length(refs.cs, 1)],
       CASE WHEN i % 3 = 0 THEN refs.agents[1 + i % array_length(refs.agents, 1)] END,
       'Ticket ' || i || ' about ' || (ARRAY['printer', 'vpn', 'email', 'billing', 'login'])[1 + i % 5],
       'Customer reports that the ' || (ARRAY['office', 'laptop', 'portal', 'invoice', 'account', 'phone', 'network'])[1 + i % 7]
           || CASE WHEN i % 100000 = 7 THEN ' fails kerberos authentication' ELSE ' stopped working' END
           || ' since ' || to_char(ts, 'YYYY-MM-DD') || '. Reference ' || md5(i::text),
       s.status, (ARRAY['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'URGENT'])[1 + i % 5], ts, ts,
       CASE WHEN s.status = 'RESOLVED' THEN ts + interval '3 hours' END,
       ARRAY[(ARRAY['billing', 'hardware', 'network', 'access', 'vip'])[1 + i % 5]]
           || CASE WHEN i % 100 = 3 THEN ARRAY['escalated'] ELSE '{}' END,
       CASE WHEN i % 50 = 1 THEN ts + interval '1 hour' END,
       CASE WHEN i % 50 = 1 THEN ts + interval '1 hour' END
FROM refs
CROSS JOIN LATERAL generate_series(1, CASE refs.tenant_id WHEN pg_temp.tenant(1) THEN :big_tickets ELSE :small_tickets END) i
CROSS JOIN LATERAL (SELECT now() - interval '300 days' + i * interval '20 seconds' * CASE refs.tenant_id WHEN pg_temp.tenant(1) THEN 0.01 ELSE 1 END AS ts) t
CROSS JOIN LATERAL (SELECT (ARRAY['OPEN', 'IN_PROGRESS', 'RESOLVED', 'RESOLVED'])[1 + i % 4] AS status) s;

:create_ticket_indexes
-- What the tag trigger would have written: the index rows and the counts (slot 0).
INSERT INTO ticket_tags (tenant_id, tag, ticket_id) SELECT tenant_id, unnest(tags), id FROM tickets;
INSERT INTO tag_counts (tenant_id, tag, slot, count) SELECT tenant_id, tag, 0, count(*) FROM ticket_tags GROUP BY 1, 2;
ALTER TABLE tickets ENABLE TRIGGER USER;
ALTER TABLE customers ENABLE TRIGGER USER;

-- What the triggers would have counted, into slot 0 of each tenant.
INSERT INTO tenant_stats (tenant_id, slot, total_tickets, open, in_progress, resolved, low, medium, high, urgent,
                          total_customers, resolution_seconds_sum)
SELECT t.id, 0,
       coalesce(k.total, 0), coalesce(k.open, 0), coalesce(k.in_progress, 0), coalesce(k.resolved, 0),
       coalesce(k.low, 0), coalesce(k.medium, 0), coalesce(k.high, 0), coalesce(k.urgent, 0),
       (SELECT count(*) FROM customers c WHERE c.tenant_id = t.id), coalesce(k.resolution, 0)
FROM tenants t
LEFT JOIN LATERAL (
    SELECT count(*) AS total, count(*) FILTER (WHERE status = 'OPEN') AS open,
           count(*) FILTER (WHERE status = 'IN_PROGRESS') AS in_progress,
           count(*) FILTER (WHERE status = 'RESOLVED') AS resolved,
           count(*) FILTER (WHERE priority = 'LOW') AS low, count(*) FILTER (WHERE priority = 'MEDIUM') AS medium,
           count(*) FILTER (WHERE priority = 'HIGH') AS high, count(*) FILTER (WHERE priority = 'URGENT') AS urgent,
           sum(extract(epoch FROM resolved_at - created_at)) AS resolution
    FROM tickets WHERE tickets.tenant_id = t.id
) k ON true;

-- Conversations: three comments on each of the big tenant's newest 2,000 tickets, so the
-- comments table is analyzed with rows in it. Analyzed empty, its statements are planned
-- for an empty table and keep that plan while the run fills it (autovacuum is off here).
INSERT INTO comments (tenant_id, id, ticket_id, author_id, body, public, created_at)
SELECT t.tenant_id, pg_temp.time_uuid(t.created_at + n * interval '1 hour'), t.id,
       (SELECT u.id FROM users u WHERE u.tenant_id = t.tenant_id ORDER BY u.id LIMIT 1),
       'Looking into it (' || n || ')', n <> 2, t.created_at + n * interval '1 hour'
FROM (SELECT tenant_id, id, created_at FROM tickets WHERE tenant_id = pg_temp.tenant(1) ORDER BY id DESC LIMIT 2000) t
CROSS JOIN generate_series(1, 3) n;
UPDATE tickets t SET comment_count = 3
WHERE t.tenant_id = pg_temp.tenant(1) AND t.id IN (SELECT DISTINCT ticket_id FROM comments);

-- The change feed's history: a published ticket.created event in the outbox for each of
-- the big tenant's tickets, oldest first, so GET /events reads a 1M-event tenant.
INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload, created_at, published_at)
SELECT t.tenant_id, t.id, 'ticket.created', t.id,
       jsonb_build_object('eventId', t.id, 'type', 'ticket.created', 'tenantId', t.tenant_id, 'ticketId', t.id,
                          'actorId', a.id, 'actorType', 'user', 'occurredAt', t.created_at, 'before', NULL,
                          'after', jsonb_build_object('title', t.title, 'description', t.description,
                                                      'status', t.status, 'priority', t.priority,
                                                      'customerId', t.customer_id, 'assigneeId', t.assignee_id)),
       t.created_at, t.created_at
FROM tickets t
CROSS JOIN (SELECT id FROM users WHERE tenant_id = pg_temp.tenant(1) AND role = 'admin' LIMIT 1) a
WHERE t.tenant_id = pg_temp.tenant(1)
ORDER BY t.id;

VACUUM ANALYZE;

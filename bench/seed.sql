-- A tenant of :tickets tickets and :customers customers (plus two small tenants), loaded
-- through SQL as the owner, for query plans and benchmarks. Ids are time-ordered like the
-- app's UUIDv7, so `ORDER BY id DESC` is newest first here too.
-- psql -v tickets=100000 -v customers=5000 -f bench/seed.sql <database>
\set ON_ERROR_STOP on
CREATE FUNCTION pg_temp.time_uuid(ts timestamptz) RETURNS uuid LANGUAGE sql AS $$
    SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' ||
            substr(md5(random()::text || clock_timestamp()::text), 1, 19))::uuid
$$;

INSERT INTO tenants (id, name) VALUES
    ('00000000-0000-7000-8000-000000000001', 'Big'),
    ('00000000-0000-7000-8000-000000000002', 'Small A'),
    ('00000000-0000-7000-8000-000000000003', 'Small B');

INSERT INTO users (tenant_id, id, email, name, role, password_hash)
SELECT id, pg_temp.time_uuid(now() - interval '400 days'), 'admin@' || lower(replace(name, ' ', '-')) || '.test', 'Admin', 'admin', 'x'
FROM tenants WHERE id::text LIKE '00000000-0000-7000-8000-00000000000_';
INSERT INTO users (tenant_id, id, email, name, role, password_hash)
SELECT '00000000-0000-7000-8000-000000000001', pg_temp.time_uuid(now() - interval '399 days'), 'agent' || n || '@big.test', 'Agent ' || n, 'agent', 'x'
FROM generate_series(1, 20) n;

INSERT INTO customers (tenant_id, id, name, email, company, created_at)
SELECT '00000000-0000-7000-8000-000000000001', pg_temp.time_uuid(ts), 'Customer ' || n, 'customer' || n || '@big.test', 'Company ' || (n % 500), ts
FROM generate_series(1, :customers) n, LATERAL (SELECT now() - interval '365 days' + n * interval '1 second' AS ts) t;
INSERT INTO customers (tenant_id, id, name, email)
SELECT t, pg_temp.time_uuid(now()), 'Small customer', 'small@' || t || '.test'
FROM unnest(ARRAY['00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000003']::uuid[]) t;

WITH refs AS (
    SELECT (SELECT array_agg(id ORDER BY id) FROM customers WHERE tenant_id = '00000000-0000-7000-8000-000000000001') AS cs,
           (SELECT array_agg(id ORDER BY id) FROM users WHERE tenant_id = '00000000-0000-7000-8000-000000000001' AND role = 'agent') AS agents
)
INSERT INTO tickets (tenant_id, id, customer_id, assignee_id, title, description, status, priority, created_at, updated_at, resolved_at)
SELECT '00000000-0000-7000-8000-000000000001', pg_temp.time_uuid(ts), refs.cs[1 + n % array_length(refs.cs, 1)],
       CASE WHEN n % 3 = 0 THEN refs.agents[1 + n % array_length(refs.agents, 1)] END,
       'Ticket ' || n || ' about ' || (ARRAY['printer', 'vpn', 'email', 'billing', 'login'])[1 + n % 5],
       'Details of ticket ' || n, s.status,
       (ARRAY['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'URGENT'])[1 + n % 5], ts, ts,
       CASE WHEN s.status = 'RESOLVED' THEN ts + interval '3 hours' END
FROM refs, generate_series(1, :tickets) n
CROSS JOIN LATERAL (SELECT now() - interval '300 days' + n * interval '200 milliseconds' AS ts) t
CROSS JOIN LATERAL (SELECT (ARRAY['OPEN', 'IN_PROGRESS', 'RESOLVED', 'RESOLVED'])[1 + n % 4] AS status) s;

-- The counters took one update per row: vacuum them as autovacuum would, then plan.
VACUUM ANALYZE;

-- Plans of the largest list and stats queries, as the app runs them: as the runtime role,
-- inside a tenant transaction, as prepared statements with generic plans (what a warm
-- Lambda container reuses). Run on a database bench/load.sql filled (bench/plans.sh does;
-- or `bash bench/run.sh --keep-db`, then psql -f bench/explain.sql <database>)
\set ON_ERROR_STOP on
\set big '\'00000000-0000-7000-8000-000000000001\''
BEGIN;
SET LOCAL ROLE crm_app;
SELECT set_config('app.tenant_id', '00000000-0000-7000-8000-000000000001', true);
SET LOCAL plan_cache_mode = force_generic_plan;
SELECT id AS middle FROM tickets WHERE tenant_id = :big ORDER BY id DESC OFFSET 50000 LIMIT 1 \gset

PREPARE list_first(uuid, bigint) AS
SELECT t.id, t.title, t.status, c.name FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
WHERE t.tenant_id = $1 ORDER BY t.id DESC LIMIT $2;
PREPARE list_after(uuid, uuid, bigint) AS
SELECT t.id, t.title, t.status, c.name FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
WHERE t.tenant_id = $1 AND t.id < $2 ORDER BY t.id DESC LIMIT $3;
PREPARE list_status_after(uuid, text, uuid, bigint) AS
SELECT t.id, t.title, t.status, c.name FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
WHERE t.tenant_id = $1 AND t.status = $2 AND t.id < $3 ORDER BY t.id DESC LIMIT $4;
PREPARE list_assignee_priority(uuid, uuid, text, bigint) AS
SELECT t.id, t.title, t.status, c.name FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
WHERE t.tenant_id = $1 AND t.assignee_id = $2 AND t.priority = $3 ORDER BY t.id DESC LIMIT $4;
-- Searches go through ticket_search (migration V5); its own queries do not show in this
-- plan: time them with \timing or auto_explain.log_nested_statements.
PREPARE list_search(uuid, text, bigint) AS
SELECT t.id, t.title, t.status, c.name FROM tickets t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
WHERE t.tenant_id = $1 AND t.id IN (SELECT s.id FROM ticket_search($1, $2, NULL, NULL, NULL, NULL, NULL, $3) AS s (id))
ORDER BY t.id DESC LIMIT $3;
PREPARE customers_search(uuid, text, bigint) AS
SELECT id, name, email FROM customers WHERE tenant_id = $1 AND lower(name || ' ' || email) LIKE $2 ORDER BY id DESC LIMIT $3;
PREPARE stats(uuid) AS
SELECT sum(total_tickets), sum(open), sum(in_progress), sum(resolved), sum(resolution_seconds_sum) FROM tenant_stats WHERE tenant_id = $1;

\echo '== first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE list_first(:big, 21);
\echo '== deep page (50,000 rows in)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE list_after(:big, :'middle', 21);
\echo '== status filter, deep page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE list_status_after(:big, 'OPEN', :'middle', 21);
\echo '== assignee and priority filters'
SELECT id AS agent FROM users WHERE tenant_id = :big AND role = 'agent' ORDER BY id LIMIT 1 \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE list_assignee_priority(:big, :'agent', 'URGENT', 21);
\echo '== q search (rare term: ticket 4242)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE list_search(:big, '%ticket 4242 %', 21);
\echo '== q search (common term: vpn)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE list_search(:big, '%vpn%', 21);
\echo '== customers q search'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE customers_search(:big, '%customer42@%', 21);
\echo '== stats'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE stats(:big);
ROLLBACK;

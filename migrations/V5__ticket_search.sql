-- GET /tickets?q=: a case-insensitive substring search over title and description that
-- stays fast on a tenant of a million tickets, for rare and for common terms.
--
-- A trigram index answers a rare term; but LIKE is not LEAKPROOF, so under the tenant
-- policy PostgreSQL never uses it as an index condition (V2's note). The search therefore
-- goes through one narrow SECURITY DEFINER function owned by `crm_search`, a NOLOGIN role
-- whose only privilege is reading the searched columns of `tickets` through its own
-- policy. The function takes the tenant from the caller's transaction
-- (`app_current_tenant()`), answers nothing when the tenant argument differs, and returns
-- ticket ids only: the caller then reads those tickets under row-level security as before.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

DO $$
BEGIN
    CREATE ROLE crm_search NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT USAGE ON SCHEMA public TO crm_search;
GRANT SELECT (tenant_id, id, title, description, status, priority, assignee_id, customer_id) ON tickets TO crm_search;
CREATE POLICY ticket_search ON tickets FOR SELECT TO crm_search USING (true);

-- Leading with tenant_id (btree_gin) keeps a small tenant's search from reading the
-- matches of every other tenant.
CREATE INDEX tickets_search_idx ON tickets USING gin (tenant_id, lower(title || ' ' || description) gin_trgm_ops);

-- Ids of the caller's tickets whose `lower(title || ' ' || description)` is LIKE
-- `p_pattern`, with the other list filters (NULL: not filtered) and the keyset cursor,
-- newest first, at most `p_limit`.
--
-- No single plan suits every term, and the planner cannot tell them apart: it estimates
-- a LIKE '%term%' from a 100-entry histogram, and on a million tickets it walked the whole
-- tenant for a term found nowhere (0.9 s). So the function measures the term itself.
-- 1. It walks the newest candidate rows (the keyset: id descending, through the index of
--    the given filter), stopping when the page is full. A common term fills the page
--    after a few dozen rows; a bitmap of its matches would hold most of the tenant.
-- 2. When the first `c_probe` rows do not fill the page but hold enough matches to
--    promise a full page within `c_walk` more, the walk goes on for those rows.
-- 3. Otherwise the term is rare, and the trigram index finds its matches older than the
--    rows walked. That query is planned with the real values (EXECUTE), and the
--    MATERIALIZED CTE keeps `ORDER BY id DESC LIMIT` from tempting the planner back into
--    the keyset walk: it needs every match, so it picks by the cost of finding them all.
-- Every step is bounded: at most c_probe + c_walk rows walked, then one index search.
-- When a walk runs out of candidates (a narrow filter), the walk was the whole answer.
CREATE FUNCTION ticket_search(
    p_tenant uuid, p_pattern text, p_status text, p_priority text, p_assignee uuid, p_customer uuid,
    p_after uuid, p_limit bigint
)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
ROWS 20
AS $$
DECLARE
    c_probe  CONSTANT bigint := 1000;
    c_walk   CONSTANT bigint := 15000;
    -- The caller's own transaction says whose tickets these are, never the arguments alone.
    v_tenant uuid := public.app_current_tenant();
    v_limit  bigint := least(greatest(coalesce(p_limit, 1), 1), 1000);
    v_where  text := 't.tenant_id = $1';
    v_window bigint := c_probe;
    v_found  uuid[] := '{}';
    v_more   uuid[];
    v_edge   uuid;
BEGIN
    IF v_tenant IS NULL OR p_tenant IS DISTINCT FROM v_tenant OR p_pattern IS NULL THEN
        RETURN;
    END IF;
    -- Only the given filters appear, so each combination plans with its own index.
    IF p_status IS NOT NULL THEN v_where := v_where || ' AND t.status = $3'; END IF;
    IF p_priority IS NOT NULL THEN v_where := v_where || ' AND t.priority = $4'; END IF;
    IF p_assignee IS NOT NULL THEN v_where := v_where || ' AND t.assignee_id = $5'; END IF;
    IF p_customer IS NOT NULL THEN v_where := v_where || ' AND t.customer_id = $6'; END IF;
    IF p_after IS NOT NULL THEN v_where := v_where || ' AND t.id < $7'; END IF;

    LOOP
        -- The matches among the next `v_window` candidates older than `v_edge`.
        EXECUTE format(
            'SELECT coalesce(array_agg(w.id ORDER BY w.id DESC), ''{}'') FROM (
                 SELECT w.id FROM (
                     SELECT t.id, t.title, t.description FROM public.tickets t
                     WHERE %s ORDER BY t.id DESC LIMIT $9
                 ) w
                 WHERE lower(w.title || '' '' || w.description) LIKE $2
                 ORDER BY w.id DESC LIMIT $8
             ) w', v_where)
        INTO v_more
        USING v_tenant, p_pattern, p_status, p_priority, p_assignee, p_customer, p_after,
              v_limit - cardinality(v_found), v_window, v_edge;
        v_found := v_found || v_more;
        IF cardinality(v_found) >= v_limit THEN
            RETURN QUERY SELECT unnest(v_found);
            RETURN;
        END IF;
        -- Where that window ended; none when it held every remaining candidate.
        EXECUTE format('SELECT t.id FROM public.tickets t WHERE %s ORDER BY t.id DESC OFFSET $9 - 1 LIMIT 1', v_where)
        INTO v_edge
        USING v_tenant, p_pattern, p_status, p_priority, p_assignee, p_customer, p_after,
              v_limit, v_window, v_edge;
        IF v_edge IS NULL THEN
            RETURN QUERY SELECT unnest(v_found);
            RETURN;
        END IF;
        IF v_window = c_probe THEN
            v_where := v_where || ' AND t.id < $10'; -- from now on: older than the rows walked
        END IF;
        EXIT WHEN v_window = c_walk
               OR (v_limit - cardinality(v_found)) * c_probe > c_walk * cardinality(v_found);
        v_window := c_walk;
    END LOOP;

    RETURN QUERY SELECT unnest(v_found);
    RETURN QUERY EXECUTE format(
        'WITH m AS MATERIALIZED (
             SELECT t.id FROM public.tickets t
             WHERE %s AND lower(t.title || '' '' || t.description) LIKE $2
         )
         SELECT m.id FROM m ORDER BY m.id DESC LIMIT $8', v_where)
    USING v_tenant, p_pattern, p_status, p_priority, p_assignee, p_customer, p_after,
          v_limit - cardinality(v_found), v_window, v_edge;
END
$$;
ALTER FUNCTION ticket_search(uuid, text, text, text, uuid, uuid, uuid, bigint) OWNER TO crm_search;
REVOKE ALL ON FUNCTION ticket_search(uuid, text, text, text, uuid, uuid, uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket_search(uuid, text, text, text, uuid, uuid, uuid, bigint) TO crm_app;

-- The quota's count as one function call: it scopes itself to the tenant and runs the
-- statement V20's count ran, so the application sends it as a single prepared statement
-- outside any transaction block, which PostgreSQL commits on its own (an implicit
-- transaction), instead of a BEGIN, the statement and a COMMIT: fewer messages in the
-- round trip that opens every authenticated request (no change in latency measurable on
-- the bench machine). The scope (`set_config(.., true)`) ends with that implicit
-- transaction.
--
-- p_tenant NULL (an API key whose secret did not match) counts against no one.
CREATE FUNCTION quota_count(p_tenant uuid, p_window bigint)
RETURNS TABLE (now_s bigint, counted boolean, seconds bigint[], counts integer[])
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.tenant_id', coalesce(p_tenant::text, ''), true);
    -- Counts the request in one of the current second's 8 slots and reads the window's
    -- counts as they were before it (a statement does not see its own writes); now and
    -- then deletes the tenant's expired seconds, so no job reads across tenants. `now()`
    -- rather than the clock: stable, so the window bounds the index scan.
    RETURN QUERY
    WITH clock AS (SELECT floor(extract(epoch FROM now()))::bigint AS now_s),
         counted AS (
            INSERT INTO public.tenant_request_counts AS r (tenant_id, second, slot, count)
            SELECT app_current_tenant(), clock.now_s, floor(random() * 8)::smallint, 1 FROM clock
            WHERE app_current_tenant() IS NOT NULL
            ON CONFLICT (tenant_id, second, slot) DO UPDATE SET count = r.count + 1
            RETURNING 1),
         pruned AS (
            DELETE FROM public.tenant_request_counts r
            WHERE r.tenant_id = app_current_tenant()
              AND r.second <= floor(extract(epoch FROM now()))::bigint - p_window AND (SELECT random()) < 0.01),
         window_seconds AS (
            SELECT r.second, sum(r.count)::integer AS n FROM public.tenant_request_counts r
            WHERE r.tenant_id = app_current_tenant() AND r.second > floor(extract(epoch FROM now()))::bigint - p_window
            GROUP BY r.second)
    SELECT clock.now_s, app_current_tenant() IS NOT NULL,
           coalesce((SELECT array_agg(s.second ORDER BY s.second) FROM window_seconds s), '{}'),
           coalesce((SELECT array_agg(s.n ORDER BY s.second) FROM window_seconds s), '{}')
    FROM clock;
END $$;
REVOKE ALL ON FUNCTION quota_count(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quota_count(uuid, bigint) TO crm_app;

-- A container counts a tenant's requests in batches while the tenant is far from its
-- limits (crm_core::quota::tally): one statement adds the requests it served since its
-- last count, instead of one statement per request. The same count as V23's, by
-- `p_amount` instead of 1. V23's function stays for code deployed before this one.
CREATE FUNCTION quota_count(p_tenant uuid, p_window bigint, p_amount integer)
RETURNS TABLE (now_s bigint, counted boolean, seconds bigint[], counts integer[])
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.tenant_id', coalesce(p_tenant::text, ''), true);
    RETURN QUERY
    WITH clock AS (SELECT floor(extract(epoch FROM now()))::bigint AS now_s),
         counted AS (
            INSERT INTO public.tenant_request_counts AS r (tenant_id, second, slot, count)
            SELECT app_current_tenant(), clock.now_s, floor(random() * 8)::smallint, greatest(p_amount, 1) FROM clock
            WHERE app_current_tenant() IS NOT NULL
            ON CONFLICT (tenant_id, second, slot) DO UPDATE SET count = r.count + excluded.count
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
REVOKE ALL ON FUNCTION quota_count(uuid, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quota_count(uuid, bigint, integer) TO crm_app;

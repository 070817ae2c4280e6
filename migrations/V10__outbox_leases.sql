-- The sweeper leases the rows it sends instead of holding their row locks across SQS
-- calls. A lease is a time: until it passes, other sweepers skip the row, and if the
-- sweeper that took it dies, the row is free again when it passes. Sending outside a
-- transaction also lets a run mark each batch published as soon as SQS accepted it.
ALTER TABLE outbox ADD COLUMN leased_until timestamptz;
GRANT UPDATE (leased_until) ON outbox TO crm_outbox;

-- Leases up to p_limit of the oldest unpublished rows at least p_min_age old whose lease
-- is free, for p_lease. The row locks last only for this statement.
CREATE FUNCTION outbox_lease_stale(p_min_age interval, p_limit integer, p_lease interval)
RETURNS TABLE (id uuid, tenant_id uuid, event_type text, ticket_id uuid, payload jsonb, created_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    UPDATE public.outbox o SET leased_until = clock_timestamp() + p_lease
    FROM (
        SELECT s.id FROM public.outbox s
        WHERE s.published_at IS NULL AND s.created_at <= clock_timestamp() - p_min_age
          AND (s.leased_until IS NULL OR s.leased_until <= clock_timestamp())
        ORDER BY s.created_at
        LIMIT least(greatest(p_limit, 1), 500)
        FOR UPDATE SKIP LOCKED
    ) free
    WHERE o.id = free.id
    RETURNING o.id, o.tenant_id, o.event_type, o.ticket_id, o.payload, o.created_at
$$;
ALTER FUNCTION outbox_lease_stale(interval, integer, interval) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION outbox_lease_stale(interval, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_lease_stale(interval, integer, interval) TO crm_app;

-- Gives back the leases of rows a run could not send, so the next run retries them at
-- once rather than when the lease would have passed.
CREATE FUNCTION outbox_release(p_ids uuid[])
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH freed AS (
        UPDATE public.outbox SET leased_until = NULL
        WHERE id = ANY (p_ids) AND published_at IS NULL
        RETURNING 1
    )
    SELECT count(*) FROM freed
$$;
ALTER FUNCTION outbox_release(uuid[]) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION outbox_release(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_release(uuid[]) TO crm_app;

-- Delivery of the outbox: the sweeper must see unpublished events of every tenant, which
-- row-level security hides from the runtime role. Two narrow SECURITY DEFINER functions,
-- owned by `crm_outbox`, are the only door: one claims stale unpublished rows (locked, so
-- concurrent sweepers skip each other's), one marks rows published. crm_outbox may read
-- the outbox and set `published_at`, nothing else.
DO $$
BEGIN
    CREATE ROLE crm_outbox NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO crm_outbox;
GRANT SELECT, UPDATE (published_at) ON outbox TO crm_outbox;
CREATE POLICY outbox_delivery ON outbox TO crm_outbox USING (true) WITH CHECK (true);

CREATE FUNCTION outbox_claim_stale(p_min_age interval, p_limit integer)
RETURNS TABLE (id uuid, tenant_id uuid, event_type text, ticket_id uuid, payload jsonb, created_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT o.id, o.tenant_id, o.event_type, o.ticket_id, o.payload, o.created_at
    FROM public.outbox o
    WHERE o.published_at IS NULL AND o.created_at <= clock_timestamp() - p_min_age
    ORDER BY o.created_at
    LIMIT least(greatest(p_limit, 1), 500)
    FOR UPDATE SKIP LOCKED
$$;
ALTER FUNCTION outbox_claim_stale(interval, integer) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION outbox_claim_stale(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_claim_stale(interval, integer) TO crm_app;

CREATE FUNCTION outbox_mark_published(p_ids uuid[])
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH done AS (
        UPDATE public.outbox SET published_at = clock_timestamp()
        WHERE id = ANY (p_ids) AND published_at IS NULL
        RETURNING 1
    )
    SELECT count(*) FROM done
$$;
ALTER FUNCTION outbox_mark_published(uuid[]) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION outbox_mark_published(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_mark_published(uuid[]) TO crm_app;

-- Tenant exports: POST /tenant/exports records a PENDING export and queues a message for
-- `tenant-export`, which claims the row (a lease, so two deliveries of the message never
-- run it twice at once), writes JSON Lines of every resource to the blob store, and marks
-- it READY with the object's size. An erasure withdraws the READY exports (their files
-- hold the erased person) and deletes their files. The row is its own outbox: an export whose message was
-- lost, or whose run died, is queued again by the sweeper.
CREATE TABLE tenant_exports (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    status        text NOT NULL DEFAULT 'PENDING'
                  CHECK (status IN ('PENDING', 'RUNNING', 'READY', 'FAILED', 'WITHDRAWN')),
    requested_by  uuid,
    attempts      integer NOT NULL DEFAULT 0,
    leased_until  timestamptz,
    size_bytes    bigint CHECK (size_bytes >= 0),
    rows_written  bigint CHECK (rows_written >= 0),
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    CHECK ((status = 'READY') = (size_bytes IS NOT NULL))
);
-- What the sweeper looks for: exports not finished.
CREATE INDEX tenant_exports_unfinished_idx ON tenant_exports (created_at) WHERE status IN ('PENDING', 'RUNNING');

ALTER TABLE tenant_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_exports
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_exports TO crm_app;

-- The sweeper's door to unfinished exports across tenants (ids only), as for the outbox.
GRANT SELECT (tenant_id, id, status, leased_until, created_at) ON tenant_exports TO crm_outbox;
CREATE POLICY export_watch ON tenant_exports AS PERMISSIVE FOR SELECT TO crm_outbox
    USING (status IN ('PENDING', 'RUNNING'));
CREATE FUNCTION tenant_exports_due(p_min_age interval, p_limit integer)
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT e.tenant_id, e.id FROM public.tenant_exports e
    WHERE e.status IN ('PENDING', 'RUNNING')
      AND e.created_at <= clock_timestamp() - p_min_age
      AND (e.leased_until IS NULL OR e.leased_until < clock_timestamp())
    ORDER BY e.created_at LIMIT least(greatest(p_limit, 1), 100)
$$;
ALTER FUNCTION tenant_exports_due(interval, integer) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION tenant_exports_due(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_exports_due(interval, integer) TO crm_app;

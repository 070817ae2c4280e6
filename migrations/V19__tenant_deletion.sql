-- Tenant deletion: DELETE /tenant marks the tenant and, in the same transaction, disables
-- its users and revokes its keys and sessions, so every token and key is refused at once;
-- the sweeper's schedule then deletes its rows and objects in bounded batches and, last,
-- the tenant row. Its addresses are free again once its users are gone.
ALTER TABLE tenants ADD COLUMN deleting_at timestamptz;

-- The sweeper's door to the tenants being deleted (ids only), as for the outbox (V3).
GRANT SELECT (id, deleting_at) ON tenants TO crm_outbox;
CREATE POLICY purge_watch ON tenants AS PERMISSIVE FOR SELECT TO crm_outbox USING (deleting_at IS NOT NULL);
CREATE FUNCTION tenants_being_deleted(p_limit integer, p_min_age interval) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT t.id FROM public.tenants t
    WHERE t.deleting_at IS NOT NULL AND t.deleting_at <= clock_timestamp() - p_min_age
    ORDER BY t.deleting_at LIMIT least(greatest(p_limit, 1), 100)
$$;
ALTER FUNCTION tenants_being_deleted(integer, interval) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION tenants_being_deleted(integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenants_being_deleted(integer, interval) TO crm_app;

-- The audit log is immutable for the runtime role (V18); a deleted tenant's rows go in
-- batches through this door, and only a tenant being deleted's.
GRANT SELECT, DELETE ON audit_log TO crm_outbox;
CREATE POLICY purge_deleted ON audit_log AS PERMISSIVE FOR ALL TO crm_outbox
    USING (tenant_id IN (SELECT id FROM tenants WHERE deleting_at IS NOT NULL));
CREATE FUNCTION audit_purge_deleted(p_tenant uuid, p_limit integer) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.audit_log a
        WHERE a.tenant_id = p_tenant
          AND a.ctid = ANY (ARRAY(SELECT b.ctid FROM public.audit_log b WHERE b.tenant_id = p_tenant
                                  LIMIT least(greatest(p_limit, 1), 5000)))
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
ALTER FUNCTION audit_purge_deleted(uuid, integer) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION audit_purge_deleted(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_purge_deleted(uuid, integer) TO crm_app;

-- Attachments declared but never completed: their signed upload URLs expired 15 minutes
-- after they were made, so a PENDING row older than a day can never become READY. The
-- sweeper deletes such rows (and the objects a client may have uploaded without calling
-- `complete`), so the bucket holds no file that no READY row names.
--
-- As in V7, one SECURITY DEFINER function owned by crm_prune is the only door: its
-- policies let it see and delete exactly those rows, and only their ids.
GRANT SELECT (tenant_id, id, ticket_id, status, created_at), DELETE ON attachments TO crm_prune;
CREATE POLICY prune_stale ON attachments AS PERMISSIVE FOR ALL TO crm_prune
    USING (status = 'PENDING' AND created_at < now() - interval '1 day');
CREATE POLICY prune_stale_only ON attachments AS RESTRICTIVE FOR ALL TO crm_prune
    USING (status = 'PENDING' AND created_at < now() - interval '1 day');
CREATE INDEX attachments_pending_idx ON attachments (created_at) WHERE status = 'PENDING';

-- Deletes up to `p_limit` (at most 1000) stale PENDING rows; returns their ids, so the
-- caller deletes their objects before it commits.
CREATE FUNCTION expire_stale_uploads(p_limit integer)
RETURNS TABLE (tenant_id uuid, ticket_id uuid, id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    DELETE FROM public.attachments a
    WHERE (a.tenant_id, a.id) IN (
        SELECT s.tenant_id, s.id FROM public.attachments s
        WHERE s.status = 'PENDING' AND s.created_at < now() - interval '1 day'
        LIMIT least(greatest(p_limit, 1), 1000))
    RETURNING a.tenant_id, a.ticket_id, a.id
$$;
ALTER FUNCTION expire_stale_uploads(integer) OWNER TO crm_prune;
REVOKE ALL ON FUNCTION expire_stale_uploads(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_stale_uploads(integer) TO crm_app;

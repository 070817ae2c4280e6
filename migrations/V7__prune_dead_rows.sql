-- Pruning of rows nothing will read again, by the outbox sweeper (every minute in AWS):
-- refresh tokens expired or revoked more than a day ago, and idempotency keys older than
-- a day (the retention within which a client's retry is answered from its first answer).
-- Without it both tables grow with every login, refresh and create, forever.
--
-- Both are tenant tables under row-level security, and the sweeper has no tenant. As for
-- the outbox (V3), one SECURITY DEFINER function is the only door, owned by `crm_prune`
-- (NOLOGIN), whose privileges and policies let it see and delete exactly those rows and
-- nothing else: it cannot read a token's hash, a stored response, or a live row. The age
-- is fixed here, not a parameter, so no caller can widen it; the batch is bounded so one
-- sweep stays short, and what is left goes at the next.
--
-- A used (rotated) token that is neither expired nor revoked is kept until it expires:
-- presenting it again is how a stolen copy is detected.
DO $$
BEGIN
    CREATE ROLE crm_prune NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT USAGE ON SCHEMA public TO crm_prune;

-- least() skips NULLs: the earlier of expiry and revocation, the moment a token died.
CREATE INDEX refresh_tokens_dead_since_idx ON refresh_tokens (least(expires_at, revoked_at));

GRANT SELECT (tenant_id, id, expires_at, revoked_at), DELETE ON refresh_tokens TO crm_prune;
GRANT SELECT (tenant_id, route, key, created_at), DELETE ON idempotency_keys TO crm_prune;

-- A permissive policy lets crm_prune past `tenant_isolation`; the restrictive one keeps it
-- off live rows even in a transaction that has set a tenant.
CREATE POLICY prune_dead ON refresh_tokens AS PERMISSIVE FOR ALL TO crm_prune
    USING (least(expires_at, revoked_at) < now() - interval '1 day');
CREATE POLICY prune_dead_only ON refresh_tokens AS RESTRICTIVE FOR ALL TO crm_prune
    USING (least(expires_at, revoked_at) < now() - interval '1 day');
CREATE POLICY prune_dead ON idempotency_keys AS PERMISSIVE FOR ALL TO crm_prune
    USING (created_at < now() - interval '1 day');
CREATE POLICY prune_dead_only ON idempotency_keys AS RESTRICTIVE FOR ALL TO crm_prune
    USING (created_at < now() - interval '1 day');

-- Deletes up to `p_limit` (at most 1000) rows of each table; returns how many of each.
CREATE FUNCTION prune_dead_rows(p_limit integer)
RETURNS TABLE (refresh_tokens_deleted bigint, idempotency_keys_deleted bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH tokens AS (
        DELETE FROM public.refresh_tokens r
        WHERE (r.tenant_id, r.id) IN (
            SELECT t.tenant_id, t.id FROM public.refresh_tokens t
            WHERE least(t.expires_at, t.revoked_at) < now() - interval '1 day'
            LIMIT least(greatest(p_limit, 1), 1000))
        RETURNING 1
    ), keys AS (
        DELETE FROM public.idempotency_keys i
        WHERE (i.tenant_id, i.route, i.key) IN (
            SELECT k.tenant_id, k.route, k.key FROM public.idempotency_keys k
            WHERE k.created_at < now() - interval '1 day'
            LIMIT least(greatest(p_limit, 1), 1000))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM tokens), (SELECT count(*) FROM keys)
$$;
ALTER FUNCTION prune_dead_rows(integer) OWNER TO crm_prune;
REVOKE ALL ON FUNCTION prune_dead_rows(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_dead_rows(integer) TO crm_app;

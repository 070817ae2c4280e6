-- Pruning of the mailed single-use tokens of V6 (sign-ups, password resets, invitations)
-- a day after they were spent or expired, whichever came first: nothing redeems them
-- then, and without pruning the tables grow with every sign-up attempt and every
-- "forgot password". Same door as V7: a SECURITY DEFINER function owned by `crm_prune`,
-- whose column grants and policies let it see and delete dead rows only; the age is
-- fixed here and the batch bounded.
GRANT SELECT (tenant_id, id, expires_at, used_at), DELETE ON signups TO crm_prune;
GRANT SELECT (tenant_id, id, expires_at, used_at), DELETE ON password_resets TO crm_prune;
GRANT SELECT (tenant_id, id, expires_at, accepted_at), DELETE ON invitations TO crm_prune;

CREATE POLICY prune_dead ON signups AS PERMISSIVE FOR ALL TO crm_prune
    USING (least(expires_at, used_at) < now() - interval '1 day');
CREATE POLICY prune_dead_only ON signups AS RESTRICTIVE FOR ALL TO crm_prune
    USING (least(expires_at, used_at) < now() - interval '1 day');
CREATE POLICY prune_dead ON password_resets AS PERMISSIVE FOR ALL TO crm_prune
    USING (least(expires_at, used_at) < now() - interval '1 day');
CREATE POLICY prune_dead_only ON password_resets AS RESTRICTIVE FOR ALL TO crm_prune
    USING (least(expires_at, used_at) < now() - interval '1 day');
CREATE POLICY prune_dead ON invitations AS PERMISSIVE FOR ALL TO crm_prune
    USING (least(expires_at, accepted_at) < now() - interval '1 day');
CREATE POLICY prune_dead_only ON invitations AS RESTRICTIVE FOR ALL TO crm_prune
    USING (least(expires_at, accepted_at) < now() - interval '1 day');

CREATE INDEX password_resets_dead_since_idx ON password_resets (least(expires_at, used_at));
CREATE INDEX invitations_dead_since_idx ON invitations (least(expires_at, accepted_at));
CREATE INDEX signups_dead_since_idx ON signups (least(expires_at, used_at));

-- Deletes up to `p_limit` (at most 1000) dead rows of each table; returns how many in all.
CREATE FUNCTION prune_account_tokens(p_limit integer)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH signups_gone AS (
        DELETE FROM public.signups s
        WHERE (s.tenant_id, s.id) IN (
            SELECT d.tenant_id, d.id FROM public.signups d
            WHERE least(d.expires_at, d.used_at) < now() - interval '1 day'
            LIMIT least(greatest(p_limit, 1), 1000))
        RETURNING 1
    ), resets_gone AS (
        DELETE FROM public.password_resets r
        WHERE (r.tenant_id, r.id) IN (
            SELECT d.tenant_id, d.id FROM public.password_resets d
            WHERE least(d.expires_at, d.used_at) < now() - interval '1 day'
            LIMIT least(greatest(p_limit, 1), 1000))
        RETURNING 1
    ), invitations_gone AS (
        DELETE FROM public.invitations i
        WHERE (i.tenant_id, i.id) IN (
            SELECT d.tenant_id, d.id FROM public.invitations d
            WHERE least(d.expires_at, d.accepted_at) < now() - interval '1 day'
            LIMIT least(greatest(p_limit, 1), 1000))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM signups_gone) + (SELECT count(*) FROM resets_gone)
         + (SELECT count(*) FROM invitations_gone)
$$;
ALTER FUNCTION prune_account_tokens(integer) OWNER TO crm_prune;
REVOKE ALL ON FUNCTION prune_account_tokens(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_account_tokens(integer) TO crm_app;

-- Per-tenant request quotas, shared by every Lambda container: each authenticated request
-- counts one in its tenant's current second, in one of 8 slots drawn at random, so that
-- no tenant's counter is a single hot row, and reads the counts of the last seconds, in
-- one statement of its own little transaction (a count's row lock lasts microseconds,
-- never a whole request), sent in the round trip that opens the request's unit of work.
-- The application decides from the counts (crm_core::quota).
--
-- UNLOGGED: counters of the last few seconds are not worth a WAL record each; a crash
-- empties the table, which only forgives a few seconds of traffic. fillfactor 50 leaves
-- room on each page for the in-place (HOT) updates that every count is.
CREATE UNLOGGED TABLE tenant_request_counts (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    second     bigint NOT NULL,
    slot       smallint NOT NULL CHECK (slot BETWEEN 0 AND 7),
    count      integer NOT NULL CHECK (count > 0),
    PRIMARY KEY (tenant_id, second, slot)
) WITH (fillfactor = 50);

ALTER TABLE tenant_request_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_request_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_request_counts
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_request_counts TO crm_app;

-- The tenant of an API key, but only when the secret's digest matches: a request with a
-- known prefix and a wrong secret must not spend the key's tenant's quota. The count's
-- transaction scopes itself with it.
CREATE FUNCTION api_key_quota_tenant(p_prefix text, p_secret_hash bytea) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT k.tenant_id FROM public.api_keys k WHERE k.prefix = p_prefix AND k.secret_hash = p_secret_hash $$;
GRANT SELECT (secret_hash) ON api_keys TO crm_auth;
ALTER FUNCTION api_key_quota_tenant(text, bytea) OWNER TO crm_auth;
REVOKE ALL ON FUNCTION api_key_quota_tenant(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_quota_tenant(text, bytea) TO crm_app;

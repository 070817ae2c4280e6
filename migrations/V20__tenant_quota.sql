-- Per-tenant request quotas, shared by every Lambda container: each authenticated request
-- counts one in its tenant's current second, in one of 8 slots drawn at random, so that
-- no tenant's counter is a single hot row. A request is taken while the tenant's current
-- second holds fewer than the burst and its last `p_window` seconds fewer than the
-- window's quota; a refused request is not counted, so a client that backs off gets
-- through again as soon as the window moves on.
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

-- Runs as its own statement, outside the request's transaction (the row lock of a count
-- lasts one statement, never a whole request), so it scopes itself to the tenant: the
-- setting is transaction-local and ends with the statement. Answers whether the request
-- was taken and the per-second counts of the window before it, oldest first.
CREATE FUNCTION tenant_quota_take(p_tenant uuid, p_burst integer, p_quota integer, p_window integer,
                                  OUT taken boolean, OUT counts integer[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    now_s bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
    w integer := least(greatest(p_window, 1), 3600);
BEGIN
    IF p_tenant IS NULL THEN
        taken := true;
        counts := '{}';
        RETURN;
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT array_agg(coalesce(c.n, 0) ORDER BY s.second) INTO counts
    FROM generate_series(now_s - w + 1, now_s) AS s(second)
    LEFT JOIN (SELECT r.second, sum(r.count)::integer AS n FROM tenant_request_counts r
               WHERE r.tenant_id = p_tenant AND r.second > now_s - w
               GROUP BY r.second) c ON c.second = s.second;
    taken := counts[w] < p_burst AND (SELECT sum(x) FROM unnest(counts) AS x) < p_quota;
    IF taken THEN
        INSERT INTO tenant_request_counts AS r (tenant_id, second, slot, count)
        VALUES (p_tenant, now_s, floor(random() * 8)::smallint, 1)
        ON CONFLICT (tenant_id, second, slot) DO UPDATE SET count = r.count + 1;
        -- The tenant's own expired seconds, now and then: no job needs to read across tenants.
        IF random() < 0.01 THEN
            DELETE FROM tenant_request_counts WHERE tenant_id = p_tenant AND second <= now_s - w;
        END IF;
    END IF;
END $$;
REVOKE ALL ON FUNCTION tenant_quota_take(uuid, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_quota_take(uuid, integer, integer, integer) TO crm_app;

-- The tenant of an API key, but only when the secret's digest matches: a request with a
-- known prefix and a wrong secret must not spend the key's tenant's quota.
CREATE FUNCTION api_key_quota_tenant(p_prefix text, p_secret_hash bytea) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT k.tenant_id FROM public.api_keys k WHERE k.prefix = p_prefix AND k.secret_hash = p_secret_hash $$;
GRANT SELECT (secret_hash) ON api_keys TO crm_auth;
ALTER FUNCTION api_key_quota_tenant(text, bytea) OWNER TO crm_auth;
REVOKE ALL ON FUNCTION api_key_quota_tenant(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_quota_tenant(text, bytea) TO crm_app;

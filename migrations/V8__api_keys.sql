-- API keys for integrations: `crm_<prefix>_<secret>`, sent as `Authorization: Bearer`.
-- Only a SHA-256 of the secret is stored; the key is shown once, when it is created.
-- A key is revoked by setting `revoked_at`, never deleted: the timeline keeps naming it
-- as the actor of what it did.
CREATE TABLE api_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role          text NOT NULL CHECK (role IN ('admin', 'agent')),
    prefix        text NOT NULL CHECK (prefix ~ '^[a-z2-7]{16}$'),
    secret_hash   bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- The prefix names a key across every tenant: it is how a presented key is found.
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
-- No DELETE: revocation is an UPDATE, and the rows stay for attribution.
GRANT SELECT, INSERT, UPDATE ON api_keys TO crm_app;

-- A presented key carries no tenant, and row-level security needs one before the key's
-- row can be read. This function is the only door: it answers a prefix's tenant and
-- nothing else (no hash, no role), runs as crm_auth (the login door of V1), and the
-- request then reads the key's row under that tenant's policy and checks the secret.
GRANT SELECT (prefix, tenant_id) ON api_keys TO crm_auth;
CREATE POLICY api_key_tenant_lookup ON api_keys FOR SELECT TO crm_auth USING (true);

CREATE FUNCTION api_key_tenant(p_prefix text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT k.tenant_id FROM public.api_keys k WHERE k.prefix = p_prefix $$;
ALTER FUNCTION api_key_tenant(text) OWNER TO crm_auth;
REVOKE ALL ON FUNCTION api_key_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_tenant(text) TO crm_app;

-- What a key does is attributed to the key: a timeline entry names a user or a key.
ALTER TABLE ticket_events ALTER COLUMN actor_id DROP NOT NULL;
ALTER TABLE ticket_events ADD COLUMN actor_api_key_id uuid;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_actor_api_key_fkey
    FOREIGN KEY (tenant_id, actor_api_key_id) REFERENCES api_keys (tenant_id, id);
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_one_actor
    CHECK (num_nonnulls(actor_id, actor_api_key_id) = 1);

-- An invitation is sent by a user or by a key.
ALTER TABLE invitations ALTER COLUMN invited_by DROP NOT NULL;
ALTER TABLE invitations ADD COLUMN invited_by_api_key uuid;
ALTER TABLE invitations ADD CONSTRAINT invitations_invited_by_api_key_fkey
    FOREIGN KEY (tenant_id, invited_by_api_key) REFERENCES api_keys (tenant_id, id);
ALTER TABLE invitations ADD CONSTRAINT invitations_one_inviter
    CHECK (num_nonnulls(invited_by, invited_by_api_key) = 1);

-- Accounts done right: sign-ups that wait for their address to be proven, password
-- resets and invitations. Each is a single-use, expiring token mailed as a link; only a
-- SHA-256 of its random part is stored, so a database leak yields no usable link.
--
-- All three are tenant tables under the three walls. A token carries its tenant id (as a
-- refresh token does), so redeeming it opens a tenant-scoped transaction before anything
-- else is known. A sign-up has no tenant yet: its row is keyed by the id the tenant will
-- get when the address is verified, which is why `signups.tenant_id` references nothing.

CREATE TABLE signups (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name          text CHECK (length(name) BETWEEN 1 AND 200),
    tenant_name   text NOT NULL CHECK (length(tenant_name) BETWEEN 1 AND 200),
    password_hash text NOT NULL,
    token_hash    bytea NOT NULL CHECK (length(token_hash) = 32),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX signups_expires_idx ON signups (expires_at);

CREATE TABLE password_resets (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX password_resets_user_idx ON password_resets (tenant_id, user_id);

CREATE TABLE invitations (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role         text NOT NULL CHECK (role IN ('admin', 'agent')),
    invited_by   uuid NOT NULL,
    token_hash   bytea NOT NULL CHECK (length(token_hash) = 32),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invited_by) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['signups', 'password_resets', 'invitations']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crm_app', t);
    END LOOP;
END $$;

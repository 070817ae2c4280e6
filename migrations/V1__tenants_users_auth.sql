-- Foundation schema: tenants, users, refresh tokens, row-level security.
--
-- Roles are cluster-wide and several databases (parallel tests) may migrate at once, so
-- each is created tolerantly.
DO $$
BEGIN
    CREATE ROLE crm_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
-- Owns the login-by-email function and nothing else; sees users only through it.
DO $$
BEGIN
    CREATE ROLE crm_auth NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO crm_app, crm_auth;

-- The tenant a unit of work runs for; NULL (no rows visible) when none was set.
CREATE FUNCTION app_current_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name          text CHECK (length(name) <= 200),
    role          text NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- Login is by email alone, so an address belongs to one user across all tenants.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
-- Serves GET /users?role= as a keyset scan, newest first.
CREATE INDEX users_tenant_role_id_idx ON users (tenant_id, role, id DESC);

CREATE TABLE refresh_tokens (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    -- Every token rotated from one login shares the family of the first.
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (tenant_id, user_id);

-- Wall three: the database itself refuses another tenant's rows, even to the table owner.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, users, refresh_tokens TO crm_app;

-- Login must find a user by email before the tenant is known. This is the one narrow
-- door: it answers only the columns login needs, for one address, and runs as crm_auth,
-- whose only privilege is reading those columns (its own policy, SELECT only).
GRANT SELECT (id, tenant_id, email, password_hash, disabled) ON users TO crm_auth;
CREATE POLICY login_lookup ON users FOR SELECT TO crm_auth USING (true);

CREATE FUNCTION auth_login_lookup(p_email text)
RETURNS TABLE (user_id uuid, tenant_id uuid, password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT u.id, u.tenant_id, u.password_hash, u.disabled
    FROM public.users u
    WHERE lower(u.email) = lower(p_email)
$$;
ALTER FUNCTION auth_login_lookup(text) OWNER TO crm_auth;
REVOKE ALL ON FUNCTION auth_login_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_lookup(text) TO crm_app;

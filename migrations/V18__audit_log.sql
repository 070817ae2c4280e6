-- The audit log: one row per write, appended in the write's own transaction (the unit of
-- work records it as it commits, shared/src/db/audit). Immutable for the runtime role:
-- crm_app may insert and read rows, never change or remove them (no UPDATE, DELETE or
-- TRUNCATE privilege; tested at the database as crm_app). Only the owner, deleting a
-- tenant, removes them.
CREATE TABLE audit_log (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT uuid_v7(),
    at           timestamptz NOT NULL DEFAULT now(),
    actor_type   text NOT NULL CHECK (actor_type IN ('user', 'apiKey', 'system')),
    actor_id     uuid,
    action       text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    target_type  text CHECK (length(target_type) BETWEEN 1 AND 64),
    target_id    uuid,
    -- {field: [old, new]}, never a secret, hash or password.
    changes      jsonb NOT NULL DEFAULT '{}',
    request_id   text CHECK (length(request_id) <= 128),
    source_ip    text CHECK (length(source_ip) <= 64),
    PRIMARY KEY (tenant_id, id)
);
-- Newest first is the primary key read backwards; the filters narrow it.
CREATE INDEX audit_log_actor_idx ON audit_log (tenant_id, actor_id, id);
CREATE INDEX audit_log_target_idx ON audit_log (tenant_id, target_id, id);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT ON audit_log TO crm_app;

-- The one change the runtime role may make to audit rows: erasing a customer (GDPR Art.
-- 17) blanks the `changes` of the rows about it and its tickets, keeping who, when, what
-- and the ids. Only for a customer recorded as erased, and only rows whose ticket is gone.
CREATE FUNCTION audit_redact_erased(p_customer uuid, p_tickets uuid[]) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH redacted AS (
        UPDATE public.audit_log a SET changes = '{}'::jsonb
        WHERE a.tenant_id = public.app_current_tenant()
          AND (a.target_id = p_customer OR a.target_id = ANY (p_tickets))
          AND a.changes <> '{}'::jsonb
          AND EXISTS (SELECT 1 FROM public.customer_erasures e
                      WHERE e.tenant_id = a.tenant_id AND e.customer_id = p_customer)
          AND NOT EXISTS (SELECT 1 FROM public.tickets t WHERE t.tenant_id = a.tenant_id AND t.id = a.target_id)
        RETURNING 1)
    SELECT count(*) FROM redacted
$$;
REVOKE ALL ON FUNCTION audit_redact_erased(uuid, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_redact_erased(uuid, uuid[]) TO crm_app;

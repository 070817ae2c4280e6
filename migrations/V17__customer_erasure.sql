-- Customer erasure (GDPR Art. 17): what remains of an erased customer is its id and when,
-- so that erasing it again answers as the first time did (202) while an id that never
-- existed stays a 404. A tenant table under the same walls as the others; rows are never
-- changed, and go with their tenant.
CREATE TABLE customer_erasures (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id  uuid NOT NULL,
    erased_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id)
);
ALTER TABLE customer_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_erasures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_erasures
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT ON customer_erasures TO crm_app;

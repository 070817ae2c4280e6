-- Files on a ticket (optionally on one of its comments). The bytes never pass through a
-- function: the client PUTs them to the blob store with a signed URL, then `complete`
-- checks the stored object and marks the row READY. The object's key is derived from the
-- row (tenants/<tenant>/tickets/<ticket>/<id>), so a row names exactly one object.
CREATE TABLE attachments (
    tenant_id          uuid NOT NULL,
    id                 uuid NOT NULL,
    ticket_id          uuid NOT NULL,
    comment_id         uuid,
    file_name          text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type       text NOT NULL CHECK (length(content_type) BETWEEN 3 AND 255),
    size               bigint NOT NULL CHECK (size BETWEEN 1 AND 26214400),
    status             text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'READY')),
    author_id          uuid,
    author_api_key_id  uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, comment_id) REFERENCES comments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, author_api_key_id) REFERENCES api_keys (tenant_id, id),
    CONSTRAINT attachments_one_author CHECK (num_nonnulls(author_id, author_api_key_id) = 1),
    CONSTRAINT attachments_ready_when_completed CHECK ((status = 'READY') = (completed_at IS NOT NULL))
);
-- A ticket's attachments, oldest first.
CREATE INDEX attachments_ticket_idx ON attachments (tenant_id, ticket_id, id);

ALTER TABLE attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attachments
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON attachments TO crm_app;

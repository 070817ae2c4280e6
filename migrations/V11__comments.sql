-- The conversation of a ticket: public replies and internal notes, written by a user of
-- the tenant or one of its API keys. A tenant table under the same walls as the others:
-- keyed (tenant_id, id), composite foreign keys, row-level security enabled and forced.
CREATE TABLE comments (
    tenant_id          uuid NOT NULL,
    id                 uuid NOT NULL,
    ticket_id          uuid NOT NULL,
    author_id          uuid,
    author_api_key_id  uuid,
    body               text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    public             boolean NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, author_api_key_id) REFERENCES api_keys (tenant_id, id),
    CONSTRAINT comments_one_author CHECK (num_nonnulls(author_id, author_api_key_id) = 1)
);
-- A ticket's conversation, oldest first, is a keyset scan of this index.
CREATE INDEX comments_ticket_idx ON comments (tenant_id, ticket_id, id);

ALTER TABLE comments ENABLE ROW LEVEL SECURITY;
ALTER TABLE comments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON comments
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
-- Comments are never edited; they go with their ticket (the cascade).
GRANT SELECT, INSERT ON comments TO crm_app;

-- Kept by the statement that adds a comment, so reading a ticket never counts.
ALTER TABLE tickets ADD COLUMN comment_count integer NOT NULL DEFAULT 0 CHECK (comment_count >= 0);
-- The first public comment by a user of the tenant (an agent or admin answering).
ALTER TABLE tickets ADD COLUMN first_responded_at timestamptz;

ALTER TABLE outbox DROP CONSTRAINT outbox_event_type_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_type_check
    CHECK (event_type IN ('ticket.created', 'ticket.status_changed', 'ticket.assigned', 'comment.created'));

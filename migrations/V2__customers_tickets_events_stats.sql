-- CRM resources: customers, tickets, their timeline, the outbox of ticket events, the
-- notification log, idempotency keys, and per-tenant counters for O(1) stats.
-- Same rules as V1: tenant tables keyed (tenant_id, id), composite foreign keys so a row
-- can never point into another tenant, RLS enabled and forced everywhere.

CREATE TABLE customers (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    phone       text CHECK (length(phone) BETWEEN 1 AND 50),
    company     text CHECK (length(company) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- One customer per address within a tenant; other tenants may reuse it.
CREATE UNIQUE INDEX customers_tenant_email_key ON customers (tenant_id, lower(email));
-- No trigram index for `q`: LIKE is not LEAKPROOF, so under row-level security PostgreSQL
-- never uses an index for it. The search walks the tenant's keyset (id descending) and
-- stops once a page is full: fast for common terms, a scan of the tenant for rare ones.

CREATE TABLE tickets (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    customer_id  uuid NOT NULL,
    assignee_id  uuid,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  text NOT NULL CHECK (length(description) <= 10000),
    status       text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'IN_PROGRESS', 'RESOLVED')),
    priority     text NOT NULL DEFAULT 'MEDIUM' CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tickets_resolved_at_matches_status CHECK ((status = 'RESOLVED') = (resolved_at IS NOT NULL)),
    -- A customer's resolved tickets go with it; open ones block its deletion (the service
    -- checks first, answering 409).
    CONSTRAINT tickets_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT tickets_assignee_fkey FOREIGN KEY (tenant_id, assignee_id)
        REFERENCES users (tenant_id, id)
);
-- Every list filter is a keyset scan: equality prefix, then id descending (newest first).
CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, id DESC);
CREATE INDEX tickets_priority_idx ON tickets (tenant_id, priority, id DESC);
CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id, id DESC);
CREATE INDEX tickets_customer_idx ON tickets (tenant_id, customer_id, id DESC);

-- The timeline: written in the same transaction as the change it records.
CREATE TABLE ticket_events (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    ticket_id   uuid NOT NULL,
    actor_id    uuid NOT NULL,
    type        text NOT NULL CHECK (type IN ('created', 'status_changed', 'assigned', 'updated')),
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, actor_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (tenant_id, ticket_id, id);

-- Transactional outbox: one row per ticket event, committed with the change. Delivery
-- (SQS, the sweeper) marks `published_at`.
CREATE TABLE outbox (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    event_type    text NOT NULL CHECK (event_type IN ('ticket.created', 'ticket.status_changed', 'ticket.assigned')),
    ticket_id     uuid NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- Event ids are global: the consumer deduplicates on them alone.
CREATE UNIQUE INDEX outbox_id_key ON outbox (id);
CREATE INDEX outbox_unpublished_idx ON outbox (created_at) WHERE published_at IS NULL;

-- The notification log the consumer writes; one row per event id, however often delivered.
CREATE TABLE notifications (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    event_id    uuid NOT NULL,
    ticket_id   uuid NOT NULL,
    event_type  text NOT NULL,
    message     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX notifications_event_key ON notifications (event_id);
CREATE INDEX notifications_ticket_idx ON notifications (tenant_id, ticket_id, id DESC);

-- A retried POST with the same Idempotency-Key answers the stored response; the key is
-- claimed in the same transaction as the resource it creates.
CREATE TABLE idempotency_keys (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    route            text NOT NULL,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash     bytea NOT NULL,
    response_status  smallint,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, route, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Stats in O(1): counters kept by triggers in the same transaction as every ticket and
-- customer change (cascades included). Each tenant's counters are spread over 16 slots so
-- concurrent writers rarely wait on the same row; reading sums at most 16 rows. A
-- transaction always writes the slot of its own id, so it holds at most one counter row
-- and two transactions can never deadlock over counters.
CREATE TABLE tenant_stats (
    tenant_id                 uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slot                      smallint NOT NULL CHECK (slot BETWEEN 0 AND 15),
    total_tickets             bigint NOT NULL DEFAULT 0,
    open                      bigint NOT NULL DEFAULT 0,
    in_progress               bigint NOT NULL DEFAULT 0,
    resolved                  bigint NOT NULL DEFAULT 0,
    low                       bigint NOT NULL DEFAULT 0,
    medium                    bigint NOT NULL DEFAULT 0,
    high                      bigint NOT NULL DEFAULT 0,
    urgent                    bigint NOT NULL DEFAULT 0,
    total_customers           bigint NOT NULL DEFAULT 0,
    -- Sum over resolved tickets of (resolved_at - created_at), for the average.
    resolution_seconds_sum    double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot)
);

CREATE FUNCTION stats_add(
    p_tenant uuid, p_total bigint, p_status text, p_status_delta bigint, p_priority text,
    p_priority_delta bigint, p_customers bigint, p_resolution double precision
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tenant_stats AS s (tenant_id, slot, total_tickets, open, in_progress, resolved,
                                   low, medium, high, urgent, total_customers, resolution_seconds_sum)
    VALUES (
        p_tenant, (txid_current() % 16)::smallint, p_total,
        CASE WHEN p_status = 'OPEN' THEN p_status_delta ELSE 0 END,
        CASE WHEN p_status = 'IN_PROGRESS' THEN p_status_delta ELSE 0 END,
        CASE WHEN p_status = 'RESOLVED' THEN p_status_delta ELSE 0 END,
        CASE WHEN p_priority = 'LOW' THEN p_priority_delta ELSE 0 END,
        CASE WHEN p_priority = 'MEDIUM' THEN p_priority_delta ELSE 0 END,
        CASE WHEN p_priority = 'HIGH' THEN p_priority_delta ELSE 0 END,
        CASE WHEN p_priority = 'URGENT' THEN p_priority_delta ELSE 0 END,
        p_customers, p_resolution
    )
    ON CONFLICT (tenant_id, slot) DO UPDATE SET
        total_tickets = s.total_tickets + EXCLUDED.total_tickets,
        open = s.open + EXCLUDED.open,
        in_progress = s.in_progress + EXCLUDED.in_progress,
        resolved = s.resolved + EXCLUDED.resolved,
        low = s.low + EXCLUDED.low,
        medium = s.medium + EXCLUDED.medium,
        high = s.high + EXCLUDED.high,
        urgent = s.urgent + EXCLUDED.urgent,
        total_customers = s.total_customers + EXCLUDED.total_customers,
        resolution_seconds_sum = s.resolution_seconds_sum + EXCLUDED.resolution_seconds_sum
$$;

CREATE FUNCTION resolution_seconds(t tickets) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t.status = 'RESOLVED' THEN extract(epoch FROM t.resolved_at - t.created_at)::double precision ELSE 0 END
$$;

CREATE FUNCTION tickets_stats_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM stats_add(OLD.tenant_id, -1, OLD.status, -1, OLD.priority, -1, 0, -resolution_seconds(OLD));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM stats_add(NEW.tenant_id, 1, NEW.status, 1, NEW.priority, 1, 0, resolution_seconds(NEW));
    END IF;
    RETURN NULL;
END $$;
-- Only changes that move a counter fire it.
CREATE TRIGGER tickets_stats_insert_delete AFTER INSERT OR DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_stats_trigger();
CREATE TRIGGER tickets_stats_update AFTER UPDATE OF status, priority, resolved_at ON tickets
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.priority IS DISTINCT FROM NEW.priority
          OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at)
    EXECUTE FUNCTION tickets_stats_trigger();

CREATE FUNCTION customers_stats_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM stats_add(NEW.tenant_id, 0, NULL, 0, NULL, 0, 1, 0);
    ELSE
        PERFORM stats_add(OLD.tenant_id, 0, NULL, 0, NULL, 0, -1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_stats AFTER INSERT OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_stats_trigger();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'tickets', 'ticket_events', 'outbox', 'notifications', 'idempotency_keys', 'tenant_stats']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crm_app', t);
    END LOOP;
END $$;

-- Webhooks: endpoints a tenant's admins register, and one delivery row per event and
-- endpoint. The consumer writes the deliveries in the transaction that consumes the event
-- (so a redelivered event adds none: one row per endpoint and event id); the
-- webhook-dispatcher leases a due row, posts it, and records the outcome.
CREATE TABLE webhooks (
    tenant_id                uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                       uuid NOT NULL,
    url                      text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
    -- Event types, or '*' for every type.
    events                   text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 20),
    description              text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    active                   boolean NOT NULL DEFAULT true,
    -- `whsec_` + base64 of 32 random bytes: the HMAC key must be recoverable to sign, so it
    -- is stored as is; no list or read answers it.
    secret                   text NOT NULL,
    -- The secret before the last rotation, still signed with until it expires (24 h).
    previous_secret          text,
    previous_secret_expires  timestamptz,
    -- Deliveries that ended FAILED in a row, and since when the endpoint has only failed.
    consecutive_failures     integer NOT NULL DEFAULT 0,
    failing_since            timestamptz,
    deactivated_at           timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- The endpoints an event fans out to: the tenant's active ones.
CREATE INDEX webhooks_active_idx ON webhooks (tenant_id) WHERE active;

CREATE TABLE webhook_deliveries (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    webhook_id       uuid NOT NULL,
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    -- The body posted on every attempt: `{type, timestamp, data}`.
    payload          jsonb NOT NULL,
    -- Attempts made so far.
    attempt          integer NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    response_status  integer,
    duration_ms      integer,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz,
    -- A dispatcher posting it holds it until then; another one skips it meanwhile.
    leased_until     timestamptz,
    -- The sweeper re-drove it to the queue; it does not again until then.
    requeue_after    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_due_while_pending CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (tenant_id, webhook_id, event_id);
-- An endpoint's delivery log, newest first.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (tenant_id, webhook_id, id);
-- Due deliveries of every tenant, for the sweeper's re-drive.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhooks', 'webhook_deliveries']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crm_app', t);
    END LOOP;
END $$;

-- The sweeper re-drives deliveries whose message was lost (a send that failed after the
-- consumer's commit, a dispatcher that died): due for p_min_age, not being posted, not
-- re-driven within p_requeue. It sees every tenant's due deliveries and only their ids:
-- as for the outbox (V3, V10), one SECURITY DEFINER function owned by crm_outbox is the
-- door. A duplicate message is harmless: the dispatcher leases a row before posting it.
GRANT SELECT (tenant_id, id, status, next_attempt_at, leased_until, requeue_after), UPDATE (requeue_after)
    ON webhook_deliveries TO crm_outbox;
CREATE POLICY redrive_due ON webhook_deliveries AS PERMISSIVE FOR ALL TO crm_outbox
    USING (status = 'PENDING');
CREATE FUNCTION webhook_deliveries_redrive(p_min_age interval, p_limit integer, p_requeue interval)
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    UPDATE public.webhook_deliveries d SET requeue_after = clock_timestamp() + p_requeue
    FROM (
        SELECT s.tenant_id, s.id FROM public.webhook_deliveries s
        WHERE s.status = 'PENDING' AND s.next_attempt_at <= clock_timestamp() - p_min_age
          AND (s.leased_until IS NULL OR s.leased_until <= clock_timestamp())
          AND (s.requeue_after IS NULL OR s.requeue_after <= clock_timestamp())
        ORDER BY s.next_attempt_at
        LIMIT least(greatest(p_limit, 1), 500)
        FOR UPDATE SKIP LOCKED
    ) due
    WHERE d.tenant_id = due.tenant_id AND d.id = due.id
    RETURNING d.tenant_id, d.id
$$;
ALTER FUNCTION webhook_deliveries_redrive(interval, integer, interval) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION webhook_deliveries_redrive(interval, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_deliveries_redrive(interval, integer, interval) TO crm_app;

ALTER TABLE outbox DROP CONSTRAINT outbox_event_type_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_type_check
    CHECK (event_type IN ('ticket.created', 'ticket.updated', 'ticket.status_changed', 'ticket.assigned',
                          'ticket.sla_breached', 'comment.created', 'attachment.added'));

-- Time-ordered ids made by the database, for the deliveries the consumer fans out (one
-- per matching endpoint, a number the consumer does not know before the statement): the
-- first 48 bits are the Unix time in milliseconds and the version nibble says 7, as the
-- app's UUIDv7 do, so the delivery log pages newest first by id like every other list.
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

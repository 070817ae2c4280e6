-- Service levels and tags.
--
-- Business time is computed by the database: it has the IANA time zone database itself
-- (no zone tables in any Lambda zip), and the due dates of a ticket are written by the
-- statement that writes the ticket, in its own round trip, by a trigger.

-- One policy per tenant. `business_hours` is null (24/7) or {"mon": [["09:00","17:00"], ...], ...}
-- with sorted, disjoint intervals per weekday ("24:00" ends a day); `targets` maps a
-- priority to {"firstResponseMinutes": n, "resolutionMinutes": n} in business minutes.
-- `version` counts changes; `recomputed_version` is the version every open ticket's due
-- dates follow (the monitor catches up the rest in batches).
CREATE TABLE sla_policies (
    tenant_id           uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    timezone            text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    business_hours      jsonb,
    holidays            date[] NOT NULL DEFAULT '{}' CHECK (cardinality(holidays) <= 400),
    targets             jsonb NOT NULL DEFAULT '{}',
    version             bigint NOT NULL DEFAULT 1,
    recomputed_version  bigint NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE sla_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE sla_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sla_policies
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE ON sla_policies TO crm_app;

-- The instant a wall-clock time of `p_tz` names: for a time that occurs twice (clocks set
-- back) the first; for one that never occurs (clocks set forward) the instant the clocks
-- jump, the first whose wall-clock time is later. PostgreSQL itself takes the later
-- occurrence, and for a skipped time the offset before the jump.
CREATE FUNCTION sla_instant(p_local timestamp, p_tz text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    moment timestamptz := p_local AT TIME ZONE p_tz;
    probe timestamp;
    earlier timestamptz;
BEGIN
    IF (moment AT TIME ZONE p_tz) <> p_local THEN
        FOR k IN 1..1440 LOOP
            probe := p_local + make_interval(mins => k);
            moment := probe AT TIME ZONE p_tz;
            EXIT WHEN (moment AT TIME ZONE p_tz) = probe;
        END LOOP;
        RETURN moment;
    END IF;
    -- Only an offset that changed within the last hours makes a time occur twice.
    IF ((moment - interval '4 hours') AT TIME ZONE p_tz) = p_local - interval '4 hours' THEN
        RETURN moment;
    END IF;
    FOR k IN REVERSE 8..1 LOOP
        earlier := moment - make_interval(mins => 30 * k);
        IF (earlier AT TIME ZONE p_tz) = p_local THEN
            RETURN earlier;
        END IF;
    END LOOP;
    RETURN moment;
END $$;

-- `p_minutes` business minutes after `p_start`: the instant at which the business time
-- in [p_start, instant) reaches p_minutes. A local date that is a holiday has none; any
-- other has, per interval [s, e) of its weekday, the instants from sla_instant(date + s)
-- to sla_instant(date + e). Null hours are 24/7. Null when no business time is found
-- within ten years (a policy whose days are all holidays).
CREATE FUNCTION sla_business_add(
    p_tz text, p_hours jsonb, p_holidays date[], p_start timestamptz, p_minutes integer
) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    remaining double precision := p_minutes * 60.0;
    d date;
    intervals jsonb;
    span jsonb;
    opens timestamptz;
    closes timestamptz;
    available double precision;
    weekdays constant text[] := ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
BEGIN
    IF p_minutes IS NULL OR p_start IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_hours IS NULL AND cardinality(p_holidays) = 0 THEN
        RETURN p_start + make_interval(secs => remaining);
    END IF;
    -- The day before: where clocks go back at midnight, its last hour follows this day's first.
    d := (p_start AT TIME ZONE p_tz)::date - 1;
    FOR n IN 0..3660 LOOP
        IF NOT d = ANY (p_holidays) THEN
            intervals := CASE WHEN p_hours IS NULL THEN '[["00:00", "24:00"]]'::jsonb
                              ELSE coalesce(p_hours -> weekdays[extract(isodow FROM d)::int], '[]'::jsonb) END;
            FOR span IN SELECT value FROM jsonb_array_elements(intervals) LOOP
                opens := greatest(sla_instant(d + (span ->> 0)::time, p_tz), p_start);
                closes := sla_instant(d + (span ->> 1)::time, p_tz);
                IF closes > opens THEN
                    available := extract(epoch FROM closes) - extract(epoch FROM opens);
                    IF available >= remaining THEN
                        RETURN opens + make_interval(secs => remaining);
                    END IF;
                    remaining := remaining - available;
                END IF;
            END LOOP;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN NULL;
END $$;

ALTER TABLE tickets
    ADD COLUMN first_response_due_at timestamptz,
    ADD COLUMN resolution_due_at timestamptz,
    ADD COLUMN first_response_breached_at timestamptz,
    ADD COLUMN resolution_breached_at timestamptz,
    ADD COLUMN sla_policy_version bigint NOT NULL DEFAULT 0,
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    -- The earliest due date of a clock whose outcome is not known yet: still running, or
    -- stopped late and not yet recorded as breached. Null when there is none. The monitor
    -- and `?dueBefore=` read it through an index.
    ADD COLUMN sla_watch_at timestamptz GENERATED ALWAYS AS (
        least(
            CASE WHEN first_response_breached_at IS NULL
                  AND (least(first_responded_at, resolved_at) IS NULL
                       OR least(first_responded_at, resolved_at) > first_response_due_at)
                 THEN first_response_due_at END,
            CASE WHEN resolution_breached_at IS NULL
                  AND (resolved_at IS NULL OR resolved_at > resolution_due_at)
                 THEN resolution_due_at END)
    ) STORED;

CREATE INDEX tickets_sla_watch_idx ON tickets (tenant_id, sla_watch_at) WHERE sla_watch_at IS NOT NULL;
CREATE INDEX tickets_sla_monitor_idx ON tickets (sla_watch_at) WHERE sla_watch_at IS NOT NULL;
CREATE INDEX tickets_breached_idx ON tickets (tenant_id, id)
    WHERE first_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL;
CREATE INDEX tickets_sla_stale_idx ON tickets (tenant_id, sla_policy_version) WHERE resolved_at IS NULL;

-- A ticket's due dates under its tenant's policy as it is now, and that policy's version
-- (0: no policy).
CREATE FUNCTION sla_due_dates(
    p_tenant uuid, p_priority text, p_created timestamptz,
    OUT first_response_due_at timestamptz, OUT resolution_due_at timestamptz, OUT version bigint
)
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $$
DECLARE
    p sla_policies;
BEGIN
    SELECT * INTO p FROM sla_policies WHERE tenant_id = p_tenant;
    IF NOT FOUND THEN
        version := 0;
        RETURN;
    END IF;
    version := p.version;
    first_response_due_at := sla_business_add(p.timezone, p.business_hours, p.holidays, p_created,
                                              (p.targets -> p_priority ->> 'firstResponseMinutes')::integer);
    resolution_due_at := sla_business_add(p.timezone, p.business_hours, p.holidays, p_created,
                                          (p.targets -> p_priority ->> 'resolutionMinutes')::integer);
END $$;

CREATE FUNCTION tickets_sla_due_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    SELECT d.first_response_due_at, d.resolution_due_at, d.version
      INTO NEW.first_response_due_at, NEW.resolution_due_at, NEW.sla_policy_version
      FROM sla_due_dates(NEW.tenant_id, NEW.priority, NEW.created_at) d;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_sla_due_insert BEFORE INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_sla_due_trigger();
CREATE TRIGGER tickets_sla_due_priority BEFORE UPDATE OF priority ON tickets
    FOR EACH ROW WHEN (OLD.priority IS DISTINCT FROM NEW.priority)
    EXECUTE FUNCTION tickets_sla_due_trigger();

-- The monitor's door to every tenant: which tenants have a clock due by now, or open
-- tickets whose due dates follow an older policy. Tenant ids only; the monitor then
-- works each tenant in its own unit of work under row-level security.
GRANT SELECT (tenant_id, sla_watch_at) ON tickets TO crm_outbox;
CREATE POLICY sla_monitor_watch ON tickets AS PERMISSIVE FOR SELECT TO crm_outbox
    USING (sla_watch_at IS NOT NULL);
GRANT SELECT (tenant_id, version, recomputed_version) ON sla_policies TO crm_outbox;
CREATE POLICY sla_monitor_stale ON sla_policies AS PERMISSIVE FOR SELECT TO crm_outbox
    USING (recomputed_version < version);
CREATE FUNCTION sla_monitor_tenants(p_limit integer) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT DISTINCT tenant_id FROM (
        SELECT t.tenant_id FROM public.tickets t
        WHERE t.sla_watch_at IS NOT NULL AND t.sla_watch_at <= clock_timestamp()
        ORDER BY t.sla_watch_at
        LIMIT least(greatest(p_limit, 1), 5000)
    ) due
    UNION
    SELECT p.tenant_id FROM public.sla_policies p WHERE p.recomputed_version < p.version
$$;
ALTER FUNCTION sla_monitor_tenants(integer) OWNER TO crm_outbox;
REVOKE ALL ON FUNCTION sla_monitor_tenants(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sla_monitor_tenants(integer) TO crm_app;

-- Tags: the array on the ticket is what the API shows; ticket_tags indexes it with plain
-- equality (leakproof, so row-level security lets the runtime role's `?tag=` use the
-- index, which an array operator on a GIN index would not), and tag_counts keeps the
-- counts of GET /tags in slots, as tenant_stats does, so no tag is one hot row. A slot
-- whose count falls to zero stays (GET /tags skips it).
CREATE TABLE ticket_tags (
    tenant_id  uuid NOT NULL,
    tag        text NOT NULL CHECK (length(tag) BETWEEN 1 AND 50),
    ticket_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, tag, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_tags_ticket_idx ON ticket_tags (tenant_id, ticket_id);

CREATE TABLE tag_counts (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    tag        text NOT NULL,
    slot       smallint NOT NULL CHECK (slot BETWEEN 0 AND 15),
    count      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, tag, slot)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ticket_tags', 'tag_counts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crm_app', t);
    END LOOP;
END $$;

-- One row trigger keeps both: the index rows of the tags added and removed, and their
-- counts (a deleted ticket's index rows go with it by the cascade; its counts here).
CREATE FUNCTION tickets_tags_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    old_tags text[] := CASE WHEN TG_OP = 'INSERT' THEN '{}' ELSE OLD.tags END;
    new_tags text[] := CASE WHEN TG_OP = 'DELETE' THEN '{}' ELSE NEW.tags END;
    tenant uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    added text[] := ARRAY(SELECT unnest(new_tags) EXCEPT SELECT unnest(old_tags));
    removed text[] := ARRAY(SELECT unnest(old_tags) EXCEPT SELECT unnest(new_tags));
BEGIN
    IF TG_OP = 'UPDATE' AND cardinality(removed) > 0 THEN
        DELETE FROM ticket_tags WHERE tenant_id = tenant AND ticket_id = OLD.id AND tag = ANY (removed);
    END IF;
    IF cardinality(added) > 0 THEN
        INSERT INTO ticket_tags (tenant_id, tag, ticket_id) SELECT tenant, tag, NEW.id FROM unnest(added) tag;
    END IF;
    INSERT INTO tag_counts AS c (tenant_id, tag, slot, count)
    SELECT tenant, tag, (txid_current() % 16)::smallint, delta
    FROM (SELECT tag, 1 AS delta FROM unnest(added) tag UNION ALL SELECT tag, -1 FROM unnest(removed) tag) d
    ON CONFLICT (tenant_id, tag, slot) DO UPDATE SET count = c.count + EXCLUDED.count;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_tags_insert AFTER INSERT ON tickets
    FOR EACH ROW WHEN (cardinality(NEW.tags) > 0) EXECUTE FUNCTION tickets_tags_trigger();
CREATE TRIGGER tickets_tags_update AFTER UPDATE OF tags ON tickets
    FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION tickets_tags_trigger();
CREATE TRIGGER tickets_tags_delete AFTER DELETE ON tickets
    FOR EACH ROW WHEN (cardinality(OLD.tags) > 0) EXECUTE FUNCTION tickets_tags_trigger();

-- SLA counters in the stats slots, as a ticket's contribution: each change takes the old
-- row's out and puts the new row's in, so the sums always equal a recount of the rows.
ALTER TABLE tenant_stats
    ADD COLUMN sla_first_response_met bigint NOT NULL DEFAULT 0,
    ADD COLUMN sla_first_response_breached bigint NOT NULL DEFAULT 0,
    ADD COLUMN sla_resolution_met bigint NOT NULL DEFAULT 0,
    ADD COLUMN sla_resolution_breached bigint NOT NULL DEFAULT 0,
    ADD COLUMN first_responses bigint NOT NULL DEFAULT 0,
    ADD COLUMN first_response_seconds_sum double precision NOT NULL DEFAULT 0;

-- A first-response clock is met when the ticket was answered (or resolved) by its due
-- date and no breach was recorded; a resolution clock when it was resolved by its due date.
CREATE FUNCTION sla_contribution(t tickets, OUT fr_met bigint, OUT fr_breached bigint, OUT res_met bigint,
                                 OUT res_breached bigint, OUT responses bigint, OUT response_seconds double precision)
LANGUAGE sql IMMUTABLE AS $$
    SELECT
        coalesce(t.first_response_due_at IS NOT NULL AND t.first_response_breached_at IS NULL
                 AND least(t.first_responded_at, t.resolved_at) <= t.first_response_due_at, false)::int::bigint,
        (t.first_response_breached_at IS NOT NULL)::int::bigint,
        coalesce(t.resolution_due_at IS NOT NULL AND t.resolution_breached_at IS NULL
                 AND t.resolved_at <= t.resolution_due_at, false)::int::bigint,
        (t.resolution_breached_at IS NOT NULL)::int::bigint,
        (t.first_responded_at IS NOT NULL)::int::bigint,
        coalesce(extract(epoch FROM t.first_responded_at - t.created_at)::double precision, 0)
$$;

CREATE FUNCTION tickets_sla_stats_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    o record;
    n record;
    sign_old int := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN 1 ELSE 0 END;
    sign_new int := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN 1 ELSE 0 END;
    tenant uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
    IF sign_old = 1 THEN o := sla_contribution(OLD); ELSE o := sla_contribution(NULL::tickets); END IF;
    IF sign_new = 1 THEN n := sla_contribution(NEW); ELSE n := sla_contribution(NULL::tickets); END IF;
    IF (o.fr_met, o.fr_breached, o.res_met, o.res_breached, o.responses, o.response_seconds)
       IS NOT DISTINCT FROM (n.fr_met, n.fr_breached, n.res_met, n.res_breached, n.responses, n.response_seconds) THEN
        RETURN NULL;
    END IF;
    INSERT INTO tenant_stats AS s (tenant_id, slot, sla_first_response_met, sla_first_response_breached,
                                   sla_resolution_met, sla_resolution_breached, first_responses,
                                   first_response_seconds_sum)
    VALUES (tenant, (txid_current() % 16)::smallint, n.fr_met - o.fr_met, n.fr_breached - o.fr_breached,
            n.res_met - o.res_met, n.res_breached - o.res_breached, n.responses - o.responses,
            n.response_seconds - o.response_seconds)
    ON CONFLICT (tenant_id, slot) DO UPDATE SET
        sla_first_response_met = s.sla_first_response_met + EXCLUDED.sla_first_response_met,
        sla_first_response_breached = s.sla_first_response_breached + EXCLUDED.sla_first_response_breached,
        sla_resolution_met = s.sla_resolution_met + EXCLUDED.sla_resolution_met,
        sla_resolution_breached = s.sla_resolution_breached + EXCLUDED.sla_resolution_breached,
        first_responses = s.first_responses + EXCLUDED.first_responses,
        first_response_seconds_sum = s.first_response_seconds_sum + EXCLUDED.first_response_seconds_sum;
    RETURN NULL;
END $$;
-- A new ticket contributes nothing until a clock stops or breaches; deletes take theirs out.
CREATE TRIGGER tickets_sla_stats_delete AFTER DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_sla_stats_trigger();
CREATE TRIGGER tickets_sla_stats_insert AFTER INSERT ON tickets
    FOR EACH ROW
    WHEN (NEW.first_responded_at IS NOT NULL OR NEW.resolved_at IS NOT NULL
          OR NEW.first_response_breached_at IS NOT NULL OR NEW.resolution_breached_at IS NOT NULL)
    EXECUTE FUNCTION tickets_sla_stats_trigger();
CREATE TRIGGER tickets_sla_stats_update AFTER UPDATE ON tickets
    FOR EACH ROW
    WHEN (OLD.first_responded_at IS DISTINCT FROM NEW.first_responded_at
          OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
          OR OLD.first_response_due_at IS DISTINCT FROM NEW.first_response_due_at
          OR OLD.resolution_due_at IS DISTINCT FROM NEW.resolution_due_at
          OR OLD.first_response_breached_at IS DISTINCT FROM NEW.first_response_breached_at
          OR OLD.resolution_breached_at IS DISTINCT FROM NEW.resolution_breached_at)
    EXECUTE FUNCTION tickets_sla_stats_trigger();

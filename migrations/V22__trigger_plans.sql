-- The row triggers on tickets and customers, made cheap per row. Measured with perf under
-- POST /tickets at 32 clients: a LANGUAGE sql function called from PL/pgSQL is parsed and
-- planned again on every call (its plan lives only as long as the calling expression), so
-- stats_add alone, once per ticket and customer write, took a fifth of the server's time;
-- a PL/pgSQL body keeps its plans for the session. And the due-date trigger ran a table
-- function (sla_due_dates) for every new ticket, also for tenants without an SLA policy,
-- who are most of them: it now looks for the policy first.

CREATE OR REPLACE FUNCTION stats_add(
    p_tenant uuid, p_total bigint, p_status text, p_status_delta bigint, p_priority text,
    p_priority_delta bigint, p_customers bigint, p_resolution double precision
) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
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
        resolution_seconds_sum = s.resolution_seconds_sum + EXCLUDED.resolution_seconds_sum;
END $$;

-- Called twice per change of a ticket's SLA clocks; the same expressions as before.
CREATE OR REPLACE FUNCTION sla_contribution(t tickets, OUT fr_met bigint, OUT fr_breached bigint, OUT res_met bigint,
                                            OUT res_breached bigint, OUT responses bigint,
                                            OUT response_seconds double precision)
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    fr_met := coalesce(t.first_response_due_at IS NOT NULL AND t.first_response_breached_at IS NULL
                       AND least(t.first_responded_at, t.resolved_at) <= t.first_response_due_at, false)::int;
    fr_breached := (t.first_response_breached_at IS NOT NULL)::int;
    res_met := coalesce(t.resolution_due_at IS NOT NULL AND t.resolution_breached_at IS NULL
                        AND t.resolved_at <= t.resolution_due_at, false)::int;
    res_breached := (t.resolution_breached_at IS NOT NULL)::int;
    responses := (t.first_responded_at IS NOT NULL)::int;
    response_seconds := coalesce(extract(epoch FROM t.first_responded_at - t.created_at)::double precision, 0);
END $$;

CREATE OR REPLACE FUNCTION tickets_sla_due_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    due record;
BEGIN
    IF NOT EXISTS (SELECT FROM sla_policies p WHERE p.tenant_id = NEW.tenant_id) THEN
        NEW.first_response_due_at := NULL;
        NEW.resolution_due_at := NULL;
        NEW.sla_policy_version := 0;
        RETURN NEW;
    END IF;
    due := sla_due_dates(NEW.tenant_id, NEW.priority, NEW.created_at);
    NEW.first_response_due_at := due.first_response_due_at;
    NEW.resolution_due_at := due.resolution_due_at;
    NEW.sla_policy_version := due.version;
    RETURN NEW;
END $$;

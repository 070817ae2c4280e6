-- GET /stats: stats/repository.rs `get` (16 counter slots at most, whatever the tenant's size).
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
SELECT role, disabled FROM users WHERE tenant_id = :tenant AND id = :actor;
\endpipeline
SELECT coalesce(sum(total_tickets), 0)::bigint AS total_tickets, coalesce(sum(open), 0)::bigint AS open,
        coalesce(sum(in_progress), 0)::bigint AS in_progress, coalesce(sum(resolved), 0)::bigint AS resolved,
        coalesce(sum(total_customers), 0)::bigint AS total_customers,
        coalesce(sum(low), 0)::bigint AS low, coalesce(sum(medium), 0)::bigint AS medium,
        coalesce(sum(high), 0)::bigint AS high, coalesce(sum(urgent), 0)::bigint AS urgent,
        coalesce(sum(resolution_seconds_sum), 0)::double precision AS resolution_seconds_sum,
        coalesce(sum(sla_first_response_met), 0)::bigint AS fr_met,
        coalesce(sum(sla_first_response_breached), 0)::bigint AS fr_breached,
        coalesce(sum(sla_resolution_met), 0)::bigint AS res_met,
        coalesce(sum(sla_resolution_breached), 0)::bigint AS res_breached,
        coalesce(sum(first_responses), 0)::bigint AS first_responses,
        coalesce(sum(first_response_seconds_sum), 0)::double precision AS first_response_seconds_sum
    FROM tenant_stats WHERE tenant_id = :tenant;
COMMIT;

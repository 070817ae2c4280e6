-- The tenant every file in events/ refers to (written by events/generate.py).
-- Apply after the migrations: psql "$DATABASE_URL" -f events/seed.sql
-- Re-running it resets that tenant and leaves every other one alone.
BEGIN;
DELETE FROM tenants WHERE id IN ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000010');
DELETE FROM signups WHERE tenant_id = '0195f000-0000-7000-8000-000000000010';
DELETE FROM users WHERE lower(email) IN ('owner@sam-local.example', 'new-agent@sam-local.example', 'invited@sam-local.example');
INSERT INTO tenants (id, name) VALUES ('0195f000-0000-7000-8000-000000000001', 'Acme (sam local)');
-- The admin's password is REGISTER_PASSWORD (auth-password-change proves it); nobody
-- signs in as the agent (no password matches its hash).
INSERT INTO users (tenant_id, id, email, name, role, password_hash) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000002', 'admin@acme-sam-local.example', 'Ada Admin', 'admin', '$argon2id$v=19$m=19456,t=2,p=1$LrYxV8Ghk2d4cxM5dJr0kw$5pd2HL8XF9g7bvUUsQV1kSIlwLaBSlylYQRevRS+o68'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000003', 'agent@acme-sam-local.example', 'Alan Agent', 'agent', '$argon2id$v=19$m=19456,t=2,p=1$c2FtLWxvY2FsLXNlZWQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000008', '0195f000-0000-7000-8000-000000000002', '0195f000-0000-7000-8000-00000000000a', '\x76f142b83af7ddeb1d285e8902b0e8f2dfcc1188b9de5881be6e35ca835ebb86', '2100-01-01'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000009', '0195f000-0000-7000-8000-000000000002', '0195f000-0000-7000-8000-000000000009', '\x5f99aeb8a93d0dea80971f9cbe72f41ee0be95971d14ba94008d2506476094ad', '2100-01-01');
-- A sign-up waiting for its link (auth-verify-email creates its tenant and admin, whom
-- auth-login then signs in), a password reset of the admin and an invitation.
INSERT INTO signups (tenant_id, id, email, name, tenant_name, password_hash, token_hash, expires_at) VALUES
    ('0195f000-0000-7000-8000-000000000010', '0195f000-0000-7000-8000-000000000011', 'owner@sam-local.example', 'Sam', 'Sam Local Ltd', '$argon2id$v=19$m=19456,t=2,p=1$LrYxV8Ghk2d4cxM5dJr0kw$5pd2HL8XF9g7bvUUsQV1kSIlwLaBSlylYQRevRS+o68', '\x1432208e2ec97bf8aea44d76f0528ce2b9c779daf2542dd63eec47ac400c95c3', '2100-01-01');
INSERT INTO password_resets (tenant_id, id, user_id, token_hash, expires_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000012', '0195f000-0000-7000-8000-000000000002', '\xaa374bcfa9cbe6e421eb5e9115a26ef8f810d2a6b136e415b7738ffb923690af', '2100-01-01');
INSERT INTO invitations (tenant_id, id, email, name, role, invited_by, token_hash, expires_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000013', 'invited@sam-local.example', 'Ike Invited', 'agent', '0195f000-0000-7000-8000-000000000002', '\x00820095ac2a9f95b6e388c180e2902cc55e75ed3bfdf9f966f45596fd496a85', '2100-01-01');
INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000014', 'Old integration', 'agent', 'samlocalkeyaaaaa', '\xbf442e3580717490aa0fd1866ee6df1a2bea18e482d7185ba01010e313159d57');
INSERT INTO customers (tenant_id, id, name, email) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000004', 'Initech', 'support@initech.example'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000005', 'Hooli', 'hello@hooli.example'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000018', 'Vandelay Industries', 'art@vandelay.example');
-- The service-level policy first: a ticket's due dates are set when it is inserted.
INSERT INTO sla_policies (tenant_id, timezone, business_hours, holidays, targets, version, recomputed_version) VALUES
    ('0195f000-0000-7000-8000-000000000001', 'Europe/Berlin', '{"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": []}', '{2026-12-25,2026-12-26}', '{"MEDIUM": {"firstResponseMinutes": 60, "resolutionMinutes": 480}}', 1, 1);
INSERT INTO tickets (tenant_id, id, customer_id, title, description, tags, created_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000006', '0195f000-0000-7000-8000-000000000004', 'Cannot log in', 'Password reset mail never arrives', '{login,email}', '2026-11-25T12:00:00Z');
INSERT INTO attachments (tenant_id, id, ticket_id, file_name, content_type, size, author_id) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000015', '0195f000-0000-7000-8000-000000000006', 'screenshot.png', 'image/png', 48213, '0195f000-0000-7000-8000-000000000002');
-- A webhook whose delivery of the ticket's ticket.created event failed every attempt: the
-- dispatcher's message about it changes nothing, webhooks-redeliver starts it over.
INSERT INTO webhooks (tenant_id, id, url, events, description, secret, consecutive_failures, failing_since) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000016', 'https://hooks.example.com/simplecrm', '{ticket.created,comment.created}', 'Warehouse sync', 'whsec_f5aqKqI3or1k4uOKZQmAylnP+luItlQfzBMhUBT9a54=', 1, '2026-11-25T12:00:05Z');
INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, attempt, status, response_status, duration_ms, created_at, next_attempt_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000017', '0195f000-0000-7000-8000-000000000016', '0195f000-0000-7000-8000-000000000007', 'ticket.created', '{"type":"ticket.created","timestamp":"2026-11-25T12:00:00Z","data":{}}', 7, 'FAILED', 503, 87, '2026-11-25T12:00:01Z', NULL);
-- An export the admin asked for, not yet run: tenant-export's message names it.
INSERT INTO tenant_exports (tenant_id, id, requested_by, created_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000019', '0195f000-0000-7000-8000-000000000002', '2026-11-25T12:00:02Z');
COMMIT;

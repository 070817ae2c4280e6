-- The tenant every file in events/ refers to (written by events/generate.py).
-- Apply after the migrations: psql "$DATABASE_URL" -f events/seed.sql
-- Re-running it resets that tenant and leaves every other one alone.
BEGIN;
DELETE FROM tenants WHERE id = '0195f000-0000-7000-8000-000000000001';
DELETE FROM users WHERE lower(email) IN ('owner@sam-local.example', 'new-agent@sam-local.example');
DELETE FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t.id) AND t.name = 'Sam Local Ltd';
INSERT INTO tenants (id, name) VALUES ('0195f000-0000-7000-8000-000000000001', 'Acme (sam local)');
-- Nobody signs in as these two (no password matches the hash); auth-login signs in the
-- user that auth-register creates.
INSERT INTO users (tenant_id, id, email, name, role, password_hash) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000002', 'admin@acme-sam-local.example', 'Ada Admin', 'admin', '$argon2id$v=19$m=19456,t=2,p=1$c2FtLWxvY2FsLXNlZWQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000003', 'agent@acme-sam-local.example', 'Alan Agent', 'agent', '$argon2id$v=19$m=19456,t=2,p=1$c2FtLWxvY2FsLXNlZWQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000008', '0195f000-0000-7000-8000-000000000002', '0195f000-0000-7000-8000-00000000000a', '\x76f142b83af7ddeb1d285e8902b0e8f2dfcc1188b9de5881be6e35ca835ebb86', '2100-01-01'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000009', '0195f000-0000-7000-8000-000000000002', '0195f000-0000-7000-8000-000000000009', '\x5f99aeb8a93d0dea80971f9cbe72f41ee0be95971d14ba94008d2506476094ad', '2100-01-01');
INSERT INTO customers (tenant_id, id, name, email) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000004', 'Initech', 'support@initech.example'),
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000005', 'Hooli', 'hello@hooli.example');
INSERT INTO tickets (tenant_id, id, customer_id, title, description) VALUES
    ('0195f000-0000-7000-8000-000000000001', '0195f000-0000-7000-8000-000000000006', '0195f000-0000-7000-8000-000000000004', 'Cannot log in', 'Password reset mail never arrives');
COMMIT;

#!/usr/bin/env python3
"""Writes events/: one genuine Lambda event per function, the seed they refer to, and env.json.

    python3 events/generate.py

The events are for `sam local invoke -e events/<function>.json` against the Docker Compose
PostgreSQL and LocalStack (docs/local.md, "SAM local"), and `local/tests/sam_events.rs` feeds each
one, unchanged, into its function. They refer to the tenant that `events/seed.sql` creates
with fixed ids, and carry an access token for its admin signed with env.json's development
key (valid until 2099; no deployed stack accepts it, since its key comes from Secrets
Manager). Rerun after changing a route, the token format or the seed.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

# Development-only signing key, shared with docker-compose.yml's api service.
JWT_SECRET = "local-development-signing-key-change-me-0123456789"
TENANT = "0195f000-0000-7000-8000-000000000001"
ADMIN = "0195f000-0000-7000-8000-000000000002"
AGENT = "0195f000-0000-7000-8000-000000000003"
CUSTOMER = "0195f000-0000-7000-8000-000000000004"
SPARE_CUSTOMER = "0195f000-0000-7000-8000-000000000005"
TICKET = "0195f000-0000-7000-8000-000000000006"
EVENT = "0195f000-0000-7000-8000-000000000007"
REFRESH_FOR_REFRESH = "0195f000-0000-7000-8000-000000000008"
REFRESH_FOR_LOGOUT = "0195f000-0000-7000-8000-000000000009"
FAMILY = "0195f000-0000-7000-8000-00000000000a"
ISSUED_AT = 1795622400  # 2026-11-25T00:00:00Z
EXPIRES_AT = 4102444800  # 2100-01-01T00:00:00Z
REGISTER_EMAIL = "owner@sam-local.example"
REGISTER_PASSWORD = "sam-local-password-2026"
# Argon2id (m=19456, t=2, p=1) of REGISTER_PASSWORD, made once with argon2-cffi: the
# sign-up that auth-verify-email redeems and the admin's own password carry it, so
# auth-login and auth-password-change can prove the password.
REGISTER_PASSWORD_HASH = "$argon2id$v=19$m=19456,t=2,p=1$LrYxV8Ghk2d4cxM5dJr0kw$5pd2HL8XF9g7bvUUsQV1kSIlwLaBSlylYQRevRS+o68"
# The tenant a pending sign-up will create, and the mailed tokens the seed stores hashed.
SIGNUP_TENANT = "0195f000-0000-7000-8000-000000000010"
SIGNUP = "0195f000-0000-7000-8000-000000000011"
RESET = "0195f000-0000-7000-8000-000000000012"
INVITATION = "0195f000-0000-7000-8000-000000000013"
# An API key of the tenant for api-keys-revoke (its secret is never used, only its hash).
API_KEY = "0195f000-0000-7000-8000-000000000014"
API_KEY_PREFIX = "samlocalkeyaaaaa"
API_KEY_HASH = hashlib.sha256(b"sam-local api key secret, never presented").hexdigest()
# A PENDING attachment on the ticket, for attachments-get, -complete and -delete.
ATTACHMENT = "0195f000-0000-7000-8000-000000000015"
# A webhook of the tenant and one delivery of EVENT to it that ended FAILED after every
# retry: the dispatcher's message about it is a no-op, webhooks-redeliver starts it over.
WEBHOOK = "0195f000-0000-7000-8000-000000000016"
DELIVERY = "0195f000-0000-7000-8000-000000000017"
# A customer for customers-erase of its own: SPARE_CUSTOMER goes with customers-delete, and
# an erasure after that delete would find no such customer (404).
ERASED_CUSTOMER = "0195f000-0000-7000-8000-000000000018"
# A PENDING export of the tenant: tenant-exports-get reads it, tenant-export's message
# names it (the run writes it to the blob store and marks it READY).
EXPORT = "0195f000-0000-7000-8000-000000000019"
# The seeded tenant's name: tenant-delete names it to confirm (local/tests/sam_events.rs
# runs that event last, since it ends every credential of the tenant).
TENANT_NAME = "Acme (sam local)"
WEBHOOK_URL = "https://hooks.example.com/simplecrm"
# `whsec_` + base64 of 32 fixed bytes (shared/src/webhooks/mod.rs makes random ones).
WEBHOOK_SECRET = "whsec_" + base64.b64encode(hashlib.sha256(b"sam-local webhook signing key").digest()).decode()
NEWCOMER_EMAIL = "newcomer@sam-local.example"
INVITED_EMAIL = "invited@sam-local.example"
# The tenant's service levels: office hours in Berlin, MEDIUM targets only. The seeded
# ticket (MEDIUM) was opened on Wednesday 2026-11-25 at 13:00 Berlin time, so both its
# clocks are long overdue (first response at 14:00 that day, resolution at 13:00 the next):
# sla-monitor records and announces the two breaches. Its tags are what tags-list counts.
TICKET_CREATED_AT = "2026-11-25T12:00:00Z"
TICKET_TAGS = ["login", "email"]
OFFICE_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
SEED_POLICY_HOURS = {**OFFICE_HOURS, "sat": [], "sun": []}  # as the API stores them
SEED_POLICY_HOLIDAYS = ["2026-12-25", "2026-12-26"]
SEED_POLICY_TARGETS = {"MEDIUM": {"firstResponseMinutes": 60, "resolutionMinutes": 480}}
# What sla-policy-put sets instead: a lunch break, Christmas Eve off, every priority but LOW.
NEW_POLICY = {
    "timezone": "Europe/Berlin",
    "businessHours": {
        **{day: [["09:00", "12:30"], ["13:30", "17:00"]] for day in ("mon", "tue", "wed", "thu")},
        "fri": [["09:00", "15:00"]],
    },
    "holidays": ["2026-12-24", "2026-12-25", "2026-12-26"],
    "targets": {
        "URGENT": {"firstResponseMinutes": 30, "resolutionMinutes": 240},
        "HIGH": {"firstResponseMinutes": 60, "resolutionMinutes": 480},
        "MEDIUM": {"firstResponseMinutes": 240, "resolutionMinutes": 1440},
    },
}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def access_token() -> str:
    """HS256, the header and claims of shared/src/security/tokens.rs (kid: key_id)."""
    kid = hashlib.sha256(JWT_SECRET.encode()).digest()[:8].hex()
    header = {"typ": "JWT", "alg": "HS256", "kid": kid}
    claims = {
        "sub": ADMIN,
        "tenantId": TENANT,
        "role": "admin",
        "exp": EXPIRES_AT,
        "iat": ISSUED_AT,
        "jti": "0195f000-0000-7000-8000-0000000000ff",
    }
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(
        json.dumps(claims, separators=(",", ":")).encode()
    )
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def opaque_token(token_id: str, tenant: str = TENANT) -> tuple[str, str]:
    """base64url(tenant ‖ id ‖ secret); the database keeps SHA-256(secret) (security/opaque.rs)."""
    secret = hashlib.sha256(f"sam-local-refresh-{token_id}".encode()).digest()
    raw = uuid.UUID(tenant).bytes + uuid.UUID(token_id).bytes + secret
    return b64url(raw), hashlib.sha256(secret).hexdigest()


TOKEN = access_token()
REFRESH, REFRESH_HASH = opaque_token(REFRESH_FOR_REFRESH)
LOGOUT, LOGOUT_HASH = opaque_token(REFRESH_FOR_LOGOUT)
SIGNUP_TOKEN, SIGNUP_HASH = opaque_token(SIGNUP, SIGNUP_TENANT)
RESET_TOKEN, RESET_HASH = opaque_token(RESET)
INVITATION_TOKEN, INVITATION_HASH = opaque_token(INVITATION)


def http_event(route: str, path: str, body=None, query: str = "", auth: bool = True, path_params=None):
    """An API Gateway HTTP API payload 2.0 event, as the $default stage sends it."""
    method = route.split(" ", 1)[0]
    headers = {
        "accept": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-6744bd80-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if auth:
        headers["authorization"] = f"Bearer {TOKEN}"
    text = None
    if body is not None:
        text = json.dumps(body)
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(text.encode()))
    event = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "Rk3xJg0MoAMEb3Q=",
            "routeKey": route,
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795665600000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
    if path_params:
        event["pathParameters"] = path_params
    if text is not None:
        event["body"] = text
    return event


def http_events():
    t = f"/api/v1/tickets/{TICKET}"
    w = f"/api/v1/webhooks/{WEBHOOK}"
    return {
        "auth-register": http_event(
            "POST /api/v1/auth/register",
            "/api/v1/auth/register",
            {"tenantName": "Newcomer Ltd", "email": NEWCOMER_EMAIL, "password": REGISTER_PASSWORD, "name": "Nia"},
            auth=False,
        ),
        "auth-verify-email": http_event(
            "POST /api/v1/auth/verify-email", "/api/v1/auth/verify-email", {"token": SIGNUP_TOKEN}, auth=False
        ),
        "auth-password-forgot": http_event(
            "POST /api/v1/auth/password/forgot", "/api/v1/auth/password/forgot", {"email": REGISTER_EMAIL}, auth=False
        ),
        "auth-password-reset": http_event(
            "POST /api/v1/auth/password/reset",
            "/api/v1/auth/password/reset",
            {"token": RESET_TOKEN, "password": "sam-local-reset-2026"},
            auth=False,
        ),
        "auth-password-change": http_event(
            "POST /api/v1/auth/password/change",
            "/api/v1/auth/password/change",
            {"currentPassword": REGISTER_PASSWORD, "newPassword": "sam-local-changed-2026"},
        ),
        "auth-accept-invitation": http_event(
            "POST /api/v1/auth/accept-invitation",
            "/api/v1/auth/accept-invitation",
            {"token": INVITATION_TOKEN, "password": "sam-local-invited-2026"},
            auth=False,
        ),
        "users-invite": http_event(
            "POST /api/v1/users/invitations",
            "/api/v1/users/invitations",
            {"email": "invitee@sam-local.example", "name": "Ivy Invitee", "role": "agent"},
        ),
        "api-keys-create": http_event(
            "POST /api/v1/api-keys", "/api/v1/api-keys", {"name": "Zapier (sam local)", "role": "agent"}
        ),
        "api-keys-list": http_event("GET /api/v1/api-keys", "/api/v1/api-keys", query="limit=20"),
        "api-keys-revoke": http_event(
            "DELETE /api/v1/api-keys/{id}", f"/api/v1/api-keys/{API_KEY}", path_params={"id": API_KEY}
        ),
        "auth-login": http_event(
            "POST /api/v1/auth/login",
            "/api/v1/auth/login",
            {"email": REGISTER_EMAIL, "password": REGISTER_PASSWORD},
            auth=False,
        ),
        "auth-refresh": http_event(
            "POST /api/v1/auth/refresh", "/api/v1/auth/refresh", {"refreshToken": REFRESH}, auth=False
        ),
        "auth-logout": http_event("POST /api/v1/auth/logout", "/api/v1/auth/logout", {"refreshToken": LOGOUT}),
        "auth-me": http_event("GET /api/v1/auth/me", "/api/v1/auth/me"),
        "users-create": http_event(
            "POST /api/v1/users",
            "/api/v1/users",
            {"email": "new-agent@sam-local.example", "name": "New Agent", "password": REGISTER_PASSWORD, "role": "agent"},
        ),
        "users-list": http_event("GET /api/v1/users", "/api/v1/users", query="limit=20"),
        "users-get": http_event("GET /api/v1/users/{id}", f"/api/v1/users/{AGENT}", path_params={"id": AGENT}),
        "users-update": http_event(
            "PATCH /api/v1/users/{id}", f"/api/v1/users/{AGENT}", {"name": "Agent Smith"}, path_params={"id": AGENT}
        ),
        "customers-create": http_event(
            "POST /api/v1/customers",
            "/api/v1/customers",
            {"name": "Globex", "email": "contact@globex.example", "phone": "+1 555 0100"},
        ),
        "customers-list": http_event("GET /api/v1/customers", "/api/v1/customers", query="limit=20"),
        "customers-get": http_event(
            "GET /api/v1/customers/{id}", f"/api/v1/customers/{CUSTOMER}", path_params={"id": CUSTOMER}
        ),
        "customers-update": http_event(
            "PATCH /api/v1/customers/{id}",
            f"/api/v1/customers/{CUSTOMER}",
            {"phone": "+1 555 0199"},
            path_params={"id": CUSTOMER},
        ),
        "customers-delete": http_event(
            "DELETE /api/v1/customers/{id}", f"/api/v1/customers/{SPARE_CUSTOMER}", path_params={"id": SPARE_CUSTOMER}
        ),
        "customers-erase": http_event(
            "POST /api/v1/customers/{id}/erase",
            f"/api/v1/customers/{ERASED_CUSTOMER}/erase",
            path_params={"id": ERASED_CUSTOMER},
        ),
        "tickets-create": http_event(
            "POST /api/v1/tickets",
            "/api/v1/tickets",
            {"customerId": CUSTOMER, "title": "Printer on fire", "description": "Smoke since 9am", "priority": "HIGH"},
        ),
        "tickets-list": http_event("GET /api/v1/tickets", "/api/v1/tickets", query="status=OPEN&limit=20"),
        "tickets-get": http_event("GET /api/v1/tickets/{id}", t, path_params={"id": TICKET}),
        "tickets-update": http_event(
            "PATCH /api/v1/tickets/{id}", t, {"priority": "URGENT"}, path_params={"id": TICKET}
        ),
        "tickets-status": http_event(
            "PATCH /api/v1/tickets/{id}/status", f"{t}/status", {"status": "IN_PROGRESS"}, path_params={"id": TICKET}
        ),
        "tickets-assign": http_event(
            "PATCH /api/v1/tickets/{id}/assign", f"{t}/assign", {"assigneeId": AGENT}, path_params={"id": TICKET}
        ),
        "tickets-events": http_event("GET /api/v1/tickets/{id}/events", f"{t}/events", path_params={"id": TICKET}),
        "comments-create": http_event(
            "POST /api/v1/tickets/{id}/comments",
            f"{t}/comments",
            {"body": "We are sending a technician this afternoon.", "public": True},
            path_params={"id": TICKET},
        ),
        "comments-list": http_event(
            "GET /api/v1/tickets/{id}/comments", f"{t}/comments", query="limit=20", path_params={"id": TICKET}
        ),
        "attachments-create": http_event(
            "POST /api/v1/tickets/{id}/attachments",
            f"{t}/attachments",
            {"fileName": "error-log.txt", "contentType": "text/plain", "size": 2048},
            path_params={"id": TICKET},
        ),
        "attachments-list": http_event(
            "GET /api/v1/tickets/{id}/attachments", f"{t}/attachments", query="limit=20", path_params={"id": TICKET}
        ),
        "attachments-get": http_event(
            "GET /api/v1/tickets/{id}/attachments/{attachmentId}",
            f"{t}/attachments/{ATTACHMENT}",
            path_params={"id": TICKET, "attachmentId": ATTACHMENT},
        ),
        "attachments-complete": http_event(
            "POST /api/v1/tickets/{id}/attachments/{attachmentId}/complete",
            f"{t}/attachments/{ATTACHMENT}/complete",
            path_params={"id": TICKET, "attachmentId": ATTACHMENT},
        ),
        "attachments-delete": http_event(
            "DELETE /api/v1/tickets/{id}/attachments/{attachmentId}",
            f"{t}/attachments/{ATTACHMENT}",
            path_params={"id": TICKET, "attachmentId": ATTACHMENT},
        ),
        "webhooks-create": http_event(
            "POST /api/v1/webhooks",
            "/api/v1/webhooks",
            # A receiver on this machine, as in local development (crm-local with
            # WEBHOOKS_ALLOW_PRIVATE_TARGETS=true); a deployed stack refuses it.
            {"url": "http://localhost:4000/hooks/simplecrm", "events": ["ticket.created", "comment.created"],
             "description": "Sync to our warehouse"},
        ),
        "webhooks-list": http_event("GET /api/v1/webhooks", "/api/v1/webhooks"),
        "webhooks-update": http_event(
            "PATCH /api/v1/webhooks/{id}", w, {"description": "Renamed", "active": True}, path_params={"id": WEBHOOK}
        ),
        "webhooks-delete": http_event("DELETE /api/v1/webhooks/{id}", w, path_params={"id": WEBHOOK}),
        "webhooks-rotate-secret": http_event(
            "POST /api/v1/webhooks/{id}/rotate-secret", f"{w}/rotate-secret", path_params={"id": WEBHOOK}
        ),
        "webhooks-test": http_event("POST /api/v1/webhooks/{id}/test", f"{w}/test", path_params={"id": WEBHOOK}),
        "webhooks-deliveries": http_event(
            "GET /api/v1/webhooks/{id}/deliveries", f"{w}/deliveries", query="limit=20", path_params={"id": WEBHOOK}
        ),
        "webhooks-redeliver": http_event(
            "POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver",
            f"{w}/deliveries/{DELIVERY}/redeliver",
            path_params={"id": WEBHOOK, "deliveryId": DELIVERY},
        ),
        "events-list": http_event("GET /api/v1/events", "/api/v1/events", query="limit=100"),
        "notifications-list": http_event("GET /api/v1/notifications", "/api/v1/notifications", query="limit=20"),
        "stats": http_event("GET /api/v1/stats", "/api/v1/stats"),
        "sla-policy-get": http_event("GET /api/v1/sla-policy", "/api/v1/sla-policy"),
        "sla-policy-put": http_event("PUT /api/v1/sla-policy", "/api/v1/sla-policy", NEW_POLICY),
        "tags-list": http_event("GET /api/v1/tags", "/api/v1/tags"),
        "audit-log-list": http_event("GET /api/v1/audit-log", "/api/v1/audit-log", query="limit=20"),
        # Irreversible: every credential of the seeded tenant is refused from its answer on
        # (re-apply events/seed.sql to start over).
        "tenant-delete": http_event("DELETE /api/v1/tenant", "/api/v1/tenant", {"confirm": TENANT_NAME}),
        # Takes no body: records a PENDING export and queues it for tenant-export.
        "tenant-exports-create": http_event("POST /api/v1/tenant/exports", "/api/v1/tenant/exports"),
        "tenant-exports-get": http_event(
            "GET /api/v1/tenant/exports/{id}", f"/api/v1/tenant/exports/{EXPORT}", path_params={"id": EXPORT}
        ),
        "health": http_event("GET /health", "/health", auth=False),
        "docs": http_event("GET /api-docs/openapi.json", "/api-docs/openapi.json", auth=False),
    }


def consumer_event():
    body = {
        "eventId": EVENT,
        "type": "ticket.created",
        "tenantId": TENANT,
        "ticketId": TICKET,
        "actorId": ADMIN,
        "occurredAt": "2026-11-25T12:00:00Z",
        "before": None,
        "after": {"title": "Cannot log in", "status": "OPEN", "priority": "MEDIUM", "customerId": CUSTOMER},
    }
    text = json.dumps(body)
    return {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795665600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795665600100",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:simplecrm-events",
                "awsRegion": "us-east-1",
            }
        ]
    }


def sqs_message(body: dict, message_id: str, receipt_handle: str, queue: str):
    """An SQS event source mapping's batch of one message carrying `body` from `queue`."""
    text = json.dumps(body)
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": receipt_handle,
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795665600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795665600100",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def dispatcher_event():
    """The message the webhook queue carries: which delivery to post (its row holds the rest)."""
    return sqs_message(
        {"tenantId": TENANT, "deliveryId": DELIVERY},
        "7b1c3f0e-2d4a-4e8b-9c61-0a5f2e9d8b34",
        "AQEBz9pQm4Lr2VtXc8NwYk3HfE1sUoJd5b",
        "simplecrm-webhooks",
    )


def export_event():
    """The message the export queue carries: which export to run (its row holds the rest)."""
    return sqs_message(
        {"tenantId": TENANT, "exportId": EXPORT},
        "3e8a5d21-6f4b-4c0a-8d97-1b2c3d4e5f60",
        "AQEBk2XrT7mWq9LpZs4VdN8cYh3JfG6bEa",
        "simplecrm-exports",
    )


def schedule_event(schedule: str, event_id: str):
    """What an EventBridge Scheduler rate(1 minute) schedule sends its target."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-25T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{schedule}"],
        "detail": {},
    }


def sweeper_event():
    return schedule_event("simplecrm-outbox-sweeper", "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa")


def sla_monitor_event():
    return schedule_event("simplecrm-sla-monitor", "8e1f6a2c-4b7d-4c3e-9f05-6d2a1b9c7e48")


def migrate_event():
    return {
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:simplecrm-dev-MigrateFunction",
        "ResponseURL": "http://127.0.0.1:9/cloudformation-response",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/simplecrm-dev/5b2d5f40-ab12-11f0-8a5e-0a1b2c3d4e5f",
        "RequestId": "6a0c7a4e-8c4e-4f6e-9a57-2b8b0f5d3c11",
        "LogicalResourceId": "DatabaseMigrations",
        "ResourceType": "Custom::DatabaseMigrations",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:simplecrm-dev-MigrateFunction",
            "DeployId": "manual",
        },
    }


SEED = f"""-- The tenant every file in events/ refers to (written by events/generate.py).
-- Apply after the migrations: psql "$DATABASE_URL" -f events/seed.sql
-- Re-running it resets that tenant and leaves every other one alone.
BEGIN;
DELETE FROM tenants WHERE id IN ('{TENANT}', '{SIGNUP_TENANT}');
DELETE FROM signups WHERE tenant_id = '{SIGNUP_TENANT}';
DELETE FROM users WHERE lower(email) IN ('{REGISTER_EMAIL}', 'new-agent@sam-local.example', '{INVITED_EMAIL}');
INSERT INTO tenants (id, name) VALUES ('{TENANT}', '{TENANT_NAME}');
-- The admin's password is REGISTER_PASSWORD (auth-password-change proves it); nobody
-- signs in as the agent (no password matches its hash).
INSERT INTO users (tenant_id, id, email, name, role, password_hash) VALUES
    ('{TENANT}', '{ADMIN}', 'admin@acme-sam-local.example', 'Ada Admin', 'admin', '{REGISTER_PASSWORD_HASH}'),
    ('{TENANT}', '{AGENT}', 'agent@acme-sam-local.example', 'Alan Agent', 'agent', '$argon2id$v=19$m=19456,t=2,p=1$c2FtLWxvY2FsLXNlZWQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at) VALUES
    ('{TENANT}', '{REFRESH_FOR_REFRESH}', '{ADMIN}', '{FAMILY}', '\\x{REFRESH_HASH}', '2100-01-01'),
    ('{TENANT}', '{REFRESH_FOR_LOGOUT}', '{ADMIN}', '{REFRESH_FOR_LOGOUT}', '\\x{LOGOUT_HASH}', '2100-01-01');
-- A sign-up waiting for its link (auth-verify-email creates its tenant and admin, whom
-- auth-login then signs in), a password reset of the admin and an invitation.
INSERT INTO signups (tenant_id, id, email, name, tenant_name, password_hash, token_hash, expires_at) VALUES
    ('{SIGNUP_TENANT}', '{SIGNUP}', '{REGISTER_EMAIL}', 'Sam', 'Sam Local Ltd', '{REGISTER_PASSWORD_HASH}', '\\x{SIGNUP_HASH}', '2100-01-01');
INSERT INTO password_resets (tenant_id, id, user_id, token_hash, expires_at) VALUES
    ('{TENANT}', '{RESET}', '{ADMIN}', '\\x{RESET_HASH}', '2100-01-01');
INSERT INTO invitations (tenant_id, id, email, name, role, invited_by, token_hash, expires_at) VALUES
    ('{TENANT}', '{INVITATION}', '{INVITED_EMAIL}', 'Ike Invited', 'agent', '{ADMIN}', '\\x{INVITATION_HASH}', '2100-01-01');
INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash) VALUES
    ('{TENANT}', '{API_KEY}', 'Old integration', 'agent', '{API_KEY_PREFIX}', '\\x{API_KEY_HASH}');
INSERT INTO customers (tenant_id, id, name, email) VALUES
    ('{TENANT}', '{CUSTOMER}', 'Initech', 'support@initech.example'),
    ('{TENANT}', '{SPARE_CUSTOMER}', 'Hooli', 'hello@hooli.example'),
    ('{TENANT}', '{ERASED_CUSTOMER}', 'Vandelay Industries', 'art@vandelay.example');
-- The service-level policy first: a ticket's due dates are set when it is inserted.
INSERT INTO sla_policies (tenant_id, timezone, business_hours, holidays, targets, version, recomputed_version) VALUES
    ('{TENANT}', 'Europe/Berlin', '{json.dumps(SEED_POLICY_HOURS)}', '{{{",".join(SEED_POLICY_HOLIDAYS)}}}', '{json.dumps(SEED_POLICY_TARGETS)}', 1, 1);
INSERT INTO tickets (tenant_id, id, customer_id, title, description, tags, created_at) VALUES
    ('{TENANT}', '{TICKET}', '{CUSTOMER}', 'Cannot log in', 'Password reset mail never arrives', '{{{",".join(TICKET_TAGS)}}}', '{TICKET_CREATED_AT}');
INSERT INTO attachments (tenant_id, id, ticket_id, file_name, content_type, size, author_id) VALUES
    ('{TENANT}', '{ATTACHMENT}', '{TICKET}', 'screenshot.png', 'image/png', 48213, '{ADMIN}');
-- A webhook whose delivery of the ticket's ticket.created event failed every attempt: the
-- dispatcher's message about it changes nothing, webhooks-redeliver starts it over.
INSERT INTO webhooks (tenant_id, id, url, events, description, secret, consecutive_failures, failing_since) VALUES
    ('{TENANT}', '{WEBHOOK}', '{WEBHOOK_URL}', '{{ticket.created,comment.created}}', 'Warehouse sync', '{WEBHOOK_SECRET}', 1, '2026-11-25T12:00:05Z');
INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, attempt, status, response_status, duration_ms, created_at, next_attempt_at) VALUES
    ('{TENANT}', '{DELIVERY}', '{WEBHOOK}', '{EVENT}', 'ticket.created', '{{"type":"ticket.created","timestamp":"2026-11-25T12:00:00Z","data":{{}}}}', 7, 'FAILED', 503, 87, '2026-11-25T12:00:01Z', NULL);
-- An export the admin asked for, not yet run: tenant-export's message names it.
INSERT INTO tenant_exports (tenant_id, id, requested_by, created_at) VALUES
    ('{TENANT}', '{EXPORT}', '{ADMIN}', '2026-11-25T12:00:02Z');
COMMIT;
"""

# `sam local` containers reach the host's Compose ports through host.docker.internal.
# Only variables the template declares can be set here (a SAM local rule); the SQS
# endpoint follows from the queue URL (shared/src/config.rs).
ENV = {
    "Parameters": {
        "APP_ENV": "development",
        "LOG_FORMAT": "json",
        "DATABASE_URL": "postgres://postgres:postgres@host.docker.internal:5432/simplecrm",
        "APP_DATABASE_URL": "",
        "JWT_SECRET": JWT_SECRET,
        "SQS_QUEUE_URL": "http://host.docker.internal:4566/queue/us-east-1/000000000000/simplecrm-events",
        "WEBHOOK_QUEUE_URL": "http://host.docker.internal:4566/queue/us-east-1/000000000000/simplecrm-webhooks",
        "EXPORT_QUEUE_URL": "http://host.docker.internal:4566/queue/us-east-1/000000000000/simplecrm-exports",
        # The template's defaults (its WebhookRetrySchedule and WebhookDisableAfterFailures).
        "WEBHOOK_RETRY_SCHEDULE": "5s,5m,30m,2h,5h,10h,10h",
        "WEBHOOK_DISABLE_AFTER_FAILURES": "5",
        "METRICS_NAMESPACE": "SimpleCRM/sam-local",
        "MALLOC_MMAP_THRESHOLD_": "131072",
        # Compose runs no SES: mail is captured in the container (its log says so) rather
        # than sent. The template sets `ses`.
        "MAIL_TRANSPORT": "captured",
    }
}


def write(path: pathlib.Path, value) -> None:
    text = value if isinstance(value, str) else json.dumps(value, indent=2) + "\n"
    path.write_text(text)


def main() -> None:
    events = http_events()
    events["ticket-consumer"] = consumer_event()
    events["outbox-sweeper"] = sweeper_event()
    events["sla-monitor"] = sla_monitor_event()
    events["webhook-dispatcher"] = dispatcher_event()
    events["tenant-export"] = export_event()
    events["migrate"] = migrate_event()
    for old in HERE.glob("*.json"):
        old.unlink()
    for name, event in sorted(events.items()):
        write(HERE / f"{name}.json", event)
    write(HERE / "seed.sql", SEED)
    write(ROOT / "env.json", ENV)
    print(f"wrote {len(events)} events, events/seed.sql and env.json")


if __name__ == "__main__":
    main()

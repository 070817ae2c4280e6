//! The OpenAPI 3.1 document, generated from the controllers' annotations and the types
//! they exchange. Responses every route shares are added in one place
//! ([`CommonResponses`]) instead of being repeated on each controller.
//!
//! Routes that take no token say so with an empty requirement (`security(())`, `[{}]` in
//! the document) rather than saying nothing, so a reader (or a linter) can tell a public
//! route from a forgotten one.

use crm_core::{
    error::{FieldError, Problem},
    model::{
        Actor, ActorType, ApiKey, Attachment, AttachmentStatus, AttachmentWithDownload, AuditActor, AuditActorType,
        AuditRecord, AuthSession, BusinessHours, Comment, CreatedApiKey, CreatedAttachment, CreatedWebhook, Customer,
        CustomerSummary, DeliveryStatus, EventActor, EventSubscription, EventType, FeedEvent, FeedEventType, FeedPage,
        Interval, Invitation, IsoDate, Me, Notification, Priority, PriorityCounts, Role, RotatedSecret, SignupAccepted,
        SlaPolicy, Stats, TagCount, TagList, TagName, Target, Targets, Tenant, Ticket, TicketEvent, TicketSla,
        TicketStatus, Upload, User, Webhook, WebhookDelivery,
    },
    pagination::{
        ApiKeyPage, AttachmentPage, AuditPage, CommentPage, CustomerPage, DeliveryPage, NotificationPage, TicketPage,
        UserPage, WebhookPage,
    },
    service::{
        accounts::{ChangePasswordInput, ForgotPasswordInput, InviteInput, TokenInput, TokenPasswordInput},
        api_keys::CreateApiKeyInput,
        attachments::CreateAttachmentInput,
        auth::{LoginInput, RefreshInput, RegisterInput},
        comments::CreateCommentInput,
        customers::{CreateCustomerInput, UpdateCustomerInput},
        exports::{ExportStatus, TenantExport},
        health::Health,
        sla::PutPolicyInput,
        tenancy::DeleteTenantInput,
        tickets::{AssignInput, CreateTicketInput, StatusInput, UpdateTicketInput},
        users::{CreateUserInput, UpdateUserInput},
        webhooks::{CreateWebhookInput, UpdateWebhookInput},
    },
};
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        self, Content, HeaderBuilder, KnownFormat, ObjectBuilder, Ref, RefOr, ResponseBuilder, SchemaFormat, Type,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use crate::{
    api_keys, attachments, audit, auth, comments, customers, docs, feed, notifications, sla, stats, system, tags,
    tenancy, tickets, users, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SimpleCRM API",
        version = "1.0.0",
        description = "Multi-tenant CRM and helpdesk. Errors are RFC 9457 `application/problem+json`; lists are keyset-paginated `{items, nextCursor}`."
    ),
    paths(
        auth::register, auth::verify_email, auth::login, auth::refresh, auth::logout, auth::me,
        auth::forgot_password, auth::reset_password, auth::change_password, auth::accept_invitation,
        users::create, users::list, users::get, users::update, users::invite,
        api_keys::create, api_keys::list, api_keys::revoke,
        customers::create, customers::list, customers::get, customers::update, customers::delete, customers::erase,
        tickets::create, tickets::list, tickets::get, tickets::update, tickets::set_status, tickets::assign, tickets::events,
        comments::create, comments::list,
        attachments::create, attachments::complete, attachments::list, attachments::get, attachments::delete,
        webhooks::create, webhooks::list, webhooks::update, webhooks::delete, webhooks::rotate_secret,
        webhooks::test, webhooks::deliveries, webhooks::redeliver,
        feed::list, notifications::list, stats::get,
        sla::get, sla::put, tags::list, audit::list, tenancy::delete, tenancy::create_export, tenancy::get_export,
        system::health, docs::ui, docs::spec, docs::asset,
    ),
    components(schemas(
        Problem, FieldError, GatewayThrottled, User, Tenant, Role, AuthSession, Me, UserPage, Health,
        RegisterInput, LoginInput, RefreshInput, CreateUserInput, UpdateUserInput, SignupAccepted, Invitation,
        TokenInput, TokenPasswordInput, ForgotPasswordInput, ChangePasswordInput, InviteInput,
        ApiKey, CreatedApiKey, ApiKeyPage, CreateApiKeyInput, ActorType,
        Customer, CustomerPage, CreateCustomerInput, UpdateCustomerInput,
        Ticket, TicketPage, CustomerSummary, TicketStatus, Priority, EventType, Actor, TicketEvent,
        CreateTicketInput, UpdateTicketInput, StatusInput, AssignInput,
        Comment, CommentPage, CreateCommentInput,
        Attachment, AttachmentStatus, AttachmentPage, AttachmentWithDownload, CreatedAttachment, Upload, CreateAttachmentInput,
        Webhook, WebhookPage, CreatedWebhook, RotatedSecret, WebhookDelivery, DeliveryStatus, DeliveryPage,
        CreateWebhookInput, UpdateWebhookInput, EventSubscription,
        FeedEvent, FeedEventType, EventActor, FeedPage,
        Notification, NotificationPage, Stats, PriorityCounts,
        AuditRecord, AuditActor, AuditActorType, AuditPage, DeleteTenantInput, TenantExport, ExportStatus,
        SlaPolicy, PutPolicyInput, BusinessHours, Interval, IsoDate, Targets, Target, TicketSla, TagList, TagCount, TagName,
    )),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "auth", description = "Sign-up, login and sessions"),
        (name = "users", description = "The people of a tenant"),
        (name = "api-keys", description = "Keys for integrations: `Authorization: Bearer crm_…` works wherever an access token does, except the `/auth/*` session routes"),
        (name = "customers", description = "Who a tenant supports"),
        (name = "tickets", description = "Support tickets and their timeline"),
        (name = "comments", description = "A ticket's conversation: public replies and internal notes"),
        (name = "attachments", description = "Files on a ticket: the bytes go to and from the blob store through signed URLs, never through the API"),
        (name = "webhooks", description = "Endpoints the tenant's events are posted to, signed per Standard Webhooks, with their delivery log"),
        (name = "events", description = "The change feed: every event of the tenant, in one stable order, for integrations to sync from"),
        (name = "notifications", description = "The log of ticket events delivered"),
        (name = "stats", description = "A tenant at a glance"),
        (name = "tenant", description = "The tenant itself: deleting it and everything in it"),
        (name = "audit", description = "Who changed what: one entry per write, immutable"),
        (name = "sla", description = "Service levels: business hours, holidays and per-priority targets; due dates on every ticket"),
        (name = "system", description = "Health and documentation"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once per container.
pub fn json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT access token, or API key crm_<prefix>_<secret>")
                    .build(),
            ),
        );
    }
}

/// API Gateway's own answer when the stage's throttle (stricter on the auth routes, see
/// template.yaml) refuses a request before any function runs: not problem+json, and
/// without `Retry-After`.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used
struct GatewayThrottled {
    /// `Too Many Requests`.
    #[schema(max_length = 64)]
    message: String,
}

/// What any route may answer besides its own outcomes: bad bodies for routes that take
/// one, 401 for routes behind a token, 400 for bad parameters, 429 from the gateway's
/// throttle, and the server's own 5xx.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, api: &mut openapi::OpenApi) {
        for item in api.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                add_common(operation);
            }
        }
    }
}

fn add_common(op: &mut Operation) {
    let mut common: Vec<(&str, &str)> = Vec::new();
    if op.request_body.is_some() {
        common.extend([
            ("400", "The body is not valid JSON"),
            ("413", "The body exceeds 1 MiB"),
            ("415", "The body is not application/json"),
            ("422", "Fields are missing, unknown, mistyped or out of range; `errors` names each"),
        ]);
    }
    if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        common.push(("400", "A path or query parameter is malformed; `errors` names it"));
    }
    // `[{}]` (no token needed) requires nothing, so it never answers 401.
    let authenticated = op.security.as_ref().is_some_and(|s| s.iter().any(|r| *r != SecurityRequirement::default()));
    if authenticated {
        common.push((
            "401",
            "The bearer token is missing, malformed, forged or expired, its user is disabled or gone, or its API key is revoked or expired",
        ));
    }
    common.push(("500", "An unexpected error (details are logged, not shown)"));
    for (status, description) in common {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                    .build(),
            )
        });
    }
    op.responses.responses.entry("503".to_owned()).or_insert_with(|| {
        RefOr::T(
            ResponseBuilder::new()
                .description("The database is unreachable; retry later")
                .header("Retry-After", retry_after("Seconds to wait: always 5"))
                .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                .build(),
        )
    });
    if authenticated {
        add_quota_refusal(op);
    }
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.headers.insert("x-request-id".to_owned(), RefOr::T(request_id()));
            if authenticated {
                let (policy, state) = rate_limit_headers();
                response.headers.insert("RateLimit-Policy".to_owned(), RefOr::T(policy));
                response.headers.insert("RateLimit".to_owned(), RefOr::T(state));
            }
        }
    }
    add_throttled(op);
}

/// An authenticated request counts against its tenant's quota (`TENANT_RATE_PER_SECOND`).
fn add_quota_refusal(op: &mut Operation) {
    op.responses.responses.insert(
        "429".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description(
                    "The caller's tenant has used up its request quota (`tenant-quota-exceeded`): retry after `Retry-After` seconds; other tenants are not affected",
                )
                .header("Retry-After", retry_after("Seconds until the quota takes this request (problem+json answers only)"))
                .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                .build(),
        ),
    );
}

/// The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers) on every answer to a
/// request counted against its tenant's quota.
fn rate_limit_headers() -> (openapi::Header, openapi::Header) {
    let field = |description: &str, pattern: &str, example: &str| {
        HeaderBuilder::new()
            .description(Some(description))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(128))
                    .pattern(Some(pattern))
                    .examples([serde_json::Value::String(example.to_owned())]),
            ))
            .build()
    };
    (
        field(
            "The tenant's quota policies: `burst` (requests in one second, `TENANT_RATE_BURST`) and `tenant` (requests in 10 seconds, 10 × `TENANT_RATE_PER_SECOND`)",
            r#"^"burst";q=[0-9]+;w=1, "tenant";q=[0-9]+;w=[0-9]+$"#,
            "\"burst\";q=100;w=1, \"tenant\";q=500;w=10",
        ),
        field(
            "What remains of each policy (`r`, this request included) and the seconds until it grows again (`t`)",
            r#"^"burst";r=[0-9]+;t=[0-9]+, "tenant";r=[0-9]+;t=[0-9]+$"#,
            "\"burst\";r=99;t=1, \"tenant\";r=480;t=7",
        ),
    )
}

/// Every answer of the API (not the gateway's throttle) names its request, as problems do
/// in `requestId`: what a user quotes to support.
fn request_id() -> openapi::Header {
    HeaderBuilder::new()
        .description(Some("The request's id: API Gateway's request id (crm-local makes one per request)"))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(128))
                .pattern(Some("^[!-~]+$")),
        ))
        .build()
}

/// Every route can meet API Gateway's throttle. A route whose own 429 is documented
/// (the login and refresh locks) answers problem+json with `Retry-After` and, from the
/// gateway, its JSON without the header; every other route only the latter.
fn add_throttled(op: &mut Operation) {
    let gateway = Content::new(Some(Ref::from_schema_name("GatewayThrottled")));
    match op.responses.responses.get_mut("429") {
        Some(RefOr::T(own)) => {
            own.description
                .push_str("; or API Gateway's throttle refused the request (`application/json`, no `Retry-After`)");
            own.headers
                .entry("Retry-After".to_owned())
                .or_insert_with(|| RefOr::T(retry_after("Seconds until the lock ends (problem+json answers only)")));
            own.content.insert("application/json".to_owned(), RefOr::T(gateway));
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            op.responses.responses.insert(
                "429".to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description("API Gateway's throttle refused the request before it reached the API")
                        .content("application/json", gateway)
                        .build(),
                ),
            );
        }
    }
}

/// `Retry-After` in seconds. The throttle's lock is at most `AUTH_THROTTLE_MAX_LOCK_SECS`,
/// which reaches the database as a 32-bit integer.
fn retry_after(description: &str) -> openapi::Header {
    HeaderBuilder::new()
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(1))
                .maximum(Some(i32::MAX)),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(super::json()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((format!("{} {path}", method.to_uppercase()), op));
            }
        }
        out
    }

    /// Every `$ref` name under `value`.
    fn refs<'a>(value: &'a Value, out: &mut BTreeSet<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => {
                            out.insert(r.trim_start_matches("#/components/schemas/"));
                        }
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_operation_has_its_own_operation_id() {
        let doc = doc();
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        for (route, op) in operations(&doc) {
            let id = op["operationId"].as_str().filter(|id| !id.is_empty());
            let id = id.unwrap_or_else(|| panic!("{route} has no operationId"));
            if let Some(first) = seen.insert(id, route.clone()) {
                panic!("operationId {id} names both {first} and {route}");
            }
        }
        assert_eq!(seen["listTickets"], "GET /api/v1/tickets");
        assert_eq!(seen["listCustomers"], "GET /api/v1/customers");
    }

    #[test]
    fn pages_refer_to_their_items_schema() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        for (page, item) in [
            ("UserPage", "User"),
            ("ApiKeyPage", "ApiKey"),
            ("CustomerPage", "Customer"),
            ("TicketPage", "Ticket"),
            ("NotificationPage", "Notification"),
            ("CommentPage", "Comment"),
            ("AttachmentPage", "Attachment"),
        ] {
            let items = &schemas[page]["properties"]["items"];
            assert_eq!(items["items"], serde_json::json!({"$ref": format!("#/components/schemas/{item}")}), "{page}");
            assert_eq!(items["maxItems"].as_i64(), Some(crm_core::pagination::MAX_LIMIT), "{page}");
            assert!(schemas[item]["properties"].is_object(), "{item} is a schema of its own");
        }
        // The named pages describe what the lists answer: a serialized `Page<T>`.
        let page = crm_core::pagination::PageRequest { limit: 1, after: None }
            .into_page(vec![uuid::Uuid::now_v7(), uuid::Uuid::now_v7()], |id| *id);
        let answered = serde_json::to_value(&page).unwrap();
        let answered: BTreeSet<&String> = answered.as_object().unwrap().keys().collect();
        let documented: BTreeSet<&String> = schemas["TicketPage"]["properties"].as_object().unwrap().keys().collect();
        assert_eq!(answered, documented);
        let cursor = page.next_cursor.unwrap();
        let next = &schemas["TicketPage"]["properties"]["nextCursor"];
        assert_eq!(next["maxLength"].as_u64(), Some(cursor.len() as u64));
        // The generic page is never a schema of its own (it would inline its items).
        assert!(schemas.as_object().unwrap().keys().all(|name| !name.starts_with("Page")));
    }

    #[test]
    fn every_route_documents_429_and_the_locks_their_retry_after() {
        let doc = doc();
        for (route, op) in operations(&doc) {
            let throttled = &op["responses"]["429"];
            assert!(throttled["content"]["application/json"].is_object(), "{route}: the gateway's 429");
            let own = throttled["content"]["application/problem+json"].is_object();
            let locks = ["POST /api/v1/auth/login", "POST /api/v1/auth/refresh"].contains(&route.as_str());
            let counted = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(own, locks || counted, "{route}: the login and refresh locks and the tenant quota answer 429");
            assert_eq!(throttled["headers"]["Retry-After"].is_object(), locks || counted, "{route}");
            assert!(op["responses"]["503"]["headers"]["Retry-After"].is_object(), "{route}");
            let quota_reported = op["responses"]["200"]["headers"]["RateLimit-Policy"].is_object()
                || op["responses"]["202"]["headers"]["RateLimit-Policy"].is_object()
                || op["responses"]["201"]["headers"]["RateLimit-Policy"].is_object()
                || op["responses"]["204"]["headers"]["RateLimit-Policy"].is_object();
            assert_eq!(quota_reported, counted, "{route}: the quota's fields on its answer");
        }
    }

    #[test]
    fn request_strings_and_integers_are_bounded() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        // Everything a request can carry: its parameters and body, and the schemas they use.
        let mut inputs: Vec<(String, &Value)> = Vec::new();
        let mut used = BTreeSet::new();
        for (route, op) in operations(&doc) {
            for param in op["parameters"].as_array().into_iter().flatten() {
                inputs.push((format!("{route} {}", param["name"]), &param["schema"]));
            }
            refs(&op["requestBody"], &mut used);
        }
        let mut pending: Vec<&str> = used.iter().copied().collect();
        while let Some(name) = pending.pop() {
            let mut found = BTreeSet::new();
            refs(&schemas[name], &mut found);
            pending.extend(found.difference(&used).copied().collect::<Vec<_>>());
            used.extend(found);
        }
        for name in &used {
            let schema = &schemas[*name];
            inputs.push(((*name).to_owned(), schema));
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                inputs.push((format!("{name}.{field}"), property));
            }
        }
        let has = |schema: &Value, kind: &str| match &schema["type"] {
            Value::String(t) => t == kind,
            Value::Array(ts) => ts.iter().any(|t| t == kind),
            _ => false,
        };
        for (name, schema) in inputs {
            if has(schema, "string") {
                assert!(
                    schema["maxLength"].is_u64() || schema["enum"].is_array(),
                    "{name} is a string without maxLength or enum: {schema}"
                );
            }
            if has(schema, "integer") {
                assert!(schema["minimum"].is_number() && schema["maximum"].is_number(), "{name}: {schema}");
            }
        }
        let key = &doc["paths"]["/api/v1/tickets"]["post"]["parameters"][0]["schema"];
        assert_eq!(key["maxLength"].as_u64(), Some(255), "Idempotency-Key: as IdempotencyKey::parse enforces");
    }

    #[test]
    fn the_lint_exempts_no_schema_a_request_uses() {
        // .spectral.yaml turns the input-bound rules off for response-only schemas; a
        // request schema in that list would hide an unbounded input.
        let ruleset = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.spectral.yaml")).unwrap();
        let doc = doc();
        let mut requested = BTreeSet::new();
        for (_, op) in operations(&doc) {
            refs(&op["requestBody"], &mut requested);
            refs(&op["parameters"], &mut requested);
        }
        let schemas = &doc["components"]["schemas"];
        let mut pending: Vec<&str> = requested.iter().copied().collect();
        while let Some(name) = pending.pop() {
            let mut found = BTreeSet::new();
            refs(&schemas[name], &mut found);
            pending.extend(found.difference(&requested).copied().collect::<Vec<_>>());
            requested.extend(found);
        }
        for name in requested {
            assert!(
                !ruleset.contains(&format!("#/components/schemas/{name}\"")),
                "{name} is part of a request but .spectral.yaml exempts it"
            );
        }
    }
}

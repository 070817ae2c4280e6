//! The OpenAPI 3.1 document, generated from the controllers' annotations and the types
//! they exchange. Responses every route shares are added in one place
//! ([`CommonResponses`]) instead of being repeated on each controller.

use crm_core::{
    error::{FieldError, Problem},
    model::{
        Actor, ActorType, ApiKey, AuthSession, CreatedApiKey, Customer, CustomerSummary, EventType, Invitation, Me,
        Notification, Priority, PriorityCounts, Role, SignupAccepted, Stats, Tenant, Ticket, TicketEvent, TicketStatus,
        User,
    },
    pagination::Page,
    service::{
        accounts::{ChangePasswordInput, ForgotPasswordInput, InviteInput, TokenInput, TokenPasswordInput},
        api_keys::CreateApiKeyInput,
        auth::{LoginInput, RefreshInput, RegisterInput},
        customers::{CreateCustomerInput, UpdateCustomerInput},
        health::Health,
        tickets::{AssignInput, CreateTicketInput, StatusInput, UpdateTicketInput},
        users::{CreateUserInput, UpdateUserInput},
    },
};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, Content, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{api_keys, auth, customers, docs, notifications, stats, system, tickets, users};

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
        customers::create, customers::list, customers::get, customers::update, customers::delete,
        tickets::create, tickets::list, tickets::get, tickets::update, tickets::set_status, tickets::assign, tickets::events,
        notifications::list, stats::get,
        system::health, docs::ui, docs::spec, docs::asset,
    ),
    components(schemas(
        Problem, FieldError, User, Tenant, Role, AuthSession, Me, Page<User>, Health,
        RegisterInput, LoginInput, RefreshInput, CreateUserInput, UpdateUserInput, SignupAccepted, Invitation,
        TokenInput, TokenPasswordInput, ForgotPasswordInput, ChangePasswordInput, InviteInput,
        ApiKey, CreatedApiKey, Page<ApiKey>, CreateApiKeyInput, ActorType,
        Customer, Page<Customer>, CreateCustomerInput, UpdateCustomerInput,
        Ticket, Page<Ticket>, CustomerSummary, TicketStatus, Priority, EventType, Actor, TicketEvent,
        CreateTicketInput, UpdateTicketInput, StatusInput, AssignInput,
        Notification, Page<Notification>, Stats, PriorityCounts,
    )),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "auth", description = "Sign-up, login and sessions"),
        (name = "users", description = "The people of a tenant"),
        (name = "api-keys", description = "Keys for integrations: `Authorization: Bearer crm_…` works wherever an access token does, except the `/auth/*` session routes"),
        (name = "customers", description = "Who a tenant supports"),
        (name = "tickets", description = "Support tickets and their timeline"),
        (name = "notifications", description = "The log of ticket events delivered"),
        (name = "stats", description = "A tenant at a glance"),
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

/// What any route may answer besides its own outcomes: bad bodies for routes that take
/// one, 401 for routes behind a token, 400 for bad parameters, and the server's own 5xx.
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
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        common.push((
            "401",
            "The bearer token is missing, malformed, forged or expired, its user is disabled or gone, or its API key is revoked or expired",
        ));
    }
    common.extend([
        ("500", "An unexpected error (details are logged, not shown)"),
        ("503", "The database is unreachable; retry later"),
    ]);
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
}

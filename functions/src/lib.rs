//! `crm-functions`: the HTTP edge of SimpleCRM. One controller module per feature, the
//! route table that names every function, and the wiring that runs a controller as a
//! Lambda function (`lambda`) or inside `crm-local` (`invoke`).

pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod comments;
pub mod customers;
pub mod docs;
pub mod feed;
pub mod headers;
pub mod http;
pub mod invoke;
pub mod lambda;
pub mod migrate;
pub mod notifications;
pub mod openapi;
pub mod pipeline;
pub mod routes;
pub mod sla;
pub mod stats;
pub mod system;
pub mod tags;
pub mod tenancy;
pub mod tickets;
pub mod users;
pub mod webhooks;

/// What every controller returns; errors become problem+json in [`invoke::dispatch`].
pub type HandlerResult = Result<lambda_http::Response<lambda_http::Body>, crm_core::Error>;

//! Who changed what: the request a unit of work runs for, and the audit entry it records
//! as it commits.
//!
//! Every write is audited by construction: the function's dispatcher runs each request in
//! a [`RequestContext`] (its id, the client's address, the action, the target the path
//! names), a unit of work opened for a write request by an authenticated caller carries an
//! [`Entry`] from it, and [`crate::db::Tx`] inserts that entry in the round trip of its
//! COMMIT. A write that commits has its row; one that rolls back has none. A service adds
//! what only it knows (the id of what it created, the fields it changed) with
//! [`crate::db::Tx::audit`].

use std::future::Future;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{ids::TenantId, security::ActorId};

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// What the dispatcher knows of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: String,
    pub source_ip: Option<String>,
    /// The function that serves it (`tickets-update`): the audit's action.
    pub action: &'static str,
    /// Whether the method writes (anything but GET, HEAD and OPTIONS).
    pub writes: bool,
    /// The resource the path names and its id (`ticket`, `{id}`), if it names one.
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
}

/// Runs `work` as the request `context`.
pub async fn scope<F: Future>(context: RequestContext, work: F) -> F::Output {
    REQUEST.scope(context, work).await
}

/// The request this task runs for, if any.
pub fn current() -> Option<RequestContext> {
    REQUEST.try_with(Clone::clone).ok()
}

/// The row a unit of work writes to `audit_log` as it commits.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub tenant_id: TenantId,
    pub actor: ActorId,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    /// `{field: [old, new]}`.
    pub changes: Map<String, Value>,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

impl Entry {
    /// The entry of a write request by `actor` in `tenant`, or none when this task serves
    /// no write request.
    pub fn for_request(tenant: TenantId, actor: ActorId) -> Option<Self> {
        let request = current().filter(|r| r.writes)?;
        Some(Self {
            tenant_id: tenant,
            actor,
            action: request.action.to_owned(),
            target_type: request.target_type,
            target_id: request.target_id,
            changes: Map::new(),
            request_id: Some(request.request_id),
            source_ip: request.source_ip,
        })
    }

    /// What the write was about, when the path did not name it (a creation).
    pub fn target(&mut self, target_type: &str, id: Uuid) -> &mut Self {
        self.target_type = Some(target_type.to_owned());
        self.target_id = Some(id);
        self
    }

    /// A field that changed. Never pass a secret, hash or password.
    pub fn changed(&mut self, field: &str, old: Value, new: Value) -> &mut Self {
        self.changes.insert(field.to_owned(), Value::Array(vec![old, new]));
        self
    }
}

/// The resource a route template's path names, singular (`/api/v1/tickets/{id}/status`
/// → `ticket`; `/api/v1/sla-policy` → `sla-policy`), and the parameter holding its id.
pub fn target_of(template: &str) -> Option<(String, Option<&'static str>)> {
    let segments: Vec<&str> = template.trim_start_matches('/').split('/').skip(2).collect();
    let id_at = segments.iter().position(|s| *s == "{id}");
    let name = match id_at {
        Some(at) if at > 0 => segments[at - 1],
        _ => *segments.last()?,
    };
    if name.starts_with('{') {
        return None;
    }
    let singular = name.strip_suffix('s').unwrap_or(name);
    Some((singular.to_owned(), id_at.map(|_| "id")))
}

#[cfg(test)]
mod tests {
    use super::target_of;

    #[test]
    fn targets_come_from_the_route_template() {
        assert_eq!(target_of("/api/v1/tickets/{id}/status"), Some(("ticket".into(), Some("id"))));
        assert_eq!(target_of("/api/v1/api-keys/{id}"), Some(("api-key".into(), Some("id"))));
        assert_eq!(target_of("/api/v1/tickets"), Some(("ticket".into(), None)));
        assert_eq!(target_of("/api/v1/sla-policy"), Some(("sla-policy".into(), None)));
        assert_eq!(target_of("/api/v1/auth/password/reset"), Some(("reset".into(), None)));
    }
}

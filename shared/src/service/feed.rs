//! The change feed (`GET /events`): what an integration syncs from.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    db::feed::{self as feed_db, FeedPosition, FeedRow},
    error::Error,
    events::EventPayload,
    model::{EventActor, FeedEvent, FeedEventType, FeedPage},
    security::{Credential, Requires},
    state::AppState,
};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;
/// Versioned, as the list cursors are, and distinct from them: a list's cursor is refused here.
const CURSOR_PREFIX: &[u8] = b"f1";

/// A validated `GET /events` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRequest {
    after: FeedPosition,
    limit: i64,
    types: Option<Vec<String>>,
}

impl FeedRequest {
    /// Validates the raw `after`, `limit` and `types` (comma-separated) query parameters.
    pub fn parse(after: Option<&str>, limit: Option<&str>, types: Option<&str>) -> Result<Self, Error> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                Error::invalid_parameter("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
            })?,
        };
        let after = after.map(decode_cursor).transpose()?.unwrap_or_default();
        let types = types
            .map(|raw| {
                let mut types = Vec::new();
                for name in raw.split(',').map(str::trim) {
                    let known = name.parse::<FeedEventType>().map_err(|()| {
                        Error::invalid_parameter("types", format!("{name:?} is not an event type of the feed"))
                    })?;
                    if !types.iter().any(|t: &String| t == known.as_str()) {
                        types.push(known.as_str().to_owned());
                    }
                }
                Ok::<_, Error>(types)
            })
            .transpose()?;
        Ok(Self { after, limit, types })
    }
}

pub fn encode_cursor(at: FeedPosition) -> String {
    let mut bytes = CURSOR_PREFIX.to_vec();
    bytes.extend_from_slice(&at.txid.to_be_bytes());
    bytes.extend_from_slice(&at.position.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(raw: &str) -> Result<FeedPosition, Error> {
    let bad = || Error::invalid_parameter("after", "is not a cursor of this feed");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let rest = bytes.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
    let (txid, position) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
    let position: [u8; 8] = position.try_into().map_err(|_| bad())?;
    let at = FeedPosition { txid: u64::from_be_bytes(*txid), position: i64::from_be_bytes(position) };
    if at.position < 0 { Err(bad()) } else { Ok(at) }
}

/// The next page of the caller's tenant's feed.
pub async fn list(state: &AppState, caller: &Credential, request: FeedRequest) -> Result<FeedPage, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let mut rows =
        feed_db::manager::page(&tx, principal.tenant_id, request.after, request.types.as_deref(), request.limit + 1)
            .await?;
    tx.commit().await?;
    let end_of_stream = rows.len() as i64 <= request.limit;
    rows.truncate(request.limit as usize);
    let next = rows.last().map_or(request.after, |r| r.at);
    let items = rows.into_iter().map(feed_event).collect::<Result<_, _>>()?;
    Ok(FeedPage { items, next_cursor: encode_cursor(next), end_of_stream })
}

fn feed_event(row: FeedRow) -> Result<FeedEvent, Error> {
    let id = row.id;
    let corrupt = |what: String| Error::Internal(format!("outbox event {}: {what}", id.0));
    let event_type =
        row.event_type.parse::<FeedEventType>().map_err(|()| corrupt(format!("type {:?}", row.event_type)))?;
    let payload: EventPayload = serde_json::from_value(row.payload).map_err(|e| corrupt(format!("payload: {e}")))?;
    Ok(FeedEvent {
        id,
        event_type,
        occurred_at: payload.occurred_at,
        ticket_id: row.ticket_id,
        actor: EventActor { kind: payload.actor_type, id: payload.actor_id },
        data: serde_json::json!({"before": payload.before, "after": payload.after}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_what_this_feed_did_not_issue() {
        let at = FeedPosition { txid: 9_007_199_254_740_993, position: 42 };
        let cursor = encode_cursor(at);
        assert_eq!(cursor.len(), 24);
        assert_eq!(FeedRequest::parse(Some(&cursor), None, None).unwrap().after, at);
        let list_cursor = crate::pagination::encode_cursor(uuid::Uuid::now_v7());
        let negative = {
            let mut bytes = CURSOR_PREFIX.to_vec();
            bytes.extend_from_slice(&1u64.to_be_bytes());
            bytes.extend_from_slice(&(-1i64).to_be_bytes());
            URL_SAFE_NO_PAD.encode(bytes)
        };
        for bad in ["", "zzz", &list_cursor, &negative, &cursor[..20]] {
            assert!(matches!(FeedRequest::parse(Some(bad), None, None), Err(Error::InvalidParameters(_))), "{bad}");
        }
    }

    #[test]
    fn types_are_known_and_deduplicated_and_limits_bounded() {
        let request = FeedRequest::parse(None, Some("1000"), Some("comment.created, ticket.created,comment.created"));
        let request = request.unwrap();
        assert_eq!(request.types.unwrap(), ["comment.created", "ticket.created"]);
        assert_eq!(request.limit, 1000);
        assert_eq!(FeedRequest::parse(None, None, None).unwrap().limit, DEFAULT_LIMIT);
        for bad in ["webhook.test", "ticket.*", "", "ticket.created,,"] {
            assert!(FeedRequest::parse(None, None, Some(bad)).is_err(), "{bad}");
        }
        for bad in ["0", "1001", "x"] {
            assert!(FeedRequest::parse(None, Some(bad), None).is_err(), "{bad}");
        }
    }
}

//! Keyset pagination: an opaque cursor naming the last row of the previous page.
//!
//! Rows are ordered by their UUIDv7 id, newest first, so a page is `WHERE id < $cursor
//! ORDER BY id DESC LIMIT n`: rows inserted while a client walks the pages land before its
//! position and never shift, duplicate or skip the rows it has yet to see.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Error;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// Versioned so the cursor's content can change without breaking old clients silently.
const CURSOR_PREFIX: &[u8] = b"c1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Uuid>,
}

/// One page of a list, newest first (a conversation: oldest first). Pass `nextCursor` as `cursor` for the next page; it
/// is null on the last page. Its OpenAPI schemas are the named pages below.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The length of every cursor this API issues: `c1` and a UUID, base64url without padding.
pub const CURSOR_LEN: usize = 24;

/// A named schema per resource, `TicketPage` and so on, whose `items` refer to the
/// resource's schema: utoipa inlines a whole copy of a generic argument's schema into
/// `Page<T>`, so each list would describe its resource once more, and client generators
/// would make a second type of it. Only the document uses these types; the answers are
/// `Page<T>`, and a test in `crm-functions` checks both have the same fields.
macro_rules! page_schemas {
    ($($page:ident => $item:ident $order:literal),+ $(,)?) => {$(
        #[doc = concat!("One page of `", stringify!($item), "`, ", $order, " first. Pass `nextCursor` as `cursor` for the next page; it is null on the last page.")]
        #[derive(utoipa::ToSchema)]
        #[schema(rename_all = "camelCase")]
        #[allow(dead_code)]
        pub struct $page {
            /// At most the `limit` asked for.
            // MAX_LIMIT and CURSOR_LEN as literals (attributes take no constants); a test
            // below ties them.
            #[schema(max_items = 100)]
            items: Vec<crate::model::$item>,
            #[schema(required = true, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$")]
            next_cursor: Option<String>,
        }
    )+};
}

page_schemas!(
    UserPage => User "newest",
    ApiKeyPage => ApiKey "newest",
    CustomerPage => Customer "newest",
    TicketPage => Ticket "newest",
    NotificationPage => Notification "newest",
    CommentPage => Comment "oldest",
    AttachmentPage => Attachment "oldest",
    WebhookPage => Webhook "newest",
    DeliveryPage => WebhookDelivery "newest",
    AuditPage => AuditRecord "newest",
);

impl PageRequest {
    /// Validates the raw `limit` and `cursor` query parameters.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Error> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Error::invalid_parameter("limit", format!("must be an integer from 1 to {MAX_LIMIT}")));
                }
            },
        };
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(Self { limit, after })
    }

    /// As `parse`, but the largest page when no `limit` is given: for a list that part 1
    /// answered whole (a ticket's timeline), so a client unaware of paging still gets all
    /// of a usual ticket's events.
    pub fn parse_widest(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Error> {
        let page = Self::parse(limit, cursor)?;
        Ok(if limit.is_none() { Self { limit: MAX_LIMIT, ..page } } else { page })
    }

    /// The repository fetches one row more than asked, to know whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    pub fn into_page<T>(self, mut rows: Vec<T>, id_of: impl Fn(&T) -> Uuid) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more { rows.last().map(|r| encode_cursor(id_of(r))) } else { None };
        Page { items: rows, next_cursor }
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    let mut bytes = CURSOR_PREFIX.to_vec();
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(raw: &str) -> Result<Uuid, Error> {
    let bad = || Error::invalid_parameter("cursor", "is not a cursor this API issued");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let id = bytes.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
    Uuid::from_slice(id).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let page = PageRequest::parse(Some("5"), Some(&encode_cursor(id))).unwrap();
        assert_eq!(page, PageRequest { limit: 5, after: Some(id) });
        for bad in ["", "zzz", "!!", &URL_SAFE_NO_PAD.encode(b"c2xxxxxxxxxxxxxxxx")] {
            assert!(matches!(PageRequest::parse(None, Some(bad)), Err(Error::InvalidParameters(_))), "{bad}");
        }
    }

    #[test]
    fn the_page_schemas_state_the_real_bounds() {
        // The literals of `page_schemas!`.
        assert_eq!(MAX_LIMIT, 100);
        assert_eq!(encode_cursor(Uuid::now_v7()).len(), CURSOR_LEN);
        assert_eq!(CURSOR_LEN, 24);
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        for bad in ["0", "101", "-1", "ten", "1.5"] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_full_extra_row_means_a_next_page() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = PageRequest { limit: 2, after: None }.into_page(ids.clone(), |id| *id);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(encode_cursor(ids[1])));
        let last = PageRequest { limit: 3, after: None }.into_page(ids, |id| *id);
        assert_eq!(last.next_cursor, None);
    }
}

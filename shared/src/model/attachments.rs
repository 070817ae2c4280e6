//! Files on a ticket, and the signed requests that move their bytes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{AttachmentId, CommentId, TicketId};

wire_enum!(
    /// `PENDING` until `complete` finds the uploaded object with the declared size, then `READY`.
    AttachmentStatus { Pending => "PENDING", Ready => "READY" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: AttachmentId,
    pub ticket_id: TicketId,
    /// The comment the file belongs to, if any.
    pub comment_id: Option<CommentId>,
    #[schema(min_length = 1, max_length = 255)]
    pub file_name: String,
    #[schema(min_length = 3, max_length = 255)]
    pub content_type: String,
    /// Bytes, 1 to 26,214,400 (25 MiB).
    #[schema(minimum = 1, maximum = 26214400)]
    pub size: i64,
    pub status: AttachmentStatus,
    pub created_at: DateTime<Utc>,
}

/// The request that uploads the bytes: `PUT` to `url` with exactly these headers and the
/// declared number of bytes, before `expiresAt`. The store refuses any other size or type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    /// Always `PUT`.
    #[schema(value_type = String, pattern = "^PUT$")]
    pub method: &'static str,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAttachment {
    pub attachment: Attachment,
    pub upload: Upload,
}

/// An attachment with a link that downloads it (valid 5 minutes; served with
/// `Content-Disposition: attachment` and the declared content type); null while PENDING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentWithDownload {
    #[serde(flatten)]
    pub attachment: Attachment,
    pub download_url: Option<String>,
    pub download_expires_at: Option<DateTime<Utc>>,
}

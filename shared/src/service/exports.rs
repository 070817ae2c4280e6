//! Tenant exports: "can we take our data and leave". `POST /tenant/exports` records an
//! export and queues it; `tenant-export` writes every resource of the tenant to the blob
//! store as JSON Lines, page by page, in bounded memory (one page of rows and one upload
//! part); `GET /tenant/exports/{id}` hands a short-lived download URL once it is READY.
//!
//! The row is the truth and the message only says "run this": a run leases the row, so a
//! duplicate message never runs it twice at once, and an export whose message was lost or
//! whose run died is queued again by the sweeper ([`redrive`]). Each page is read in its
//! own short transaction: a row is exported as it was when its page was read.

use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::attachments;
use crate::{
    blobs::{BlobKey, BlobWriter},
    db::exports::{self as exports_db, ExportRow, SECTIONS},
    error::Error,
    ids::{ExportId, TenantId},
    security::{ActorId, Credential, Requires},
    state::AppState,
};

/// Rows read per page (each its own transaction).
pub const PAGE_ROWS: i64 = 2000;
/// A run's lease: longer than `tenant-export`'s 15-minute timeout, so a run never outlives
/// it, and shorter than the queue's visibility timeout (960 s), so the message of a run
/// that timed out finds the lease passed when it comes back, and runs.
pub const LEASE: Duration = Duration::from_secs(930);
/// Runs before an export is FAILED.
pub const MAX_ATTEMPTS: i32 = 3;
/// An unfinished export this old, not under lease, has lost its message: the sweeper sends another.
pub const REDRIVE_AFTER: Duration = Duration::from_secs(60);
pub const CONTENT_TYPE: &str = "application/x-ndjson";
/// The first line's `format`: what a reader of the file can rely on.
pub const FORMAT: &str = "simplecrm-export/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExportStatus {
    Pending,
    Running,
    Ready,
    Failed,
    /// Its file was deleted because a customer in it was erased: request a new export.
    Withdrawn,
}

/// An export of the tenant's data.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantExport {
    pub id: ExportId,
    pub status: ExportStatus,
    pub created_at: DateTime<Utc>,
    /// When it became READY or FAILED.
    pub finished_at: Option<DateTime<Utc>>,
    /// The file's size, once READY.
    #[schema(minimum = 0)]
    pub size_bytes: Option<u64>,
    /// Lines of data in the file (the header line not counted), once READY.
    #[schema(minimum = 0)]
    pub rows: Option<u64>,
    /// A GET of the JSON Lines file (`application/x-ndjson`), once READY; it works until `expiresAt`.
    #[schema(max_length = 4096)]
    pub download_url: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn status(row: &ExportRow) -> Result<ExportStatus, Error> {
    match row.status.as_str() {
        "PENDING" => Ok(ExportStatus::Pending),
        "RUNNING" => Ok(ExportStatus::Running),
        "READY" => Ok(ExportStatus::Ready),
        "FAILED" => Ok(ExportStatus::Failed),
        "WITHDRAWN" => Ok(ExportStatus::Withdrawn),
        other => Err(Error::Internal(format!("export status `{other}`"))),
    }
}

fn view(row: &ExportRow) -> Result<TenantExport, Error> {
    Ok(TenantExport {
        id: row.id,
        status: status(row)?,
        created_at: row.created_at,
        finished_at: row.finished_at,
        size_bytes: row.size_bytes.map(|n| n.max(0) as u64),
        rows: row.rows_written.map(|n| n.max(0) as u64),
        download_url: None,
        expires_at: None,
    })
}

/// What a queue message names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportMessage {
    pub tenant_id: TenantId,
    pub export_id: ExportId,
}

/// Records an export of the caller's tenant (admin) and queues it.
pub async fn create(state: &AppState, caller: &Credential) -> Result<TenantExport, Error> {
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let id = ExportId::generate();
    if let Some(entry) = tx.audit() {
        entry.target("export", id.0);
    }
    let by = match principal.actor {
        ActorId::User(user) => Some(user),
        ActorId::ApiKey(_) => None,
    };
    let row = exports_db::manager::create(&tx, tenant, id, by).await?;
    tx.commit().await?;
    // After the commit, one short attempt: a message lost here is sent again by the sweeper.
    if let Err(e) = enqueue(state, &[(tenant, id)]).await {
        tracing::warn!(error = %e, export_id = %id, "export not queued; the sweeper will");
    }
    view(&row)
}

/// The export, with a download URL once it is READY.
pub async fn get(state: &AppState, caller: &Credential, id: ExportId) -> Result<TenantExport, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let row = exports_db::manager::get(&tx, principal.tenant_id, id).await;
    tx.rollback().await?;
    let mut export = view(&row?)?;
    if export.status == ExportStatus::Ready {
        let blobs = attachments::store(state)?;
        let key = BlobKey::export(principal.tenant_id, id);
        let signed = blobs.download(&key, &format!("export-{id}.jsonl"), CONTENT_TYPE).await?;
        export.download_url = Some(signed.url);
        export.expires_at = Some(signed.expires_at);
    }
    Ok(export)
}

/// Sends one message per export to `tenant-export`'s queue; none without a queue
/// (`crm-local` runs them itself).
async fn enqueue(state: &AppState, exports: &[(TenantId, ExportId)]) -> Result<usize, Error> {
    let Some(queue) = &state.events.export_queue else {
        return Ok(0);
    };
    let messages: Result<Vec<(String, Duration)>, Error> = exports
        .iter()
        .map(|&(tenant_id, export_id)| {
            serde_json::to_string(&ExportMessage { tenant_id, export_id })
                .map(|body| (body, Duration::ZERO))
                .map_err(|e| Error::Internal(format!("export message: {e}")))
        })
        .collect();
    queue.send_messages(&messages?).await
}

/// The sweeper: queues again the unfinished exports whose message was lost or whose run died.
pub async fn redrive(state: &AppState, limit: i32) -> Result<usize, Error> {
    if state.events.export_queue.is_none() {
        return Ok(0);
    }
    let due = due(state, REDRIVE_AFTER, limit).await?;
    if due.is_empty() {
        return Ok(0);
    }
    enqueue(state, &due).await
}

/// Unfinished exports at least `min_age` old whose run is not under lease, across tenants.
pub async fn due(state: &AppState, min_age: Duration, limit: i32) -> Result<Vec<(TenantId, ExportId)>, Error> {
    let tx = state.db.begin_unscoped().await?;
    let due = exports_db::manager::due(&tx, min_age, limit).await?;
    tx.commit().await?;
    Ok(due)
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Written and READY: its size and rows.
    Written { size: u64, rows: u64 },
    /// Nothing to do: finished, failed for good, or running elsewhere.
    Skipped,
}

/// Runs the export if it can be claimed. A failure puts it back for another try (FAILED
/// after [`MAX_ATTEMPTS`]) and is returned, so the queue retries the message.
pub async fn run(state: &AppState, tenant: TenantId, id: ExportId) -> Result<Run, Error> {
    let tx = state.db.begin_for(tenant).await?;
    let claimed = exports_db::manager::claim(&tx, tenant, id, LEASE.as_secs_f64(), MAX_ATTEMPTS).await?;
    tx.commit().await?;
    if claimed.is_none() {
        return Ok(Run::Skipped);
    }
    match write(state, tenant, id).await {
        Ok((size, rows)) => {
            let tx = state.db.begin_for(tenant).await?;
            let finished = exports_db::manager::finish(&tx, tenant, id, size, rows).await?;
            tx.commit().await?;
            if !finished {
                tracing::warn!(export_id = %id, "export written after its lease passed; another run owns it");
            }
            tracing::info!(tenant_id = %tenant, export_id = %id, size, rows, "tenant exported");
            Ok(Run::Written { size, rows })
        }
        Err(e) => {
            let tx = state.db.begin_for(tenant).await?;
            exports_db::manager::release(&tx, tenant, id, &e.to_string(), MAX_ATTEMPTS).await?;
            tx.commit().await?;
            Err(e)
        }
    }
}

/// Writes the whole file; answers its size and the rows in it.
async fn write(state: &AppState, tenant: TenantId, id: ExportId) -> Result<(u64, u64), Error> {
    let mut writer = attachments::store(state)?.writer(&BlobKey::export(tenant, id), CONTENT_TYPE).await?;
    match write_lines(state, tenant, id, &mut writer).await {
        Ok(rows) => Ok((writer.finish().await?, rows)),
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

/// One line per row: `{"type": <kind>, "data": <the row>}`, after a header line naming the
/// format, the tenant and the export, and the tenant's own row.
async fn write_lines(state: &AppState, tenant: TenantId, id: ExportId, writer: &mut BlobWriter) -> Result<u64, Error> {
    let header = serde_json::json!({
        "type": "export",
        "data": {"format": FORMAT, "tenantId": tenant, "exportId": id, "startedAt": Utc::now()},
    });
    let mut buffer = Vec::with_capacity(1 << 20);
    buffer.extend_from_slice(header.to_string().as_bytes());
    buffer.push(b'\n');
    let tx = state.db.begin_for(tenant).await?;
    let tenant_row = exports_db::manager::tenant_row(&tx, tenant).await?;
    tx.commit().await?;
    line(&mut buffer, "tenant", &tenant_row);
    let mut rows = 1;
    for section in SECTIONS {
        let mut after = Uuid::nil();
        loop {
            let tx = state.db.begin_for(tenant).await?;
            let page = exports_db::manager::page(&tx, tenant, section, after, PAGE_ROWS).await?;
            tx.commit().await?;
            for (_, json) in &page {
                line(&mut buffer, section.kind, json);
            }
            rows += page.len() as u64;
            writer.write(&buffer).await?;
            buffer.clear();
            match page.last() {
                Some((key, _)) if page.len() as i64 == PAGE_ROWS => after = *key,
                _ => break,
            }
        }
    }
    Ok(rows)
}

fn line(buffer: &mut Vec<u8>, kind: &str, json: &str) {
    buffer.extend_from_slice(b"{\"type\":\"");
    buffer.extend_from_slice(kind.as_bytes());
    buffer.extend_from_slice(b"\",\"data\":");
    buffer.extend_from_slice(json.as_bytes());
    buffer.extend_from_slice(b"}\n");
}

/// `tenant-export`: each message names an export to run (the queue hands one at a time).
/// A run that fails is reported, so the message comes back after its visibility timeout;
/// a message that names nothing runnable is done.
pub async fn run_batch(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let message = record.body.as_deref().map(serde_json::from_str::<ExportMessage>);
        let result = match message {
            // Boxed: the run's future is deep enough to overflow the compiler's layout limit inline.
            Some(Ok(m)) => Box::pin(run(state, m.tenant_id, m.export_id)).await.map(|_| ()),
            Some(Err(e)) => {
                tracing::error!(message_id = %id, error = %e, "not an export message; dropped");
                Ok(())
            }
            None => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(message_id = %id, error = %e, "export failed; the queue will retry");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Deletes the files of `exports` (best effort, logged: the rows no longer offer them).
pub async fn delete_files(state: &AppState, tenant: TenantId, exports: &[ExportId]) -> Result<(), Error> {
    let Some(blobs) = state.blobs.as_ref() else {
        return Ok(());
    };
    for &id in exports {
        blobs.delete(&BlobKey::export(tenant, id)).await?;
    }
    Ok(())
}

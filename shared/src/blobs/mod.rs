//! Where attachment bytes live. The functions never carry them (Lambda takes at most 6 MB
//! and API Gateway 10 MB): they hand out short-lived signed URLs, the client PUTs and GETs
//! the bytes at the store, and the functions only ask the store what it holds.
//!
//! Two stores, chosen by configuration: S3 (`ATTACHMENTS_BUCKET`; against moto or
//! LocalStack with `S3_ENDPOINT_URL`), and `crm-local`'s own (files under `BLOB_DIR`, URLs
//! signed with an HMAC and served by `crm-local`), so a laptop needs nothing else. Both
//! bind the size and content type of an upload into its signature.

mod local;
mod s3;
mod writer;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
pub use local::{Grant, LocalStore, Operation, PATH_PREFIX as LOCAL_PATH_PREFIX};
pub use writer::BlobWriter;

use crate::{
    config::Config,
    error::Error,
    ids::{ExportId, TenantId, TicketId},
};

/// How long an upload URL works.
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a download URL works.
pub const DOWNLOAD_TTL: Duration = Duration::from_secs(5 * 60);

/// An object's key: `tenants/<tenantId>/tickets/<ticketId>/<attachmentId>`. Made only from
/// ids, so a key never holds a path a client chose, and a tenant's keys share its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn new(tenant: TenantId, ticket: TicketId, attachment: uuid::Uuid) -> Self {
        Self(format!("tenants/{tenant}/tickets/{ticket}/{attachment}"))
    }

    /// A tenant export's JSON Lines: `tenants/<tenantId>/exports/<exportId>.jsonl`.
    pub fn export(tenant: TenantId, export: ExportId) -> Self {
        Self(format!("tenants/{tenant}/exports/{export}.jsonl"))
    }

    /// A key as a URL path gives it back; anything but the shape above is refused.
    pub fn parse(raw: &str) -> Option<Self> {
        let parts: Vec<&str> = raw.split('/').collect();
        let id = |s: &str| s.len() == 36 && uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s);
        match parts.as_slice() {
            ["tenants", tenant, "tickets", ticket, attachment] if id(tenant) && id(ticket) && id(attachment) => {
                Some(Self(raw.to_owned()))
            }
            ["tenants", tenant, "exports", file] if id(tenant) && file.strip_suffix(".jsonl").is_some_and(id) => {
                Some(Self(raw.to_owned()))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request the client makes to the store itself.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub url: String,
    /// Headers the request must carry as given: they are part of the signature.
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What the store holds under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
}

enum Store {
    Local(LocalStore),
    S3(s3::S3Store),
}

/// Built once per container; cheap to clone.
#[derive(Clone)]
pub struct Blobs(Arc<Store>);

impl Blobs {
    /// S3 with `ATTACHMENTS_BUCKET`; otherwise, in development, `crm-local`'s own store;
    /// in production without a bucket, none.
    pub fn new(config: &Config) -> Option<Self> {
        let store = match (&config.attachments_bucket, config.is_production()) {
            (Some(bucket), _) => Store::S3(s3::S3Store::new(bucket, config.s3_endpoint_url.as_deref())),
            (None, false) => Store::Local(LocalStore::new(config.blob_dir.clone(), local_base_url(config))),
            (None, true) => return None,
        };
        Some(Self(Arc::new(store)))
    }

    /// A PUT of exactly `size` bytes of `content_type` to `key`.
    pub async fn upload(&self, key: &BlobKey, content_type: &str, size: u64) -> Result<SignedRequest, Error> {
        match &*self.0 {
            Store::Local(store) => Ok(store.sign_upload(key, content_type, size, UPLOAD_TTL)),
            Store::S3(store) => store.sign_upload(key, content_type, size, UPLOAD_TTL).await,
        }
    }

    /// A GET of `key` answered as a download named `file_name`, of `content_type`.
    pub async fn download(&self, key: &BlobKey, file_name: &str, content_type: &str) -> Result<SignedRequest, Error> {
        match &*self.0 {
            Store::Local(store) => Ok(store.sign_download(key, file_name, content_type, DOWNLOAD_TTL)),
            Store::S3(store) => store.sign_download(key, file_name, content_type, DOWNLOAD_TTL).await,
        }
    }

    pub async fn head(&self, key: &BlobKey) -> Result<Option<StoredObject>, Error> {
        match &*self.0 {
            Store::Local(store) => store.head(key).await,
            Store::S3(store) => store.head(key).await,
        }
    }

    /// Writes an object of `content_type` at `key` piece by piece, in bounded memory; it
    /// appears whole when the writer finishes, or not at all.
    pub async fn writer(&self, key: &BlobKey, content_type: &str) -> Result<BlobWriter, Error> {
        match &*self.0 {
            Store::Local(store) => BlobWriter::local(store.path_of(key)).await,
            Store::S3(store) => Ok(BlobWriter::s3(store.multipart(key, content_type).await?)),
        }
    }

    /// Deletes the object; deleting one that is not there is no error.
    pub async fn delete(&self, key: &BlobKey) -> Result<(), Error> {
        match &*self.0 {
            Store::Local(store) => store.delete(key).await,
            Store::S3(store) => store.delete(key).await,
        }
    }

    /// `crm-local`'s own store, which `crm-local` serves.
    pub fn local(&self) -> Option<&LocalStore> {
        match &*self.0 {
            Store::Local(store) => Some(store),
            Store::S3(_) => None,
        }
    }
}

/// Where `crm-local` answers: its listening address, or this host's loopback on the same
/// port when it listens on every interface (in a container, `0.0.0.0:3000`).
fn local_base_url(config: &Config) -> String {
    let mut addr = config.listen_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): the quoted name keeps only
/// printable ASCII other than `"` and `\`, the encoded one is exact.
pub fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_of_ids_only() {
        let key = BlobKey::new(TenantId::generate(), TicketId::generate(), uuid::Uuid::now_v7());
        assert_eq!(BlobKey::parse(key.as_str()), Some(key.clone()));
        let id = uuid::Uuid::now_v7();
        for bad in [
            "".to_owned(),
            format!("tenants/{id}/tickets/{id}"),
            format!("tenants/{id}/tickets/{id}/../{id}"),
            format!("tenants/{id}/tickets/{id}/{id}/x"),
            format!("tenants/{}/tickets/{id}/{id}", id.simple()),
            format!("tenants/{id}/tickets/{id}/{}", id.to_string().to_uppercase()),
            format!("/tenants/{id}/tickets/{id}/{id}"),
        ] {
            assert_eq!(BlobKey::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn download_names_are_quoted_safely() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition("Été \"final\".txt"),
            "attachment; filename=\"_t_ _final_.txt\"; filename*=UTF-8''%C3%89t%C3%A9%20%22final%22.txt"
        );
    }
}

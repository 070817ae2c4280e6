//! `crm-local`'s own blob store: files under a directory, and URLs that carry their own
//! permission — the operation, the key, the expiry, the exact size and content type of an
//! upload, the name and type of a download — signed with an HMAC-SHA256 key this process
//! drew at start. Any change to any of them, or another key, fails the signature.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::{BlobKey, SignedRequest, StoredObject, content_disposition};
use crate::error::Error;

/// Where `crm-local` serves the store: `/_local/blobs/<key>?…`.
pub const PATH_PREFIX: &str = "/_local/blobs/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Put,
    Get,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Put => "put",
            Operation::Get => "get",
        }
    }
}

/// What a verified URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key: BlobKey,
    pub operation: Operation,
    /// The exact size an upload must have.
    pub size: Option<u64>,
    pub content_type: String,
    /// The name a download is served under.
    pub file_name: Option<String>,
}

impl Grant {
    /// The `Content-Disposition` of a download.
    pub fn disposition(&self) -> Option<String> {
        self.file_name.as_deref().map(content_disposition)
    }
}

pub struct LocalStore {
    dir: PathBuf,
    base_url: String,
    key: [u8; 32],
}

impl LocalStore {
    pub fn new(dir: PathBuf, base_url: String) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self { dir, base_url, key }
    }

    fn sign(&self, fields: &[(&str, &str)]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        for (name, value) in fields {
            // Length-prefixed, so no two lists of fields sign the same bytes.
            mac.update(format!("{}:{name}={}:{value};", name.len(), value.len()).as_bytes());
        }
        hex(&mac.finalize().into_bytes())
    }

    fn url(&self, key: &BlobKey, fields: &[(&str, &str)]) -> String {
        let signature = self.sign(fields);
        let query: Vec<String> =
            fields.iter().skip(1).map(|(name, value)| format!("{name}={}", encode(value))).collect();
        format!("{}{PATH_PREFIX}{}?{}&sig={signature}", self.base_url, key.as_str(), query.join("&"))
    }

    pub(super) fn sign_upload(&self, key: &BlobKey, content_type: &str, size: u64, ttl: Duration) -> SignedRequest {
        let expires_at = expiry(ttl);
        let (expires, size_text) = (expires_at.timestamp().to_string(), size.to_string());
        let fields = [
            ("key", key.as_str()),
            ("op", Operation::Put.as_str()),
            ("expires", &expires),
            ("size", &size_text),
            ("type", content_type),
        ];
        let headers = BTreeMap::from([
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("Content-Length".to_owned(), size_text.clone()),
        ]);
        SignedRequest { url: self.url(key, &fields), headers, expires_at }
    }

    pub(super) fn sign_download(
        &self,
        key: &BlobKey,
        file_name: &str,
        content_type: &str,
        ttl: Duration,
    ) -> SignedRequest {
        let expires_at = expiry(ttl);
        let expires = expires_at.timestamp().to_string();
        let fields = [
            ("key", key.as_str()),
            ("op", Operation::Get.as_str()),
            ("expires", &expires),
            ("name", file_name),
            ("type", content_type),
        ];
        SignedRequest { url: self.url(key, &fields), headers: BTreeMap::new(), expires_at }
    }

    /// Checks a request to `path` (under [`PATH_PREFIX`]) with its decoded `query`: the
    /// signature over everything the URL names, and the expiry. The refusal says why.
    pub fn verify(&self, path: &str, query: &BTreeMap<String, String>) -> Result<Grant, &'static str> {
        let key = path.strip_prefix(PATH_PREFIX).and_then(BlobKey::parse).ok_or("no such object")?;
        let field = |name: &str| query.get(name).map(String::as_str).ok_or("the URL is not signed");
        let (op, expires, content_type, signature) = (field("op")?, field("expires")?, field("type")?, field("sig")?);
        let (operation, last) = match op {
            "put" => (Operation::Put, ("size", field("size")?)),
            "get" => (Operation::Get, ("name", field("name")?)),
            _ => return Err("the URL is not signed"),
        };
        let fields = [("key", key.as_str()), ("op", op), ("expires", expires), last, ("type", content_type)];
        let expected = self.sign(&fields);
        let same = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), signature.as_bytes());
        if !bool::from(same) {
            return Err("the signature does not match");
        }
        let expires: i64 = expires.parse().map_err(|_| "the URL is not signed")?;
        if Utc::now().timestamp() > expires {
            return Err("the URL has expired");
        }
        let size = match operation {
            Operation::Put => Some(last.1.parse().map_err(|_| "the URL is not signed")?),
            Operation::Get => None,
        };
        let file_name = (operation == Operation::Get).then(|| last.1.to_owned());
        Ok(Grant { key, operation, size, content_type: content_type.to_owned(), file_name })
    }

    fn file(&self, key: &BlobKey) -> PathBuf {
        self.dir.join(key.as_str())
    }

    pub(super) fn path_of(&self, key: &BlobKey) -> PathBuf {
        self.file(key)
    }

    /// Stores the bytes of a verified upload, whole or not at all.
    pub async fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<(), Error> {
        let file = self.file(key);
        let io = |e: std::io::Error| Error::Internal(format!("blob store: {e}"));
        if let Some(parent) = file.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let partial = file.with_extension(format!("part-{}", uuid::Uuid::now_v7()));
        tokio::fs::write(&partial, bytes).await.map_err(io)?;
        tokio::fs::rename(&partial, &file).await.map_err(io)
    }

    pub async fn read(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, Error> {
        match tokio::fs::read(self.file(key)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Internal(format!("blob store: {e}"))),
        }
    }

    pub(super) async fn head(&self, key: &BlobKey) -> Result<Option<StoredObject>, Error> {
        match tokio::fs::metadata(self.file(key)).await {
            Ok(meta) => Ok(Some(StoredObject { size: meta.len() })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Internal(format!("blob store: {e}"))),
        }
    }

    pub(super) async fn delete(&self, key: &BlobKey) -> Result<(), Error> {
        match tokio::fs::remove_file(self.file(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Internal(format!("blob store: {e}"))),
        }
    }
}

fn expiry(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TenantId, TicketId};

    fn query(url: &str) -> (String, BTreeMap<String, String>) {
        let url = url.strip_prefix("http://local").unwrap();
        let (path, query) = url.split_once('?').unwrap();
        let pairs = query
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), decode(v))
            })
            .collect();
        (path.to_owned(), pairs)
    }

    fn decode(v: &str) -> String {
        let bytes = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn store() -> LocalStore {
        LocalStore::new(std::env::temp_dir(), "http://local".to_owned())
    }

    #[test]
    fn a_signed_url_grants_exactly_what_it_names() {
        let store = store();
        let key = BlobKey::new(TenantId::generate(), TicketId::generate(), uuid::Uuid::now_v7());
        let upload = store.sign_upload(&key, "image/png", 5, Duration::from_secs(60));
        let (path, q) = query(&upload.url);
        let grant = store.verify(&path, &q).unwrap();
        assert_eq!((grant.operation, grant.size, grant.content_type.as_str()), (Operation::Put, Some(5), "image/png"));
        assert_eq!(upload.headers["Content-Length"], "5");

        let download = store.sign_download(&key, "a b.png", "image/png", Duration::from_secs(60));
        let (path, q) = query(&download.url);
        assert_eq!(store.verify(&path, &q).unwrap().file_name.as_deref(), Some("a b.png"));

        // Every field is signed: change any, or use another store's key, and it fails.
        for (name, value) in [("size", "6"), ("type", "text/html"), ("op", "get"), ("expires", "9999999999")] {
            let (path, mut q) = query(&upload.url);
            q.insert(name.to_owned(), value.to_owned());
            assert!(store.verify(&path, &q).is_err(), "{name}");
        }
        let other = BlobKey::new(TenantId::generate(), TicketId::generate(), uuid::Uuid::now_v7());
        let (_, q) = query(&upload.url);
        assert_eq!(store.verify(&format!("{PATH_PREFIX}{}", other.as_str()), &q), Err("the signature does not match"));
        let (path, q) = query(&upload.url);
        let another = LocalStore::new(std::env::temp_dir(), "http://local".to_owned());
        assert_eq!(another.verify(&path, &q), Err("the signature does not match"));
    }

    #[test]
    fn an_expired_url_is_refused() {
        let store = store();
        let key = BlobKey::new(TenantId::generate(), TicketId::generate(), uuid::Uuid::now_v7());
        let mut upload = store.sign_upload(&key, "text/plain", 1, Duration::from_secs(60));
        let past = (Utc::now().timestamp() - 1).to_string();
        let fields = [("key", key.as_str()), ("op", "put"), ("expires", &past), ("size", "1"), ("type", "text/plain")];
        upload.url = store.url(&key, &fields);
        let (path, q) = query(&upload.url);
        assert_eq!(store.verify(&path, &q), Err("the URL has expired"));
    }
}

//! S3 as the blob store: signed URLs made with the function role's keys (a presigned URL
//! is a local computation; no call), and HEAD and DELETE on the objects. Against moto or
//! LocalStack (`S3_ENDPOINT_URL`) with path-style addressing.

use std::{collections::BTreeMap, sync::OnceLock, time::Duration};

use aws_sdk_s3::{Client, presigning::PresigningConfig};
use chrono::Utc;

use super::{BlobKey, SignedRequest, StoredObject, content_disposition};
use crate::{aws::client_config, error::Error};

pub(super) struct S3Store {
    bucket: String,
    endpoint: Option<String>,
    client: OnceLock<Client>,
}

fn unavailable(what: &str, e: impl std::error::Error) -> Error {
    Error::Unavailable(format!("S3 {what}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))
}

impl S3Store {
    pub(super) fn new(bucket: &str, endpoint: Option<&str>) -> Self {
        Self { bucket: bucket.to_owned(), endpoint: endpoint.map(str::to_owned), client: OnceLock::new() }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| {
            let shared =
                client_config(self.endpoint.as_deref(), |name| std::env::var(name).ok(), Duration::from_secs(3));
            // moto and LocalStack answer path-style URLs; AWS takes virtual-hosted ones.
            let config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(self.endpoint.is_some()).build();
            Client::from_conf(config)
        })
    }

    fn presigning(ttl: Duration) -> Result<PresigningConfig, Error> {
        PresigningConfig::expires_in(ttl).map_err(|e| Error::Internal(format!("S3 presigning: {e}")))
    }

    pub(super) async fn sign_upload(
        &self,
        key: &BlobKey,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<SignedRequest, Error> {
        let length = i64::try_from(size).map_err(|_| Error::Internal("upload size out of range".into()))?;
        let signed = self
            .client()
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .content_length(length)
            .presigned(Self::presigning(ttl)?)
            .await
            .map_err(|e| unavailable("presign PUT", e))?;
        let headers: BTreeMap<String, String> =
            signed.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect();
        Ok(SignedRequest { url: signed.uri().to_owned(), headers, expires_at: expires_at(ttl) })
    }

    pub(super) async fn sign_download(
        &self,
        key: &BlobKey,
        file_name: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<SignedRequest, Error> {
        let signed = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .response_content_disposition(content_disposition(file_name))
            .response_content_type(content_type)
            .presigned(Self::presigning(ttl)?)
            .await
            .map_err(|e| unavailable("presign GET", e))?;
        Ok(SignedRequest { url: signed.uri().to_owned(), headers: BTreeMap::new(), expires_at: expires_at(ttl) })
    }

    pub(super) async fn head(&self, key: &BlobKey) -> Result<Option<StoredObject>, Error> {
        match self.client().head_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(object) => Ok(Some(StoredObject { size: object.content_length().unwrap_or(0).max(0) as u64 })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(unavailable("HEAD", e)),
        }
    }

    pub(super) async fn delete(&self, key: &BlobKey) -> Result<(), Error> {
        self.client()
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| unavailable("DELETE", e))?;
        Ok(())
    }
}

fn expires_at(ttl: Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

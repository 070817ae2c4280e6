//! S3 as the blob store: signed URLs made with the function role's keys (a presigned URL
//! is a local computation; no call), and HEAD and DELETE on the objects. Against moto or
//! LocalStack (`S3_ENDPOINT_URL`) with path-style addressing.
//!
//! The URLs are signed with `aws-sigv4` (SigV4 query-string signing, as the S3 SDK's
//! presigner does) rather than through the S3 client: the functions that only sign
//! (attachments-create, attachments-get) then carry no S3 client, which kept their zips
//! under the 4 MB budget.

use std::{
    collections::BTreeMap,
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use aws_sdk_s3::{
    Client,
    config::{Credentials, Region},
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use aws_sigv4::{
    http_request::{
        PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        UriPathNormalizationMode, sign,
    },
    sign::v4,
};
use chrono::Utc;

use super::{BlobKey, SignedRequest, StoredObject, content_disposition};
use crate::{
    aws::{client_config, region_and_keys},
    error::Error,
};

pub(super) struct S3Store {
    bucket: String,
    endpoint: Option<String>,
    client: OnceLock<Client>,
    /// For multipart uploads: a part of [`PART_SIZE`] takes longer than the 3 s of the rest.
    upload_client: OnceLock<Client>,
}

/// The size of each part of a multipart upload but the last (S3 takes 5 MiB at least):
/// the memory an upload holds.
pub const PART_SIZE: usize = 8 << 20;

fn unavailable(what: &str, e: impl std::error::Error) -> Error {
    Error::Unavailable(format!("S3 {what}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))
}

impl S3Store {
    pub(super) fn new(bucket: &str, endpoint: Option<&str>) -> Self {
        Self {
            bucket: bucket.to_owned(),
            endpoint: endpoint.map(str::to_owned),
            client: OnceLock::new(),
            upload_client: OnceLock::new(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| self.make_client(Duration::from_secs(3)))
    }

    fn make_client(&self, timeout: Duration) -> Client {
        let shared = client_config(self.endpoint.as_deref(), |name| std::env::var(name).ok(), timeout);
        // moto and LocalStack answer path-style URLs; AWS takes virtual-hosted ones.
        let config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(self.endpoint.is_some()).build();
        Client::from_conf(config)
    }

    /// Starts a multipart upload of `key`.
    pub(super) async fn multipart(&self, key: &BlobKey, content_type: &str) -> Result<MultipartUpload, Error> {
        let client = self.upload_client.get_or_init(|| self.make_client(Duration::from_secs(60))).clone();
        let started = client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| unavailable("create multipart upload", e))?;
        let upload_id =
            started.upload_id().ok_or_else(|| Error::Internal("S3 multipart upload without an id".into()))?.to_owned();
        Ok(MultipartUpload {
            client,
            bucket: self.bucket.clone(),
            key: key.as_str().to_owned(),
            upload_id,
            parts: Vec::new(),
            buffer: Vec::with_capacity(PART_SIZE),
        })
    }

    /// `https://<bucket>.s3.<region>.amazonaws.com/<key>` in AWS; `<endpoint>/<bucket>/<key>`
    /// against moto or LocalStack.
    fn object_url(&self, key: &BlobKey, region: &str) -> Result<url::Url, Error> {
        let raw = match &self.endpoint {
            Some(endpoint) => format!("{}/{}/{}", endpoint.trim_end_matches('/'), self.bucket, key.as_str()),
            None => format!("https://{}.s3.{region}.amazonaws.com/{}", self.bucket, key.as_str()),
        };
        url::Url::parse(&raw).map_err(|e| Error::Internal(format!("S3 object URL: {e}")))
    }

    /// Signs `method` on the object for `ttl` in the query string, with `headers` (and the
    /// host) bound into the signature; `query` goes into the URL before signing.
    fn presign(
        &self,
        method: &str,
        key: &BlobKey,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        ttl: Duration,
    ) -> Result<String, Error> {
        let (region, credentials) = region_and_keys(self.endpoint.as_deref(), |name| std::env::var(name).ok());
        let (Some(region), Some(credentials)) = (region, credentials) else {
            return Err(Error::Unavailable("S3 presign: no region or keys in the environment".into()));
        };
        self.presign_at(method, key, query, headers, ttl, &region, credentials, SystemTime::now())
    }

    #[allow(clippy::too_many_arguments)] // one signing, spelled out
    fn presign_at(
        &self,
        method: &str,
        key: &BlobKey,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        ttl: Duration,
        region: &Region,
        credentials: Credentials,
        now: SystemTime,
    ) -> Result<String, Error> {
        let mut url = self.object_url(key, region.as_ref())?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(Error::Internal("S3 object URL without a host".into())),
        };
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        // S3 signs the path as sent: encoded once, never normalised.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region.as_ref())
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| Error::Internal(format!("S3 presign: {e}")))?
            .into();
        let signed_headers = std::iter::once(("host", host.as_str())).chain(headers.iter().copied());
        let request = SignableRequest::new(method, url.as_str(), signed_headers, SignableBody::UnsignedPayload)
            .map_err(|e| Error::Internal(format!("S3 presign: {e}")))?;
        let (instructions, _) =
            sign(request, &params).map_err(|e| Error::Internal(format!("S3 presign: {e}")))?.into_parts();
        let (_, signature_params) = instructions.into_parts();
        url.query_pairs_mut().extend_pairs(signature_params.iter().map(|(name, value)| (*name, value.as_ref())));
        Ok(url.into())
    }

    pub(super) async fn sign_upload(
        &self,
        key: &BlobKey,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<SignedRequest, Error> {
        let length = size.to_string();
        let headers = [("content-length", length.as_str()), ("content-type", content_type)];
        // `x-id` names the operation, as the S3 SDK's presigned URLs do.
        let url = self.presign("PUT", key, &[("x-id", "PutObject")], &headers, ttl)?;
        let headers: BTreeMap<String, String> =
            headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        Ok(SignedRequest { url, headers, expires_at: expires_at(ttl) })
    }

    pub(super) async fn sign_download(
        &self,
        key: &BlobKey,
        file_name: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<SignedRequest, Error> {
        let disposition = content_disposition(file_name);
        let query = [
            ("response-content-disposition", disposition.as_str()),
            ("response-content-type", content_type),
            ("x-id", "GetObject"),
        ];
        let url = self.presign("GET", key, &query, &[], ttl)?;
        Ok(SignedRequest { url, headers: BTreeMap::new(), expires_at: expires_at(ttl) })
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

/// An upload in progress: the parts sent, and the bytes of the next.
pub(super) struct MultipartUpload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    buffer: Vec<u8>,
}

impl MultipartUpload {
    pub(super) async fn write(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        while !bytes.is_empty() {
            let room = PART_SIZE - self.buffer.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = rest;
            if self.buffer.len() == PART_SIZE {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    async fn send_part(&mut self) -> Result<(), Error> {
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
        let sent = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| unavailable("upload part", e))?;
        self.parts
            .push(CompletedPart::builder().part_number(number).set_e_tag(sent.e_tag().map(str::to_owned)).build());
        Ok(())
    }

    pub(super) async fn complete(mut self) -> Result<(), Error> {
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.send_part().await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(self.parts)).build())
            .send()
            .await
            .map_err(|e| unavailable("complete multipart upload", e))?;
        Ok(())
    }

    pub(super) async fn abort(self) {
        let aborted = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(e), "could not abort a multipart upload");
        }
    }
}

fn expires_at(ttl: Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use aws_sdk_s3::{config::BehaviorVersion, presigning::PresigningConfig};

    use super::*;

    fn query(url: &str) -> (String, BTreeSet<(String, String)>) {
        let url = url::Url::parse(url).unwrap();
        let base = format!("{}{}", &url[..url::Position::BeforePath], url.path());
        (base, url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The URLs this store signs are the S3 SDK's own presigned URLs, signature included,
    /// for the same keys, time and expiry: path-style (moto, LocalStack) and in AWS.
    #[tokio::test]
    async fn signed_urls_are_the_sdks_presigned_urls() {
        let key = BlobKey::new(
            crate::ids::TenantId(uuid::Uuid::now_v7()),
            crate::ids::TicketId(uuid::Uuid::now_v7()),
            uuid::Uuid::now_v7(),
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let ttl = Duration::from_secs(900);
        let credentials =
            || Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        for endpoint in [Some("http://127.0.0.1:4566"), None] {
            let store = S3Store::new("crm-attachments", endpoint);
            let region = Region::new("eu-west-1");
            let mut config = aws_sdk_s3::config::Builder::new()
                .behavior_version(BehaviorVersion::latest())
                .region(region.clone())
                .credentials_provider(credentials());
            if let Some(endpoint) = endpoint {
                config = config.endpoint_url(endpoint).force_path_style(true);
            }
            let client = Client::from_conf(config.build());
            let presigning = PresigningConfig::builder().start_time(now).expires_in(ttl).build().unwrap();

            let ours = store
                .presign_at(
                    "PUT",
                    &key,
                    &[("x-id", "PutObject")],
                    &[("content-length", "5"), ("content-type", "text/plain")],
                    ttl,
                    &region,
                    credentials(),
                    now,
                )
                .unwrap();
            let sdk = client
                .put_object()
                .bucket("crm-attachments")
                .key(key.as_str())
                .content_type("text/plain")
                .content_length(5)
                .presigned(presigning.clone())
                .await
                .unwrap();
            assert_eq!(query(&ours), query(sdk.uri()), "PUT {endpoint:?}");

            let disposition = content_disposition("report 2026.pdf");
            let q = [
                ("response-content-disposition", disposition.as_str()),
                ("response-content-type", "application/pdf"),
                ("x-id", "GetObject"),
            ];
            let ours = store.presign_at("GET", &key, &q, &[], ttl, &region, credentials(), now).unwrap();
            let sdk = client
                .get_object()
                .bucket("crm-attachments")
                .key(key.as_str())
                .response_content_disposition(&disposition)
                .response_content_type("application/pdf")
                .presigned(presigning)
                .await
                .unwrap();
            assert_eq!(query(&ours), query(sdk.uri()), "GET {endpoint:?}");
        }
    }
}

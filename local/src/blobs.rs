//! `/_local/blobs/<key>?…`: `crm-local`'s own blob store, answering the signed URLs the
//! attachment functions hand out, as S3 would answer its presigned ones: a PUT stores
//! exactly the signed size and content type, a GET serves the object as a download, and
//! anything unsigned, tampered with or expired is refused with 403.

use std::collections::BTreeMap;

use aws_lambda_events::query_map::QueryMap;
use crm_core::{
    AppState,
    blobs::{LocalStore, Operation},
};
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode, body::Bytes, body::Incoming, header};

pub async fn answer(state: &AppState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(store) = state.blobs.as_ref().and_then(|b| b.local()) else {
        return plain(StatusCode::NOT_FOUND, "no local blob store: attachments live in S3");
    };
    let query: QueryMap = req.uri().query().unwrap_or("").parse().unwrap_or_default();
    let query: BTreeMap<String, String> =
        query.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect();
    let grant = match store.verify(req.uri().path(), &query) {
        Ok(grant) => grant,
        Err(why) => return plain(StatusCode::FORBIDDEN, why),
    };
    match (req.method(), grant.operation) {
        (&Method::PUT, Operation::Put) => put(store, req, &grant).await,
        (&Method::GET, Operation::Get) => get(store, &grant).await,
        _ => plain(StatusCode::FORBIDDEN, "the URL is signed for another method"),
    }
}

async fn put(store: &LocalStore, req: Request<Incoming>, grant: &crm_core::blobs::Grant) -> Response<Full<Bytes>> {
    let header = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if header(header::CONTENT_TYPE).as_deref() != Some(grant.content_type.as_str()) {
        return plain(StatusCode::FORBIDDEN, "the content type is not the one signed");
    }
    let size = grant.size.unwrap_or(0);
    let declared = header(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared != Some(size) {
        return plain(StatusCode::FORBIDDEN, "the content length is not the one signed");
    }
    let Some(bytes) = crate::read_at_most(req.into_body(), size as usize).await else {
        return plain(StatusCode::FORBIDDEN, "the body is longer than the size signed");
    };
    if bytes.len() as u64 != size {
        return plain(StatusCode::BAD_REQUEST, "the body is shorter than its Content-Length");
    }
    match store.put(&grant.key, &bytes).await {
        Ok(()) => plain(StatusCode::OK, ""),
        Err(e) => {
            tracing::warn!(error = %e, "local blob store write failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "the store could not keep the object")
        }
    }
}

async fn get(store: &LocalStore, grant: &crm_core::blobs::Grant) -> Response<Full<Bytes>> {
    match store.read(&grant.key).await {
        Ok(Some(bytes)) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            let headers = response.headers_mut();
            if let Ok(value) = header::HeaderValue::from_str(&grant.content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            if let Some(value) = grant.disposition().and_then(|d| header::HeaderValue::from_str(&d).ok()) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
            response
        }
        Ok(None) => plain(StatusCode::NOT_FOUND, "no such object"),
        Err(e) => {
            tracing::warn!(error = %e, "local blob store read failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "the store could not read the object")
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

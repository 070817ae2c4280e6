//! `crm-local`: API Gateway (HTTP API) and Lambda on a laptop.
//!
//! Every HTTP request is turned into a genuine API Gateway HTTP API v2 event, serialised
//! to the JSON Lambda would receive, read back through `lambda_http`'s own deserialisation
//! and handed to the very controller the function's binary runs. Local behaviour is
//! Lambda behaviour, down to path parameters and the request id.

pub mod blobs;
pub mod event;
pub mod mailbox;
pub mod workers;

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use crm_core::{
    AppState, Config, Error,
    config::{DatabaseRole, Needs},
    db, request,
};
use crm_functions::{
    headers,
    invoke::{dispatch, problem_response, with_request_id},
    routes::{self, Match, Route},
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown};
use lambda_http::Body;
use tokio::net::TcpListener;

/// Bodies up to this size reach the function, which refuses anything over the
/// application's 1 MiB itself (exactly as on Lambda, where API Gateway forwards up to its
/// own 10 MB). Past it `crm-local` answers 413 without reading the body whole: at once
/// when `Content-Length` declares it, after this many bytes when the body is chunked. A
/// local server must not buffer a 100 MB upload to refuse it.
pub const LOCAL_MAX_BODY_BYTES: usize = 2 * request::MAX_BODY_BYTES;
/// A body refused as too large is still read (and dropped) up to this size, API Gateway's
/// own limit, so that a client that writes its whole body before reading the answer
/// (Python's urllib, curl without `Expect`) gets the 413 instead of a reset connection.
/// Past it, or after [`DRAIN_TIME`], the connection is closed: nobody is owed a 100 MB read.
pub const DRAIN_BYTES: u64 = 10 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);
/// A local run serves many requests at once, unlike one Lambda container.
pub const LOCAL_POOL_SIZE: usize = 10;

/// Creates the database if missing, applies migrations, and builds the shared state.
pub async fn prepare(config: Config) -> Result<AppState, Error> {
    // Every route and the migrations in one process: it needs every secret.
    let everything = Needs { database: Some(DatabaseRole::Owner), jwt: true };
    config.require(everything).map_err(|e| Error::Internal(e.to_string()))?;
    let owner_url = config.owner_database_url().map_err(|e| Error::Internal(e.to_string()))?.to_owned();
    if db::create_database_if_missing(&owner_url).await? {
        tracing::info!("database created");
    }
    let applied = db::migrate(&owner_url).await?;
    tracing::info!(applied = ?applied, "migrations up to date");
    AppState::new(config, LOCAL_POOL_SIZE)
}

/// Serves every route and runs the event pipeline until `shutdown` resolves; then stops
/// accepting, finishes in-flight requests and the pipeline's current batch.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let (stop_workers, stop) = tokio::sync::watch::channel(false);
    let workers = workers::spawn(state.clone(), stop);
    let served = serve_http(listener, state, shutdown).await;
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    served
}

async fn serve_http(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let routes: Arc<Vec<Route>> = Arc::new(routes::routes());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let (state, routes) = (state.clone(), routes.clone());
                let service = service_fn(move |req| {
                    let (state, routes) = (state.clone(), routes.clone());
                    async move { Ok::<_, Infallible>(handle(state, &routes, req, remote).await) }
                });
                let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One HTTP request, as API Gateway and Lambda would handle it.
pub async fn handle(
    state: AppState,
    routes: &[Route],
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path == mailbox::PATH {
        return into_hyper(headers::secure(mailbox::answer(&state, req.method(), req.uri().query())));
    }
    if path.starts_with(crm_core::blobs::LOCAL_PATH_PREFIX) {
        return blobs::answer(&state, req).await;
    }
    let route = match routes::find(routes, req.method(), &path) {
        Match::Found(route, params) => (route, params),
        Match::WrongMethod(allow) => {
            return gateway_problem(&Error::MethodNotAllowed { allow }, &path);
        }
        Match::NotFound => return gateway_problem(&Error::NoRoute, &path),
    };
    // The client sees the application's limit, the one it can act on.
    let too_large = Error::PayloadTooLarge { limit: request::MAX_BODY_BYTES };
    let declared = req.headers().get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > LOCAL_MAX_BODY_BYTES as u64) {
        if declared.is_some_and(|n| n <= DRAIN_BYTES) {
            drain(req.into_body(), 0).await;
        }
        return close_after(gateway_problem(&too_large, &path));
    }
    let (parts, body) = req.into_parts();
    let body = match read_at_most(body, LOCAL_MAX_BODY_BYTES).await {
        Some(bytes) => bytes,
        None => return close_after(gateway_problem(&too_large, &path)),
    };
    let (route, params) = route;
    let request = match event::to_lambda_request(route, params, &parts, &body, remote) {
        Ok(request) => request,
        Err(e) => return gateway_problem(&e, &path),
    };
    let handler = route.handler;
    into_hyper(dispatch(route.function, state, request, handler).await)
}

/// The body if it is at most `limit` bytes; `None` if it is larger (the rest of it is then
/// drained, see [`DRAIN_BYTES`]) or broken.
pub(crate) async fn read_at_most(mut body: Incoming, limit: usize) -> Option<Bytes> {
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.ok()?.into_data() else { continue };
        if kept.len() + data.len() > limit {
            drain(body, (kept.len() + data.len()) as u64).await;
            return None;
        }
        kept.extend_from_slice(&data);
    }
    Some(Bytes::from(kept))
}

/// Reads and drops what is left of a refused body, up to [`DRAIN_BYTES`] in all (`read`
/// counts what was read already) and [`DRAIN_TIME`].
async fn drain(mut body: Incoming, mut read: u64) {
    let reading = async {
        while read <= DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
}

/// An answer API Gateway itself gives, before any function runs.
fn gateway_problem(error: &Error, path: &str) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(status = error.status(), path, request_id, "gateway refused the request");
    let problem = problem_response(error, Some(path.to_owned()), Some(request_id.clone()));
    into_hyper(with_request_id(headers::secure(problem), &request_id))
}

/// The rest of the refused body is never read, so the connection cannot carry another
/// request: say so, and hyper closes it after the answer.
fn close_after(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}

fn into_hyper(response: lambda_http::Response<Body>) -> Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, Full::new(bytes))
}

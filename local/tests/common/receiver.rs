//! A webhook receiver on loopback: records every request and answers the statuses it is
//! told to, 200 once the script runs out. With `verify`, an HMAC of its own (not the
//! app's signing code) checks a delivery's `webhook-signature`.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// In [`Receiver::answer`]'s script: take the request and never answer it.
pub const HANG: u16 = 0;

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<u16>,
}

pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/simplecrm", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let header = |name: &str| {
                                req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
                            };
                            let (id, timestamp, signature, content_type) = (
                                header("webhook-id"),
                                header("webhook-timestamp"),
                                header("webhook-signature"),
                                header("content-type"),
                            );
                            let body =
                                req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                            let status = {
                                let mut inner = shared.lock().unwrap();
                                inner.received.push(Received {
                                    id,
                                    timestamp,
                                    signature,
                                    content_type,
                                    body,
                                    at: Instant::now(),
                                });
                                inner.script.pop_front().unwrap_or(200)
                            };
                            // HANG: a receiver that takes the request and never answers.
                            if status == HANG {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                            }
                            Ok::<_, std::convert::Infallible>(
                                Response::builder().status(status).body(Full::new(Bytes::from_static(b"ok"))).unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, inner }
    }

    /// The next requests get these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().script.extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests arrived (20 s at most); answers them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || started.elapsed() > Duration::from_secs(20) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether one of the `v1,` signatures of the delivery is the HMAC-SHA256, keyed by the
/// base64 after `whsec_`, of `id.timestamp.body`: the Standard Webhooks check, written
/// here from the specification.
pub fn verify(secret: &str, r: &Received) -> bool {
    use hmac::{Hmac, Mac};
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

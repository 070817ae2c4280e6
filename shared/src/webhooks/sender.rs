//! One webhook delivery: an HTTP POST to the addresses `target::resolve` checked.
//!
//! The client never looks the name up itself: a second lookup could answer another
//! address than the checked one (DNS rebinding), so the name is pinned to the checked
//! addresses and any other lookup is refused. Redirects are not followed (the next hop
//! was never checked) and no proxy from the environment is used.

use std::error::Error as StdError;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::dns::{Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use url::{Host, Url};

pub const USER_AGENT: &str = "SimpleCRM-Webhooks/1";

/// Bounds the TCP and TLS set-up within the delivery's own timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The `error` column is shown in the delivery log; a cause chain can be long.
const MAX_ERROR_CHARS: usize = 300;

pub struct Delivery<'a> {
    pub url: &'a Url,
    /// From `target::resolve`; the only addresses connected to.
    pub addrs: &'a [SocketAddr],
    pub headers: &'a [(&'a str, String)],
    pub body: &'a [u8],
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The response's status, `None` when no response came.
    pub status: Option<u16>,
    pub duration_ms: i32,
    /// Why the delivery failed, `None` when it succeeded.
    pub error: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && matches!(self.status, Some(200..=299))
    }
}

/// Posts `delivery` once. Failures are the outcome's `error`, never a panic or an `Err`:
/// the caller records them and retries later.
pub async fn post(delivery: Delivery<'_>) -> Outcome {
    let started = Instant::now();
    let result = send(&delivery).await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match result {
        Ok(status) => Outcome {
            status: Some(status),
            duration_ms,
            error: match status {
                200..=299 => None,
                300..=399 => Some(format!("redirect not followed (HTTP {status})")),
                _ => Some(format!("HTTP {status}")),
            },
        },
        Err(error) => Outcome { status: None, duration_ms, error: Some(error) },
    }
}

async fn send(delivery: &Delivery<'_>) -> Result<u16, String> {
    let headers = headers(delivery.headers)?;
    let client = client(delivery)?;
    let response = client
        .post(delivery.url.clone())
        .headers(headers)
        .body(delivery.body.to_vec())
        .send()
        .await
        .map_err(|e| describe(&e, delivery.timeout))?;
    // The body is not read: only the status counts, and a large answer must not be
    // buffered. Dropping the response closes the connection.
    Ok(response.status().as_u16())
}

fn headers(given: &[(&str, String)]) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::with_capacity(given.len() + 1);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in given {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))?;
        // The value is left out of the message: it may be a signature.
        let value = HeaderValue::from_str(value).map_err(|_| format!("invalid value for header {name}"))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

fn client(delivery: &Delivery<'_>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config()?.clone())
        .dns_resolver(Arc::new(NoLookup))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(delivery.timeout)
        .connect_timeout(delivery.timeout.min(CONNECT_TIMEOUT))
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(0)
        .user_agent(USER_AGENT);
    // An IP literal is connected to as is, without resolution.
    if let Some(Host::Domain(name)) = delivery.url.host() {
        if delivery.addrs.is_empty() {
            return Err("no checked address to connect to".to_owned());
        }
        // The connector keeps a pinned address's port unless the URL names one; the URL
        // decides, as it does for an IP literal.
        let port = delivery.url.port_or_known_default().unwrap_or_default();
        let addrs: Vec<SocketAddr> = delivery.addrs.iter().map(|addr| SocketAddr::new(addr.ip(), port)).collect();
        builder = builder.resolve_to_addrs(name, &addrs);
    }
    builder.build().map_err(|e| format!("HTTP client: {}", root_cause(&e)))
}

/// The resolver beneath the pinned names: any other name is refused, not looked up.
struct NoLookup;

impl Resolve for NoLookup {
    fn resolve(&self, name: Name) -> Resolving {
        let error = format!("{} is not pinned to a checked address", name.as_str());
        Box::pin(std::future::ready(Err(error.into())))
    }
}

/// TLS over ring with the system's roots, built once: reqwest would otherwise load and
/// parse the system's certificate bundle again for every delivery's client.
fn tls_config() -> Result<&'static rustls::ClientConfig, String> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            let mut config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS: {e}"))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            // A preconfigured config is used as is: reqwest adds no ALPN to it.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(config)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A short reason for the delivery log; reqwest's own text names the URL, which may
/// carry a token in its query.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return if error.is_connect() {
            format!("connection timed out after {}", seconds(timeout.min(CONNECT_TIMEOUT)))
        } else {
            format!("timed out after {}", seconds(timeout))
        };
    }
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return truncate(format!("TLS handshake failed: {tls}"));
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let known = match io.kind() {
                ErrorKind::ConnectionRefused => Some("connection refused"),
                ErrorKind::ConnectionReset => Some("connection reset by peer"),
                ErrorKind::ConnectionAborted => Some("connection aborted"),
                ErrorKind::HostUnreachable => Some("host unreachable"),
                ErrorKind::NetworkUnreachable => Some("network unreachable"),
                _ => None,
            };
            if let Some(text) = known {
                return text.to_owned();
            }
        }
        source = cause_of(cause);
    }
    let what = if error.is_connect() { "connection failed" } else { "request failed" };
    truncate(format!("{what}: {}", root_cause(error)))
}

/// The next error down the chain. An io::Error's `source` skips the error it wraps
/// (tokio-rustls puts the TLS error there, itself inside another io::Error).
fn cause_of<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e (dyn StdError + 'static)> {
    match error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
        Some(inner) => Some(inner),
        None => error.source(),
    }
}

fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause_of(cause) {
        cause = next;
    }
    cause.to_string()
}

fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

fn truncate(mut text: String) -> String {
    if let Some((index, _)) = text.char_indices().nth(MAX_ERROR_CHARS) {
        text.truncate(index);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A one-response-per-connection HTTP/1 server on 127.0.0.1 recording each request.
    struct Server {
        addr: SocketAddr,
        requests: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    impl Server {
        /// `None`: read the request, then never answer.
        async fn start(response: Option<&'static str>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let requests = Arc::new(Mutex::new(Vec::new()));
            let recorded = requests.clone();
            tokio::spawn(async move {
                loop {
                    let (mut socket, _) = listener.accept().await.unwrap();
                    let recorded = recorded.clone();
                    tokio::spawn(async move {
                        let request = read_request(&mut socket).await;
                        recorded.lock().unwrap().push(request);
                        match response {
                            Some(response) => {
                                socket.write_all(response.as_bytes()).await.unwrap();
                                let _ = socket.shutdown().await;
                            }
                            None => std::future::pending::<()>().await,
                        }
                    });
                }
            });
            Server { addr, requests }
        }

        fn url(&self, path: &str) -> Url {
            Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
        }

        fn requests(&self) -> Vec<Vec<u8>> {
            self.requests.lock().unwrap().clone()
        }
    }

    async fn read_request(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            if n == 0 {
                return request;
            }
            request.extend_from_slice(&buffer[..n]);
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map(|value| value.trim().parse().unwrap())
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    return request;
                }
            }
        }
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

    async fn post_to(url: &Url, addrs: &[SocketAddr], timeout: Duration) -> Outcome {
        post(Delivery { url, addrs, headers: &[], body: b"{}", timeout }).await
    }

    #[tokio::test]
    async fn ok_succeeds() {
        let server = Server::start(Some(OK)).await;
        let outcome = post_to(&server.url("/x"), &[server.addr], Duration::from_secs(5)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (Some(200), None));
        assert!(outcome.succeeded());
        assert!(outcome.duration_ms >= 0);
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn server_error_fails_with_its_status() {
        let server = Server::start(Some("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")).await;
        let outcome = post_to(&server.url("/x"), &[server.addr], Duration::from_secs(5)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (Some(500), Some("HTTP 500")));
        assert!(!outcome.succeeded());
    }

    #[tokio::test]
    async fn redirect_is_not_followed() {
        let server =
            Server::start(Some("HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n")).await;
        let outcome = post_to(&server.url("/x"), &[server.addr], Duration::from_secs(5)).await;
        assert_eq!(outcome.status, Some(302));
        assert_eq!(outcome.error.as_deref(), Some("redirect not followed (HTTP 302)"));
        assert!(!outcome.succeeded());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert!(requests[0].starts_with(b"POST /x "));
    }

    #[tokio::test]
    async fn silence_times_out() {
        let server = Server::start(None).await;
        let outcome = post_to(&server.url("/x"), &[server.addr], Duration::from_millis(300)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (None, Some("timed out after 300 ms")));
        assert!(outcome.duration_ms >= 300, "{}", outcome.duration_ms);
        assert!(!outcome.succeeded());
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let outcome = post_to(&url, &[addr], Duration::from_secs(5)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (None, Some("connection refused")));
    }

    #[tokio::test]
    async fn https_to_a_plain_http_server_is_a_tls_failure() {
        // Answers in plain HTTP at once, where the client expects a ServerHello.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.write_all(OK.as_bytes()).await.unwrap();
            std::future::pending::<()>().await
        });
        let url = Url::parse(&format!("https://{addr}/x")).unwrap();
        let outcome = post_to(&url, &[addr], Duration::from_secs(5)).await;
        assert_eq!(
            outcome.error.as_deref(),
            Some("TLS handshake failed: received corrupt message of type InvalidContentType")
        );
    }

    #[tokio::test]
    async fn hanging_up_without_an_answer_fails() {
        let server = Server::start(Some("")).await;
        let outcome = post_to(&server.url("/x?token=s3cret"), &[server.addr], Duration::from_secs(5)).await;
        assert_eq!(outcome.status, None);
        let error = outcome.error.unwrap();
        assert!(error.starts_with("request failed: "), "{error}");
        assert!(!error.contains("s3cret") && !error.contains("127.0.0.1"), "{error}");
    }

    #[tokio::test]
    async fn headers_and_body_arrive_as_given() {
        let server = Server::start(Some(OK)).await;
        let url = server.url("/hooks?tenant=a");
        let body = br#"{"type":"ticket.created","data":{"id":"t_1"}}"#;
        let headers = [
            ("webhook-id", "msg_1".to_owned()),
            ("webhook-timestamp", "1700000000".to_owned()),
            ("webhook-signature", "v1,c2lnbmF0dXJl".to_owned()),
        ];
        let delivery =
            Delivery { url: &url, addrs: &[server.addr], headers: &headers, body, timeout: Duration::from_secs(5) };
        assert!(post(delivery).await.succeeded());

        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(request[..end].to_vec()).unwrap();
        let mut lines = head.lines();
        assert_eq!(lines.next(), Some("POST /hooks?tenant=a HTTP/1.1"));
        let lines: Vec<String> = lines.map(|line| line.to_ascii_lowercase()).collect();
        for expected in [
            "webhook-id: msg_1",
            "webhook-timestamp: 1700000000",
            "webhook-signature: v1,c2lnbmf0dxjl",
            "content-type: application/json",
            "user-agent: simplecrm-webhooks/1",
            &format!("content-length: {}", body.len()),
            &format!("host: {}", server.addr),
        ] {
            assert!(lines.iter().any(|line| line == expected), "{expected:?} not in {lines:?}");
        }
        assert_eq!(lines.iter().filter(|line| line.starts_with("content-type:")).count(), 1);
        assert_eq!(&request[end + 4..], body);
    }

    #[tokio::test]
    async fn name_is_pinned_to_the_checked_addresses() {
        // `.invalid` never resolves (RFC 6761): reaching the server proves no lookup ran.
        let server = Server::start(Some(OK)).await;
        let url = Url::parse(&format!("http://hook.invalid:{}/x", server.addr.port())).unwrap();
        let outcome = post_to(&url, &[server.addr], Duration::from_secs(5)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (Some(200), None));
        // The URL's port is connected to, whatever the pinned address's.
        let outcome = post_to(&url, &["127.0.0.1:1".parse().unwrap()], Duration::from_secs(5)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (Some(200), None));
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let head = String::from_utf8_lossy(&requests[0]).to_ascii_lowercase();
        assert!(head.contains(&format!("\r\nhost: hook.invalid:{}\r\n", server.addr.port())), "{head}");
    }

    #[tokio::test]
    async fn a_name_without_checked_addresses_is_not_looked_up() {
        let url = Url::parse("http://localhost:9/x").unwrap();
        let outcome = post_to(&url, &[], Duration::from_secs(5)).await;
        assert_eq!((outcome.status, outcome.error.as_deref()), (None, Some("no checked address to connect to")));
    }

    #[tokio::test]
    async fn invalid_header_is_reported_without_its_value() {
        let server = Server::start(Some(OK)).await;
        let url = server.url("/x");
        let headers = [("webhook-signature", "v1,secret\r\nx: y".to_owned())];
        let delivery = Delivery {
            url: &url,
            addrs: &[server.addr],
            headers: &headers,
            body: b"{}",
            timeout: Duration::from_secs(5),
        };
        let outcome = post(delivery).await;
        assert_eq!(outcome.error.as_deref(), Some("invalid value for header webhook-signature"));
        let headers = [("bad header", "x".to_owned())];
        let delivery = Delivery {
            url: &url,
            addrs: &[server.addr],
            headers: &headers,
            body: b"{}",
            timeout: Duration::from_secs(5),
        };
        assert_eq!(post(delivery).await.error.as_deref(), Some("invalid header name \"bad header\""));
        assert!(server.requests().is_empty());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(300)), "300 ms");
        assert_eq!(seconds(Duration::from_millis(1500)), "1500 ms");
    }

    #[test]
    fn long_errors_are_cut() {
        assert_eq!(truncate("é".repeat(400)).chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(truncate("short".to_owned()), "short");
    }
}

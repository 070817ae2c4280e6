//! Typed configuration, read once per process (per Lambda container) from the environment.

use std::{env, fmt, net::SocketAddr};

use rand::RngCore;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/simplecrm";
const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
/// HS256 keys shorter than the hash output weaken the MAC; RFC 7518 §3.2.
const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A secret that never prints itself.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Owner connection: migrations, and the app's connection when `app_database_url` is unset.
    pub database_url: String,
    /// Runtime login role (owns nothing, no BYPASSRLS).
    pub app_database_url: Option<String>,
    pub jwt_secret: Secret,
    /// True when no `JWT_SECRET` was given and a random one was made for this process.
    pub jwt_secret_generated: bool,
    pub app_env: AppEnv,
    pub sqs_queue_url: Option<String>,
    pub aws_endpoint_url: Option<String>,
    pub listen_addr: SocketAddr,
    pub log_format: LogFormat,
    /// CloudWatch namespace for EMF metrics; none are written without it.
    pub metrics_namespace: Option<String>,
}

/// One line naming the setting that stopped start-up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self { variable, reason: reason.into() }
    }
}

impl Config {
    /// Reads `.env` when present, then the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") => AppEnv::Development,
            Some("production") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError::new(
                    "APP_ENV",
                    format!("expected `development` or `production`, got `{other}`"),
                ));
            }
        };
        let production = app_env == AppEnv::Production;

        let database_url = match get("DATABASE_URL") {
            Some(url) => url,
            None if production => {
                return Err(ConfigError::new("DATABASE_URL", "required in production"));
            }
            None => DEFAULT_DATABASE_URL.to_owned(),
        };
        check_postgres_url("DATABASE_URL", &database_url)?;
        let app_database_url = get("APP_DATABASE_URL");
        if let Some(url) = &app_database_url {
            check_postgres_url("APP_DATABASE_URL", url)?;
        }

        let (jwt_secret, jwt_secret_generated) = match get("JWT_SECRET") {
            Some(s) if s.len() >= MIN_JWT_SECRET_BYTES => (Secret::new(s.into_bytes()), false),
            Some(_) => {
                return Err(ConfigError::new("JWT_SECRET", format!("must be at least {MIN_JWT_SECRET_BYTES} bytes")));
            }
            None if production => {
                return Err(ConfigError::new("JWT_SECRET", "required in production"));
            }
            None => {
                let mut bytes = vec![0u8; 64];
                rand::rng().fill_bytes(&mut bytes);
                (Secret::new(bytes), true)
            }
        };

        let listen_addr = get("LISTEN_ADDR")
            .unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned())
            .parse()
            .map_err(|_| ConfigError::new("LISTEN_ADDR", "expected host:port, e.g. 127.0.0.1:3000"))?;

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError::new("LOG_FORMAT", format!("expected `json` or `pretty`, got `{other}`")));
            }
        };

        let sqs_queue_url = get("SQS_QUEUE_URL");
        if let Some(url) = &sqs_queue_url {
            check_http_url("SQS_QUEUE_URL", url)?;
        }
        let aws_endpoint_url = get("AWS_ENDPOINT_URL");
        if let Some(url) = &aws_endpoint_url {
            check_http_url("AWS_ENDPOINT_URL", url)?;
        }
        // `sam local` can only set variables the template declares, and it declares no
        // endpoint: a queue URL outside AWS (LocalStack, moto) names its own endpoint.
        let aws_endpoint_url = aws_endpoint_url.or_else(|| sqs_queue_url.as_deref().and_then(local_endpoint));

        let metrics_namespace = get("METRICS_NAMESPACE");

        Ok(Self {
            database_url,
            app_database_url,
            jwt_secret,
            jwt_secret_generated,
            app_env,
            sqs_queue_url,
            aws_endpoint_url,
            listen_addr,
            log_format,
            metrics_namespace,
        })
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }
}

fn check_postgres_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    url.parse::<crate::db::PgConfig>()
        .map(|_| ())
        .map_err(|e| ConfigError::new(variable, format!("not a valid PostgreSQL URL ({e})")))
}

/// `http://host:port` of a queue URL that is not an AWS one.
fn local_endpoint(queue_url: &str) -> Option<String> {
    let (scheme, rest) = queue_url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host);
    if host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn") {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

fn check_http_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError::new(variable, "expected an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn a_queue_outside_aws_names_its_endpoint() {
        let local = config(&[("SQS_QUEUE_URL", "http://host.docker.internal:4566/000000000000/simplecrm-events")]);
        assert_eq!(local.unwrap().aws_endpoint_url.as_deref(), Some("http://host.docker.internal:4566"));
        let aws = config(&[("SQS_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/simplecrm-events")]);
        assert_eq!(aws.unwrap().aws_endpoint_url, None);
        let explicit = config(&[
            ("SQS_QUEUE_URL", "http://127.0.0.1:4566/000000000000/q"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(explicit.unwrap().aws_endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn development_defaults_work_without_any_variable() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert!(c.jwt_secret_generated);
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn production_requires_a_strong_jwt_secret() {
        let err = config(&[("APP_ENV", "production"), ("DATABASE_URL", "postgres://x@h/db")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        let err = config(&[("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(err.to_string().starts_with("configuration error: JWT_SECRET"));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        assert_eq!(config(&[("LISTEN_ADDR", "nope")]).unwrap_err().variable, "LISTEN_ADDR");
        assert_eq!(config(&[("LOG_FORMAT", "xml")]).unwrap_err().variable, "LOG_FORMAT");
        assert_eq!(config(&[("APP_ENV", "staging")]).unwrap_err().variable, "APP_ENV");
        assert_eq!(config(&[("DATABASE_URL", "postgres://h:notaport/db")]).unwrap_err().variable, "DATABASE_URL");
        assert_eq!(config(&[("AWS_ENDPOINT_URL", "localhost:4566")]).unwrap_err().variable, "AWS_ENDPOINT_URL");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = config(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef-very-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}

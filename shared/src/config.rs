//! Typed configuration, read once per process (per Lambda container) from the environment.

use std::{env, fmt, net::SocketAddr};

use rand::RngCore;

use crate::{
    quota::QuotaConfig,
    webhooks::{self, WebhookConfig},
};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/simplecrm";
const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
const DEFAULT_APP_BASE_URL: &str = "http://127.0.0.1:3000";
const DEFAULT_MAIL_FROM: &str = "no-reply@simplecrm.test";
/// HS256 keys shorter than the hash output weaken the MAC; RFC 7518 §3.2.
const MIN_JWT_SECRET_BYTES: usize = 32;
const REQUIRED: &str = "required by this function";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// How account mail leaves (`MAIL_TRANSPORT`): through SES, or into `crm-local`'s mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    Captured,
    Ses,
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

/// Login and refresh throttling (migration V4): failures per key within a window, then a
/// lock that doubles with each repeat, up to a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// `AUTH_LOGIN_MAX_FAILURES_PER_EMAIL` (5): failed logins for one address from one
    /// source IP before that pair locks.
    pub login_email_max_failures: u32,
    /// `AUTH_LOGIN_MAX_FAILURES_PER_EMAIL_ANY_IP` (50): failed logins for one address from
    /// any IP before the address locks for everyone; a backstop against guessing spread
    /// over many IPs, high enough that one IP cannot lock its owner out.
    pub login_email_any_ip_max_failures: u32,
    /// `AUTH_LOGIN_MAX_FAILURES_PER_IP` (50): failed logins from one source IP, any address.
    pub login_ip_max_failures: u32,
    /// `AUTH_REFRESH_MAX_FAILURES_PER_IP` (50): refused refresh tokens from one source IP.
    pub refresh_ip_max_failures: u32,
    /// `AUTH_THROTTLE_WINDOW_SECS` (900): the window failures are counted in.
    pub window_secs: u32,
    /// `AUTH_THROTTLE_LOCK_SECS` (60): the first lock; each repeat doubles it.
    pub lock_secs: u32,
    /// `AUTH_THROTTLE_MAX_LOCK_SECS` (3600): the longest lock.
    pub max_lock_secs: u32,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            login_email_max_failures: 5,
            login_email_any_ip_max_failures: 50,
            login_ip_max_failures: 50,
            refresh_ip_max_failures: 50,
            window_secs: 15 * 60,
            lock_secs: 60,
            max_lock_secs: 60 * 60,
        }
    }
}

/// Argon2id cost for new password hashes. Verification reads the cost from each stored
/// hash, so raising these never locks anyone out. Defaults: OWASP's (argon2 0.6's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// `ARGON2_MEMORY_KIB` (19456 = 19 MiB).
    pub memory_kib: u32,
    /// `ARGON2_ITERATIONS` (2).
    pub iterations: u32,
    /// `ARGON2_PARALLELISM` (1).
    pub parallelism: u32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// The secrets a function is given. Each deployed function gets only what it needs
/// (template.yaml), so none can be required for every process at load: [`Config::require`]
/// checks a function's own needs when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub database: Option<DatabaseRole>,
    /// `JWT_SECRET` (and `JWT_PREVIOUS_SECRET` during a rotation): signs or verifies access tokens.
    pub jwt: bool,
}

/// Which connection a function makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseRole {
    /// `APP_DATABASE_URL`, or `DATABASE_URL` switched to the runtime role.
    Runtime,
    /// `DATABASE_URL`, the owner: migrations only.
    Owner,
}

impl Needs {
    pub const NOTHING: Self = Self { database: None, jwt: false };
    pub const DATABASE: Self = Self { database: Some(DatabaseRole::Runtime), jwt: false };
    pub const DATABASE_AND_JWT: Self = Self { database: Some(DatabaseRole::Runtime), jwt: true };
    pub const OWNER_DATABASE: Self = Self { database: Some(DatabaseRole::Owner), jwt: false };
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Owner connection: migrations, and the app's connection when `app_database_url` is
    /// unset. In development it defaults to a local database; in production it may be absent.
    pub database_url: Option<String>,
    /// Runtime login role (owns nothing, no BYPASSRLS).
    pub app_database_url: Option<String>,
    /// Absent only in production when unset; in development a random key stands in.
    pub jwt_secret: Option<Secret>,
    /// True when no `JWT_SECRET` was given and a random one was made for this process.
    pub jwt_secret_generated: bool,
    /// `JWT_PREVIOUS_SECRET`: the key before the last rotation. Tokens it signed stay valid
    /// until they expire; nothing new is signed with it.
    pub jwt_previous_secret: Option<Secret>,
    pub app_env: AppEnv,
    pub sqs_queue_url: Option<String>,
    pub aws_endpoint_url: Option<String>,
    pub listen_addr: SocketAddr,
    pub log_format: LogFormat,
    /// CloudWatch namespace for EMF metrics; none are written without it.
    pub metrics_namespace: Option<String>,
    pub throttle: ThrottleConfig,
    pub password_hashing: PasswordHashing,
    /// `APP_BASE_URL`: where mailed links point (`<base>/verify-email?token=…`).
    pub app_base_url: String,
    /// `MAIL_FROM`: the sender of account mail; in AWS, an address of a verified SES identity.
    pub mail_from: String,
    /// `MAIL_TRANSPORT`: `ses` by default in production or with `SES_ENDPOINT_URL`, else
    /// `captured`.
    pub mail_transport: MailTransport,
    /// `SES_ENDPOINT_URL`: moto or LocalStack instead of AWS's SES.
    pub ses_endpoint_url: Option<String>,
    /// `AUTH_REFRESH_REUSE_GRACE_SECS` (10; 0 turns it off): a rotated refresh token
    /// presented again this soon after its rotation is a client retry or a race between
    /// tabs, answered with a new pair of the same family instead of revoking it.
    pub refresh_reuse_grace_secs: u32,
    /// `CONSUMER_BACKOFF_SECONDS` (60): how long the consumer hides a message it could not
    /// handle because a dependency was down, doubled on each receive, so an outage spends
    /// few of the queue's receives before its dead-letter queue.
    pub consumer_backoff_secs: u32,
    /// `ATTACHMENTS_BUCKET`: the S3 bucket of attachment bytes. Without it, a development
    /// run keeps them in `crm-local`'s own store.
    pub attachments_bucket: Option<String>,
    /// `S3_ENDPOINT_URL`: moto or LocalStack instead of AWS's S3.
    pub s3_endpoint_url: Option<String>,
    /// `BLOB_DIR` (`.crm-local/blobs`): where `crm-local`'s own store keeps the bytes.
    pub blob_dir: std::path::PathBuf,
    /// `WEBHOOK_*`: the dispatcher's queue, retries and deactivation, and (development only)
    /// private targets.
    pub webhooks: WebhookConfig,
    /// `EXPORT_QUEUE_URL`: the queue of `tenant-export`. Without it `crm-local` runs exports
    /// in process.
    pub export_queue_url: Option<String>,
    /// `TENANT_RATE_PER_SECOND` (50; 0 turns quotas off) and `TENANT_RATE_BURST` (twice
    /// the rate): each tenant's share of the API.
    pub quota: QuotaConfig,
}

const DEFAULT_REFRESH_REUSE_GRACE_SECS: u32 = 10;
const DEFAULT_CONSUMER_BACKOFF_SECS: u32 = 60;
const DEFAULT_BLOB_DIR: &str = ".crm-local/blobs";

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
            Some(url) => Some(url),
            None if production => None,
            None => Some(DEFAULT_DATABASE_URL.to_owned()),
        };
        if let Some(url) = &database_url {
            check_postgres_url("DATABASE_URL", url)?;
        }
        let app_database_url = get("APP_DATABASE_URL");
        if let Some(url) = &app_database_url {
            check_postgres_url("APP_DATABASE_URL", url)?;
        }

        let (jwt_secret, jwt_secret_generated) = match get("JWT_SECRET") {
            Some(s) if s.len() >= MIN_JWT_SECRET_BYTES => (Some(Secret::new(s.into_bytes())), false),
            Some(_) => {
                return Err(ConfigError::new("JWT_SECRET", format!("must be at least {MIN_JWT_SECRET_BYTES} bytes")));
            }
            None if production => (None, false),
            None => {
                let mut bytes = vec![0u8; 64];
                rand::rng().fill_bytes(&mut bytes);
                (Some(Secret::new(bytes)), true)
            }
        };

        let jwt_previous_secret = match get("JWT_PREVIOUS_SECRET") {
            Some(s) if s.len() >= MIN_JWT_SECRET_BYTES => Some(Secret::new(s.into_bytes())),
            Some(_) => {
                return Err(ConfigError::new(
                    "JWT_PREVIOUS_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ));
            }
            None => None,
        };
        match (&jwt_previous_secret, &jwt_secret) {
            (Some(previous), Some(current)) if previous.expose() == current.expose() => {
                return Err(ConfigError::new("JWT_PREVIOUS_SECRET", "must differ from JWT_SECRET"));
            }
            (Some(_), None) => return Err(ConfigError::new("JWT_PREVIOUS_SECRET", "given without JWT_SECRET")),
            _ => {}
        }

        let defaults = ThrottleConfig::default();
        let throttle = ThrottleConfig {
            login_email_max_failures: positive(
                &get,
                "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL",
                defaults.login_email_max_failures,
            )?,
            login_email_any_ip_max_failures: positive(
                &get,
                "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL_ANY_IP",
                defaults.login_email_any_ip_max_failures,
            )?,
            login_ip_max_failures: positive(&get, "AUTH_LOGIN_MAX_FAILURES_PER_IP", defaults.login_ip_max_failures)?,
            refresh_ip_max_failures: positive(
                &get,
                "AUTH_REFRESH_MAX_FAILURES_PER_IP",
                defaults.refresh_ip_max_failures,
            )?,
            window_secs: positive(&get, "AUTH_THROTTLE_WINDOW_SECS", defaults.window_secs)?,
            lock_secs: positive(&get, "AUTH_THROTTLE_LOCK_SECS", defaults.lock_secs)?,
            max_lock_secs: positive(&get, "AUTH_THROTTLE_MAX_LOCK_SECS", defaults.max_lock_secs)?,
        };
        if throttle.max_lock_secs < throttle.lock_secs {
            return Err(ConfigError::new("AUTH_THROTTLE_MAX_LOCK_SECS", "must be at least AUTH_THROTTLE_LOCK_SECS"));
        }
        // Below the per-pair limit, one IP's failures would lock the address for everyone again.
        if throttle.login_email_any_ip_max_failures < throttle.login_email_max_failures {
            return Err(ConfigError::new(
                "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL_ANY_IP",
                "must be at least AUTH_LOGIN_MAX_FAILURES_PER_EMAIL",
            ));
        }
        let refresh_reuse_grace_secs =
            whole_number(&get, "AUTH_REFRESH_REUSE_GRACE_SECS", DEFAULT_REFRESH_REUSE_GRACE_SECS)?;
        let consumer_backoff_secs = whole_number(&get, "CONSUMER_BACKOFF_SECONDS", DEFAULT_CONSUMER_BACKOFF_SECS)?;
        if consumer_backoff_secs == 0 {
            return Err(ConfigError::new("CONSUMER_BACKOFF_SECONDS", "must be at least 1"));
        }

        let per_second = whole_number(&get, "TENANT_RATE_PER_SECOND", QuotaConfig::DEFAULT_PER_SECOND)?;
        let quota =
            QuotaConfig { per_second, burst: whole_number(&get, "TENANT_RATE_BURST", per_second.saturating_mul(2))? };
        if quota.enabled() && quota.burst < per_second {
            return Err(ConfigError::new("TENANT_RATE_BURST", "must be at least TENANT_RATE_PER_SECOND"));
        }

        let defaults = PasswordHashing::default();
        let password_hashing = PasswordHashing {
            memory_kib: positive(&get, "ARGON2_MEMORY_KIB", defaults.memory_kib)?,
            iterations: positive(&get, "ARGON2_ITERATIONS", defaults.iterations)?,
            parallelism: positive(&get, "ARGON2_PARALLELISM", defaults.parallelism)?,
        };
        if let Err(e) = argon2::Params::new(
            password_hashing.memory_kib,
            password_hashing.iterations,
            password_hashing.parallelism,
            None,
        ) {
            return Err(ConfigError::new("ARGON2_MEMORY_KIB", format!("invalid Argon2 parameters ({e})")));
        }
        // OWASP's equivalent Argon2id settings run from 47 MiB × 1 pass to 7 MiB × 5 passes:
        // at least 7168 KiB, and memory × passes at least 35840 (7 MiB × 5).
        let cost = u64::from(password_hashing.memory_kib) * u64::from(password_hashing.iterations);
        if production && (password_hashing.memory_kib < 7168 || cost < 35_840) {
            return Err(ConfigError::new(
                "ARGON2_MEMORY_KIB",
                "with ARGON2_ITERATIONS below OWASP's minimum in production (e.g. 19456 KiB × 2, 12288 × 3, 7168 × 5)",
            ));
        }

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

        let app_base_url = get("APP_BASE_URL").unwrap_or_else(|| DEFAULT_APP_BASE_URL.to_owned());
        check_http_url("APP_BASE_URL", &app_base_url)?;
        let mail_from = get("MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned());
        if !mail_from.contains('@') {
            return Err(ConfigError::new("MAIL_FROM", "expected an email address"));
        }
        let ses_endpoint_url = get("SES_ENDPOINT_URL");
        if let Some(url) = &ses_endpoint_url {
            check_http_url("SES_ENDPOINT_URL", url)?;
        }
        let mail_transport = match get("MAIL_TRANSPORT").as_deref() {
            None if production || ses_endpoint_url.is_some() => MailTransport::Ses,
            None => MailTransport::Captured,
            Some("ses") => MailTransport::Ses,
            // Captured mail reaches nobody: a deployed stack must never lose its mail so.
            Some("captured") if production => {
                return Err(ConfigError::new("MAIL_TRANSPORT", "`captured` is for local development only"));
            }
            Some("captured") => MailTransport::Captured,
            Some(other) => {
                return Err(ConfigError::new("MAIL_TRANSPORT", format!("expected `ses` or `captured`, got `{other}`")));
            }
        };

        let attachments_bucket = get("ATTACHMENTS_BUCKET");
        let s3_endpoint_url = get("S3_ENDPOINT_URL");
        if let Some(url) = &s3_endpoint_url {
            check_http_url("S3_ENDPOINT_URL", url)?;
        }
        let blob_dir = get("BLOB_DIR").unwrap_or_else(|| DEFAULT_BLOB_DIR.to_owned()).into();

        let export_queue_url = get("EXPORT_QUEUE_URL");
        if let Some(url) = &export_queue_url {
            check_http_url("EXPORT_QUEUE_URL", url)?;
        }
        let webhook_queue_url = get("WEBHOOK_QUEUE_URL");
        if let Some(url) = &webhook_queue_url {
            check_http_url("WEBHOOK_QUEUE_URL", url)?;
        }
        let retry_schedule = webhooks::parse_schedule(
            get("WEBHOOK_RETRY_SCHEDULE").as_deref().unwrap_or(webhooks::DEFAULT_RETRY_SCHEDULE),
        )
        .map_err(|reason| ConfigError::new("WEBHOOK_RETRY_SCHEDULE", reason))?;
        let disable_after_failures =
            whole_number(&get, "WEBHOOK_DISABLE_AFTER_FAILURES", webhooks::DEFAULT_DISABLE_AFTER_FAILURES)?;
        if disable_after_failures == 0 {
            return Err(ConfigError::new("WEBHOOK_DISABLE_AFTER_FAILURES", "must be at least 1"));
        }
        let allow_private_targets = match get("WEBHOOKS_ALLOW_PRIVATE_TARGETS").as_deref() {
            None | Some("false") => false,
            // Webhooks make our functions fetch URLs a tenant chose: in AWS, loopback and
            // private addresses reach the VPC and the instance metadata.
            Some("true") if production => {
                return Err(ConfigError::new("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "is for local development only"));
            }
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "WEBHOOKS_ALLOW_PRIVATE_TARGETS",
                    format!("expected `true` or `false`, got `{other}`"),
                ));
            }
        };
        let webhooks = WebhookConfig {
            queue_url: webhook_queue_url,
            retry_schedule,
            disable_after_failures,
            allow_private_targets,
        };

        Ok(Self {
            database_url,
            app_database_url,
            jwt_secret,
            jwt_secret_generated,
            jwt_previous_secret,
            app_env,
            sqs_queue_url,
            aws_endpoint_url,
            listen_addr,
            log_format,
            metrics_namespace,
            throttle,
            password_hashing,
            app_base_url,
            mail_from,
            mail_transport,
            ses_endpoint_url,
            refresh_reuse_grace_secs,
            consumer_backoff_secs,
            attachments_bucket,
            s3_endpoint_url,
            blob_dir,
            webhooks,
            export_queue_url,
            quota,
        })
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Stops a function that lacks a secret it needs at start-up, naming the variable,
    /// rather than at its first request.
    pub fn require(&self, needs: Needs) -> Result<(), ConfigError> {
        match needs.database {
            Some(DatabaseRole::Runtime) if self.app_database_url.is_none() && self.database_url.is_none() => {
                return Err(ConfigError::new("APP_DATABASE_URL", format!("{REQUIRED} (or DATABASE_URL)")));
            }
            Some(DatabaseRole::Owner) => {
                self.owner_database_url()?;
            }
            _ => {}
        }
        if needs.jwt && self.jwt_secret.is_none() {
            return Err(ConfigError::new("JWT_SECRET", REQUIRED));
        }
        Ok(())
    }

    /// `DATABASE_URL`, for what migrates.
    pub fn owner_database_url(&self) -> Result<&str, ConfigError> {
        self.database_url.as_deref().ok_or_else(|| ConfigError::new("DATABASE_URL", REQUIRED))
    }
}

/// A whole number ≥ 1, or `default` when the variable is unset.
fn positive(get: &impl Fn(&str) -> Option<String>, variable: &'static str, default: u32) -> Result<u32, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(ConfigError::new(variable, format!("expected a whole number of at least 1, got `{raw}`"))),
        },
    }
}

/// A whole number ≥ 0, or `default` when the variable is unset.
fn whole_number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .map_err(|_| ConfigError::new(variable, format!("expected a whole number, got `{raw}`"))),
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
        assert_eq!(c.database_url.as_deref(), Some(DEFAULT_DATABASE_URL));
        assert!(c.jwt_secret_generated);
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn a_weak_jwt_secret_never_loads() {
        let err = config(&[("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(err.to_string().starts_with("configuration error: JWT_SECRET"));
        let err = config(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
    }

    #[test]
    fn in_production_each_function_requires_only_the_secrets_it_needs() {
        let bare = config(&[("APP_ENV", "production")]).unwrap();
        assert_eq!((bare.database_url.as_ref(), bare.jwt_secret.as_ref().map(Secret::expose)), (None, None));
        assert_eq!(bare.require(Needs::NOTHING), Ok(()));
        assert_eq!(bare.require(Needs::DATABASE).unwrap_err().variable, "APP_DATABASE_URL");
        assert_eq!(bare.require(Needs::OWNER_DATABASE).unwrap_err().variable, "DATABASE_URL");

        let app = config(&[("APP_ENV", "production"), ("APP_DATABASE_URL", "postgres://app@h/db")]).unwrap();
        assert_eq!(app.require(Needs::DATABASE), Ok(()));
        assert_eq!(app.require(Needs::OWNER_DATABASE).unwrap_err().variable, "DATABASE_URL", "not the app's URL");
        let err = app.require(Needs::DATABASE_AND_JWT).unwrap_err();
        assert_eq!(err.to_string(), "configuration error: JWT_SECRET: required by this function");

        let key = "k".repeat(32);
        let full =
            config(&[("APP_ENV", "production"), ("APP_DATABASE_URL", "postgres://app@h/db"), ("JWT_SECRET", &key)]);
        assert_eq!(full.unwrap().require(Needs::DATABASE_AND_JWT), Ok(()));
        let orphan = config(&[("APP_ENV", "production"), ("JWT_PREVIOUS_SECRET", &key)]).unwrap_err();
        assert_eq!(orphan.variable, "JWT_PREVIOUS_SECRET");

        let development = config(&[]).unwrap();
        for needs in [Needs::NOTHING, Needs::DATABASE, Needs::DATABASE_AND_JWT, Needs::OWNER_DATABASE] {
            assert_eq!(development.require(needs), Ok(()), "local defaults cover {needs:?}");
        }
    }

    #[test]
    fn webhook_settings_default_parse_and_keep_private_targets_out_of_production() {
        let default = config(&[]).unwrap().webhooks;
        assert_eq!((default.retry_schedule.len(), default.disable_after_failures), (7, 5));
        assert!(!default.allow_private_targets && default.queue_url.is_none());
        let local = config(&[("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"), ("WEBHOOK_RETRY_SCHEDULE", "1s,2m")]).unwrap();
        assert!(local.webhooks.allow_private_targets);
        assert_eq!(
            local.webhooks.retry_schedule,
            [std::time::Duration::from_secs(1), std::time::Duration::from_secs(120)]
        );
        let production = [("APP_ENV", "production"), ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")];
        assert_eq!(config(&production).unwrap_err().variable, "WEBHOOKS_ALLOW_PRIVATE_TARGETS");
        for (variable, value) in [
            ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "yes"),
            ("WEBHOOK_RETRY_SCHEDULE", "5 minutes"),
            ("WEBHOOK_DISABLE_AFTER_FAILURES", "0"),
            ("WEBHOOK_QUEUE_URL", "sqs-queue"),
            ("EXPORT_QUEUE_URL", "sqs-queue"),
        ] {
            assert_eq!(config(&[(variable, value)]).unwrap_err().variable, variable, "{value}");
        }
    }

    #[test]
    fn malformed_values_name_their_variable() {
        assert_eq!(config(&[("LISTEN_ADDR", "nope")]).unwrap_err().variable, "LISTEN_ADDR");
        assert_eq!(config(&[("LOG_FORMAT", "xml")]).unwrap_err().variable, "LOG_FORMAT");
        assert_eq!(config(&[("APP_ENV", "staging")]).unwrap_err().variable, "APP_ENV");
        assert_eq!(config(&[("DATABASE_URL", "postgres://h:notaport/db")]).unwrap_err().variable, "DATABASE_URL");
        assert_eq!(config(&[("AWS_ENDPOINT_URL", "localhost:4566")]).unwrap_err().variable, "AWS_ENDPOINT_URL");
        assert_eq!(
            config(&[("AUTH_LOGIN_MAX_FAILURES_PER_EMAIL", "0")]).unwrap_err().variable,
            "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL"
        );
        assert_eq!(config(&[("AUTH_THROTTLE_WINDOW_SECS", "soon")]).unwrap_err().variable, "AUTH_THROTTLE_WINDOW_SECS");
        assert_eq!(config(&[("ARGON2_MEMORY_KIB", "1")]).unwrap_err().variable, "ARGON2_MEMORY_KIB");
        assert_eq!(config(&[("JWT_PREVIOUS_SECRET", "short")]).unwrap_err().variable, "JWT_PREVIOUS_SECRET");
        assert_eq!(
            config(&[("AUTH_LOGIN_MAX_FAILURES_PER_EMAIL_ANY_IP", "4")]).unwrap_err().variable,
            "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL_ANY_IP"
        );
        assert_eq!(
            config(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "-1")]).unwrap_err().variable,
            "AUTH_REFRESH_REUSE_GRACE_SECS"
        );
        assert_eq!(config(&[("CONSUMER_BACKOFF_SECONDS", "0")]).unwrap_err().variable, "CONSUMER_BACKOFF_SECONDS");
        assert_eq!(config(&[("TENANT_RATE_PER_SECOND", "-1")]).unwrap_err().variable, "TENANT_RATE_PER_SECOND");
        assert_eq!(
            config(&[("TENANT_RATE_PER_SECOND", "20"), ("TENANT_RATE_BURST", "10")]).unwrap_err().variable,
            "TENANT_RATE_BURST"
        );
    }

    #[test]
    fn security_settings_default_to_the_documented_values() {
        let c = config(&[]).unwrap();
        assert_eq!(c.throttle, ThrottleConfig::default());
        assert_eq!(c.throttle.login_email_max_failures, 5);
        assert_eq!(c.throttle.login_email_any_ip_max_failures, 50);
        assert_eq!(c.refresh_reuse_grace_secs, 10);
        assert_eq!(config(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "0")]).unwrap().refresh_reuse_grace_secs, 0);
        assert_eq!(c.password_hashing, PasswordHashing { memory_kib: 19456, iterations: 2, parallelism: 1 });
        assert!(c.jwt_previous_secret.is_none());
        let c = config(&[("AUTH_LOGIN_MAX_FAILURES_PER_IP", "7"), ("ARGON2_ITERATIONS", "3")]).unwrap();
        assert_eq!((c.throttle.login_ip_max_failures, c.password_hashing.iterations), (7, 3));
        let production =
            [("APP_ENV", "production"), ("DATABASE_URL", "postgres://x@h/db"), ("JWT_SECRET", &"k".repeat(32))];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars: Vec<(&str, &str)> = production.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        assert!(with(&[]).is_ok());
        assert!(with(&[("ARGON2_MEMORY_KIB", "12288"), ("ARGON2_ITERATIONS", "3")]).is_ok(), "an OWASP alternative");
        assert_eq!(with(&[("ARGON2_MEMORY_KIB", "8192")]).unwrap_err().variable, "ARGON2_MEMORY_KIB");
        assert_eq!(with(&[("ARGON2_ITERATIONS", "1")]).unwrap_err().variable, "ARGON2_MEMORY_KIB");
    }

    #[test]
    fn mail_is_captured_locally_and_sent_through_ses_in_production() {
        let local = config(&[]).unwrap();
        assert_eq!(local.mail_transport, MailTransport::Captured);
        assert_eq!(local.app_base_url, "http://127.0.0.1:3000");
        let moto = config(&[("SES_ENDPOINT_URL", "http://127.0.0.1:4566")]).unwrap();
        assert_eq!(moto.mail_transport, MailTransport::Ses);
        let secret = "0123456789abcdef0123456789abcdef";
        let production = [("APP_ENV", "production"), ("DATABASE_URL", DEFAULT_DATABASE_URL), ("JWT_SECRET", secret)];
        assert_eq!(config(&production).unwrap().mail_transport, MailTransport::Ses);
        let captured = [production.as_slice(), &[("MAIL_TRANSPORT", "captured")]].concat();
        assert_eq!(config(&captured).unwrap_err().variable, "MAIL_TRANSPORT");
        assert_eq!(config(&[("MAIL_FROM", "nobody")]).unwrap_err().variable, "MAIL_FROM");
        assert_eq!(config(&[("APP_BASE_URL", "example.com")]).unwrap_err().variable, "APP_BASE_URL");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = config(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef-very-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}

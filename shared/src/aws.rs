//! What every AWS client of ours shares (SQS for events, SES for mail): the HTTPS
//! connector and the region and keys, both built without `aws-config`.
//!
//! Lambda always hands a function its role's keys and region in the environment, and the
//! default provider chain's profile, SSO, STS, ECS and IMDS providers (and the STS client
//! they bring) only grew every function's zip. The types are the SDKs' shared
//! `aws-types` / `aws-credential-types` ones, re-exported by each SDK crate.

use std::time::Duration;

use aws_sdk_sqs::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedHttpClient, retry::RetryConfig,
    timeout::TimeoutConfig,
};
use aws_smithy_http_client::{
    ConnectorBuilder,
    proxy::ProxyConfig,
    tls::{self, rustls_provider::CryptoMode},
};
use aws_types::SdkConfig;

/// The SDK's default HTTPS client, over ring instead of aws-lc: one crypto library in the
/// binary, shared with PostgreSQL's TLS. Built as aws-smithy-runtime builds its default
/// (same connector settings, sleep and proxy variables); smithy restricts the cipher suites
/// the same way for both, and SQS does not need aws-lc's post-quantum key exchange.
pub(crate) fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// A client configuration for a call made inside a request: two attempts of at most
/// `attempt_timeout` each, a 1 s connect timeout, the environment's region and keys
/// (`var` reads a variable), and `endpoint` (moto, LocalStack) when given. No keys at all
/// (never in Lambda) makes every call fail as the service being unavailable.
pub(crate) fn client_config(
    endpoint: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
    attempt_timeout: Duration,
) -> SdkConfig {
    let (region, credentials) = region_and_keys(endpoint, var);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .region(region)
        .http_client(https_client());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.set_credentials_provider(credentials.map(SharedCredentialsProvider::new));
    builder.build()
}

/// The region and keys from the variables Lambda sets (`var` reads one). They are fixed
/// for the life of the execution environment, so reading them once per container sees
/// what a provider reading them on every call would.
pub(crate) fn region_and_keys(
    endpoint: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> (Option<Region>, Option<Credentials>) {
    let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let mut region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let mut credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(key), Some(secret)) => Some(Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment")),
        _ => None,
    };
    if endpoint.is_some() {
        // Local endpoints check no signature: fill in what a laptop lacks.
        region = region.or_else(|| Some("us-east-1".to_owned()));
        credentials = credentials.or_else(|| Some(Credentials::new("test", "test", None, None, "local-endpoint")));
    }
    (region.map(Region::new), credentials)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn keys(credentials: Option<Credentials>) -> Option<(String, String, Option<String>)> {
        credentials.map(|c| {
            (c.access_key_id().to_owned(), c.secret_access_key().to_owned(), c.session_token().map(str::to_owned))
        })
    }

    #[test]
    fn in_lambda_the_role_keys_and_region_come_from_the_environment() {
        let (region, credentials) = region_and_keys(
            None,
            lookup(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
                ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_SESSION_TOKEN", "token"),
            ]),
        );
        assert_eq!(region, Some(Region::new("eu-west-1")));
        assert_eq!(keys(credentials), Some(("ASIAEXAMPLE".into(), "secret".into(), Some("token".into()))));
    }

    #[test]
    fn a_local_endpoint_gets_a_region_and_placeholder_keys() {
        let (region, credentials) = region_and_keys(Some("http://127.0.0.1:4566"), lookup(&[]));
        assert_eq!(region, Some(Region::new("us-east-1")));
        assert_eq!(keys(credentials), Some(("test".into(), "test".into(), None)));

        let (region, credentials) = region_and_keys(
            Some("http://127.0.0.1:4566"),
            lookup(&[
                ("AWS_DEFAULT_REGION", "eu-central-1"),
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "b"),
            ]),
        );
        assert_eq!(region, Some(Region::new("eu-central-1")));
        assert_eq!(keys(credentials), Some(("a".into(), "b".into(), None)));
    }

    #[test]
    fn without_keys_in_aws_there_is_nothing_to_sign_with() {
        let (_, credentials) = region_and_keys(
            None,
            lookup(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", " ")]),
        );
        assert_eq!(credentials, None);
    }
}

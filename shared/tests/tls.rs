//! `sslmode=require` really means TLS with a verified server certificate. The local server
//! has Debian's self-signed "snakeoil" certificate for `localhost` (ssl = on).

use crm_core::db::{PgConfig, testing::server_url, tls};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn require(host: &str) -> PgConfig {
    let url = server_url().replacen("127.0.0.1", host, 1);
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=require").parse().unwrap()
}

#[tokio::test]
async fn require_refuses_a_server_whose_certificate_is_not_trusted() {
    let Err(err) = tls::connect(&require("127.0.0.1")).await else {
        panic!("an untrusted certificate must be refused");
    };
    let text = format!("{err:?}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
}

#[tokio::test]
async fn require_with_the_servers_ca_connects_encrypted_and_plain_urls_stay_plain() {
    if !std::path::Path::new(SNAKEOIL).exists() {
        panic!("{SNAKEOIL} is missing: this test needs Debian's PostgreSQL with ssl = on");
    }
    // SAFETY: the only test in this process that touches the environment.
    unsafe { std::env::set_var(tls::CA_FILE_VARIABLE, SNAKEOIL) };
    let client = tls::connect(&require("localhost")).await.expect("TLS with the server's own CA");
    let ssl: bool =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(ssl, "the session is encrypted");

    let plain: PgConfig = server_url().parse().unwrap();
    let client = tls::connect(&plain).await.unwrap();
    let ssl: bool =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(!ssl, "no sslmode: in the clear, as documented");
}

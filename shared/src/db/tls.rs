//! How a connection is made: in the clear, or over TLS when the URL asks for
//! `sslmode=require` (RDS for PostgreSQL 15+ refuses anything else by default).
//!
//! Stricter than libpq's `require`: the server certificate is verified, against the
//! system's roots plus the PEM bundle in `DATABASE_CA_FILE` (RDS's own CA bundle for a
//! direct RDS connection; RDS Proxy's certificates chain to public roots). libpq's
//! default `prefer` is taken as "in the clear": an unverified TLS attempt protects nothing.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore, pki_types::CertificateDer, pki_types::pem::PemObject};
use tokio_postgres::{Client, NoTls, config::SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PgConfig;
use crate::error::Error;

/// The environment variable naming an extra PEM bundle of trusted CAs.
pub const CA_FILE_VARIABLE: &str = "DATABASE_CA_FILE";

pub fn wants_tls(pg: &PgConfig) -> bool {
    matches!(pg.get_ssl_mode(), SslMode::Require)
}

/// The TLS connector for `sslmode=require` connections.
pub fn connector() -> Result<MakeRustlsConnect, Error> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Ok(path) = std::env::var(CA_FILE_VARIABLE)
        && !path.trim().is_empty()
    {
        let certs = CertificateDer::pem_file_iter(&path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| Error::Internal(format!("{CA_FILE_VARIABLE} {path}: {e}")))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::Internal(format!("{CA_FILE_VARIABLE} {path}: no usable certificate")));
        }
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// One connection outside the pool (migrations, database creation), its driver spawned.
pub async fn connect(pg: &PgConfig) -> Result<Client, Error> {
    let unavailable = |e: tokio_postgres::Error| Error::Unavailable(format!("connect: {}", chain(&e)));
    if wants_tls(pg) {
        let (client, connection) = pg.connect(connector()?).await.map_err(unavailable)?;
        tokio::spawn(connection);
        Ok(client)
    } else {
        let (client, connection) = pg.connect(NoTls).await.map_err(unavailable)?;
        tokio::spawn(connection);
        Ok(client)
    }
}

/// An error with its causes: "error performing TLS handshake" alone hides which check failed.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

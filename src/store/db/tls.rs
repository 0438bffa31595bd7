//! TLS to a PostgreSQL server, by the URL's `sslmode`, as libpq reads it:
//! `disable` (plain), `prefer` (TLS when the server offers it, else plain), `require` (TLS,
//! the server's certificate not checked: encryption only), `verify-ca` (TLS, the certificate
//! must chain to a trusted CA, the host name is not checked), `verify-full` (TLS, the chain and
//! the host name checked).
//!
//! The trusted CAs are those of the CA file `sslrootcert=` names in the URL, else the file
//! `PGSSLROOTCERT` names, else the system's roots (libpq would read `~/.postgresql/root.crt`;
//! a server with a public certificate needs no file here). `sslrootcert=system` asks for the
//! system's roots explicitly, as libpq 16 does.
//!
//! Connector: rustls through `tokio-postgres-rustls`, on the aws-lc-rs provider the AWS SDK
//! already builds: no OpenSSL to link or install, one TLS stack in the binary.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The environment variable naming the CA file when the URL has no `sslrootcert=` (libpq's).
const ROOT_CERT_ENV: &str = "PGSSLROOTCERT";

/// How to use TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    /// The certificate must chain to a trusted CA; any host name.
    VerifyCa {
        root_cert: Option<String>,
    },
    /// The certificate must chain to a trusted CA and name the host.
    VerifyFull {
        root_cert: Option<String>,
    },
}

/// The mode `sslmode` names (`prefer` when absent, as libpq), with the CA file of the URL or of
/// `PGSSLROOTCERT`; the unknown name otherwise.
pub(crate) fn mode(sslmode: Option<&str>, root_cert: Option<String>) -> Result<Mode, String> {
    let root_cert = || {
        root_cert
            .clone()
            .or_else(|| std::env::var(ROOT_CERT_ENV).ok())
            .filter(|f| !f.is_empty() && f != "system")
    };
    match sslmode.unwrap_or("prefer") {
        "disable" => Ok(Mode::Disable),
        "prefer" | "allow" => Ok(Mode::Prefer),
        "require" => Ok(Mode::Require),
        "verify-ca" => Ok(Mode::VerifyCa {
            root_cert: root_cert(),
        }),
        "verify-full" => Ok(Mode::VerifyFull {
            root_cert: root_cert(),
        }),
        other => Err(other.to_string()),
    }
}

/// What to check when the server's certificate is refused in `mode`: which CAs were trusted.
pub(crate) fn hint(mode: &Mode) -> Option<String> {
    let (name, root_cert) = match mode {
        Mode::VerifyCa { root_cert } => ("verify-ca", root_cert),
        Mode::VerifyFull { root_cert } => ("verify-full", root_cert),
        _ => return None,
    };
    let trusted = match root_cert {
        Some(file) => format!("the CA file {file}"),
        None => format!("the system's CAs (no sslrootcert= in the URL, no {ROOT_CERT_ENV})"),
    };
    let what = if name == "verify-full" {
        "is signed by a CA in it and names the host"
    } else {
        "is signed by a CA in it"
    };
    Some(format!(
        "sslmode={name} trusts {trusted}: check that the server's certificate {what}"
    ))
}

/// Connects with `config` in `mode` on `runtime`: the driver's client, and the task that runs
/// the connection on that runtime.
pub(super) fn connect(
    runtime: &tokio::runtime::Runtime,
    config: &mut tokio_postgres::Config,
    mode: Mode,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), ConnectFailure> {
    use tokio_postgres::config::SslMode;
    let tls_config = match &mode {
        Mode::Disable => {
            config.ssl_mode(SslMode::Disable);
            let (client, connection) = runtime
                .block_on(config.connect(tokio_postgres::NoTls))
                .map_err(ConnectFailure::Server)?;
            // The connection's own error reaches the client as a closed connection.
            let task = runtime.spawn(async move {
                let _ = connection.await;
            });
            return Ok((client, task));
        }
        Mode::Prefer | Mode::Require => {
            config.ssl_mode(if mode == Mode::Prefer {
                SslMode::Prefer
            } else {
                SslMode::Require
            });
            builder()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider())))
                .with_no_client_auth()
        }
        Mode::VerifyFull { root_cert } => {
            config.ssl_mode(SslMode::Require);
            let roots = roots(root_cert.as_deref()).map_err(ConnectFailure::RootCert)?;
            builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
        Mode::VerifyCa { root_cert } => {
            config.ssl_mode(SslMode::Require);
            let roots = roots(root_cert.as_deref()).map_err(ConnectFailure::RootCert)?;
            let chain = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| ConnectFailure::RootCert(format!("sslrootcert: {e}")))?;
            builder()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(chain)))
                .with_no_client_auth()
        }
    };
    let (client, connection) = runtime
        .block_on(config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls_config)))
        .map_err(ConnectFailure::Server)?;
    let task = runtime.spawn(async move {
        let _ = connection.await;
    });
    Ok((client, task))
}

/// Why [`connect`] failed.
#[derive(Debug)]
pub(super) enum ConnectFailure {
    Server(postgres::Error),
    RootCert(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn builder() -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default TLS versions")
}

/// The CA file's certificates, or the system's roots.
fn roots(root_cert: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
            for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: CertificateDer<'static> =
                    cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot parse is skipped, as libpq's OpenSSL does.
                let _ = store.add(cert);
            }
        }
    }
    Ok(store)
}

/// `sslmode=require`: the connection is encrypted, the server's certificate is not checked
/// (libpq's meaning; use `verify-full` to check it). Signatures are still verified, so the
/// handshake is a real one.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the certificate chain is checked as for `verify-full`, and only a name
/// that does not match is let through (libpq's meaning: the CA is trusted to sign only this
/// deployment's servers).
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        // The name is checked after the chain: a name error means the chain passed.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                NotValidForName | NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

//! Key pairs for the tests of certificate and private-key-JWT credentials, made at test time by
//! the `openssl` binary (no private key is ever committed): an RSA key, a self-signed
//! certificate for it, the PEM file the Azure SDKs accept (key and certificate together), and
//! the public key an Okta service app registers.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One generated key pair and the files it was written to.
pub struct TestKey {
    /// The private key alone (PKCS#8 PEM): Okta's `private_key_path`.
    pub key_path: PathBuf,
    /// The private key and the certificate in one PEM file: `AZURE_CLIENT_CERTIFICATE_PATH`.
    pub combined_path: PathBuf,
    /// The certificate (PEM), as uploaded to an Entra app registration.
    pub certificate_pem: String,
    /// The public key (SPKI PEM), as registered with an Okta service app.
    pub public_key_pem: String,
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl binary runs (the key tests need it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates a 2048-bit RSA key and a self-signed certificate under `dir`, named `name`.
pub fn generate(dir: &Path, name: &str) -> TestKey {
    let key_path = dir.join(format!("{name}.key.pem"));
    let cert_path = dir.join(format!("{name}.cert.pem"));
    let pub_path = dir.join(format!("{name}.pub.pem"));
    let (key, cert, public) = (
        key_path.to_string_lossy().into_owned(),
        cert_path.to_string_lossy().into_owned(),
        pub_path.to_string_lossy().into_owned(),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-days",
        "2",
        "-subj",
        "/CN=residual-test",
    ]);
    openssl(&["pkey", "-in", &key, "-pubout", "-out", &public]);
    let read = |p: &Path| std::fs::read_to_string(p).expect("generated PEM file");
    let certificate_pem = read(&cert_path);
    let combined_path = dir.join(format!("{name}.pem"));
    std::fs::write(
        &combined_path,
        format!("{}{}", read(&key_path), certificate_pem),
    )
    .expect("write the combined PEM file");
    TestKey {
        public_key_pem: read(&pub_path),
        key_path,
        combined_path,
        certificate_pem,
    }
}

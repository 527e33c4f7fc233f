//! TLS server configuration: configured PEM files, or a self-signed certificate generated
//! once into `data_dir` and reused, so agents can pin its fingerprint across restarts.
//!
//! The crypto provider is always aws-lc-rs, passed explicitly: relying on the process default
//! fails at run time when feature unification enables a second provider.

use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::config::ServerConfig;

/// File name of the generated certificate inside `data_dir`.
pub const GENERATED_CERT_FILE: &str = "ccgw-cert.pem";
/// File name of the generated private key inside `data_dir`.
pub const GENERATED_KEY_FILE: &str = "ccgw-key.pem";

/// Builds the rustls server config and returns it with the SHA-256 fingerprint of the leaf
/// certificate (uppercase hex, colon-separated, as `openssl x509 -fingerprint -sha256` prints).
pub fn server_config(cfg: &ServerConfig) -> anyhow::Result<(Arc<rustls::ServerConfig>, String)> {
    let (certs, key) = match (&cfg.cert_file, &cfg.key_file) {
        (Some(cert), Some(key)) => (load_certs(cert)?, load_key(key)?),
        (None, None) => load_or_generate(&cfg.data_dir)?,
        _ => bail!("server.cert_file and server.key_file must be set together"),
    };
    let fingerprint = fingerprint(&certs[0]);

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("building TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and private key do not form a valid pair")?;
    // HTTP/1 only. "http/1.0" too: rustls refuses a client whose ALPN offer has no overlap
    // (curl --http1.0 offers only that), and the agent listener serves HTTP/1.0 fine.
    config.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Ok((Arc::new(config), fingerprint))
}

/// SHA-256 of the DER certificate, `AB:CD:…`.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(cert.as_ref());
    let hex = hex::encode_upper(digest);
    let mut out = String::with_capacity(hex.len() / 2 * 3);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.extend(pair.iter().map(|&b| char::from(b)));
    }
    out
}

fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let file = fs::File::open(path).with_context(|| format!("opening certificate file {}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading certificate file {}", path.display()))?;
    if certs.is_empty() {
        bail!("no certificate found in {}", path.display());
    }
    Ok(certs)
}

fn load_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let file = fs::File::open(path).with_context(|| format!("opening key file {}", path.display()))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .with_context(|| format!("reading key file {}", path.display()))?
        .with_context(|| format!("no private key found in {}", path.display()))
}

type CertAndKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// Reuses `data_dir/ccgw-{cert,key}.pem`, generating them if the certificate is absent.
fn load_or_generate(data_dir: &Path) -> anyhow::Result<CertAndKey> {
    let cert_path = data_dir.join(GENERATED_CERT_FILE);
    let key_path = data_dir.join(GENERATED_KEY_FILE);
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => return Ok((load_certs(&cert_path)?, load_key(&key_path)?)),
        (true, false) => bail!(
            "{} exists but {} is missing; remove the certificate to regenerate both",
            cert_path.display(),
            key_path.display()
        ),
        // A key without a certificate is useless (e.g. an interrupted first start): regenerate.
        _ => {}
    }

    fs::create_dir_all(data_dir).with_context(|| format!("creating data_dir {}", data_dir.display()))?;
    let (cert_pem, key_pem, cert_der, key_der) = generate()?;
    // Key first, each via temp file + rename, so a crash never leaves a cert without its key.
    write_atomic(&key_path, key_pem.as_bytes(), true)?;
    write_atomic(&cert_path, cert_pem.as_bytes(), false)?;
    tracing::info!(
        cert = %cert_path.display(),
        "generated self-signed TLS certificate"
    );
    Ok((vec![cert_der], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der))))
}

fn generate() -> anyhow::Result<(String, String, CertificateDer<'static>, Vec<u8>)> {
    let mut sans = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if let Some(host) = hostname()
        && !sans.contains(&host)
    {
        sans.push(host);
    }
    let mut params = rcgen::CertificateParams::new(sans).context("building certificate parameters")?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "ccgw self-signed");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "ccgw");
    let key = rcgen::KeyPair::generate().context("generating TLS key pair")?;
    let cert = params.self_signed(&key).context("self-signing certificate")?;
    Ok((cert.pem(), key.serialize_pem(), cert.der().clone(), key.serialize_der()))
}

/// The machine host name, if it is a plausible DNS name.
fn hostname() -> Option<String> {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = raw.trim().to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.']);
    ok.then_some(name)
}

fn write_atomic(path: &Path, data: &[u8], private: bool) -> anyhow::Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = opts.open(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(data).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ccgw-{tag}-{}-{}", std::process::id(), uuid::Uuid::new_v4()))
    }

    #[test]
    fn generates_once_and_reuses() {
        let dir = temp_dir("tls");
        let cfg = ServerConfig { data_dir: dir.clone(), ..ServerConfig::default() };
        let (c1, fp1) = server_config(&cfg).unwrap();
        let (_c2, fp2) = server_config(&cfg).unwrap();
        assert_eq!(fp1, fp2);
        assert_eq!(fp1.len(), 32 * 3 - 1);
        assert_eq!(c1.alpn_protocols, vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()]);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(GENERATED_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Explicit cert/key files load too and give the same fingerprint.
        let explicit = ServerConfig {
            cert_file: Some(dir.join(GENERATED_CERT_FILE)),
            key_file: Some(dir.join(GENERATED_KEY_FILE)),
            ..ServerConfig::default()
        };
        let (_c3, fp3) = server_config(&explicit).unwrap();
        assert_eq!(fp1, fp3);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_files_are_errors() {
        let dir = temp_dir("tls-missing");
        let cfg = ServerConfig {
            cert_file: Some(dir.join("nope.pem")),
            key_file: Some(dir.join("nope-key.pem")),
            ..ServerConfig::default()
        };
        assert!(server_config(&cfg).is_err());
    }
}

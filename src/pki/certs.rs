//! Certificates for EAP: the server's chain and key (the admin's own PEM
//! files, or a private CA and server certificate generated under the data
//! directory on first start), the CA that EAP-TLS client certificates must
//! chain to, and a CRL. Also the expiry arithmetic behind the warnings.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use super::names;
use crate::config::EapConfig;

/// Subdirectory of the data directory for generated certificates.
pub const GENERATED_DIR: &str = "eap";
/// The file devices must trust when the CA is ours.
pub const CA_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key";
const SERVER_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server.key";
const CA_NAME: &str = "Portico EAP CA";
const CA_YEARS: i32 = 10;
const SERVER_YEARS: i32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("eap.certificate and eap.private_key must be set together")]
    HalfConfigured,
}

/// Everything TLS needs, loaded once at start-up.
pub struct TlsMaterial {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// CA certificates for EAP-TLS clients; None: EAP-TLS off.
    pub client_roots: Option<Vec<CertificateDer<'static>>>,
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// Where the CA that devices must trust is, when we generated it.
    pub generated_ca: Option<PathBuf>,
    /// The server certificate's notAfter (Unix seconds).
    pub server_not_after: Option<i64>,
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn pem_error(path: &Path, reason: impl ToString) -> CertError {
    CertError::Pem {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Every certificate in a PEM file, in order.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE in the file"));
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, CertError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| pem_error(path, e))
}

/// CRLs from a PEM file (several allowed) or a single DER one.
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, CertError> {
    let bytes = read(path)?;
    let pem: Result<Vec<_>, _> = CertificateRevocationListDer::pem_slice_iter(&bytes).collect();
    match pem {
        Ok(crls) if !crls.is_empty() => Ok(crls),
        _ if bytes.first() == Some(&0x30) => Ok(vec![CertificateRevocationListDer::from(bytes)]),
        Ok(_) => Err(pem_error(path, "no X509 CRL in the file")),
        Err(e) => Err(pem_error(path, e)),
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), CertError> {
    use std::io::Write;
    let io = |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

fn write_public(path: &Path, text: &str) -> Result<(), CertError> {
    std::fs::write(path, text).map_err(|source| CertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Valid from yesterday (clock skew) for `years` years.
fn set_validity(params: &mut rcgen::CertificateParams, years: i32) {
    use chrono::Datelike;
    let from = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    // Day 28 exists in every month.
    params.not_after = rcgen::date_time_ymd(
        from.year() + years,
        from.month() as u8,
        from.day().min(28) as u8,
    );
}

fn ca_params() -> Result<rcgen::CertificateParams, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, CA_NAME);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, CA_YEARS);
    Ok(params)
}

/// The private CA under `dir` (`ca.pem`, `ca.key`), created if missing.
/// Returns its PEM path and key, and whether it was just created (then
/// every certificate it issued before is void).
fn ensure_ca(dir: &Path) -> Result<(PathBuf, rcgen::KeyPair, bool), CertError> {
    let io = |source| CertError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let (ca_pem, ca_key_path) = (dir.join(CA_FILE), dir.join(CA_KEY_FILE));
    if ca_key_path.exists() && ca_pem.exists() {
        let text = String::from_utf8_lossy(&read(&ca_key_path)?).into_owned();
        let key = rcgen::KeyPair::from_pem(&text).map_err(|e| pem_error(&ca_key_path, e))?;
        return Ok((ca_pem, key, false));
    }
    let key = rcgen::KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    let _ = std::fs::remove_file(&ca_key_path);
    write_private(&ca_key_path, &key.serialize_pem())?;
    write_public(&ca_pem, &cert.pem())?;
    tracing::warn!(ca = %ca_pem.display(), "created a private CA; devices and browsers must trust this file");
    Ok((ca_pem, key, true))
}

/// A server certificate for `names` (DNS names or IP addresses; the first
/// is also the CN) signed by the CA, written as `server_pem` (leaf then CA)
/// and `server_key` (mode 0600).
fn issue_server(
    ca_pem: &Path,
    ca_key: &rcgen::KeyPair,
    names: &[String],
    server_pem: &Path,
    server_key: &Path,
) -> Result<(), CertError> {
    // Same name and key as the CA on disk: what it signs chains to it.
    let ca = ca_params()?.self_signed(ca_key)?;
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().map(String::as_str).unwrap_or("portico"),
    );
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, SERVER_YEARS);
    let cert = params.signed_by(&key, &ca, ca_key)?;
    let ca_text = String::from_utf8_lossy(&read(ca_pem)?).into_owned();
    let _ = std::fs::remove_file(server_key);
    write_private(server_key, &key.serialize_pem())?;
    write_public(server_pem, &format!("{}{}", cert.pem(), ca_text))?;
    tracing::info!(certificate = %server_pem.display(), "issued a server certificate from the private CA");
    Ok(())
}

/// Whether `server_pem` exists with its key and carries the CA at `ca_pem`
/// (a CA made anew voids what the old one issued).
fn issued_by(server_pem: &Path, server_key: &Path, ca_pem: &Path) -> bool {
    let (Ok(chain), Ok(ca)) = (
        std::fs::read_to_string(server_pem),
        std::fs::read_to_string(ca_pem),
    ) else {
        return false;
    };
    server_key.exists() && chain.ends_with(ca.as_str())
}

/// The private CA and a server certificate under `dir`, created if
/// missing. A missing server certificate is re-issued by the existing CA
/// key, so devices that trust `ca.pem` keep working.
pub fn ensure_generated(
    dir: &Path,
    server_name: &str,
) -> Result<(PathBuf, PathBuf, PathBuf), CertError> {
    let (ca_pem, ca_key, _) = ensure_ca(dir)?;
    let (server_pem, server_key) = (dir.join(SERVER_FILE), dir.join(SERVER_KEY_FILE));
    if !issued_by(&server_pem, &server_key, &ca_pem) {
        issue_server(
            &ca_pem,
            &ca_key,
            &[server_name.to_string()],
            &server_pem,
            &server_key,
        )?;
    }
    Ok((ca_pem, server_pem, server_key))
}

/// Subdirectory of the data directory for the management listener's
/// generated certificate.
pub const ADMIN_DIR: &str = "admin";

/// The management listener's certificate from the private CA (the one in
/// `data_dir/eap`, created if missing), valid for this host's name,
/// localhost, the loopback addresses and `extra_names`. Re-issued when the
/// names change or the CA was made anew. Returns (chain, key) paths.
pub fn ensure_admin_certificate(
    data_dir: &Path,
    extra_names: &[String],
) -> Result<(PathBuf, PathBuf), CertError> {
    let (ca_pem, ca_key, _) = ensure_ca(&data_dir.join(GENERATED_DIR))?;
    let dir = data_dir.join(ADMIN_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| CertError::Io {
        path: dir.clone(),
        source,
    })?;
    let (server_pem, server_key) = (dir.join(SERVER_FILE), dir.join(SERVER_KEY_FILE));
    let mut names: Vec<String> = Vec::new();
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host.parse::<std::net::IpAddr>().is_err() {
            names.push(host.to_string());
        }
    }
    names.extend(["localhost", "127.0.0.1", "::1"].map(String::from));
    for n in extra_names {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let names_file = dir.join("names.txt");
    let wanted = names.join("\n");
    let same_names = std::fs::read_to_string(&names_file).is_ok_and(|n| n == wanted);
    if !(same_names && issued_by(&server_pem, &server_key, &ca_pem)) {
        issue_server(&ca_pem, &ca_key, &names, &server_pem, &server_key)?;
        write_public(&names_file, &wanted)?;
    }
    Ok((server_pem, server_key))
}

/// Loads what `[eap]` names, generating the private CA when no server
/// certificate is configured.
pub fn load(cfg: &EapConfig, data_dir: &Path) -> Result<TlsMaterial, CertError> {
    let (chain_path, key_path, generated_ca) =
        match (cfg.certificate.clone(), cfg.private_key.clone()) {
            (Some(chain), Some(key)) => (chain, key, None),
            (None, None) => {
                let (ca, chain, key) =
                    ensure_generated(&data_dir.join(GENERATED_DIR), &cfg.server_name)?;
                (chain, key, Some(ca))
            }
            _ => return Err(CertError::HalfConfigured),
        };
    let chain = load_certs(&chain_path)?;
    let key = load_key(&key_path)?;
    let server_not_after = chain
        .first()
        .and_then(|c| names::parse_certificate(c))
        .and_then(|i| i.not_after);
    let client_roots = cfg.client_ca.as_deref().map(load_certs).transpose()?;
    let crls = match cfg.crl.as_deref() {
        Some(path) => load_crls(path)?,
        None => Vec::new(),
    };
    Ok(TlsMaterial {
        chain,
        key,
        client_roots,
        crls,
        generated_ca,
        server_not_after,
    })
}

/// Whole days from `now` (Unix seconds) to `not_after`; negative once past.
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reissues_a_missing_server_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, chain, key) = ensure_generated(dir.path(), "radius.test").unwrap();
        let ca_before = std::fs::read(&ca).unwrap();
        let certs = load_certs(&chain).unwrap();
        assert_eq!(certs.len(), 2, "server certificate then the CA");
        load_key(&key).unwrap();
        let info = names::parse_certificate(&certs[0]).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("radius.test"));
        assert!(days_left(info.not_after.unwrap(), chrono::Utc::now().timestamp()) > 300);

        std::fs::remove_file(&chain).unwrap();
        ensure_generated(dir.path(), "radius.test").unwrap();
        assert_eq!(std::fs::read(&ca).unwrap(), ca_before, "the CA stays");
        let certs = load_certs(&chain).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[1].as_ref(), &load_certs(&ca).unwrap()[0][..]);
    }

    #[test]
    fn admin_certificate_from_the_same_ca_for_loopback_and_given_names() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, key) =
            ensure_admin_certificate(dir.path(), &["wifi-admin.example.cn".into()]).unwrap();
        let certs = load_certs(&chain).unwrap();
        load_key(&key).unwrap();
        let ca = load_certs(&dir.path().join(GENERATED_DIR).join(CA_FILE)).unwrap();
        assert_eq!(
            certs[1].as_ref(),
            ca[0].as_ref(),
            "chains to the private CA"
        );
        let first = std::fs::read(&chain).unwrap();
        // Same names: kept; other names: issued anew.
        ensure_admin_certificate(dir.path(), &["wifi-admin.example.cn".into()]).unwrap();
        assert_eq!(std::fs::read(&chain).unwrap(), first);
        ensure_admin_certificate(dir.path(), &["10.0.0.5".into()]).unwrap();
        assert_ne!(std::fs::read(&chain).unwrap(), first);
        // It serves: rustls accepts the pair.
        crate::tls::server_config(&chain, &key).unwrap();
    }

    #[test]
    fn days_left_rounds_down() {
        assert_eq!(days_left(86_400 * 10, 0), 10);
        assert_eq!(days_left(86_400 * 10 - 1, 0), 9);
        assert_eq!(days_left(0, 1), -1);
    }
}

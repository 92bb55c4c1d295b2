//! The portal and the RFC 8908 API over HTTPS (rustls, a configured
//! certificate): the JSON with its media type, and Secure cookies.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::portal::portal_env;

async fn https_get(
    addr: std::net::SocketAddr,
    cert: CertificateDer<'static>,
    path: &str,
) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("portal.test").unwrap(), tcp)
        .await
        .expect("TLS handshake");
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: portal.test\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capport_api_and_portal_over_https() {
    let ck = rcgen::generate_simple_self_signed(vec!["portal.test".to_string()]).unwrap();
    let mut env = portal_env(&Db::Sqlite);
    let cert_path = env.dir.path().join("portal.crt");
    let key_path = env.dir.path().join("portal.key.pem");
    std::fs::write(&cert_path, ck.cert.pem()).unwrap();
    std::fs::write(&key_path, ck.key_pair.serialize_pem()).unwrap();
    env.set("PORTICO_PORTAL__HTTPS_LISTEN", "127.0.0.1:0");
    env.set("PORTICO_PORTAL__TLS_CERT", &cert_path.display().to_string());
    env.set("PORTICO_PORTAL__TLS_KEY", &key_path.display().to_string());
    let server = env.start_with(&["portal-https"]);
    let https = server
        .listener("portal-https")
        .expect("portal-https listener");
    let der = ck.cert.der().clone();

    let api = https_get(https, der.clone(), "/capport/api").await;
    assert!(api.starts_with("HTTP/1.1 200"), "{api}");
    assert!(
        api.contains("content-type: application/captive+json"),
        "{api}"
    );
    assert!(api.contains("\"captive\":true"), "{api}");
    assert!(
        api.contains("\"user-portal-url\":\"https://portal.test/portal/generic\""),
        "{api}"
    );

    let page = https_get(https, der, "/portal/unifi?id=AA-BB-CC-00-11-22").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let cookie = page
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or("");
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

//! The portal and the RFC 8908 API over HTTPS (rustls, a configured
//! certificate): the JSON with its media type, and Secure cookies.

use rustls::pki_types::CertificateDer;

use crate::helpers::*;
use crate::portal::portal_env;

async fn https_get(
    addr: std::net::SocketAddr,
    cert: CertificateDer<'static>,
    path: &str,
) -> String {
    https_get_as(addr, cert, "portal.test", path).await
}

/// GET over HTTPS with `reqwest`, trusting only `cert`, the name `name`
/// resolved to `addr`; the answer as status line, headers and body text.
async fn https_get_as(
    addr: std::net::SocketAddr,
    cert: CertificateDer<'static>,
    name: &str,
    path: &str,
) -> String {
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_der(&cert).expect("certificate"))
        .resolve(name, addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client
        .get(format!("https://{name}:{}{path}", addr.port()))
        .send()
        .await
        .expect("TLS request");
    let mut out = format!("HTTP/1.1 {}\r\n", resp.status().as_u16());
    for (k, v) in resp.headers() {
        out.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap_or("")));
    }
    out.push_str("\r\n");
    out.push_str(&resp.text().await.unwrap_or_default());
    out
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
    env.set("PORTICO_SSO__ISSUER", "https://portal.test/oidc");
    let server = env.start_with(&["portal-https"]);
    let https = server
        .listener("portal-https")
        .expect("portal-https listener");
    let der = ck.cert.der().clone();

    // The provider is on HTTPS only; plain HTTP is sent to the issuer.
    let doc = https_get(https, der.clone(), "/oidc/.well-known/openid-configuration").await;
    assert!(doc.starts_with("HTTP/1.1 200"), "{doc}");
    for (method, path, to) in [
        (
            "GET",
            "/oidc/authorize?client_id=x&state=1",
            "https://portal.test/oidc/authorize?client_id=x&state=1",
        ),
        ("POST", "/oidc/token", "https://portal.test/oidc/token"),
        ("POST", "/oidc/signin", "https://portal.test/oidc/signin"),
        (
            "GET",
            "/api/v1/presence/rooms/r1",
            "https://portal.test/api/v1/presence/rooms/r1",
        ),
    ] {
        let plain = crate::portal_support::request(server.http, method, path, &[], Some(""));
        assert_eq!(plain.status, 308, "{method} {path}: {}", plain.body);
        assert_eq!(plain.header("location"), Some(to), "{method} {path}");
    }

    let api = https_get(https, der.clone(), "/capport/api").await;
    assert!(api.starts_with("HTTP/1.1 200"), "{api}");
    assert!(
        api.contains("content-type: application/captive+json"),
        "{api}"
    );
    assert!(api.contains("\"captive\":true"), "{api}");
    assert!(
        api.contains(&format!(
            "\"user-portal-url\":\"https://portal.test:{}/portal/start\"",
            https.port()
        )),
        "{api}"
    );
    // The portal URL it gives works for the asking client.
    let start = https_get(https, der.clone(), "/portal/start").await;
    assert!(start.starts_with("HTTP/1.1 200"), "{start}");
    // Plain HTTP sends API clients to the HTTPS one.
    let plain = crate::portal_support::request(server.http, "GET", "/capport/api", &[], None);
    assert_eq!(plain.status, 308, "{}", plain.body);
    assert_eq!(
        plain.header("location"),
        Some(format!("https://127.0.0.1:{}/capport/api", https.port()).as_str())
    );

    let page = https_get(
        https,
        der,
        "/portal/generic?client_mac=AA-BB-CC-00-11-22&client_ip=127.0.0.1",
    )
    .await;
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

/// The management listener's default: HTTPS with a certificate from the
/// private CA in the data directory; /metrics there, not on the portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listener_is_https_from_the_private_ca() {
    let mut env = TestEnv::new(&Db::Sqlite);
    env.set("PORTICO_ADMIN__TLS", "true");
    env.set("PORTICO_ADMIN__METRICS_TOKEN", "metrics-token-for-tests");
    let server = env.start();
    let ca_pem = std::fs::read(env.dir.path().join("data/eap/ca.pem")).unwrap();
    let ca = rustls::pki_types::pem::PemObject::from_pem_slice(&ca_pem).unwrap();
    let health = https_get_as(server.admin, ca, "localhost", "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let ca = rustls::pki_types::pem::PemObject::from_pem_slice(&ca_pem).unwrap();
    let metrics = https_get_as(server.admin, ca, "localhost", "/metrics").await;
    assert!(
        metrics.starts_with("HTTP/1.1 401"),
        "bearer token asked: {metrics}"
    );
    assert_eq!(
        server.http_get("/metrics").0,
        404,
        "never on the portal listener"
    );
}

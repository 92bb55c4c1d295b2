//! 802.1X: eapol_test (wpa_supplicant's RADIUS test client) against the
//! running server for PEAP/MSCHAPv2, TTLS/PAP, TTLS/MSCHAPv2 and EAP-TLS,
//! with the MPPE key check; fragmentation; malformed EAP over raw RADIUS.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;
use portico::radius::wire;

const PASSWORD: &str = "correct horse battery";

fn eap_env(db: &Db) -> TestEnv {
    let env = TestEnv::new(db);
    env.cli_ok(
        &[
            "group",
            "set",
            "staff",
            "--vlan",
            "20",
            "--session-timeout",
            "28800",
        ],
        None,
    );
    env.add_loopback_nas("ap-eap", &[]);
    env.add_user("alice", PASSWORD, &["staff"]);
    env
}

fn ca_file(env: &TestEnv) -> PathBuf {
    env.dir.path().join("data").join("eap").join("ca.pem")
}

struct EapolRun {
    ok: bool,
    output: String,
}

/// Runs eapol_test with `network` as its network block.
fn eapol_test(
    env: &TestEnv,
    server: &TestServer,
    name: &str,
    network: &str,
    extra: &[&str],
) -> EapolRun {
    let conf = env.dir.path().join(format!("{name}.conf"));
    std::fs::write(
        &conf,
        format!("network={{\n    key_mgmt=WPA-EAP\n{network}}}\n"),
    )
    .unwrap();
    let out = Command::new("eapol_test")
        .arg("-c")
        .arg(&conf)
        .arg("-a")
        .arg(server.auth.ip().to_string())
        .arg("-p")
        .arg(server.auth.port().to_string())
        .arg("-s")
        .arg(SECRET)
        .args(["-r0", "-t", "15"])
        .args(extra)
        .output()
        .expect("run eapol_test");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success()
        && output.lines().any(|l| l.trim() == "SUCCESS")
        && output.contains("MPPE keys OK: 1  mismatch: 0");
    EapolRun { ok, output }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn peap_network(ca: &Path, password: &str) -> String {
    format!(
        "    eap=PEAP\n    identity=\"alice\"\n    anonymous_identity=\"anonymous\"\n    password=\"{password}\"\n    ca_cert=\"{}\"\n    phase2=\"auth=MSCHAPV2\"\n",
        ca.display()
    )
}

fn ttls_network(ca: &Path, inner: &str, password: &str) -> String {
    format!(
        "    eap=TTLS\n    identity=\"alice\"\n    anonymous_identity=\"anonymous@example\"\n    password=\"{password}\"\n    ca_cert=\"{}\"\n    phase2=\"auth={inner}\"\n",
        ca.display()
    )
}

#[test]
fn peap_and_ttls_with_eapol_test() {
    if !have_tool("eapol_test") {
        return;
    }
    for db in backends() {
        let env = eap_env(&db);
        let server = env.start();
        let ca = ca_file(&env);
        assert!(ca.exists(), "the private CA is created on first start");
        assert!(
            server.log().contains("ca.pem"),
            "the log says where the CA is"
        );

        let run = eapol_test(&env, &server, "peap", &peap_network(&ca, PASSWORD), &[]);
        assert!(
            run.ok,
            "[{}] PEAP/MSCHAPv2:\n{}",
            db.name(),
            tail(&run.output)
        );
        assert!(
            run.output.contains("Tunnel-Private-Group-Id") || run.output.contains("Attribute 81"),
            "VLAN in the Accept:\n{}",
            tail(&run.output)
        );
        let run = eapol_test(
            &env,
            &server,
            "ttls-pap",
            &ttls_network(&ca, "PAP", PASSWORD),
            &[],
        );
        assert!(run.ok, "TTLS/PAP:\n{}", tail(&run.output));
        let run = eapol_test(
            &env,
            &server,
            "ttls-mschapv2",
            &ttls_network(&ca, "MSCHAPV2", PASSWORD),
            &[],
        );
        assert!(run.ok, "TTLS/MSCHAPv2:\n{}", tail(&run.output));
        // EAP-MSCHAPv2 inside TTLS (Windows' TTLS).
        let network = ttls_network(&ca, "MSCHAPV2", PASSWORD).replace("auth=", "autheap=");
        let run = eapol_test(&env, &server, "ttls-eap", &network, &[]);
        assert!(run.ok, "TTLS/EAP-MSCHAPv2:\n{}", tail(&run.output));

        for (name, network) in [
            ("peap-bad", peap_network(&ca, "wrong")),
            ("ttls-pap-bad", ttls_network(&ca, "PAP", "wrong")),
            ("ttls-mschapv2-bad", ttls_network(&ca, "MSCHAPV2", "wrong")),
            (
                "ttls-eap-bad",
                ttls_network(&ca, "MSCHAPV2", "wrong").replace("auth=", "autheap="),
            ),
        ] {
            let run = eapol_test(&env, &server, name, &network, &[]);
            assert!(!run.ok, "{name} must fail:\n{}", tail(&run.output));
            assert!(
                run.output.contains("FAILURE"),
                "{name}:\n{}",
                tail(&run.output)
            );
        }

        // Inner identity logged, outer identity kept.
        let mut csv = String::new();
        server.wait_for("auth log rows", || {
            csv = env.cli_ok(&["auth-log", "export", "--since", "2000-01-01"], None);
            csv.lines().filter(|l| l.contains("eap-")).count() >= 8
        });
        let peap = csv
            .lines()
            .find(|l| l.contains("eap-peap-mschapv2") && l.contains("accept"))
            .unwrap_or_else(|| panic!("no PEAP accept in\n{csv}"));
        assert!(
            peap.contains("alice") && peap.contains("anonymous"),
            "{peap}"
        );
        assert!(csv.contains("eap-ttls-pap"), "{csv}");
        assert!(server.metric("portico_certificate_days_left") > 300.0);
    }
}

/// A CA and a client certificate for `cn` it signs, as PEM files in `dir`.
struct ClientPki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// A CRL of this CA that revokes the client certificate.
    revoking_crl: PathBuf,
    /// A CRL of this CA that revokes another serial only.
    other_crl: PathBuf,
}

fn crl(ca: &rcgen::Certificate, key: &rcgen::KeyPair, serial: u64) -> String {
    rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2100, 1, 1),
        crl_number: rcgen::SerialNumber::from(serial),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(serial),
            revocation_time: rcgen::date_time_ymd(2024, 1, 1),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(ca, key)
    .unwrap()
    .pem()
    .unwrap()
}

fn client_pki(dir: &Path, tag: &str, cn: &str, extra_sans: usize) -> ClientPki {
    client_pki_with(dir, tag, cn, extra_sans, None)
}

/// Like `client_pki`, with an e-mail address in the subjectAltName.
fn client_pki_with(
    dir: &Path,
    tag: &str,
    cn: &str,
    extra_sans: usize,
    email: Option<&str>,
) -> ClientPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{tag} client CA"));
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let sans: Vec<String> = (0..extra_sans)
        .map(|i| format!("device-{i:04}.clients.example.org"))
        .collect();
    let mut params = rcgen::CertificateParams::new(sans).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    if let Some(e) = email {
        params
            .subject_alt_names
            .push(rcgen::SanType::Rfc822Name(e.try_into().unwrap()));
    }
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number = Some(rcgen::SerialNumber::from(4242u64));
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let out = ClientPki {
        ca: dir.join(format!("{tag}-ca.pem")),
        cert: dir.join(format!("{tag}-client.pem")),
        key: dir.join(format!("{tag}-client.key")),
        revoking_crl: dir.join(format!("{tag}-revoking.crl")),
        other_crl: dir.join(format!("{tag}-other.crl")),
    };
    std::fs::write(&out.revoking_crl, crl(&ca, &ca_key, 4242)).unwrap();
    std::fs::write(&out.other_crl, crl(&ca, &ca_key, 7)).unwrap();
    std::fs::write(&out.ca, ca.pem()).unwrap();
    std::fs::write(&out.cert, cert.pem()).unwrap();
    std::fs::write(&out.key, key.serialize_pem()).unwrap();
    out
}

fn tls_network(ca: &Path, pki: &ClientPki, phase1: &str) -> String {
    format!(
        "    eap=TLS\n    identity=\"carol\"\n    ca_cert=\"{}\"\n    client_cert=\"{}\"\n    private_key=\"{}\"\n    phase1=\"{phase1}\"\n",
        ca.display(),
        pki.cert.display(),
        pki.key.display()
    )
}

#[test]
fn eap_tls_trusted_untrusted_and_tls13() {
    if !have_tool("eapol_test") {
        return;
    }
    let mut env = eap_env(&Db::Sqlite);
    // These certificates name their user in the CN.
    env.set("PORTICO_EAP__TLS_IDENTITY", "[\"cn\"]");
    env.add_user("carol", "unused password 1", &["staff"]);
    let trusted = client_pki(env.dir.path(), "trusted", "carol", 0);
    let stranger = client_pki(env.dir.path(), "stranger", "carol", 0);
    env.set("PORTICO_EAP__CLIENT_CA", &trusted.ca.display().to_string());
    let server = env.start();
    let ca = ca_file(&env);

    let run = eapol_test(&env, &server, "tls12", &tls_network(&ca, &trusted, ""), &[]);
    assert!(run.ok, "EAP-TLS 1.2:\n{}", tail(&run.output));
    let run = eapol_test(
        &env,
        &server,
        "tls13",
        &tls_network(&ca, &trusted, "tls_disable_tlsv1_3=0"),
        &[],
    );
    assert!(run.ok, "EAP-TLS 1.3 (RFC 9190):\n{}", tail(&run.output));
    assert!(
        run.output.contains("TLSv1.3"),
        "TLS 1.3 negotiated:\n{}",
        tail(&run.output)
    );
    let run = eapol_test(
        &env,
        &server,
        "untrusted",
        &tls_network(&ca, &stranger, ""),
        &[],
    );
    assert!(
        !run.ok,
        "a certificate from another CA must fail:\n{}",
        tail(&run.output)
    );
    // A CRL is honoured: the revoked certificate fails, another CRL of the
    // same CA lets it through.
    drop(server);
    env.set(
        "PORTICO_EAP__CRL",
        &trusted.revoking_crl.display().to_string(),
    );
    let server = env.start();
    let run = eapol_test(
        &env,
        &server,
        "revoked",
        &tls_network(&ca, &trusted, ""),
        &[],
    );
    assert!(
        !run.ok,
        "a revoked certificate must fail:\n{}",
        tail(&run.output)
    );
    drop(server);
    env.set("PORTICO_EAP__CRL", &trusted.other_crl.display().to_string());
    let server = env.start();
    let run = eapol_test(
        &env,
        &server,
        "not-revoked",
        &tls_network(&ca, &trusted, ""),
        &[],
    );
    assert!(run.ok, "CRL of another serial:\n{}", tail(&run.output));
    env.set("PORTICO_EAP__CRL", "");
    // A certificate naming no user fails too.
    let nobody = client_pki(env.dir.path(), "nobody", "mallory", 0);
    drop(server);
    env.set("PORTICO_EAP__CLIENT_CA", &nobody.ca.display().to_string());
    let server = env.start();
    let run = eapol_test(&env, &server, "nobody", &tls_network(&ca, &nobody, ""), &[]);
    assert!(!run.ok, "{}", tail(&run.output));
    assert!(
        server.log().contains("client certificate names no user")
            || server.log().contains("names no user"),
        "the reason is logged"
    );
}

/// Which certificate field names the account is configuration, never a
/// guess: a certificate for CN=mallory whose e-mail address has another
/// user's name as its local part signs in as nobody by default, and as
/// that user only where the admin listed the domain.
#[test]
fn eap_tls_account_is_named_only_by_the_configured_field() {
    if !have_tool("eapol_test") {
        return;
    }
    // eap_env has the user alice.
    let mut env = eap_env(&Db::Sqlite);
    let pki = client_pki_with(
        env.dir.path(),
        "partner",
        "mallory",
        0,
        Some("alice@partner.example"),
    );
    env.set("PORTICO_EAP__CLIENT_CA", &pki.ca.display().to_string());
    let server = env.start();
    let ca = ca_file(&env);
    let run = eapol_test(&env, &server, "guess", &tls_network(&ca, &pki, ""), &[]);
    assert!(
        !run.ok,
        "no account by the default rule:\n{}",
        tail(&run.output)
    );
    server.wait_for("the refusal with the certificate's subject", || {
        server.log().contains("names no account") && server.log().contains("mallory")
    });
    drop(server);
    env.set("PORTICO_EAP__TLS_DOMAINS", "[\"partner.example\"]");
    let server = env.start();
    let run = eapol_test(&env, &server, "domain", &tls_network(&ca, &pki, ""), &[]);
    assert!(
        run.ok,
        "the listed domain's local part:\n{}",
        tail(&run.output)
    );
}

/// A server chain of several intermediates and a leaf with many names:
/// several KiB, sent in fragments that fit a small Framed-MTU; the client's
/// large certificate comes the other way in small fragments too.
#[test]
fn fragmentation_small_mtu_large_chain() {
    if !have_tool("eapol_test") {
        return;
    }
    let mut env = eap_env(&Db::Sqlite);
    env.set("PORTICO_EAP__TLS_IDENTITY", "[\"cn\"]");
    env.add_user("carol", "unused password 1", &["staff"]);
    let dir = env.dir.path().to_path_buf();
    // Root, four intermediates, leaf.
    let root_key = rcgen::KeyPair::generate().unwrap();
    let mut root_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Chain Root");
    root_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let root = root_params.self_signed(&root_key).unwrap();
    let root_file = dir.join("root.pem");
    std::fs::write(&root_file, root.pem()).unwrap();
    let mut issuer = (root, root_key);
    let mut intermediates = Vec::new();
    for i in 0..4 {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, format!("Intermediate {i}"));
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = p.signed_by(&key, &issuer.0, &issuer.1).unwrap();
        intermediates.push(cert.pem());
        issuer = (cert, key);
    }
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = (0..60)
        .map(|i| format!("radius-{i:03}.wifi.example.org"))
        .collect();
    let mut leaf_params = rcgen::CertificateParams::new(names).unwrap();
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "radius.wifi.example.org");
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer.0, &issuer.1)
        .unwrap();
    intermediates.reverse();
    let full_chain = format!("{}{}", leaf.pem(), intermediates.concat());
    assert!(full_chain.len() > 5000, "{}", full_chain.len());
    let chain_file = dir.join("chain.pem");
    let key_file = dir.join("server.key");
    std::fs::write(&chain_file, full_chain).unwrap();
    std::fs::write(&key_file, leaf_key.serialize_pem()).unwrap();
    let client = client_pki(&dir, "big", "carol", 80);
    env.set(
        "PORTICO_EAP__CERTIFICATE",
        &chain_file.display().to_string(),
    );
    env.set("PORTICO_EAP__PRIVATE_KEY", &key_file.display().to_string());
    env.set("PORTICO_EAP__CLIENT_CA", &client.ca.display().to_string());
    let server = env.start();

    let network = format!(
        "{}    fragment_size=200\n",
        tls_network(&root_file, &client, "")
    );
    let run = eapol_test(&env, &server, "frag-tls", &network, &["-N12:d:300"]);
    assert!(run.ok, "EAP-TLS, Framed-MTU 300:\n{}", tail(&run.output));
    let network = format!(
        "{}    fragment_size=200\n",
        peap_network(&root_file, PASSWORD)
    );
    let run = eapol_test(&env, &server, "frag-peap", &network, &["-N12:d:300"]);
    assert!(run.ok, "PEAP, Framed-MTU 300:\n{}", tail(&run.output));
}

// ---- malformed EAP over raw RADIUS ----

fn eap_request(id: u8, eap: &[u8], state: Option<&[u8]>) -> Vec<u8> {
    let auth = wire::random_authenticator();
    let mut attrs = Vec::new();
    wire::push_attribute(&mut attrs, 1, b"anonymous").unwrap();
    wire::push_split_attribute(&mut attrs, 79, eap).unwrap();
    if let Some(s) = state {
        wire::push_attribute(&mut attrs, 24, s).unwrap();
    }
    wire::encode_request(1, id, &auth, &attrs, SECRET.as_bytes()).unwrap()
}

fn identity_response(id: u8, name: &str) -> Vec<u8> {
    let mut eap = vec![2, id, 0, 0, 1];
    eap.extend_from_slice(name.as_bytes());
    let len = eap.len() as u16;
    eap[2..4].copy_from_slice(&len.to_be_bytes());
    eap
}

/// Starts a conversation: (State, identifier of the server's request).
fn start_conversation(client: &RawClient, radius_id: u8) -> (Vec<u8>, u8) {
    let reply = client
        .exchange(&eap_request(
            radius_id,
            &identity_response(1, "anonymous"),
            None,
        ))
        .expect("challenge");
    assert_eq!(reply[0], 11, "Access-Challenge");
    let state = wire::find_attribute(&reply, 24).expect("State").to_vec();
    let eap = wire::join_attribute(&reply, 79);
    assert_eq!(eap[0], 1, "EAP Request");
    assert_eq!(eap[4], 25, "PEAP proposed first");
    (state, eap[1])
}

#[test]
fn malformed_eap_is_dropped_or_rejected_and_counted() {
    let env = eap_env(&Db::Sqlite);
    let server = env.start();
    let client = RawClient::new(server.auth);

    // Length field that lies: dropped.
    assert!(client
        .exchange(&eap_request(1, &[2, 1, 0, 40, 1, b'x'], None))
        .is_none());
    assert!(client.exchange(&eap_request(2, &[2, 1], None)).is_none());
    // A method response without any conversation: rejected.
    let r = client
        .exchange(&eap_request(3, &[2, 1, 0, 6, 25, 0], None))
        .expect("reject");
    assert_eq!(r[0], 3);

    // Wrong identifier inside a conversation: dropped.
    let (state, id) = start_conversation(&client, 4);
    let bad_id = id.wrapping_add(7);
    assert!(client
        .exchange(&eap_request(5, &[2, bad_id, 0, 6, 25, 0], Some(&state)))
        .is_none());
    // Unexpected method (EAP-MD5 answer to a PEAP start): rejected with EAP-Failure.
    let r = client
        .exchange(&eap_request(6, &[2, id, 0, 6, 4, 0], Some(&state)))
        .expect("reject");
    assert_eq!(r[0], 3);
    assert_eq!(wire::join_attribute(&r, 79), vec![4, id, 0, 4]);
    // The same State again (replay after the end): rejected.
    let r = client
        .exchange(&eap_request(7, &[2, id, 0, 6, 25, 0], Some(&state)))
        .expect("reject");
    assert_eq!(r[0], 3);
    // A Nak asking only for EAP-MD5 (no keys): refused.
    let (state, id) = start_conversation(&client, 8);
    let r = client
        .exchange(&eap_request(9, &[2, id, 0, 6, 3, 4], Some(&state)))
        .expect("reject");
    assert_eq!(r[0], 3);
    // Garbage TLS inside PEAP: rejected, not a panic.
    let (state, id) = start_conversation(&client, 10);
    let mut junk = vec![2, id, 0, 0, 25, 0x80, 0xff, 0xff, 0xff, 0xff];
    junk.extend_from_slice(&[0x16; 40]);
    let len = junk.len() as u16;
    junk[2..4].copy_from_slice(&len.to_be_bytes());
    let r = client.exchange(&eap_request(11, &junk, Some(&state)));
    assert!(r.map(|r| r[0] == 3).unwrap_or(true));
    let (state, id) = start_conversation(&client, 12);
    let mut junk = vec![2, id, 0, 0, 25, 0];
    junk.extend_from_slice(b"\x16\x03\x01\x00\x05hello-not-tls");
    let len = junk.len() as u16;
    junk[2..4].copy_from_slice(&len.to_be_bytes());
    let r = client
        .exchange(&eap_request(13, &junk, Some(&state)))
        .expect("reply");
    assert_eq!(r[0], 3, "bad ClientHello rejected");
    // Random payloads: whatever happens, the server keeps answering.
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for i in 0..200u32 {
        let n = rng.gen_range(0..300);
        let mut eap: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
        if i % 2 == 0 && eap.len() >= 5 {
            eap[0] = 2;
            let len = eap.len() as u16;
            eap[2..4].copy_from_slice(&len.to_be_bytes());
        }
        let state = (i % 3 == 0).then_some(&state[..]);
        client.send(&eap_request((i % 250) as u8, &eap, state));
    }
    while client.recv().is_some() {}
    let (pap, _) = pap_request(99, "alice", PASSWORD, SECRET, &[]);
    assert_eq!(client.exchange(&pap).expect("still answering")[0], 2);

    assert!(server.metric("portico_eap_errors_total{kind=\"malformed\"}") >= 2.0);
    assert!(server.metric("portico_eap_errors_total{kind=\"wrong_identifier\"}") >= 1.0);
    assert!(server.metric("portico_eap_errors_total{kind=\"unknown_state\"}") >= 1.0);
    assert!(server.metric("portico_eap_errors_total{kind=\"unexpected\"}") >= 1.0);
}

#[test]
fn half_open_conversations_are_capped_per_nas() {
    let mut env = eap_env(&Db::Sqlite);
    env.set("PORTICO_EAP__MAX_CONVERSATIONS_PER_NAS", "5");
    let server = env.start();
    let client = RawClient::new(server.auth);
    for i in 0..5u8 {
        let r = client.exchange(&eap_request(i, &identity_response(1, "x"), None));
        assert_eq!(r.expect("challenge")[0], 11);
    }
    assert!(client
        .exchange(&eap_request(9, &identity_response(1, "x"), None))
        .is_none());
    assert!(server.metric("portico_eap_errors_total{kind=\"conversation_limit_nas\"}") >= 1.0);
    assert_eq!(server.metric("portico_eap_conversations"), 5.0);
}

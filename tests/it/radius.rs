//! RADIUS against real peers (radclient, radtest) and raw datagrams.

use crate::helpers::*;
use portico::radius::wire;

fn staff_env(db: &Db) -> TestEnv {
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
            "--filter-id",
            "staff-acl",
        ],
        None,
    );
    env.add_loopback_nas("ap-test", &[]);
    env.add_user("alice", "correct horse battery", &["staff"]);
    env
}

#[test]
fn radclient_pap_accept_reject_and_reply_policy() {
    if !have_tool("radclient") {
        return;
    }
    for db in backends() {
        let env = staff_env(&db);
        let server = env.start();
        let ok = radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = alice\nUser-Password = \"correct horse battery\"\nMessage-Authenticator = 0x00\nCalling-Station-Id = \"AA-BB-CC-00-11-22\"\n",
        );
        assert!(ok.got("Access-Accept"), "[{}] {}", db.name(), ok.output);
        assert!(
            ok.output.contains("Tunnel-Private-Group-Id"),
            "{}",
            ok.output
        );
        assert!(
            ok.output.contains("Session-Timeout = 28800"),
            "{}",
            ok.output
        );
        assert!(ok.output.contains("staff-acl"), "{}", ok.output);
        assert!(
            ok.output.contains("Message-Authenticator"),
            "reply must carry Message-Authenticator: {}",
            ok.output
        );

        let bad = radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = alice\nUser-Password = wrong\nMessage-Authenticator = 0x00\n",
        );
        assert!(bad.got("Access-Reject"), "{}", bad.output);
        let unknown = radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = mallory\nUser-Password = x\nMessage-Authenticator = 0x00\n",
        );
        assert!(unknown.got("Access-Reject"), "{}", unknown.output);

        // The second accept is served from the verified-credential cache.
        let again = radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = alice\nUser-Password = \"correct horse battery\"\nMessage-Authenticator = 0x00\n",
        );
        assert!(again.got("Access-Accept"), "{}", again.output);
        assert!(server.metric("portico_credential_cache_hits_total") >= 1.0);

        // Every result is in the authentication log, with reasons.
        server.wait_for("auth log rows", || {
            let csv = env.cli_ok(&["auth-log", "export", "--since", "2000-01-01"], None);
            csv.lines().count() >= 5
        });
        let csv = env.cli_ok(&["auth-log", "export", "--since", "2000-01-01"], None);
        assert!(
            csv.contains("alice") && csv.contains("wrong password") && csv.contains("unknown user"),
            "{csv}"
        );
        assert!(
            csv.contains("aa:bb:cc:00:11:22"),
            "MAC normalised in the log: {csv}"
        );
    }
}

#[test]
fn radtest_pap() {
    if !have_tool("radtest") {
        return;
    }
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let out = std::process::Command::new("radtest")
        .args(["-x", "alice", "correct horse battery"])
        .arg(server.auth.to_string())
        .args(["0", SECRET])
        .output()
        .expect("radtest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Received Access-Accept"), "{text}");
}

#[test]
fn missing_or_bad_message_authenticator_and_wrong_secret_are_dropped() {
    if !have_tool("radclient") {
        return;
    }
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let no_ma = radclient(
        server.auth,
        "auth",
        SECRET,
        "User-Name = alice\nUser-Password = \"correct horse battery\"\n",
    );
    assert!(
        !no_ma.got("Access-Accept") && !no_ma.got("Access-Reject"),
        "{}",
        no_ma.output
    );
    assert!(server.metric("portico_radius_dropped_total{listener=\"radius-auth\",reason=\"missing_message_authenticator\"}") >= 1.0);

    let wrong = radclient(
        server.auth,
        "auth",
        "not-the-secret",
        "User-Name = alice\nUser-Password = x\nMessage-Authenticator = 0x00\n",
    );
    assert!(!wrong.got("Access-"), "{}", wrong.output);
    assert!(server.metric("portico_radius_dropped_total{listener=\"radius-auth\",reason=\"bad_message_authenticator\"}") >= 1.0);

    let acct = radclient(
        server.acct,
        "acct",
        "not-the-secret",
        "Acct-Status-Type = Start\nAcct-Session-Id = x1\nUser-Name = alice\n",
    );
    assert!(!acct.got("Accounting-Response"), "{}", acct.output);
    assert!(
        server.metric(
            "portico_radius_dropped_total{listener=\"radius-acct\",reason=\"bad_authenticator\"}"
        ) >= 1.0
    );
}

#[test]
fn legacy_nas_may_omit_message_authenticator() {
    if !have_tool("radclient") {
        return;
    }
    let env = TestEnv::new(&Db::Sqlite);
    env.add_loopback_nas("old-ap", &["--legacy-no-message-authenticator"]);
    env.add_user("bob", "pw-of-bob", &[]);
    let server = env.start();
    let r = radclient(
        server.auth,
        "auth",
        SECRET,
        "User-Name = bob\nUser-Password = pw-of-bob\n",
    );
    assert!(r.got("Access-Accept"), "{}", r.output);
}

#[test]
fn chap_only_for_one_time_credentials() {
    if !have_tool("radclient") {
        return;
    }
    for db in backends() {
        let env = staff_env(&db);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = env.open_store().await;
            store
                .one_time()
                .create(&portico::store::one_time::OneTimeCredential {
                    username: "ot-7f3a".into(),
                    secret: "9b1c77e2".into(),
                    identity: "visitor:13800000000".into(),
                    expires_at: portico::clock::now_ms() + 600_000,
                    uses_left: 1,
                    mac: None,
                    nas_name: None,
                })
                .await
                .unwrap();
        });
        let server = env.start();
        let first = radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = ot-7f3a\nCHAP-Password = 9b1c77e2\nMessage-Authenticator = 0x00\n",
        );
        assert!(
            first.got("Access-Accept"),
            "[{}] {}",
            db.name(),
            first.output
        );
        let replay = radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = ot-7f3a\nCHAP-Password = 9b1c77e2\nMessage-Authenticator = 0x00\n",
        );
        assert!(
            replay.got("Access-Reject"),
            "one-time means once: {}",
            replay.output
        );
        let staff = radclient(server.auth, "auth", SECRET, "User-Name = alice\nCHAP-Password = \"correct horse battery\"\nMessage-Authenticator = 0x00\n");
        assert!(staff.got("Access-Reject"), "{}", staff.output);
        server.wait_for("CHAP refusal in the log", || {
            server.log().contains("CHAP refused for a staff account")
        });
    }
}

#[test]
fn accounting_start_interim_stop_stored() {
    if !have_tool("radclient") {
        return;
    }
    for db in backends() {
        let env = staff_env(&db);
        let server = env.start();
        let base = "Acct-Session-Id = \"S-100\"\nUser-Name = alice\nNAS-IP-Address = 127.0.0.1\nCalling-Station-Id = \"aa-bb-cc-dd-ee-01\"\nCalled-Station-Id = \"00-11-22-33-44-55:Staff\"\nFramed-IP-Address = 10.20.0.5\n";
        let start = radclient(
            server.acct,
            "acct",
            SECRET,
            &format!("Acct-Status-Type = Start\n{base}"),
        );
        assert!(
            start.got("Accounting-Response"),
            "[{}] {}",
            db.name(),
            start.output
        );
        let interim = radclient(
            server.acct,
            "acct",
            SECRET,
            &format!("Acct-Status-Type = Interim-Update\n{base}Acct-Input-Octets = 1000\nAcct-Input-Gigawords = 1\nAcct-Output-Octets = 2000\nAcct-Session-Time = 60\n"),
        );
        assert!(interim.got("Accounting-Response"), "{}", interim.output);
        let listed = env.cli_ok(&["session", "list", "--open", "--json"], None);
        let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(v[0]["session_id"], "S-100", "{listed}");
        assert_eq!(v[0]["input_octets"], (1i64 << 32) + 1000, "{listed}");
        assert_eq!(v[0]["mac"], "aa:bb:cc:dd:ee:01");
        let stop = radclient(
            server.acct,
            "acct",
            SECRET,
            &format!("Acct-Status-Type = Stop\n{base}Acct-Input-Octets = 5000\nAcct-Output-Octets = 6000\nAcct-Session-Time = 120\nAcct-Terminate-Cause = User-Request\n"),
        );
        assert!(stop.got("Accounting-Response"), "{}", stop.output);
        let open = env.cli_ok(&["session", "list", "--open", "--json"], None);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&open)
                .unwrap()
                .as_array()
                .map(Vec::len),
            Some(0),
            "{open}"
        );
        let csv = env.cli_ok(&["session", "export", "--since", "2000-01-01"], None);
        assert!(
            csv.contains("S-100") && csv.contains("User-Request") && csv.contains("10.20.0.5"),
            "{csv}"
        );
    }
}

#[test]
fn retransmission_gets_cached_reply_without_second_authentication() {
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let client = RawClient::new(server.auth);
    let (req, _) = pap_request(42, "alice", "correct horse battery", SECRET, &[]);
    let first = client.exchange(&req).expect("reply");
    let second = client.exchange(&req).expect("replayed reply");
    assert_eq!(first, second);
    assert_eq!(first[0], 2, "Access-Accept");
    assert_eq!(
        server.metric("portico_radius_duplicates_total{listener=\"radius-auth\"}"),
        1.0
    );
    assert_eq!(
        server.metric("portico_auth_results_total{method=\"pap\",outcome=\"accept\"}"),
        1.0,
        "authenticated once"
    );
}

#[test]
fn malformed_datagrams_are_counted_and_the_server_keeps_answering() {
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let client = RawClient::new(server.auth);
    let (good, _) = pap_request(1, "alice", "correct horse battery", SECRET, &[]);
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![1],
        good[..19].to_vec(),
        {
            // Length field larger than the datagram.
            let mut p = good.clone();
            p[2..4].copy_from_slice(&((good.len() + 10) as u16).to_be_bytes());
            p
        },
        {
            // Length field smaller than the header.
            let mut p = good.clone();
            p[2..4].copy_from_slice(&10u16.to_be_bytes());
            p
        },
        {
            // Attribute length 0.
            let mut p = good.clone();
            p[21] = 0;
            p
        },
        {
            // Attribute length 1.
            let mut p = good.clone();
            p[21] = 1;
            p
        },
        vec![0u8; 5000],
        {
            // Unknown code.
            let mut p = good.clone();
            p[0] = 77;
            p
        },
    ];
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 300) as usize;
        let mut p: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
        if len > 4 {
            p[0] = 1;
        }
        cases.push(p);
    }
    for c in &cases {
        client.send(c);
    }
    // Drain anything (there should be nothing) and check a valid request still works.
    while client.recv().is_some() {}
    let reply = client.exchange(&good).expect("server still answers");
    assert_eq!(reply[0], 2);
    let total: f64 = [
        "malformed",
        "oversize",
        "unexpected_code",
        "bad_message_authenticator",
        "missing_message_authenticator",
    ]
    .iter()
    .map(|r| {
        server.metric(&format!(
            "portico_radius_dropped_total{{listener=\"radius-auth\",reason=\"{r}\"}}"
        ))
    })
    .sum();
    assert!(
        total >= cases.len() as f64 - 1.0,
        "dropped {total} of {}",
        cases.len()
    );
}

#[test]
fn unknown_nas_is_dropped_and_counted() {
    let env = TestEnv::new(&Db::Sqlite);
    env.cli_ok(
        &[
            "nas",
            "add",
            "elsewhere",
            "--address",
            "127.0.0.2/32",
            "--secret-stdin",
        ],
        Some("abcdefgh12\n"),
    );
    let server = env.start();
    let client = RawClient::new(server.auth);
    let (req, _) = pap_request(3, "x", "y", SECRET, &[]);
    assert!(client.exchange(&req).is_none());
    assert_eq!(
        server.metric(
            "portico_radius_dropped_total{listener=\"radius-auth\",reason=\"unknown_nas\"}"
        ),
        1.0
    );
    assert!(server.log().contains("no configured NAS"));
}

#[test]
fn status_server_and_http_endpoints() {
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let client = RawClient::new(server.auth);
    let auth = wire::random_authenticator();
    let status = wire::encode_request(12, 9, &auth, &[], SECRET.as_bytes()).unwrap();
    let reply = client.exchange(&status).expect("status reply");
    assert_eq!(reply[0], 2);
    wire::verify_reply(&reply, &auth, SECRET.as_bytes()).unwrap();
    assert_eq!(
        reply[20],
        wire::ATTR_MESSAGE_AUTHENTICATOR,
        "Message-Authenticator first"
    );
    for get in [TestServer::http_get, TestServer::admin_get] {
        assert_eq!(get(&server, "/healthz").0, 200);
        assert_eq!(get(&server, "/readyz").0, 200);
    }
    // Metrics are for admins: the management listener only.
    assert_eq!(server.http_get("/metrics").0, 404);
    let (code, metrics) = server.admin_get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("portico_radius_requests_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("portico_radius_request_duration_seconds"),
        "{metrics}"
    );
}

#[test]
fn changes_from_the_cli_reach_a_running_server() {
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let client = RawClient::new(server.auth);
    env.add_user("carol", "carols-password", &[]);
    let mut id = 0u8;
    server.wait_for("carol accepted", || {
        id = id.wrapping_add(1);
        let (req, _) = pap_request(id, "carol", "carols-password", SECRET, &[]);
        client.exchange(&req).is_some_and(|r| r[0] == 2)
    });
    env.cli_ok(&["user", "disable", "carol"], None);
    server.wait_for("carol rejected", || {
        id = id.wrapping_add(1);
        let (req, _) = pap_request(id, "carol", "carols-password", SECRET, &[]);
        client.exchange(&req).is_some_and(|r| r[0] == 3)
    });
}

#[test]
fn mac_authentication_for_registered_devices_and_portal_authorizations() {
    let env = staff_env(&Db::Sqlite);
    env.cli_ok(
        &[
            "device",
            "add",
            "AA:BB:CC:00:00:01",
            "--owner",
            "printer-3f",
            "--group",
            "staff",
        ],
        None,
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = env.open_store().await;
        let mac = portico::domain::MacAddr::parse("aa:bb:cc:00:00:02").unwrap();
        store
            .authorizations()
            .grant(
                mac,
                "visitor:13800000000",
                "sms",
                &[],
                portico::clock::now_ms() + 3_600_000,
            )
            .await
            .unwrap();
    });
    let server = env.start();
    let client = RawClient::new(server.auth);
    for (i, (mac, expect)) in [
        ("aabbcc000001", 2u8),
        ("AA-BB-CC-00-00-02", 2),
        ("aabbcc000003", 3),
    ]
    .iter()
    .enumerate()
    {
        let (req, _) = pap_request(i as u8, mac, mac, SECRET, &[(31, mac.as_bytes())]);
        let reply = client.exchange(&req).expect("reply");
        assert_eq!(reply[0], *expect, "{mac}");
        if *mac == "AA-BB-CC-00-00-02" {
            // Session-Timeout is the authorization's time left.
            let st = wire::find_attribute(wire::check_structure(&reply).unwrap(), 27)
                .expect("Session-Timeout");
            let secs = u32::from_be_bytes(st.try_into().unwrap());
            assert!((3500..=3600).contains(&secs), "{secs}");
        }
    }
}

#[test]
fn mschapv2_accept_with_mppe_keys() {
    use portico::radius::mschap;
    let env = staff_env(&Db::Sqlite);
    let server = env.start();
    let client = RawClient::new(server.auth);
    let auth_challenge = [7u8; 16];
    let peer_challenge = [9u8; 16];
    let nt_hash = mschap::nt_password_hash("correct horse battery");
    let nt_response =
        mschap::generate_nt_response(&auth_challenge, &peer_challenge, b"alice", &nt_hash);
    let mut resp = vec![1u8, 0];
    resp.extend_from_slice(&peer_challenge);
    resp.extend_from_slice(&[0u8; 8]);
    resp.extend_from_slice(&nt_response);
    let mut attrs = Vec::new();
    wire::push_attribute(&mut attrs, 1, b"alice").unwrap();
    wire::push_vendor_attribute(&mut attrs, 311, 11, &auth_challenge).unwrap();
    wire::push_vendor_attribute(&mut attrs, 311, 25, &resp).unwrap();
    let req_auth = wire::random_authenticator();
    let req = wire::encode_request(1, 5, &req_auth, &attrs, SECRET.as_bytes()).unwrap();
    let reply = client.exchange(&req).expect("reply");
    assert_eq!(reply[0], 2, "Access-Accept");
    let packet = wire::check_structure(&reply).unwrap();
    let vsas: Vec<(u32, u8, Vec<u8>)> = wire::vendor_attributes(packet)
        .map(|(v, t, d)| (v, t, d.to_vec()))
        .collect();
    let success = vsas
        .iter()
        .find(|(v, t, _)| *v == 311 && *t == 26)
        .expect("MS-CHAP2-Success");
    let expected = mschap::authenticator_response(
        &nt_hash,
        &nt_response,
        &peer_challenge,
        &auth_challenge,
        b"alice",
    );
    assert_eq!(&success.2[1..], expected.as_bytes());
    let send = vsas
        .iter()
        .find(|(v, t, _)| *v == 311 && *t == 16)
        .expect("MS-MPPE-Send-Key");
    let key = wire::salt_decrypt(&send.2, SECRET.as_bytes(), &req_auth).unwrap();
    let (expected_send, _) = mschap::mppe_keys(&nt_hash, &nt_response);
    assert_eq!(&key[..16], &expected_send);

    // Wrong password: reject.
    let bad_nt = mschap::generate_nt_response(
        &auth_challenge,
        &peer_challenge,
        b"alice",
        &mschap::nt_password_hash("nope"),
    );
    resp[26..].copy_from_slice(&bad_nt);
    let mut attrs = Vec::new();
    wire::push_attribute(&mut attrs, 1, b"alice").unwrap();
    wire::push_vendor_attribute(&mut attrs, 311, 11, &auth_challenge).unwrap();
    wire::push_vendor_attribute(&mut attrs, 311, 25, &resp).unwrap();
    let req = wire::encode_request(
        1,
        6,
        &wire::random_authenticator(),
        &attrs,
        SECRET.as_bytes(),
    )
    .unwrap();
    assert_eq!(client.exchange(&req).expect("reply")[0], 3);
}

#[test]
fn disconnect_session_through_coa() {
    for db in backends() {
        let env = TestEnv::new(&db);
        // The fake NAS's CoA port.
        let nas_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let coa_port = nas_sock.local_addr().unwrap().port().to_string();
        env.add_loopback_nas("ap-coa", &["--coa-port", &coa_port]);
        let server = env.start();
        let client = RawClient::new(server.acct);
        let start = acct_request(1, 1, "S-coa-1", "dave", SECRET, &[]);
        assert!(client.exchange(&start).is_some());
        let responder = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            nas_sock
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let (n, peer) = nas_sock.recv_from(&mut buf).expect("Disconnect-Request");
            let req = buf[..n].to_vec();
            assert_eq!(req[0], 40, "Disconnect-Request");
            assert!(wire::verify_accounting_request_authenticator(
                &req,
                SECRET.as_bytes()
            ));
            let p = wire::check_structure(&req).unwrap();
            assert_eq!(wire::find_attribute(p, 44), Some(&b"S-coa-1"[..]));
            let mut ra = [0u8; 16];
            ra.copy_from_slice(&req[4..20]);
            let reply = wire::encode_reply(41, req[1], &ra, &[], SECRET.as_bytes()).unwrap();
            nas_sock.send_to(&reply, peer).unwrap();
        });
        let out = env.cli_ok(&["session", "disconnect", "S-coa-1"], None);
        assert!(
            out.contains("acknowledged by ap-coa"),
            "[{}] {out}",
            db.name()
        );
        responder.join().unwrap();
    }
}

#[test]
fn ipv6_listener_and_vendor_attributes_from_the_nas_profile() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipping: no IPv6 loopback on this machine");
        return;
    }
    let mut env = TestEnv::new(&Db::Sqlite);
    env.set("PORTICO_RADIUS__AUTH_LISTEN", "[::1]:0");
    env.cli_ok(
        &[
            "group",
            "set",
            "aruba-staff",
            "--vlan",
            "30",
            "--reply",
            "Aruba-User-Role=staff",
        ],
        None,
    );
    env.cli_ok(
        &[
            "nas",
            "add",
            "aruba-ctl",
            "--address",
            "::1/128",
            "--profile",
            "aruba",
            "--secret-stdin",
        ],
        Some(&format!("{SECRET}\n")),
    );
    env.add_user("erin", "erins-password", &["aruba-staff"]);
    let server = env.start();
    assert!(server.auth.is_ipv6(), "{}", server.auth);
    let socket = std::net::UdpSocket::bind("[::1]:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .unwrap();
    let (req, _) = pap_request(11, "erin", "erins-password", SECRET, &[]);
    socket.send_to(&req, server.auth).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = socket.recv_from(&mut buf).expect("reply over IPv6");
    let reply = wire::check_structure(&buf[..n]).unwrap();
    assert_eq!(reply[0], 2);
    let role = wire::vendor_attributes(reply).find(|(v, t, _)| *v == 14823 && *t == 1);
    assert_eq!(
        role.map(|(_, _, v)| v),
        Some(&b"staff"[..]),
        "Aruba-User-Role from the NAS's profile"
    );
    assert_eq!(wire::find_attribute(reply, 81), Some(&b"30"[..]));
}

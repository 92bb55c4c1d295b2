//! The dictionary parser and encoder against hand-written files.

use super::*;
use std::fs;

const SMALL: &str = "\
# a comment line
ATTRIBUTE  User-Name   1  string
ATTRIBUTE  Tunnel-Type 64 integer has_tag
ATTRIBUTE  Tunnel-Private-Group-Id 81 string has_tag   # trailing comment
ATTRIBUTE  Old-Name 99 integer
ATTRIBUTE  New-Name 99 integer
VALUE      Tunnel-Type VLAN 13
VALUE      Later-Attr  Yes  0x10
ATTRIBUTE  Later-Attr 100 short
ATTRIBUTE  Frag-Status 241.1 integer
ATTRIBUTE  Odd 102 float32
VENDOR     Acme 4242
VENDOR     Wide 4243 format=2,1
BEGIN-VENDOR Acme
ATTRIBUTE  Acme-Role 1 string
ATTRIBUTE  Acme-Box 2 tlv
BEGIN-TLV  Acme-Box
ATTRIBUTE  Acme-Box-Inner 1 byte
END-TLV    Acme-Box
ATTRIBUTE  Acme-Secret 3 octets encrypt=2
ATTRIBUTE  Acme-Mac 4 ether
END-VENDOR Acme
BEGIN-VENDOR Wide
ATTRIBUTE  Wide-Thing 300 integer
END-VENDOR Wide
PROTOCOL   DHCPv4 3
BEGIN-PROTOCOL DHCPv4
ATTRIBUTE  Subnet-Mask 1 ipaddr
END-PROTOCOL DHCPv4
";

fn small() -> Dictionary {
    Dictionary::parse_str(SMALL, "small").expect("small dictionary parses")
}

#[test]
fn parses_inline_dictionary() {
    let d = small();
    let un = d.attribute("user-name").unwrap();
    assert_eq!((un.vendor_id, un.code, un.typ), (0, 1, AttrType::String));
    assert!(d.attribute("Tunnel-Private-Group-Id").unwrap().has_tag);
    assert_eq!(d.value_number("tunnel-type", "vlan"), Some(13));
    assert_eq!(d.value_name("Tunnel-Type", 13), Some("VLAN"));
    // VALUE given before its ATTRIBUTE, hex number.
    assert_eq!(d.value_number("Later-Attr", "yes"), Some(16));
    // Two names for one number: both found by name, the last by number.
    assert_eq!(d.attribute("Old-Name").unwrap().code, 99);
    assert_eq!(d.attribute_by_code(0, 99).unwrap().name, "New-Name");
    assert_eq!(d.vendor_id("ACME"), Some(4242));
    let role = d.attribute("Acme-Role").unwrap();
    assert_eq!(
        (role.vendor_id, role.code, role.oid.as_deref()),
        (4242, 1, None)
    );
    assert_eq!(d.attribute_by_code(4242, 1).unwrap().name, "Acme-Role");
    assert_eq!(d.attribute("Acme-Secret").unwrap().encrypt, 2);
    assert_eq!(d.attribute("Wide-Thing").unwrap().code, 300);
    assert_eq!(d.vendor(4243).unwrap().type_len, 2);
    // Extended and TLV children keep their OID and are not classic codes.
    let frag = d.attribute("Frag-Status").unwrap();
    assert_eq!(frag.oid.as_deref(), Some("241.1"));
    let inner = d.attribute("Acme-Box-Inner").unwrap();
    assert_eq!(
        (inner.vendor_id, inner.oid.as_deref()),
        (4242, Some("26.4242.2.1"))
    );
    assert_eq!(d.attribute_by_code(4242, 1).unwrap().name, "Acme-Role");
    // Unknown types are kept.
    let odd = d.attribute("odd").unwrap();
    assert_eq!(
        (odd.typ, odd.type_name.as_str()),
        (AttrType::Other, "float32")
    );
    // DHCP attributes are not RADIUS attributes.
    assert!(d.attribute("Subnet-Mask").is_none());
    assert_eq!(d.skipped_lines(), 3);
    assert_eq!(d.len(), 14);
    assert!(!d.is_empty());
}

fn syntax_err(text: &str) -> (usize, String) {
    match Dictionary::parse_str(text, "bad.dict") {
        Err(e @ DictionaryError::Syntax { line, .. }) => (line, e.to_string()),
        other => panic!("expected a syntax error for {text:?}, got {other:?}"),
    }
}

#[test]
fn malformed_lines_name_file_line_and_reason() {
    let cases: &[(&str, usize, &str)] = &[
        ("ATTRIBUTE Foo 1", 1, "needs a name, a number and a type"),
        (
            "\nATTRIBUTE Foo x1 string",
            2,
            "bad attribute number \"x1\"",
        ),
        ("ATTRIBUTE Foo 1.x string", 1, "bad attribute number"),
        (
            "ATTRIBUTE Foo 99999999999 string",
            1,
            "bad attribute number",
        ),
        ("ATTRIBUTE Foo 1 string bogus", 1, "unknown flag \"bogus\""),
        ("ATTRIBUTE Foo 1 string encrypt=9", 1, "unknown encryption"),
        ("ATTRIBUTE Foo 1 string has_tag extra", 1, "unexpected"),
        ("FROB Foo 1 string", 1, "unknown keyword \"FROB\""),
        (
            "VENDOR Acme 9\n\nEND-VENDOR Acme",
            3,
            "END-VENDOR Acme without BEGIN-VENDOR",
        ),
        ("BEGIN-VENDOR Nope", 1, "unknown vendor"),
        (
            "VENDOR Acme 9\nBEGIN-VENDOR Acme\nATTRIBUTE A 1 string",
            2,
            "not closed",
        ),
        (
            "VENDOR A 9\nVENDOR B 8\nBEGIN-VENDOR A\nEND-VENDOR B",
            4,
            "does not close the open BEGIN-VENDOR A",
        ),
        ("VENDOR Acme", 1, "VENDOR needs a name and a number"),
        ("VENDOR Acme 12x", 1, "bad vendor number"),
        ("VENDOR Acme 0", 1, "standard space"),
        ("VENDOR Acme 9 format=3,1", 1, "bad format"),
        (
            "VENDOR Acme 9\nVENDOR Acme 10",
            2,
            "already defined with number 9",
        ),
        (
            "VENDOR Acme 9\nBEGIN-VENDOR Acme\nATTRIBUTE A 256 string\nEND-VENDOR Acme",
            3,
            "does not fit",
        ),
        (
            "VALUE Foo Bar",
            1,
            "VALUE needs an attribute, a name and a number",
        ),
        ("VALUE Foo Bar -1", 1, "bad number"),
        (
            "ATTRIBUTE A 1 string\nATTRIBUTE A 2 string",
            2,
            "already defined",
        ),
        ("ATTRIBUTE A 1 string\nBEGIN-TLV A", 2, "not tlv"),
        ("BEGIN-TLV Nothing", 1, "unknown attribute"),
        ("END-TLV Nothing", 1, "without BEGIN-TLV"),
        ("$INCLUDE other", 1, "$INCLUDE is not allowed"),
        ("$INCLUDE", 1, "needs a file name"),
    ];
    for (text, line, reason) in cases {
        let (got_line, msg) = syntax_err(text);
        assert_eq!(got_line, *line, "{text:?}: {msg}");
        assert!(
            msg.starts_with(&format!("bad.dict:{line}: ")),
            "{text:?}: {msg}"
        );
        assert!(msg.contains(reason), "{text:?}: {msg}");
    }
}

#[test]
fn garbage_never_panics() {
    let junk = [
        "",
        "#",
        "ATTRIBUTE",
        "VALUE",
        "VENDOR",
        "BEGIN-VENDOR",
        "END",
        "BEGIN",
        "$INCLUDE-",
        "ATTRIBUTE . . .",
        "ATTRIBUTE a .. string",
        "ATTRIBUTE a 1. string",
        "ATTRIBUTE a 0x string",
        "VENDOR a 1 format=",
        "VENDOR a 1 format=1,1,c,d",
        "VENDOR a 1 format=,",
        "BEGIN-PROTOCOL",
        "\u{0}\u{ff}",
        "ATTRIBUTE ü 1 string ,,,",
        "END-PROTOCOL x",
        "VALUE a b 0x",
    ];
    for a in junk {
        for b in junk {
            let _ = Dictionary::parse_str(&format!("{a}\n{b}\n"), "junk");
        }
    }
}

#[test]
fn identical_repeats_are_accepted() {
    let d = Dictionary::parse_str(
        "ATTRIBUTE A 1 string\nATTRIBUTE A 1 string\nVENDOR V 9\nVENDOR V 9",
        "r",
    )
    .unwrap();
    assert_eq!(d.len(), 1);
}

#[test]
fn evs_vendor_attributes_are_not_classic() {
    let d = Dictionary::parse_str(
        "VENDOR FreeRADIUS 11344\nBEGIN-VENDOR FreeRADIUS\nATTRIBUTE FR-A 1 string\nEND-VENDOR FreeRADIUS\n\
         BEGIN-VENDOR FreeRADIUS format=Extended-Vendor-Specific-5\nATTRIBUTE FR-E 1 octets\nEND-VENDOR FreeRADIUS",
        "evs",
    )
    .unwrap();
    assert_eq!(
        d.attribute("FR-E").unwrap().oid.as_deref(),
        Some("245.26.11344.1")
    );
    assert_eq!(d.attribute_by_code(11344, 1).unwrap().name, "FR-A");
}

#[test]
fn merge_lets_the_newer_definition_win() {
    let mut a = Dictionary::parse_str(
        "ATTRIBUTE X 1 string\nATTRIBUTE Y 2 string\nVALUE Y one 1",
        "a",
    )
    .unwrap();
    let b = Dictionary::parse_str("ATTRIBUTE X 3 integer\nVALUE X big 7\nVENDOR V 9", "b").unwrap();
    a.merge(b);
    let x = a.attribute("x").unwrap();
    assert_eq!((x.code, x.typ), (3, AttrType::Integer));
    assert!(a.attribute_by_code(0, 1).is_none());
    assert_eq!(a.attribute_by_code(0, 3).unwrap().name, "X");
    assert_eq!(a.value_number("X", "BIG"), Some(7));
    assert_eq!(a.value_number("Y", "one"), Some(1));
    assert_eq!(a.vendor_id("v"), Some(9));
    assert_eq!(a.len(), 2);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn includes_resolve_next_to_the_including_file() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("sub")).unwrap();
    let top = write(
        tmp.path(),
        "dictionary",
        "$INCLUDE sub/dictionary.a\n$INCLUDE- dictionary.missing\n",
    );
    write(
        &tmp.path().join("sub"),
        "dictionary.a",
        "$INCLUDE dictionary.b\nATTRIBUTE A 1 string\n",
    );
    // Latin-1 in a comment must not stop the load.
    fs::write(
        tmp.path().join("sub/dictionary.b"),
        b"# caf\xe9\nATTRIBUTE B 2 integer\n",
    )
    .unwrap();
    let d = Dictionary::load_file(&top).unwrap();
    assert!(d.attribute("A").is_some() && d.attribute("B").is_some());
}

#[test]
fn missing_include_names_the_including_line() {
    let tmp = tempfile::tempdir().unwrap();
    let top = write(tmp.path(), "dictionary", "# x\n$INCLUDE nope\n");
    let e = Dictionary::load_file(&top).unwrap_err();
    assert!(
        matches!(e, DictionaryError::Include { line: 2, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("dictionary:2: cannot read included file"),
        "{e}"
    );
    let e = Dictionary::load_file(&tmp.path().join("absent")).unwrap_err();
    assert!(matches!(e, DictionaryError::Io { .. }), "{e:?}");
}

#[test]
fn include_cycles_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "a", "ATTRIBUTE A 1 string\n$INCLUDE b\n");
    write(tmp.path(), "b", "\n\n$INCLUDE ./a\n");
    let e = Dictionary::load_file(&a).unwrap_err();
    assert!(
        matches!(e, DictionaryError::IncludeCycle { line: 3, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("b:3:"), "{e}");
    let own = write(tmp.path(), "self", "$INCLUDE self\n");
    assert!(matches!(
        Dictionary::load_file(&own),
        Err(DictionaryError::IncludeCycle { line: 1, .. })
    ));
}

#[test]
fn include_depth_is_limited() {
    let tmp = tempfile::tempdir().unwrap();
    // f0 includes f1 ... f(n-1); the last file defines one attribute.
    let chain = |n: usize| {
        for i in 0..n {
            let text = if i + 1 < n {
                format!("$INCLUDE f{}\n", i + 1)
            } else {
                "ATTRIBUTE A 1 string\n".into()
            };
            write(tmp.path(), &format!("f{i}"), &text);
        }
        Dictionary::load_file(&tmp.path().join("f0"))
    };
    assert!(chain(MAX_INCLUDE_DEPTH + 1).is_ok());
    let e = chain(MAX_INCLUDE_DEPTH + 2).unwrap_err();
    assert!(matches!(e, DictionaryError::IncludeDepth { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("f{MAX_INCLUDE_DEPTH}:1: $INCLUDE nested")),
        "{e}"
    );
}

#[test]
fn block_opened_in_an_include_must_close_there() {
    let tmp = tempfile::tempdir().unwrap();
    let top = write(
        tmp.path(),
        "top",
        "VENDOR V 9\n$INCLUDE inc\nEND-VENDOR V\n",
    );
    write(tmp.path(), "inc", "BEGIN-VENDOR V\n");
    let e = Dictionary::load_file(&top).unwrap_err();
    assert!(
        e.to_string()
            .contains("inc:1: BEGIN-VENDOR V is not closed"),
        "{e}"
    );
}

fn enc(d: &Dictionary, name: &str, text: &str) -> Result<Vec<u8>, ValueError> {
    encode_value(d, d.attribute(name).unwrap(), text)
}

#[test]
fn encodes_each_type() {
    let d = Dictionary::parse_str(
        "ATTRIBUTE S 1 string\nATTRIBUTE O 2 octets\nATTRIBUTE I4 3 ipaddr\nATTRIBUTE I6 4 ipv6addr\n\
         ATTRIBUTE N 5 integer\nVALUE N Five 5\nATTRIBUTE H 6 short\nATTRIBUTE B 7 byte\nATTRIBUTE D 8 date\n\
         ATTRIBUTE L 9 integer64\nATTRIBUTE E 10 ether\nATTRIBUTE G 11 signed\nATTRIBUTE P6 12 ipv6prefix\n\
         ATTRIBUTE P4 13 ipv4prefix\nATTRIBUTE C 14 combo-ip\nATTRIBUTE F 15 ifid\nATTRIBUTE T 16 tlv\n\
         ATTRIBUTE TI 17 integer has_tag\nVALUE TI VLAN 13\nATTRIBUTE TS 18 string has_tag\nATTRIBUTE V 19 string virtual",
        "types",
    )
    .unwrap();
    assert_eq!(enc(&d, "S", "staff").unwrap(), b"staff");
    assert_eq!(enc(&d, "O", "0x00ff").unwrap(), [0, 0xff]);
    assert_eq!(enc(&d, "O", "raw").unwrap(), b"raw");
    assert!(enc(&d, "O", "0xzz").is_err());
    assert_eq!(enc(&d, "I4", "192.0.2.1").unwrap(), [192, 0, 2, 1]);
    assert!(enc(&d, "I4", "300.0.0.1").is_err());
    assert_eq!(enc(&d, "I6", "::1").unwrap()[15], 1);
    assert_eq!(enc(&d, "N", "258").unwrap(), [0, 0, 1, 2]);
    assert_eq!(enc(&d, "N", "0x10").unwrap(), [0, 0, 0, 16]);
    assert_eq!(enc(&d, "N", "five").unwrap(), [0, 0, 0, 5]);
    assert!(enc(&d, "N", "4294967296").is_err());
    assert!(enc(&d, "N", "six")
        .unwrap_err()
        .to_string()
        .starts_with("attribute N: "));
    assert_eq!(enc(&d, "H", "65535").unwrap(), [0xff, 0xff]);
    assert!(enc(&d, "H", "65536").is_err());
    assert_eq!(enc(&d, "B", "7").unwrap(), [7]);
    assert_eq!(enc(&d, "D", "16909060").unwrap(), [1, 2, 3, 4]);
    assert_eq!(enc(&d, "D", "1970-01-01T00:01:00Z").unwrap(), [0, 0, 0, 60]);
    assert!(enc(&d, "D", "-1").is_err());
    assert_eq!(enc(&d, "L", "1").unwrap(), [0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(
        enc(&d, "E", "AABB.CCDD.EEFF").unwrap(),
        [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
    );
    assert!(enc(&d, "E", "aa:bb").is_err());
    assert_eq!(enc(&d, "G", "-2").unwrap(), [0xff, 0xff, 0xff, 0xfe]);
    let p6 = enc(&d, "P6", "2001:db8::/32").unwrap();
    assert_eq!(p6.get(..6).unwrap(), [0, 32, 0x20, 0x01, 0x0d, 0xb8]);
    assert_eq!(p6.len(), 18);
    assert!(enc(&d, "P6", "2001:db8::1/32").is_err());
    assert_eq!(enc(&d, "P4", "10.1.0.0/16").unwrap(), [0, 16, 10, 1, 0, 0]);
    assert_eq!(enc(&d, "C", "10.0.0.1").unwrap(), [10, 0, 0, 1]);
    assert_eq!(enc(&d, "F", "0:0:0:1").unwrap(), [0, 0, 0, 0, 0, 0, 0, 1]);
    assert!(enc(&d, "T", "x").is_err());
    // Tags: integer keeps the tag in the first byte, strings prefix it.
    assert_eq!(enc(&d, "TI", "VLAN").unwrap(), [0, 0, 0, 13]);
    assert_eq!(enc(&d, "TI", "1:VLAN").unwrap(), [1, 0, 0, 13]);
    assert!(enc(&d, "TI", "16777216").is_err());
    assert_eq!(enc(&d, "TS", "100").unwrap(), b"100");
    assert_eq!(enc(&d, "TS", "2:100").unwrap(), b"\x02100");
    assert_eq!(enc(&d, "TS", "0:12:30").unwrap(), b"12:30");
    assert_eq!(enc(&d, "TS", "staff:x").unwrap(), b"staff:x");
    assert!(enc(&d, "V", "x").is_err());
    assert!(enc(&d, "S", &"x".repeat(254)).is_err());
    assert!(enc(&d, "S", &"x".repeat(253)).is_ok());
}

#[test]
fn standard_dictionary_parses() {
    let d = standard();
    assert!(d.len() >= 90, "{}", d.len());
    assert_eq!(d.attribute("Session-Timeout").unwrap().code, 27);
    assert_eq!(d.value_number("Tunnel-Type", "VLAN"), Some(13));
    assert_eq!(d.attribute("MS-MPPE-Send-Key").unwrap().vendor_id, 311);
}

const SYSTEM: &str = "/usr/share/freeradius/dictionary";

/// The system dictionary, or `None` with a printed reason (a failure under CI).
fn system() -> Option<Dictionary> {
    if !Path::new(SYSTEM).exists() {
        let why = format!("{SYSTEM} not found (install freeradius-common)");
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipping: {why}");
        return None;
    }
    Some(Dictionary::load_file(Path::new(SYSTEM)).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn loads_the_system_dictionary() {
    let Some(d) = system() else { return };
    eprintln!("{d:?}");
    let avpair = d.attribute("Cisco-AVPair").unwrap();
    assert_eq!(
        (avpair.vendor_id, avpair.code, avpair.typ),
        (9, 1, AttrType::String)
    );
    let key = d.attribute("MS-MPPE-Send-Key").unwrap();
    assert_eq!((key.vendor_id, key.code, key.encrypt), (311, 16, 2));
    let tpg = d.attribute("Tunnel-Private-Group-Id").unwrap();
    assert_eq!((tpg.vendor_id, tpg.code, tpg.has_tag), (0, 81, true));
    assert_eq!(
        d.attribute_by_code(14823, 1).unwrap().name,
        "Aruba-User-Role"
    );
    assert_eq!(d.vendor_id("Aruba"), Some(14823));
    assert_eq!(d.value_number("Tunnel-Type", "VLAN"), Some(13));
    assert_eq!(d.attribute_by_code(0, 1).unwrap().name, "User-Name");
    assert!(d.len() > 5000);
}

#[test]
fn standard_dictionary_agrees_with_the_system_one() {
    let Some(sys) = system() else { return };
    for ours in standard().attributes() {
        let theirs = sys
            .attribute(&ours.name)
            .unwrap_or_else(|| panic!("{} missing in {SYSTEM}", ours.name));
        assert_eq!(
            (
                ours.vendor_id,
                ours.code,
                &ours.type_name,
                ours.has_tag,
                ours.encrypt
            ),
            (
                theirs.vendor_id,
                theirs.code,
                &theirs.type_name,
                theirs.has_tag,
                theirs.encrypt
            ),
            "{}",
            ours.name
        );
        if let Some(table) = standard().values.get(&ours.key()) {
            for (name, number) in table.by_name.values() {
                assert_eq!(
                    sys.value_number(&ours.name, name),
                    Some(*number),
                    "{} {name}",
                    ours.name
                );
            }
        }
    }
}

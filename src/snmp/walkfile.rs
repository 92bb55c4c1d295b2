//! Recorded walks: net-snmp `snmpwalk -On` output and the `.snmprec`
//! format (`OID|type|value`), read into a MIB view that a poll can run
//! against ([`WalkAgent`]) or that `portico simulate --walk` serves.
//!
//! A line that cannot be read is skipped and reported with its number;
//! a file with no readable line at all is an error.

use std::collections::BTreeMap;
use std::ops::Bound;

use thiserror::Error;

use super::agent::MibView;
use super::client::SnmpError;
use super::collect::Agent;
use super::oid::Oid;
use super::value::Value;

/// Lines read at most (a 700-AP controller's walk is about 200,000).
pub const MAX_LINES: usize = 2_000_000;

#[derive(Debug, Error)]
pub enum WalkError {
    #[error(
        "{0}: no readable walk line (expected `.1.3.6... = TYPE: value` or `1.3.6...|type|value`)"
    )]
    Empty(String),
    #[error("{0}: more than {MAX_LINES} lines")]
    TooLong(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A walk as read, with the lines that were skipped.
#[derive(Debug, Default)]
pub struct Walk {
    pub view: MibView,
    /// (line number, why) of each line that could not be read.
    pub skipped: Vec<(usize, String)>,
}

pub fn read_file(path: &std::path::Path) -> Result<Walk, WalkError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| WalkError::Io(name.clone(), e))?;
    parse(&String::from_utf8_lossy(&bytes), &name)
}

/// Reads either format (decided per line).
pub fn parse(text: &str, name: &str) -> Result<Walk, WalkError> {
    let mut walk = Walk::default();
    // snmpwalk continues a quoted string or a hex string on the next lines.
    let mut pending: Option<(usize, Oid, String, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let no = n + 1;
        if no > MAX_LINES {
            return Err(WalkError::TooLong(name.to_string()));
        }
        if let Some((at, oid, kind, mut body)) = pending.take() {
            // A comment or a blank line ends a value; so does the next OID.
            let t = line.trim_start();
            let continues = !starts_like_oid(line) && !t.starts_with('#') && !t.is_empty();
            if continues {
                body.push('\n');
                body.push_str(line);
                if (kind == "STRING" && !string_complete(&body)) || kind == "Hex-STRING" {
                    pending = Some((at, oid, kind, body));
                } else {
                    finish(&mut walk, at, oid, &kind, &body);
                }
                continue;
            }
            finish(&mut walk, at, oid, &kind, &body);
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some((oid, rest)) = t.split_once(" = ") {
            let Ok(oid) = Oid::parse(oid.trim()) else {
                walk.skipped.push((
                    no,
                    format!("{:?} is not a numeric OID (use snmpwalk -On)", oid.trim()),
                ));
                continue;
            };
            let (kind, body) = match rest.split_once(": ") {
                Some((k, b))
                    if !k.contains(' ')
                        || k == "Network Address"
                        || k.starts_with("Wrong Type") =>
                {
                    (k.to_string(), b.to_string())
                }
                _ => (String::new(), rest.to_string()),
            };
            if (kind == "STRING" && !string_complete(&body)) || kind == "Hex-STRING" {
                pending = Some((no, oid, kind, body));
            } else {
                finish(&mut walk, no, oid, &kind, &body);
            }
        } else if t.matches('|').count() >= 2 {
            match snmprec_line(t) {
                Ok((oid, v)) => {
                    walk.view.insert(oid, v);
                }
                Err(why) => walk.skipped.push((no, why)),
            }
        } else if t == "End of MIB" {
            continue;
        } else {
            walk.skipped.push((
                no,
                "neither `OID = TYPE: value` nor `OID|type|value`".into(),
            ));
        }
    }
    if let Some((at, oid, kind, body)) = pending.take() {
        finish(&mut walk, at, oid, &kind, &body);
    }
    if walk.view.is_empty() {
        return Err(WalkError::Empty(name.to_string()));
    }
    Ok(walk)
}

fn starts_like_oid(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with('.') || t.starts_with(|c: char| c.is_ascii_digit()))
        && (t.contains(" = ") || t.matches('|').count() >= 2)
        && t.split([' ', '|']).next().is_some_and(|o| {
            o.trim_start_matches('.').split('.').count() > 2 && Oid::parse(o).is_ok()
        })
}

/// Whether a quoted snmpwalk string has its closing quote.
fn string_complete(body: &str) -> bool {
    let b = body.trim_start();
    if !b.starts_with('"') {
        return true;
    }
    let mut escaped = false;
    for c in b.chars().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return true,
            _ => {}
        }
    }
    false
}

fn finish(walk: &mut Walk, line: usize, oid: Oid, kind: &str, body: &str) {
    match snmpwalk_value(kind, body) {
        Ok(v) => {
            walk.view.insert(oid, v);
        }
        Err(why) => walk.skipped.push((line, why)),
    }
}

fn unquote(body: &str) -> Vec<u8> {
    let b = body.trim();
    let inner = b
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(b);
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                let mut buf = [0u8; 4];
                out.extend_from_slice(n.encode_utf8(&mut buf).as_bytes());
            }
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

fn hex_bytes(body: &str) -> Result<Vec<u8>, String> {
    let digits: String = body
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    hex::decode(&digits).map_err(|e| format!("bad hex string: {e}"))
}

/// `up(1)` -> 1, `-92` -> -92, `42 dBm` -> 42.
fn integer_text(body: &str) -> Result<i64, String> {
    let b = body.trim();
    if let (Some(open), Some(close)) = (b.rfind('('), b.rfind(')')) {
        if let Some(inner) = b.get(open + 1..close) {
            if let Ok(n) = inner.trim().parse() {
                return Ok(n);
            }
        }
    }
    b.split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| format!("{b:?} is not an integer"))
}

fn snmpwalk_value(kind: &str, body: &str) -> Result<Value, String> {
    let b = body.trim();
    Ok(match kind {
        "STRING" => Value::OctetString(unquote(b)),
        "Hex-STRING" => Value::OctetString(hex_bytes(b)?),
        "" if b == "\"\"" => Value::OctetString(Vec::new()),
        "" if b.starts_with("No Such") || b.starts_with("No more variables") => Value::NoSuch,
        "INTEGER" => Value::Integer(integer_text(b)?),
        "Gauge32" | "Counter32" | "Counter64" | "UInteger32" | "Unsigned32" => {
            let n = integer_text(b)?;
            Value::Unsigned(u64::try_from(n).map_err(|_| format!("{b:?} is negative"))?)
        }
        "Timeticks" => {
            let n = integer_text(b)?;
            Value::Timeticks(u32::try_from(n).map_err(|_| format!("{b:?} is out of range"))?)
        }
        "OID" => Value::ObjectId(Oid::parse(b).map_err(|e| e.to_string())?),
        "IpAddress" | "Network Address" => {
            let ip: std::net::Ipv4Addr = b
                .replace(':', ".")
                .parse()
                .map_err(|_| format!("{b:?} is not an IPv4 address"))?;
            Value::IpAddress(ip.octets())
        }
        "BITS" => Value::OctetString(hex_bytes(
            b.split_whitespace()
                .take_while(|w| w.len() == 2)
                .collect::<Vec<_>>()
                .join("")
                .as_str(),
        )?),
        "NULL" => Value::Null,
        "Opaque" => Value::Other,
        other if other.starts_with("Wrong Type") => {
            // `Wrong Type (should be INTEGER): Gauge32: 5`: keep what came.
            match b.split_once(": ") {
                Some((k, v)) => return snmpwalk_value(k.trim(), v),
                None => return Err(format!("cannot read {other}")),
            }
        }
        other => return Err(format!("type {other:?} is not understood")),
    })
}

/// One `.snmprec` line: `OID|tag|value` (`4x` for hex strings).
fn snmprec_line(line: &str) -> Result<(Oid, Value), String> {
    let mut it = line.splitn(3, '|');
    let (Some(oid), Some(tag), Some(val)) = (it.next(), it.next(), it.next()) else {
        return Err("needs OID|type|value".into());
    };
    let oid = Oid::parse(oid.trim()).map_err(|e| e.to_string())?;
    let (tag, hex) = match tag.trim().strip_suffix('x') {
        Some(t) => (t, true),
        None => (tag.trim(), false),
    };
    let bytes = || -> Result<Vec<u8>, String> {
        if hex {
            hex_bytes(val)
        } else {
            Ok(val.as_bytes().to_vec())
        }
    };
    let num = || -> Result<i64, String> {
        let t = if hex {
            String::from_utf8_lossy(&bytes()?).to_string()
        } else {
            val.to_string()
        };
        t.trim()
            .parse()
            .map_err(|_| format!("{val:?} is not a number"))
    };
    let unsigned = || -> Result<u64, String> {
        u64::try_from(num()?).map_err(|_| format!("{val:?} is negative"))
    };
    let v = match tag {
        "2" => Value::Integer(num()?),
        "4" => Value::OctetString(bytes()?),
        "5" => Value::Null,
        "6" => Value::ObjectId(Oid::parse(val.trim()).map_err(|e| e.to_string())?),
        "64" => {
            let b = bytes()?;
            let a: [u8; 4] = if hex {
                b.as_slice()
                    .try_into()
                    .map_err(|_| "an IpAddress has 4 bytes".to_string())?
            } else {
                val.trim()
                    .parse::<std::net::Ipv4Addr>()
                    .map_err(|_| format!("{val:?} is not an IPv4 address"))?
                    .octets()
            };
            Value::IpAddress(a)
        }
        "65" | "66" | "70" => Value::Unsigned(unsigned()?),
        "67" => Value::Timeticks(
            u32::try_from(unsigned()?).map_err(|_| "timeticks out of range".to_string())?,
        ),
        "68" => Value::Other,
        other => return Err(format!("type tag {other:?} is not understood")),
    };
    Ok((oid, v))
}

/// A recorded walk that answers GET and walks like the device did.
pub struct WalkAgent<'a> {
    pub view: &'a MibView,
}

impl Agent for WalkAgent<'_> {
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        Ok(oids
            .iter()
            .map(|o| {
                (
                    o.clone(),
                    self.view.get(o).cloned().unwrap_or(Value::NoSuch),
                )
            })
            .collect())
    }

    async fn walk(&mut self, columns: &[Oid]) -> Result<Vec<Vec<(Vec<u32>, Value)>>, SnmpError> {
        Ok(columns
            .iter()
            .map(|c| {
                self.view
                    .range((Bound::Excluded(c.clone()), Bound::Unbounded))
                    .take_while(|(k, _)| k.starts_with(c))
                    .filter_map(|(k, v)| Some((k.suffix(c)?.to_vec(), v.clone())))
                    .collect()
            })
            .collect())
    }
}

/// Serves walks as SNMP v2c agents until `stop`; one socket per walk.
pub async fn serve(
    agents: Vec<(std::sync::Arc<tokio::net::UdpSocket>, Vec<u8>, MibView)>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (sock, community, view) in agents {
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut buf = vec![0u8; 65_535];
            loop {
                let got = tokio::select! {
                    _ = stop.cancelled() => break,
                    r = sock.recv_from(&mut buf) => r,
                };
                let Ok((n, peer)) = got else { continue };
                let Some(req) = buf.get(..n) else { continue };
                if let Some(reply) = super::agent::respond(&view, &community, req) {
                    let _ = sock.send_to(&reply, peer).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// The MIB view of several walks in one (later files win on overlaps).
pub fn merge(walks: Vec<MibView>) -> MibView {
    let mut out = BTreeMap::new();
    for w in walks {
        out.extend(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    #[test]
    fn reads_snmpwalk_output_with_continuations_and_enums() {
        let text = "\
.1.3.6.1.2.1.1.1.0 = STRING: \"ArubaOS (MODEL: 7030), Version 6.4.4.8\nline two\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.14823.1.1.32
.1.3.6.1.2.1.1.3.0 = Timeticks: (12345) 0:02:03.45
.1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.19.0.11.134.1.2.3 = INTEGER: up(1)
.1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.2.0.11.134.1.2.3 = IpAddress: 10.1.2.3
.1.3.6.1.4.1.9.1 = Hex-STRING: 00 0B 86 01
02 03
.1.3.6.1.4.1.9.2 = Gauge32: 7
.1.3.6.1.4.1.9.3 = \"\"
.1.3.6.1.4.1.9.4 = INTEGER: -92
.1.3.6.1.4.1.9.6 = Wrong Type (should be INTEGER): Gauge32: 5
this line is garbage
.1.3.6.1.4.1.9.5 = Counter32: -1
";
        let w = parse(text, "t").unwrap();
        assert_eq!(
            w.view.get(&o("1.3.6.1.2.1.1.1.0")),
            Some(&Value::OctetString(
                b"ArubaOS (MODEL: 7030), Version 6.4.4.8\nline two".to_vec()
            ))
        );
        assert_eq!(
            w.view.get(&o("1.3.6.1.2.1.1.3.0")),
            Some(&Value::Timeticks(12345))
        );
        assert_eq!(
            w.view
                .get(&o("1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.19.0.11.134.1.2.3")),
            Some(&Value::Integer(1))
        );
        assert_eq!(
            w.view.get(&o("1.3.6.1.4.1.9.1")),
            Some(&Value::OctetString(vec![0, 0x0b, 0x86, 1, 2, 3]))
        );
        assert_eq!(w.view.get(&o("1.3.6.1.4.1.9.2")), Some(&Value::Unsigned(7)));
        assert_eq!(
            w.view.get(&o("1.3.6.1.4.1.9.3")),
            Some(&Value::OctetString(vec![]))
        );
        assert_eq!(
            w.view.get(&o("1.3.6.1.4.1.9.4")),
            Some(&Value::Integer(-92))
        );
        // Garbage and a negative counter are skipped and reported by line.
        assert_eq!(w.skipped.len(), 2, "{:?}", w.skipped);
        assert_eq!(w.skipped[0].0, 13);
        assert_eq!(w.skipped[1].0, 14);
    }

    #[test]
    fn reads_snmprec_and_rejects_empty_files() {
        let text = "1.3.6.1.2.1.1.1.0|4|Linux OpenWrt\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10\n\
                    1.3.6.1.4.1.9.1|4x|000b86010203\n1.3.6.1.4.1.9.2|66|5\n1.3.6.1.4.1.9.3|64|10.0.0.1\n\
                    1.3.6.1.4.1.9.4|2|-95\n1.3.6.1.4.1.9.5|99|x\n1.3.6.1.4.1.9.6|2|abc\n";
        let w = parse(text, "t").unwrap();
        assert_eq!(w.view.len(), 6);
        assert_eq!(
            w.view.get(&o("1.3.6.1.4.1.9.3")),
            Some(&Value::IpAddress([10, 0, 0, 1]))
        );
        assert_eq!(w.skipped.len(), 2);
        assert!(matches!(
            parse("nothing here\n", "x"),
            Err(WalkError::Empty(_))
        ));
        assert!(matches!(parse("", "x"), Err(WalkError::Empty(_))));
        // Binary junk never panics.
        let junk: String = (0u8..=255).map(char::from).collect();
        let _ = parse(&junk.repeat(10), "junk");
        let _ = parse(".1.3.6 = STRING: \"unterminated\n", "u");
    }

    #[tokio::test]
    async fn walk_agent_answers_like_a_device() {
        let w = parse(
            ".1.3.6.1.2.1.2.2.1.2.1 = STRING: lo\n.1.3.6.1.2.1.2.2.1.2.2 = STRING: eth0\n.1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 24\n",
            "t",
        )
        .unwrap();
        let mut a = WalkAgent { view: &w.view };
        let cols = a.walk(&[o("1.3.6.1.2.1.2.2.1.2")]).await.unwrap();
        assert_eq!(cols[0].len(), 2);
        assert_eq!(cols[0][1].0, vec![2]);
        let got = a.get(&[o("1.3.6.1.2.1.1.5.0")]).await.unwrap();
        assert_eq!(got[0].1, Value::NoSuch);
    }
}

//! The `[snmp]` section of a vendor profile: what a device's tables look
//! like, as column OIDs, so that adding a vendor is adding a file.
//!
//! ```toml
//! [snmp]
//! role = "controller"          # "ap" (default): the device is the AP;
//!                              # "controller": it lists the APs it manages
//! firmware = "1.3.6.1..."      # optional scalars for the device itself
//! model = "..."
//! serial = "..."
//! [snmp.ap_table]              # controllers: one row per managed AP
//! name = "..."                 # column OIDs (the entry OID plus column)
//! mac = "..."                  # or "index": the row index is the MAC
//! ip = "..."; model = "..."; serial = "..."; firmware = "..."; status = "..."
//! up_values = [1]              # values of `status` that mean "up"
//! [snmp.radio_table]
//! channel = "..."; tx_power = "..."; noise = "..."; utilization = "..."; clients = "..."
//! ap_index_arcs = 6            # controllers: leading index arcs naming the AP row
//! ap_name = "..."              # or a column with the AP's name
//! [snmp.client_table]
//! mac = "index"; ip = "..."; user = "..."; ap = "..."; ssid = "..."; rssi = "..."; snr = "..."
//! [[snmp.traps]]
//! oid = "..."; name = "apDown"; severity = "warning"
//! ```
//!
//! Columns of one logical table may come from several MIB tables as long
//! as they share the row index (they are joined on it).

use serde::Deserialize;
use toml::Spanned;

use crate::snmp::oid::Oid;

/// What `[snmp]` says, as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawSnmp {
    pub role: Option<Spanned<String>>,
    pub max_repetitions: Option<Spanned<u32>>,
    pub model: Option<Spanned<String>>,
    pub serial: Option<Spanned<String>>,
    pub firmware: Option<Spanned<String>>,
    /// Poll IF-MIB interface counters (default true).
    pub interfaces: Option<bool>,
    pub ap_table: Option<RawApTable>,
    pub radio_table: Option<RawRadioTable>,
    pub client_table: Option<RawClientTable>,
    #[serde(default)]
    pub traps: Vec<RawTrap>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawApTable {
    pub name: Option<Spanned<String>>,
    pub mac: Option<Spanned<String>>,
    pub ip: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
    pub serial: Option<Spanned<String>>,
    pub firmware: Option<Spanned<String>>,
    pub status: Option<Spanned<String>>,
    #[serde(default)]
    pub up_values: Vec<i64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawRadioTable {
    pub channel: Option<Spanned<String>>,
    pub tx_power: Option<Spanned<String>>,
    pub noise: Option<Spanned<String>>,
    pub utilization: Option<Spanned<String>>,
    pub clients: Option<Spanned<String>>,
    pub ap_index_arcs: Option<Spanned<u32>>,
    /// A column naming the AP (matched against the AP table's names).
    pub ap_name: Option<Spanned<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawClientTable {
    pub mac: Option<Spanned<String>>,
    pub ip: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub ap: Option<Spanned<String>>,
    pub ssid: Option<Spanned<String>>,
    pub rssi: Option<Spanned<String>>,
    pub snr: Option<Spanned<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawTrap {
    pub oid: Spanned<String>,
    pub name: Spanned<String>,
    pub severity: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    #[default]
    Ap,
    Controller,
}

/// A column, or "the row index itself" (tables indexed by MAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Oid(Oid),
    Index,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApTable {
    pub name: Option<Oid>,
    pub mac: Option<Column>,
    pub ip: Option<Oid>,
    pub model: Option<Oid>,
    pub serial: Option<Oid>,
    pub firmware: Option<Oid>,
    pub status: Option<Oid>,
    pub up_values: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadioTable {
    pub channel: Option<Oid>,
    pub tx_power: Option<Oid>,
    pub noise: Option<Oid>,
    pub utilization: Option<Oid>,
    pub clients: Option<Oid>,
    pub ap_index_arcs: usize,
    pub ap_name: Option<Oid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTable {
    pub mac: Option<Column>,
    pub ip: Option<Oid>,
    pub user: Option<Oid>,
    pub ap: Option<Oid>,
    pub ssid: Option<Oid>,
    pub rssi: Option<Oid>,
    pub snr: Option<Oid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapDef {
    pub oid: Oid,
    pub name: String,
    pub severity: String,
}

/// Validated `[snmp]` section. The default (no section) polls MIB-II only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpProfile {
    pub role: Role,
    pub max_repetitions: Option<u32>,
    pub model: Option<Oid>,
    pub serial: Option<Oid>,
    pub firmware: Option<Oid>,
    pub interfaces: bool,
    pub ap_table: Option<ApTable>,
    pub radio_table: Option<RadioTable>,
    pub client_table: Option<ClientTable>,
    pub traps: Vec<TrapDef>,
}

impl Default for SnmpProfile {
    fn default() -> Self {
        SnmpProfile {
            role: Role::Ap,
            max_repetitions: None,
            model: None,
            serial: None,
            firmware: None,
            interfaces: true,
            ap_table: None,
            radio_table: None,
            client_table: None,
            traps: Vec::new(),
        }
    }
}

pub const SEVERITIES: [&str; 4] = ["info", "warning", "major", "critical"];

/// A validation failure: byte offset into the file (for the line) and why.
#[derive(Debug)]
pub struct Invalid {
    pub offset: Option<usize>,
    pub reason: String,
}

fn bad<T>(s: &Spanned<T>, reason: impl Into<String>) -> Invalid {
    Invalid {
        offset: Some(s.span().start),
        reason: reason.into(),
    }
}

fn oid(field: &str, s: &Option<Spanned<String>>) -> Result<Option<Oid>, Invalid> {
    match s {
        None => Ok(None),
        Some(v) => Oid::parse(v.get_ref())
            .map(Some)
            .map_err(|e| bad(v, format!("snmp {field}: {e}"))),
    }
}

fn column(field: &str, s: &Option<Spanned<String>>) -> Result<Option<Column>, Invalid> {
    match s {
        Some(v) if v.get_ref().trim() == "index" => Ok(Some(Column::Index)),
        other => Ok(oid(field, other)?.map(Column::Oid)),
    }
}

/// Checks the raw section; errors carry the offending value's offset.
pub fn validate(raw: RawSnmp) -> Result<SnmpProfile, Invalid> {
    let role = match &raw.role {
        None => Role::Ap,
        Some(r) => match r.get_ref().as_str() {
            "ap" => Role::Ap,
            "controller" => Role::Controller,
            other => {
                return Err(bad(
                    r,
                    format!("snmp role {other:?} must be \"ap\" or \"controller\""),
                ))
            }
        },
    };
    let max_repetitions = match &raw.max_repetitions {
        Some(m) if *m.get_ref() == 0 || *m.get_ref() > 1000 => {
            return Err(bad(m, "snmp max_repetitions must be 1 to 1000"))
        }
        Some(m) => Some(*m.get_ref()),
        None => None,
    };
    let ap_table = match &raw.ap_table {
        None => None,
        Some(t) => Some(ApTable {
            name: oid("ap_table.name", &t.name)?,
            mac: column("ap_table.mac", &t.mac)?,
            ip: oid("ap_table.ip", &t.ip)?,
            model: oid("ap_table.model", &t.model)?,
            serial: oid("ap_table.serial", &t.serial)?,
            firmware: oid("ap_table.firmware", &t.firmware)?,
            status: oid("ap_table.status", &t.status)?,
            up_values: t.up_values.clone(),
        }),
    };
    if role == Role::Controller && ap_table.is_none() {
        let reason = "snmp role \"controller\" needs [snmp.ap_table]".to_string();
        return Err(match &raw.role {
            Some(r) => bad(r, reason),
            None => Invalid {
                offset: None,
                reason,
            },
        });
    }
    if let (Some(t), Some(raw_t)) = (&ap_table, &raw.ap_table) {
        if t.status.is_some() && t.up_values.is_empty() {
            if let Some(s) = &raw_t.status {
                return Err(bad(s, "snmp ap_table.status needs up_values"));
            }
        }
    }
    let radio_table = match &raw.radio_table {
        None => None,
        Some(t) => {
            let arcs = match &t.ap_index_arcs {
                Some(a) if *a.get_ref() > 32 => {
                    return Err(bad(a, "snmp radio_table.ap_index_arcs must be 0 to 32"))
                }
                Some(a) => usize::try_from(*a.get_ref()).unwrap_or(0),
                None => 0,
            };
            Some(RadioTable {
                channel: oid("radio_table.channel", &t.channel)?,
                tx_power: oid("radio_table.tx_power", &t.tx_power)?,
                noise: oid("radio_table.noise", &t.noise)?,
                utilization: oid("radio_table.utilization", &t.utilization)?,
                clients: oid("radio_table.clients", &t.clients)?,
                ap_index_arcs: arcs,
                ap_name: oid("radio_table.ap_name", &t.ap_name)?,
            })
        }
    };
    let client_table = match &raw.client_table {
        None => None,
        Some(t) => Some(ClientTable {
            mac: column("client_table.mac", &t.mac)?,
            ip: oid("client_table.ip", &t.ip)?,
            user: oid("client_table.user", &t.user)?,
            ap: oid("client_table.ap", &t.ap)?,
            ssid: oid("client_table.ssid", &t.ssid)?,
            rssi: oid("client_table.rssi", &t.rssi)?,
            snr: oid("client_table.snr", &t.snr)?,
        }),
    };
    let mut traps: Vec<TrapDef> = Vec::with_capacity(raw.traps.len());
    for t in &raw.traps {
        let o =
            Oid::parse(t.oid.get_ref()).map_err(|e| bad(&t.oid, format!("snmp trap oid: {e}")))?;
        let name = t.name.get_ref().trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_whitespace) {
            return Err(bad(
                &t.name,
                format!("snmp trap name {name:?} must be one word"),
            ));
        }
        let severity = match &t.severity {
            None => "warning".to_string(),
            Some(s) if SEVERITIES.contains(&s.get_ref().as_str()) => s.get_ref().clone(),
            Some(s) => {
                return Err(bad(
                    s,
                    format!(
                        "snmp trap severity {:?} must be one of {}",
                        s.get_ref(),
                        SEVERITIES.join(", ")
                    ),
                ))
            }
        };
        if traps.iter().any(|x| x.oid == o) {
            return Err(bad(&t.oid, format!("snmp trap {o} is listed twice")));
        }
        traps.push(TrapDef {
            oid: o,
            name: name.to_string(),
            severity,
        });
    }
    Ok(SnmpProfile {
        role,
        max_repetitions,
        model: oid("model", &raw.model)?,
        serial: oid("serial", &raw.serial)?,
        firmware: oid("firmware", &raw.firmware)?,
        interfaces: raw.interfaces.unwrap_or(true),
        ap_table,
        radio_table,
        client_table,
        traps,
    })
}

impl SnmpProfile {
    /// The profile's name for a trap OID, with severity.
    pub fn trap(&self, oid: &Oid) -> Option<&TrapDef> {
        self.traps.iter().find(|t| &t.oid == oid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::Profiles;

    #[test]
    fn shipped_profiles_carry_snmp_sections() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ap-profiles");
        let p = Profiles::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        for (name, role) in [
            ("generic", Role::Ap),
            ("cisco-wlc", Role::Controller),
            ("aruba", Role::Controller),
            ("huawei", Role::Controller),
        ] {
            // huawei.toml arrives with the portal profiles.
            let Some(profile) = p.get(name) else {
                assert_eq!(name, "huawei", "{name} missing");
                continue;
            };
            let s = &profile.snmp;
            assert_eq!(s.role, role, "{name}");
            assert!(s.radio_table.is_some(), "{name}");
        }
        let c = &p.get("cisco-wlc").unwrap().snmp;
        assert_eq!(c.radio_table.as_ref().unwrap().ap_index_arcs, 6);
        assert_eq!(c.ap_table.as_ref().unwrap().up_values, [1]);
        assert!(c.client_table.as_ref().unwrap().rssi.is_some());
    }

    #[test]
    fn issue_4_controller_profiles_load_with_their_tables() {
        use crate::snmp::collect::match_profile;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ap-profiles");
        let p = Profiles::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        let enterprise =
            |o: &Oid, pen: u32| o.to_string().starts_with(&format!("1.3.6.1.4.1.{pen}."));
        // (name, RADIUS vendor, SNMP enterprise arcs its columns may use,
        //  has radios, has clients, a sysObjectID that must pick it)
        type Case<'a> = (&'a str, u32, &'a [u32], bool, bool, &'a str);
        let cases: [Case; 5] = [
            (
                "cisco-9800",
                9,
                &[9, 14179],
                true,
                true,
                "1.3.6.1.4.1.9.1.2530",
            ),
            (
                "aruba-instant",
                14823,
                &[14823],
                true,
                true,
                "1.3.6.1.4.1.14823.1.2.88",
            ),
            ("h3c", 25506, &[25506], true, true, "1.3.6.1.4.1.25506.1.1"),
            (
                "ruckus-zd",
                25053,
                &[25053],
                true,
                true,
                "1.3.6.1.4.1.25053.3.1.5.8",
            ),
            (
                "ruckus-sz",
                25053,
                &[25053],
                false,
                false,
                "1.3.6.1.4.1.25053.3.1.11.1",
            ),
        ];
        for (name, vendor, arcs, radios, clients, sys_oid) in cases {
            let profile = p.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(profile.radius.vendor_id, Some(vendor), "{name}");
            let s = &profile.snmp;
            assert_eq!(s.role, Role::Controller, "{name}");
            let ap = s.ap_table.as_ref().unwrap();
            let mut oids: Vec<&Oid> = [&ap.name, &ap.ip, &ap.model, &ap.serial, &ap.firmware]
                .into_iter()
                .flatten()
                .collect();
            if let Some(Column::Oid(o)) = &ap.mac {
                oids.push(o);
            }
            assert!(ap.name.is_some() && ap.mac.is_some(), "{name}");
            assert_eq!(s.radio_table.is_some(), radios, "{name}");
            assert_eq!(s.client_table.is_some(), clients, "{name}");
            if let Some(r) = &s.radio_table {
                oids.extend(
                    [
                        &r.channel,
                        &r.tx_power,
                        &r.noise,
                        &r.utilization,
                        &r.clients,
                    ]
                    .into_iter()
                    .flatten(),
                );
            }
            if let Some(c) = &s.client_table {
                oids.extend(
                    [&c.ip, &c.user, &c.ap, &c.ssid, &c.rssi, &c.snr]
                        .into_iter()
                        .flatten(),
                );
            }
            for o in oids {
                assert!(arcs.iter().any(|a| enterprise(o, *a)), "{name}: {o}");
            }
            let picked = match_profile(&p, Some(sys_oid), None).map(|x| x.name.as_str());
            assert_eq!(picked, Some(name), "{sys_oid}");
        }
        // The older catch-alls keep their devices.
        for (sys_oid, name) in [
            ("1.3.6.1.4.1.9.1.1069", "cisco-wlc"),
            ("1.3.6.1.4.1.14823.1.1.32", "aruba"),
            ("1.3.6.1.4.1.25053.3.1.4.102", "ruckus"),
        ] {
            let picked = match_profile(&p, Some(sys_oid), None).map(|x| x.name.as_str());
            assert_eq!(picked, Some(name), "{sys_oid}");
        }
        let status = |n: &str| p.get(n).unwrap().snmp.ap_table.clone().unwrap().up_values;
        assert_eq!(status("h3c"), [5]);
        assert_eq!(status("ruckus-zd"), [1]);
        assert_eq!(p.get("cisco-9800").unwrap().radius.coa_port, 1700);
    }

    #[test]
    fn controller_needs_an_ap_table_and_status_needs_up_values() {
        let raw: RawSnmp = toml::from_str("role = \"controller\"\n").unwrap();
        assert!(validate(raw).unwrap_err().reason.contains("ap_table"));
        let raw: RawSnmp =
            toml::from_str("role = \"controller\"\n[ap_table]\nstatus = \"1.3.6.1.4.1.9.1\"\n")
                .unwrap();
        assert!(validate(raw).unwrap_err().reason.contains("up_values"));
        let raw: RawSnmp =
            toml::from_str("[[traps]]\noid = \"1.3.6.1.4.1.9.0.1\"\nname = \"x\"\n[[traps]]\noid = \"1.3.6.1.4.1.9.0.1\"\nname = \"y\"\n")
                .unwrap();
        assert!(validate(raw).unwrap_err().reason.contains("twice"));
        let ok: RawSnmp = toml::from_str(
            "[[traps]]\noid = \"1.3.6.1.4.1.9.0.1\"\nname = \"apDown\"\nseverity = \"major\"\n",
        )
        .unwrap();
        let v = validate(ok).unwrap();
        assert_eq!(
            v.trap(&Oid::parse("1.3.6.1.4.1.9.0.1").unwrap())
                .unwrap()
                .name,
            "apDown"
        );
    }
}

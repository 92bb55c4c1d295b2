//! The `[snmp]` section of a vendor profile: what a device's tables look
//! like, so that adding a vendor is adding a file.
//!
//! ```toml
//! [snmp]
//! role = "controller"          # "ap" (default): the device is the AP;
//!                              # "controller": it lists the APs it manages
//! model = "1.3.6.1..."         # optional scalars for the device itself
//! serial = "..."; firmware = "..."
//! clients = "..."              # a controller-wide station count
//! [snmp.ap_table]              # controllers: one row per managed AP
//! index = ["ap_mac:mac"]       # what the row index holds, as named parts
//! mac = "index:ap_mac"         # a value from the index, or a column OID
//! name = "..."; ip = "..."; model = "..."; serial = "..."; firmware = "..."
//! status = "..."; up_values = [1]
//! clients = "..."              # per-AP station count
//! [snmp.radio_table]
//! index = ["ap_mac:mac", "radio:int"]
//! ap_mac = "index:ap_mac"      # joins the radio to its AP (or ap_name, ap_index_arcs)
//! radio = "index:radio"        # the radio's number or name
//! channel = { oid = "...", parse = "number" }    # "116E" -> 116
//! tx_power = { oid = "...", scale = 0.5 }        # half-dBm -> dBm
//! noise = { oid = "...", signed = 8 }            # 164 -> -92
//! utilization = "..."; clients = "..."; band = "..."
//! [snmp.vap_table]             # per-SSID rows: ssid, bssid, clients, radio, ap_*
//! [snmp.wlan_table]            # per-WLAN station counts: ssid, clients
//! [snmp.neighbour_table]      # controllers' RRM lists: AP X hears AP Y at N dBm
//! index = ["ap:mac", "slot:int", "heard:mac"]
//! ap_mac = "index:ap"; neighbour = "index:heard"; rssi = "..."; channel = "..."
//! [snmp.client_table]
//! index = ["ifindex:int", "mac:mac"]
//! mac = "index:mac"; ip = "..."; user = "..."; ap = "..."; ssid = "..."; rssi = "..."; snr = "..."
//! [[snmp.traps]]
//! oid = "..."; name = "apDown"; severity = "warning"
//! ```
//!
//! A value is a column OID (`"1.3.6..."`), a part of the row index
//! (`"index:NAME"`, or `"index"` for the whole index as a MAC), or a
//! NET-SNMP `extend` output (`"extend:clients-{if}"`, radio tables with
//! `extend_list`). The long form `{ oid = ..., scale = ..., offset = ...,
//! signed = 8|16|32, negate = true, zero_unknown = true, unknown_values =
//! [255], parse = "number"|"mhz-channel", unconfirmed = "why" }` adds the
//! conversions real MIBs need (values listed as unknown read as unknown). Columns of
//! one logical table may come from several MIB tables as long as they
//! share the row index (they are joined on it).

use serde::Deserialize;
use toml::Spanned;

use crate::snmp::oid::Oid;

/// What `[snmp]` says, as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawSnmp {
    pub role: Option<Spanned<String>>,
    pub max_repetitions: Option<Spanned<u32>>,
    pub model: Option<RawField>,
    pub serial: Option<RawField>,
    pub firmware: Option<RawField>,
    pub clients: Option<RawField>,
    /// Poll IF-MIB interface counters (default true).
    pub interfaces: Option<bool>,
    pub ap_table: Option<RawTable>,
    pub radio_table: Option<RawTable>,
    pub vap_table: Option<RawTable>,
    pub wlan_table: Option<RawTable>,
    pub client_table: Option<RawTable>,
    pub neighbour_table: Option<RawTable>,
    #[serde(default)]
    pub traps: Vec<RawTrap>,
}

/// A value as written: a string or an inline table.
pub type RawField = Spanned<toml::Value>;

/// Any table as written; which keys a table may use is checked in
/// [`validate`] (one shape keeps the TOML errors precise).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    pub index: Option<Spanned<Vec<String>>>,
    pub ap_index_arcs: Option<Spanned<u32>>,
    /// `"index:PART"`: that part of the index is the AP table's row index.
    pub ap_index: Option<Spanned<String>>,
    pub extend_list: Option<Spanned<String>>,
    #[serde(default)]
    pub up_values: Vec<i64>,
    pub name: Option<RawField>,
    pub mac: Option<RawField>,
    pub ip: Option<RawField>,
    pub model: Option<RawField>,
    pub serial: Option<RawField>,
    pub firmware: Option<RawField>,
    pub status: Option<RawField>,
    pub clients: Option<RawField>,
    pub ap_mac: Option<RawField>,
    pub ap_name: Option<RawField>,
    pub radio: Option<RawField>,
    pub band: Option<RawField>,
    pub channel: Option<RawField>,
    pub tx_power: Option<RawField>,
    pub noise: Option<RawField>,
    pub utilization: Option<RawField>,
    pub ssid: Option<RawField>,
    pub bssid: Option<RawField>,
    pub user: Option<RawField>,
    pub ap: Option<RawField>,
    pub rssi: Option<RawField>,
    pub snr: Option<RawField>,
    pub neighbour: Option<RawField>,
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

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A column of the table (the entry OID plus column number).
    Column(Oid),
    /// The row index: all of it (`None`, read as a MAC: the whole index or
    /// its last six arcs), or one named part.
    Index(Option<String>),
    /// The first output line of a NET-SNMP `extend`; `{if}` is the row's
    /// interface name.
    Extend(String),
}

/// How a text value becomes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    /// The first (optionally signed) decimal number in the text:
    /// `116E` -> 116, `-92 dBm` -> -92, `5.5` -> 5.5.
    Number,
    /// A frequency in MHz (or GHz, `2.437`) as its 802.11 channel.
    MhzChannel,
}

/// A decimal conversion factor that compares exactly (profiles are Eq).
#[derive(Debug, Clone, Copy)]
pub struct Factor(pub f64);

impl PartialEq for Factor {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for Factor {}

/// One value of a row: where it comes from and how it is converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub source: Source,
    /// Two's-complement width: an unsigned 8/16/32-bit value read as signed.
    pub signed: Option<u8>,
    /// The device reports the magnitude of a negative number (noise 92 = -92).
    pub negate: bool,
    pub scale: Option<Factor>,
    pub offset: Option<Factor>,
    pub parse: Option<Parse>,
    /// The device sends 0 for "not known" (a noise floor of 0 dBm, an
    /// SNR of 0 on an idle VAP): 0 reads as unknown.
    pub zero_unknown: bool,
    /// Raw values the device sends for "not known" (255, 2147483647...).
    pub unknown_values: Vec<i64>,
    /// Why this OID is not confirmed from a MIB file or a real walk.
    pub unconfirmed: Option<String>,
}

impl Field {
    pub fn column(oid: Oid) -> Field {
        Field {
            source: Source::Column(oid),
            signed: None,
            negate: false,
            scale: None,
            offset: None,
            parse: None,
            zero_unknown: false,
            unknown_values: Vec::new(),
            unconfirmed: None,
        }
    }

    pub fn column_oid(&self) -> Option<&Oid> {
        match &self.source {
            Source::Column(o) => Some(o),
            _ => None,
        }
    }

    /// A raw integer through the field's sign rule, scale and offset.
    pub fn convert(&self, raw: f64) -> Option<i64> {
        if (self.zero_unknown && raw == 0.0) || self.unknown_values.iter().any(|u| *u as f64 == raw)
        {
            return None;
        }
        let mut v = raw;
        if let Some(bits) = self.signed {
            let span = 2f64.powi(i32::from(bits));
            if v >= span / 2.0 && v < span {
                v -= span;
            }
        }
        if self.negate && v > 0.0 {
            v = -v;
        }
        if let Some(Factor(s)) = self.scale {
            v *= s;
        }
        if let Some(Factor(o)) = self.offset {
            v += o;
        }
        if !v.is_finite() || v.abs() > 9.0e15 {
            return None;
        }
        // Rounded half away from zero, the way a person reads -92.5.
        #[allow(clippy::cast_possible_truncation)]
        Some(v.round() as i64)
    }
}

/// How one named part of a row index is encoded in the OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// One arc.
    Int,
    /// Six arcs.
    Mac,
    /// A MAC as a length-prefixed string: the arc 6, then six arcs.
    LMac,
    /// Four arcs.
    Ip,
    /// A length arc, then that many character arcs.
    String,
    /// Character arcs to the end of the index (IMPLIED).
    Implied,
    /// Whatever arcs remain, as dotted text.
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPart {
    pub name: String,
    pub kind: PartKind,
}

/// Validated columns of a controller's AP table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApTable {
    pub index: Vec<IndexPart>,
    pub name: Option<Field>,
    pub mac: Option<Field>,
    pub ip: Option<Field>,
    pub model: Option<Field>,
    pub serial: Option<Field>,
    pub firmware: Option<Field>,
    pub status: Option<Field>,
    pub up_values: Vec<i64>,
    pub clients: Option<Field>,
}

/// How a row of a radio, VAP or client table names its AP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApJoin {
    /// The leading arcs of the row index are the AP table's row index.
    pub ap_index_arcs: usize,
    /// A named index part whose arcs are the AP table's row index.
    pub ap_index: Option<String>,
    pub ap_mac: Option<Field>,
    pub ap_name: Option<Field>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadioTable {
    pub index: Vec<IndexPart>,
    pub join: ApJoin,
    /// Radios are the interfaces this `extend` lists (one per line), or,
    /// when it is absent, those the field templates find.
    pub extend_list: Option<String>,
    pub radio: Option<Field>,
    pub band: Option<Field>,
    pub channel: Option<Field>,
    pub tx_power: Option<Field>,
    pub noise: Option<Field>,
    pub utilization: Option<Field>,
    pub clients: Option<Field>,
    pub ssid: Option<Field>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VapTable {
    pub index: Vec<IndexPart>,
    pub join: ApJoin,
    pub radio: Option<Field>,
    pub ssid: Option<Field>,
    pub bssid: Option<Field>,
    pub clients: Option<Field>,
    pub channel: Option<Field>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WlanTable {
    pub index: Vec<IndexPart>,
    pub ssid: Option<Field>,
    pub clients: Option<Field>,
}

/// An RRM neighbour list: the reporting AP (joined like radios), the AP
/// it hears (its radio MAC or BSSID), the signal in dBm and the channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeighbourTable {
    pub index: Vec<IndexPart>,
    pub join: ApJoin,
    pub neighbour: Option<Field>,
    pub rssi: Option<Field>,
    pub channel: Option<Field>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTable {
    pub index: Vec<IndexPart>,
    pub mac: Option<Field>,
    pub ip: Option<Field>,
    pub user: Option<Field>,
    /// The AP as the device names it (MAC, BSSID or name).
    pub ap: Option<Field>,
    pub ssid: Option<Field>,
    pub rssi: Option<Field>,
    pub snr: Option<Field>,
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
    pub model: Option<Field>,
    pub serial: Option<Field>,
    pub firmware: Option<Field>,
    pub clients: Option<Field>,
    pub interfaces: bool,
    pub ap_table: Option<ApTable>,
    pub radio_table: Option<RadioTable>,
    pub vap_table: Option<VapTable>,
    pub wlan_table: Option<WlanTable>,
    pub client_table: Option<ClientTable>,
    pub neighbour_table: Option<NeighbourTable>,
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
            clients: None,
            interfaces: true,
            ap_table: None,
            radio_table: None,
            vap_table: None,
            wlan_table: None,
            client_table: None,
            neighbour_table: None,
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

fn parse_index(raw: &Option<Spanned<Vec<String>>>, table: &str) -> Result<Vec<IndexPart>, Invalid> {
    let Some(list) = raw else {
        return Ok(Vec::new());
    };
    let mut parts: Vec<IndexPart> = Vec::new();
    for (i, p) in list.get_ref().iter().enumerate() {
        let (name, kind) = p.split_once(':').unwrap_or((p.as_str(), "int"));
        let kind = match kind.trim() {
            "int" => PartKind::Int,
            "mac" => PartKind::Mac,
            "lmac" => PartKind::LMac,
            "ip" => PartKind::Ip,
            "string" => PartKind::String,
            "implied" => PartKind::Implied,
            "rest" => PartKind::Rest,
            other => {
                return Err(bad(
                    list,
                    format!(
                        "snmp {table}.index part {p:?}: kind {other:?} must be int, mac, lmac, ip, string, implied or rest"
                    ),
                ))
            }
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(
                list,
                format!("snmp {table}.index part {p:?}: name must be letters, digits and _"),
            ));
        }
        if parts.iter().any(|x| x.name == name) {
            return Err(bad(
                list,
                format!("snmp {table}.index part {name:?} is named twice"),
            ));
        }
        if matches!(kind, PartKind::Implied | PartKind::Rest) && i + 1 != list.get_ref().len() {
            return Err(bad(
                list,
                format!("snmp {table}.index part {name:?} ({kind:?}) must be the last"),
            ));
        }
        parts.push(IndexPart {
            name: name.to_string(),
            kind,
        });
    }
    Ok(parts)
}

/// Reads one value as written; `parts` are the table's index parts.
fn field(
    what: &str,
    raw: &Option<RawField>,
    parts: &[IndexPart],
    extend_ok: bool,
) -> Result<Option<Field>, Invalid> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let source_of = |text: &str| -> Result<Source, String> {
        let t = text.trim();
        if t == "index" {
            return Ok(Source::Index(None));
        }
        if let Some(part) = t.strip_prefix("index:") {
            if !parts.iter().any(|p| p.name == part) {
                return Err(format!("snmp {what}: the index has no part {part:?}"));
            }
            return Ok(Source::Index(Some(part.to_string())));
        }
        if let Some(name) = t.strip_prefix("extend:") {
            if !extend_ok {
                return Err(format!(
                    "snmp {what}: extend outputs are read only in radio tables"
                ));
            }
            if name.is_empty() || name.len() > 64 {
                return Err(format!(
                    "snmp {what}: extend name must be 1 to 64 characters"
                ));
            }
            return Ok(Source::Extend(name.to_string()));
        }
        Oid::parse(t)
            .map(Source::Column)
            .map_err(|e| format!("snmp {what}: {e}"))
    };
    let mut f = Field {
        source: Source::Index(None),
        signed: None,
        negate: false,
        scale: None,
        offset: None,
        parse: None,
        zero_unknown: false,
        unknown_values: Vec::new(),
        unconfirmed: None,
    };
    match raw.get_ref() {
        toml::Value::String(s) => f.source = source_of(s).map_err(|e| bad(raw, e))?,
        toml::Value::Table(t) => {
            let mut source = None;
            for (k, v) in t {
                let num = || v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
                match (k.as_str(), v) {
                    ("oid", toml::Value::String(s)) => {
                        source = Some(source_of(s).map_err(|e| bad(raw, e))?)
                    }
                    ("index", toml::Value::String(s)) => {
                        source = Some(source_of(&format!("index:{s}")).map_err(|e| bad(raw, e))?)
                    }
                    ("extend", toml::Value::String(s)) => {
                        source = Some(source_of(&format!("extend:{s}")).map_err(|e| bad(raw, e))?)
                    }
                    ("scale", _) if num().is_some_and(|n| n.is_finite() && n != 0.0) => {
                        f.scale = num().map(Factor)
                    }
                    ("offset", _) if num().is_some_and(f64::is_finite) => f.offset = num().map(Factor),
                    ("signed", toml::Value::Integer(b)) if [8, 16, 32].contains(b) => {
                        f.signed = u8::try_from(*b).ok()
                    }
                    ("negate", toml::Value::Boolean(b)) => f.negate = *b,
                    ("zero_unknown", toml::Value::Boolean(b)) => f.zero_unknown = *b,
                    ("unknown_values", toml::Value::Array(list))
                        if list.iter().all(toml::Value::is_integer) =>
                    {
                        f.unknown_values = list.iter().filter_map(toml::Value::as_integer).collect()
                    }
                    ("parse", toml::Value::String(p)) => {
                        f.parse = Some(match p.as_str() {
                            "number" => Parse::Number,
                            "mhz-channel" => Parse::MhzChannel,
                            other => {
                                return Err(bad(
                                    raw,
                                    format!("snmp {what}: parse {other:?} must be \"number\" or \"mhz-channel\""),
                                ))
                            }
                        })
                    }
                    ("unconfirmed", toml::Value::String(why)) if !why.trim().is_empty() => {
                        f.unconfirmed = Some(why.trim().to_string())
                    }
                    (k, v) => {
                        return Err(bad(
                            raw,
                            format!(
                                "snmp {what}: {k} = {v} is not understood (oid, index, extend, scale, offset, signed = 8|16|32, negate, zero_unknown, unknown_values = [..], parse, unconfirmed)"
                            ),
                        ))
                    }
                }
            }
            f.source = source
                .ok_or_else(|| bad(raw, format!("snmp {what}: needs oid, index or extend")))?;
        }
        other => {
            return Err(bad(
                raw,
                format!("snmp {what}: {other} must be an OID string or an inline table"),
            ))
        }
    }
    Ok(Some(f))
}

/// Rejects keys that a kind of table does not use.
fn only(raw: &RawTable, table: &str, allowed: &[&str]) -> Result<(), Invalid> {
    let present: [(&str, Option<std::ops::Range<usize>>); 26] = [
        ("index", raw.index.as_ref().map(|x| x.span())),
        ("ap_index", raw.ap_index.as_ref().map(|x| x.span())),
        (
            "ap_index_arcs",
            raw.ap_index_arcs.as_ref().map(|x| x.span()),
        ),
        ("extend_list", raw.extend_list.as_ref().map(|x| x.span())),
        ("up_values", (!raw.up_values.is_empty()).then_some(0..0)),
        ("name", raw.name.as_ref().map(|x| x.span())),
        ("mac", raw.mac.as_ref().map(|x| x.span())),
        ("ip", raw.ip.as_ref().map(|x| x.span())),
        ("model", raw.model.as_ref().map(|x| x.span())),
        ("serial", raw.serial.as_ref().map(|x| x.span())),
        ("firmware", raw.firmware.as_ref().map(|x| x.span())),
        ("status", raw.status.as_ref().map(|x| x.span())),
        ("clients", raw.clients.as_ref().map(|x| x.span())),
        ("ap_mac", raw.ap_mac.as_ref().map(|x| x.span())),
        ("ap_name", raw.ap_name.as_ref().map(|x| x.span())),
        ("radio", raw.radio.as_ref().map(|x| x.span())),
        ("band", raw.band.as_ref().map(|x| x.span())),
        ("channel", raw.channel.as_ref().map(|x| x.span())),
        ("tx_power", raw.tx_power.as_ref().map(|x| x.span())),
        ("noise", raw.noise.as_ref().map(|x| x.span())),
        ("utilization", raw.utilization.as_ref().map(|x| x.span())),
        ("ssid", raw.ssid.as_ref().map(|x| x.span())),
        ("bssid", raw.bssid.as_ref().map(|x| x.span())),
        ("user", raw.user.as_ref().map(|x| x.span())),
        ("ap", raw.ap.as_ref().map(|x| x.span())),
        ("rssi", raw.rssi.as_ref().map(|x| x.span())),
    ];
    let snr = [
        ("snr", raw.snr.as_ref().map(|x| x.span())),
        ("neighbour", raw.neighbour.as_ref().map(|x| x.span())),
    ];
    for (key, span) in present.into_iter().chain(snr) {
        if let Some(span) = span {
            if !allowed.contains(&key) {
                return Err(Invalid {
                    offset: (span.end > 0).then_some(span.start),
                    reason: format!(
                        "snmp {table}: unknown field `{key}` (this table takes {})",
                        allowed.join(", ")
                    ),
                });
            }
        }
    }
    Ok(())
}

fn join(t: &RawTable, table: &str, parts: &[IndexPart]) -> Result<ApJoin, Invalid> {
    let arcs = match &t.ap_index_arcs {
        Some(a) if *a.get_ref() > 32 => {
            return Err(bad(
                a,
                format!("snmp {table}.ap_index_arcs must be 0 to 32"),
            ))
        }
        Some(a) => usize::try_from(*a.get_ref()).unwrap_or(0),
        None => 0,
    };
    let ap_index = match &t.ap_index {
        None => None,
        Some(s) => {
            let part = s.get_ref().trim().strip_prefix("index:").unwrap_or("");
            if !parts.iter().any(|p| p.name == part) {
                return Err(bad(
                    s,
                    format!(
                        "snmp {table}.ap_index must be \"index:PART\" naming a part of the index"
                    ),
                ));
            }
            Some(part.to_string())
        }
    };
    Ok(ApJoin {
        ap_index_arcs: arcs,
        ap_index,
        ap_mac: field(&format!("{table}.ap_mac"), &t.ap_mac, parts, false)?,
        ap_name: field(&format!("{table}.ap_name"), &t.ap_name, parts, false)?,
    })
}

fn ap_table(t: &RawTable) -> Result<ApTable, Invalid> {
    const T: &str = "ap_table";
    only(
        t,
        T,
        &[
            "index",
            "up_values",
            "name",
            "mac",
            "ip",
            "model",
            "serial",
            "firmware",
            "status",
            "clients",
        ],
    )?;
    let parts = parse_index(&t.index, T)?;
    let f = |k: &str, raw: &Option<RawField>| field(&format!("{T}.{k}"), raw, &parts, false);
    let table = ApTable {
        name: f("name", &t.name)?,
        mac: f("mac", &t.mac)?,
        ip: f("ip", &t.ip)?,
        model: f("model", &t.model)?,
        serial: f("serial", &t.serial)?,
        firmware: f("firmware", &t.firmware)?,
        status: f("status", &t.status)?,
        up_values: t.up_values.clone(),
        clients: f("clients", &t.clients)?,
        index: parts.clone(),
    };
    if table.status.is_some() && table.up_values.is_empty() {
        if let Some(s) = &t.status {
            return Err(bad(s, "snmp ap_table.status needs up_values"));
        }
    }
    Ok(table)
}

fn radio_table(t: &RawTable) -> Result<RadioTable, Invalid> {
    const T: &str = "radio_table";
    only(
        t,
        T,
        &[
            "index",
            "ap_index_arcs",
            "ap_index",
            "extend_list",
            "ap_mac",
            "ap_name",
            "radio",
            "band",
            "channel",
            "tx_power",
            "noise",
            "utilization",
            "clients",
            "ssid",
        ],
    )?;
    let parts = parse_index(&t.index, T)?;
    let f = |k: &str, raw: &Option<RawField>| field(&format!("{T}.{k}"), raw, &parts, true);
    let table = RadioTable {
        join: join(t, T, &parts)?,
        extend_list: t
            .extend_list
            .as_ref()
            .map(|s| s.get_ref().trim().to_string()),
        radio: f("radio", &t.radio)?,
        band: f("band", &t.band)?,
        channel: f("channel", &t.channel)?,
        tx_power: f("tx_power", &t.tx_power)?,
        noise: f("noise", &t.noise)?,
        utilization: f("utilization", &t.utilization)?,
        clients: f("clients", &t.clients)?,
        ssid: f("ssid", &t.ssid)?,
        index: parts,
    };
    let fields: Vec<&Option<Field>> = table.named_fields().iter().map(|(_, f)| *f).collect();
    let extends = fields
        .iter()
        .filter(|f| {
            matches!(
                f,
                Some(Field {
                    source: Source::Extend(_),
                    ..
                })
            )
        })
        .count();
    let columns = fields
        .iter()
        .filter(|f| {
            matches!(
                f,
                Some(Field {
                    source: Source::Column(_),
                    ..
                })
            )
        })
        .count();
    if extends > 0 && columns > 0 {
        let at = t
            .channel
            .as_ref()
            .or(t.clients.as_ref())
            .map(|x| x.span().start);
        return Err(Invalid {
            offset: at,
            reason: "snmp radio_table: extend outputs and column OIDs cannot be mixed in one table"
                .into(),
        });
    }
    if let Some(l) = &t.extend_list {
        if extends == 0 {
            return Err(bad(l, "snmp radio_table.extend_list needs extend: fields"));
        }
    }
    Ok(table)
}

fn vap_table(t: &RawTable) -> Result<VapTable, Invalid> {
    const T: &str = "vap_table";
    only(
        t,
        T,
        &[
            "index",
            "ap_index_arcs",
            "ap_index",
            "ap_mac",
            "ap_name",
            "radio",
            "ssid",
            "bssid",
            "clients",
            "channel",
        ],
    )?;
    let parts = parse_index(&t.index, T)?;
    let f = |k: &str, raw: &Option<RawField>| field(&format!("{T}.{k}"), raw, &parts, false);
    Ok(VapTable {
        join: join(t, T, &parts)?,
        radio: f("radio", &t.radio)?,
        ssid: f("ssid", &t.ssid)?,
        bssid: f("bssid", &t.bssid)?,
        clients: f("clients", &t.clients)?,
        channel: f("channel", &t.channel)?,
        index: parts,
    })
}

fn wlan_table(t: &RawTable) -> Result<WlanTable, Invalid> {
    const T: &str = "wlan_table";
    only(t, T, &["index", "ssid", "clients"])?;
    let parts = parse_index(&t.index, T)?;
    let f = |k: &str, raw: &Option<RawField>| field(&format!("{T}.{k}"), raw, &parts, false);
    Ok(WlanTable {
        ssid: f("ssid", &t.ssid)?,
        clients: f("clients", &t.clients)?,
        index: parts,
    })
}

fn neighbour_table(t: &RawTable) -> Result<NeighbourTable, Invalid> {
    const T: &str = "neighbour_table";
    only(
        t,
        T,
        &[
            "index",
            "ap_index_arcs",
            "ap_index",
            "ap_mac",
            "ap_name",
            "neighbour",
            "rssi",
            "channel",
        ],
    )?;
    let parts = parse_index(&t.index, T)?;
    let f = |k: &str, raw: &Option<RawField>| field(&format!("{T}.{k}"), raw, &parts, false);
    let table = NeighbourTable {
        join: join(t, T, &parts)?,
        neighbour: f("neighbour", &t.neighbour)?,
        rssi: f("rssi", &t.rssi)?,
        channel: f("channel", &t.channel)?,
        index: parts,
    };
    if table.neighbour.is_none() || table.rssi.is_none() {
        return Err(Invalid {
            offset: None,
            reason: format!("snmp {T} needs neighbour and rssi"),
        });
    }
    Ok(table)
}

fn client_table(t: &RawTable) -> Result<ClientTable, Invalid> {
    const T: &str = "client_table";
    only(
        t,
        T,
        &["index", "mac", "ip", "user", "ap", "ssid", "rssi", "snr"],
    )?;
    let parts = parse_index(&t.index, T)?;
    let f = |k: &str, raw: &Option<RawField>| field(&format!("{T}.{k}"), raw, &parts, false);
    Ok(ClientTable {
        mac: f("mac", &t.mac)?,
        ip: f("ip", &t.ip)?,
        user: f("user", &t.user)?,
        ap: f("ap", &t.ap)?,
        ssid: f("ssid", &t.ssid)?,
        rssi: f("rssi", &t.rssi)?,
        snr: f("snr", &t.snr)?,
        index: parts,
    })
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
    let ap_table = raw.ap_table.as_ref().map(ap_table).transpose()?;
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
    let scalar = |k: &str, raw: &Option<RawField>| -> Result<Option<Field>, Invalid> {
        let f = field(k, raw, &[], false)?;
        if let (Some(f), Some(raw)) = (&f, raw) {
            if f.column_oid().is_none() {
                return Err(bad(raw, format!("snmp {k} must be an OID")));
            }
        }
        Ok(f)
    };
    Ok(SnmpProfile {
        role,
        max_repetitions,
        model: scalar("model", &raw.model)?,
        serial: scalar("serial", &raw.serial)?,
        firmware: scalar("firmware", &raw.firmware)?,
        clients: scalar("clients", &raw.clients)?,
        interfaces: raw.interfaces.unwrap_or(true),
        ap_table,
        radio_table: raw.radio_table.as_ref().map(radio_table).transpose()?,
        vap_table: raw.vap_table.as_ref().map(vap_table).transpose()?,
        wlan_table: raw.wlan_table.as_ref().map(wlan_table).transpose()?,
        client_table: raw.client_table.as_ref().map(client_table).transpose()?,
        neighbour_table: raw
            .neighbour_table
            .as_ref()
            .map(neighbour_table)
            .transpose()?,
        traps,
    })
}

impl SnmpProfile {
    /// The profile's name for a trap OID, with severity.
    pub fn trap(&self, oid: &Oid) -> Option<&TrapDef> {
        self.traps.iter().find(|t| &t.oid == oid)
    }

    /// Every field of the profile with where it is used (for `ap test`
    /// and the tests that check OIDs are confirmed or marked).
    pub fn fields(&self) -> Vec<(String, &Field)> {
        let scalars: Named = vec![
            ("model", &self.model),
            ("serial", &self.serial),
            ("firmware", &self.firmware),
            ("clients", &self.clients),
        ];
        let tables: [(&str, Named); 7] = [
            ("", scalars),
            (
                "ap_table.",
                self.ap_table
                    .iter()
                    .flat_map(ApTable::named_fields)
                    .collect(),
            ),
            (
                "radio_table.",
                self.radio_table
                    .iter()
                    .flat_map(RadioTable::named_fields)
                    .collect(),
            ),
            (
                "vap_table.",
                self.vap_table
                    .iter()
                    .flat_map(VapTable::named_fields)
                    .collect(),
            ),
            (
                "wlan_table.",
                self.wlan_table
                    .iter()
                    .flat_map(WlanTable::named_fields)
                    .collect(),
            ),
            (
                "client_table.",
                self.client_table
                    .iter()
                    .flat_map(ClientTable::named_fields)
                    .collect(),
            ),
            (
                "neighbour_table.",
                self.neighbour_table
                    .iter()
                    .flat_map(NeighbourTable::named_fields)
                    .collect(),
            ),
        ];
        let mut out = Vec::new();
        for (prefix, list) in tables {
            for (k, f) in list {
                if let Some(f) = f {
                    out.push((format!("{prefix}{k}"), f));
                }
            }
        }
        out
    }
}

/// A table's fields by name.
type Named<'a> = Vec<(&'static str, &'a Option<Field>)>;

// One list of each table's fields, for the OIDs to walk and for `fields`.
impl ApTable {
    pub fn named_fields(&self) -> [(&'static str, &Option<Field>); 8] {
        [
            ("name", &self.name),
            ("mac", &self.mac),
            ("ip", &self.ip),
            ("model", &self.model),
            ("serial", &self.serial),
            ("firmware", &self.firmware),
            ("status", &self.status),
            ("clients", &self.clients),
        ]
    }
}

impl RadioTable {
    pub fn named_fields(&self) -> [(&'static str, &Option<Field>); 10] {
        [
            ("ap_mac", &self.join.ap_mac),
            ("ap_name", &self.join.ap_name),
            ("radio", &self.radio),
            ("band", &self.band),
            ("channel", &self.channel),
            ("tx_power", &self.tx_power),
            ("noise", &self.noise),
            ("utilization", &self.utilization),
            ("clients", &self.clients),
            ("ssid", &self.ssid),
        ]
    }
}

impl VapTable {
    pub fn named_fields(&self) -> [(&'static str, &Option<Field>); 7] {
        [
            ("ap_mac", &self.join.ap_mac),
            ("ap_name", &self.join.ap_name),
            ("radio", &self.radio),
            ("ssid", &self.ssid),
            ("bssid", &self.bssid),
            ("clients", &self.clients),
            ("channel", &self.channel),
        ]
    }
}

impl WlanTable {
    pub fn named_fields(&self) -> [(&'static str, &Option<Field>); 2] {
        [("ssid", &self.ssid), ("clients", &self.clients)]
    }
}

impl NeighbourTable {
    pub fn named_fields(&self) -> [(&'static str, &Option<Field>); 5] {
        [
            ("ap_mac", &self.join.ap_mac),
            ("ap_name", &self.join.ap_name),
            ("neighbour", &self.neighbour),
            ("rssi", &self.rssi),
            ("channel", &self.channel),
        ]
    }
}

impl ClientTable {
    pub fn named_fields(&self) -> [(&'static str, &Option<Field>); 7] {
        [
            ("mac", &self.mac),
            ("ip", &self.ip),
            ("user", &self.user),
            ("ap", &self.ap),
            ("ssid", &self.ssid),
            ("rssi", &self.rssi),
            ("snr", &self.snr),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<SnmpProfile, String> {
        let raw: RawSnmp = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(raw).map_err(|e| e.reason)
    }

    #[test]
    fn malformed_sections_are_clear_errors() {
        let cases: [(&str, &str); 12] = [
            ("role = \"controller\"\n", "ap_table"),
            ("[ap_table]\nstatus = \"1.3.6.1.4.1.9.1\"\n", "up_values"),
            (
                "[radio_table]\nchannel = \"1.2.x\"\n",
                "radio_table.channel",
            ),
            (
                "[radio_table]\nchannel = \"index:radio\"\n",
                "no part \"radio\"",
            ),
            ("[radio_table]\nindex = [\"a:float\"]\n", "kind \"float\""),
            (
                "[radio_table]\nindex = [\"a:rest\", \"b:int\"]\n",
                "must be the last",
            ),
            ("[radio_table]\nindex = [\"a\", \"a\"]\n", "named twice"),
            (
                "[radio_table]\nnoise = { oid = \"1.3.6.1.4.1.9.1\", signed = 12 }\n",
                "not understood",
            ),
            (
                "[radio_table]\nnoise = { oid = \"1.3.6.1.4.1.9.1\", parse = \"hex\" }\n",
                "parse \"hex\"",
            ),
            ("[radio_table]\nnoise = { scale = 2 }\n", "needs oid"),
            (
                "[client_table]\nchannel = \"1.3.6.1.4.1.9.1\"\n",
                "unknown field `channel`",
            ),
            (
                "[radio_table]\nclients = \"extend:clients-{if}\"\nchannel = \"1.3.6.1.4.1.9.1\"\n",
                "cannot be mixed",
            ),
        ];
        for (text, want) in cases {
            let err = check(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        assert!(check("[client_table]\nrssi = \"extend:x\"\n")
            .unwrap_err()
            .contains("radio tables"));
        assert!(check("model = \"index\"\n")
            .unwrap_err()
            .contains("must be an OID"));
        let twice = "[[traps]]\noid = \"1.3.6.1.4.1.9.0.1\"\nname = \"x\"\n[[traps]]\noid = \"1.3.6.1.4.1.9.0.1\"\nname = \"y\"\n";
        assert!(check(twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn long_form_fields_keep_their_rules() {
        let p = check(
            r#"
            [radio_table]
            index = ["ap:lmac", "radio:int"]
            ap_mac = "index:ap"
            tx_power = { oid = "1.3.6.1.4.1.9.1.4", scale = 0.5, unconfirmed = "no MIB states the unit" }
            noise = { oid = "1.3.6.1.4.1.9.1.5", signed = 8, offset = 0 }
            "#,
        )
        .unwrap();
        let r = p.radio_table.as_ref().unwrap();
        assert_eq!(r.index[0].kind, PartKind::LMac);
        let tx = r.tx_power.as_ref().unwrap();
        assert_eq!(tx.scale, Some(Factor(0.5)));
        assert_eq!(tx.convert(35.0), Some(18));
        assert_eq!(r.noise.as_ref().unwrap().convert(164.0), Some(-92));
        assert_eq!(r.noise.as_ref().unwrap().convert(f64::NAN), None);
        let unconfirmed: Vec<String> = p
            .fields()
            .into_iter()
            .filter(|(_, f)| f.unconfirmed.is_some())
            .map(|(n, _)| n)
            .collect();
        assert_eq!(unconfirmed, ["radio_table.tx_power"]);
    }
}

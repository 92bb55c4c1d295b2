//! RADIUS dictionaries in the FreeRADIUS file format, read at run time.
//!
//! The format is line based: `ATTRIBUTE name code type [flags]`,
//! `VALUE attribute name number`, `VENDOR name id [format=t,l[,c]]`,
//! `BEGIN-VENDOR name` .. `END-VENDOR name`, `$INCLUDE file` (and the
//! optional `$INCLUDE- file`), `#` comments. We keep what a RADIUS server
//! needs (standard attributes, classic Vendor-Specific attributes, their
//! VALUE names) and accept the rest of the FreeRADIUS 3.x / 4.x syntax:
//!
//! * attributes below a TLV (`BEGIN-TLV`, v4 `BEGIN`), with a dotted code
//!   (`241.1`, `59.1`) or under an Extended-Vendor-Specific vendor are kept
//!   with their full dotted OID in [`AttributeDef::oid`] and are found by
//!   name only, never by [`Dictionary::attribute_by_code`];
//! * unknown data types are kept as [`AttrType::Other`] with the spelled
//!   name in [`AttributeDef::type_name`];
//! * v4 keywords we do not model (`PROTOCOL`, `FLAGS`, `MEMBER`, `STRUCT`,
//!   `ENUM`, `DEFINE`, `ALIAS`) and everything inside a non-RADIUS
//!   `BEGIN-PROTOCOL` block are skipped, counted and logged at debug level.
//!
//! Anything else (unknown keyword, missing field, bad number, unbalanced
//! blocks, include loops) is an error naming the file and line.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::domain::MacAddr;

/// How deep `$INCLUDE` may nest. The stock FreeRADIUS tree needs two.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// The most value bytes one RADIUS attribute can carry (255 - type - length).
pub const MAX_VALUE_LEN: usize = 253;

/// Data type of an attribute. Types we do not encode are `Other`; the name
/// as written in the file is in [`AttributeDef::type_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Octets,
    IpAddr,
    Ipv6Addr,
    Integer,
    Short,
    Byte,
    Date,
    Integer64,
    Ether,
    Signed,
    Other,
}

impl AttrType {
    /// Maps a FreeRADIUS type name (3.x names and their 4.x spellings,
    /// any case, with an optional `[size]` suffix) to a type.
    pub fn from_name(name: &str) -> AttrType {
        let base = name.split('[').next().unwrap_or(name).to_ascii_lowercase();
        match base.as_str() {
            "string" => AttrType::String,
            "octets" => AttrType::Octets,
            "ipaddr" | "ipv4addr" => AttrType::IpAddr,
            "ipv6addr" => AttrType::Ipv6Addr,
            "integer" | "uint32" => AttrType::Integer,
            "short" | "uint16" => AttrType::Short,
            "byte" | "uint8" => AttrType::Byte,
            "date" => AttrType::Date,
            "integer64" | "uint64" => AttrType::Integer64,
            "ether" => AttrType::Ether,
            "signed" | "int32" => AttrType::Signed,
            _ => AttrType::Other,
        }
    }
}

/// Type names [`encode_value`] can turn text into; profiles accept only these.
pub const ENCODABLE_TYPES: &[&str] = &[
    "string",
    "octets",
    "ipaddr",
    "ipv6addr",
    "integer",
    "short",
    "byte",
    "date",
    "integer64",
    "ether",
    "signed",
    "ipv4prefix",
    "ipv6prefix",
    "combo-ip",
    "ifid",
];

/// Whether [`encode_value`] supports the type spelled `type_name`.
pub fn is_encodable_type(type_name: &str) -> bool {
    let t = AttrType::from_name(type_name);
    let lower = type_name.to_ascii_lowercase();
    t != AttrType::Other || ENCODABLE_TYPES.contains(&lower.as_str())
}

/// One attribute definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: String,
    /// 0 for the standard space.
    pub vendor_id: u32,
    /// The attribute number; for attributes with an `oid`, its last component.
    pub code: u32,
    pub typ: AttrType,
    /// The type as written (lower case, without a `[size]`), e.g.
    /// `ipv6prefix` for `Other`.
    pub type_name: String,
    pub has_tag: bool,
    /// 0 none, 1 User-Password, 2 Tunnel-Password, 3 Ascend-Send-Secret.
    pub encrypt: u8,
    pub array: bool,
    pub concat: bool,
    /// Server-side only, never on the wire.
    pub is_virtual: bool,
    /// Full dotted OID (`241.1`, `26.5535.59.1`, ...) for attributes that
    /// are neither standard top-level nor classic Vendor-Specific ones.
    pub oid: Option<String>,
}

impl AttributeDef {
    /// A classic attribute (standard when `vendor_id` is 0, else a VSA).
    pub fn new(name: &str, vendor_id: u32, code: u32, type_name: &str) -> AttributeDef {
        AttributeDef {
            name: name.to_string(),
            vendor_id,
            code,
            typ: AttrType::from_name(type_name),
            // `octets[16]` and `octets` are one type; the size is not modelled.
            type_name: type_name
                .split('[')
                .next()
                .unwrap_or(type_name)
                .to_ascii_lowercase(),
            has_tag: false,
            encrypt: 0,
            array: false,
            concat: false,
            is_virtual: false,
            oid: None,
        }
    }

    /// Same definition apart from the name (used to accept repeated lines).
    fn same_shape(&self, other: &AttributeDef) -> bool {
        self.vendor_id == other.vendor_id
            && self.code == other.code
            && self.oid == other.oid
            && self.type_name == other.type_name
    }

    fn key(&self) -> AttrKey {
        match &self.oid {
            Some(oid) => AttrKey::Oid(oid.clone()),
            None => AttrKey::Code(self.vendor_id, self.code),
        }
    }

    /// Dotted OID of this attribute, also for classic ones (`81`, `26.9.1`).
    pub fn full_oid(&self) -> String {
        match (&self.oid, self.vendor_id) {
            (Some(oid), _) => oid.clone(),
            (None, 0) => self.code.to_string(),
            (None, v) => format!("26.{v}.{}", self.code),
        }
    }
}

/// A vendor and the layout of its Vendor-Specific sub-attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDef {
    pub name: String,
    pub id: u32,
    /// Bytes of the vendor-type field: 1, 2 or 4.
    pub type_len: u8,
    /// Bytes of the vendor-length field: 0, 1 or 2.
    pub len_len: u8,
    /// A continuation byte follows the length (WiMAX).
    pub continuation: bool,
}

impl VendorDef {
    /// A vendor with the usual 1-byte type, 1-byte length layout.
    pub fn new(name: &str, id: u32) -> VendorDef {
        VendorDef {
            name: name.to_string(),
            id,
            type_len: 1,
            len_len: 1,
            continuation: false,
        }
    }

    /// Largest vendor-type this vendor's layout can carry.
    pub fn max_code(&self) -> u32 {
        match self.type_len {
            1 => 0xff,
            2 => 0xffff,
            _ => u32::MAX,
        }
    }
}

/// Errors loading or parsing a dictionary. Each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("{}: cannot read dictionary: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: cannot read included file {}: {source}", path.display(), target.display())]
    Include {
        path: PathBuf,
        line: usize,
        target: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {reason}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{}:{line}: $INCLUDE nested more than {MAX_INCLUDE_DEPTH} files deep", path.display())]
    IncludeDepth { path: PathBuf, line: usize },
    #[error("{}:{line}: $INCLUDE of {} loops back to a file that is still being read", path.display(), target.display())]
    IncludeCycle {
        path: PathBuf,
        line: usize,
        target: PathBuf,
    },
}

/// A textual value that does not fit its attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute {attribute}: {reason}")]
pub struct ValueError {
    pub attribute: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AttrKey {
    Code(u32, u32),
    Oid(String),
}

/// VALUE names of one attribute.
#[derive(Debug, Clone, Default)]
struct ValueTable {
    /// lower-case name -> (name as written, number)
    by_name: HashMap<String, (String, u64)>,
    /// number -> name; the last VALUE for a number wins, as in FreeRADIUS.
    by_number: HashMap<u64, String>,
}

impl ValueTable {
    fn insert(&mut self, name: &str, number: u64) {
        self.by_name
            .insert(name.to_ascii_lowercase(), (name.to_string(), number));
        self.by_number.insert(number, name.to_string());
    }

    fn absorb(&mut self, other: ValueTable) {
        for (lower, (name, number)) in other.by_name {
            self.by_name.insert(lower, (name, number));
        }
        self.by_number.extend(other.by_number);
    }
}

/// A set of attribute, vendor and value definitions.
#[derive(Default, Clone)]
pub struct Dictionary {
    attrs: Vec<AttributeDef>,
    by_name: HashMap<String, usize>,
    by_code: HashMap<(u32, u32), usize>,
    vendors: Vec<VendorDef>,
    vendor_by_name: HashMap<String, usize>,
    vendor_by_id: HashMap<u32, usize>,
    values: HashMap<AttrKey, ValueTable>,
    /// VALUE lines whose ATTRIBUTE is not known (yet), by lower-case name.
    pending_values: HashMap<String, ValueTable>,
    skipped: usize,
}

impl fmt::Debug for Dictionary {
    // The full tables run to tens of thousands of entries; logs want counts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dictionary")
            .field("attributes", &self.by_name.len())
            .field("vendors", &self.vendor_by_name.len())
            .field("value_tables", &self.values.len())
            .field("skipped_lines", &self.skipped)
            .finish()
    }
}

/// Which conflicts an insertion tolerates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    /// Parsing one tree: a name may only be repeated with the same meaning.
    Refuse,
    /// `merge`: the newer definition replaces the older.
    Replace,
}

impl Dictionary {
    /// Reads `path` and everything it `$INCLUDE`s (paths relative to the
    /// including file's directory).
    pub fn load_file(path: &Path) -> Result<Dictionary, DictionaryError> {
        let mut dict = Dictionary::default();
        let mut parser = Parser {
            dict: &mut dict,
            open: Vec::new(),
            frames: Vec::new(),
        };
        parser.file(path, None)?;
        dict.resolve_pending_values();
        Ok(dict)
    }

    /// Parses dictionary text that is not in a file. `origin` names it in
    /// errors. `$INCLUDE` is refused here: there is no file to be relative
    /// to, and resolving against the working directory would make the
    /// result depend on where the process was started.
    pub fn parse_str(text: &str, origin: &str) -> Result<Dictionary, DictionaryError> {
        let mut dict = Dictionary::default();
        let mut parser = Parser {
            dict: &mut dict,
            open: Vec::new(),
            frames: Vec::new(),
        };
        parser.text(text, Path::new(origin), None)?;
        dict.resolve_pending_values();
        Ok(dict)
    }

    /// Adds `other`'s definitions; on a conflict `other` wins.
    pub fn merge(&mut self, other: Dictionary) {
        for vendor in other.vendors {
            self.put_vendor(vendor);
        }
        // Only definitions still reachable by name are current; adding them
        // in their original order keeps "last defined wins" for numbers.
        let mut live: Vec<usize> = other.by_name.values().copied().collect();
        live.sort_unstable();
        for def in live.into_iter().filter_map(|i| other.attrs.get(i)) {
            // Replace never refuses.
            let _ = self.add_attribute(def.clone(), OnConflict::Replace);
        }
        for (key, table) in other.values {
            self.values.entry(key).or_default().absorb(table);
        }
        for (name, table) in other.pending_values {
            self.pending_values.entry(name).or_default().absorb(table);
        }
        self.skipped += other.skipped;
        self.resolve_pending_values();
    }

    /// Adds a vendor; an existing one with the same name or id is replaced.
    pub fn insert_vendor(&mut self, vendor: VendorDef) {
        self.put_vendor(vendor);
    }

    /// Adds an attribute; an existing one with the same name is replaced.
    pub fn insert_attribute(&mut self, def: AttributeDef) {
        let _ = self.add_attribute(def, OnConflict::Replace);
        self.resolve_pending_values();
    }

    /// Looks an attribute up by name, ignoring case.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        let idx = *self.by_name.get(&name.to_ascii_lowercase())?;
        self.attrs.get(idx)
    }

    /// A standard (`vendor_id` 0) or classic Vendor-Specific attribute by
    /// number. When several names share a number, the last defined wins.
    pub fn attribute_by_code(&self, vendor_id: u32, code: u32) -> Option<&AttributeDef> {
        let idx = *self.by_code.get(&(vendor_id, code))?;
        self.attrs.get(idx)
    }

    /// The number of a VALUE name of an attribute, ignoring case.
    pub fn value_number(&self, attribute: &str, value_name: &str) -> Option<u64> {
        let table = self.values_of(attribute)?;
        table
            .by_name
            .get(&value_name.to_ascii_lowercase())
            .map(|(_, n)| *n)
    }

    /// The VALUE name of a number of an attribute.
    pub fn value_name(&self, attribute: &str, number: u64) -> Option<&str> {
        let table = self.values_of(attribute)?;
        table.by_number.get(&number).map(String::as_str)
    }

    /// A vendor's id by its name, ignoring case.
    pub fn vendor_id(&self, vendor_name: &str) -> Option<u32> {
        let idx = *self.vendor_by_name.get(&vendor_name.to_ascii_lowercase())?;
        self.vendors.get(idx).map(|v| v.id)
    }

    /// A vendor by id.
    pub fn vendor(&self, vendor_id: u32) -> Option<&VendorDef> {
        let idx = *self.vendor_by_id.get(&vendor_id)?;
        self.vendors.get(idx)
    }

    /// Every current attribute definition (in no particular order).
    pub fn attributes(&self) -> impl Iterator<Item = &AttributeDef> {
        self.by_name.values().filter_map(|&i| self.attrs.get(i))
    }

    /// Number of attribute names defined.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Lines of valid syntax that were not modelled (see module docs).
    pub fn skipped_lines(&self) -> usize {
        self.skipped
    }

    fn values_of(&self, attribute: &str) -> Option<&ValueTable> {
        if let Some(def) = self.attribute(attribute) {
            if let Some(t) = self.values.get(&def.key()) {
                return Some(t);
            }
        }
        self.pending_values.get(&attribute.to_ascii_lowercase())
    }

    fn put_vendor(&mut self, vendor: VendorDef) {
        let lower = vendor.name.to_ascii_lowercase();
        let existing = self.vendor_by_name.get(&lower).copied();
        let idx = match existing.and_then(|i| self.vendors.get_mut(i).map(|slot| (i, slot))) {
            Some((i, slot)) => {
                *slot = vendor.clone();
                i
            }
            None => {
                self.vendors.push(vendor.clone());
                self.vendors.len() - 1
            }
        };
        self.vendor_by_name.insert(lower, idx);
        self.vendor_by_id.insert(vendor.id, idx);
    }

    /// Adds a definition. Errors carry the reason only; the parser adds
    /// the location.
    fn add_attribute(&mut self, def: AttributeDef, on_conflict: OnConflict) -> Result<(), String> {
        let lower = def.name.to_ascii_lowercase();
        if let Some(&old_idx) = self.by_name.get(&lower) {
            if let Some(old) = self.attrs.get(old_idx) {
                if old.same_shape(&def) && on_conflict == OnConflict::Refuse {
                    // Repeated identical definition (diamond includes): keep the first.
                    return Ok(());
                }
                if on_conflict == OnConflict::Refuse {
                    return Err(format!(
                        "attribute {} is already defined as {} {} (vendor {})",
                        def.name,
                        old.full_oid(),
                        old.type_name,
                        old.vendor_id
                    ));
                }
                // Replacing: drop the old number's entry if it still points here.
                if old.oid.is_none() {
                    let old_code = (old.vendor_id, old.code);
                    if self.by_code.get(&old_code) == Some(&old_idx) {
                        self.by_code.remove(&old_code);
                    }
                }
            }
        }
        let idx = self.attrs.len();
        if def.oid.is_none() {
            self.by_code.insert((def.vendor_id, def.code), idx);
        }
        self.attrs.push(def);
        self.by_name.insert(lower, idx);
        Ok(())
    }

    fn add_value(&mut self, attribute: &str, name: &str, number: u64) {
        match self.attribute(attribute).map(AttributeDef::key) {
            Some(key) => self.values.entry(key).or_default().insert(name, number),
            None => self
                .pending_values
                .entry(attribute.to_ascii_lowercase())
                .or_default()
                .insert(name, number),
        }
    }

    /// Files may give VALUEs before the ATTRIBUTE (or in another file).
    fn resolve_pending_values(&mut self) {
        let pending = std::mem::take(&mut self.pending_values);
        for (name, table) in pending {
            match self.attribute(&name).map(AttributeDef::key) {
                Some(key) => self.values.entry(key).or_default().absorb(table),
                None => {
                    self.pending_values.insert(name, table);
                }
            }
        }
    }
}

/// The standard attributes Portico itself needs (RFC 2865, 2866, 2868,
/// 2869, 3162, 3580, 4372, 4675, 4818, 5176, 6911 and the Microsoft
/// vendor attributes of RFC 2548), used when no system dictionary is
/// configured. Names, numbers and types follow the RFCs and the names
/// FreeRADIUS uses, so either dictionary resolves the same spelling.
const STANDARD: &str = r#"
# RFC 2865
ATTRIBUTE User-Name 1 string
ATTRIBUTE User-Password 2 string encrypt=1
ATTRIBUTE CHAP-Password 3 octets
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE NAS-Port 5 integer
ATTRIBUTE Service-Type 6 integer
ATTRIBUTE Framed-Protocol 7 integer
ATTRIBUTE Framed-IP-Address 8 ipaddr
ATTRIBUTE Framed-IP-Netmask 9 ipaddr
ATTRIBUTE Framed-Routing 10 integer
ATTRIBUTE Filter-Id 11 string
ATTRIBUTE Framed-MTU 12 integer
ATTRIBUTE Framed-Compression 13 integer
ATTRIBUTE Login-IP-Host 14 ipaddr
ATTRIBUTE Login-Service 15 integer
ATTRIBUTE Login-TCP-Port 16 integer
ATTRIBUTE Reply-Message 18 string
ATTRIBUTE Callback-Number 19 string
ATTRIBUTE Callback-Id 20 string
ATTRIBUTE Framed-Route 22 string
ATTRIBUTE Framed-IPX-Network 23 ipaddr
ATTRIBUTE State 24 octets
ATTRIBUTE Class 25 octets
ATTRIBUTE Vendor-Specific 26 vsa
ATTRIBUTE Session-Timeout 27 integer
ATTRIBUTE Idle-Timeout 28 integer
ATTRIBUTE Termination-Action 29 integer
ATTRIBUTE Called-Station-Id 30 string
ATTRIBUTE Calling-Station-Id 31 string
ATTRIBUTE NAS-Identifier 32 string
ATTRIBUTE Proxy-State 33 octets
ATTRIBUTE CHAP-Challenge 60 octets
ATTRIBUTE NAS-Port-Type 61 integer
ATTRIBUTE Port-Limit 62 integer

VALUE Service-Type Login-User 1
VALUE Service-Type Framed-User 2
VALUE Service-Type Callback-Login-User 3
VALUE Service-Type Callback-Framed-User 4
VALUE Service-Type Outbound-User 5
VALUE Service-Type Administrative-User 6
VALUE Service-Type NAS-Prompt-User 7
VALUE Service-Type Authenticate-Only 8
VALUE Service-Type Callback-NAS-Prompt 9
VALUE Service-Type Call-Check 10
VALUE Service-Type Callback-Administrative 11
VALUE Framed-Protocol PPP 1
VALUE Termination-Action Default 0
VALUE Termination-Action RADIUS-Request 1
VALUE NAS-Port-Type Async 0
VALUE NAS-Port-Type Virtual 5
VALUE NAS-Port-Type Ethernet 15
VALUE NAS-Port-Type Wireless-802.11 19

# RFC 2866, 2867, 2869
ATTRIBUTE Acct-Status-Type 40 integer
ATTRIBUTE Acct-Delay-Time 41 integer
ATTRIBUTE Acct-Input-Octets 42 integer
ATTRIBUTE Acct-Output-Octets 43 integer
ATTRIBUTE Acct-Session-Id 44 string
ATTRIBUTE Acct-Authentic 45 integer
ATTRIBUTE Acct-Session-Time 46 integer
ATTRIBUTE Acct-Input-Packets 47 integer
ATTRIBUTE Acct-Output-Packets 48 integer
ATTRIBUTE Acct-Terminate-Cause 49 integer
ATTRIBUTE Acct-Multi-Session-Id 50 string
ATTRIBUTE Acct-Link-Count 51 integer
ATTRIBUTE Acct-Input-Gigawords 52 integer
ATTRIBUTE Acct-Output-Gigawords 53 integer
ATTRIBUTE Event-Timestamp 55 date
ATTRIBUTE Connect-Info 77 string
ATTRIBUTE EAP-Message 79 octets concat
ATTRIBUTE Message-Authenticator 80 octets
ATTRIBUTE Acct-Interim-Interval 85 integer
ATTRIBUTE NAS-Port-Id 87 string
ATTRIBUTE Framed-Pool 88 string

VALUE Acct-Status-Type Start 1
VALUE Acct-Status-Type Stop 2
VALUE Acct-Status-Type Interim-Update 3
VALUE Acct-Status-Type Accounting-On 7
VALUE Acct-Status-Type Accounting-Off 8
VALUE Acct-Authentic RADIUS 1
VALUE Acct-Authentic Local 2
VALUE Acct-Authentic Remote 3
VALUE Acct-Terminate-Cause User-Request 1
VALUE Acct-Terminate-Cause Lost-Carrier 2
VALUE Acct-Terminate-Cause Lost-Service 3
VALUE Acct-Terminate-Cause Idle-Timeout 4
VALUE Acct-Terminate-Cause Session-Timeout 5
VALUE Acct-Terminate-Cause Admin-Reset 6
VALUE Acct-Terminate-Cause Admin-Reboot 7
VALUE Acct-Terminate-Cause Port-Error 8
VALUE Acct-Terminate-Cause NAS-Error 9
VALUE Acct-Terminate-Cause NAS-Request 10
VALUE Acct-Terminate-Cause NAS-Reboot 11
VALUE Acct-Terminate-Cause Port-Unneeded 12
VALUE Acct-Terminate-Cause Port-Preempted 13
VALUE Acct-Terminate-Cause Port-Suspended 14
VALUE Acct-Terminate-Cause Service-Unavailable 15
VALUE Acct-Terminate-Cause Callback 16
VALUE Acct-Terminate-Cause User-Error 17
VALUE Acct-Terminate-Cause Host-Request 18

# RFC 2868 tunnel attributes; RFC 3580 VLAN values
ATTRIBUTE Tunnel-Type 64 integer has_tag
ATTRIBUTE Tunnel-Medium-Type 65 integer has_tag
ATTRIBUTE Tunnel-Client-Endpoint 66 string has_tag
ATTRIBUTE Tunnel-Server-Endpoint 67 string has_tag
ATTRIBUTE Tunnel-Password 69 string has_tag,encrypt=2
ATTRIBUTE Tunnel-Private-Group-Id 81 string has_tag
ATTRIBUTE Tunnel-Assignment-Id 82 string has_tag
ATTRIBUTE Tunnel-Preference 83 integer has_tag
ATTRIBUTE Tunnel-Client-Auth-Id 90 string has_tag
ATTRIBUTE Tunnel-Server-Auth-Id 91 string has_tag

VALUE Tunnel-Type PPTP 1
VALUE Tunnel-Type L2TP 3
VALUE Tunnel-Type GRE 10
VALUE Tunnel-Type VLAN 13
VALUE Tunnel-Medium-Type IPv4 1
VALUE Tunnel-Medium-Type IPv6 2
VALUE Tunnel-Medium-Type IEEE-802 6

# RFC 4372, 4675, 5176
ATTRIBUTE Chargeable-User-Identity 89 octets
ATTRIBUTE Egress-VLANID 56 integer
ATTRIBUTE Ingress-Filters 57 integer
ATTRIBUTE Egress-VLAN-Name 58 string
ATTRIBUTE User-Priority-Table 59 octets
ATTRIBUTE Error-Cause 101 integer

# RFC 3162, 4818, 6911
ATTRIBUTE NAS-IPv6-Address 95 ipv6addr
ATTRIBUTE Framed-Interface-Id 96 ifid
ATTRIBUTE Framed-IPv6-Prefix 97 ipv6prefix
ATTRIBUTE Login-IPv6-Host 98 ipv6addr
ATTRIBUTE Framed-IPv6-Route 99 string
ATTRIBUTE Framed-IPv6-Pool 100 string
ATTRIBUTE Delegated-IPv6-Prefix 123 ipv6prefix
ATTRIBUTE Framed-IPv6-Address 168 ipv6addr
ATTRIBUTE DNS-Server-IPv6-Address 169 ipv6addr

# RFC 2548 (vendor 311)
VENDOR Microsoft 311
BEGIN-VENDOR Microsoft
ATTRIBUTE MS-CHAP-Response 1 octets
ATTRIBUTE MS-CHAP-Error 2 string
ATTRIBUTE MS-MPPE-Encryption-Policy 7 integer
ATTRIBUTE MS-MPPE-Encryption-Types 8 integer
ATTRIBUTE MS-CHAP-Challenge 11 octets
ATTRIBUTE MS-CHAP-MPPE-Keys 12 octets encrypt=1
ATTRIBUTE MS-MPPE-Send-Key 16 octets encrypt=2
ATTRIBUTE MS-MPPE-Recv-Key 17 octets encrypt=2
ATTRIBUTE MS-CHAP2-Response 25 octets
ATTRIBUTE MS-CHAP2-Success 26 octets
END-VENDOR Microsoft
"#;

/// The built-in standard dictionary (see the list above).
pub fn standard() -> &'static Dictionary {
    static STD: OnceLock<Dictionary> = OnceLock::new();
    STD.get_or_init(
        || match Dictionary::parse_str(STANDARD, "<built-in standard dictionary>") {
            Ok(d) => d,
            Err(e) => {
                // Cannot happen with the constant text (a unit test parses it).
                tracing::error!(error = %e, "built-in standard dictionary does not parse");
                Dictionary::default()
            }
        },
    )
}

/// Block opened by a BEGIN-* line.
#[derive(Debug, Clone)]
enum Block {
    Vendor {
        name: String,
        id: u32,
        evs_parent: Option<u32>,
    },
    /// BEGIN-TLV (3.x) or BEGIN (4.x): children of an attribute.
    Tlv {
        keyword: &'static str,
        name: String,
        vendor_id: u32,
        oid: String,
    },
    Protocol {
        name: String,
        skip: bool,
    },
}

#[derive(Debug, Clone)]
struct Frame {
    block: Block,
    /// File and line of the BEGIN, for errors about a missing END.
    path: PathBuf,
    line: usize,
}

struct Parser<'a> {
    dict: &'a mut Dictionary,
    /// Canonical paths of the files being read, outermost first.
    open: Vec<PathBuf>,
    /// BEGIN-* blocks currently open, across included files.
    frames: Vec<Frame>,
}

/// Where a line is, for errors.
struct At<'p> {
    path: &'p Path,
    line: usize,
}

impl At<'_> {
    fn err(&self, reason: impl Into<String>) -> DictionaryError {
        DictionaryError::Syntax {
            path: self.path.to_path_buf(),
            line: self.line,
            reason: reason.into(),
        }
    }
}

impl Parser<'_> {
    /// Reads one file. `from` is the including file and line, if any.
    fn file(&mut self, path: &Path, from: Option<(&Path, usize)>) -> Result<(), DictionaryError> {
        let io_err = |source: std::io::Error| match from {
            Some((p, line)) => DictionaryError::Include {
                path: p.to_path_buf(),
                line,
                target: path.to_path_buf(),
                source,
            },
            None => DictionaryError::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        let canonical = std::fs::canonicalize(path).map_err(io_err)?;
        if let Some((p, line)) = from {
            if self.open.contains(&canonical) {
                return Err(DictionaryError::IncludeCycle {
                    path: p.to_path_buf(),
                    line,
                    target: path.to_path_buf(),
                });
            }
            if self.open.len() > MAX_INCLUDE_DEPTH {
                return Err(DictionaryError::IncludeDepth {
                    path: p.to_path_buf(),
                    line,
                });
            }
        }
        let bytes = std::fs::read(path).map_err(io_err)?;
        // Some vendor files carry Latin-1 in comments; the syntax is ASCII.
        let text = String::from_utf8_lossy(&bytes);
        self.open.push(canonical);
        let result = self.text(&text, path, Some(path));
        self.open.pop();
        result
    }

    /// Parses text. `dir_of` is the file it came from (includes resolve
    /// next to it); `None` refuses includes.
    fn text(
        &mut self,
        text: &str,
        path: &Path,
        dir_of: Option<&Path>,
    ) -> Result<(), DictionaryError> {
        let base = self.frames.len();
        for (idx, raw) in text.lines().enumerate() {
            let at = At {
                path,
                line: idx + 1,
            };
            let content = raw.split('#').next().unwrap_or("");
            let tokens: Vec<&str> = content.split_whitespace().collect();
            let Some(keyword) = tokens.first() else {
                continue;
            };
            self.line(keyword, &tokens, &at, base, dir_of)?;
        }
        if let Some(open) = self.frames.get(base) {
            let (kw, name) = match &open.block {
                Block::Vendor { name, .. } => ("BEGIN-VENDOR", name),
                Block::Tlv { keyword, name, .. } => (*keyword, name),
                Block::Protocol { name, .. } => ("BEGIN-PROTOCOL", name),
            };
            return Err(DictionaryError::Syntax {
                path: open.path.clone(),
                line: open.line,
                reason: format!("{kw} {name} is not closed before the end of the file"),
            });
        }
        Ok(())
    }

    fn in_skipped_protocol(&self) -> bool {
        self.frames
            .iter()
            .any(|f| matches!(f.block, Block::Protocol { skip: true, .. }))
    }

    fn skip(&mut self, at: &At, what: &str) {
        self.dict.skipped += 1;
        tracing::debug!(file = %at.path.display(), line = at.line, "dictionary: skipping {what}");
    }

    fn line(
        &mut self,
        keyword: &str,
        tokens: &[&str],
        at: &At,
        base: usize,
        dir_of: Option<&Path>,
    ) -> Result<(), DictionaryError> {
        let upper = keyword.to_ascii_uppercase();
        let skipping = self.in_skipped_protocol();
        match upper.as_str() {
            "$INCLUDE" | "$INCLUDE-" if skipping => {
                self.skip(at, "$INCLUDE inside a non-RADIUS protocol");
                Ok(())
            }
            "$INCLUDE" | "$INCLUDE-" => self.include(upper == "$INCLUDE-", tokens, at, dir_of),
            "BEGIN-PROTOCOL" => {
                let name = arg(tokens, 1, at, "BEGIN-PROTOCOL needs a protocol name")?;
                let skip = skipping || !name.eq_ignore_ascii_case("RADIUS");
                self.push(
                    Block::Protocol {
                        name: name.to_string(),
                        skip,
                    },
                    at,
                );
                if skip {
                    self.skip(at, "BEGIN-PROTOCOL of another protocol");
                }
                Ok(())
            }
            "END-PROTOCOL" => self.end(tokens, at, base, "END-PROTOCOL", "BEGIN-PROTOCOL"),
            "BEGIN-TLV" | "BEGIN" if skipping => {
                let name = arg(tokens, 1, at, &format!("{upper} needs an attribute name"))?;
                let keyword = if upper == "BEGIN" {
                    "BEGIN"
                } else {
                    "BEGIN-TLV"
                };
                self.push(
                    Block::Tlv {
                        keyword,
                        name: name.to_string(),
                        vendor_id: 0,
                        oid: String::new(),
                    },
                    at,
                );
                Ok(())
            }
            "BEGIN-TLV" | "BEGIN" => self.begin_tlv(&upper, tokens, at),
            "END-TLV" => self.end(tokens, at, base, "END-TLV", "BEGIN-TLV"),
            "END" => self.end(tokens, at, base, "END", "BEGIN"),
            "BEGIN-VENDOR" if skipping => {
                let name = arg(tokens, 1, at, "BEGIN-VENDOR needs a vendor name")?;
                self.push(
                    Block::Vendor {
                        name: name.to_string(),
                        id: 0,
                        evs_parent: None,
                    },
                    at,
                );
                Ok(())
            }
            "BEGIN-VENDOR" => self.begin_vendor(tokens, at),
            "END-VENDOR" => self.end(tokens, at, base, "END-VENDOR", "BEGIN-VENDOR"),
            "ATTRIBUTE" | "VALUE" | "VENDOR" if skipping => {
                self.skip(at, "a definition inside a non-RADIUS protocol");
                Ok(())
            }
            "ATTRIBUTE" => self.attribute(tokens, at),
            "VALUE" => self.value(tokens, at),
            "VENDOR" => self.vendor(tokens, at),
            // Real FreeRADIUS 4 keywords we have no use for (yet).
            "PROTOCOL" | "FLAGS" | "MEMBER" | "STRUCT" | "ENUM" | "DEFINE" | "ALIAS" => {
                self.skip(at, &upper);
                Ok(())
            }
            _ => Err(at.err(format!("unknown keyword {keyword:?}"))),
        }
    }

    fn push(&mut self, block: Block, at: &At) {
        self.frames.push(Frame {
            block,
            path: at.path.to_path_buf(),
            line: at.line,
        });
    }

    fn include(
        &mut self,
        optional: bool,
        tokens: &[&str],
        at: &At,
        dir_of: Option<&Path>,
    ) -> Result<(), DictionaryError> {
        let target = arg(tokens, 1, at, "$INCLUDE needs a file name")?;
        if tokens.len() > 2 {
            return Err(at.err("$INCLUDE takes exactly one file name"));
        }
        let Some(including) = dir_of else {
            return Err(
                at.err("$INCLUDE is not allowed in dictionary text that is not read from a file")
            );
        };
        let dir = including.parent().unwrap_or(Path::new("."));
        let full = dir.join(target);
        if optional && !full.exists() {
            tracing::debug!(file = %at.path.display(), line = at.line, target = %full.display(), "optional $INCLUDE- not found");
            return Ok(());
        }
        self.file(&full, Some((at.path, at.line)))
    }

    fn begin_vendor(&mut self, tokens: &[&str], at: &At) -> Result<(), DictionaryError> {
        let name = arg(tokens, 1, at, "BEGIN-VENDOR needs a vendor name")?;
        let id = self.dict.vendor_id(name).ok_or_else(|| {
            at.err(format!(
                "BEGIN-VENDOR {name}: unknown vendor (no VENDOR line before it)"
            ))
        })?;
        let mut evs_parent = None;
        for opt in tokens.iter().skip(2) {
            let value = opt
                .strip_prefix("format=")
                .or_else(|| opt.strip_prefix("parent="))
                .ok_or_else(|| at.err(format!("BEGIN-VENDOR {name}: unknown option {opt:?}")))?;
            let n = value
                .strip_prefix("Extended-Vendor-Specific-")
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| (1..=6).contains(n))
                .ok_or_else(|| {
                    at.err(format!(
                        "BEGIN-VENDOR {name}: {opt:?} is not Extended-Vendor-Specific-1 .. -6"
                    ))
                })?;
            evs_parent = Some(240 + n);
        }
        self.push(
            Block::Vendor {
                name: name.to_string(),
                id,
                evs_parent,
            },
            at,
        );
        Ok(())
    }

    fn begin_tlv(&mut self, upper: &str, tokens: &[&str], at: &At) -> Result<(), DictionaryError> {
        let name = arg(tokens, 1, at, &format!("{upper} needs an attribute name"))?;
        let parent = self
            .dict
            .attribute(name)
            .ok_or_else(|| at.err(format!("{upper} {name}: unknown attribute")))?;
        if upper == "BEGIN-TLV" && parent.type_name != "tlv" {
            return Err(at.err(format!(
                "BEGIN-TLV {name}: attribute is of type {}, not tlv",
                parent.type_name
            )));
        }
        let block = Block::Tlv {
            keyword: if upper == "BEGIN" {
                "BEGIN"
            } else {
                "BEGIN-TLV"
            },
            name: name.to_string(),
            vendor_id: parent.vendor_id,
            oid: parent.full_oid(),
        };
        self.push(block, at);
        Ok(())
    }

    fn end(
        &mut self,
        tokens: &[&str],
        at: &At,
        base: usize,
        keyword: &str,
        begin: &str,
    ) -> Result<(), DictionaryError> {
        let name = arg(tokens, 1, at, &format!("{keyword} needs a name"))?;
        let top = if self.frames.len() > base {
            self.frames.last()
        } else {
            None
        };
        let Some(top) = top else {
            return Err(at.err(format!("{keyword} {name} without {begin} in this file")));
        };
        let matches = match &top.block {
            Block::Vendor { name: n, .. } => {
                keyword == "END-VENDOR" && n.eq_ignore_ascii_case(name)
            }
            Block::Tlv {
                keyword: k,
                name: n,
                ..
            } => {
                ((keyword == "END-TLV" && *k == "BEGIN-TLV") || (keyword == "END" && *k == "BEGIN"))
                    && n.eq_ignore_ascii_case(name)
            }
            Block::Protocol { name: n, .. } => {
                keyword == "END-PROTOCOL" && n.eq_ignore_ascii_case(name)
            }
        };
        if !matches {
            let open = match &top.block {
                Block::Vendor { name, .. } => format!("BEGIN-VENDOR {name}"),
                Block::Tlv { keyword, name, .. } => format!("{keyword} {name}"),
                Block::Protocol { name, .. } => format!("BEGIN-PROTOCOL {name}"),
            };
            return Err(at.err(format!(
                "{keyword} {name} does not close the open {open} (line {})",
                top.line
            )));
        }
        self.frames.pop();
        Ok(())
    }

    fn vendor(&mut self, tokens: &[&str], at: &At) -> Result<(), DictionaryError> {
        let name = arg(tokens, 1, at, "VENDOR needs a name and a number")?;
        let id_text = arg(tokens, 2, at, "VENDOR needs a name and a number")?;
        let id = parse_u32(id_text)
            .ok_or_else(|| at.err(format!("VENDOR {name}: bad vendor number {id_text:?}")))?;
        if id == 0 {
            return Err(at.err(format!(
                "VENDOR {name}: vendor number 0 is the standard space"
            )));
        }
        let mut vendor = VendorDef::new(name, id);
        for opt in tokens.iter().skip(3) {
            let format = opt
                .strip_prefix("format=")
                .ok_or_else(|| at.err(format!("VENDOR {name}: unknown option {opt:?}")))?;
            parse_vendor_format(format, &mut vendor)
                .map_err(|reason| at.err(format!("VENDOR {name}: {reason}")))?;
        }
        if let Some(old_id) = self.dict.vendor_id(name) {
            if old_id != id {
                return Err(at.err(format!(
                    "VENDOR {name} is already defined with number {old_id}"
                )));
            }
        }
        self.dict.put_vendor(vendor);
        Ok(())
    }

    fn attribute(&mut self, tokens: &[&str], at: &At) -> Result<(), DictionaryError> {
        const USAGE: &str = "ATTRIBUTE needs a name, a number and a type";
        let name = arg(tokens, 1, at, USAGE)?;
        let code_text = arg(tokens, 2, at, USAGE)?;
        let type_text = arg(tokens, 3, at, USAGE)?;
        if tokens.len() > 5 {
            let extra = tokens.get(5..).unwrap_or_default().join(" ");
            return Err(at.err(format!(
                "ATTRIBUTE {name}: unexpected {extra:?} after the flags"
            )));
        }
        let parts: Vec<u32> = code_text
            .split('.')
            .map(parse_u32)
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| {
                at.err(format!(
                    "ATTRIBUTE {name}: bad attribute number {code_text:?}"
                ))
            })?;
        let Some(&code) = parts.last() else {
            return Err(at.err(format!(
                "ATTRIBUTE {name}: bad attribute number {code_text:?}"
            )));
        };
        let mut def = AttributeDef::new(name, 0, code, type_text);
        // Place the attribute: inside a TLV, under a vendor, or top level.
        let context = self
            .frames
            .iter()
            .rev()
            .find(|f| matches!(f.block, Block::Vendor { .. } | Block::Tlv { .. }));
        match context.map(|f| &f.block) {
            Some(Block::Tlv { vendor_id, oid, .. }) => {
                def.vendor_id = *vendor_id;
                def.oid = Some(format!("{oid}.{code_text}"));
            }
            Some(Block::Vendor {
                id,
                evs_parent,
                name: vname,
            }) => {
                def.vendor_id = *id;
                if let Some(parent) = evs_parent {
                    def.oid = Some(format!("{parent}.26.{id}.{code_text}"));
                } else if parts.len() > 1 {
                    def.oid = Some(format!("26.{id}.{code_text}"));
                } else if let Some(v) = self.dict.vendor(*id) {
                    if code > v.max_code() {
                        return Err(at.err(format!(
                            "ATTRIBUTE {name}: number {code} does not fit vendor {vname}'s {}-byte type field",
                            v.type_len
                        )));
                    }
                }
            }
            _ => {
                if parts.len() > 1 {
                    def.oid = Some(code_text.to_string());
                }
            }
        }
        if let Some(flags) = tokens.get(4) {
            apply_flags(&mut def, flags)
                .map_err(|reason| at.err(format!("ATTRIBUTE {name}: {reason}")))?;
        }
        self.dict
            .add_attribute(def, OnConflict::Refuse)
            .map_err(|reason| at.err(reason))
    }

    fn value(&mut self, tokens: &[&str], at: &At) -> Result<(), DictionaryError> {
        const USAGE: &str = "VALUE needs an attribute, a name and a number";
        let attribute = arg(tokens, 1, at, USAGE)?;
        let name = arg(tokens, 2, at, USAGE)?;
        let number_text = arg(tokens, 3, at, USAGE)?;
        if tokens.len() > 4 {
            let extra = tokens.get(4..).unwrap_or_default().join(" ");
            return Err(at.err(format!("VALUE {attribute} {name}: unexpected {extra:?}")));
        }
        let number = parse_u64(number_text).ok_or_else(|| {
            at.err(format!(
                "VALUE {attribute} {name}: bad number {number_text:?}"
            ))
        })?;
        self.dict.add_value(attribute, name, number);
        Ok(())
    }
}

fn arg<'t>(
    tokens: &[&'t str],
    idx: usize,
    at: &At,
    usage: &str,
) -> Result<&'t str, DictionaryError> {
    tokens
        .get(idx)
        .copied()
        .ok_or_else(|| at.err(usage.to_string()))
}

/// `format=t,l[,c]` of a VENDOR line.
fn parse_vendor_format(text: &str, vendor: &mut VendorDef) -> Result<(), String> {
    let parts: Vec<&str> = text.split(',').collect();
    let bad = || {
        format!("bad format {text:?} (expected type,length[,c] with type 1, 2 or 4 and length 0, 1 or 2)")
    };
    let (t, l, c) = match parts.as_slice() {
        [t, l] => (*t, *l, false),
        [t, l, "c"] => (*t, *l, true),
        _ => return Err(bad()),
    };
    let type_len: u8 = t.parse().map_err(|_| bad())?;
    let len_len: u8 = l.parse().map_err(|_| bad())?;
    if !matches!(type_len, 1 | 2 | 4) || len_len > 2 {
        return Err(bad());
    }
    if c && (type_len, len_len) != (1, 1) {
        return Err("the continuation flag needs format=1,1,c".to_string());
    }
    vendor.type_len = type_len;
    vendor.len_len = len_len;
    vendor.continuation = c;
    Ok(())
}

/// The comma-separated flags field of an ATTRIBUTE line.
fn apply_flags(def: &mut AttributeDef, flags: &str) -> Result<(), String> {
    for flag in flags.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (flag, None),
        };
        match (key, value) {
            ("has_tag", None) => def.has_tag = true,
            ("array", None) => def.array = true,
            ("concat", None) => def.concat = true,
            ("virtual", None) => def.is_virtual = true,
            ("encrypt", Some(v)) => {
                def.encrypt = match v {
                    "1" | "User-Password" => 1,
                    "2" | "Tunnel-Password" => 2,
                    "3" | "Ascend-Secret" => 3,
                    _ => return Err(format!("unknown encryption {v:?} (expected 1, 2 or 3)")),
                }
            }
            // Other flags of FreeRADIUS 3.x and 4.x that change nothing we model.
            (
                "secret" | "internal" | "long" | "key" | "counter" | "abinary" | "print_hex",
                None,
            ) => {}
            ("ref" | "clone" | "enum" | "length" | "offset" | "precision" | "subtype", Some(_)) => {
            }
            _ => return Err(format!("unknown flag {flag:?}")),
        }
    }
    Ok(())
}

/// Decimal or `0x` hexadecimal.
fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

fn parse_u32(text: &str) -> Option<u32> {
    parse_u64(text).and_then(|n| u32::try_from(n).ok())
}

/// Encodes `text` as the value bytes of `def` (no type/length header).
///
/// * string: the UTF-8 bytes; octets: `0x` followed by hex, else the bytes
///   of the text;
/// * ipaddr, ipv6addr, combo-ip: an address; ipv4prefix, ipv6prefix:
///   `address/length` with no host bits set; ifid: `xxxx:xxxx:xxxx:xxxx`;
/// * integer, short, byte, integer64: decimal, `0x` hex, or a VALUE name of
///   the attribute; signed: decimal, may be negative;
/// * date: Unix seconds, or an RFC 3339 time;
/// * ether: any spelling [`MacAddr::parse`] accepts.
///
/// Tagged attributes take `tag:value` with a tag of 1 to 31; `0:value`
/// means "no tag" and lets a value that starts with digits and a colon
/// through unchanged. The attribute is not encrypted here: encrypted
/// attributes need the shared secret and the request authenticator.
pub fn encode_value(
    dict: &Dictionary,
    def: &AttributeDef,
    text: &str,
) -> Result<Vec<u8>, ValueError> {
    let fail = |reason: String| ValueError {
        attribute: def.name.clone(),
        reason,
    };
    if def.is_virtual {
        return Err(fail(
            "is a server-side (virtual) attribute and never sent".into(),
        ));
    }
    let (tag, text) = if def.has_tag {
        split_tag(text)
    } else {
        (None, text)
    };
    let out = match def.typ {
        AttrType::String => {
            let mut v = Vec::with_capacity(text.len() + 1);
            v.extend(tag);
            v.extend_from_slice(text.as_bytes());
            v
        }
        AttrType::Octets => {
            let mut v: Vec<u8> = tag.into_iter().collect();
            match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex_text) => v.extend(
                    hex::decode(hex_text).map_err(|e| fail(format!("bad hex {text:?}: {e}")))?,
                ),
                None => v.extend_from_slice(text.as_bytes()),
            }
            v
        }
        AttrType::IpAddr => {
            let ip: Ipv4Addr = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("not an IPv4 address: {text:?}")))?;
            ip.octets().to_vec()
        }
        AttrType::Ipv6Addr => {
            let ip: Ipv6Addr = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("not an IPv6 address: {text:?}")))?;
            ip.octets().to_vec()
        }
        AttrType::Integer => {
            let n = number(dict, def, text, u64::from(u32::MAX)).map_err(fail)?;
            if def.has_tag {
                // RFC 2868: the tag takes the first byte, the value the other three.
                if n > 0x00ff_ffff {
                    return Err(fail(format!(
                        "{n} does not fit the 24 bits a tagged integer has"
                    )));
                }
                let b = (n as u32).to_be_bytes();
                vec![tag.unwrap_or(0), b[1], b[2], b[3]]
            } else {
                (n as u32).to_be_bytes().to_vec()
            }
        }
        AttrType::Short => (number(dict, def, text, u64::from(u16::MAX)).map_err(fail)? as u16)
            .to_be_bytes()
            .to_vec(),
        AttrType::Byte => vec![number(dict, def, text, u64::from(u8::MAX)).map_err(fail)? as u8],
        AttrType::Integer64 => number(dict, def, text, u64::MAX)
            .map_err(fail)?
            .to_be_bytes()
            .to_vec(),
        AttrType::Signed => {
            let n: i32 = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("not a 32-bit signed number: {text:?}")))?;
            n.to_be_bytes().to_vec()
        }
        AttrType::Date => date(text).map_err(fail)?.to_be_bytes().to_vec(),
        AttrType::Ether => MacAddr::parse(text)
            .map_err(|e| fail(e.to_string()))?
            .0
            .to_vec(),
        AttrType::Other => encode_other(def, text).map_err(fail)?,
    };
    if out.len() > MAX_VALUE_LEN {
        return Err(fail(format!(
            "value is {} bytes; an attribute holds at most {MAX_VALUE_LEN}",
            out.len()
        )));
    }
    Ok(out)
}

/// `N:rest` with N in 0..=31 is a tag (0 meaning none).
fn split_tag(text: &str) -> (Option<u8>, &str) {
    if let Some((head, rest)) = text.split_once(':') {
        if (1..=2).contains(&head.len()) && head.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(t) = head.parse::<u8>() {
                if t <= 0x1f {
                    return (Some(t).filter(|t| *t != 0), rest);
                }
            }
        }
    }
    (None, text)
}

fn number(dict: &Dictionary, def: &AttributeDef, text: &str, max: u64) -> Result<u64, String> {
    let text = text.trim();
    let n = match parse_u64(text) {
        Some(n) => n,
        None => dict
            .values
            .get(&def.key())
            .and_then(|t| t.by_name.get(&text.to_ascii_lowercase()))
            .map(|(_, n)| *n)
            .or_else(|| dict.value_number(&def.name, text))
            .ok_or_else(|| format!("{text:?} is neither a number nor a known VALUE name"))?,
    };
    if n > max {
        return Err(format!("{n} is larger than {max}"));
    }
    Ok(n)
}

fn date(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let secs: i64 = match text.parse::<i64>() {
        Ok(n) => n,
        Err(_) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| format!("not Unix seconds or an RFC 3339 time: {text:?}"))?
            .timestamp(),
    };
    u32::try_from(secs).map_err(|_| format!("{text:?} is outside the 32-bit RADIUS date range"))
}

/// Types without their own `AttrType` variant, by name.
fn encode_other(def: &AttributeDef, text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    match def.type_name.as_str() {
        "combo-ip" => match text.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => Ok(ip.octets().to_vec()),
            Ok(std::net::IpAddr::V6(ip)) => Ok(ip.octets().to_vec()),
            Err(_) => Err(format!("not an IP address: {text:?}")),
        },
        "ipv4prefix" => {
            // RFC 8044 3.11: reserved byte, prefix length, 4 address bytes.
            let net: ipnet::Ipv4Net = text
                .parse()
                .map_err(|_| format!("not an IPv4 prefix: {text:?}"))?;
            if net.trunc() != net {
                return Err(format!("{text:?} has bits set beyond the prefix length"));
            }
            let mut v = vec![0, net.prefix_len()];
            v.extend_from_slice(&net.addr().octets());
            Ok(v)
        }
        "ipv6prefix" => {
            // RFC 3162 / RFC 8044 3.10: reserved byte, prefix length, prefix.
            // The full 16 bytes are sent; bits past the length are zero.
            let net: ipnet::Ipv6Net = text
                .parse()
                .map_err(|_| format!("not an IPv6 prefix: {text:?}"))?;
            if net.trunc() != net {
                return Err(format!("{text:?} has bits set beyond the prefix length"));
            }
            let mut v = vec![0, net.prefix_len()];
            v.extend_from_slice(&net.addr().octets());
            Ok(v)
        }
        "ifid" => {
            let groups: Vec<&str> = text.split(':').collect();
            let bad = || format!("not an interface id (xxxx:xxxx:xxxx:xxxx): {text:?}");
            if groups.len() != 4 {
                return Err(bad());
            }
            let mut v = Vec::with_capacity(8);
            for g in groups {
                if g.is_empty() || g.len() > 4 {
                    return Err(bad());
                }
                let n = u16::from_str_radix(g, 16).map_err(|_| bad())?;
                v.extend_from_slice(&n.to_be_bytes());
            }
            Ok(v)
        }
        other => Err(format!("values of type {other} cannot be given as text")),
    }
}

#[cfg(test)]
mod tests {
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
        let b =
            Dictionary::parse_str("ATTRIBUTE X 3 integer\nVALUE X big 7\nVENDOR V 9", "b").unwrap();
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
}

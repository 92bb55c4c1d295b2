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
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod encode;
mod parse;

pub use encode::encode_value;
use parse::Parser;

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
        let mut parser = Parser::new(&mut dict);
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
        let mut parser = Parser::new(&mut dict);
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
const STANDARD: &str = include_str!("standard.dict");

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

#[cfg(test)]
mod tests;

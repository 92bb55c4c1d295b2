//! The `[radius]` section of a vendor profile: vendor id, CoA port and
//! quirks, the vendor dictionary (a FreeRADIUS-format file and inline
//! attributes), and encoding reply attributes through it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{raw, Profile, ProfileError, Src, DEFAULT_COA_PORT};
use crate::radius::dictionary::{self, encode_value, AttributeDef, Dictionary, VendorDef};
use crate::radius::wire;

/// The RADIUS part of a profile.
#[derive(Debug, Clone)]
pub struct RadiusProfile {
    pub vendor_id: Option<u32>,
    /// Where the device listens for CoA and Disconnect requests.
    pub coa_port: u16,
    pub coa_supported: bool,
    pub disconnect_supported: bool,
    /// The profile's dictionary file (if any) with the inline attributes
    /// merged over it.
    pub dictionary: Dictionary,
}

impl Profile {
    /// Encodes a reply attribute given by name and textual value (e.g.
    /// `Aruba-User-Role` = `staff`) as one complete RADIUS attribute: a
    /// Vendor-Specific (type 26) for vendor attributes. Names resolve in
    /// the profile's dictionary first, then in the standard one. Values
    /// follow [`dictionary::encode_value`].
    ///
    /// Refused: attributes sent encrypted (they need the shared secret and
    /// request authenticator), extended and TLV attributes, and the ones
    /// the server itself owns (Vendor-Specific, EAP-Message,
    /// Message-Authenticator).
    pub fn encode_reply_attribute(&self, name: &str, value: &str) -> Result<Vec<u8>, ProfileError> {
        let fail = |reason: String| ProfileError::Encode {
            profile: self.name.clone(),
            attribute: name.to_string(),
            reason,
        };
        let (dict, def) = match self.radius.dictionary.attribute(name) {
            Some(def) => (&self.radius.dictionary, def),
            None => match self.standard.attribute(name) {
                Some(def) => (&*self.standard, def),
                None => {
                    return Err(fail(
                        "not in this profile's dictionary nor the standard one".into(),
                    ))
                }
            },
        };
        if let Some(oid) = &def.oid {
            return Err(fail(format!(
                "is an extended or TLV attribute ({oid}); only standard and Vendor-Specific attributes can be sent"
            )));
        }
        if def.encrypt != 0 {
            return Err(fail(format!(
                "is sent encrypted with the shared secret (encrypt={}), which plain reply attributes cannot do",
                def.encrypt
            )));
        }
        if def.vendor_id == 0 && matches!(def.code, 26 | 79 | 80) {
            return Err(fail("is set by the RADIUS server itself".into()));
        }
        let bytes = encode_value(dict, def, value).map_err(|e| fail(e.reason))?;
        let mut out = Vec::with_capacity(bytes.len() + 8);
        if def.vendor_id == 0 {
            let code = u8::try_from(def.code).map_err(|_| {
                fail(format!(
                    "number {} is a server-internal attribute, not sent",
                    def.code
                ))
            })?;
            wire::push_attribute(&mut out, code, &bytes).map_err(|e| fail(e.to_string()))?;
            return Ok(out);
        }
        let vendor = dict
            .vendor(def.vendor_id)
            .or_else(|| self.standard.vendor(def.vendor_id))
            .cloned()
            .unwrap_or_else(|| VendorDef::new("", def.vendor_id));
        let classic = (vendor.type_len, vendor.len_len, vendor.continuation) == (1, 1, false);
        match u8::try_from(def.code) {
            Ok(code) if classic => {
                wire::push_vendor_attribute(&mut out, def.vendor_id, code, &bytes)
                    .map_err(|e| fail(e.to_string()))?
            }
            _ => out = vendor_attribute(&vendor, def.code, &bytes).map_err(fail)?,
        }
        Ok(out)
    }
}

/// A Vendor-Specific attribute for vendors whose layout is not the usual
/// 1-byte type, 1-byte length (`format=t,l[,c]`, RFC 2865 section 5.26).
pub(super) fn vendor_attribute(
    vendor: &VendorDef,
    code: u32,
    value: &[u8],
) -> Result<Vec<u8>, String> {
    let mut sub = Vec::with_capacity(value.len() + 8);
    let too_big = || {
        format!(
            "number {code} does not fit vendor {}'s type field",
            vendor.id
        )
    };
    match vendor.type_len {
        1 => sub.push(u8::try_from(code).map_err(|_| too_big())?),
        2 => sub.extend_from_slice(&u16::try_from(code).map_err(|_| too_big())?.to_be_bytes()),
        _ => sub.extend_from_slice(&code.to_be_bytes()),
    }
    let header = usize::from(vendor.type_len)
        + usize::from(vendor.len_len)
        + usize::from(vendor.continuation);
    let sub_len = header + value.len();
    let too_long = || {
        format!(
            "value of {} bytes does not fit one Vendor-Specific attribute",
            value.len()
        )
    };
    match vendor.len_len {
        0 => {}
        1 => sub.push(u8::try_from(sub_len).map_err(|_| too_long())?),
        _ => sub.extend_from_slice(
            &u16::try_from(sub_len)
                .map_err(|_| too_long())?
                .to_be_bytes(),
        ),
    }
    if vendor.continuation {
        sub.push(0);
    }
    sub.extend_from_slice(value);
    let total = u8::try_from(6 + sub.len()).map_err(|_| too_long())?;
    let mut out = Vec::with_capacity(usize::from(total));
    out.push(wire::ATTR_VENDOR_SPECIFIC);
    out.push(total);
    out.extend_from_slice(&vendor.id.to_be_bytes());
    out.extend_from_slice(&sub);
    Ok(out)
}

pub(super) fn radius_profile(
    src: &Src,
    raw: raw::Radius,
    profile_name: &str,
    standard: &Dictionary,
) -> Result<RadiusProfile, ProfileError> {
    let vendor_id = match &raw.vendor_id {
        Some(v) if *v.get_ref() == 0 => {
            return Err(src.err(v, "vendor_id 0 is the standard attribute space"))
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let coa_port = match &raw.coa_port {
        Some(p) if *p.get_ref() == 0 => return Err(src.err(p, "coa_port must be 1 to 65535")),
        Some(p) => *p.get_ref(),
        None => DEFAULT_COA_PORT,
    };

    let mut dict = match &raw.dictionary {
        Some(d) => {
            let file = resolve(src.path, d.get_ref());
            Dictionary::load_file(&file).map_err(|source| ProfileError::Dictionary {
                path: src.path.to_path_buf(),
                line: Some(src.line(d.span().start)),
                source,
            })?
        }
        None => Dictionary::default(),
    };

    if !raw.attributes.is_empty() {
        let Some(vid) = vendor_id else {
            let first = raw.attributes.first().map(|a| src.line(a.span().start));
            return Err(ProfileError::Invalid {
                path: src.path.to_path_buf(),
                line: first,
                reason: "[[radius.attributes]] are vendor attributes: set radius.vendor_id".into(),
            });
        };
        if dict.vendor(vid).is_none() {
            dict.insert_vendor(VendorDef::new(profile_name, vid));
        }
        let max_code = dict.vendor(vid).map_or(0xff, VendorDef::max_code);
        let mut seen: HashMap<String, usize> = HashMap::new();
        for attr in &raw.attributes {
            let attr = attr.get_ref();
            let def = inline_attribute(src, attr, vid, max_code)?;
            let line = src.line(attr.name.span().start);
            if let Some(first) = seen.insert(def.name.to_ascii_lowercase(), line) {
                return Err(src.err(
                    &attr.name,
                    format!("attribute {} is already listed on line {first}", def.name),
                ));
            }
            for (other, what) in [
                (&dict, "the profile's dictionary file"),
                (standard, "the standard dictionary"),
            ] {
                if let Some(old) = other.attribute(&def.name) {
                    let same = (old.vendor_id, old.code, old.oid.is_none(), &old.type_name)
                        == (def.vendor_id, def.code, true, &def.type_name);
                    if !same {
                        return Err(src.err(
                            &attr.name,
                            format!(
                                "attribute {} is defined differently in {what} ({} {})",
                                def.name,
                                old.full_oid(),
                                old.type_name
                            ),
                        ));
                    }
                }
            }
            dict.insert_attribute(def);
        }
    }

    Ok(RadiusProfile {
        vendor_id,
        coa_port,
        coa_supported: raw.coa_supported.unwrap_or(true),
        disconnect_supported: raw.disconnect_supported.unwrap_or(true),
        dictionary: dict,
    })
}

fn inline_attribute(
    src: &Src,
    attr: &raw::Attribute,
    vendor_id: u32,
    max_code: u32,
) -> Result<AttributeDef, ProfileError> {
    let name = attr.name.get_ref().trim();
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err(src.err(
            &attr.name,
            format!("attribute name {name:?} must be one word"),
        ));
    }
    let code = *attr.code.get_ref();
    if code == 0 || code > max_code {
        return Err(src.err(
            &attr.code,
            format!("attribute {name}: code {code} must be 1 to {max_code}"),
        ));
    }
    let type_name = attr.typ.get_ref().trim();
    if !dictionary::is_encodable_type(type_name) || type_name.contains('[') {
        return Err(src.err(
            &attr.typ,
            format!(
                "attribute {name}: unknown type {type_name:?} (expected one of {})",
                dictionary::ENCODABLE_TYPES.join(", ")
            ),
        ));
    }
    let mut def = AttributeDef::new(name, vendor_id, code, type_name);
    def.has_tag = attr.has_tag;
    Ok(def)
}

/// A dictionary path: absolute, or relative to the profile file.
fn resolve(profile_path: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    profile_path.parent().unwrap_or(Path::new(".")).join(p)
}

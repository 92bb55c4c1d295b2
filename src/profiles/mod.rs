//! Vendor profiles: one TOML file per AP or controller family in
//! `ap-profiles/`.
//!
//! A file has sections so that later parts (SNMP OID maps, portal redirect
//! parameters) can be added next to the RADIUS part:
//!
//! ```toml
//! [profile]                 # name (required), display_name, description
//! [radius]                  # vendor_id, dictionary, coa_port, coa_supported, disconnect_supported
//! [[radius.attributes]]     # name, code, type, has_tag: vendor attributes under vendor_id
//! [match]                   # sys_object_id_prefixes, sys_descr_pattern
//! ```
//!
//! Defaults: `coa_port` 3799, `coa_supported` and `disconnect_supported`
//! true, `display_name` the name. A `dictionary` path is absolute or
//! relative to the profile file. Inline attributes need `vendor_id` and
//! must agree with the dictionary file and the standard dictionary where
//! those define the same name.
//!
//! Files are parsed into raw serde types (unknown keys refused) and then
//! validated into [`Profile`]; every error names the file and, where known,
//! the line.

pub mod portal;
pub mod radius;
pub mod snmp;

pub use radius::RadiusProfile;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::radius::dictionary::{self, Dictionary, DictionaryError};

use radius::radius_profile;

/// RFC 5176 section 3: the Dynamic Authorization port.
pub const DEFAULT_COA_PORT: u16 = 3799;

/// Name of the profile compiled into the binary.
/// The profile name of an AP whose vendor is found on its first poll
/// (`ap add` without `--profile` when the device did not answer).
pub const AUTO_PROFILE: &str = "auto";
pub const GENERIC_PROFILE: &str = "generic";

const GENERIC_TOML: &str = include_str!("../../ap-profiles/generic.toml");
const GENERIC_PATH: &str = "<built-in>/ap-profiles/generic.toml";

/// Errors loading profiles or encoding through them.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Bad TOML or a value that does not validate.
    #[error("{}: {reason}", location(path, *line))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },
    /// The dictionary file a profile names does not load.
    #[error("{}: dictionary: {source}", location(path, *line))]
    Dictionary {
        path: PathBuf,
        line: Option<usize>,
        source: DictionaryError,
    },
    /// A reply attribute the profile cannot encode.
    #[error("profile {profile}: attribute {attribute}: {reason}")]
    Encode {
        profile: String,
        attribute: String,
        reason: String,
    },
}

fn location(path: &Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

/// One vendor family.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Short identifier (`aruba`), referenced from NAS records.
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// The file it came from (`None` for the built-in generic profile).
    pub source: Option<PathBuf>,
    pub radius: RadiusProfile,
    /// How SNMP recognises the device (used by the SNMP module).
    pub matching: MatchRules,
    /// What to poll and which traps it sends (the `[snmp]` section).
    pub snmp: snmp::SnmpProfile,
    /// External-portal redirect parameters and handoff (`[portal]`).
    pub portal: portal::PortalProfile,
    /// Standard attributes (the system dictionary when one was given).
    standard: Arc<Dictionary>,
}

/// Device recognition rules, stored for the SNMP module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchRules {
    /// Dotted OIDs without a leading dot.
    pub sys_object_id_prefixes: Vec<String>,
    pub sys_descr_pattern: Option<String>,
}

/// All loaded profiles, in file-name order.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    list: Vec<Profile>,
}

mod raw {
    //! The file as written; validated into the public types.
    use serde::Deserialize;
    use toml::Spanned;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct File {
        pub profile: ProfileSection,
        pub radius: Option<Radius>,
        #[serde(rename = "match")]
        pub matching: Option<Match>,
        pub snmp: Option<super::snmp::RawSnmp>,
        pub portal: Option<super::portal::RawPortal>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ProfileSection {
        pub name: Spanned<String>,
        pub display_name: Option<Spanned<String>>,
        #[serde(default)]
        pub description: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Radius {
        pub vendor_id: Option<Spanned<u32>>,
        pub dictionary: Option<Spanned<String>>,
        pub coa_port: Option<Spanned<u16>>,
        pub coa_supported: Option<bool>,
        pub disconnect_supported: Option<bool>,
        #[serde(default)]
        pub attributes: Vec<Spanned<Attribute>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Attribute {
        pub name: Spanned<String>,
        pub code: Spanned<u32>,
        #[serde(rename = "type")]
        pub typ: Spanned<String>,
        #[serde(default)]
        pub has_tag: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Match {
        #[serde(default)]
        pub sys_object_id_prefixes: Vec<Spanned<String>>,
        pub sys_descr_pattern: Option<Spanned<String>>,
    }
}

/// Source text and path of one file, to turn byte offsets into lines.
struct Src<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Src<'_> {
    fn line(&self, offset: usize) -> usize {
        let before = self
            .text
            .as_bytes()
            .get(..offset)
            .unwrap_or(self.text.as_bytes());
        before.iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn err<T>(&self, spanned: &toml::Spanned<T>, reason: impl Into<String>) -> ProfileError {
        ProfileError::Invalid {
            path: self.path.to_path_buf(),
            line: Some(self.line(spanned.span().start)),
            reason: reason.into(),
        }
    }
}

/// The files of `ap-profiles/` as they were at build time: (file name, text).
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// Where a built-in profile is said to come from in errors and logs.
pub const BUILTIN_DIR: &str = "<built-in>/ap-profiles";

/// `*.toml` files of `dir`, sorted.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ProfileError> {
    let io = |source| ProfileError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String, ProfileError> {
    std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Profiles {
    /// The compiled-in profiles, with the files of `dir` (when given and
    /// present) added, a file of the same name replacing the built-in one.
    /// `system` resolves attribute names a profile does not define, in
    /// place of the built-in standard dictionary.
    pub fn load(
        dir: Option<&Path>,
        system: Option<Arc<Dictionary>>,
    ) -> Result<Profiles, ProfileError> {
        let mut sources: std::collections::BTreeMap<String, (PathBuf, String)> = BUILTIN
            .iter()
            .map(|(name, text)| {
                (
                    (*name).to_string(),
                    (Path::new(BUILTIN_DIR).join(name), (*text).to_string()),
                )
            })
            .collect();
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            for path in toml_files(dir)? {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = read(&path)?;
                if sources.contains_key(&name) {
                    tracing::debug!(file = %path.display(), "profile file replaces the built-in one");
                }
                sources.insert(name, (path, text));
            }
        }
        Self::from_sources(sources.into_values().collect(), system)
    }

    /// Loads every `*.toml` in `dir` alone, sorted by file name, with the
    /// built-in standard dictionary as fallback for attribute names.
    /// Duplicate profile names and an empty directory are errors.
    pub fn load_dir(dir: &Path) -> Result<Profiles, ProfileError> {
        Self::load_dir_with_dictionary(dir, None)
    }

    /// As [`Profiles::load_dir`], with a system-wide dictionary.
    pub fn load_dir_with_dictionary(
        dir: &Path,
        system: Option<Arc<Dictionary>>,
    ) -> Result<Profiles, ProfileError> {
        let files = toml_files(dir)?;
        if files.is_empty() {
            return Err(ProfileError::Invalid {
                path: dir.to_path_buf(),
                line: None,
                reason: "no *.toml profile files in this directory".into(),
            });
        }
        let sources = files
            .into_iter()
            .map(|p| read(&p).map(|text| (p, text)))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_sources(sources, system)
    }

    fn from_sources(
        sources: Vec<(PathBuf, String)>,
        system: Option<Arc<Dictionary>>,
    ) -> Result<Profiles, ProfileError> {
        let standard = system.unwrap_or_else(|| Arc::new(dictionary::standard().clone()));
        let mut list: Vec<Profile> = Vec::with_capacity(sources.len());
        for (path, text) in &sources {
            let (profile, name_line) = parse_profile(text, path, Arc::clone(&standard))?;
            if let Some(first) = list.iter().find(|p| p.name == profile.name) {
                let first_path = first.source.as_deref().unwrap_or(Path::new("?"));
                return Err(ProfileError::Invalid {
                    path: path.clone(),
                    line: Some(name_line),
                    reason: format!(
                        "profile name {:?} is already used by {}",
                        profile.name,
                        first_path.display()
                    ),
                });
            }
            tracing::debug!(profile = %profile.name, file = %path.display(), "loaded AP profile");
            list.push(profile);
        }
        Ok(Profiles { list })
    }

    /// The generic profile compiled into the binary, for when no profile
    /// directory is configured.
    pub fn builtin_generic() -> Profiles {
        let standard = Arc::new(dictionary::standard().clone());
        let profile =
            match parse_profile(GENERIC_TOML, Path::new(GENERIC_PATH), Arc::clone(&standard)) {
                Ok((mut p, _)) => {
                    p.source = None;
                    p
                }
                Err(e) => {
                    // Cannot happen with the shipped file (a unit test loads it).
                    tracing::error!(error = %e, "built-in generic profile does not parse");
                    Profile {
                        name: GENERIC_PROFILE.into(),
                        display_name: "Generic".into(),
                        description: String::new(),
                        source: None,
                        radius: RadiusProfile {
                            vendor_id: None,
                            coa_port: DEFAULT_COA_PORT,
                            coa_supported: false,
                            disconnect_supported: true,
                            dictionary: Dictionary::default(),
                        },
                        matching: MatchRules::default(),
                        snmp: Default::default(),
                        portal: Default::default(),
                        standard,
                    }
                }
            };
        Profiles {
            list: vec![profile],
        }
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.list.iter().find(|p| p.name == name)
    }

    /// Profile names in load order.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|p| p.name.as_str()).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Parses and validates one profile file; also returns the line of its
/// name (for duplicate-name errors).
fn parse_profile(
    text: &str,
    path: &Path,
    standard: Arc<Dictionary>,
) -> Result<(Profile, usize), ProfileError> {
    let src = Src { path, text };
    let file: raw::File = toml::from_str(text).map_err(|e| ProfileError::Invalid {
        path: path.to_path_buf(),
        line: e.span().map(|s| src.line(s.start)),
        reason: e.message().trim_end().to_string(),
    })?;

    let name = file.profile.name.get_ref().trim().to_string();
    if !valid_name(&name) {
        return Err(src.err(
            &file.profile.name,
            format!("profile name {name:?} must be 1 to 64 of a-z, 0-9, '-' and '_', starting with a letter or digit"),
        ));
    }
    let name_line = src.line(file.profile.name.span().start);
    let display_name = match &file.profile.display_name {
        Some(d) if d.get_ref().trim().is_empty() => return Err(src.err(d, "display_name is empty")),
        Some(d) => d.get_ref().trim().to_string(),
        None => name.clone(),
    };

    let radius = match file.radius {
        Some(r) => radius_profile(&src, r, &name, &standard)?,
        None => RadiusProfile {
            vendor_id: None,
            coa_port: DEFAULT_COA_PORT,
            coa_supported: true,
            disconnect_supported: true,
            dictionary: Dictionary::default(),
        },
    };
    let matching = match file.matching {
        Some(m) => match_rules(&src, m)?,
        None => MatchRules::default(),
    };
    let snmp = match file.snmp {
        Some(raw) => snmp::validate(raw).map_err(|e| ProfileError::Invalid {
            path: path.to_path_buf(),
            line: e.offset.map(|o| src.line(o)),
            reason: e.reason,
        })?,
        None => Default::default(),
    };
    let portal =
        portal::PortalProfile::from_raw(file.portal).map_err(|e| ProfileError::Invalid {
            path: path.to_path_buf(),
            line: Some(src.line(e.offset)),
            reason: e.reason,
        })?;
    let profile = Profile {
        name,
        display_name,
        description: file.profile.description.trim().to_string(),
        source: Some(path.to_path_buf()),
        radius,
        matching,
        snmp,
        portal,
        standard,
    };
    Ok((profile, name_line))
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

fn match_rules(src: &Src, raw: raw::Match) -> Result<MatchRules, ProfileError> {
    let mut prefixes = Vec::with_capacity(raw.sys_object_id_prefixes.len());
    for p in &raw.sys_object_id_prefixes {
        let oid = p.get_ref().trim();
        let oid = oid.strip_prefix('.').unwrap_or(oid);
        let ok = !oid.is_empty()
            && oid
                .split('.')
                .all(|arc| !arc.is_empty() && arc.parse::<u32>().is_ok());
        if !ok {
            return Err(src.err(p, format!("{oid:?} is not a dotted numeric OID")));
        }
        prefixes.push(oid.to_string());
    }
    let pattern = match &raw.sys_descr_pattern {
        Some(p) if p.get_ref().is_empty() => return Err(src.err(p, "sys_descr_pattern is empty")),
        Some(p) => Some(p.get_ref().clone()),
        None => None,
    };
    Ok(MatchRules {
        sys_object_id_prefixes: prefixes,
        sys_descr_pattern: pattern,
    })
}

#[cfg(test)]
mod tests {
    use super::radius::vendor_attribute;
    use super::*;
    use crate::radius::dictionary::VendorDef;
    use std::fs;

    fn shipped() -> Profiles {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ap-profiles");
        Profiles::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn loads_the_shipped_profiles() {
        let p = shipped();
        for name in ["aruba", "cisco-wlc", "generic"] {
            assert!(p.names().contains(&name), "{name} missing: {:?}", p.names());
        }
        let aruba = p.get("aruba").unwrap();
        assert_eq!(aruba.radius.vendor_id, Some(14823));
        assert_eq!(aruba.radius.coa_port, 3799);
        assert!(!aruba.matching.sys_object_id_prefixes.is_empty());
        assert!(aruba
            .matching
            .sys_object_id_prefixes
            .iter()
            .all(|x| x.starts_with("1.3.6.1.4.1.14823")));
        let role = aruba
            .radius
            .dictionary
            .attribute("aruba-user-role")
            .unwrap();
        assert_eq!((role.vendor_id, role.code), (14823, 1));
        let cisco = p.get("cisco-wlc").unwrap();
        assert_eq!(
            (cisco.radius.vendor_id, cisco.radius.coa_port),
            (Some(9), 1700)
        );
        let generic = p.get("generic").unwrap();
        assert_eq!(generic.radius.vendor_id, None);
        assert!(generic.radius.dictionary.is_empty());
        assert!(generic.radius.disconnect_supported && !generic.radius.coa_supported);
        assert!(p.get("nope").is_none());
    }

    #[test]
    fn compiled_in_profiles_with_a_directory_that_adds_and_overrides() {
        let builtin = Profiles::load(None, None).unwrap();
        assert_eq!(
            builtin.len(),
            shipped().len(),
            "every shipped file is compiled in"
        );
        assert!(builtin
            .get("aruba")
            .unwrap()
            .source
            .as_ref()
            .unwrap()
            .starts_with(BUILTIN_DIR));
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("aruba.toml"),
            "[profile]\nname = \"aruba\"\ndisplay_name = \"Aruba (site)\"\n",
        )
        .unwrap();
        fs::write(dir.path().join("acme.toml"), "[profile]\nname = \"acme\"\n").unwrap();
        let p = Profiles::load(Some(dir.path()), None).unwrap();
        assert_eq!(p.len(), builtin.len() + 1);
        assert_eq!(p.get("aruba").unwrap().display_name, "Aruba (site)");
        assert!(p.get("acme").is_some());
        // A directory that does not exist: the built-ins alone.
        assert_eq!(
            Profiles::load(Some(Path::new("/nonexistent/portico")), None)
                .unwrap()
                .len(),
            builtin.len()
        );
        // A new file reusing a built-in profile's name is an error.
        fs::write(
            dir.path().join("other.toml"),
            "[profile]\nname = \"huawei\"\n",
        )
        .unwrap();
        let e = Profiles::load(Some(dir.path()), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already used"), "{e}");
    }

    #[test]
    fn builtin_generic_is_the_shipped_file() {
        let p = Profiles::builtin_generic();
        assert_eq!(p.names(), [GENERIC_PROFILE]);
        let g = p.get(GENERIC_PROFILE).unwrap();
        assert_eq!(g.display_name, "Generic RADIUS device");
        assert!(g.source.is_none());
        assert_eq!(
            g.encode_reply_attribute("Session-Timeout", "60").unwrap(),
            [27, 6, 0, 0, 0, 60]
        );
    }

    #[test]
    fn encodes_vendor_attributes_exactly() {
        let p = shipped();
        let aruba = p.get("aruba").unwrap();
        // Type 26, length 13, vendor 14823 = 0x000039e7, vendor-type 1, vendor-length 7, "staff".
        assert_eq!(
            aruba
                .encode_reply_attribute("Aruba-User-Role", "staff")
                .unwrap(),
            [26, 13, 0x00, 0x00, 0x39, 0xe7, 1, 7, b's', b't', b'a', b'f', b'f']
        );
        assert_eq!(
            aruba
                .encode_reply_attribute("Aruba-User-Vlan", "100")
                .unwrap(),
            [26, 12, 0, 0, 0x39, 0xe7, 2, 6, 0, 0, 0, 100]
        );
        let cisco = p.get("cisco-wlc").unwrap();
        // "shell:priv-lvl=15" is 17 bytes: vendor-length 19, length 25.
        let mut expected = vec![26, 25, 0, 0, 0, 9, 1, 19];
        expected.extend_from_slice(b"shell:priv-lvl=15");
        let got = cisco
            .encode_reply_attribute("Cisco-AVPair", "shell:priv-lvl=15")
            .unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn falls_back_to_standard_attributes() {
        let p = shipped();
        let aruba = p.get("aruba").unwrap();
        assert_eq!(
            aruba.encode_reply_attribute("tunnel-type", "VLAN").unwrap(),
            [64, 6, 0, 0, 0, 13]
        );
        assert_eq!(
            aruba
                .encode_reply_attribute("Tunnel-Private-Group-Id", "1:100")
                .unwrap(),
            [81, 6, 1, b'1', b'0', b'0']
        );
        assert_eq!(
            aruba.encode_reply_attribute("Filter-Id", "guest").unwrap(),
            b"\x0b\x07guest"
        );
    }

    #[test]
    fn encoding_errors_name_profile_and_attribute() {
        let p = shipped();
        let aruba = p.get("aruba").unwrap();
        let cases = [
            ("Aruba-User-Vlan", "abc", "neither a number"),
            ("No-Such-Attribute", "x", "not in this profile's dictionary"),
            ("MS-MPPE-Send-Key", "0x00", "encrypted"),
            ("Message-Authenticator", "0x00", "set by the RADIUS server"),
            ("Aruba-User-Role", &"x".repeat(248), "longer than"),
        ];
        for (name, value, reason) in cases {
            let e = aruba
                .encode_reply_attribute(name, value)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("profile aruba: attribute {name}: ")),
                "{e}"
            );
            assert!(e.contains(reason), "{e}");
        }
        assert!(aruba
            .encode_reply_attribute("Aruba-User-Role", &"x".repeat(247))
            .is_ok());
    }

    /// Loads `files` (name, text) from a fresh directory.
    fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Profiles, ProfileError>) {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(tmp.path().join(name), text).unwrap();
        }
        let r = Profiles::load_dir(tmp.path());
        (tmp, r)
    }

    fn load_err(files: &[(&str, &str)]) -> String {
        match load(files) {
            (_, Err(e)) => e.to_string(),
            (_, Ok(p)) => panic!("expected an error, loaded {:?}", p.names()),
        }
    }

    const HEAD: &str = "[profile]\nname = \"x\"\n";

    #[test]
    fn malformed_profiles_give_file_line_and_reason() {
        let cases: &[(&str, &str, &str)] = &[
            ("[profile]\nname = \"x\"\ncolour = \"red\"\n", "p.toml:3: ", "unknown field `colour`"),
            ("[profile]\nname = \"x\"\n[radius]\ncoa_port = \"high\"\n", "p.toml:4: ", "invalid type"),
            ("[profile]\nname = \"x\"\n[radius]\ncoa_port = 70000\n", "p.toml:4: ", "expected u16"),
            ("[profile]\nname = \"x\"\n[radius]\ncoa_port = 0\n", "p.toml:4: ", "coa_port must be"),
            ("[profile]\nname = \"x\"\n[snmpp]\n", "p.toml:3: ", "unknown field `snmpp`"),
            ("[profile]\nname = \"x\"\n[snmp]\nrole = \"switch\"\n", "p.toml:4: ", "snmp role \"switch\""),
            ("[profile]\nname = \"x\"\n[snmp.radio_table]\nchannel = \"1.2.x\"\n", "p.toml:4: ", "radio_table.channel"),
            ("[profile]\nname = \"x\"\n[[snmp.traps]]\noid = \"1.3.6.1.4.1.9.9\"\nname = \"a\"\nseverity = \"loud\"\n", "p.toml:6: ", "severity \"loud\""),
            ("[profile\n", "p.toml:1: ", "invalid table header"),
            ("[radius]\n", "p.toml:", "missing field `profile`"),
            ("[profile]\nname = \"Bad Name\"\n", "p.toml:2: ", "profile name \"Bad Name\""),
            ("[profile]\nname = \"x\"\n[radius]\nvendor_id = 0\n", "p.toml:4: ", "standard attribute space"),
            (
                "[profile]\nname = \"x\"\n[radius]\nvendor_id = 9\n[[radius.attributes]]\nname = \"A\"\ncode = 1\ntype = \"float\"\n",
                "p.toml:8: ",
                "unknown type \"float\"",
            ),
            (
                "[profile]\nname = \"x\"\n[radius]\nvendor_id = 9\n[[radius.attributes]]\nname = \"A\"\ncode = 256\ntype = \"string\"\n",
                "p.toml:7: ",
                "code 256 must be 1 to 255",
            ),
            (
                "[profile]\nname = \"x\"\n[radius]\n\n[[radius.attributes]]\nname = \"A\"\ncode = 1\ntype = \"string\"\n",
                "p.toml:5: ",
                "set radius.vendor_id",
            ),
            (
                "[profile]\nname = \"x\"\n[radius]\nvendor_id = 9\n[[radius.attributes]]\nname = \"A\"\ncode = 1\ntype = \"string\"\n\
                 [[radius.attributes]]\nname = \"a\"\ncode = 2\ntype = \"string\"\n",
                "p.toml:10: ",
                "already listed on line 6",
            ),
            (
                "[profile]\nname = \"x\"\n[radius]\nvendor_id = 9\n[[radius.attributes]]\nname = \"Session-Timeout\"\ncode = 2\ntype = \"integer\"\n",
                "p.toml:6: ",
                "defined differently in the standard dictionary (27 integer)",
            ),
            (
                "[profile]\nname = \"x\"\n[radius]\nvendor_id = 9\n[[radius.attributes]]\nname = \"A\"\ncode = 1\n",
                "p.toml:5: ",
                "missing field `type`",
            ),
            ("[profile]\nname = \"x\"\n[radius]\ndictionary = \"nope.dict\"\n", "p.toml:4: dictionary: ", "nope.dict"),
            ("[profile]\nname = \"x\"\n[match]\nsys_object_id_prefixes = [\"1.3.x\"]\n", "p.toml:4: ", "not a dotted numeric OID"),
        ];
        for (text, prefix, reason) in cases {
            let e = load_err(&[("p.toml", text)]);
            let file_part = e.split("p.toml").next().unwrap_or("");
            let rest = e.get(file_part.len()..).unwrap_or("");
            assert!(rest.starts_with(prefix), "{text:?}: {e}");
            assert!(e.contains(reason), "{text:?}: {e}");
        }
    }

    #[test]
    fn duplicate_profile_names_are_refused() {
        let e = load_err(&[("a.toml", HEAD), ("b.toml", &format!("# again\n{HEAD}"))]);
        assert!(
            e.contains("b.toml:3: profile name \"x\" is already used by "),
            "{e}"
        );
        assert!(e.ends_with("a.toml"), "{e}");
    }

    #[test]
    fn empty_or_missing_directory_is_an_error() {
        let e = load_err(&[("readme.txt", "not a profile")]);
        assert!(e.contains("no *.toml profile files"), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let missing = Profiles::load_dir(&tmp.path().join("absent")).unwrap_err();
        assert!(matches!(missing, ProfileError::Io { .. }), "{missing:?}");
    }

    #[test]
    fn dictionary_file_resolves_next_to_the_profile() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("dicts")).unwrap();
        fs::write(
            tmp.path().join("dicts/acme"),
            "VENDOR Acme 4242 format=2,1\nBEGIN-VENDOR Acme\nATTRIBUTE Acme-Wide 300 string\n\
             ATTRIBUTE Acme-Level 2 integer\nVALUE Acme-Level High 3\nEND-VENDOR Acme\n",
        )
        .unwrap();
        fs::write(
            tmp.path().join("acme.toml"),
            "[profile]\nname = \"acme\"\n[radius]\nvendor_id = 4242\ndictionary = \"dicts/acme\"\n\
             [[radius.attributes]]\nname = \"Acme-Extra\"\ncode = 400\ntype = \"byte\"\n",
        )
        .unwrap();
        let p = Profiles::load_dir(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        let acme = p.get("acme").unwrap();
        // format=2,1: two-byte vendor type, one-byte length.
        assert_eq!(
            acme.encode_reply_attribute("Acme-Wide", "ok").unwrap(),
            [26, 11, 0, 0, 0x10, 0x92, 0x01, 0x2c, 5, b'o', b'k']
        );
        assert_eq!(
            acme.encode_reply_attribute("Acme-Level", "high").unwrap(),
            [26, 13, 0, 0, 0x10, 0x92, 0, 2, 7, 0, 0, 0, 3]
        );
        assert_eq!(
            acme.encode_reply_attribute("Acme-Extra", "1").unwrap(),
            [26, 10, 0, 0, 0x10, 0x92, 0x01, 0x90, 4, 1]
        );
        assert_eq!(acme.radius.dictionary.vendor_id("acme"), Some(4242));
    }

    #[test]
    fn broken_dictionary_file_is_reported_through_the_profile() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("bad.dict"),
            "ATTRIBUTE A 1 string\nBOGUS line\n",
        )
        .unwrap();
        fs::write(
            tmp.path().join("p.toml"),
            "[profile]\nname = \"p\"\n[radius]\ndictionary = \"bad.dict\"\n",
        )
        .unwrap();
        let e = Profiles::load_dir(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("p.toml:4: dictionary: "), "{e}");
        assert!(e.contains("bad.dict:2: unknown keyword \"BOGUS\""), "{e}");
    }

    #[test]
    fn vendor_attribute_layouts() {
        let mut v = VendorDef::new("w", 24757);
        v.continuation = true;
        assert_eq!(
            vendor_attribute(&v, 1, b"a").unwrap(),
            [26, 10, 0, 0, 0x60, 0xb5, 1, 4, 0, b'a']
        );
        let usr = VendorDef {
            name: "usr".into(),
            id: 429,
            type_len: 4,
            len_len: 0,
            continuation: false,
        };
        assert_eq!(
            vendor_attribute(&usr, 0x1234, b"a").unwrap(),
            [26, 11, 0, 0, 1, 0xad, 0, 0, 0x12, 0x34, b'a']
        );
        let two = VendorDef {
            name: "s".into(),
            id: 8164,
            type_len: 2,
            len_len: 2,
            continuation: false,
        };
        assert_eq!(
            vendor_attribute(&two, 7, b"").unwrap(),
            [26, 10, 0, 0, 0x1f, 0xe4, 0, 7, 0, 4]
        );
        assert!(vendor_attribute(&VendorDef::new("x", 1), 256, b"").is_err());
        assert!(vendor_attribute(&two, 1, &[0u8; 246]).is_err());
    }

    #[test]
    fn works_with_the_system_dictionary() {
        let system = Path::new("/usr/share/freeradius/dictionary");
        let aruba_dict = Path::new("/usr/share/freeradius/dictionary.aruba");
        if !system.exists() || !aruba_dict.exists() {
            let why = "freeradius-common dictionaries not installed";
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("skipping: {why}");
            return;
        }
        let sys = Arc::new(Dictionary::load_file(system).unwrap());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ap-profiles");
        let p = Profiles::load_dir_with_dictionary(&dir, Some(Arc::clone(&sys)))
            .unwrap_or_else(|e| panic!("{e}"));
        // A standard attribute only the system dictionary has.
        let generic = p.get("generic").unwrap();
        assert_eq!(
            generic
                .encode_reply_attribute("Acct-Interim-Interval", "300")
                .unwrap(),
            [85, 6, 0, 0, 1, 44]
        );
        assert!(generic
            .encode_reply_attribute("WISPr-Bandwidth-Max-Up", "1000")
            .is_ok());
        // A profile that takes its attributes from the system's Aruba file.
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("aruba.toml"),
            format!(
                "[profile]\nname = \"aruba\"\n[radius]\nvendor_id = 14823\ndictionary = \"{}\"\n",
                aruba_dict.display()
            ),
        )
        .unwrap();
        let p = Profiles::load_dir_with_dictionary(tmp.path(), Some(sys))
            .unwrap_or_else(|e| panic!("{e}"));
        let bytes = p
            .get("aruba")
            .unwrap()
            .encode_reply_attribute("Aruba-User-Role", "staff")
            .unwrap();
        assert_eq!(
            bytes,
            [26, 13, 0, 0, 0x39, 0xe7, 1, 7, b's', b't', b'a', b'f', b'f']
        );
    }

    #[test]
    fn portal_sections_of_the_shipped_profiles() {
        use portal::Handoff;
        let p = shipped();
        for (name, handoff) in [
            ("generic", Handoff::RadiusMac),
            ("cisco-wlc", Handoff::FormPost),
            ("aruba", Handoff::FormPost),
            ("huawei", Handoff::RadiusMac),
            ("ruckus", Handoff::FormPost),
            ("unifi", Handoff::RadiusMac),
            ("omada", Handoff::RadiusMac),
            ("mikrotik", Handoff::MikrotikChap),
            ("coova", Handoff::CoovaUam),
        ] {
            let profile = p.get(name).unwrap_or_else(|| panic!("profile {name}"));
            assert_eq!(profile.portal.handoff, handoff, "{name}");
        }
        assert_eq!(p.get("cisco-wlc").unwrap().portal.login_url, ["switch_url"]);
        let e = load_err(&[(
            "p.toml",
            "[profile]\nname = \"x\"\n[portal]\nhandoff = \"nope\"\n",
        )]);
        assert!(e.contains("p.toml:4: portal.handoff"), "{e}");
    }
}

//! The FreeRADIUS dictionary format: `$INCLUDE`, `VENDOR` with its
//! `format=`, `BEGIN-VENDOR`/`END-VENDOR`, `ATTRIBUTE`, `VALUE`, and the
//! nested TLV and extended blocks, with the file and line of every error.

use std::path::{Path, PathBuf};

use super::*;

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

pub(super) struct Parser<'a> {
    dict: &'a mut Dictionary,
    /// Canonical paths of the files being read, outermost first.
    open: Vec<PathBuf>,
    /// BEGIN-* blocks currently open, across included files.
    frames: Vec<Frame>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(dict: &'a mut Dictionary) -> Self {
        Parser {
            dict,
            open: Vec::new(),
            frames: Vec::new(),
        }
    }
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
    pub(super) fn file(
        &mut self,
        path: &Path,
        from: Option<(&Path, usize)>,
    ) -> Result<(), DictionaryError> {
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
    pub(super) fn text(
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
pub(super) fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

pub(super) fn parse_u32(text: &str) -> Option<u32> {
    parse_u64(text).and_then(|n| u32::try_from(n).ok())
}

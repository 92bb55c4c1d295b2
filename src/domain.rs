//! Domain newtypes that validate on construction.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A 48-bit MAC address. Parses the common spellings (`aa:bb:cc:dd:ee:ff`,
/// `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `aabbccddeeff`) and prints one
/// canonical form: lower-case, colon-separated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a MAC address: {0:?}")]
pub struct MacParseError(pub String);

impl MacAddr {
    pub fn parse(input: &str) -> Result<Self, MacParseError> {
        let trimmed = input.trim();
        let mut digits = [0u8; 12];
        let mut count = 0;
        for c in trimmed.chars() {
            match c {
                ':' | '-' | '.' => continue,
                _ => {
                    let v = c
                        .to_digit(16)
                        .ok_or_else(|| MacParseError(input.to_string()))?;
                    if count == 12 {
                        return Err(MacParseError(input.to_string()));
                    }
                    digits[count] = v as u8;
                    count += 1;
                }
            }
        }
        if count != 12 || !Self::separators_ok(trimmed) {
            return Err(MacParseError(input.to_string()));
        }
        let mut out = [0u8; 6];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (digits[2 * i] << 4) | digits[2 * i + 1];
        }
        Ok(MacAddr(out))
    }

    /// Separators must form one of the known groupings, so that strings
    /// such as `a:bbccddeeff` are refused instead of guessed at.
    fn separators_ok(s: &str) -> bool {
        let groups: Vec<usize> = s.split([':', '-', '.']).map(str::len).collect();
        matches!(
            groups.as_slice(),
            [12] | [2, 2, 2, 2, 2, 2] | [4, 4, 4] | [6, 6]
        )
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A username as the store keeps it: trimmed, 1 to 253 bytes, no control
/// characters (253 is the most a RADIUS User-Name can carry).
pub fn validate_username(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("username is empty".into());
    }
    if name.len() > 253 {
        return Err("username is longer than 253 bytes".into());
    }
    if name.chars().any(char::is_control) {
        return Err("username contains control characters".into());
    }
    Ok(name)
}

/// SNMPv3 authentication protocol, as written in configuration and the
/// inventory (`md5`, `sha1`, `sha256`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// SNMPv3 privacy protocol (`des`, `aes128`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivProtocol {
    Des,
    Aes128,
    Aes192,
    Aes256,
}

impl AuthProtocol {
    pub fn parse(s: &str) -> Option<AuthProtocol> {
        Some(match s.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => AuthProtocol::Md5,
            "sha" | "sha1" => AuthProtocol::Sha1,
            "sha224" => AuthProtocol::Sha224,
            "sha256" => AuthProtocol::Sha256,
            "sha384" => AuthProtocol::Sha384,
            "sha512" => AuthProtocol::Sha512,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            AuthProtocol::Md5 => "md5",
            AuthProtocol::Sha1 => "sha1",
            AuthProtocol::Sha224 => "sha224",
            AuthProtocol::Sha256 => "sha256",
            AuthProtocol::Sha384 => "sha384",
            AuthProtocol::Sha512 => "sha512",
        }
    }
}

impl PrivProtocol {
    pub fn parse(s: &str) -> Option<PrivProtocol> {
        Some(match s.to_ascii_lowercase().replace('-', "").as_str() {
            "des" => PrivProtocol::Des,
            "aes" | "aes128" => PrivProtocol::Aes128,
            "aes192" => PrivProtocol::Aes192,
            "aes256" => PrivProtocol::Aes256,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            PrivProtocol::Des => "des",
            PrivProtocol::Aes128 => "aes128",
            PrivProtocol::Aes192 => "aes192",
            PrivProtocol::Aes256 => "aes256",
        }
    }
}

/// A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`.
pub fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings_to_one_form() {
        for s in [
            "aa:bb:cc:dd:ee:ff",
            "AA-BB-CC-DD-EE-FF",
            "aabb.ccdd.eeff",
            "AABBCCDDEEFF",
            "aabbcc-ddeeff",
        ] {
            assert_eq!(
                MacAddr::parse(s).unwrap().to_string(),
                "aa:bb:cc:dd:ee:ff",
                "{s}"
            );
        }
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "",
            "aa:bb",
            "aa:bb:cc:dd:ee:fg",
            "aa:bb:cc:dd:ee:ff:00",
            "a:abbccddeeff",
            "zz",
        ] {
            assert!(MacAddr::parse(s).is_err(), "{s}");
        }
    }
}

/// An administrator's role (one per account). The first four are the
/// separated roles MLPS 2.0 level 3 asks for; `Admin` holds every right
/// and exists only where `admin.role_separation = false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminRole {
    /// 系统管理员: network configuration.
    System,
    /// 安全管理员: administrator accounts, roles, resets, security settings.
    Security,
    /// 审计管理员: reads the audit trail and the logs, changes nothing.
    Audit,
    /// Helpdesk: reads inventory, sessions and logs, disconnects, vouchers.
    Operator,
    /// Every right (small sites without role separation).
    Admin,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role {0:?} (expected system, security, audit, operator or admin)")]
pub struct RoleParseError(pub String);

impl AdminRole {
    pub const ALL: [AdminRole; 5] = [
        AdminRole::System,
        AdminRole::Security,
        AdminRole::Audit,
        AdminRole::Operator,
        AdminRole::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::System => "system",
            AdminRole::Security => "security",
            AdminRole::Audit => "audit",
            AdminRole::Operator => "operator",
            AdminRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, RoleParseError> {
        AdminRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| RoleParseError(s.to_string()))
    }
}

impl fmt::Display for AdminRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

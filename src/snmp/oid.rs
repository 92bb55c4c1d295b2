//! Object identifiers as plain `Vec<u32>` arcs: parsing, printing and the
//! prefix tests that table walks need. Our own OID tables are dotted
//! strings in the profiles; the wire codec (snmp2) takes and returns its
//! own borrowed OID type, converted here at the edge.

use std::fmt;

/// An OID as its arcs. Ordered as SNMP orders OIDs (lexicographically by
/// arc), which is what `Ord` on the vector gives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(pub Vec<u32>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a dotted numeric OID")]
pub struct OidError(pub String);

impl Oid {
    /// `1.3.6.1.2.1.1.1.0` (a leading dot is accepted).
    pub fn parse(text: &str) -> Result<Oid, OidError> {
        let t = text.trim();
        let t = t.strip_prefix('.').unwrap_or(t);
        if t.is_empty() {
            return Err(OidError(text.to_string()));
        }
        let arcs: Result<Vec<u32>, _> = t.split('.').map(str::parse::<u32>).collect();
        match arcs {
            Ok(a) if a.len() >= 2 && a.len() <= 128 => Ok(Oid(a)),
            _ => Err(OidError(text.to_string())),
        }
    }

    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The arcs after `prefix`, if `self` lies under it.
    pub fn suffix(&self, prefix: &Oid) -> Option<&[u32]> {
        self.0.strip_prefix(prefix.0.as_slice())
    }

    /// `self` with more arcs appended.
    pub fn child(&self, arcs: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(arcs);
        Oid(v)
    }

    /// To the codec's type. Fails only for OIDs the BER encoding cannot
    /// carry (first arc above 2), which `parse` lets through.
    pub fn to_wire(&self) -> Option<snmp2::Oid<'static>> {
        let arcs: Vec<u64> = self.0.iter().map(|&a| u64::from(a)).collect();
        snmp2::Oid::from(&arcs).ok()
    }

    /// From the codec's type; `None` for arcs beyond 32 bits.
    pub fn from_wire(oid: &snmp2::Oid<'_>) -> Option<Oid> {
        let iter = oid.iter()?;
        let mut out = Vec::with_capacity(16);
        for arc in iter {
            out.push(u32::try_from(arc).ok()?);
        }
        Some(Oid(out))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for a in &self.0 {
            if !first {
                f.write_str(".")?;
            }
            first = false;
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Oid, OidError> {
        Oid::parse(s)
    }
}

/// Index arcs as text (`0.26.11.1.2.3.1`), the key table rows are joined on.
pub fn index_key(arcs: &[u32]) -> String {
    let mut s = String::with_capacity(arcs.len() * 4);
    for (i, a) in arcs.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&a.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_print_and_order() {
        let a = Oid::parse(".1.3.6.1.2.1.1.1.0").unwrap();
        assert_eq!(a.to_string(), "1.3.6.1.2.1.1.1.0");
        assert!(Oid::parse("1.3.x").is_err());
        assert!(Oid::parse("").is_err());
        assert!(Oid::parse("1").is_err());
        let b = Oid::parse("1.3.6.1.2.1.1.2.0").unwrap();
        assert!(a < b);
        let col = Oid::parse("1.3.6.1.2.1.1").unwrap();
        assert!(a.starts_with(&col));
        assert_eq!(a.suffix(&col), Some(&[1u32, 0][..]));
        assert!(Oid::parse("1.3.6.1.2.1.10").unwrap() > Oid::parse("1.3.6.1.2.1.9.9").unwrap());
    }

    #[test]
    fn wire_round_trip() {
        let a = Oid::parse("1.3.6.1.4.1.14179.2.2.1.1.3.0.26.11.1.2.3").unwrap();
        let w = a.to_wire().unwrap();
        assert_eq!(Oid::from_wire(&w), Some(a));
        assert_eq!(index_key(&[0, 26, 11]), "0.26.11");
    }
}

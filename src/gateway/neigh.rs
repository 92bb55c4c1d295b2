//! The client's MAC from its IP: the kernel's neighbour table.

use std::net::IpAddr;

use crate::domain::MacAddr;

/// MAC of `ip` in `/proc/net/arp` text (IPv4), if complete.
pub fn from_proc_arp(text: &str, ip: IpAddr) -> Option<MacAddr> {
    let want = ip.to_string();
    text.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // IP address, HW type, Flags, HW address, Mask, Device
        let (addr, flags, hw) = (cols.first()?, cols.get(2)?, cols.get(3)?);
        let complete = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()? & 0x2 != 0;
        (*addr == want && complete)
            .then(|| MacAddr::parse(hw).ok())
            .flatten()
    })
}

/// MAC of `ip` in `ip neigh show` output (IPv4 and IPv6).
pub fn from_ip_neigh(text: &str, ip: IpAddr) -> Option<MacAddr> {
    let want = ip.to_string();
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != want {
            return None;
        }
        let words: Vec<&str> = words.collect();
        let pos = words.iter().position(|w| *w == "lladdr")?;
        if words.iter().any(|w| *w == "FAILED" || *w == "INCOMPLETE") {
            return None;
        }
        MacAddr::parse(words.get(pos + 1)?).ok()
    })
}

/// Looks `ip` up: /proc/net/arp for IPv4, else `ip neigh show`.
pub async fn lookup(ip: IpAddr) -> Option<MacAddr> {
    if ip.is_ipv4() {
        if let Ok(text) = tokio::fs::read_to_string("/proc/net/arp").await {
            if let Some(mac) = from_proc_arp(&text, ip) {
                return Some(mac);
            }
        }
    }
    let out = tokio::process::Command::new("ip")
        .args(["neigh", "show", &ip.to_string()])
        .output()
        .await
        .ok()?;
    from_ip_neigh(&String::from_utf8_lossy(&out.stdout), ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_neighbour_tables() {
        let arp =
            "IP address       HW type     Flags       HW address            Mask     Device\n\
                   10.0.0.2         0x1         0x2         02:00:00:00:00:02     *        veth0\n\
                   10.0.0.3         0x1         0x0         00:00:00:00:00:00     *        veth0\n";
        assert_eq!(
            from_proc_arp(arp, "10.0.0.2".parse().unwrap())
                .map(|m| m.to_string())
                .as_deref(),
            Some("02:00:00:00:00:02")
        );
        assert_eq!(from_proc_arp(arp, "10.0.0.3".parse().unwrap()), None);
        let neigh =
            "fe80::1 dev veth0 lladdr 02:00:00:00:00:09 REACHABLE\n10.0.0.4 dev veth0  FAILED\n";
        assert!(from_ip_neigh(neigh, "fe80::1".parse().unwrap()).is_some());
        assert_eq!(from_ip_neigh(neigh, "10.0.0.4".parse().unwrap()), None);
    }
}

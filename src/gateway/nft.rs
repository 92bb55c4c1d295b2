//! The nftables table of gateway mode and its sets.

use std::net::Ipv4Addr;
use std::process::Stdio;

use ipnet::Ipv4Net;
use tokio::io::AsyncWriteExt;

use crate::domain::MacAddr;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("invalid gateway setting: {0}")]
    Invalid(String),
    #[error("running nft: {0}")]
    Spawn(std::io::Error),
    #[error("nft failed: {0}")]
    Nft(String),
}

/// What the ruleset is made from (validated).
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Client-facing interface.
    pub interface: String,
    pub table: String,
    pub portal_port: u16,
    pub walled_garden: Vec<Ipv4Net>,
    /// Program to run (`nft`; tests may wrap it with `ip netns exec`).
    pub nft: Vec<String>,
}

fn valid_ident(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl Gateway {
    pub fn new(
        interface: &str,
        table: &str,
        portal_port: u16,
        walled_garden: &[String],
    ) -> Result<Gateway, GatewayError> {
        if !valid_ident(interface) {
            return Err(GatewayError::Invalid(format!("interface {interface:?}")));
        }
        if !valid_ident(table) {
            return Err(GatewayError::Invalid(format!("table {table:?}")));
        }
        let garden = walled_garden
            .iter()
            .map(|s| {
                s.parse::<Ipv4Net>()
                    .or_else(|_| s.parse::<Ipv4Addr>().map(Ipv4Net::from))
                    .map_err(|_| GatewayError::Invalid(format!("walled garden entry {s:?}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Gateway {
            interface: interface.to_string(),
            table: table.to_string(),
            portal_port,
            walled_garden: garden,
            nft: vec!["nft".into()],
        })
    }

    /// The whole table, replacing any earlier one of the same name.
    pub fn ruleset(&self) -> String {
        let t = &self.table;
        let i = &self.interface;
        let garden = if self.walled_garden.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self.walled_garden.iter().map(|n| n.to_string()).collect();
            format!("    elements = {{ {} }}\n", list.join(", "))
        };
        format!(
            "table inet {t}\ndelete table inet {t}\n\
             table inet {t} {{\n\
             \x20 set allowed_mac {{\n    type ether_addr\n    flags timeout\n  }}\n\
             \x20 set garden4 {{\n    type ipv4_addr\n    flags interval\n{garden}  }}\n\
             \x20 set garden_client {{\n    type ether_addr . ipv4_addr\n    flags timeout\n  }}\n\
             \x20 chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n\
             \x20   iifname \"{i}\" ether saddr @allowed_mac accept\n\
             \x20   iifname \"{i}\" ip daddr @garden4 accept\n\
             \x20   iifname \"{i}\" ether saddr . ip daddr @garden_client accept\n\
             \x20   iifname \"{i}\" tcp dport 80 redirect to :{port}\n  }}\n\
             \x20 chain forward {{\n    type filter hook forward priority filter; policy accept;\n\
             \x20   iifname \"{i}\" ether saddr @allowed_mac accept\n\
             \x20   iifname \"{i}\" udp dport 53 accept\n\
             \x20   iifname \"{i}\" tcp dport 53 accept\n\
             \x20   iifname \"{i}\" ip daddr @garden4 accept\n\
             \x20   iifname \"{i}\" ether saddr . ip daddr @garden_client accept\n\
             \x20   iifname \"{i}\" drop\n  }}\n}}\n",
            port = self.portal_port
        )
    }

    /// Commands that let `mac` out for `seconds`.
    pub fn allow_script(&self, mac: MacAddr, seconds: u64) -> String {
        format!(
            "add element inet {} allowed_mac {{ {mac} timeout {}s }}\n",
            self.table,
            seconds.max(1)
        )
    }

    /// Commands that let `mac` reach `ips` (a per-client walled garden,
    /// e.g. WeChat's servers during OAuth) for `seconds`.
    pub fn garden_script(&self, mac: MacAddr, ips: &[Ipv4Addr], seconds: u64) -> String {
        let elems: Vec<String> = ips
            .iter()
            .map(|ip| format!("{mac} . {ip} timeout {}s", seconds.max(1)))
            .collect();
        format!(
            "add element inet {} garden_client {{ {} }}\n",
            self.table,
            elems.join(", ")
        )
    }

    pub fn remove_script(&self, mac: MacAddr) -> String {
        format!(
            "delete element inet {} allowed_mac {{ {mac} }}\n",
            self.table
        )
    }

    async fn run(&self, script: &str) -> Result<(), GatewayError> {
        let (prog, args) = self
            .nft
            .split_first()
            .ok_or_else(|| GatewayError::Invalid("empty nft command".into()))?;
        let mut child = tokio::process::Command::new(prog)
            .args(args)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GatewayError::Spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .await
                .map_err(GatewayError::Spawn)?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(GatewayError::Spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(GatewayError::Nft(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    }

    /// Installs (or replaces) the table.
    pub async fn install(&self) -> Result<(), GatewayError> {
        self.run(&self.ruleset()).await
    }

    pub async fn allow(&self, mac: MacAddr, seconds: u64) -> Result<(), GatewayError> {
        // Replace an existing element so a new session gets its full time.
        let _ = self.run(&self.remove_script(mac)).await;
        self.run(&self.allow_script(mac, seconds)).await
    }

    /// Opens the per-client walled garden: `hosts` resolved to IPv4
    /// addresses, reachable by `mac` for `seconds`.
    pub async fn open_garden(
        &self,
        mac: MacAddr,
        hosts: &[String],
        seconds: u64,
    ) -> Result<usize, GatewayError> {
        let mut ips: Vec<Ipv4Addr> = Vec::new();
        for host in hosts {
            if let Ok(addrs) = tokio::net::lookup_host((host.as_str(), 443)).await {
                for a in addrs {
                    if let std::net::IpAddr::V4(v4) = a.ip() {
                        if !ips.contains(&v4) {
                            ips.push(v4);
                        }
                    }
                }
            }
        }
        if ips.is_empty() {
            return Ok(0);
        }
        self.run(&self.garden_script(mac, &ips, seconds)).await?;
        Ok(ips.len())
    }

    pub async fn remove(&self, mac: MacAddr) -> Result<(), GatewayError> {
        self.run(&self.remove_script(mac)).await
    }

    /// Removes the table (gateway mode off, or shutdown).
    pub async fn uninstall(&self) -> Result<(), GatewayError> {
        self.run(&format!("delete table inet {}\n", self.table))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_text() {
        let g = Gateway::new(
            "veth-gw",
            "portico",
            8080,
            &["192.0.2.0/24".into(), "198.51.100.7".into()],
        )
        .unwrap();
        let r = g.ruleset();
        assert!(r.contains("delete table inet portico"));
        assert!(r.contains("iifname \"veth-gw\" tcp dport 80 redirect to :8080"));
        assert!(r.contains("elements = { 192.0.2.0/24, 198.51.100.7/32 }"));
        assert!(r.contains("iifname \"veth-gw\" drop"));
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        assert_eq!(
            g.allow_script(mac, 60),
            "add element inet portico allowed_mac { 02:00:00:00:00:01 timeout 60s }\n"
        );
        assert!(r.contains("ether saddr . ip daddr @garden_client accept"));
        assert_eq!(
            g.garden_script(mac, &["192.0.2.9".parse().unwrap()], 120),
            "add element inet portico garden_client { 02:00:00:00:00:01 . 192.0.2.9 timeout 120s }\n"
        );
        assert!(Gateway::new("eth0; drop", "p", 1, &[]).is_err());
        assert!(Gateway::new("eth0", "p", 1, &["nope".into()]).is_err());
    }
}

//! The controller profiles of issue 4 (Catalyst 9800, Aruba Instant, H3C,
//! Ruckus ZoneDirector and SmartZone) polled from net-snmp's snmpd serving
//! fixture rows written from the vendors' public MIB definitions.

use crate::snmp::{poll, v2c, Snmpd};

#[tokio::test]
async fn issue_4_controller_profiles_against_snmpd() {
    let Some(agent) = Snmpd::start_with(
        ".1.3.6.1.4.1.9.1.2530",
        &[
            (".1.3.6.1.4.1.9", "cisco-9800.walk"),
            (".1.3.6.1.4.1.14179", "cisco-9800-airespace.walk"),
            (".1.3.6.1.4.1.14823", "aruba-instant.walk"),
            (".1.3.6.1.4.1.25053", "ruckus.walk"),
            (".1.3.6.1.4.1.25506", "h3c.walk"),
        ],
    ) else {
        return;
    };
    let a = agent.addr;

    // Catalyst 9800: name from cLApTable, the rest joined from bsnAPTable
    // on the same MAC index; radios from bsnAPIf; clients from cldc.
    let c = poll(a, &v2c(), "cisco-9800").await;
    assert_eq!(c.aps.len(), 1, "{:?}", c.aps);
    let ap = &c.aps[0];
    assert_eq!(
        (ap.name.as_deref(), ap.mac.as_deref(), ap.ip.as_deref()),
        (
            Some("c9k-ap-atrium"),
            Some("00:27:e3:00:00:01"),
            Some("10.90.1.2")
        )
    );
    assert_eq!(
        (
            ap.model.as_deref(),
            ap.serial.as_deref(),
            ap.firmware.as_deref(),
            ap.up
        ),
        (
            Some("C9130AXI-E"),
            Some("FJC2500A0AB"),
            Some("17.9.4.27"),
            Some(true)
        )
    );
    let radios: Vec<_> = c
        .radios
        .iter()
        .map(|r| {
            (
                r.ap_index.as_deref() == Some(ap.index.as_str()),
                r.channel,
                r.clients,
                r.utilization,
            )
        })
        .collect();
    assert_eq!(
        radios,
        [
            (true, Some(1), Some(2), Some(23)),
            (true, Some(100), Some(6), Some(9))
        ]
    );
    assert_eq!(c.clients.len(), 1);
    let cl = &c.clients[0];
    assert_eq!(
        (cl.mac.as_deref(), cl.ap.as_deref(), cl.ip.as_deref()),
        (
            Some("6c:4a:85:00:00:03"),
            Some("00:27:e3:00:00:01"),
            Some("10.90.0.14")
        )
    );
    assert_eq!(
        (cl.user.as_deref(), cl.ssid.as_deref()),
        (Some("dave"), Some("Staff-9800"))
    );

    // Aruba Instant: one AP, radios with a textual channel, a client by SNR.
    let i = poll(a, &v2c(), "aruba-instant").await;
    assert_eq!(i.aps.len(), 1);
    let ap = &i.aps[0];
    assert_eq!(
        (
            ap.name.as_deref(),
            ap.mac.as_deref(),
            ap.model.as_deref(),
            ap.up
        ),
        (
            Some("iap-lobby"),
            Some("24:de:c6:00:00:01"),
            Some("515"),
            Some(true)
        )
    );
    assert_eq!(
        (ap.ip.as_deref(), ap.serial.as_deref()),
        (Some("10.60.0.11"), Some("CNHKK0X001"))
    );
    let radios: Vec<_> = i
        .radios
        .iter()
        .map(|r| (r.channel, r.tx_power, r.noise, r.utilization, r.clients))
        .collect();
    assert_eq!(
        radios,
        [
            (Some(6), Some(9), Some(-94), Some(41), Some(3)),
            (None, Some(15), Some(-97), Some(7), Some(8))
        ]
    );
    assert!(i
        .radios
        .iter()
        .all(|r| r.ap_index.as_deref() == Some(ap.index.as_str())));
    assert_eq!(i.clients.len(), 1);
    assert_eq!(
        (
            i.clients[0].mac.as_deref(),
            i.clients[0].ap.as_deref(),
            i.clients[0].snr
        ),
        (
            Some("a4:83:e7:00:00:05"),
            Some("24:de:c6:00:00:11"),
            Some(34)
        )
    );

    // Ruckus ZoneDirector: connected(1) is up, disconnected(0) is not.
    let z = poll(a, &v2c(), "ruckus-zd").await;
    assert_eq!(z.aps.len(), 2);
    assert_eq!(
        (
            z.aps[0].name.as_deref(),
            z.aps[0].up,
            z.aps[0].model.as_deref()
        ),
        (Some("zd-ap-hall"), Some(true), Some("zf7372"))
    );
    assert_eq!(
        (z.aps[1].name.as_deref(), z.aps[1].up, z.aps[1].status_raw),
        (Some("zd-ap-yard"), Some(false), Some(0))
    );
    let radios: Vec<_> = z
        .radios
        .iter()
        .map(|r| (r.channel, r.tx_power, r.clients, r.utilization))
        .collect();
    assert_eq!(
        radios,
        [
            (Some(1), Some(0), Some(4), Some(52)),
            (Some(44), Some(1), Some(11), Some(18))
        ]
    );
    assert!(z
        .radios
        .iter()
        .all(|r| r.ap_index.as_deref() == Some(z.aps[0].index.as_str())));
    assert_eq!(z.clients.len(), 1);
    let cl = &z.clients[0];
    assert_eq!(
        (
            cl.mac.as_deref(),
            cl.ap.as_deref(),
            cl.user.as_deref(),
            cl.ssid.as_deref()
        ),
        (
            Some("8c:85:90:00:00:07"),
            Some("58:b6:33:00:00:01"),
            Some("bob"),
            Some("Guests")
        )
    );
    assert_eq!(
        (cl.ip.as_deref(), cl.snr, cl.rssi),
        (Some("10.71.0.9"), Some(27), Some(-66))
    );

    // Ruckus SmartZone: the AP table only; its status is text and not read.
    let s = poll(a, &v2c(), "ruckus-sz").await;
    assert_eq!(s.aps.len(), 1);
    let ap = &s.aps[0];
    assert_eq!(
        (
            ap.name.as_deref(),
            ap.mac.as_deref(),
            ap.model.as_deref(),
            ap.ip.as_deref()
        ),
        (
            Some("sz-ap-roof"),
            Some("ec:58:ea:00:00:09"),
            Some("R750"),
            Some("10.72.0.5")
        )
    );
    assert_eq!(
        (ap.serial.as_deref(), ap.firmware.as_deref(), ap.up),
        (Some("432009000555"), Some("6.1.2.0.304"), None)
    );
    assert!(s.radios.is_empty() && s.clients.is_empty());

    // H3C: two AP tables joined on the string AP identifier; run(5) is up.
    let h = poll(a, &v2c(), "h3c").await;
    assert_eq!(h.aps.len(), 1, "{:?}", h.aps);
    let ap = &h.aps[0];
    assert_eq!(
        (
            ap.name.as_deref(),
            ap.mac.as_deref(),
            ap.ip.as_deref(),
            ap.up
        ),
        (
            Some("floor2-east"),
            Some("70:ba:ef:00:00:01"),
            Some("10.80.0.41"),
            Some(true)
        )
    );
    assert_eq!(
        (ap.model.as_deref(), ap.firmware.as_deref()),
        (Some("WA6320"), Some("R2444P01"))
    );
    let radios: Vec<_> = h.radios.iter().map(|r| (r.channel, r.tx_power)).collect();
    assert_eq!(radios, [(Some(149), Some(20)), (Some(11), Some(14))]);
    assert_eq!(h.clients.len(), 1);
    let cl = &h.clients[0];
    assert_eq!(
        (
            cl.mac.as_deref(),
            cl.ip.as_deref(),
            cl.user.as_deref(),
            cl.ssid.as_deref(),
            cl.rssi
        ),
        (
            Some("3c:06:30:00:00:04"),
            Some("10.81.0.77"),
            Some("carol"),
            Some("Corp"),
            Some(-58)
        )
    );
}

//! The packed form of one AP's radio samples at one moment (the `data`
//! column of `radio_polls`): per radio its slot (a varint), a byte saying
//! which of the five values are known, and those values as zigzag varints
//! of their distance from a typical value (a noise floor is stored as its
//! distance from -100 dBm, so it takes one byte). Two radios fit in 14
//! bytes; a row per radio per poll cost about 180 with its indexes. Pure
//! code.

use thiserror::Error;

/// What each value is stored relative to: channel, tx power, noise,
/// utilization, clients.
const BIAS: [i64; 5] = [0, 0, -100, 0, 0];

/// One radio's values in a packed row (None: unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackedRadio {
    pub slot: u32,
    pub channel: Option<i64>,
    pub tx_power: Option<i64>,
    pub noise: Option<i64>,
    pub utilization: Option<i64>,
    pub clients: Option<i64>,
}

impl PackedRadio {
    fn values(&self) -> [Option<i64>; 5] {
        [
            self.channel,
            self.tx_power,
            self.noise,
            self.utilization,
            self.clients,
        ]
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PackError {
    #[error("packed radio samples: unknown value mask {0:#x}")]
    Mask(u8),
    #[error("packed radio samples: cut short")]
    Truncated,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn get_varint(data: &[u8], at: &mut usize) -> Result<u64, PackError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at).ok_or(PackError::Truncated)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(PackError::Truncated)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn pack(radios: &[PackedRadio]) -> Vec<u8> {
    let mut out = Vec::with_capacity(radios.len() * 8);
    for r in radios {
        put_varint(&mut out, u64::from(r.slot));
        let values = r.values();
        let mask = values
            .iter()
            .enumerate()
            .fold(0u8, |m, (i, v)| if v.is_some() { m | (1 << i) } else { m });
        out.push(mask);
        for (v, bias) in values.into_iter().zip(BIAS) {
            if let Some(v) = v {
                put_varint(&mut out, zigzag(v.wrapping_sub(bias)));
            }
        }
    }
    out
}

pub fn unpack(data: &[u8]) -> Result<Vec<PackedRadio>, PackError> {
    let rest = data;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < rest.len() {
        let slot = u32::try_from(get_varint(rest, &mut at)?).map_err(|_| PackError::Truncated)?;
        let mask = *rest.get(at).ok_or(PackError::Truncated)?;
        if mask >= 1 << 5 {
            return Err(PackError::Mask(mask));
        }
        at += 1;
        let mut values = [None; 5];
        for (i, (v, bias)) in values.iter_mut().zip(BIAS).enumerate() {
            if mask & (1 << i) != 0 {
                *v = Some(unzigzag(get_varint(rest, &mut at)?).wrapping_add(bias));
            }
        }
        let [channel, tx_power, noise, utilization, clients] = values;
        out.push(PackedRadio {
            slot,
            channel,
            tx_power,
            noise,
            utilization,
            clients,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_unknowns_and_negatives() {
        let radios = [
            PackedRadio {
                slot: 0,
                channel: Some(6),
                tx_power: Some(17),
                noise: Some(-95),
                utilization: Some(41),
                clients: Some(3),
            },
            PackedRadio {
                slot: 300,
                channel: Some(116),
                tx_power: None,
                noise: Some(i64::MIN),
                utilization: None,
                clients: Some(i64::MAX),
            },
        ];
        let data = pack(&radios);
        assert_eq!(unpack(&data).unwrap(), radios);
        // Two typical radios take 14 bytes.
        let typical = pack(&[
            radios[0],
            PackedRadio {
                slot: 1,
                ..radios[0]
            },
        ]);
        assert_eq!(typical.len(), 14);
        assert_eq!(unpack(&pack(&[])).unwrap(), []);
    }

    #[test]
    fn malformed_data_is_an_error_not_a_panic() {
        assert_eq!(unpack(&[]), Ok(vec![]));
        assert_eq!(unpack(&[0]), Err(PackError::Truncated));
        assert_eq!(unpack(&[0, 0x40]), Err(PackError::Mask(0x40)));
        assert_eq!(unpack(&[0, 0b11111, 1]), Err(PackError::Truncated));
        assert_eq!(
            unpack(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(PackError::Truncated)
        );
        for n in 0..=255u8 {
            let _ = unpack(&[n, n, n, n]);
        }
    }
}

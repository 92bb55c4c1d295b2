//! The packed form of one AP's radio samples at one moment (the `data`
//! column of `radio_polls`): a format byte, then per radio its slot (a
//! varint), a byte saying which of the five values are known, and those
//! values as zigzag varints. Two radios fit in about 17 bytes; a row per
//! radio per poll cost about 180 with its indexes. Pure code.

use thiserror::Error;

const FORMAT: u8 = 1;

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
    #[error("packed radio samples: unknown format {0}")]
    Format(u8),
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
    let mut out = Vec::with_capacity(1 + radios.len() * 8);
    out.push(FORMAT);
    for r in radios {
        put_varint(&mut out, u64::from(r.slot));
        let values = r.values();
        let mask = values
            .iter()
            .enumerate()
            .fold(0u8, |m, (i, v)| if v.is_some() { m | (1 << i) } else { m });
        out.push(mask);
        for v in values.into_iter().flatten() {
            put_varint(&mut out, zigzag(v));
        }
    }
    out
}

pub fn unpack(data: &[u8]) -> Result<Vec<PackedRadio>, PackError> {
    let Some((&format, rest)) = data.split_first() else {
        return Err(PackError::Truncated);
    };
    if format != FORMAT {
        return Err(PackError::Format(format));
    }
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < rest.len() {
        let slot = u32::try_from(get_varint(rest, &mut at)?).map_err(|_| PackError::Truncated)?;
        let mask = *rest.get(at).ok_or(PackError::Truncated)?;
        at += 1;
        let mut values = [None; 5];
        for (i, v) in values.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *v = Some(unzigzag(get_varint(rest, &mut at)?));
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
        // Two typical radios take 17 bytes.
        let typical = pack(&[
            radios[0],
            PackedRadio {
                slot: 1,
                ..radios[0]
            },
        ]);
        assert_eq!(typical.len(), 17);
        assert_eq!(unpack(&pack(&[])).unwrap(), []);
    }

    #[test]
    fn malformed_data_is_an_error_not_a_panic() {
        assert_eq!(unpack(&[]), Err(PackError::Truncated));
        assert_eq!(unpack(&[9]), Err(PackError::Format(9)));
        assert_eq!(unpack(&[1, 0]), Err(PackError::Truncated));
        assert_eq!(unpack(&[1, 0, 0b11111, 1]), Err(PackError::Truncated));
        assert_eq!(
            unpack(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(PackError::Truncated)
        );
        for n in 0..=255u8 {
            let _ = unpack(&[1, n, n, n, n]);
        }
    }
}

//! Alert rules on plain values (thresholds per radio, AP down), and the
//! bookkeeping that raises an alert once and clears it on recovery.

use std::collections::HashSet;

use serde::Serialize;

use crate::store::samples::RadioSample;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// Radio channel utilization, percent (alert at or above).
    pub utilization: Option<i64>,
    /// Clients on one radio (alert at or above).
    pub clients_per_radio: Option<i64>,
    /// Noise floor in dBm (alert at or above, e.g. -75 is worse than -90).
    pub noise_floor: Option<i64>,
}

/// One rule's verdict for one subject in this cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub kind: &'static str,
    pub subject: String,
    pub active: bool,
    pub severity: &'static str,
    pub message: String,
}

/// (kind, threshold, value, what, unit) of one radio rule.
type Rule<'a> = (&'static str, Option<i64>, Option<i64>, &'a str, &'a str);

/// Evaluates the rules for one AP after a poll.
pub fn evaluate(
    ap: &str,
    up: Option<bool>,
    radios: &[RadioSample],
    t: &Thresholds,
) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Some(up) = up {
        out.push(Condition {
            kind: "ap-down",
            subject: ap.to_string(),
            active: !up,
            severity: "critical",
            message: if up {
                format!("AP {ap} is reachable again")
            } else {
                format!("AP {ap} is down")
            },
        });
    }
    for r in radios {
        let subject = format!("{ap}/{}", r.radio);
        let rules: [Rule; 3] = [
            (
                "radio-utilization",
                t.utilization,
                r.utilization,
                "channel utilization",
                "%",
            ),
            (
                "radio-clients",
                t.clients_per_radio,
                r.clients,
                "clients",
                "",
            ),
            ("radio-noise", t.noise_floor, r.noise, "noise floor", " dBm"),
        ];
        for (kind, limit, value, what, unit) in rules {
            let (Some(limit), Some(value)) = (limit, value) else {
                continue;
            };
            let active = value >= limit;
            out.push(Condition {
                kind,
                subject: subject.clone(),
                active,
                severity: "warning",
                message: if active {
                    format!("radio {subject}: {what} {value}{unit} (threshold {limit}{unit})")
                } else {
                    format!("radio {subject}: {what} back to {value}{unit}")
                },
            });
        }
    }
    out
}

/// What changed: conditions to raise and to clear.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transitions {
    pub raise: Vec<Condition>,
    pub clear: Vec<Condition>,
}

/// The open alerts, keyed by (kind, subject); the source is the AP.
#[derive(Debug, Default)]
pub struct OpenSet {
    open: HashSet<(String, String)>,
}

impl OpenSet {
    pub fn insert(&mut self, kind: &str, subject: &str) {
        self.open.insert((kind.to_string(), subject.to_string()));
    }

    /// Applies one cycle's conditions: active and not open -> raise;
    /// inactive and open -> clear. Subjects not evaluated keep their state.
    pub fn apply(&mut self, conditions: Vec<Condition>) -> Transitions {
        let mut t = Transitions::default();
        for c in conditions {
            let key = (c.kind.to_string(), c.subject.clone());
            let is_open = self.open.contains(&key);
            if c.active && !is_open {
                self.open.insert(key);
                t.raise.push(c);
            } else if !c.active && is_open {
                self.open.remove(&key);
                t.clear.push(c);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn radio(util: i64, clients: i64, noise: i64) -> RadioSample {
        RadioSample {
            radio: "0".into(),
            utilization: Some(util),
            clients: Some(clients),
            noise: Some(noise),
            ..RadioSample::default()
        }
    }

    #[test]
    fn raised_once_and_cleared_on_recovery() {
        let t = Thresholds {
            utilization: Some(80),
            clients_per_radio: Some(30),
            noise_floor: Some(-75),
        };
        let mut open = OpenSet::default();
        let a = open.apply(evaluate("ap1", Some(true), &[radio(90, 5, -90)], &t));
        assert_eq!(a.raise.len(), 1);
        assert_eq!(a.raise[0].kind, "radio-utilization");
        assert!(a.clear.is_empty());
        // Still high: nothing new.
        let b = open.apply(evaluate("ap1", Some(true), &[radio(95, 5, -90)], &t));
        assert_eq!(b, Transitions::default());
        // Recovers, while clients and noise cross.
        let c = open.apply(evaluate("ap1", Some(true), &[radio(10, 31, -70)], &t));
        assert_eq!(c.clear.len(), 1);
        assert_eq!(
            c.raise.iter().map(|x| x.kind).collect::<Vec<_>>(),
            ["radio-clients", "radio-noise"]
        );
        let d = open.apply(evaluate("ap1", Some(false), &[], &t));
        assert_eq!(d.raise[0].kind, "ap-down");
        let e = open.apply(evaluate("ap1", Some(true), &[], &t));
        assert_eq!(e.clear[0].kind, "ap-down");
    }
}

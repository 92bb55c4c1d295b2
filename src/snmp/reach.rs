//! Reachability state: an AP is down after `down_after` failed cycles in a
//! row and up again on the first success; each change is an event.

/// The state kept per AP between cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Unknown,
    Up,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Up => "up",
            Status::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Status {
        match s {
            "up" => Status::Up,
            "down" => Status::Down,
            _ => Status::Unknown,
        }
    }
}

/// The next (status, failures in a row) after one cycle, and whether the
/// status changed (an event to emit).
pub fn next(prev: Status, failures: u32, reachable: bool, down_after: u32) -> (Status, u32, bool) {
    if reachable {
        return (Status::Up, 0, prev != Status::Up);
    }
    let failures = failures.saturating_add(1);
    if failures >= down_after.max(1) {
        (Status::Down, failures, prev != Status::Down)
    } else {
        (prev, failures, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_n_failures_up_on_first_success() {
        let (mut s, mut f) = (Status::Unknown, 0);
        let mut changes = Vec::new();
        for ok in [true, false, false, false, false, true, false] {
            let (ns, nf, changed) = next(s, f, ok, 3);
            if changed {
                changes.push(ns);
            }
            s = ns;
            f = nf;
        }
        assert_eq!(changes, [Status::Up, Status::Down, Status::Up]);
        assert_eq!((s, f), (Status::Up, 1));
        // A first poll that fails leaves the status unknown until N.
        assert_eq!(
            next(Status::Unknown, 0, false, 3),
            (Status::Unknown, 1, false)
        );
    }
}

//! portico-radload: closed-loop RADIUS load generator for benchmarks.
//!
//! Keeps `--concurrency` requests outstanding against any RADIUS server over
//! UDP and prints throughput, latency percentiles and the tool's own CPU time.
//! Every reply is verified (Response Authenticator, Message-Authenticator when
//! present) with the crate's own codec in `portico::radius::wire`.
//!
//! Built to be cheap because it shares the machine with the server under
//! test: one task per UDP socket, at most 256 outstanding identifiers per
//! socket, a current-thread runtime by default, and reusable buffers so that
//! the only per-request allocations are the encoded datagram and the hidden
//! password.

#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use portico::radius::wire;
use portico::radius::wire::attr::*;
use portico::radius::wire::code::{
    ACCESS_ACCEPT, ACCESS_CHALLENGE, ACCESS_REJECT, ACCESS_REQUEST, ACCOUNTING_REQUEST,
    ACCOUNTING_RESPONSE,
};
use rand::{RngCore, SeedableRng};
use tokio::net::UdpSocket;

/// Longest run accepted, whatever the options say: a load loop is always bounded.
const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Identifiers available on one socket.
const IDS_PER_SOCKET: usize = 256;

// Attribute types used here (RFC 2865, 2866, 2869).

const NAS_IDENTIFIER_VALUE: &[u8] = b"portico-radload";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Access-Request with PAP User-Password and Message-Authenticator.
    Pap,
    /// Accounting-Request Start / Interim-Update / Stop per session.
    Acct,
}

/// Closed-loop RADIUS load generator (PAP or accounting) for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "portico-radload", version)]
struct Args {
    /// What to send.
    #[arg(value_enum)]
    mode: Mode,
    /// Server address [default: 127.0.0.1:1812 for pap, 127.0.0.1:1813 for acct].
    #[arg(long)]
    server: Option<SocketAddr>,
    /// Shared secret.
    #[arg(
        long,
        env = "PORTICO_RADLOAD_SECRET",
        hide_env_values = true,
        conflicts_with = "secret_file"
    )]
    secret: Option<String>,
    /// File holding the shared secret (trailing newline ignored).
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Requests outstanding at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Stop after this many requests (the duration still applies).
    #[arg(long)]
    requests: Option<u64>,
    /// Stop sending after this long (at most 1h).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Per-request timeout; a request not answered in time counts as a timeout (no retry).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Size of the user population cycled through (<prefix>0 .. <prefix>N-1).
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// User-Name prefix.
    #[arg(long, default_value = "user")]
    user_prefix: String,
    /// Password prefix: user n has password <password-prefix><n>.
    #[arg(long, default_value = "pass")]
    password_prefix: String,
    /// UDP sockets to spread the load over [default: one per 256 outstanding].
    #[arg(long)]
    sockets: Option<usize>,
    /// Runtime threads: 1 (current-thread runtime) or more (multi-thread).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// NAS-IP-Address sent in every request.
    #[arg(long, default_value = "127.0.0.1")]
    nas_ip: Ipv4Addr,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Options checked and resolved, shared read-only by every socket task.
#[derive(Debug)]
struct Plan {
    mode: Mode,
    server: SocketAddr,
    secret: Vec<u8>,
    sockets: usize,
    concurrency: usize,
    max_requests: u64,
    duration: Duration,
    timeout: Duration,
    users: u64,
    user_prefix: String,
    password_prefix: String,
    nas_ip: Ipv4Addr,
    /// Distinguishes this run's Acct-Session-Ids from earlier runs'.
    run_tag: u32,
}

fn plan(args: &Args) -> Result<Plan> {
    let secret = match (&args.secret, &args.secret_file) {
        (Some(s), None) => s.as_bytes().to_vec(),
        (None, Some(path)) => {
            let raw = std::fs::read(path)
                .with_context(|| format!("reading secret file {}", path.display()))?;
            trim_line_end(&raw).to_vec()
        }
        (None, None) => bail!("give --secret or --secret-file"),
        (Some(_), Some(_)) => bail!("give only one of --secret and --secret-file"),
    };
    if secret.is_empty() {
        bail!("the shared secret is empty");
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.users == 0 {
        bail!("--users must be at least 1");
    }
    if args.duration.is_zero() || args.duration > MAX_DURATION {
        bail!("--duration must be between 1ms and 1h");
    }
    if args.timeout.is_zero() || args.timeout > Duration::from_secs(60) {
        bail!("--timeout must be between 1ms and 60s");
    }
    if args.requests == Some(0) {
        bail!("--requests must be at least 1");
    }
    if args.threads == 0 || args.threads > 64 {
        bail!("--threads must be between 1 and 64");
    }
    let sockets = match args.sockets {
        Some(n) => n,
        None => args.concurrency.div_ceil(IDS_PER_SOCKET),
    };
    if sockets == 0 || sockets > args.concurrency {
        bail!("--sockets must be between 1 and --concurrency");
    }
    if args.concurrency.div_ceil(sockets) > IDS_PER_SOCKET {
        bail!(
            "--concurrency {} needs at least {} sockets (256 identifiers each)",
            args.concurrency,
            args.concurrency.div_ceil(IDS_PER_SOCKET)
        );
    }
    let server = args.server.unwrap_or_else(|| {
        let port = match args.mode {
            Mode::Pap => 1812,
            Mode::Acct => 1813,
        };
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    });
    Ok(Plan {
        mode: args.mode,
        server,
        secret,
        sockets,
        concurrency: args.concurrency,
        max_requests: args.requests.unwrap_or(u64::MAX),
        duration: args.duration,
        timeout: args.timeout,
        users: args.users,
        user_prefix: args.user_prefix.clone(),
        password_prefix: args.password_prefix.clone(),
        nas_ip: args.nas_ip,
        run_tag: rand::random(),
    })
}

fn trim_line_end(raw: &[u8]) -> &[u8] {
    let mut end = raw.len();
    while end > 0 && matches!(raw.get(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    raw.get(..end).unwrap_or(raw)
}

// ---------------------------------------------------------------------------
// Latency histogram: log-linear, 64 sub-buckets per power of two (<1.6% error),
// fixed size, no allocation while recording.

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values at or above 2^36 µs (~19 h) land in the last bucket.
const MAX_EXP: u32 = 36;
const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 1) as usize) * SUB as usize + SUB as usize;

#[derive(Clone)]
struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            return v as usize;
        }
        let e = (63 - v.leading_zeros()).min(MAX_EXP);
        let top = (v >> (e - SUB_BITS)).min(2 * SUB - 1);
        ((e - SUB_BITS) as u64 * SUB + top) as usize
    }

    /// Smallest value that maps to bucket `i`.
    fn lower_bound(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let e = i / SUB - 1 + SUB_BITS as u64;
        let top = i % SUB + SUB;
        top << (e - SUB_BITS as u64)
    }

    fn record(&mut self, micros: u64) {
        if let Some(c) = self.counts.get_mut(Self::index(micros)) {
            *c += 1;
        }
        self.total += 1;
        self.max = self.max.max(micros);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Middle of bucket `i` (exact below 128 µs).
    fn midpoint(i: usize) -> u64 {
        let lb = Self::lower_bound(i);
        let width = Self::lower_bound(i + 1).saturating_sub(lb).max(1);
        lb + (width - 1) / 2
    }

    /// Value at quantile `q` (0..=1): the middle of the bucket holding that
    /// rank, never above the exact maximum.
    fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::midpoint(i).min(self.max);
            }
        }
        self.max
    }
}

// ---------------------------------------------------------------------------
// Counters of one socket task, summed at the end.

#[derive(Clone)]
struct Stats {
    sent: u64,
    accepts: u64,
    rejects: u64,
    challenges: u64,
    acct_responses: u64,
    timeouts: u64,
    /// Replies that failed verification or had a code that does not fit the request.
    bad_replies: u64,
    /// Replies whose identifier has nothing outstanding (late or stray).
    unmatched: u64,
    /// Socket errors (e.g. ICMP port unreachable seen as ECONNREFUSED).
    socket_errors: u64,
    latency: Histogram,
    first_send: Option<Instant>,
    last_event: Option<Instant>,
}

impl Stats {
    fn new() -> Self {
        Stats {
            sent: 0,
            accepts: 0,
            rejects: 0,
            challenges: 0,
            acct_responses: 0,
            timeouts: 0,
            bad_replies: 0,
            unmatched: 0,
            socket_errors: 0,
            latency: Histogram::new(),
            first_send: None,
            last_event: None,
        }
    }

    fn merge(&mut self, o: &Stats) {
        self.sent += o.sent;
        self.accepts += o.accepts;
        self.rejects += o.rejects;
        self.challenges += o.challenges;
        self.acct_responses += o.acct_responses;
        self.timeouts += o.timeouts;
        self.bad_replies += o.bad_replies;
        self.unmatched += o.unmatched;
        self.socket_errors += o.socket_errors;
        self.latency.merge(&o.latency);
        self.first_send = match (self.first_send, o.first_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_event = match (self.last_event, o.last_event) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn answered(&self) -> u64 {
        self.accepts + self.rejects + self.challenges + self.acct_responses
    }
}

// ---------------------------------------------------------------------------
// Request building: pure functions over reusable scratch buffers.

/// Reusable text and attribute buffers, so building a request allocates only
/// the encoded datagram (and the hidden password).
struct Scratch {
    attrs: Vec<u8>,
    user: String,
    password: String,
    text: String,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            attrs: Vec::with_capacity(512),
            user: String::with_capacity(64),
            password: String::with_capacity(64),
            text: String::with_capacity(64),
        }
    }
}

/// A locally administered MAC derived from the user index, IEEE style.
fn write_mac(out: &mut String, index: u64) {
    let b = index.to_be_bytes();
    out.clear();
    let _ = write!(
        out,
        "02-00-{:02X}-{:02X}-{:02X}-{:02X}",
        b[4], b[5], b[6], b[7]
    );
}

fn push_u32(attrs: &mut Vec<u8>, typ: u8, value: u32) -> Result<(), wire::WireError> {
    wire::push_attribute(attrs, typ, &value.to_be_bytes())
}

/// Access-Request for user `index`. The encoder puts Message-Authenticator
/// first and computes it.
fn build_pap(
    plan: &Plan,
    s: &mut Scratch,
    index: u64,
    identifier: u8,
    authenticator: &[u8; 16],
) -> Result<Vec<u8>, wire::WireError> {
    s.user.clear();
    let _ = write!(s.user, "{}{}", plan.user_prefix, index);
    s.password.clear();
    let _ = write!(s.password, "{}{}", plan.password_prefix, index);
    write_mac(&mut s.text, index);
    let hidden = wire::encrypt_user_password(s.password.as_bytes(), &plan.secret, authenticator)?;
    let a = &mut s.attrs;
    a.clear();
    wire::push_attribute(a, USER_NAME, s.user.as_bytes())?;
    wire::push_attribute(a, USER_PASSWORD, &hidden)?;
    wire::push_attribute(a, NAS_IP_ADDRESS, &plan.nas_ip.octets())?;
    push_u32(a, NAS_PORT, (index % 65_536) as u32)?;
    push_u32(a, NAS_PORT_TYPE, 19)?; // Wireless-802.11
    wire::push_attribute(a, NAS_IDENTIFIER, NAS_IDENTIFIER_VALUE)?;
    wire::push_attribute(a, CALLING_STATION_ID, s.text.as_bytes())?;
    wire::encode_request(ACCESS_REQUEST, identifier, authenticator, a, &plan.secret)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcctPhase {
    Start,
    Interim,
    Stop,
}

impl AcctPhase {
    fn status_type(self) -> u32 {
        match self {
            AcctPhase::Start => 1,
            AcctPhase::Stop => 2,
            AcctPhase::Interim => 3,
        }
    }

    fn next(self) -> Option<AcctPhase> {
        match self {
            AcctPhase::Start => Some(AcctPhase::Interim),
            AcctPhase::Interim => Some(AcctPhase::Stop),
            AcctPhase::Stop => None,
        }
    }
}

/// One simulated session as a lane walks it through Start, Interim, Stop.
#[derive(Debug, Clone, Copy)]
struct Session {
    number: u64,
    phase: AcctPhase,
}

/// Accounting-Request for a session phase. Counters grow with the phase so
/// that Interim and Stop carry plausible, increasing values.
fn build_acct(
    plan: &Plan,
    s: &mut Scratch,
    session: Session,
    identifier: u8,
    unix_time: u32,
) -> Result<Vec<u8>, wire::WireError> {
    let index = session.number % plan.users;
    let step: u32 = match session.phase {
        AcctPhase::Start => 0,
        AcctPhase::Interim => 1,
        AcctPhase::Stop => 2,
    };
    s.user.clear();
    let _ = write!(s.user, "{}{}", plan.user_prefix, index);
    s.password.clear();
    let _ = write!(s.password, "{:08X}-{:010X}", plan.run_tag, session.number);
    write_mac(&mut s.text, index);
    let a = &mut s.attrs;
    a.clear();
    push_u32(a, ACCT_STATUS_TYPE, session.phase.status_type())?;
    wire::push_attribute(a, ACCT_SESSION_ID, s.password.as_bytes())?;
    wire::push_attribute(a, USER_NAME, s.user.as_bytes())?;
    wire::push_attribute(a, NAS_IP_ADDRESS, &plan.nas_ip.octets())?;
    push_u32(a, NAS_PORT, (index % 65_536) as u32)?;
    push_u32(a, NAS_PORT_TYPE, 19)?;
    wire::push_attribute(a, NAS_IDENTIFIER, NAS_IDENTIFIER_VALUE)?;
    wire::push_attribute(a, CALLING_STATION_ID, s.text.as_bytes())?;
    let ip = [10, (index >> 16) as u8, (index >> 8) as u8, index as u8];
    wire::push_attribute(a, FRAMED_IP_ADDRESS, &ip)?;
    push_u32(a, ACCT_DELAY_TIME, 0)?;
    push_u32(a, EVENT_TIMESTAMP, unix_time)?;
    if session.phase != AcctPhase::Start {
        push_u32(a, ACCT_SESSION_TIME, 300 * step)?;
        push_u32(a, ACCT_INPUT_OCTETS, 1_500_000 * step)?;
        push_u32(a, ACCT_OUTPUT_OCTETS, 9_000_000 * step)?;
        push_u32(a, ACCT_INPUT_PACKETS, 2_000 * step)?;
        push_u32(a, ACCT_OUTPUT_PACKETS, 7_000 * step)?;
    }
    if session.phase == AcctPhase::Stop {
        push_u32(a, ACCT_TERMINATE_CAUSE, 1)?; // User-Request
    }
    // The encoder adds Message-Authenticator first and computes the
    // accounting Request Authenticator (RFC 2866) over the final bytes.
    wire::encode_request(ACCOUNTING_REQUEST, identifier, &[0u8; 16], a, &plan.secret)
}

/// What a verified reply means for the request it answers.
#[derive(Debug, PartialEq, Eq)]
enum ReplyKind {
    Accept,
    Reject,
    Challenge,
    AcctResponse,
    /// Verified, but a code that does not answer this kind of request.
    WrongCode,
}

fn classify(mode: Mode, code: u8) -> ReplyKind {
    match (mode, code) {
        (Mode::Pap, ACCESS_ACCEPT) => ReplyKind::Accept,
        (Mode::Pap, ACCESS_REJECT) => ReplyKind::Reject,
        (Mode::Pap, ACCESS_CHALLENGE) => ReplyKind::Challenge,
        (Mode::Acct, ACCOUNTING_RESPONSE) => ReplyKind::AcctResponse,
        _ => ReplyKind::WrongCode,
    }
}

// ---------------------------------------------------------------------------
// The socket engine.

/// Hands out request numbers until the request cap or the deadline is hit.
struct Budget {
    issued: AtomicU64,
    sessions: AtomicU64,
    max_requests: u64,
    stop_at: Instant,
}

impl Budget {
    fn claim(&self) -> Option<u64> {
        if Instant::now() >= self.stop_at {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        (n < self.max_requests).then_some(n)
    }
}

#[derive(Clone, Copy)]
struct Slot {
    busy: bool,
    /// Send serial, to tell this use of the identifier from earlier ones.
    serial: u64,
    lane: usize,
    sent_at: Instant,
    authenticator: [u8; 16],
}

/// Per-lane state: a lane is one outstanding request at a time.
#[derive(Clone, Copy)]
enum Lane {
    Pap,
    Acct(Option<Session>),
}

struct Engine<'a> {
    plan: &'a Plan,
    budget: &'a Budget,
    sock: UdpSocket,
    slots: [Slot; IDS_PER_SOCKET],
    /// Free identifiers, least recently used first, so a late reply to a
    /// timed-out request is unlikely to meet a new request with its id.
    free_ids: VecDeque<u8>,
    /// (identifier, serial) in send order: the front is the oldest outstanding.
    order: VecDeque<(u8, u64)>,
    lanes: Vec<Lane>,
    idle: Vec<usize>,
    outstanding: usize,
    serial: u64,
    rng: rand::rngs::StdRng,
    scratch: Scratch,
    stats: Stats,
}

impl<'a> Engine<'a> {
    fn new(plan: &'a Plan, budget: &'a Budget, sock: UdpSocket, lanes: usize) -> Self {
        let now = Instant::now();
        let lane = match plan.mode {
            Mode::Pap => Lane::Pap,
            Mode::Acct => Lane::Acct(None),
        };
        Engine {
            plan,
            budget,
            sock,
            slots: [Slot {
                busy: false,
                serial: 0,
                lane: 0,
                sent_at: now,
                authenticator: [0; 16],
            }; IDS_PER_SOCKET],
            free_ids: (0..=u8::MAX).collect(),
            order: VecDeque::with_capacity(IDS_PER_SOCKET),
            lanes: vec![lane; lanes],
            idle: (0..lanes).rev().collect(),
            outstanding: 0,
            serial: 0,
            rng: rand::rngs::StdRng::from_entropy(),
            scratch: Scratch::new(),
            stats: Stats::new(),
        }
    }

    async fn run(mut self) -> Stats {
        let mut buf = [0u8; 4096];
        let sleep = tokio::time::sleep(self.plan.timeout);
        tokio::pin!(sleep);
        loop {
            while let Some(lane) = self.idle.pop() {
                self.issue(lane).await;
            }
            let Some(deadline) = self.oldest_deadline() else {
                break; // nothing outstanding and no lane could issue: done
            };
            if sleep.deadline() != deadline {
                sleep.as_mut().reset(deadline);
            }
            tokio::select! {
                biased;
                ready = self.sock.readable() => {
                    if ready.is_err() {
                        self.stats.socket_errors += 1;
                    }
                    self.drain(&mut buf);
                }
                () = &mut sleep => self.expire(),
            }
        }
        self.stats
    }

    fn oldest_deadline(&mut self) -> Option<tokio::time::Instant> {
        while let Some(&(id, serial)) = self.order.front() {
            let slot = &self.slots[usize::from(id)];
            if slot.busy && slot.serial == serial {
                return Some(tokio::time::Instant::from_std(
                    slot.sent_at + self.plan.timeout,
                ));
            }
            self.order.pop_front();
        }
        None
    }

    /// Send the lane's next request, if the budget allows; otherwise the lane retires.
    async fn issue(&mut self, lane: usize) {
        let Some(n) = self.budget.claim() else {
            return;
        };
        let Some(id) = self.free_ids.pop_front() else {
            return; // cannot happen: lanes per socket <= identifiers
        };
        let mut authenticator = [0u8; 16];
        let encoded = match self.lanes.get(lane).copied() {
            Some(Lane::Pap) => {
                self.rng.fill_bytes(&mut authenticator);
                build_pap(
                    self.plan,
                    &mut self.scratch,
                    n % self.plan.users,
                    id,
                    &authenticator,
                )
            }
            Some(Lane::Acct(current)) => {
                let session = match current.and_then(|s| s.phase.next().map(|p| (s, p))) {
                    Some((s, phase)) => Session {
                        number: s.number,
                        phase,
                    },
                    None => Session {
                        number: self.budget.sessions.fetch_add(1, Ordering::Relaxed),
                        phase: AcctPhase::Start,
                    },
                };
                if let Some(l) = self.lanes.get_mut(lane) {
                    *l = Lane::Acct(Some(session));
                }
                build_acct(self.plan, &mut self.scratch, session, id, unix_now())
            }
            None => return,
        };
        let packet = match encoded {
            Ok(p) => p,
            Err(e) => {
                // Only an over-long option (e.g. a huge user prefix) gets here.
                eprintln!("portico-radload: cannot encode request: {e}");
                self.free_ids.push_back(id);
                return;
            }
        };
        if let Some(a) = packet.get(4..20).and_then(|a| <[u8; 16]>::try_from(a).ok()) {
            authenticator = a;
        }
        let now = Instant::now();
        self.serial += 1;
        self.slots[usize::from(id)] = Slot {
            busy: true,
            serial: self.serial,
            lane,
            sent_at: now,
            authenticator,
        };
        self.order.push_back((id, self.serial));
        self.outstanding += 1;
        self.stats.sent += 1;
        self.stats.first_send.get_or_insert(now);
        if self.sock.send(&packet).await.is_err() {
            // Counted, then left to time out like a lost datagram.
            self.stats.socket_errors += 1;
        }
    }

    /// Read every datagram already queued on the socket.
    fn drain(&mut self, buf: &mut [u8]) {
        loop {
            match self.sock.try_recv(buf) {
                Ok(len) => {
                    let now = Instant::now();
                    if let Some(reply) = buf.get(..len) {
                        self.on_reply(reply, now);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.stats.socket_errors += 1;
                    return;
                }
            }
        }
    }

    fn on_reply(&mut self, reply: &[u8], now: Instant) {
        let (Some(&code), Some(&id)) = (reply.first(), reply.get(1)) else {
            self.stats.bad_replies += 1;
            return;
        };
        let slot = self.slots[usize::from(id)];
        if !slot.busy {
            self.stats.unmatched += 1;
            return;
        }
        if wire::verify_reply(reply, &slot.authenticator, &self.plan.secret).is_err() {
            // Leave the request outstanding: the genuine reply may still come.
            self.stats.bad_replies += 1;
            return;
        }
        match classify(self.plan.mode, code) {
            ReplyKind::Accept => self.stats.accepts += 1,
            ReplyKind::Reject => self.stats.rejects += 1,
            ReplyKind::Challenge => self.stats.challenges += 1,
            ReplyKind::AcctResponse => self.stats.acct_responses += 1,
            ReplyKind::WrongCode => self.stats.bad_replies += 1,
        }
        let micros = now.saturating_duration_since(slot.sent_at).as_micros();
        self.stats
            .latency
            .record(u64::try_from(micros).unwrap_or(u64::MAX));
        self.stats.last_event = Some(now);
        self.finish(id, slot.lane);
    }

    /// Time out every request older than the timeout.
    fn expire(&mut self) {
        let now = Instant::now();
        while let Some(&(id, serial)) = self.order.front() {
            let slot = self.slots[usize::from(id)];
            if slot.busy && slot.serial == serial {
                if now.saturating_duration_since(slot.sent_at) < self.plan.timeout {
                    return;
                }
                self.stats.timeouts += 1;
                self.stats.last_event = Some(now);
                self.finish(id, slot.lane);
            }
            self.order.pop_front();
        }
    }

    fn finish(&mut self, id: u8, lane: usize) {
        self.slots[usize::from(id)].busy = false;
        self.free_ids.push_back(id);
        self.outstanding -= 1;
        self.idle.push(lane);
    }
}

fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Process CPU time from /proc/self/stat (utime + stime, in clock ticks).

/// Linux reports /proc times in USER_HZ, which is 100 on every mainstream
/// architecture (the ABI fixes it regardless of the kernel's HZ).
const USER_HZ: u64 = 100;

fn cpu_ticks_from_stat(stat: &str) -> Option<u64> {
    // The command name may contain spaces: fields restart after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    // After ')': state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks = cpu_ticks_from_stat(&stat)?;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

// ---------------------------------------------------------------------------
// Summary.

#[derive(Debug, serde::Serialize)]
struct Summary {
    mode: &'static str,
    server: String,
    concurrency: usize,
    sockets: usize,
    users: u64,
    elapsed_s: f64,
    sent: u64,
    accepts: u64,
    rejects: u64,
    challenges: u64,
    acct_responses: u64,
    timeouts: u64,
    bad_replies: u64,
    unmatched_replies: u64,
    socket_errors: u64,
    requests_per_s: f64,
    latency_us: Latency,
    tool_cpu_ms: Option<u64>,
    tool_cpu_us_per_request: Option<f64>,
}

#[derive(Debug, serde::Serialize)]
struct Latency {
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
}

fn summarize(plan: &Plan, stats: &Stats, cpu: Option<Duration>) -> Summary {
    let elapsed = match (stats.first_send, stats.last_event) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    let secs = elapsed.as_secs_f64();
    let answered = stats.answered();
    let rate = if secs > 0.0 {
        answered as f64 / secs
    } else {
        0.0
    };
    let h = &stats.latency;
    Summary {
        mode: match plan.mode {
            Mode::Pap => "pap",
            Mode::Acct => "acct",
        },
        server: plan.server.to_string(),
        concurrency: plan.concurrency,
        sockets: plan.sockets,
        users: plan.users,
        elapsed_s: (secs * 1000.0).round() / 1000.0,
        sent: stats.sent,
        accepts: stats.accepts,
        rejects: stats.rejects,
        challenges: stats.challenges,
        acct_responses: stats.acct_responses,
        timeouts: stats.timeouts,
        bad_replies: stats.bad_replies,
        unmatched_replies: stats.unmatched,
        socket_errors: stats.socket_errors,
        requests_per_s: rate.round(),
        latency_us: Latency {
            p50: h.quantile(0.50),
            p90: h.quantile(0.90),
            p99: h.quantile(0.99),
            max: h.max,
        },
        tool_cpu_ms: cpu.map(|c| c.as_millis() as u64),
        tool_cpu_us_per_request: cpu
            .filter(|_| stats.sent > 0)
            .map(|c| (c.as_secs_f64() * 1e6 / stats.sent as f64 * 10.0).round() / 10.0),
    }
}

fn print_text(s: &Summary) {
    println!(
        "mode {} server {} concurrency {} sockets {} users {}",
        s.mode, s.server, s.concurrency, s.sockets, s.users
    );
    println!(
        "sent {}  accepts {}  rejects {}  challenges {}  acct-responses {}",
        s.sent, s.accepts, s.rejects, s.challenges, s.acct_responses
    );
    println!(
        "timeouts {}  bad replies {}  unmatched {}  socket errors {}",
        s.timeouts, s.bad_replies, s.unmatched_replies, s.socket_errors
    );
    println!(
        "elapsed {:.3} s  {} requests/s",
        s.elapsed_s, s.requests_per_s
    );
    println!(
        "latency us: p50 {}  p90 {}  p99 {}  max {}",
        s.latency_us.p50, s.latency_us.p90, s.latency_us.p99, s.latency_us.max
    );
    match (s.tool_cpu_ms, s.tool_cpu_us_per_request) {
        (Some(ms), Some(per)) => println!("tool cpu {ms} ms ({per} us/request)"),
        (Some(ms), None) => println!("tool cpu {ms} ms"),
        _ => println!("tool cpu unavailable"),
    }
}

// ---------------------------------------------------------------------------

async fn run(plan: Arc<Plan>) -> Result<Stats> {
    let budget = Arc::new(Budget {
        issued: AtomicU64::new(0),
        sessions: AtomicU64::new(0),
        max_requests: plan.max_requests,
        stop_at: Instant::now() + plan.duration,
    });
    let bind: SocketAddr = match plan.server {
        SocketAddr::V4(a) if a.ip().is_loopback() => (Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(a) if a.ip().is_loopback() => (std::net::Ipv6Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..plan.sockets {
        // Spread lanes evenly: the first (concurrency % sockets) get one more.
        let lanes =
            plan.concurrency / plan.sockets + usize::from(i < plan.concurrency % plan.sockets);
        let sock = UdpSocket::bind(bind)
            .await
            .context("binding a UDP socket")?;
        sock.connect(plan.server)
            .await
            .with_context(|| format!("connecting to {}", plan.server))?;
        let plan = Arc::clone(&plan);
        let budget = Arc::clone(&budget);
        tasks.spawn(async move { Engine::new(&plan, &budget, sock, lanes).run().await });
    }
    let mut total = Stats::new();
    while let Some(done) = tasks.join_next().await {
        total.merge(&done.context("socket task failed")?);
    }
    Ok(total)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let plan = Arc::new(plan(&args)?);
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .context("building the tokio runtime")?;
    let cpu_before = process_cpu();
    let stats = runtime.block_on(run(Arc::clone(&plan)))?;
    let cpu = match (cpu_before, process_cpu()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let summary = summarize(&plan, &stats, cpu);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_text(&summary);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_plan(mode: Mode) -> Plan {
        Plan {
            mode,
            server: "127.0.0.1:1812".parse().unwrap(),
            secret: b"xyzzy5461".to_vec(),
            sockets: 1,
            concurrency: 1,
            max_requests: 10,
            duration: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            users: 10_000,
            user_prefix: "user".into(),
            password_prefix: "pass".into(),
            nas_ip: Ipv4Addr::LOCALHOST,
            run_tag: 0xDEAD_BEEF,
        }
    }

    /// Walk the attributes of an encoded packet.
    fn attrs(packet: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = &packet[20..];
        while rest.len() >= 2 {
            let len = rest[1] as usize;
            out.push((rest[0], rest[2..len].to_vec()));
            rest = &rest[len..];
        }
        out
    }

    #[test]
    fn histogram_buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 20, 123_456_789, 1 << 40]) {
            let i = Histogram::index(v);
            assert!(i >= last, "index not monotonic at {v}");
            assert!(i < BUCKETS);
            last = i;
            let lb = Histogram::lower_bound(i);
            assert!(lb <= v, "lower bound {lb} above {v}");
            if v < 1 << MAX_EXP {
                assert!((v - lb) as f64 <= v as f64 / 64.0 + 1.0, "{v} vs {lb}");
                assert_eq!(Histogram::index(lb), i);
            }
        }
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v);
        }
        assert!((500..=503).contains(&h.quantile(0.5)));
        let p99 = h.quantile(0.99);
        assert!((982..=998).contains(&p99), "p99 {p99}");
        assert_eq!(Histogram::midpoint(5), 5);
        assert_eq!(Histogram::midpoint(Histogram::index(1000)), 1003);
        assert_eq!(h.max, 1000);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }

    #[test]
    fn cpu_ticks_parse_with_spaces_in_name() {
        let stat = "1234 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0";
        assert_eq!(cpu_ticks_from_stat(stat), Some(300));
        assert_eq!(cpu_ticks_from_stat("garbage"), None);
    }

    #[test]
    fn secret_file_line_end_trimmed() {
        assert_eq!(trim_line_end(b"s3cret\r\n"), b"s3cret");
        assert_eq!(trim_line_end(b"\n"), b"");
    }

    #[test]
    fn mac_is_locally_administered_and_unique() {
        let mut s = String::new();
        write_mac(&mut s, 0x0102_0304);
        assert_eq!(s, "02-00-01-02-03-04");
    }

    #[test]
    fn pap_request_layout() {
        let plan = test_plan(Mode::Pap);
        let mut s = Scratch::new();
        let auth = [7u8; 16];
        let p = build_pap(&plan, &mut s, 42, 9, &auth).unwrap();
        assert_eq!(p[0], ACCESS_REQUEST);
        assert_eq!(p[1], 9);
        assert_eq!(&p[4..20], &auth);
        let a = attrs(&p);
        assert_eq!(
            a[0].0,
            wire::ATTR_MESSAGE_AUTHENTICATOR,
            "Message-Authenticator first"
        );
        assert_ne!(a[0].1, vec![0u8; 16], "Message-Authenticator filled in");
        assert!(a.contains(&(USER_NAME, b"user42".to_vec())));
        assert!(a.contains(&(CALLING_STATION_ID, b"02-00-00-00-00-2A".to_vec())));
        let hidden = a.iter().find(|(t, _)| *t == USER_PASSWORD).unwrap();
        let expect = wire::encrypt_user_password(b"pass42", &plan.secret, &auth).unwrap();
        assert_eq!(hidden.1, expect);
    }

    #[test]
    fn acct_request_layout_and_authenticator() {
        use md5::{Digest, Md5};
        let plan = test_plan(Mode::Acct);
        let mut s = Scratch::new();
        let session = Session {
            number: 12_345,
            phase: AcctPhase::Stop,
        };
        let p = build_acct(&plan, &mut s, session, 3, 1_700_000_000).unwrap();
        assert_eq!(p[0], ACCOUNTING_REQUEST);
        // RFC 2866: MD5(Code+Id+Length+16 zero octets+Attributes+Secret).
        let mut zeroed = p.clone();
        zeroed[4..20].fill(0);
        let mut md5 = Md5::new();
        md5.update(&zeroed);
        md5.update(&plan.secret);
        assert_eq!(&p[4..20], md5.finalize().as_slice());
        let a = attrs(&p);
        assert!(a.contains(&(ACCT_STATUS_TYPE, 2u32.to_be_bytes().to_vec())));
        assert!(a.contains(&(ACCT_SESSION_ID, b"DEADBEEF-0000003039".to_vec())));
        assert!(a.contains(&(ACCT_TERMINATE_CAUSE, 1u32.to_be_bytes().to_vec())));
        assert!(a.contains(&(ACCT_INPUT_OCTETS, 3_000_000u32.to_be_bytes().to_vec())));
    }

    #[test]
    fn acct_phases_cycle() {
        assert_eq!(AcctPhase::Start.next(), Some(AcctPhase::Interim));
        assert_eq!(AcctPhase::Interim.next(), Some(AcctPhase::Stop));
        assert_eq!(AcctPhase::Stop.next(), None);
        assert_eq!(AcctPhase::Interim.status_type(), 3);
    }

    #[test]
    fn reply_codes_must_fit_the_mode() {
        assert_eq!(classify(Mode::Pap, ACCESS_ACCEPT), ReplyKind::Accept);
        assert_eq!(
            classify(Mode::Pap, ACCOUNTING_RESPONSE),
            ReplyKind::WrongCode
        );
        assert_eq!(classify(Mode::Acct, ACCESS_ACCEPT), ReplyKind::WrongCode);
        assert_eq!(
            classify(Mode::Acct, ACCOUNTING_RESPONSE),
            ReplyKind::AcctResponse
        );
    }

    #[test]
    fn budget_stops_at_cap_and_deadline() {
        let b = Budget {
            issued: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            max_requests: 2,
            stop_at: Instant::now() + Duration::from_secs(60),
        };
        assert_eq!(b.claim(), Some(0));
        assert_eq!(b.claim(), Some(1));
        assert_eq!(b.claim(), None);
        let late = Budget {
            issued: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            max_requests: u64::MAX,
            stop_at: Instant::now(),
        };
        assert_eq!(late.claim(), None);
    }

    #[test]
    fn options_are_validated() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["portico-radload", "pap", "--secret", "s"];
            argv.extend_from_slice(extra);
            plan(&Args::try_parse_from(argv).unwrap())
        };
        assert!(parse(&[]).is_ok());
        assert_eq!(parse(&["--concurrency", "600"]).unwrap().sockets, 3);
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--duration", "2h"]).is_err());
        assert!(parse(&["--concurrency", "600", "--sockets", "2"]).is_err());
        assert!(parse(&["--requests", "0"]).is_err());
        let acct = plan(&Args::try_parse_from(["x", "acct", "--secret", "s"]).unwrap()).unwrap();
        assert_eq!(acct.server.port(), 1813);
    }
}

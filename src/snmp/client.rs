//! SNMP requests with what the codec crate leaves to its callers: a timeout
//! on every request, retries with backoff, stale and malformed replies
//! counted and survived, and table walks with GETBULK (GETNEXT on v1).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use snmp2::{v3, AsyncSession};

use super::oid::Oid;
use super::value::Value;

/// SNMP `noSuchName` (v1 end of a walk).
const ERR_NO_SUCH_NAME: u32 = 2;
/// Replies with another request id, or v3 re-syncs, tolerated per request.
const MAX_STALE: u32 = 4;
/// Bulk rounds per walk, whatever the agent sends.
const MAX_ROUNDS: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum SnmpError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer after {attempts} attempts")]
    Timeout { attempts: u32 },
    #[error("malformed or unexpected reply: {0}")]
    Protocol(String),
    #[error("SNMPv3 security: {0}")]
    Auth(String),
    #[error("agent answered error-status {status} at index {index}")]
    ErrorStatus { status: u32, index: u32 },
    #[error("{0}")]
    BadRequest(String),
}

impl SnmpError {
    /// True when the agent did not answer at all (for reachability).
    pub fn is_timeout(&self) -> bool {
        matches!(self, SnmpError::Timeout { .. } | SnmpError::Io(_))
    }
}

pub use crate::domain::{AuthProtocol, PrivProtocol};

/// SNMPv3 USM user. `auth` and `privacy` are (protocol, password).
#[derive(Clone, PartialEq, Eq)]
pub struct V3User {
    pub user: String,
    pub auth: Option<(AuthProtocol, String)>,
    pub privacy: Option<(PrivProtocol, String)>,
}

/// How to talk to one agent.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    V1 { community: String },
    V2c { community: String },
    V3(V3User),
}

// Debug never prints a community or password.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::V1 { .. } => f.write_str("V1(***)"),
            Credentials::V2c { .. } => f.write_str("V2c(***)"),
            Credentials::V3(u) => write!(
                f,
                "V3(user={}, auth={:?}, priv={:?})",
                u.user,
                u.auth.as_ref().map(|a| a.0),
                u.privacy.as_ref().map(|p| p.0)
            ),
        }
    }
}

impl Credentials {
    pub fn version_name(&self) -> &'static str {
        match self {
            Credentials::V1 { .. } => "v1",
            Credentials::V2c { .. } => "v2c",
            Credentials::V3(_) => "v3",
        }
    }

    /// The codec's USM security for a user.
    pub fn security_for(u: &V3User) -> Result<v3::Security, SnmpError> {
        let auth_pw = u.auth.as_ref().map(|a| a.1.as_bytes()).unwrap_or(b"");
        let mut sec = v3::Security::new(u.user.as_bytes(), auth_pw);
        match (&u.auth, &u.privacy) {
            (None, None) => sec = sec.with_auth(v3::Auth::NoAuthNoPriv),
            (None, Some(_)) => {
                return Err(SnmpError::BadRequest(
                    "SNMPv3 privacy needs authentication too".into(),
                ))
            }
            (Some((proto, _)), privacy) => {
                sec = sec.with_auth_protocol(match proto {
                    AuthProtocol::Md5 => v3::AuthProtocol::Md5,
                    AuthProtocol::Sha1 => v3::AuthProtocol::Sha1,
                    AuthProtocol::Sha224 => v3::AuthProtocol::Sha224,
                    AuthProtocol::Sha256 => v3::AuthProtocol::Sha256,
                    AuthProtocol::Sha384 => v3::AuthProtocol::Sha384,
                    AuthProtocol::Sha512 => v3::AuthProtocol::Sha512,
                });
                sec = match privacy {
                    None => sec.with_auth(v3::Auth::AuthNoPriv),
                    Some((cipher, pw)) => sec.with_auth(v3::Auth::AuthPriv {
                        cipher: match cipher {
                            PrivProtocol::Des => v3::Cipher::Des,
                            PrivProtocol::Aes128 => v3::Cipher::Aes128,
                            PrivProtocol::Aes192 => v3::Cipher::Aes192,
                            PrivProtocol::Aes256 => v3::Cipher::Aes256,
                        },
                        privacy_password: pw.as_bytes().to_vec(),
                    }),
                };
            }
        }
        Ok(sec)
    }
}

/// The SNMP counters (in the shared metrics registry).
pub type SnmpStats = crate::metrics::SnmpCounters;

/// Per-request behaviour.
#[derive(Clone, Copy, Debug)]
pub struct RequestOptions {
    /// First attempt's timeout; each retry doubles it.
    pub timeout: Duration,
    pub retries: u32,
    /// GETBULK max-repetitions, shared between the columns of a walk.
    pub max_repetitions: u32,
    /// Rows kept per column; a bigger table is cut here (and logged).
    pub max_rows: usize,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            timeout: Duration::from_secs(2),
            retries: 2,
            max_repetitions: 25,
            max_rows: 10_000,
        }
    }
}

enum Op<'a> {
    Get(&'a [Oid]),
    GetNext(&'a Oid),
    GetBulk(&'a [Oid], u32),
}

struct Reply {
    error_status: u32,
    error_index: u32,
    varbinds: Vec<(Oid, Value)>,
}

fn wire(oids: &[Oid]) -> Result<Vec<snmp2::Oid<'static>>, snmp2::Error> {
    oids.iter()
        .map(|o| o.to_wire().ok_or(snmp2::Error::ValueOutOfRange))
        .collect()
}

/// One agent's session (one UDP socket, connected to the agent).
pub struct Client {
    session: AsyncSession,
    v1: bool,
    opts: RequestOptions,
    stats: Arc<SnmpStats>,
}

impl Client {
    /// Opens the socket; for v3 also discovers the engine (one exchange).
    pub async fn connect(
        target: SocketAddr,
        creds: &Credentials,
        opts: RequestOptions,
        stats: Arc<SnmpStats>,
    ) -> Result<Client, SnmpError> {
        // A random first id, so that replies meant for an earlier session
        // on a reused port are not taken for ours.
        let first_id: i32 = rand::thread_rng().gen_range(1..i32::MAX / 2);
        let (session, v1) = match creds {
            Credentials::V1 { community } => (
                AsyncSession::new_v1(target, community.as_bytes(), first_id).await?,
                true,
            ),
            Credentials::V2c { community } => (
                AsyncSession::new_v2c(target, community.as_bytes(), first_id).await?,
                false,
            ),
            Credentials::V3(user) => {
                let sec = Credentials::security_for(user)?;
                (AsyncSession::new_v3(target, first_id, sec).await?, false)
            }
        };
        let mut client = Client {
            session,
            v1,
            opts,
            stats,
        };
        if matches!(creds, Credentials::V3(_)) {
            client.init_v3().await?;
        }
        Ok(client)
    }

    async fn init_v3(&mut self) -> Result<(), SnmpError> {
        let mut attempt = 0;
        loop {
            self.stats.requests.inc();
            let t = self.attempt_timeout(attempt);
            match tokio::time::timeout(t, self.session.init()).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => self.retry_or_fail(Some(e), attempt)?,
                Err(_) => self.retry_or_fail(None, attempt)?,
            }
            attempt += 1;
        }
    }

    /// After failed attempt `attempt` (an error, or `None` for a
    /// timeout): `Ok` to try again (counted as a retry), or the error to
    /// give up with. Only protocol errors and timeouts are worth a retry.
    fn retry_or_fail(&self, failure: Option<snmp2::Error>, attempt: u32) -> Result<(), SnmpError> {
        let last = attempt >= self.opts.retries;
        match failure {
            Some(e) => {
                let err = self.classify(e);
                if last || !matches!(err, SnmpError::Protocol(_)) {
                    return Err(err);
                }
            }
            None => {
                self.stats.timeouts.inc();
                if last {
                    return Err(SnmpError::Timeout {
                        attempts: attempt + 1,
                    });
                }
            }
        }
        self.stats.retries.inc();
        Ok(())
    }

    fn attempt_timeout(&self, attempt: u32) -> Duration {
        self.opts.timeout.saturating_mul(1 << attempt.min(4))
    }

    /// Maps a codec error, counting it.
    fn classify(&self, e: snmp2::Error) -> SnmpError {
        use snmp2::Error as E;
        match e {
            E::AuthFailure(kind) => {
                self.stats.auth_failures.inc();
                SnmpError::Auth(format!("{kind:?}"))
            }
            E::Crypto(m) => {
                self.stats.auth_failures.inc();
                SnmpError::Auth(m)
            }
            E::Send | E::Receive => SnmpError::Io(std::io::Error::other(e.to_string())),
            other => {
                self.stats.malformed.inc();
                SnmpError::Protocol(other.to_string())
            }
        }
    }

    async fn once(&mut self, op: &Op<'_>) -> Result<Reply, snmp2::Error> {
        let pdu = match op {
            Op::Get(oids) => {
                let w = wire(oids)?;
                let refs: Vec<&snmp2::Oid> = w.iter().collect();
                self.session.get_many(&refs).await?
            }
            Op::GetNext(oid) => {
                let w = wire(std::slice::from_ref(*oid))?;
                let first = w.first().ok_or(snmp2::Error::ValueOutOfRange)?;
                self.session.getnext(first).await?
            }
            Op::GetBulk(oids, reps) => {
                let w = wire(oids)?;
                let refs: Vec<&snmp2::Oid> = w.iter().collect();
                self.session.getbulk(&refs, 0, *reps).await?
            }
        };
        let mut varbinds = Vec::new();
        for (name, value) in pdu.varbinds.clone() {
            let oid = Oid::from_wire(&name).ok_or(snmp2::Error::AsnParse)?;
            varbinds.push((oid, Value::from_wire(&value)));
        }
        Ok(Reply {
            error_status: pdu.error_status,
            error_index: pdu.error_index,
            varbinds,
        })
    }

    /// One request with timeout, retries and backoff.
    async fn request(&mut self, op: Op<'_>) -> Result<Reply, SnmpError> {
        let mut attempt: u32 = 0;
        let mut stale: u32 = 0;
        loop {
            self.stats.requests.inc();
            let t = self.attempt_timeout(attempt);
            let outcome = tokio::time::timeout(t, self.once(&op)).await;
            match outcome {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(snmp2::Error::RequestIdMismatch)) | Ok(Err(snmp2::Error::AuthUpdated))
                    if stale < MAX_STALE =>
                {
                    // A late answer to an abandoned request, or a v3 clock
                    // re-sync: ask again at once.
                    self.stats.stale.inc();
                    stale += 1;
                    continue;
                }
                Ok(Err(e)) => self.retry_or_fail(Some(e), attempt)?,
                Err(_) => self.retry_or_fail(None, attempt)?,
            }
            attempt += 1;
        }
    }

    /// GET of several scalars; absent ones come back as `Value::NoSuch`.
    pub async fn get(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        let reply = self.request(Op::Get(oids)).await?;
        if reply.error_status != 0 {
            // v1 answers noSuchName for the whole request: ask one by one.
            if self.v1 && reply.error_status == ERR_NO_SUCH_NAME && oids.len() > 1 {
                let mut out = Vec::with_capacity(oids.len());
                for o in oids {
                    let r = self.request(Op::Get(std::slice::from_ref(o))).await?;
                    let v = r.varbinds.into_iter().next().map_or(Value::NoSuch, |x| x.1);
                    out.push((
                        o.clone(),
                        if r.error_status == 0 {
                            v
                        } else {
                            Value::NoSuch
                        },
                    ));
                }
                return Ok(out);
            }
            if reply.error_status == ERR_NO_SUCH_NAME {
                return Ok(oids.iter().map(|o| (o.clone(), Value::NoSuch)).collect());
            }
            return Err(SnmpError::ErrorStatus {
                status: reply.error_status,
                index: reply.error_index,
            });
        }
        Ok(reply.varbinds)
    }

    /// Walks several table columns together. Returns, per column, the rows
    /// as (index arcs after the column OID, value), in agent order.
    pub async fn walk(
        &mut self,
        columns: &[Oid],
    ) -> Result<Vec<Vec<(Vec<u32>, Value)>>, SnmpError> {
        let mut out: Vec<Vec<(Vec<u32>, Value)>> = vec![Vec::new(); columns.len()];
        if self.v1 {
            for (i, col) in columns.iter().enumerate() {
                if let Some(rows) = out.get_mut(i) {
                    self.walk_v1(col, rows).await?;
                }
            }
            return Ok(out);
        }
        let mut cursor: Vec<Option<Oid>> = columns.iter().cloned().map(Some).collect();
        for _ in 0..MAX_ROUNDS {
            let active: Vec<(usize, Oid)> = cursor
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.clone().map(|c| (i, c)))
                .collect();
            if active.is_empty() {
                break;
            }
            let n = u32::try_from(active.len()).unwrap_or(u32::MAX);
            let reps = (self.opts.max_repetitions / n).max(1);
            let oids: Vec<Oid> = active.iter().map(|(_, o)| o.clone()).collect();
            let reply = self.request(Op::GetBulk(&oids, reps)).await?;
            if reply.error_status != 0 {
                return Err(SnmpError::ErrorStatus {
                    status: reply.error_status,
                    index: reply.error_index,
                });
            }
            let mut progressed = false;
            for (k, (oid, val)) in reply.varbinds.into_iter().enumerate() {
                let Some((col_i, _)) = active.get(k % active.len()) else {
                    continue;
                };
                let col_i = *col_i;
                let (Some(col), Some(slot), Some(rows)) = (
                    columns.get(col_i),
                    cursor.get_mut(col_i),
                    out.get_mut(col_i),
                ) else {
                    continue;
                };
                let Some(cur) = slot.as_ref() else { continue };
                let past = matches!(val, Value::EndOfMibView) || !oid.starts_with(col);
                if past || oid <= *cur {
                    // End of the column, or an agent going backwards.
                    *slot = None;
                    continue;
                }
                if let Some(idx) = oid.suffix(col) {
                    rows.push((idx.to_vec(), val));
                }
                progressed = true;
                if rows.len() >= self.opts.max_rows {
                    tracing::warn!(column = %col, rows = rows.len(), "table cut at max_rows");
                    *slot = None;
                } else {
                    *slot = Some(oid);
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(out)
    }

    async fn walk_v1(
        &mut self,
        col: &Oid,
        rows: &mut Vec<(Vec<u32>, Value)>,
    ) -> Result<(), SnmpError> {
        let mut cur = col.clone();
        for _ in 0..self.opts.max_rows {
            let reply = self.request(Op::GetNext(&cur)).await?;
            if reply.error_status == ERR_NO_SUCH_NAME {
                return Ok(());
            }
            if reply.error_status != 0 {
                return Err(SnmpError::ErrorStatus {
                    status: reply.error_status,
                    index: reply.error_index,
                });
            }
            let Some((oid, val)) = reply.varbinds.into_iter().next() else {
                return Ok(());
            };
            if !oid.starts_with(col) || oid <= cur || !val.is_present() {
                return Ok(());
            }
            if let Some(idx) = oid.suffix(col) {
                rows.push((idx.to_vec(), val));
            }
            cur = oid;
        }
        Ok(())
    }
}

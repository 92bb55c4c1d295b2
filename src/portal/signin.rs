//! Sign-in decisions and what follows them: checking a credential, storing
//! the authorization and the portal session, choosing the handoff, and
//! ending it all again. No HTTP here.

use std::net::IpAddr;

use super::context::ClientContext;
use super::handoff::{self, AutoForm};
use super::legal_log::{self, NasRef};
use super::tokens;
use super::PortalState;
use crate::credentials;
use crate::domain::MacAddr;
use crate::profiles::portal::Handoff;
use crate::radius::coa;
use crate::store::one_time::OneTimeCredential;
use crate::store::portal_sessions::{NewPortalSession, PortalSession};
use crate::store::vouchers::RedeemRefusal;
use crate::store::{AcctSession, AuthRecord, StoreError};

/// Open accounting sessions older than this are not taken to be where a
/// device is now (an AP that lost a Stop leaves them open for ever).
pub const OPEN_SESSION_HORIZON_MS: i64 = 12 * 3_600_000;

/// One-time credentials live this long: enough for the browser to post
/// them and the AP to send them to RADIUS.
pub const ONE_TIME_TTL_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong username or password")]
    BadPassword,
    #[error("account locked after too many wrong passwords")]
    AccountLocked,
    #[error("{0}")]
    Untrusted(#[from] super::trust::Refusal),
    #[error("too many attempts")]
    RateLimited,
    #[error("voucher invalid or expired")]
    VoucherInvalid,
    #[error("voucher used on all its devices")]
    VoucherUsedUp,
    #[error("sign-in method not enabled")]
    MethodOff,
    #[error("account not linked to a staff member")]
    NotLinked,
    #[error("OAuth: {0}")]
    OAuth(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Who signed in, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub identity: String,
    pub method: &'static str,
    pub groups: Vec<String>,
    pub expires_at: i64,
    pub phone: Option<String>,
}

/// Counts one attempt against the device's and the source's limits (an
/// IPv4 address or an IPv6 /64).
pub fn check_limits(
    state: &PortalState,
    mac: MacAddr,
    ip: Option<IpAddr>,
) -> Result<(), SignInError> {
    let mac_ok = state.per_mac.allow(mac);
    let ip_ok = ip.is_none_or(|ip| state.per_ip.allow(crate::rate_limit::source_key(ip)));
    if mac_ok && ip_ok {
        Ok(())
    } else {
        Err(SignInError::RateLimited)
    }
}

/// Staff: the user store's argon2id hash, on the blocking pool, a few at
/// a time. A locked account is refused before its password is looked at;
/// a wrong password for an existing account counts toward its lock.
pub async fn verify_staff(
    state: &PortalState,
    username: &str,
    password: &str,
    now_ms: i64,
) -> Result<Identity, SignInError> {
    let username = username.trim();
    if username.is_empty() || password.is_empty() || password.len() > 128 {
        return Err(SignInError::BadPassword);
    }
    match state.lockout.check(username, now_ms).await {
        Ok(()) => {}
        Err(crate::lockout::LockError::Locked { .. }) => return Err(SignInError::AccountLocked),
        Err(crate::lockout::LockError::Store(e)) => return Err(SignInError::Store(e)),
    }
    let user = state.store.users().get(username).await?;
    // Unknown users cost a hash too, so timing does not tell who exists.
    let phc = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let permit = state
        .hash_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| SignInError::Internal(e.to_string()))?;
    let pw = password.as_bytes().to_vec();
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        credentials::verify_password(&pw, &phc)
    })
    .await
    .map_err(|e| SignInError::Internal(e.to_string()))?;
    let Some(user) = user else {
        return Err(SignInError::BadPassword);
    };
    if !ok {
        if let Some(until) = state
            .lockout
            .failed(&user.username, "portal", now_ms)
            .await?
        {
            tracing::info!(user = %user.username, until, "portal: account locked");
            return Err(SignInError::AccountLocked);
        }
        return Err(SignInError::BadPassword);
    }
    state.lockout.succeeded(&user.username).await;
    if !account_usable(&user, now_ms) {
        return Err(SignInError::BadPassword);
    }
    Ok(staff_identity(
        state,
        &user.username,
        user.groups.clone(),
        user.valid_until,
        now_ms,
    ))
}

/// An enabled account within its validity period.
pub fn account_usable(user: &crate::store::users::User, now_ms: i64) -> bool {
    user.usable(now_ms)
}

/// The grant for a staff member signed in by any means (password, WeCom,
/// a linked WeChat account).
pub fn staff_identity(
    state: &PortalState,
    username: &str,
    groups: Vec<String>,
    valid_until: Option<i64>,
    now_ms: i64,
) -> Identity {
    let session_ms = i64::try_from(state.config.staff_session.as_millis()).unwrap_or(i64::MAX);
    let mut expires_at = now_ms.saturating_add(session_ms);
    if let Some(v) = valid_until {
        expires_at = expires_at.min(v);
    }
    Identity {
        identity: username.to_string(),
        method: "staff",
        groups,
        expires_at,
        phone: None,
    }
}

/// An argon2id hash of a random string, verified when the user does not
/// exist (same parameters as real hashes).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J7ZPpbz3G2bqh2nLUcTn8dsO0n6i3Xv1kdj7B5QyXlE";

/// Voucher codes as people type them: upper case, without spaces; dashes
/// are put back in groups of four.
pub fn normalize_voucher(code: &str) -> Option<String> {
    let clean: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if clean.len() < 8 || clean.len() > 32 || !clean.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let groups: Vec<String> = clean
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Some(groups.join("-"))
}

pub async fn redeem_voucher(
    state: &PortalState,
    code: &str,
    mac: MacAddr,
    now_ms: i64,
) -> Result<Identity, SignInError> {
    let code = normalize_voucher(code).ok_or(SignInError::VoucherInvalid)?;
    match state.store.vouchers().redeem(&code, mac, now_ms).await? {
        Ok(r) => Ok(Identity {
            identity: format!("voucher:{code}"),
            method: "voucher",
            groups: r.batch.groups,
            expires_at: r.session_ends_at,
            phone: None,
        }),
        Err(RedeemRefusal::UsedUp) => Err(SignInError::VoucherUsedUp),
        Err(_) => Err(SignInError::VoucherInvalid),
    }
}

/// Click-through: only on the SSIDs the config names.
pub fn click_through(
    state: &PortalState,
    ctx: &ClientContext,
    now_ms: i64,
) -> Result<Identity, SignInError> {
    let allowed = ctx
        .ssid
        .as_ref()
        .is_some_and(|s| state.config.click_through_ssids.iter().any(|a| a == s));
    if !allowed {
        return Err(SignInError::MethodOff);
    }
    let ms = i64::try_from(state.config.click_through_session.as_millis()).unwrap_or(i64::MAX);
    Ok(Identity {
        identity: "guest:terms".into(),
        method: "click-through",
        groups: Vec::new(),
        expires_at: now_ms.saturating_add(ms),
        phone: None,
    })
}

/// What the browser does next.
#[derive(Debug)]
pub enum Next {
    /// Post one-time credentials to the AP.
    Form(AutoForm),
    /// Wait for the AP's MAC authentication and accounting Start.
    Wait,
}

#[derive(Debug)]
pub struct Completed {
    pub session_token: String,
    pub session: PortalSession,
    pub next: Next,
}

/// Where a sign-in comes from: the checked client context, the client's
/// address, and the NAS it came through (for the log and the binding of
/// one-time credentials).
pub struct Origin {
    pub ctx: ClientContext,
    pub client_ip: Option<IpAddr>,
    pub nas: NasRef,
}

impl Origin {
    /// The row of the legal log for this attempt.
    pub fn log_row(
        &self,
        method: &str,
        identity: &str,
        accepted: bool,
        reason: &str,
        now_ms: i64,
    ) -> AuthRecord {
        legal_log::attempt_record(&legal_log::Attempt {
            ctx: &self.ctx,
            client_ip: self.client_ip,
            nas: &self.nas,
            method,
            identity,
            accepted,
            reason,
            at_ms: now_ms,
        })
    }
}

/// The NAS a client came through: the one its login URL leads to (form
/// post-back), else the one holding its newest accounting session.
pub fn nas_of(ctx: &ClientContext, sessions: &[AcctSession]) -> NasRef {
    if let Some(name) = &ctx.nas {
        let ip = ctx
            .login_url
            .as_deref()
            .and_then(super::context::url_host)
            .unwrap_or("")
            .to_string();
        return NasRef {
            name: name.clone(),
            ip,
        };
    }
    sessions
        .first()
        .map(|s| NasRef {
            name: s.nas_name.clone(),
            ip: s.nas_ip.clone(),
        })
        .unwrap_or_default()
}

/// Stores the authorization and the session, picks the handoff, and logs
/// the sign-in.
pub async fn complete(
    state: &PortalState,
    origin: &Origin,
    who: Identity,
    return_url: &str,
    now_ms: i64,
) -> Result<Completed, SignInError> {
    let ctx = &origin.ctx;
    let profile = state
        .profiles
        .get(&ctx.profile)
        .ok_or_else(|| SignInError::Internal(format!("profile {} gone", ctx.profile)))?;
    let portal = &profile.portal;
    let auth = state
        .store
        .authorizations()
        .grant(
            ctx.client_mac,
            &who.identity,
            &format!("portal-{}", who.method),
            &who.groups,
            who.expires_at,
        )
        .await?;
    let next = if portal.handoff.uses_credentials() {
        let username = format!("pt-{}", &tokens::random_token()[..16]);
        let secret = tokens::random_token()[..24].to_string();
        state
            .store
            .one_time()
            .create(&OneTimeCredential {
                username: username.clone(),
                secret: secret.clone(),
                identity: who.identity.clone(),
                expires_at: now_ms + ONE_TIME_TTL_MS,
                uses_left: 1,
                // Good only for this device, through the NAS it came from.
                mac: Some(ctx.client_mac.to_string()),
                nas_name: ctx.nas.clone(),
            })
            .await?;
        let form = handoff::form(
            portal,
            ctx,
            &username,
            &secret,
            return_url,
            state
                .config
                .coova_uam_secret
                .as_ref()
                .map(|s| s.expose())
                .unwrap_or(""),
        )
        .ok_or_else(|| SignInError::Internal("no login URL for the handoff".into()))?;
        Next::Form(form)
    } else {
        if portal.handoff == Handoff::Gateway {
            let Some(gw) = &state.gateway else {
                return Err(SignInError::Internal(
                    "gateway handoff but gateway mode is off".into(),
                ));
            };
            let secs = u64::try_from((who.expires_at - now_ms) / 1000).unwrap_or(1);
            gw.allow(ctx.client_mac, secs)
                .await
                .map_err(|e| SignInError::Internal(e.to_string()))?;
        }
        if portal.handoff == Handoff::RadiusMac {
            reauthenticate(state, profile, ctx.client_mac, now_ms).await;
        }
        Next::Wait
    };
    let token = tokens::random_token();
    let ip = ctx.client_ip.or(origin.client_ip).map(|ip| ip.to_string());
    let nas = (!origin.nas.name.is_empty()).then_some(&origin.nas);
    let reason = format!(
        "signed in until {}, handoff {}",
        who.expires_at,
        portal.handoff.as_str()
    );
    let log_row = origin.log_row(who.method, &who.identity, true, &reason, now_ms);
    let session = state
        .store
        .portal_sessions()
        .create_logged(
            &NewPortalSession {
                token_hash: tokens::hash_token(&token),
                mac: ctx.client_mac,
                ip,
                identity: who.identity.clone(),
                method: who.method.to_string(),
                phone: who.phone.clone(),
                groups: who.groups.clone(),
                profile: ctx.profile.clone(),
                ssid: ctx.ssid.clone(),
                ap_mac: ctx.ap_mac.map(|m| m.to_string()),
                authorization_id: Some(auth.id),
                created_at: now_ms,
                expires_at: who.expires_at,
                nas_name: nas.map(|n| n.name.clone()),
                nas_ip: nas.map(|n| n.ip.clone()).filter(|ip| !ip.is_empty()),
                original_url: ctx.original_url.clone(),
            },
            &[log_row],
        )
        .await?;
    tracing::info!(
        mac = %ctx.client_mac,
        identity = %who.identity,
        method = who.method,
        profile = %ctx.profile,
        handoff = portal.handoff.as_str(),
        "portal sign-in"
    );
    Ok(Completed {
        session_token: token,
        session,
        next,
    })
}

/// Did the device get out? An accounting session for its MAC that
/// started around or after the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    Waiting,
    TimedOut,
}

/// `wait_from` is when the wait began (the sign-in, or a retry).
pub async fn confirm(
    state: &PortalState,
    session: &PortalSession,
    wait_from: i64,
    now_ms: i64,
) -> Result<Confirmation, SignInError> {
    // Gateway mode: the client is out once its MAC is in the set.
    let gateway = state
        .profiles
        .get(&session.profile)
        .is_some_and(|p| p.portal.handoff == Handoff::Gateway);
    if gateway && state.gateway.is_some() {
        return Ok(Confirmation::Confirmed);
    }
    // APs may start accounting a little before the portal's clock.
    let since = session.created_at - 10_000;
    let mac = session.mac.to_string();
    // Credentials handed to the AP (form post-back, Coova UAM, MikroTik
    // CHAP): the AP is in once our RADIUS server accepted them for this MAC.
    let handed_credentials = state
        .profiles
        .get(&session.profile)
        .is_some_and(|p| p.portal.handoff.uses_credentials());
    if handed_credentials && state.store.auth_log().accepted_for_mac(&mac, since).await? {
        return Ok(Confirmation::Confirmed);
    }
    // The accounting adapter stores Calling-Station-Id in canonical form.
    let seen = state
        .store
        .accounting()
        .open_session_for_mac_since(&mac, since)
        .await?;
    let waited = now_ms - wait_from.max(session.created_at);
    let limit = i64::try_from(state.config.confirm_timeout.as_millis()).unwrap_or(i64::MAX);
    Ok(if seen {
        Confirmation::Confirmed
    } else if waited > limit {
        Confirmation::TimedOut
    } else {
        Confirmation::Waiting
    })
}

/// Ends the session: revokes the authorization and asks the AP to drop
/// the client (RFC 5176 Disconnect) where an open accounting session says
/// which NAS has it.
pub async fn sign_out(
    state: &PortalState,
    session: &PortalSession,
    now_ms: i64,
) -> Result<(), SignInError> {
    let ended = state
        .store
        .portal_sessions()
        .end(session.id, now_ms, "sign-out")
        .await?;
    if ended {
        legal_log::write(state, &[legal_log::end_record(session, "sign-out", now_ms)]).await;
    }
    state
        .store
        .authorizations()
        .revoke(session.mac, now_ms)
        .await?;
    if let Some(gw) = &state.gateway {
        if let Err(e) = gw.remove(session.mac).await {
            tracing::warn!(mac = %session.mac, error = %e, "gateway: removing the client failed");
        }
    }
    // Whatever session the AP holds for the device, however old (an AP
    // that accounts guests from association started it before sign-in).
    disconnect(state, session.mac, now_ms - OPEN_SESSION_HORIZON_MS).await;
    tracing::info!(mac = %session.mac, identity = %session.identity, "portal sign-out");
    Ok(())
}

/// Best effort: failures are logged, never shown (the authorization is
/// already revoked, so the next re-authentication fails anyway).
async fn disconnect(state: &PortalState, mac: MacAddr, since_ms: i64) {
    dynamic_auth(state, mac, since_ms, coa::CoaKind::Disconnect, Vec::new()).await;
}

/// Sends an RFC 5176 request about `mac` to every NAS with an open
/// accounting session for it (a Disconnect on sign-out, a CoA asking the
/// AP to re-authenticate at once after sign-in). Runs in the background:
/// a NAS that does not answer must not hold up the person's page.
async fn dynamic_auth(
    state: &PortalState,
    mac: MacAddr,
    since_ms: i64,
    kind: coa::CoaKind,
    extra: Vec<u8>,
) {
    let sessions = match state
        .store
        .accounting()
        .open_sessions_for_mac(&mac.to_string(), since_ms)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "CoA/Disconnect: cannot read accounting");
            return;
        }
    };
    let settings = coa::CoaSettings {
        timeout: state.coa_timeout,
        attempts: state.coa_attempts,
    };
    for session in sessions {
        let store = state.store.clone();
        let extra = extra.clone();
        tokio::spawn(async move {
            match coa::for_session(&store, settings, &session, kind, &extra).await {
                Ok((nas, o)) => {
                    tracing::info!(%nas, %mac, ?kind, outcome = %o.describe(), "portal CoA/Disconnect")
                }
                Err(e) => tracing::warn!(%mac, ?kind, error = %e, "portal CoA/Disconnect"),
            }
        });
    }
}

/// The person pressed "try again" on the waiting page: for a RADIUS-MAC
/// handoff, ask the AP once more to re-authenticate the device; in gateway
/// mode, put the MAC into the set again.
pub async fn retry_handoff(state: &PortalState, session: &PortalSession, now_ms: i64) {
    let Some(profile) = state.profiles.get(&session.profile) else {
        return;
    };
    match profile.portal.handoff {
        Handoff::RadiusMac => reauthenticate(state, profile, session.mac, now_ms).await,
        Handoff::Gateway => {
            if let Some(gw) = &state.gateway {
                let secs = u64::try_from((session.expires_at - now_ms) / 1000).unwrap_or(1);
                if let Err(e) = gw.allow(session.mac, secs.max(1)).await {
                    tracing::warn!(mac = %session.mac, error = %e, "gateway: re-adding the client failed");
                }
            }
        }
        _ => {}
    }
}

/// After a RADIUS-MAC sign-in: where the profile supports CoA, ask the AP
/// to re-authenticate the client now instead of at its next association.
async fn reauthenticate(
    state: &PortalState,
    profile: &crate::profiles::Profile,
    mac: MacAddr,
    now_ms: i64,
) {
    if !profile.radius.coa_supported {
        return;
    }
    let mut extra = Vec::new();
    for (name, value) in &profile.portal.reauth_attributes {
        match profile.encode_reply_attribute(name, value) {
            Ok(bytes) => extra.extend_from_slice(&bytes),
            Err(e) => tracing::warn!(error = %e, "re-authentication attribute not sent"),
        }
    }
    // Pre-authentication accounting may have started long before sign-in.
    dynamic_auth(
        state,
        mac,
        now_ms - OPEN_SESSION_HORIZON_MS,
        coa::CoaKind::Coa,
        extra,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voucher_normalization() {
        assert_eq!(
            normalize_voucher("abcd efgh-jkmn").as_deref(),
            Some("ABCD-EFGH-JKMN")
        );
        assert_eq!(normalize_voucher("short"), None);
        assert_eq!(normalize_voucher("ABCD-EFGH-<>"), None);
    }

    #[test]
    fn dummy_hash_is_a_valid_phc_string() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!credentials::verify_password(b"x", DUMMY_HASH));
    }
}

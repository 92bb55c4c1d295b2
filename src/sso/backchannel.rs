//! OpenID Connect Back-Channel Logout 1.0: apps that registered a
//! back-channel URI are told, server to server, that a person's sign-in
//! ended (signed out at the provider, account disabled, removed or past
//! its `valid_until`, which this loop notices). The
//! store queues a notice in the same transaction that ends the sign-in
//! (so the CLI queues them too); this loop signs a logout token for each
//! and POSTs it, with retries, until the app answers 200 or the notice
//! is given up.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{SsoError, SsoState};
use crate::store::oidc::LogoutNotice;

/// The event a logout token carries.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token may be replayed to the app at most.
const TOKEN_LIFETIME_S: i64 = 120;
/// Queued notices are looked for this often (the CLI queues them from
/// another process); the provider's own sign-outs wake the loop at once.
const POLL: Duration = Duration::from_secs(3);
/// An app that does not answer in this time is tried again later.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries before a notice is given up (about 5 minutes of backoff).
const MAX_ATTEMPTS: i64 = 6;
/// Notices sent per pass, and at once.
const BATCH: i64 = 50;
const PARALLEL: usize = 8;
/// The logout token's header `typ` (explicit typing, so that it is never
/// taken for an ID token).
pub const LOGOUT_TYP: &str = "logout+jwt";

/// The logout token's claims: no nonce (so it can never pass for an ID
/// token), the event, a unique `jti` for the app's replay check.
pub fn logout_claims(issuer: &str, client: &str, subject: &str, now_ms: i64) -> Value {
    let iat = now_ms / 1000;
    json!({
        "iss": issuer,
        "aud": client,
        "sub": subject,
        "iat": iat,
        "exp": iat + TOKEN_LIFETIME_S,
        "jti": super::random_token(),
        "events": { LOGOUT_EVENT: {} },
    })
}

/// Wait before try `attempts + 1`: 10 s, 20 s, 40 s ... at most 5 min.
fn backoff_ms(attempts: i64) -> i64 {
    (10_000_i64 << attempts.clamp(0, 5)).min(300_000)
}

/// What a pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    /// The app was removed or no longer has a back channel.
    pub skipped: usize,
    /// Retried later or given up.
    pub failed: usize,
}

/// How one notice went.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    Delivered,
    Skipped,
    /// Worth another try (no answer, 5xx, 408, 429).
    Failed(String),
    /// Another try cannot help (a redirect, which is never followed, or
    /// the app refusing the token).
    Refused(String),
}

/// The HTTP client for notices: no redirects followed (a logout token
/// goes only to the registered URI), short timeouts.
pub fn http_client() -> Result<reqwest::Client, SsoError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(POST_TIMEOUT)
        .connect_timeout(POST_TIMEOUT)
        .build()
        .map_err(|e| SsoError::Invalid(format!("back-channel HTTP client: {e}")))
}

/// Sends every notice due now, a few apps at a time (one app that hangs
/// does not hold up the others).
pub async fn deliver_due(sso: &SsoState, http: &reqwest::Client) -> Result<Pass, SsoError> {
    use futures_util::stream::{self, StreamExt};
    let due = sso
        .store
        .oidc()
        .due_logout_notices(sso.clock.now_ms(), BATCH)
        .await?;
    let outcomes: Vec<Result<Option<Sent>, SsoError>> = stream::iter(due)
        .map(|notice| async move {
            // Claimed first: with several nodes on one database, one sends.
            let lease = sso.clock.now_ms() + 2 * ms(POST_TIMEOUT);
            if !sso.store.oidc().claim_logout_notice(&notice, lease).await? {
                return Ok(None);
            }
            let sent = deliver(sso, http, &notice).await;
            settle(sso, &notice, &sent).await?;
            Ok(Some(sent))
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut pass = Pass::default();
    for o in outcomes {
        match o? {
            None => {}
            Some(Sent::Delivered) => pass.delivered += 1,
            Some(Sent::Skipped) => pass.skipped += 1,
            Some(Sent::Failed(_) | Sent::Refused(_)) => pass.failed += 1,
        }
    }
    Ok(pass)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Records how a notice went: gone when delivered, skipped or given up;
/// otherwise due again after the backoff.
async fn settle(sso: &SsoState, notice: &LogoutNotice, sent: &Sent) -> Result<(), SsoError> {
    let (client, user, reason) = (&notice.client, &notice.username, &notice.reason);
    let oidc = sso.store.oidc();
    match sent {
        Sent::Delivered => {
            tracing::info!(%client, %user, %reason, "sso: app told of the sign-out");
            oidc.drop_logout_notice(notice.id).await?;
        }
        Sent::Skipped => {
            tracing::info!(%client, %user, "sso: logout notice dropped: the app has no back channel now");
            oidc.drop_logout_notice(notice.id).await?;
        }
        Sent::Refused(why) => {
            tracing::warn!(%client, %user, %why, "sso: back-channel logout refused by the app");
            oidc.drop_logout_notice(notice.id).await?;
        }
        Sent::Failed(why) if notice.attempts + 1 >= MAX_ATTEMPTS => {
            tracing::warn!(%client, %user, %why, attempts = notice.attempts + 1,
                "sso: back-channel logout given up");
            oidc.drop_logout_notice(notice.id).await?;
        }
        Sent::Failed(why) => {
            tracing::info!(%client, %why, "sso: back-channel logout to retry");
            let next = sso.clock.now_ms() + backoff_ms(notice.attempts);
            oidc.retry_logout_notice(notice.id, next, why).await?;
        }
    }
    Ok(())
}

/// One notice, signed when it is sent (so its two minutes start then).
async fn deliver(sso: &SsoState, http: &reqwest::Client, notice: &LogoutNotice) -> Sent {
    let client = match sso.store.oidc().client(&notice.client).await {
        Ok(c) => c,
        Err(e) => return Sent::Failed(format!("store: {e}")),
    };
    let Some((uri, alg)) =
        client.and_then(|c| c.backchannel_logout_uri.map(|u| (u, c.id_token_alg)))
    else {
        return Sent::Skipped;
    };
    let now = sso.clock.now_ms();
    let claims = logout_claims(&sso.issuer, &notice.client, &notice.subject, now);
    let token = match sso.sign_typed(&claims, &alg, LOGOUT_TYP, now).await {
        Ok(t) => t,
        Err(e) => return Sent::Failed(format!("signing: {e}")),
    };
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    let resp = http
        .post(&uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    match resp.map(|r| r.status().as_u16()) {
        Ok(200 | 204) => Sent::Delivered,
        Ok(s @ (408 | 429 | 500..=599)) => Sent::Failed(format!("POST {uri}: HTTP {s}")),
        Ok(s) => Sent::Refused(format!("POST {uri}: HTTP {s}")),
        Err(e) => Sent::Failed(format!("POST {uri}: {e}")),
    }
}

/// The delivery loop: a pass when a sign-out is queued in this process
/// (`SsoState::logout_queued`) and every few seconds for the others.
pub async fn run(sso: Arc<SsoState>, stop: CancellationToken) {
    let http = match http_client() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "sso: back-channel logout is off");
            return;
        }
    };
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = sso.logout_queued.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        // Accounts that expired since: their sign-ins end as on disable.
        match sso
            .store
            .users()
            .end_expired_sign_ins(sso.clock.now_ms())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(accounts = n, "sso: sign-ins of expired accounts ended"),
            Err(e) => tracing::warn!(error = %e, "sso: ending expired accounts' sign-ins"),
        }
        if let Err(e) = deliver_due(&sso, &http).await {
            tracing::warn!(error = %e, "sso: back-channel logout pass failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_claims_have_the_event_and_no_nonce() {
        let c = logout_claims(
            "https://p.example.cn/oidc",
            "meeting",
            "abc",
            1_700_000_000_123,
        );
        assert_eq!(c["iat"], 1_700_000_000);
        assert_eq!(c["exp"], 1_700_000_120);
        assert_eq!(c["aud"], "meeting");
        assert!(c["events"][LOGOUT_EVENT].is_object());
        assert!(c.get("nonce").is_none());
        let other = logout_claims("https://p.example.cn/oidc", "meeting", "abc", 0);
        assert_ne!(c["jti"], other["jti"], "a fresh jti each time");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let waits: Vec<i64> = (0..8).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]
        );
        assert_eq!(backoff_ms(-3), 10_000);
    }
}

//! OpenID Connect Back-Channel Logout 1.0: apps that registered a
//! back-channel URI are told, server to server, that a person's sign-in
//! ended (signed out at the provider, account disabled or removed). The
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
/// Notices sent per pass.
const BATCH: i64 = 50;

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
    pub retried: usize,
    pub given_up: usize,
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

/// Sends every notice due now.
pub async fn deliver_due(sso: &SsoState, http: &reqwest::Client) -> Result<Pass, SsoError> {
    let now = sso.clock.now_ms();
    let mut pass = Pass::default();
    for notice in sso.store.oidc().due_logout_notices(now, BATCH).await? {
        match deliver(sso, http, &notice, now).await {
            Ok(()) => {
                tracing::info!(client = %notice.client, user = %notice.username,
                    reason = %notice.reason, "sso: app told of the sign-out");
                sso.store.oidc().drop_logout_notice(notice.id).await?;
                pass.delivered += 1;
            }
            Err(why) if notice.attempts + 1 >= MAX_ATTEMPTS => {
                tracing::warn!(client = %notice.client, user = %notice.username, %why,
                    attempts = notice.attempts + 1, "sso: back-channel logout given up");
                sso.store.oidc().drop_logout_notice(notice.id).await?;
                pass.given_up += 1;
            }
            Err(why) => {
                tracing::info!(client = %notice.client, %why, "sso: back-channel logout to retry");
                let next = now + backoff_ms(notice.attempts);
                sso.store
                    .oidc()
                    .retry_logout_notice(notice.id, next, &why)
                    .await?;
                pass.retried += 1;
            }
        }
    }
    Ok(pass)
}

/// One notice: Ok when the app answered 200 (or 204); Err says why not.
async fn deliver(
    sso: &SsoState,
    http: &reqwest::Client,
    notice: &LogoutNotice,
    now: i64,
) -> Result<(), String> {
    let client = sso
        .store
        .oidc()
        .client(&notice.client)
        .await
        .map_err(|e| format!("store: {e}"))?;
    // An app removed or no longer told: nothing to send, nothing to retry.
    let Some((uri, alg)) =
        client.and_then(|c| c.backchannel_logout_uri.map(|u| (u, c.id_token_alg)))
    else {
        return Ok(());
    };
    let claims = logout_claims(&sso.issuer, &notice.client, &notice.subject, now);
    let token = sso
        .sign(&claims, &alg, now)
        .await
        .map_err(|e| format!("signing: {e}"))?;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    let resp = http
        .post(&uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST {uri}: {e}"))?;
    match resp.status().as_u16() {
        200 | 204 => Ok(()),
        s => Err(format!("POST {uri}: HTTP {s}")),
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

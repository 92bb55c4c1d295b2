//! Signing in: password (counted by the shared account lockout), then the
//! TOTP code, or at the first sign-in (and after a reset) a new password
//! and TOTP enrolment with a QR code. Each step gets a new session id, so
//! an id seen before sign-in is worth nothing after it.

use axum::extract::Query;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;

use super::i18n::Lang;
use super::views::{Field, Form as FormView, Frame, PageView, Section};
use super::{cookie, origin_of, AdminState, WebError, SESSION_COOKIE};
use crate::admin::accounts::{check_admin_password, random_secret, secret_hash};
use crate::admin::audit::{Actor, Outcome};
use crate::admin::{lockout_key, totp};
use crate::lockout::LockError;
use crate::store::admin_sessions::{AdminSession, NewAdminSession, Stage};

/// Double-submit token of the sign-in form (no session exists yet).
const PRE_COOKIE: &str = "__Host-portico_pre";
/// A hash checked for unknown names, so that a wrong name takes as long
/// as a wrong password.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::credentials::hash_password(&random_secret()).unwrap_or_default())
        .clone()
}

fn session_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = Redirect::to(to).into_response();
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// Counts one sign-in attempt of the client (per IPv4 address or IPv6
/// /64); false past the per-minute limit.
fn allowed_from(state: &AdminState, origin: &str) -> bool {
    match origin.parse::<std::net::IpAddr>() {
        Ok(ip) => state
            .sign_in_attempts
            .allow(crate::rate_limit::source_key(ip)),
        Err(_) => true,
    }
}

/// A form from another site (or a script) cannot sign anyone in.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| !matches!(v.to_str(), Ok("same-origin") | Ok("none")))
}

/// The session the cookie names, when at `stage`.
async fn session_at(
    state: &AdminState,
    headers: &HeaderMap,
    stage: Stage,
) -> Result<Option<(String, AdminSession)>, WebError> {
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty() && v.len() <= 128)
    else {
        return Ok(None);
    };
    let s = state
        .store
        .admin_sessions()
        .touch(&secret_hash(id), state.now_ms(), state.idle_ms())
        .await?;
    Ok(s.filter(|s| s.stage == stage).map(|s| (id.to_string(), s)))
}

fn login_view(lang: Lang, pre: &str, notice: Option<Section>) -> PageView {
    let t = lang.texts();
    let mut sections: Vec<Section> = notice.into_iter().collect();
    let mut form = FormView::post(
        "login",
        "",
        "/login",
        vec![
            Field::new("hidden", "pre", "", pre),
            Field::new("text", "username", t.username, "")
                .required()
                .autocomplete("username"),
            Field::new("password", "password", t.password, "")
                .required()
                .autocomplete("current-password"),
        ],
        t.sign_in,
    );
    form.title = t.sign_in_title.to_string();
    sections.push(Section::Form(form));
    PageView::new(Frame::public(lang, t.sign_in_title), sections)
}

/// `GET /login`.
pub async fn login_page(headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let pre = random_secret();
    let mut r = login_view(lang, &pre, None).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{PRE_COOKIE}={pre}; Path=/; Secure; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pre: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: the password step.
pub async fn login(
    State(state): State<AdminState>,
    headers: HeaderMap,
    req_ext: axum::http::Extensions,
    Form(f): Form<LoginForm>,
) -> Response {
    login_inner(state, headers, origin_of(&req_ext), f).await
}

async fn login_inner(
    state: AdminState,
    headers: HeaderMap,
    origin: String,
    f: LoginForm,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let t = lang.texts();
    let retry = |msg: &str| {
        let pre = random_secret();
        let mut r =
            login_view(lang, &pre, Some(Section::error(msg))).respond(StatusCode::UNAUTHORIZED);
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{PRE_COOKIE}={pre}; Path=/; Secure; HttpOnly; SameSite=Strict"
        )) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r
    };
    let pre_ok = cookie(&headers, PRE_COOKIE).is_some_and(|c| {
        use subtle::ConstantTimeEq;
        !c.is_empty() && bool::from(c.as_bytes().ct_eq(f.pre.as_bytes()))
    });
    if !pre_ok || cross_site(&headers) {
        return retry(t.err_expired);
    }
    let username = f.username.trim().to_string();
    if username.is_empty() || username.len() > 253 || f.password.len() > 256 {
        return retry(t.err_sign_in);
    }
    if !allowed_from(&state, &origin) {
        let _ = state
            .audit()
            .record(
                &Actor::unknown(&username, &origin),
                "admin.sign-in",
                &username,
                Outcome::Denied,
                json!({"reason": "too many attempts from this address"}),
            )
            .await;
        return retry(t.err_locked);
    }
    let now = state.now_ms();
    let key = lockout_key(&username);
    let audit = state.audit();
    match state.lockout.check(&key, now).await {
        Err(LockError::Locked { until }) => {
            let _ = audit
                .record(
                    &Actor::unknown(&username, &origin),
                    "admin.sign-in",
                    &username,
                    Outcome::Denied,
                    json!({"reason": "locked", "until_ms": until}),
                )
                .await;
            return retry(t.err_locked);
        }
        Err(LockError::Store(e)) => return WebError::Store(e).respond(super::Surface::Page, lang),
        Ok(()) => {}
    }
    let admin = match state.store.admins().get(&username).await {
        Ok(a) => a,
        Err(e) => return WebError::Store(e).respond(super::Surface::Page, lang),
    };
    let phc = admin.as_ref().map(|a| a.password_hash.clone());
    let password = f.password.clone();
    let right = tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(dummy_hash);
        crate::credentials::verify_password(password.as_bytes(), &phc)
    })
    .await
    .unwrap_or(false);
    let admin = match admin {
        Some(a) if right && !a.disabled => a,
        found => {
            let reason = match &found {
                None => "unknown account",
                Some(a) if a.disabled => "account disabled",
                Some(_) => "wrong password",
            };
            if found.is_some() {
                if let Ok(Some(until)) = state.lockout.failed(&key, "dashboard", now).await {
                    let _ = audit
                        .record(
                            &Actor::unknown(&username, &origin),
                            "admin.locked",
                            &username,
                            Outcome::Denied,
                            json!({"until_ms": until}),
                        )
                        .await;
                }
            }
            let _ = audit
                .record(
                    &Actor::unknown(&username, &origin),
                    "admin.sign-in",
                    &username,
                    Outcome::Denied,
                    json!({"reason": reason}),
                )
                .await;
            return retry(t.err_sign_in);
        }
    };
    // The failure count is cleared only when the whole sign-in succeeds:
    // a right password must not buy more TOTP guesses.
    let require_totp = state.config.admin.require_totp;
    let stage = if admin.totp_secret.is_some() {
        // An enrolled second factor is asked for first, also before a
        // forced password change (a reset password alone is not enough).
        Stage::Totp
    } else if admin.must_change_password || require_totp {
        Stage::Setup
    } else {
        Stage::Ready
    };
    let ua = user_agent(&headers);
    let id = match new_session(&state, &admin.username, stage, &origin, ua.as_deref()).await {
        Ok(id) => id,
        Err(e) => return e.respond(super::Surface::Page, lang),
    };
    let next = match stage {
        Stage::Setup => "/login/setup",
        Stage::Totp => "/login/totp",
        Stage::Ready => {
            signed_in(&state, &admin.username, admin.role, &origin, "password").await;
            "/"
        }
    };
    see_other(next, vec![session_cookie(&id), clear_cookie(PRE_COOKIE)])
}

async fn new_session(
    state: &AdminState,
    username: &str,
    stage: Stage,
    origin: &str,
    user_agent: Option<&str>,
) -> Result<String, WebError> {
    let id = random_secret();
    let now = state.now_ms();
    let lifetime =
        i64::try_from(state.config.admin.session_lifetime.as_millis()).unwrap_or(i64::MAX);
    state
        .store
        .admin_sessions()
        .create(&NewAdminSession {
            id_hash: &secret_hash(&id),
            username,
            stage,
            csrf: &random_secret(),
            now_ms: now,
            expires_at: now.saturating_add(lifetime),
            ip: Some(origin),
            user_agent,
        })
        .await?;
    Ok(id)
}

async fn signed_in(
    state: &AdminState,
    username: &str,
    role: crate::domain::AdminRole,
    origin: &str,
    factors: &str,
) {
    let now = state.now_ms();
    state.lockout.succeeded(&lockout_key(username)).await;
    if let Err(e) = state.store.admins().signed_in(username, now).await {
        tracing::warn!(error = %e, "recording the sign-in time");
    }
    let _ = state
        .audit()
        .record(
            &Actor::admin(username, role, origin),
            "admin.sign-in",
            username,
            Outcome::Ok,
            json!({"factors": factors}),
        )
        .await;
}

fn totp_view(lang: Lang, csrf: &str, notice: Option<Section>) -> PageView {
    let t = lang.texts();
    let mut sections: Vec<Section> = notice.into_iter().collect();
    sections.push(Section::notice(t.totp_hint));
    sections.push(Section::Form(FormView::post(
        "totp",
        "",
        "/login/totp",
        vec![
            Field::new("hidden", "csrf", "", csrf),
            Field::new("text", "code", t.totp_code, "")
                .required()
                .autocomplete("one-time-code"),
        ],
        t.continue_label,
    )));
    PageView::new(Frame::public(lang, t.totp_title), sections)
}

/// `GET /login/totp`.
pub async fn totp_page(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    match session_at(&state, &headers, Stage::Totp).await {
        Ok(Some((_, s))) => totp_view(lang, &s.csrf, None).into_response(),
        Ok(None) => see_other("/login", vec![]),
        Err(e) => e.respond(super::Surface::Page, lang),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

fn csrf_ok(s: &AdminSession, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(s.csrf.as_bytes().ct_eq(given.as_bytes()))
}

/// The session of a sign-in step's POST: at `stage`, with its CSRF token,
/// not from another site. `None`: start again at /login.
async fn step_session(
    state: &AdminState,
    headers: &HeaderMap,
    stage: Stage,
    csrf: &str,
) -> Result<Option<(String, AdminSession)>, WebError> {
    Ok(session_at(state, headers, stage)
        .await?
        .filter(|(_, s)| csrf_ok(s, csrf) && !cross_site(headers)))
}

/// The browser's User-Agent, shortened, for the sessions list.
fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

/// `POST /login/totp`: the second factor. A code counts once: its time
/// step must be later than the last one used.
pub async fn totp(
    State(state): State<AdminState>,
    headers: HeaderMap,
    req_ext: axum::http::Extensions,
    Form(f): Form<CodeForm>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let t = lang.texts();
    let origin = origin_of(&req_ext);
    let result: Result<Response, WebError> = async {
        let Some((id, s)) = step_session(&state, &headers, Stage::Totp, &f.csrf).await? else {
            return Ok(see_other("/login", vec![]));
        };
        let now = state.now_ms();
        let key = lockout_key(&s.username);
        if !allowed_from(&state, &origin) {
            return Ok(totp_view(lang, &s.csrf, Some(Section::error(t.err_locked)))
                .respond(StatusCode::TOO_MANY_REQUESTS));
        }
        if let Err(LockError::Locked { .. }) = state.lockout.check(&key, now).await {
            state
                .store
                .admin_sessions()
                .delete(&secret_hash(&id))
                .await?;
            return Ok(see_other("/login", vec![clear_cookie(SESSION_COOKIE)]));
        }
        let admin = state
            .store
            .admins()
            .get(&s.username)
            .await?
            .filter(|a| !a.disabled)
            .ok_or_else(|| WebError::NotFound("account".into()))?;
        let secs = u64::try_from(now / 1000).unwrap_or(0);
        let step = admin
            .totp_secret
            .as_deref()
            .and_then(|secret| totp::matching_step(secret, f.code.trim(), secs));
        let accepted = match step {
            Some(step) => {
                state
                    .store
                    .admins()
                    .use_totp_step(&admin.username, step)
                    .await?
            }
            None => false,
        };
        if !accepted {
            let _ = state.lockout.failed(&key, "dashboard-totp", now).await;
            let _ = state
                .audit()
                .record(
                    &Actor::admin(&admin.username, admin.role, &origin),
                    "admin.sign-in",
                    &admin.username,
                    Outcome::Denied,
                    json!({"reason": "wrong or reused TOTP code"}),
                )
                .await;
            return Ok(totp_view(lang, &s.csrf, Some(Section::error(t.err_totp)))
                .respond(StatusCode::UNAUTHORIZED));
        }
        let new_id = random_secret();
        let next = if admin.must_change_password {
            Stage::Setup
        } else {
            Stage::Ready
        };
        state
            .store
            .admin_sessions()
            .advance(&secret_hash(&id), &secret_hash(&new_id), next)
            .await?;
        if next == Stage::Setup {
            return Ok(see_other("/login/setup", vec![session_cookie(&new_id)]));
        }
        signed_in(
            &state,
            &admin.username,
            admin.role,
            &origin,
            "password+totp",
        )
        .await;
        Ok(see_other("/", vec![session_cookie(&new_id)]))
    }
    .await;
    result.unwrap_or_else(|e| e.respond(super::Surface::Page, lang))
}

/// `GET /login/setup`: new password, and TOTP enrolment with a QR code.
pub async fn setup_page(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let result: Result<Response, WebError> = async {
        let Some((id, s)) = session_at(&state, &headers, Stage::Setup).await? else {
            return Ok(see_other("/login", vec![]));
        };
        let view = setup_view(&state, lang, &id, &s, None).await?;
        Ok(view.into_response())
    }
    .await;
    result.unwrap_or_else(|e| e.respond(super::Surface::Page, lang))
}

/// Whether this account enrols TOTP in its setup step.
fn enrols_totp(state: &AdminState, admin: &crate::store::admins::Admin) -> bool {
    state.config.admin.require_totp && admin.totp_secret.is_none()
}

async fn setup_view(
    state: &AdminState,
    lang: Lang,
    id: &str,
    s: &AdminSession,
    notice: Option<Section>,
) -> Result<PageView, WebError> {
    let t = lang.texts();
    let admin = state
        .store
        .admins()
        .get(&s.username)
        .await?
        .ok_or_else(|| WebError::NotFound("account".into()))?;
    let mut sections: Vec<Section> = notice.into_iter().collect();
    let mut fields = vec![Field::new("hidden", "csrf", "", &s.csrf)];
    if admin.must_change_password {
        fields.push(
            Field::new("password", "new_password", t.new_password, "")
                .required()
                .autocomplete("new-password")
                .hint(t.password_rules),
        );
        fields.push(
            Field::new("password", "repeat_password", t.repeat_password, "")
                .required()
                .autocomplete("new-password"),
        );
    }
    if enrols_totp(state, &admin) {
        // The secret shown stays the same across retries of this step.
        let secret = match &s.pending_totp {
            Some(p) => p.clone(),
            None => {
                let fresh = totp::new_secret();
                state
                    .store
                    .admin_sessions()
                    .set_pending_totp(&secret_hash(id), &fresh)
                    .await?;
                fresh
            }
        };
        let uri = totp::otpauth_uri(&secret, "Portico", &admin.username);
        sections.push(Section::notice(t.setup_intro));
        if let Some(svg) = crate::qr::svg(&uri, 240) {
            let encoded: String = svg
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            sections.push(Section::Qr {
                image: format!("data:image/svg+xml,{encoded}"),
                key: totp::secret_base32(&secret),
                hint: t.totp_title.to_string(),
            });
        }
        fields.push(
            Field::new("text", "code", t.totp_code, "")
                .required()
                .autocomplete("one-time-code"),
        );
    } else {
        sections.push(Section::notice(t.setup_password_only));
    }
    sections.push(Section::Form(FormView::post(
        "setup",
        "",
        "/login/setup",
        fields,
        t.continue_label,
    )));
    Ok(PageView::new(Frame::public(lang, t.setup_title), sections))
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    #[serde(default)]
    code: String,
}

/// `POST /login/setup`.
pub async fn setup(
    State(state): State<AdminState>,
    headers: HeaderMap,
    req_ext: axum::http::Extensions,
    Form(f): Form<SetupForm>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let t = lang.texts();
    let origin = origin_of(&req_ext);
    let result: Result<Response, WebError> = async {
        let Some((id, s)) = step_session(&state, &headers, Stage::Setup, &f.csrf).await? else {
            return Ok(see_other("/login", vec![]));
        };
        let admin = state
            .store
            .admins()
            .get(&s.username)
            .await?
            .filter(|a| !a.disabled)
            .ok_or_else(|| WebError::NotFound("account".into()))?;
        let again = |msg: String| async {
            setup_view(&state, lang, &id, &s, Some(Section::error(msg)))
                .await
                .map(|v| v.respond(StatusCode::BAD_REQUEST))
        };
        if admin.must_change_password {
            if f.new_password != f.repeat_password {
                return again(t.err_password_mismatch.to_string()).await;
            }
            if let Err(e) = check_admin_password(&admin.username, &f.new_password) {
                return again(format!("{}{e}", t.err_bad_request)).await;
            }
            let (pw, phc) = (f.new_password.clone(), admin.password_hash.clone());
            let same = tokio::task::spawn_blocking(move || {
                crate::credentials::verify_password(pw.as_bytes(), &phc)
            })
            .await
            .unwrap_or(false);
            if same {
                return again(t.err_password_same.to_string()).await;
            }
        }
        let mut enrolled = None;
        if enrols_totp(&state, &admin) {
            let now_s = u64::try_from(state.now_ms() / 1000).unwrap_or(0);
            let step = s.pending_totp.as_deref().and_then(|secret| {
                totp::matching_step(secret, f.code.trim(), now_s).map(|st| (secret, st))
            });
            let Some((secret, step)) = step else {
                return again(t.err_totp.to_string()).await;
            };
            enrolled = Some((secret.to_vec(), step));
        }
        let actor = Actor::admin(&admin.username, admin.role, &origin);
        if admin.must_change_password {
            // Ends every session of the account, this one included.
            state
                .accounts
                .set_password(&actor, &admin.username, &f.new_password, false)
                .await?;
        } else {
            state
                .store
                .admin_sessions()
                .delete(&secret_hash(&id))
                .await?;
        }
        let factors = if enrolled.is_some() || admin.totp_secret.is_some() {
            "password+totp"
        } else {
            "password"
        };
        if let Some((secret, step)) = enrolled {
            state
                .store
                .admins()
                .set_totp(&admin.username, &secret, step)
                .await?;
            let _ = state
                .audit()
                .record(
                    &actor,
                    "admin.totp-enrol",
                    &admin.username,
                    Outcome::Ok,
                    json!({}),
                )
                .await;
        }
        let ua = user_agent(&headers);
        let new_id = new_session(
            &state,
            &admin.username,
            Stage::Ready,
            &origin,
            ua.as_deref(),
        )
        .await?;
        signed_in(&state, &admin.username, admin.role, &origin, factors).await;
        Ok(see_other("/", vec![session_cookie(&new_id)]))
    }
    .await;
    result.unwrap_or_else(|e| e.respond(super::Surface::Page, lang))
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session (any stage).
pub async fn logout(
    State(state): State<AdminState>,
    headers: HeaderMap,
    req_ext: axum::http::Extensions,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE).filter(|v| !v.is_empty() && v.len() <= 128) {
        let hash = secret_hash(id);
        if let Ok(Some(s)) = state
            .store
            .admin_sessions()
            .touch(&hash, state.now_ms(), state.idle_ms())
            .await
        {
            if csrf_ok(&s, &f.csrf) {
                let _ = state.store.admin_sessions().delete(&hash).await;
                let _ = state
                    .audit()
                    .record(
                        &Actor::unknown(&s.username, &origin_of(&req_ext)),
                        "admin.sign-out",
                        &s.username,
                        Outcome::Ok,
                        json!({}),
                    )
                    .await;
            }
        }
    }
    see_other("/login", vec![clear_cookie(SESSION_COOKIE)])
}

#[derive(Deserialize)]
pub struct Back {
    #[serde(default)]
    back: String,
}

/// `GET /lang/{zh|en}?back=PATH`: the language switch (a cookie), back to
/// the page (a local path only: never a redirect elsewhere).
pub async fn switch_language(Path(code): Path<String>, Query(q): Query<Back>) -> Response {
    let code = if code == "en" { "en" } else { "zh" };
    let local = q.back.starts_with('/')
        && !q.back.starts_with("//")
        && !q.back.contains('\\')
        && q.back.len() <= 200
        && q.back.bytes().all(|b| b.is_ascii_graphic());
    let back = if local { q.back.clone() } else { "/".into() };
    let cookie = HeaderValue::from_str(&format!(
        "portico_lang={code}; Path=/; Max-Age=31536000; SameSite=Lax; Secure"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""));
    see_other(&back, vec![cookie])
}

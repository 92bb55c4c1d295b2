//! Local fakes of the WeChat, WeCom and SMS gateway APIs, behaving like
//! the documented ones: codes single-use, tokens expiring, errors carried
//! as errcode/errmsg (WeChat, WeCom) or Code/Message (Alibaba Cloud SMS).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::json;

pub const APPID: &str = "wx-test-app";
pub const APP_SECRET: &str = "wx-test-secret";
pub const CORPID: &str = "ww-test-corp";
pub const CORP_SECRET: &str = "ww-test-secret";
pub const SMS_KEY_ID: &str = "sms-key";
pub const SMS_SECRET: &str = "sms-secret";

#[derive(Default)]
pub struct Fake {
    next: AtomicU64,
    /// The person "using the phone": openid (WeChat) / userid (WeCom).
    pub user: Mutex<String>,
    /// code -> (user, used)
    codes: Mutex<HashMap<String, (String, bool)>>,
    /// access tokens -> uses left before they expire
    tokens: Mutex<HashMap<String, u32>>,
    pub gettoken_calls: AtomicU64,
    /// phone -> codes received, newest last
    pub sms: Mutex<HashMap<String, Vec<String>>>,
    /// Make the SMS gateway refuse (Code isv.BUSINESS_LIMIT_CONTROL).
    pub sms_refuse: std::sync::atomic::AtomicBool,
}

type S = Arc<Fake>;
type Q = Query<HashMap<String, String>>;

fn err(code: i64, msg: &str) -> Response {
    Json(json!({ "errcode": code, "errmsg": msg })).into_response()
}

impl Fake {
    fn id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn issue_code(&self) -> String {
        let code = self.id("code-");
        let user = self.user.lock().unwrap().clone();
        self.codes
            .lock()
            .unwrap()
            .insert(code.clone(), (user, false));
        code
    }

    /// Takes a code once: Err(errcode, errmsg) otherwise.
    fn take_code(&self, code: &str) -> Result<String, (i64, &'static str)> {
        let mut codes = self.codes.lock().unwrap();
        match codes.get_mut(code) {
            None => Err((40029, "invalid code")),
            Some((_, true)) => Err((40163, "code been used")),
            Some((user, used)) => {
                *used = true;
                Ok(user.clone())
            }
        }
    }

    fn issue_token(&self, uses: u32) -> String {
        let t = self.id("token-");
        self.tokens.lock().unwrap().insert(t.clone(), uses);
        t
    }

    fn use_token(&self, t: &str) -> Result<(), (i64, &'static str)> {
        let mut tokens = self.tokens.lock().unwrap();
        match tokens.get_mut(t) {
            None => Err((40014, "invalid access_token")),
            Some(0) => Err((42001, "access_token expired")),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
        }
    }
}

/// Starts the fake on a loopback port; returns its base URL.
pub async fn start(fake: S) -> String {
    let app = Router::new()
        .route("/connect/oauth2/authorize", get(authorize))
        .route("/sns/oauth2/access_token", get(access_token))
        .route("/sns/userinfo", get(userinfo))
        .route("/cgi-bin/gettoken", get(gettoken))
        .route("/cgi-bin/auth/getuserinfo", get(wecom_userinfo))
        .route("/sms", post(sms))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// The person consents at once (snsapi_base is silent; the test does not
/// need the consent page of snsapi_userinfo).
async fn authorize(State(f): State<S>, Query(q): Q) -> Response {
    let appid = q.get("appid").cloned().unwrap_or_default();
    if appid != APPID && appid != CORPID {
        return (StatusCode::OK, "appid 参数错误").into_response();
    }
    let Some(redirect) = q.get("redirect_uri") else {
        return (StatusCode::OK, "redirect_uri 参数错误").into_response();
    };
    let code = f.issue_code();
    let state = q.get("state").cloned().unwrap_or_default();
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{sep}code={code}&state={state}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn access_token(State(f): State<S>, Query(q): Q) -> Response {
    if q.get("appid").map(String::as_str) != Some(APPID) {
        return err(40013, "invalid appid");
    }
    if q.get("secret").map(String::as_str) != Some(APP_SECRET) {
        return err(40125, "invalid appsecret");
    }
    if q.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return err(40002, "invalid grant_type");
    }
    match f.take_code(q.get("code").map(String::as_str).unwrap_or("")) {
        Err((c, m)) => err(c, m),
        Ok(openid) => {
            let token = f.issue_token(5);
            Json(json!({
                "access_token": token, "expires_in": 7200, "refresh_token": f.id("refresh-"),
                "openid": openid, "scope": "snsapi_base"
            }))
            .into_response()
        }
    }
}

async fn userinfo(State(f): State<S>, Query(q): Q) -> Response {
    if let Err((c, m)) = f.use_token(q.get("access_token").map(String::as_str).unwrap_or("")) {
        return err(c, m);
    }
    Json(json!({ "openid": q.get("openid"), "nickname": "测试用户" })).into_response()
}

async fn gettoken(State(f): State<S>, Query(q): Q) -> Response {
    f.gettoken_calls.fetch_add(1, Ordering::Relaxed);
    if q.get("corpid").map(String::as_str) != Some(CORPID)
        || q.get("corpsecret").map(String::as_str) != Some(CORP_SECRET)
    {
        return err(40001, "invalid credential");
    }
    // One use, then "expired": Portico must fetch a new one and retry.
    let token = f.issue_token(1);
    Json(json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200 }))
        .into_response()
}

async fn wecom_userinfo(State(f): State<S>, Query(q): Q) -> Response {
    if let Err((c, m)) = f.use_token(q.get("access_token").map(String::as_str).unwrap_or("")) {
        return err(c, m);
    }
    match f.take_code(q.get("code").map(String::as_str).unwrap_or("")) {
        Err((c, m)) => err(c, m),
        Ok(userid) => {
            Json(json!({ "errcode": 0, "errmsg": "ok", "userid": userid })).into_response()
        }
    }
}

use portico::http_client::pct;

/// Alibaba Cloud SendSms: checks the HMAC-SHA1 signature over the sorted,
/// percent-encoded parameters, then "delivers" the code.
async fn sms(State(f): State<S>, body: String) -> Response {
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if get("AccessKeyId") != SMS_KEY_ID {
        return Json(json!({ "Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found." })).into_response();
    }
    let mut rest: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical = rest
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&{}&{}", pct("/"), pct(&canonical));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{SMS_SECRET}&").as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let expected = portico::portal::sms::base64(&mac.finalize().into_bytes());
    if get("Signature") != expected {
        return Json(json!({ "Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our calculation." })).into_response();
    }
    if f.sms_refuse.load(Ordering::Relaxed) {
        return Json(
            json!({ "Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1" }),
        )
        .into_response();
    }
    let param: serde_json::Value = serde_json::from_str(&get("TemplateParam")).unwrap_or_default();
    let code = param["code"].as_str().unwrap_or("").to_string();
    f.sms
        .lock()
        .unwrap()
        .entry(get("PhoneNumbers"))
        .or_default()
        .push(code);
    Json(json!({ "Code": "OK", "Message": "OK", "BizId": f.id("biz-"), "RequestId": f.id("req-") }))
        .into_response()
}

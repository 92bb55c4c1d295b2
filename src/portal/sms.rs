//! Visitor sign-in by phone number and SMS code (the real-name sign-in
//! public Wi-Fi in China asks for): number checks, codes, limits, and the
//! gateway's HTTP API ("generic-json", or Alibaba Cloud's SendSms form).

use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use sha1::Sha1;

use super::signin::{Identity, SignInError};
use super::tokens::random_token;
use super::PortalState;
use crate::config::portal::{SmsConfig, SmsProvider};
use crate::domain::MacAddr;
use crate::http_client;

const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);

/// A mainland mobile number (11 digits starting 13-19, "+86"/"86" prefix
/// dropped) or an international one in E.164 ("+" and 8 to 15 digits).
pub fn normalize_phone(raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national = if compact.starts_with('+') || digits.len() == 13 {
        digits.strip_prefix("86")
    } else {
        Some(digits)
    };
    match national {
        Some(n)
            if n.len() == 11 && n.starts_with('1') && matches!(n.as_bytes()[1], b'3'..=b'9') =>
        {
            Some(n.to_string())
        }
        _ if compact.starts_with('+') && (8..=15).contains(&digits.len()) => Some(compact),
        _ => None,
    }
}

pub fn generate_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS sign-in is not enabled")]
    Off,
    #[error("not a mobile number")]
    BadPhone,
    #[error("too many codes requested")]
    Limited,
    #[error("SMS gateway: {0}")]
    Gateway(String),
    #[error("{0}")]
    SignIn(#[from] SignInError),
}

impl From<crate::store::StoreError> for SmsError {
    fn from(e: crate::store::StoreError) -> Self {
        SmsError::SignIn(SignInError::Store(e))
    }
}

/// Sends a new code to `phone` within the per-number, per-device and
/// per-hour limits. Returns the normalized number.
pub async fn send_code(
    state: &PortalState,
    phone: &str,
    mac: MacAddr,
    now_ms: i64,
) -> Result<String, SmsError> {
    let cfg = &state.config.sms;
    if cfg.provider.is_none() {
        return Err(SmsError::Off);
    }
    let phone = normalize_phone(phone).ok_or(SmsError::BadPhone)?;
    let (by_phone, by_mac, total) = state
        .store
        .sms_codes()
        .sent_since(&phone, Some(mac), now_ms - 3_600_000)
        .await?;
    if by_phone >= i64::from(cfg.per_phone_per_hour)
        || by_mac >= i64::from(cfg.per_device_per_hour)
        || total >= i64::from(cfg.per_hour_total)
    {
        return Err(SmsError::Limited);
    }
    let code = generate_code();
    let ttl = i64::try_from(cfg.code_ttl.as_millis()).unwrap_or(300_000);
    state
        .store
        .sms_codes()
        .create(
            &phone,
            &state.keys.code_hash(&phone, &code),
            Some(mac),
            now_ms,
            now_ms + ttl,
        )
        .await?;
    deliver(cfg, &phone, &code, now_ms).await?;
    tracing::info!(phone = %mask(&phone), %mac, "SMS code sent");
    Ok(phone)
}

/// Checks the code; the session records the number.
pub async fn verify_code(
    state: &PortalState,
    phone: &str,
    code: &str,
    now_ms: i64,
) -> Result<Identity, SmsError> {
    if state.config.sms.provider.is_none() {
        return Err(SmsError::Off);
    }
    let phone = normalize_phone(phone).ok_or(SmsError::BadPhone)?;
    let code = code.trim();
    let hash = state.keys.code_hash(&phone, code);
    if code.len() != 6
        || !state
            .store
            .sms_codes()
            .verify(&phone, &hash, now_ms)
            .await?
    {
        return Err(SmsError::SignIn(SignInError::BadPassword));
    }
    let ms = i64::try_from(state.config.sms_session.as_millis()).unwrap_or(i64::MAX);
    Ok(Identity {
        identity: format!("phone:{phone}"),
        method: "sms",
        groups: Vec::new(),
        expires_at: now_ms.saturating_add(ms),
        phone: Some(phone),
    })
}

/// 138****8000 for logs.
pub fn mask(phone: &str) -> String {
    let n = phone.len();
    if n < 7 {
        return "***".into();
    }
    format!("{}****{}", &phone[..3], &phone[n - 4..])
}

async fn deliver(cfg: &SmsConfig, phone: &str, code: &str, now_ms: i64) -> Result<(), SmsError> {
    let (Some(provider), Some(url)) = (cfg.provider, cfg.url.as_deref()) else {
        return Err(SmsError::Off);
    };
    let (ctype, body) = match provider {
        SmsProvider::Aliyun => {
            let form = aliyun_form(cfg, phone, code, now_ms, &random_token()[..16]);
            ("application/x-www-form-urlencoded", form)
        }
        SmsProvider::GenericJson => {
            let body = serde_json::json!({
                "phone": phone,
                "sign_name": cfg.sign_name,
                "template_code": cfg.template_code,
                "params": { "code": code },
                "access_key_id": cfg.access_key_id,
                "signature": hex::encode(hmac_sha1(
                    cfg.access_key_secret.expose().as_bytes(),
                    format!("{phone}\n{}\n{code}", cfg.template_code).as_bytes(),
                )),
            });
            ("application/json", body.to_string())
        }
    };
    let resp = http_client::request("POST", url, Some((ctype, body.as_bytes())), GATEWAY_TIMEOUT)
        .await
        .map_err(|e| SmsError::Gateway(e.to_string()))?;
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
    let ok = (200..300).contains(&resp.status)
        && match provider {
            SmsProvider::Aliyun => json["Code"] == "OK",
            SmsProvider::GenericJson => match &json["code"] {
                serde_json::Value::Null => true,
                serde_json::Value::Number(n) => n.as_i64() == Some(0),
                serde_json::Value::String(s) => s == "OK" || s == "0",
                _ => false,
            },
        };
    if ok {
        Ok(())
    } else {
        let msg = json
            .get("Message")
            .or_else(|| json.get("message"))
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        Err(SmsError::Gateway(format!("HTTP {}: {msg}", resp.status)))
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Alibaba Cloud RPC-style SendSms request body, signed (HMAC-SHA1 over
/// the canonical query, signature version 1.0).
pub fn aliyun_form(cfg: &SmsConfig, phone: &str, code: &str, now_ms: i64, nonce: &str) -> String {
    let timestamp = chrono::DateTime::from_timestamp_millis(now_ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let template_param = serde_json::json!({ "code": code }).to_string();
    let mut params: Vec<(&str, String)> = vec![
        ("AccessKeyId", cfg.access_key_id.clone()),
        ("Action", "SendSms".into()),
        ("Format", "JSON".into()),
        ("PhoneNumbers", phone.to_string()),
        ("RegionId", "cn-hangzhou".into()),
        ("SignName", cfg.sign_name.clone()),
        ("SignatureMethod", "HMAC-SHA1".into()),
        ("SignatureNonce", nonce.to_string()),
        ("SignatureVersion", "1.0".into()),
        ("TemplateCode", cfg.template_code.clone()),
        ("TemplateParam", template_param),
        ("Timestamp", timestamp),
        ("Version", "2017-05-25".into()),
    ];
    params.sort_by(|a, b| a.0.cmp(b.0));
    let canonical = params
        .iter()
        .map(|(k, v)| format!("{}={}", http_client::pct(k), http_client::pct(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!(
        "POST&{}&{}",
        http_client::pct("/"),
        http_client::pct(&canonical)
    );
    let key = format!("{}&", cfg.access_key_secret.expose());
    let signature = base64(&hmac_sha1(key.as_bytes(), to_sign.as_bytes()));
    format!("Signature={}&{canonical}", http_client::pct(&signature))
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("138 0013 8000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(
            normalize_phone("+86 138-0013-8000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(
            normalize_phone("8613800138000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(
            normalize_phone("+44 7700 900123").as_deref(),
            Some("+447700900123")
        );
        assert_eq!(normalize_phone("12800138000"), None);
        assert_eq!(normalize_phone("1380013800"), None);
        assert_eq!(normalize_phone("abc"), None);
        assert_eq!(mask("13800138000"), "138****8000");
    }

    #[test]
    fn base64_vectors() {
        // RFC 4648 section 10.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn aliyun_form_is_sorted_and_signed() {
        let cfg = SmsConfig {
            provider: Some(SmsProvider::Aliyun),
            access_key_id: "testid".into(),
            access_key_secret: crate::config::Secret("testsecret".into()),
            sign_name: "签名".into(),
            template_code: "SMS_1".into(),
            ..SmsConfig::default()
        };
        let f = aliyun_form(&cfg, "13800138000", "123456", 0, "n1");
        assert!(f.starts_with("Signature="), "{f}");
        assert!(f.contains("&AccessKeyId=testid&Action=SendSms&"), "{f}");
        assert!(
            f.contains("TemplateParam=%7B%22code%22%3A%22123456%22%7D"),
            "{f}"
        );
        assert!(f.contains("Timestamp=1970-01-01T00%3A00%3A00Z"), "{f}");
    }
}

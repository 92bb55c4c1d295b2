//! Template structs for the pages in `portal-templates/` (askama,
//! compiled in; texts and colours come from the branding at run time).

use askama::Template;

use super::branding::Branding;
use super::handoff::AutoForm;
use super::i18n::{Lang, Texts};

/// What every page's frame (`base.html`) shows: language, texts,
/// colours and whether there is a logo.
pub struct Frame<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
}

#[derive(Template)]
#[template(path = "landing.html")]
pub struct Landing<'a> {
    pub frame: Frame<'a>,
    pub profile: &'a str,
    pub csrf: &'a str,
    pub ctx: &'a str,
    pub notice: Option<&'a str>,
    pub sms: bool,
    pub wechat: bool,
    pub wecom: bool,
    pub terms: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub frame: Frame<'a>,
    pub title: &'a str,
    pub message: &'a str,
    pub error: bool,
    /// A short code for the helpdesk (the detail is in the log).
    pub code: Option<&'a str>,
    /// The button under the message (every error page has one: a sign-in
    /// window on a phone has no back button) and its label.
    pub action: Option<&'a str>,
    pub action_label: &'a str,
}

#[derive(Template)]
#[template(path = "handoff.html")]
pub struct Handoff<'a> {
    pub frame: Frame<'a>,
    pub method: &'static str,
    pub action: &'a str,
    pub fields: &'a [(String, String)],
}

impl<'a> Handoff<'a> {
    pub fn fields_of(form: &'a AutoForm) -> &'a [(String, String)] {
        &form.fields
    }
}

#[derive(Template)]
#[template(path = "waiting.html")]
pub struct Waiting<'a> {
    pub frame: Frame<'a>,
    pub refresh_secs: u32,
    pub refresh_url: &'a str,
    pub failed: bool,
    pub retry_url: &'a str,
}

pub struct TileView {
    pub name: String,
    pub icon: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "launcher.html")]
pub struct Launcher<'a> {
    pub frame: Frame<'a>,
    pub identity: &'a str,
    pub time_left: String,
    pub tiles: Vec<TileView>,
    pub csrf: &'a str,
    pub original_url: Option<&'a str>,
    /// Staff see the signal survey link.
    pub survey: bool,
    /// Staff: their apps, presence and bindings.
    pub extras: Option<super::web::apps::Extras>,
}

#[derive(Template)]
#[template(path = "sms_code.html")]
pub struct SmsCode<'a> {
    pub frame: Frame<'a>,
    pub profile: &'a str,
    pub csrf: &'a str,
    pub ctx: &'a str,
    pub phone: &'a str,
}

#[derive(Template)]
#[template(path = "qr.html")]
pub struct Qr<'a> {
    pub frame: Frame<'a>,
    /// Generated SVG (numbers and fixed markup only).
    pub qr_svg: &'a str,
    pub link: &'a str,
    pub wait_url: &'a str,
    /// For a binding or provider sign-in: the digits the phone shows too.
    pub number: Option<&'a str>,
}

/// The phone confirms a provider sign-in or a binding.
#[derive(Template)]
#[template(path = "oauth_confirm.html")]
pub struct OauthConfirm<'a> {
    pub frame: Frame<'a>,
    /// A sign-in at the provider (else a binding).
    pub sign_in: bool,
    /// The app (sign-in) or the account (binding).
    pub target: &'a str,
    pub number: &'a str,
    pub csrf: &'a str,
    pub ticket: &'a str,
    pub identity: &'a str,
    pub method: &'a str,
    pub sig: &'a str,
}

/// WeChat sign-in on a phone outside WeChat: a QR code the same phone
/// cannot scan is no help; the link to open in WeChat is, or SMS.
#[derive(Template)]
#[template(path = "wechat_phone.html")]
pub struct WechatPhone<'a> {
    pub frame: Frame<'a>,
    pub link: &'a str,
    pub wait_url: &'a str,
    pub sms_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "voucher_print.html")]
pub struct VoucherPrint<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub heading: &'a str,
    pub summary: &'a str,
    pub ssid: Option<&'a str>,
    /// Session length in words.
    pub span: &'a str,
    /// Valid until, in the building's time zone.
    pub expires: &'a str,
    pub codes: &'a [String],
}

/// "7:59:58" style, with days for long sessions in the page's language.
pub fn format_duration(seconds: i64, lang: Lang) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    match (d, lang) {
        (0, _) => format!("{h}:{m:02}:{sec:02}"),
        (_, Lang::Zh) => format!("{d}天 {h}:{m:02}:{sec:02}"),
        (_, Lang::En) => format!("{d}d {h}:{m:02}:{sec:02}"),
    }
}

/// A length of time in words: "4 小时", "30 minutes", "2 天".
pub fn format_span(seconds: i64, lang: Lang) -> String {
    let s = seconds.max(0);
    let (n, zh, en) = if s >= 86_400 && s % 86_400 == 0 {
        (s / 86_400, "天", "day")
    } else if s >= 3600 && s % 3600 == 0 {
        (s / 3600, "小时", "hour")
    } else if s % 60 == 0 {
        (s / 60, "分钟", "minute")
    } else {
        return format_duration(s, lang);
    };
    match lang {
        Lang::Zh => format!("{n} {zh}"),
        Lang::En if n == 1 => format!("1 {en}"),
        Lang::En => format!("{n} {en}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_render_escaped() {
        let b = Branding::builtin();
        let t = b.texts(Lang::En);
        let html = Message {
            frame: Frame {
                lang: "en",
                t,
                b: &b,
                has_logo: false,
            },
            title: "x",
            message: "<script>alert(1)</script>",
            error: true,
            code: Some("PT-101"),
            action: Some("/portal/start"),
            action_label: "Try again",
        }
        .render()
        .unwrap();
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.len() < 8 * 1024, "sign-in pages stay small");
        assert!(html.contains("PT-101") && html.contains("href=\"/portal/start\""));
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(28_799, Lang::En), "7:59:59");
        assert_eq!(format_duration(90_061, Lang::En), "1d 1:01:01");
        assert_eq!(format_duration(90_061, Lang::Zh), "1天 1:01:01");
        assert_eq!(format_duration(-5, Lang::Zh), "0:00:00");
        assert_eq!(format_span(4 * 3600, Lang::Zh), "4 小时");
        assert_eq!(format_span(3600, Lang::En), "1 hour");
        assert_eq!(format_span(2 * 86_400, Lang::En), "2 days");
        assert_eq!(format_span(1800, Lang::En), "30 minutes");
        assert_eq!(format_span(61, Lang::En), "0:01:01");
    }
}

#[derive(Template)]
#[template(path = "sso_signin.html")]
pub struct SsoSignIn<'a> {
    pub frame: Frame<'a>,
    /// The provider's path (`/oidc`).
    pub base: &'a str,
    pub client: &'a str,
    pub csrf: &'a str,
    /// The authorization request's query, carried through the form.
    pub request: &'a str,
    pub otp: bool,
    pub error: Option<&'a str>,
    /// WeChat and WeCom sign-in offered (bound accounts).
    pub wechat: bool,
    pub wecom: bool,
}

#[derive(Template)]
#[template(path = "sso_consent.html")]
pub struct SsoConsent<'a> {
    pub frame: Frame<'a>,
    pub base: &'a str,
    pub client: &'a str,
    pub csrf: &'a str,
    pub request: &'a str,
    /// What each asked-for scope releases, in words.
    pub scopes: Vec<String>,
}

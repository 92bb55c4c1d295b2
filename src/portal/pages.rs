//! Template structs for the pages in `portal-templates/` (askama,
//! compiled in; texts and colours come from the branding at run time).

use askama::Template;

use super::branding::Branding;
use super::handoff::AutoForm;
use super::i18n::Texts;

#[derive(Template)]
#[template(path = "landing.html")]
pub struct Landing<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
    pub profile: &'a str,
    pub csrf: &'a str,
    pub ctx: &'a str,
    pub original_url: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub sms: bool,
    pub wechat: bool,
    pub wecom: bool,
    pub terms: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
    pub title: &'a str,
    pub message: &'a str,
    pub error: bool,
    pub back: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "handoff.html")]
pub struct Handoff<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
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
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
    pub refresh_secs: u32,
    pub failed: bool,
}

pub struct TileView {
    pub name: String,
    pub icon: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "launcher.html")]
pub struct Launcher<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
    pub identity: &'a str,
    pub time_left: String,
    pub tiles: Vec<TileView>,
    pub csrf: &'a str,
    pub original_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "sms_code.html")]
pub struct SmsCode<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
    pub profile: &'a str,
    pub csrf: &'a str,
    pub ctx: &'a str,
    pub phone: &'a str,
}

#[derive(Template)]
#[template(path = "qr.html")]
pub struct Qr<'a> {
    pub lang: &'static str,
    pub t: &'a Texts,
    pub b: &'a Branding,
    pub has_logo: bool,
    /// Generated SVG (numbers and fixed markup only).
    pub qr_svg: &'a str,
    pub link: &'a str,
    pub wait_url: &'a str,
}

#[derive(Template)]
#[template(path = "voucher_print.html")]
pub struct VoucherPrint<'a> {
    pub lang: &'static str,
    pub site_name: &'a str,
    pub heading: &'a str,
    pub summary: &'a str,
    pub card_note: &'a str,
    pub codes: &'a [String],
}

/// "7:59:58" style, or days for long sessions.
pub fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}:{sec:02}")
    } else {
        format!("{h}:{m:02}:{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::i18n::Lang;

    #[test]
    fn pages_render_escaped() {
        let b = Branding::builtin();
        let t = b.texts(Lang::En);
        let html = Message {
            lang: "en",
            t,
            b: &b,
            has_logo: false,
            title: "x",
            message: "<script>alert(1)</script>",
            error: true,
            back: None,
        }
        .render()
        .unwrap();
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.len() < 8 * 1024, "sign-in pages stay small");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(28_799), "7:59:59");
        assert_eq!(format_duration(90_061), "1d 1:01:01");
        assert_eq!(format_duration(-5), "0:00:00");
    }
}

//! Voucher codes and the printable sheet of a batch.

use askama::Template;
use rand::Rng;

use super::branding::Branding;
use super::i18n::Lang;
use super::pages::{format_span, VoucherPrint};
use crate::store::vouchers::VoucherBatch;

/// No 0/O, 1/I/L: codes are read off paper and typed on phones.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// 12 symbols from 31: about 59 bits, far beyond online guessing at the
/// portal's rate limits.
pub const CODE_SYMBOLS: usize = 12;

/// A new code, `XXXX-XXXX-XXXX`.
pub fn generate_code() -> String {
    let mut rng = rand::thread_rng();
    let symbols: Vec<u8> = (0..CODE_SYMBOLS)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect();
    symbols
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// How a sheet is printed: language, the time zone of its dates, and
/// the SSID to connect to.
pub struct SheetOptions<'a> {
    pub lang: Lang,
    pub time_zone: chrono_tz::Tz,
    pub ssid: Option<&'a str>,
}

/// The HTML print view of a batch (cards in a grid, one per code), each
/// card with the SSID, the code, its time and validity in the building's
/// time zone, and a two-line how-to.
pub fn print_sheet(
    batch: &VoucherBatch,
    codes: &[String],
    branding: &Branding,
    opts: &SheetOptions<'_>,
) -> Result<String, askama::Error> {
    let lang = opts.lang;
    let t = branding.texts(lang);
    let span = format_span(batch.duration_s, lang);
    let expires = chrono::DateTime::from_timestamp_millis(batch.expires_at)
        .map(|d| {
            d.with_timezone(&opts.time_zone)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    let ssid = opts.ssid.filter(|s| !s.is_empty());
    let (heading, summary) = match lang {
        Lang::Zh => (
            format!("{}（批次 {}）", t.voucher_title, batch.id),
            format!(
                "共 {} 张，每张可用 {}，{} 台设备，{} 前有效。{}",
                codes.len(),
                span,
                batch.devices,
                expires,
                batch.note
            ),
        ),
        Lang::En => (
            format!("{} (batch {})", t.voucher_title, batch.id),
            format!(
                "{} codes, {} each, {} device(s), valid until {}. {}",
                codes.len(),
                span,
                batch.devices,
                expires,
                batch.note
            ),
        ),
    };
    VoucherPrint {
        lang: lang.tag(),
        t,
        heading: &heading,
        summary: &summary,
        ssid,
        span: &span,
        expires: &expires,
        codes,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::signin::normalize_voucher;

    #[test]
    fn codes_look_right_and_normalize_to_themselves() {
        for _ in 0..100 {
            let c = generate_code();
            assert_eq!(c.len(), 14);
            assert_eq!(
                normalize_voucher(&c.to_lowercase()).as_deref(),
                Some(c.as_str())
            );
            assert!(!c.contains('0') && !c.contains('O') && !c.contains('I'));
        }
    }

    #[test]
    fn sheet_lists_codes() {
        let b = VoucherBatch {
            id: 3,
            created_at: 0,
            duration_s: 7200,
            devices: 1,
            expires_at: 1_800_000_000_000,
            note: "<lobby>".into(),
            groups: vec![],
        };
        let opts = SheetOptions {
            lang: Lang::Zh,
            time_zone: chrono_tz::Asia::Shanghai,
            ssid: Some("RD-Guest"),
        };
        let html =
            print_sheet(&b, &["AAAA-BBBB-CCCC".into()], &Branding::builtin(), &opts).unwrap();
        assert!(html.contains("AAAA-BBBB-CCCC"));
        assert!(!html.contains("<lobby>"), "notes are escaped");
        // 1_800_000_000_000 ms is 2027-01-15 08:00 UTC: 16:00 in Beijing.
        assert!(html.contains("2027-01-15 16:00"), "{html}");
        assert!(!html.contains("UTC"));
        assert!(
            html.contains("RD-Guest") && html.contains("使用方法"),
            "{html}"
        );
        assert!(html.contains("2 小时"), "{html}");
        let en = print_sheet(
            &b,
            &["AAAA-BBBB-CCCC".into()],
            &Branding::builtin(),
            &SheetOptions {
                lang: Lang::En,
                time_zone: chrono_tz::UTC,
                ssid: None,
            },
        )
        .unwrap();
        assert!(
            en.contains("2027-01-15 08:00") && en.contains("How to use"),
            "{en}"
        );
        assert!(
            !en.contains("Wi-Fi network:"),
            "no SSID line without an SSID"
        );
    }
}

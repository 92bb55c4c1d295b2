//! Voucher codes and the printable sheet of a batch.

use askama::Template;
use rand::Rng;

use super::branding::Branding;
use super::i18n::Lang;
use super::pages::{format_duration, VoucherPrint};
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

/// The HTML print view of a batch (cards in a grid, one per code).
pub fn print_sheet(
    batch: &VoucherBatch,
    codes: &[String],
    branding: &Branding,
    lang: Lang,
) -> Result<String, askama::Error> {
    let t = branding.texts(lang);
    let duration = format_duration(batch.duration_s);
    let expires = chrono::DateTime::from_timestamp_millis(batch.expires_at)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let (heading, summary, card_note) = match lang {
        Lang::Zh => (
            format!("{}（批次 {}）", t.voucher_title, batch.id),
            format!(
                "{} 张，每张可用 {}，{} 台设备，{} 前有效。{}",
                codes.len(),
                duration,
                batch.devices,
                expires,
                batch.note
            ),
            format!("时长 {duration} · {expires} 前有效"),
        ),
        Lang::En => (
            format!("{} (batch {})", t.voucher_title, batch.id),
            format!(
                "{} codes, {} each, {} device(s), valid until {}. {}",
                codes.len(),
                duration,
                batch.devices,
                expires,
                batch.note
            ),
            format!("{duration} · valid until {expires}"),
        ),
    };
    VoucherPrint {
        lang: lang.tag(),
        site_name: &t.site_name,
        heading: &heading,
        summary: &summary,
        card_note: &card_note,
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
        let html = print_sheet(
            &b,
            &["AAAA-BBBB-CCCC".into()],
            &Branding::builtin(),
            Lang::Zh,
        )
        .unwrap();
        assert!(html.contains("AAAA-BBBB-CCCC"));
        assert!(!html.contains("<lobby>"), "notes are escaped");
    }
}

//! QR codes as inline SVG (numbers and fixed markup only, so the markup is
//! safe to place in a page as is).

/// The `<svg>` element for `text`, at least `size` pixels square; `None`
/// when the text is too long for a QR code.
pub fn svg(text: &str, size: u32) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let full = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(size, size)
        .build();
    full.find("<svg").map(|i| full[i..].to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_svg_element_without_the_xml_declaration() {
        let svg = super::svg("otpauth://totp/Portico:alice?secret=JBSWY3DPEHPK3PXP", 200).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml") && !svg.contains("style="));
        assert!(super::svg(&"x".repeat(10_000), 200).is_none());
    }
}

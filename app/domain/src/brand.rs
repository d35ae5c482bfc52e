//! The partner's brand: which logo files are accepted (SPEC §1, issue 16 item 9).

id_enum!(
    /// A logo's image format, stored as its media type. SVG is not one: it can carry
    /// scripts, and most e-mail programs do not show it.
    LogoFormat {
        Png = "image/png" / "PNG",
        Jpeg = "image/jpeg" / "JPEG",
    }
);

/// The largest logo accepted, in bytes (256 KB).
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// An uploaded logo's format, read from its content (never from its name or the type the
/// browser claims), or why it is refused: empty, over [`MAX_LOGO_BYTES`], SVG, or neither
/// a PNG (signature, then the `IHDR` header chunk) nor a JPEG (start-of-image, then a
/// marker). The message completes "logo …".
pub fn check_logo(bytes: &[u8]) -> Result<LogoFormat, String> {
    if bytes.is_empty() {
        return Err("is required: choose a PNG or JPEG file".into());
    }
    check_logo_size(bytes.len())?;
    if bytes.starts_with(PNG_SIGNATURE) && bytes.get(12..16) == Some(b"IHDR") {
        return Ok(LogoFormat::Png);
    }
    if bytes.len() > 3 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(LogoFormat::Jpeg);
    }
    if looks_like_svg(bytes) {
        return Err(
            "is an SVG image, which is not accepted (it can carry scripts, and most e-mail programs do not show it): save the logo as PNG or JPEG".into(),
        );
    }
    Err("is not a PNG or JPEG image (its content was checked, not its name)".into())
}

/// A logo of `len` bytes is not over [`MAX_LOGO_BYTES`] (an upload is measured as it
/// arrives, before it is held whole).
pub fn check_logo_size(len: usize) -> Result<(), String> {
    if len > MAX_LOGO_BYTES {
        Err(format!(
            "is {} KB; a logo may be at most {} KB",
            len.div_ceil(1024),
            MAX_LOGO_BYTES / 1024
        ))
    } else {
        Ok(())
    }
}

/// Text that opens with markup (after a BOM and blanks) and holds an `<svg` element.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    let head = &text[..text.len().min(4096)];
    start.is_some_and(|i| text[i] == b'<')
        && head.windows(4).any(|w| w.eq_ignore_ascii_case(b"<svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(len: usize) -> Vec<u8> {
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend_from_slice(b"\0\0\0\x0dIHDR");
        bytes.resize(len, 0);
        bytes
    }

    #[test]
    fn rule_a_logo_is_a_png_or_jpeg_of_at_most_256_kb_read_from_its_content() {
        assert_eq!(check_logo(&png(100)), Ok(LogoFormat::Png));
        assert_eq!(check_logo(&png(MAX_LOGO_BYTES)), Ok(LogoFormat::Png));
        assert_eq!(
            check_logo(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Ok(LogoFormat::Jpeg)
        );
        let too_big = check_logo(&png(MAX_LOGO_BYTES + 1)).unwrap_err();
        assert!(
            too_big.contains("257 KB") && too_big.contains("256 KB"),
            "{too_big}"
        );
        assert!(check_logo(b"").unwrap_err().contains("required"));
        // A PNG signature without its header chunk, a GIF, a text file named .png.
        for bad in [PNG_SIGNATURE, b"GIF89a\x01\0\x01\0", b"hello, world"] {
            assert!(
                check_logo(bad).unwrap_err().contains("not a PNG or JPEG"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rule_an_svg_logo_is_refused_because_it_can_carry_scripts() {
        for svg in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"[..],
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- logo -->\n<SVG></SVG>",
            b"  \n<!DOCTYPE svg><svg/>",
        ] {
            let message = check_logo(svg).unwrap_err();
            assert!(message.contains("SVG"), "{message}");
        }
        assert_eq!("image/png".parse::<LogoFormat>(), Ok(LogoFormat::Png));
        assert!("image/svg+xml".parse::<LogoFormat>().is_err());
    }
}

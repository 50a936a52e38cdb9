//! The text rules of dondoc: what a name, a title or a reason may contain, and how Vietnamese
//! text is compared.
//!
//! Vietnamese arrives composed or decomposed depending on the keyboard and operating system, so
//! every stored text is NFC. Control characters are refused: they are invisible on screen and in
//! print, PostgreSQL refuses NUL in a TEXT column (one such value once stopped a read model for
//! good), and no official document contains them. Multi-line fields (content, reasons) keep
//! line breaks and tabs; single-line fields (titles, names, numbers) keep neither.

use unicode_normalization::UnicodeNormalization;

/// Whether a field may span several lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Titles, names, numbers, symbols, identifiers.
    Single,
    /// Contents, reasons, narratives: `\n` and `\t` are kept; `\r\n` becomes `\n`.
    Multi,
}

/// What is wrong with a text, for a field violation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is required and must not be blank")]
    Blank,
    #[error("must be at most {max} characters (got {got})")]
    TooLong { max: usize, got: usize },
    #[error(
        "contains a control character (U+{code:04X}) at character {at}; only printable text is \
         accepted"
    )]
    ControlCharacter { code: u32, at: usize },
}

/// Trims and NFC-normalises `raw`, refusing control characters (see [`Lines`]).
pub fn clean(raw: &str, lines: Lines) -> Result<String, TextError> {
    let unified = match lines {
        Lines::Single => std::borrow::Cow::Borrowed(raw),
        Lines::Multi => std::borrow::Cow::Owned(raw.replace("\r\n", "\n")),
    };
    let text: String = unified.trim().nfc().collect();
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !(lines == Lines::Multi && matches!(c, '\n' | '\t')))
    {
        return Err(TextError::ControlCharacter {
            code: u32::from(c),
            at: at + 1,
        });
    }
    Ok(text)
}

/// Whether `raw` is a code as dondoc's directories write them (unit codes, ids chosen by
/// people): 1–64 ASCII letters, digits, `-` and `_`.
pub fn is_code(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An identifier a request names (a task's, a case's, a document's), trimmed: 1–128
/// characters, none of them a control character — no id contains one, and PostgreSQL cannot
/// even compare a text holding NUL. `None` when it is not one.
pub fn identifier(raw: &str) -> Option<&str> {
    let id = raw.trim();
    (!id.is_empty() && id.chars().count() <= 128 && !id.chars().any(char::is_control)).then_some(id)
}

/// A text that must be present and at most `max` characters long.
pub fn required(raw: &str, max: usize, lines: Lines) -> Result<String, TextError> {
    let text = clean(raw, lines)?;
    if text.is_empty() {
        return Err(TextError::Blank);
    }
    within(text, max)
}

/// A text that may be blank (→ `None`) and is otherwise at most `max` characters long.
pub fn optional(raw: &str, max: usize, lines: Lines) -> Result<Option<String>, TextError> {
    let text = clean(raw, lines)?;
    if text.is_empty() {
        return Ok(None);
    }
    within(text, max).map(Some)
}

fn within(text: String, max: usize) -> Result<String, TextError> {
    let got = text.chars().count();
    if got > max {
        return Err(TextError::TooLong { max, got });
    }
    Ok(text)
}

/// Compares two texts in Vietnamese alphabetical order — a, ă, â, b, c, d, đ, e, ê, …, with
/// tones deciding only between otherwise equal words — by the CLDR collation for Vietnamese
/// (ICU4X), not by byte order, which would put "Đồ Sơn" after "Yên". Every table of names in
/// every service sorts with it. (Should the collation data ever be missing, it falls back to
/// comparing folded texts, then the texts.)
pub fn vietnamese_order(a: &str, b: &str) -> std::cmp::Ordering {
    use icu_collator::options::CollatorOptions;
    use icu_collator::{Collator, CollatorBorrowed};
    use std::sync::OnceLock;
    static COLLATOR: OnceLock<Option<CollatorBorrowed<'static>>> = OnceLock::new();
    let collator = COLLATOR
        .get_or_init(|| {
            Collator::try_new(
                icu_locale_core::locale!("vi").into(),
                CollatorOptions::default(),
            )
            .ok()
        })
        .as_ref();
    match collator {
        Some(collator) => collator.compare(a, b),
        None => fold(a).cmp(&fold(b)).then_with(|| a.cmp(b)),
    }
}

/// Strips Vietnamese diacritics and lower-cases: "Phó Chủ tịch" → "pho chu tich", "Đồ Sơn" →
/// "do son". For matching what people type (search, legacy free text), never for storing.
///
/// Both tone-mark placements ("Thuỷ"/"Thủy", "Hoà"/"Hòa") fold to the same letters, because the
/// marks are removed whatever vowel carries them.
pub fn fold(raw: &str) -> String {
    raw.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// A stable ASCII slug of a name: "Nguyễn Văn A" → "nguyen-van-a".
pub fn slug(raw: &str) -> String {
    let folded = fold(raw);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_nfc_normalised() {
        let decomposed = "  Sở Kế hoạch  ".nfd().collect::<String>();

        let text = required(&decomposed, 100, Lines::Single).expect("valid");

        assert_eq!(text, "Sở Kế hoạch");
        assert_eq!(text.chars().count(), 11);
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        let twenty = "ệ".repeat(20);

        assert!(required(&twenty, 20, Lines::Single).is_ok());
        assert_eq!(
            required(&format!("{twenty}ệ"), 20, Lines::Single),
            Err(TextError::TooLong { max: 20, got: 21 })
        );
    }

    #[test]
    fn blank_required_text_is_refused_and_blank_optional_text_is_none() {
        assert_eq!(required("   ", 10, Lines::Single), Err(TextError::Blank));
        assert_eq!(optional("  ", 10, Lines::Single), Ok(None));
    }

    #[test]
    fn a_nul_character_is_refused_wherever_it_is() {
        assert_eq!(
            required("pct\u{0}tran", 100, Lines::Single),
            Err(TextError::ControlCharacter { code: 0, at: 4 })
        );
        assert!(required("a\u{0}", 100, Lines::Multi).is_err());
    }

    #[test]
    fn line_breaks_are_kept_only_in_multi_line_fields() {
        assert_eq!(
            required("Dòng 1\r\nDòng 2\tcột", 100, Lines::Multi),
            Ok("Dòng 1\nDòng 2\tcột".to_owned())
        );
        assert!(required("Dòng 1\nDòng 2", 100, Lines::Single).is_err());
        assert!(required("a\u{7}b", 100, Lines::Multi).is_err());
        assert!(required("a\u{1b}[31mb", 100, Lines::Multi).is_err());
    }

    #[test]
    fn folding_ignores_case_diacritics_and_tone_mark_placement() {
        assert_eq!(fold("Phó Chủ tịch"), "pho chu tich");
        assert_eq!(fold("Thuỷ Nguyên"), fold("Thủy Nguyên"));
        assert_eq!(fold("Hoà"), fold("Hòa"));
        assert_eq!(fold("ĐỒ SƠN"), "do son");
    }

    #[test]
    fn slugs_strip_diacritics_and_punctuation() {
        assert_eq!(slug("Nguyễn Văn Đức, "), "nguyen-van-duc");
    }
}

//! Finding and ordering units the way a Vietnamese clerk expects.
//!
//! Search ignores case, diacritics and old versus new tone-mark placement ("thuy nguyen",
//! "Thuỷ Nguyên" and "Thủy Nguyên" find the same ward). Lists sort in Vietnamese alphabetical
//! order — a, ă, â, b, c, d, đ, e, ê, …, with tones deciding only between otherwise equal
//! words — by the CLDR collation for Vietnamese (ICU4X's `icu_collator`), not by byte order,
//! which would put "Đồ Sơn" after "Yên".

use super::directory::Unit;

/// Vietnamese alphabetical order, shared by every service (`dondoc_contracts::text`).
pub use dondoc_contracts::text::vietnamese_order;

/// Sorts units by their Vietnamese name, in Vietnamese order (then by code).
pub fn sort_units(units: &mut [Unit]) {
    units
        .sort_by(|a, b| vietnamese_order(&a.name_vi, &b.name_vi).then_with(|| a.code.cmp(&b.code)));
}

/// Whether `unit` answers `query`: its code, or every word of the query found in its
/// Vietnamese or English name, ignoring case, diacritics and tone-mark placement.
pub fn unit_matches(unit: &Unit, query: &str) -> bool {
    let query = dondoc_contracts::text::fold(query);
    let words: Vec<&str> = query.split_whitespace().collect();
    if words.is_empty() {
        return true;
    }
    if words.len() == 1 && unit.code.as_str().eq_ignore_ascii_case(words[0]) {
        return true;
    }
    let haystack = format!(
        "{} {}",
        dondoc_contracts::text::fold(&unit.name_vi),
        dondoc_contracts::text::fold(&unit.name_en)
    );
    let names: Vec<&str> = haystack.split_whitespace().collect();
    words
        .iter()
        .all(|word| names.iter().any(|name| name.starts_with(word)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::directory::{Confidence, UnitKind};
    use crate::domain::values::UnitCode;

    fn unit(code: &str, name_vi: &str) -> Unit {
        Unit {
            code: UnitCode::parse(code).expect("code"),
            kind: UnitKind::Commune,
            name_vi: name_vi.into(),
            name_en: String::new(),
            head_title_vi: String::new(),
            confidence: Confidence::Known,
            email: None,
        }
    }

    #[test]
    fn vietnamese_letters_sort_in_alphabet_order_not_byte_order() {
        let mut names = vec![
            "Đồ Sơn",
            "Yên Hưng",
            "Dư Hàng",
            "Ân Thi",
            "An Lão",
            "Ăn Khê",
            "Bạch Đằng",
        ];

        names.sort_by(|a, b| vietnamese_order(a, b));

        assert_eq!(
            names,
            [
                "An Lão",
                "Ăn Khê",
                "Ân Thi",
                "Bạch Đằng",
                "Dư Hàng",
                "Đồ Sơn",
                "Yên Hưng"
            ]
        );
    }

    #[test]
    fn tones_decide_only_between_otherwise_equal_words() {
        let mut names = vec!["mai", "mạ", "má", "mã", "mả", "mà", "ma"];

        names.sort_by(|a, b| vietnamese_order(a, b));

        // Thanh ngang, huyền, hỏi, ngã, sắc, nặng; then the longer word.
        assert_eq!(names, ["ma", "mà", "mả", "mã", "má", "mạ", "mai"]);
    }

    #[test]
    fn a_search_ignores_case_diacritics_and_tone_mark_placement() {
        let ward = unit("11560", "Phường Thủy Nguyên");

        for query in ["thuy nguyen", "Thuỷ Nguyên", "THỦY NGUYÊN", "thuy", "11560"] {
            assert!(unit_matches(&ward, query), "{query}");
        }
        assert!(!unit_matches(&ward, "thuy son"));
    }
}

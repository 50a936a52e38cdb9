//! The free-text issuer of `dondoc.task.assigned` v1, read into a structured issuer.
//!
//! Before v2 the Office typed who issued a task ("PCT Nguyễn Văn A", "Chủ tịch UBND TP", "Thủ
//! tướng Chính phủ", with or without diacritics). The v1 → v2 upcaster reads such text into an
//! issuer kind and leader; what cannot be read with confidence stays `UNCLASSIFIED` with the
//! original text, because an archive keeps what was written rather than a guess.

use dondoc_proto::v1 as pb;
use unicode_normalization::UnicodeNormalization;

use crate::text::{fold, slug};

/// A title as folded tokens (see [`fold_token`]).
type Title = &'static [&'static str];

const VICE_CHAIRMAN_TITLES: &[Title] = &[&["pho", "chu", "tich"], &["pho", "ct"], &["pct"]];
const CHAIRMAN_TITLES: &[Title] = &[&["chu", "tich"], &["ct"]];
const PRIME_MINISTER_TITLES: &[Title] = &[&["thu", "tuong"], &["ttg"]];
const GOVERNMENT_TITLES: &[Title] = &[&["chinh", "phu"], &["cp"]];
const CITY_PC_TITLES: &[Title] = &[&["uy", "ban", "nhan", "dan"], &["ubnd"]];

/// Words that qualify a title ("UBND TP", "Chính phủ", "Thường trực") and honorifics ("đồng
/// chí"), dropped between the title and the name.
const QUALIFIERS: &[Title] = &[
    &["uy", "ban", "nhan", "dan"],
    &["ubnd"],
    &["thanh", "pho"],
    &["tp"],
    &["hai", "phong"],
    &["chinh", "phu"],
    &["thuong", "truc"],
    &["dong", "chi"],
    &["d/c"],
];

/// Folds one word for matching: no diacritics, lower case, letters/digits/'/' only.
fn fold_token(word: &str) -> String {
    fold(word)
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '/')
        .collect()
}

fn matches_at(folded: &[String], at: usize, title: Title) -> bool {
    folded.len() >= at + title.len()
        && title
            .iter()
            .enumerate()
            .all(|(i, word)| folded[at + i] == *word)
}

/// Skips qualifier words and bare punctuation from `at` on (forwards), returning the new index.
fn skip_qualifiers_forward(folded: &[String], mut at: usize) -> usize {
    'outer: while at < folded.len() {
        if folded[at].is_empty() {
            at += 1;
            continue;
        }
        for qualifier in QUALIFIERS {
            if matches_at(folded, at, qualifier) {
                at += qualifier.len();
                continue 'outer;
            }
        }
        break;
    }
    at
}

/// Skips qualifier words and bare punctuation before `end` (backwards), returning the new end.
fn skip_qualifiers_backward(folded: &[String], mut end: usize) -> usize {
    'outer: while end > 0 {
        if folded[end - 1].is_empty() {
            end -= 1;
            continue;
        }
        for qualifier in QUALIFIERS {
            if end >= qualifier.len() && matches_at(folded, end - qualifier.len(), qualifier) {
                end -= qualifier.len();
                continue 'outer;
            }
        }
        break;
    }
    end
}

/// The words of a name, with surrounding punctuation and leading honorifics removed.
fn name_of(words: &[&str], folded: &[String]) -> Option<String> {
    let start = skip_qualifiers_forward(folded, 0);
    let end = skip_qualifiers_backward(folded, folded.len()).max(start);
    let name = words[start..end].join(" ");
    let name = name.trim_matches(|c: char| !c.is_alphanumeric() && c != ')');
    (!name.is_empty()).then(|| name.to_owned())
}

/// Maps the free-text issuer of a v1 assignment ("PCT Nguyễn Văn A", "Chủ tịch UBND TP",
/// "Thủ tướng Chính phủ", "UBND thành phố", with or without diacritics) to a structured issuer.
/// Anything unrecognised stays [`pb::IssuerKind::Unclassified`] with the original text as
/// `leader_name`: an archive keeps what was written rather than a guess.
pub fn issuer_from_legacy_text(raw: &str) -> pb::Issuer {
    let original: String = raw.trim().nfc().collect();
    let words: Vec<&str> = original.split_whitespace().collect();
    let folded: Vec<String> = words.iter().map(|word| fold_token(word)).collect();
    let kinds: [(pb::IssuerKind, &[Title]); 5] = [
        (pb::IssuerKind::ViceChairman, VICE_CHAIRMAN_TITLES),
        (pb::IssuerKind::Chairman, CHAIRMAN_TITLES),
        (pb::IssuerKind::PrimeMinister, PRIME_MINISTER_TITLES),
        (pb::IssuerKind::Government, GOVERNMENT_TITLES),
        (pb::IssuerKind::CityPeoplesCommittee, CITY_PC_TITLES),
    ];
    let found = (0..folded.len()).find_map(|at| {
        kinds.iter().find_map(|(kind, titles)| {
            titles
                .iter()
                .find(|title| matches_at(&folded, at, title))
                .map(|title| (*kind, at, title.len()))
        })
    });
    let recognised = found.and_then(|(kind, at, len)| {
        let before = name_of(&words[..at], &folded[..at]);
        let after = name_of(&words[at + len..], &folded[at + len..]);
        let name = match (before, after) {
            (Some(_), Some(_)) => return None,
            (before, after) => before.or(after),
        };
        let is_person = matches!(
            kind,
            pb::IssuerKind::ViceChairman | pb::IssuerKind::Chairman | pb::IssuerKind::PrimeMinister
        );
        match (is_person, name) {
            (true, Some(name)) => Some(issuer(kind, &slug(&name), &name)),
            (true, None) if kind != pb::IssuerKind::ViceChairman => Some(issuer(kind, "", "")),
            (false, None) => Some(issuer(kind, "", "")),
            _ => None,
        }
    });
    recognised
        .filter(|found| {
            found.kind != pb::IssuerKind::ViceChairman as i32 || !found.leader_id.is_empty()
        })
        .unwrap_or_else(|| issuer(pb::IssuerKind::Unclassified, "", &original))
}

fn issuer(kind: pb::IssuerKind, leader_id: &str, leader_name: &str) -> pb::Issuer {
    pb::Issuer {
        kind: kind as i32,
        leader_id: leader_id.to_owned(),
        leader_name: leader_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(kind: pb::IssuerKind, name: Option<&str>) -> pb::Issuer {
        issuer(
            kind,
            &name.map(slug).unwrap_or_default(),
            name.unwrap_or_default(),
        )
    }

    #[test]
    fn vice_chairman_texts_name_the_vice_chairman() {
        let expected = expected(pb::IssuerKind::ViceChairman, Some("Nguyễn Văn A"));
        for text in [
            "PCT Nguyễn Văn A",
            "Phó Chủ tịch Nguyễn Văn A",
            "Phó Chủ tịch UBND TP Nguyễn Văn A",
            "Phó Chủ tịch UBND thành phố Nguyễn Văn A",
            "Phó CT Nguyễn Văn A",
            "PCT UBND TP, đ/c Nguyễn Văn A",
            "Đồng chí Nguyễn Văn A - Phó Chủ tịch UBND thành phố",
            "  pct   Nguyễn Văn A ",
        ] {
            assert_eq!(issuer_from_legacy_text(text), expected, "{text}");
        }
    }

    #[test]
    fn decomposed_and_unaccented_texts_are_recognised_too() {
        let decomposed: String =
            unicode_normalization::UnicodeNormalization::nfd("Phó Chủ tịch Lê Thị B").collect();

        assert_eq!(
            issuer_from_legacy_text(&decomposed),
            expected(pb::IssuerKind::ViceChairman, Some("Lê Thị B"))
        );
        assert_eq!(
            issuer_from_legacy_text("pho chu tich le thi b"),
            expected(pb::IssuerKind::ViceChairman, Some("le thi b"))
        );
    }

    #[test]
    fn chairman_texts_map_to_the_chairman() {
        for text in [
            "Chủ tịch UBND TP",
            "CT UBND TP",
            "Chủ tịch",
            "chu tich ubnd thanh pho",
        ] {
            assert_eq!(
                issuer_from_legacy_text(text),
                expected(pb::IssuerKind::Chairman, None),
                "{text}"
            );
        }
        assert_eq!(
            issuer_from_legacy_text("Chủ tịch UBND TP Trần Văn C"),
            expected(pb::IssuerKind::Chairman, Some("Trần Văn C"))
        );
    }

    #[test]
    fn central_issuers_are_recognised() {
        for text in ["Thủ tướng", "Thủ tướng Chính phủ", "TTg"] {
            assert_eq!(
                issuer_from_legacy_text(text),
                expected(pb::IssuerKind::PrimeMinister, None),
                "{text}"
            );
        }
        for text in ["Chính phủ", "CP"] {
            assert_eq!(
                issuer_from_legacy_text(text),
                expected(pb::IssuerKind::Government, None),
                "{text}"
            );
        }
    }

    #[test]
    fn city_peoples_committee_texts_map_to_the_committee() {
        for text in [
            "UBND TP",
            "UBND thành phố",
            "Ủy ban nhân dân thành phố",
            "Uỷ ban nhân dân thành phố Hải Phòng",
        ] {
            assert_eq!(
                issuer_from_legacy_text(text),
                expected(pb::IssuerKind::CityPeoplesCommittee, None),
                "{text}"
            );
        }
    }

    #[test]
    fn unrecognised_texts_stay_unclassified_with_the_original_text() {
        for text in ["Ban Chỉ đạo 389 thành phố", "PCT", "Văn phòng CP"] {
            assert_eq!(
                issuer_from_legacy_text(text),
                issuer(pb::IssuerKind::Unclassified, "", text),
                "{text}"
            );
        }
        assert_eq!(
            issuer_from_legacy_text(""),
            expected(pb::IssuerKind::Unclassified, None)
        );
    }
}

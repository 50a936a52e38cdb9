//! The language the CLI speaks: Vietnamese by default, English on request.
//!
//! The people reading dondoc's output are officials of the City People's Committee Office, so
//! labels, statuses, dates (dd/mm/yyyy) and times (Asia/Ho_Chi_Minh) are Vietnamese first;
//! `--lang en` serves developers and foreign reviewers. Each label lives in one function taking
//! the language, so a term is translated once and used the same everywhere. Machine output
//! (`--output json`) is never translated: scripts read the same keys and values in both.

use chrono::{DateTime, NaiveDate, Utc};
use clap::ValueEnum;
use dondoc_eventsourcing::clock::business_offset;
use dondoc_proto::v1 as pb;

/// Display language of the CLI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Tiếng Việt.
    #[default]
    Vi,
    /// English.
    En,
}

impl Lang {
    /// The text for this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// A calendar day: 31/12/2026 in Vietnamese (the form on every official document), ISO
    /// 2026-12-31 in English.
    pub fn date(self, date: NaiveDate) -> String {
        match self {
            Lang::Vi => date.format("%d/%m/%Y").to_string(),
            Lang::En => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// An ISO date from the API in this language's form; text that is not a date is shown as
    /// it came, and the empty string stays empty.
    pub fn iso_date(self, iso: &str) -> String {
        match iso.parse::<NaiveDate>() {
            Ok(date) => self.date(date),
            Err(_) => iso.to_owned(),
        }
    }

    /// A deadline, where the API's empty string means "no deadline".
    pub fn deadline(self, iso: &str) -> String {
        if iso.is_empty() {
            self.pick("không thời hạn", "none").to_owned()
        } else {
            self.iso_date(iso)
        }
    }

    /// An instant as the Office's wall clock shows it (Asia/Ho_Chi_Minh, UTC+7 all year).
    pub fn time(self, instant: DateTime<Utc>) -> String {
        let local = instant.with_timezone(&business_offset());
        match self {
            Lang::Vi => local.format("%H:%M %d/%m/%Y").to_string(),
            Lang::En => local.format("%Y-%m-%d %H:%M (UTC+7)").to_string(),
        }
    }

    /// A protobuf timestamp in the Office's time; empty when absent or out of range.
    pub fn timestamp(self, ts: Option<&dondoc_proto::Timestamp>) -> String {
        to_utc(ts).map(|t| self.time(t)).unwrap_or_default()
    }
}

/// A protobuf timestamp as a UTC instant, `None` when absent or out of range.
pub fn to_utc(ts: Option<&dondoc_proto::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    let nanos = u32::try_from(ts.nanos).ok()?;
    DateTime::from_timestamp(ts.seconds, nanos)
}

pub fn status(lang: Lang, status: pb::TaskStatus) -> &'static str {
    use pb::TaskStatus as S;
    match status {
        S::Assigned => lang.pick("Đã giao", "assigned"),
        S::InProgress => lang.pick("Đang thực hiện", "in progress"),
        S::AwaitingConfirmation => lang.pick("Chờ xác nhận", "awaiting confirmation"),
        S::Completed => lang.pick("Hoàn thành", "completed"),
        S::ReturnedForRework => lang.pick("Trả lại, thực hiện lại", "returned for rework"),
        S::Cancelled => lang.pick("Đã hủy", "cancelled"),
        S::Unspecified => lang.pick("(chưa rõ)", "(unspecified)"),
    }
}

pub fn priority(lang: Lang, priority: pb::Priority) -> &'static str {
    use pb::Priority as P;
    match priority {
        P::Normal => lang.pick("Thường", "normal"),
        P::Urgent => lang.pick("Khẩn", "urgent"),
        P::VeryUrgent => lang.pick("Thượng khẩn", "very urgent"),
        P::Flash => lang.pick("Hỏa tốc", "flash"),
        P::Unspecified => lang.pick("(chưa rõ)", "(unspecified)"),
    }
}

pub fn origin_kind(lang: Lang, kind: pb::OriginKind) -> &'static str {
    use pb::OriginKind as O;
    match kind {
        O::Government => lang.pick("Chính phủ", "the Government"),
        O::PrimeMinister => lang.pick("Thủ tướng Chính phủ", "the Prime Minister"),
        O::Ministry => lang.pick("Bộ, ngành Trung ương", "a ministry or central agency"),
        O::CityPartyCommittee => lang.pick("Thành ủy", "the City Party Committee"),
        O::CityPeoplesCouncil => lang.pick("HĐND thành phố", "the City People's Council"),
        O::CityPeoplesCommittee => lang.pick("UBND thành phố", "the City People's Committee"),
        O::Unclassified => lang.pick("Chưa phân loại", "unclassified"),
        O::Unspecified => lang.pick("(chưa rõ)", "(unspecified)"),
    }
}

pub fn assigner_kind(lang: Lang, kind: pb::AssignerKind) -> &'static str {
    use pb::AssignerKind as A;
    match kind {
        A::Chairman => lang.pick("Chủ tịch UBND thành phố", "the Chairman"),
        A::ViceChairman => lang.pick("Phó Chủ tịch UBND thành phố", "a Vice-Chairman"),
        A::CityPeoplesCommittee => lang.pick(
            "UBND thành phố (tập thể)",
            "the City People's Committee (collectively)",
        ),
        A::Unclassified => lang.pick("Chưa phân loại", "unclassified"),
        A::Unspecified => lang.pick("(chưa rõ)", "(unspecified)"),
    }
}

pub fn deadline_class(lang: Lang, class: pb::DeadlineClass) -> &'static str {
    use pb::DeadlineClass as D;
    match class {
        D::None => lang.pick("Không thời hạn", "no deadline"),
        D::InTerm => lang.pick("Trong hạn", "in term"),
        D::NearDue => lang.pick("Sắp đến hạn", "near due"),
        D::Overdue => lang.pick("Quá hạn", "overdue"),
        D::Closed => lang.pick("Đã kết thúc", "closed"),
        D::Unspecified => lang.pick("(chưa rõ)", "(unspecified)"),
    }
}

pub fn extension_state(lang: Lang, state: pb::ExtensionState) -> &'static str {
    use pb::ExtensionState as E;
    match state {
        E::Pending => lang.pick("Chờ quyết định", "pending"),
        E::Approved => lang.pick("Đã chấp thuận", "approved"),
        E::Rejected => lang.pick("Không chấp thuận", "rejected"),
        E::Unspecified => lang.pick("(chưa rõ)", "(unspecified)"),
    }
}

/// Unit kinds as the directory file spells them (`department`, `commune`, …).
pub fn unit_kind(lang: Lang, kind: &str) -> String {
    let label = match kind {
        "department" => lang.pick("Sở, ngành", "department"),
        "office" => lang.pick("Văn phòng", "office"),
        "inspectorate" => lang.pick("Thanh tra", "inspectorate"),
        "board" => lang.pick("Ban", "board"),
        "public_service_unit" => lang.pick("Đơn vị sự nghiệp", "public service unit"),
        "district" => lang.pick("Quận, huyện", "district"),
        "commune" => lang.pick("Xã, phường, đặc khu", "commune"),
        other => other,
    };
    label.to_owned()
}

/// Leader titles as the leader directory spells them.
pub fn leader_title(lang: Lang, title: &str) -> String {
    let label = match title {
        "chairman" => lang.pick("Chủ tịch", "Chairman"),
        "vice_chairman" => lang.pick("Phó Chủ tịch", "Vice-Chairman"),
        other => other,
    };
    label.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_dates_read_day_month_year() {
        let date: NaiveDate = "2026-03-05".parse().expect("date");

        assert_eq!(Lang::Vi.date(date), "05/03/2026");
        assert_eq!(Lang::En.date(date), "2026-03-05");
    }

    #[test]
    fn times_are_shown_on_the_hai_phong_clock() {
        // 17:30 UTC on 31 December is already 00:30 on 1 January in Hải Phòng.
        let instant = "2026-12-31T17:30:00Z"
            .parse::<DateTime<Utc>>()
            .expect("instant");

        assert_eq!(Lang::Vi.time(instant), "00:30 01/01/2027");
        assert_eq!(Lang::En.time(instant), "2027-01-01 00:30 (UTC+7)");
    }

    #[test]
    fn an_empty_deadline_reads_as_no_deadline() {
        assert_eq!(Lang::Vi.deadline(""), "không thời hạn");
        assert_eq!(Lang::En.deadline("2026-12-31"), "2026-12-31");
        assert_eq!(Lang::Vi.deadline("2026-12-31"), "31/12/2026");
    }

    #[test]
    fn every_status_has_a_vietnamese_label() {
        assert_eq!(
            status(Lang::Vi, pb::TaskStatus::InProgress),
            "Đang thực hiện"
        );
        assert_eq!(status(Lang::En, pb::TaskStatus::InProgress), "in progress");
        assert_eq!(
            deadline_class(Lang::Vi, pb::DeadlineClass::NearDue),
            "Sắp đến hạn"
        );
        assert_eq!(priority(Lang::Vi, pb::Priority::Flash), "Hỏa tốc");
    }
}

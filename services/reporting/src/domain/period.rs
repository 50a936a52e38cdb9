//! Reporting periods and their data cut-off windows (thời gian chốt số liệu), Decree
//! 09/2019/NĐ-CP Art. 12: a month runs from the 15th of the previous month to the 14th; a
//! quarter from the 15th of the month before it to the 14th of its last month (Q1: 15/12 of the
//! previous year → 14/3); the first half 15/12 → 14/6; the second half 15/6 → 14/12; nine
//! months 15/12 → 14/9 (a local add-on); the year 15/12 → 14/12. Dates are business dates in
//! Asia/Ho_Chi_Minh, both ends included.

use chrono::{Datelike, NaiveDate};

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodKind {
    /// Month 1–12.
    Month(u32),
    /// Quarter 1–4.
    Quarter(u32),
    FirstHalf,
    SecondHalf,
    NineMonths,
    Year,
    /// Any range, both ends included.
    Custom {
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// A window of business days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The 15th of the month before `month` of `year` (December of the previous year for
/// January).
fn start_before(year: i32, month: u32) -> Option<NaiveDate> {
    if month == 1 {
        ymd(year - 1, 12, 15)
    } else {
        ymd(year, month - 1, 15)
    }
}

impl PeriodKind {
    /// The window of this period in `year`; `None` for an index out of range.
    pub fn window(self, year: i32) -> Option<Window> {
        let (first_month, last_month) = match self {
            PeriodKind::Month(m) if (1..=12).contains(&m) => (m, m),
            PeriodKind::Quarter(q) if (1..=4).contains(&q) => (3 * q - 2, 3 * q),
            PeriodKind::FirstHalf => (1, 6),
            PeriodKind::SecondHalf => (7, 12),
            PeriodKind::NineMonths => (1, 9),
            PeriodKind::Year => (1, 12),
            PeriodKind::Custom { from, to } => {
                return (from <= to).then_some(Window { from, to });
            }
            _ => return None,
        };
        Some(Window {
            from: start_before(year, first_month)?,
            to: ymd(year, last_month, 14)?,
        })
    }

    /// The period before this one, with its year: the month or quarter before (across the
    /// year), the other half, the same stretch a year earlier.
    pub fn previous(self, year: i32) -> (PeriodKind, i32) {
        match self {
            PeriodKind::Month(1) => (PeriodKind::Month(12), year - 1),
            PeriodKind::Month(m) => (PeriodKind::Month(m - 1), year),
            PeriodKind::Quarter(1) => (PeriodKind::Quarter(4), year - 1),
            PeriodKind::Quarter(q) => (PeriodKind::Quarter(q - 1), year),
            PeriodKind::FirstHalf => (PeriodKind::SecondHalf, year - 1),
            PeriodKind::SecondHalf => (PeriodKind::FirstHalf, year),
            PeriodKind::NineMonths | PeriodKind::Year => (self, year - 1),
            PeriodKind::Custom { from, to } => {
                let days = (to - from).num_days() + 1;
                let before = from.pred_opt().unwrap_or(from);
                let start = before
                    .checked_sub_days(chrono::Days::new(u64::try_from(days - 1).unwrap_or(0)))
                    .unwrap_or(before);
                (
                    PeriodKind::Custom {
                        from: start,
                        to: before,
                    },
                    year,
                )
            }
        }
    }

    /// How the report names itself, in Vietnamese ("tháng 11 năm 2026").
    pub fn title_vi(self, year: i32) -> String {
        match self {
            PeriodKind::Month(m) => format!("tháng {m} năm {year}"),
            PeriodKind::Quarter(q) => format!("quý {} năm {year}", roman(q)),
            PeriodKind::FirstHalf => format!("6 tháng đầu năm {year}"),
            PeriodKind::SecondHalf => format!("6 tháng cuối năm {year}"),
            PeriodKind::NineMonths => format!("9 tháng năm {year}"),
            PeriodKind::Year => format!("năm {year}"),
            PeriodKind::Custom { from, to } => format!(
                "từ ngày {} đến ngày {}",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            ),
        }
    }
}

impl PeriodKind {
    /// The short label of this period on a chart's axis ("T11/2026", "Q3/2026").
    pub fn label(self, year: i32) -> String {
        match self {
            PeriodKind::Month(m) => format!("T{m}/{year}"),
            PeriodKind::Quarter(q) => format!("Q{q}/{year}"),
            PeriodKind::FirstHalf => format!("6T đầu {year}"),
            PeriodKind::SecondHalf => format!("6T cuối {year}"),
            PeriodKind::NineMonths => format!("9T {year}"),
            PeriodKind::Year => format!("{year}"),
            PeriodKind::Custom { from, to } => {
                format!("{}–{}", from.format("%d/%m"), to.format("%d/%m/%Y"))
            }
        }
    }

    /// The trend of a report: this period and the ones of the same kind before it, oldest
    /// first, labelled — six months or quarters, four halves or ranges, three years.
    pub fn trend(self, year: i32) -> Vec<(String, Window)> {
        let count = match self {
            PeriodKind::Month(_) | PeriodKind::Quarter(_) => 6,
            PeriodKind::FirstHalf | PeriodKind::SecondHalf | PeriodKind::Custom { .. } => 4,
            PeriodKind::NineMonths | PeriodKind::Year => 3,
        };
        let mut out = Vec::with_capacity(count);
        let (mut kind, mut y) = (self, year);
        for _ in 0..count {
            let Some(window) = kind.window(y) else { break };
            out.push((kind.label(y), window));
            (kind, y) = kind.previous(y);
        }
        out.reverse();
        out
    }
}

fn roman(q: u32) -> &'static str {
    match q {
        1 => "I",
        2 => "II",
        3 => "III",
        _ => "IV",
    }
}

/// Where "since the beginning of the year" (lũy kế từ đầu năm) starts for a report ending on
/// `to`: the start of the annual window that contains it (15 December of the year before).
pub fn year_start(to: NaiveDate) -> NaiveDate {
    let year = if to.month() == 12 && to.day() >= 15 {
        to.year() + 1
    } else {
        to.year()
    };
    start_before(year, 1).unwrap_or(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn w(kind: PeriodKind, year: i32) -> (NaiveDate, NaiveDate) {
        let w = kind.window(year).expect("a window");
        (w.from, w.to)
    }

    #[test]
    fn a_month_runs_from_the_15th_before_to_the_14th_across_the_year() {
        assert_eq!(
            w(PeriodKind::Month(11), 2026),
            (day(2026, 10, 15), day(2026, 11, 14))
        );
        assert_eq!(
            w(PeriodKind::Month(1), 2026),
            (day(2025, 12, 15), day(2026, 1, 14))
        );
        assert_eq!(
            w(PeriodKind::Month(12), 2026),
            (day(2026, 11, 15), day(2026, 12, 14))
        );
        assert_eq!(
            w(PeriodKind::Month(3), 2028),
            (day(2028, 2, 15), day(2028, 3, 14))
        );
        assert_eq!(PeriodKind::Month(13).window(2026), None);
        assert_eq!(PeriodKind::Month(0).window(2026), None);
    }

    #[test]
    fn quarters_halves_nine_months_and_the_year() {
        assert_eq!(
            w(PeriodKind::Quarter(1), 2026),
            (day(2025, 12, 15), day(2026, 3, 14))
        );
        assert_eq!(
            w(PeriodKind::Quarter(2), 2026),
            (day(2026, 3, 15), day(2026, 6, 14))
        );
        assert_eq!(
            w(PeriodKind::Quarter(3), 2026),
            (day(2026, 6, 15), day(2026, 9, 14))
        );
        assert_eq!(
            w(PeriodKind::Quarter(4), 2026),
            (day(2026, 9, 15), day(2026, 12, 14))
        );
        assert_eq!(PeriodKind::Quarter(5).window(2026), None);
        assert_eq!(
            w(PeriodKind::FirstHalf, 2026),
            (day(2025, 12, 15), day(2026, 6, 14))
        );
        assert_eq!(
            w(PeriodKind::SecondHalf, 2026),
            (day(2026, 6, 15), day(2026, 12, 14))
        );
        assert_eq!(
            w(PeriodKind::NineMonths, 2026),
            (day(2025, 12, 15), day(2026, 9, 14))
        );
        assert_eq!(
            w(PeriodKind::Year, 2026),
            (day(2025, 12, 15), day(2026, 12, 14))
        );
    }

    #[test]
    fn a_custom_range_keeps_its_ends_and_refuses_a_reversed_one() {
        let from = day(2026, 11, 1);
        let to = day(2026, 11, 30);
        assert_eq!(w(PeriodKind::Custom { from, to }, 2026), (from, to));
        assert_eq!(PeriodKind::Custom { from: to, to: from }.window(2026), None);
    }

    #[test]
    fn the_previous_period_crosses_the_year_where_it_must() {
        assert_eq!(
            PeriodKind::Month(1).previous(2026),
            (PeriodKind::Month(12), 2025)
        );
        assert_eq!(
            PeriodKind::Quarter(1).previous(2026),
            (PeriodKind::Quarter(4), 2025)
        );
        assert_eq!(
            PeriodKind::FirstHalf.previous(2026),
            (PeriodKind::SecondHalf, 2025)
        );
        assert_eq!(PeriodKind::Year.previous(2026), (PeriodKind::Year, 2025));
        let (previous, _) = PeriodKind::Custom {
            from: day(2026, 11, 1),
            to: day(2026, 11, 30),
        }
        .previous(2026);
        assert_eq!(
            previous,
            PeriodKind::Custom {
                from: day(2026, 10, 2),
                to: day(2026, 10, 31)
            }
        );
    }

    #[test]
    fn the_year_to_date_starts_on_the_15th_of_december_before() {
        assert_eq!(year_start(day(2026, 11, 14)), day(2025, 12, 15));
        assert_eq!(year_start(day(2026, 12, 14)), day(2025, 12, 15));
        assert_eq!(year_start(day(2026, 12, 15)), day(2026, 12, 15));
        assert_eq!(year_start(day(2027, 1, 14)), day(2026, 12, 15));
    }

    #[test]
    fn titles_read_as_the_office_writes_them() {
        assert_eq!(PeriodKind::Month(11).title_vi(2026), "tháng 11 năm 2026");
        assert_eq!(PeriodKind::Quarter(3).title_vi(2026), "quý III năm 2026");
        assert_eq!(PeriodKind::NineMonths.title_vi(2026), "9 tháng năm 2026");
    }

    #[test]
    fn the_trend_of_a_month_is_the_six_months_to_it_across_the_year() {
        let trend = PeriodKind::Month(2).trend(2026);

        let labels: Vec<&str> = trend.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "T9/2025", "T10/2025", "T11/2025", "T12/2025", "T1/2026", "T2/2026"
            ]
        );
        assert_eq!(
            trend[0].1,
            Window {
                from: day(2025, 8, 15),
                to: day(2025, 9, 14)
            }
        );
        assert_eq!(trend[5].1.to, day(2026, 2, 14));
    }

    #[test]
    fn the_trend_of_a_half_alternates_halves_and_a_year_goes_back_years() {
        let halves: Vec<String> = PeriodKind::FirstHalf
            .trend(2026)
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(
            halves,
            ["6T cuối 2024", "6T đầu 2025", "6T cuối 2025", "6T đầu 2026"]
        );
        let years: Vec<String> = PeriodKind::Year
            .trend(2026)
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(years, ["2024", "2025", "2026"]);
    }
}

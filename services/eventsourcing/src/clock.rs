//! Injectable time and the business-date rule.
//!
//! Deadlines, overdue reports and "assigned today" views all depend on the current date, and the
//! date that matters is the one on the wall of the City People's Committee Office in Hải Phòng
//! (time zone Asia/Ho_Chi_Minh, UTC+7, which covers all of Vietnam), not the server's UTC date:
//! between 00:00 and 07:00 local time the two differ by a day. Every part of dondoc therefore
//! asks a [`Clock`] for the time instead of calling `Utc::now()` directly, which also lets tests
//! pin or advance time deterministically with [`ManualClock`] instead of sleeping.
//!
//! The trait lives in the event-sourcing core because the core needs time of its own (the
//! relay's lease, the writer's `recorded_at`); `dondoc_runtime::clock` re-exports it together
//! with the working-day calendar, so services see one clock.
//!
//! Vietnam has observed UTC+7 without daylight saving since 1975, so a fixed offset is exact and
//! spares the workspace a time-zone database dependency.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};

/// Seconds east of UTC for Asia/Ho_Chi_Minh.
const BUSINESS_OFFSET_SECONDS: i32 = 7 * 3600;

/// Local hour used by [`ManualClock::on_business_date`]: a normal office hour, far from midnight,
/// so tests that only care about the date do not trip over day boundaries when they advance time
/// by a few hours.
const OFFICE_HOUR: u32 = 9;

/// The business time zone: Asia/Ho_Chi_Minh, a fixed UTC+7 with no daylight saving.
pub fn business_offset() -> FixedOffset {
    FixedOffset::east_opt(BUSINESS_OFFSET_SECONDS).expect("UTC+7 is within the ±24h offset range")
}

/// The calendar date in Vietnam (Asia/Ho_Chi_Minh) at instant `t`.
pub fn business_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&business_offset()).date_naive()
}

/// A source of the current instant.
///
/// Implementations must be cheap to call: services call `now()` once per command.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The business (Asia/Ho_Chi_Minh) date of [`Clock::now`].
    fn today(&self) -> NaiveDate {
        business_date(self.now())
    }
}

/// A clock shared between the components of one service.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    /// A [`SharedClock`] backed by the wall clock, the usual choice in `main`.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to, for deterministic tests.
///
/// It uses interior mutability so one `Arc<ManualClock>` can be handed to the code under test
/// (as a [`SharedClock`]) while the test keeps another handle to move time.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock stopped at `t`.
    pub fn at(t: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(t) }
    }

    /// A clock stopped at 09:00 Vietnam time (Asia/Ho_Chi_Minh) on `date`.
    pub fn on_business_date(date: NaiveDate) -> Self {
        let office_hour =
            NaiveTime::from_hms_opt(OFFICE_HOUR, 0, 0).expect("09:00:00 is a valid time of day");
        let local = date.and_time(office_hour);
        let utc = local - chrono::Duration::seconds(i64::from(BUSINESS_OFFSET_SECONDS));
        Self::at(utc.and_utc())
    }

    /// Moves the clock to `t` (backwards is allowed: tests of clock skew need it).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.lock() = t;
    }

    /// Moves the clock by `by` (negative durations move it back).
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding this lock cannot leave the timestamp half-written, so a poisoned
        // lock still holds a valid value and there is no reason to propagate the poison.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn business_date_rolls_over_at_local_midnight_not_utc_midnight() {
        // Arrange: 17:30 UTC on 1 March is 00:30 on 2 March in Ho Chi Minh City.
        let late_utc = Utc
            .with_ymd_and_hms(2025, 3, 1, 17, 30, 0)
            .single()
            .expect("valid instant");

        // Act
        let local_date = business_date(late_utc);

        // Assert
        assert_eq!(local_date, date(2025, 3, 2));
    }

    #[test]
    fn business_date_stays_on_the_same_day_just_before_local_midnight() {
        let before_midnight = Utc
            .with_ymd_and_hms(2025, 3, 1, 16, 59, 59)
            .single()
            .expect("valid instant");

        assert_eq!(business_date(before_midnight), date(2025, 3, 1));
    }

    #[test]
    fn business_offset_is_seven_hours_east() {
        assert_eq!(business_offset().local_minus_utc(), 7 * 3600);
    }

    #[test]
    fn manual_clock_on_business_date_reads_nine_o_clock_local_that_day() {
        let clock = ManualClock::on_business_date(date(2025, 1, 15));

        let local = clock.now().with_timezone(&business_offset());

        assert_eq!(clock.today(), date(2025, 1, 15));
        assert_eq!(
            local.time(),
            NaiveTime::from_hms_opt(9, 0, 0).expect("valid time")
        );
    }

    #[test]
    fn manual_clock_advance_moves_today_across_local_midnight() {
        let clock = ManualClock::on_business_date(date(2025, 12, 31));

        clock.advance(chrono::Duration::hours(15));

        assert_eq!(clock.today(), date(2026, 1, 1));
    }

    #[test]
    fn manual_clock_set_is_visible_through_a_shared_handle() {
        let manual = Arc::new(ManualClock::on_business_date(date(2025, 6, 1)));
        let shared: SharedClock = manual.clone();
        let target = Utc
            .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .expect("valid instant");

        manual.set(target);

        assert_eq!(shared.now(), target);
    }

    #[test]
    fn system_clock_is_close_to_utc_now() {
        let before = Utc::now();

        let now = SystemClock.now();

        assert!(now >= before);
        assert!(now - before < chrono::Duration::seconds(5));
    }
}

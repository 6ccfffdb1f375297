//! Calendar periods in the center's time zone: the current interval, the day, report rows.
//!
//! Contact centers plan and report in local wall-clock periods (the 09:30 interval, "today"),
//! so period boundaries follow the configured IANA zone, DST included: a spring-forward day
//! is 23 h long, a fall-back day 25 h, and on that day the 01:00-02:00 hour (Europe) happens
//! twice, as two distinct periods.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use callpulse_events::Ts;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use thiserror::Error;

const DAY_SECS: u32 = 24 * 3600;

/// A period length or zone that cannot align to local days.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("unknown IANA time zone {0:?}")]
    Zone(String),
    #[error("a period must divide a day evenly (or be exactly one day); got {0} s")]
    Period(u32),
}

/// The center's zone and the arithmetic of local periods. Serialized as the zone's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Calendar {
    tz: Tz,
}

impl From<Calendar> for String {
    fn from(calendar: Calendar) -> String {
        calendar.tz.name().to_owned()
    }
}

impl TryFrom<String> for Calendar {
    type Error = CalendarError;

    fn try_from(name: String) -> Result<Self, CalendarError> {
        Calendar::new(&name)
    }
}

impl Calendar {
    /// The calendar of the IANA zone `name` (e.g. `Europe/Berlin`, `UTC`).
    ///
    /// # Errors
    /// [`CalendarError::Zone`] for a name the tz database does not know.
    pub fn new(name: &str) -> Result<Self, CalendarError> {
        Tz::from_str(name)
            .map(|tz| Calendar { tz })
            .map_err(|_| CalendarError::Zone(name.to_owned()))
    }

    /// UTC, which needs no lookup.
    pub const fn utc() -> Self {
        Calendar { tz: Tz::UTC }
    }

    /// The zone, for readers of local times (a PBX log's local date-times).
    pub const fn zone(&self) -> Tz {
        self.tz
    }

    /// Checks that `len_secs` can be a period: it divides 24 h, or is 24 h.
    ///
    /// # Errors
    /// [`CalendarError::Period`] otherwise.
    pub fn check_period(len_secs: u32) -> Result<(), CalendarError> {
        if len_secs == 0 || !DAY_SECS.is_multiple_of(len_secs) {
            return Err(CalendarError::Period(len_secs));
        }
        Ok(())
    }

    fn local(&self, ts: Ts) -> DateTime<Tz> {
        // Decoded events carry representable times; anything else reads as the epoch.
        let utc = ts.to_datetime().unwrap_or(DateTime::UNIX_EPOCH);
        self.tz.from_utc_datetime(&utc.naive_utc())
    }

    /// Start of the `len_secs` period holding `ts` (`len_secs` passed [`Self::check_period`]).
    ///
    /// A day starts at local midnight (or, where midnight is skipped by DST, at the first
    /// local time that exists). Shorter periods are aligned to the local wall clock at the
    /// UTC offset in force at `ts`: DST moves clocks by whole hours (or half hours), which
    /// every such period divides, so the start never precedes a change it should not.
    pub fn period_start(&self, ts: Ts, len_secs: u32) -> Ts {
        let local = self.local(ts);
        if len_secs >= DAY_SECS {
            return self.day_start(local.date_naive());
        }
        let secs = local.num_seconds_from_midnight();
        let into = i64::from(secs % len_secs) * 1000 + i64::from(local.nanosecond() / 1_000_000);
        Ts(ts.millis() - into)
    }

    /// Start of the period after the one starting at `start`.
    pub fn next_period_start(&self, start: Ts, len_secs: u32) -> Ts {
        // A local day lasts 23 to 25 h: two hours past a nominal day always lands inside the
        // next one.
        let slack = if len_secs >= DAY_SECS { 2 * 3600 } else { 0 };
        self.period_start(
            Ts(start.millis() + (i64::from(len_secs) + slack) * 1000),
            len_secs,
        )
    }

    fn day_start(&self, date: chrono::NaiveDate) -> Ts {
        let mut at = date.and_time(NaiveTime::MIN);
        // Midnight can fall in a DST gap (some zones switch at 00:00): take the first local
        // time that exists.
        for _ in 0..=4 * 24 {
            if let Some(start) = self.tz.from_local_datetime(&at).earliest() {
                return Ts(start.timestamp_millis());
            }
            at += Duration::minutes(15);
        }
        Ts(date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
    }

    /// The `len_secs` intervals (`len_secs` passed [`Self::check_period`], under a day) of
    /// the local day holding `ts`, each with its index by the local clock from midnight
    /// (where DST repeats an hour, two intervals share an index; where it skips one, an
    /// index is missing), as the interval reports and the reforecast number them.
    pub fn day_intervals(&self, ts: Ts, len_secs: u32) -> Vec<DayInterval> {
        let day_start = self.period_start(ts, DAY_SECS);
        let day_end = self.next_period_start(day_start, DAY_SECS);
        let mut out = Vec::with_capacity((DAY_SECS / len_secs) as usize + 2);
        let mut start = day_start;
        while start < day_end {
            let end = self.next_period_start(start, len_secs).min(day_end);
            if end <= start {
                break;
            }
            let secs = self.local(start).num_seconds_from_midnight();
            out.push(DayInterval {
                start: start.millis(),
                end: end.millis(),
                slot: (secs / len_secs) as usize,
            });
            start = end;
        }
        out
    }

    /// The local weekday of `ts` (0 Monday .. 6 Sunday) and its minute of the day.
    pub fn weekday_minute(&self, ts: Ts) -> (u8, u16) {
        use chrono::Datelike;
        let local = self.local(ts);
        let weekday = local.weekday().num_days_from_monday() as u8;
        let minute = (local.num_seconds_from_midnight() / 60) as u16;
        (weekday, minute)
    }

    /// `ts` as RFC 3339 with the zone's offset at that instant (`2026-03-29T03:00:00+02:00`).
    pub fn rfc3339(&self, ts: Ts) -> String {
        self.local(ts)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    }
}

/// One interval of a local day ([`Calendar::day_intervals`]): `[start, end)` in ms, and its
/// index by the local clock from midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayInterval {
    pub start: i64,
    pub end: i64,
    pub slot: usize,
}

/// One calendar period of fixed nominal length (an interval, a day), remembered: asking
/// again about a time within it costs a comparison, not a time-zone conversion (which is
/// what per-event callers need).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct PeriodCache {
    calendar: Calendar,
    len_secs: u32,
    start: Ts,
    end: Ts,
}

impl PeriodCache {
    /// No period yet: the first time asked about starts one.
    pub(crate) fn new(calendar: Calendar, len_secs: u32) -> Self {
        PeriodCache {
            calendar,
            len_secs,
            start: Ts(i64::MAX),
            end: Ts(i64::MIN),
        }
    }

    /// A cache of local days.
    pub(crate) fn days(calendar: Calendar) -> Self {
        PeriodCache::new(calendar, DAY_SECS)
    }

    /// Start of the period holding `ts`, which becomes the remembered one.
    pub(crate) fn start_of(&mut self, ts: Ts) -> Ts {
        if ts < self.start || ts >= self.end {
            self.start = self.calendar.period_start(ts, self.len_secs);
            self.end = self.calendar.next_period_start(self.start, self.len_secs);
        }
        self.start
    }

    /// Start and end of the remembered period (`MAX`, `MIN` before the first).
    pub(crate) fn bounds(&self) -> (Ts, Ts) {
        (self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Ts {
        Ts::from_datetime(DateTime::parse_from_rfc3339(s).expect("time").to_utc())
    }

    #[test]
    fn the_day_cache_agrees_with_the_calendar() {
        let cal = Calendar::new("Europe/Berlin").expect("zone");
        let mut cache = PeriodCache::days(cal);
        for ts in [
            at("2026-10-25T12:00:00Z"),
            at("2026-10-25T22:59:59Z"),
            at("2026-10-25T23:00:00Z"),
            at("2026-10-24T21:59:59Z"),
            at("2026-10-24T22:00:00Z"),
        ] {
            assert_eq!(cache.start_of(ts), cal.period_start(ts, DAY_SECS), "{ts:?}");
        }
    }

    #[test]
    fn unknown_zone_and_bad_periods_are_refused() {
        assert!(Calendar::new("Mars/Olympus").is_err());
        assert!(Calendar::check_period(7 * 60).is_err());
        assert!(Calendar::check_period(0).is_err());
        for ok in [900, 1800, 3600, 86_400] {
            Calendar::check_period(ok).expect("divides a day");
        }
    }

    #[test]
    fn periods_align_to_local_wall_clock() {
        let cal = Calendar::new("America/New_York").expect("zone");
        let ts = at("2026-06-10T14:47:12.345Z"); // 10:47:12 EDT
        assert_eq!(cal.period_start(ts, 1800), at("2026-06-10T14:30:00Z"));
        assert_eq!(cal.period_start(ts, 86_400), at("2026-06-10T04:00:00Z"));
        assert_eq!(
            cal.rfc3339(at("2026-06-10T04:00:00Z")),
            "2026-06-10T00:00:00-04:00"
        );
        // Calendar::new("Asia/Kolkata"): a half-hour offset still aligns 15-minute periods.
        let india = Calendar::new("Asia/Kolkata").expect("zone");
        assert_eq!(
            india.period_start(at("2026-06-10T10:10:00Z"), 900),
            at("2026-06-10T10:00:00Z") // 15:30 IST
        );
        assert_eq!(
            india.period_start(at("2026-06-10T10:10:00Z"), 3600),
            at("2026-06-10T09:30:00Z") // 15:00 IST
        );
    }

    #[test]
    fn spring_forward_day_is_23_hours() {
        let cal = Calendar::new("Europe/Berlin").expect("zone");
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        let day = cal.period_start(at("2026-03-29T12:00:00Z"), 86_400);
        assert_eq!(day, at("2026-03-28T23:00:00Z"));
        let next = cal.next_period_start(day, 86_400);
        assert_eq!(next, at("2026-03-29T22:00:00Z"));
        assert_eq!(next.millis() - day.millis(), 23 * 3600 * 1000);
        // The hour after 01:00 CET is 03:00 CEST: 02:xx does not exist.
        let one = cal.period_start(at("2026-03-29T00:59:00Z"), 3600);
        assert_eq!(cal.rfc3339(one), "2026-03-29T01:00:00+01:00");
        assert_eq!(
            cal.rfc3339(cal.next_period_start(one, 3600)),
            "2026-03-29T03:00:00+02:00"
        );
    }

    #[test]
    fn fall_back_day_is_25_hours_with_two_distinct_2am_hours() {
        let cal = Calendar::new("Europe/Berlin").expect("zone");
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET.
        let day = cal.period_start(at("2026-10-25T12:00:00Z"), 86_400);
        let next = cal.next_period_start(day, 86_400);
        assert_eq!(next.millis() - day.millis(), 25 * 3600 * 1000);
        let first = cal.period_start(at("2026-10-25T00:30:00Z"), 3600); // 02:30 CEST
        let second = cal.period_start(at("2026-10-25T01:30:00Z"), 3600); // 02:30 CET
        assert_eq!(cal.rfc3339(first), "2026-10-25T02:00:00+02:00");
        assert_eq!(cal.rfc3339(second), "2026-10-25T02:00:00+01:00");
        assert_eq!(second.millis() - first.millis(), 3600 * 1000);
        assert_eq!(cal.next_period_start(first, 3600), second);
        // Hours across the whole day: 25 distinct periods.
        let mut starts = vec![day];
        while let Some(&last) = starts.last() {
            let n = cal.next_period_start(last, 3600);
            if n >= next {
                break;
            }
            starts.push(n);
        }
        assert_eq!(starts.len(), 25);
    }

    #[test]
    fn midnight_in_a_dst_gap_starts_the_day_at_the_first_real_time() {
        // America/Santiago springs forward at 24:00 -> 01:00 (2026-09-06).
        let cal = Calendar::new("America/Santiago").expect("zone");
        let day = cal.period_start(at("2026-09-06T15:00:00Z"), 86_400);
        assert_eq!(cal.rfc3339(day), "2026-09-06T01:00:00-03:00");
    }
}

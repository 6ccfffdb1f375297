//! A queue's opening hours, in the center's time zone: business alerts and the feed's alert
//! events are gated by them, so a center that closes at night is not paged at night.
//!
//! Written as entries `DAYS HH:MM-HH:MM`, where DAYS is `daily`, a day (`mon`), a range
//! (`mon-fri`) or a comma list of those (`mon,wed,fri-sun`); `24:00` ends a day. A span
//! past midnight is two entries (`fri 22:00-24:00`, `sat 00:00-02:00`). No entry: always
//! open.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::calendar::Calendar;
use callpulse_events::Ts;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An entry that cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "opening hours entry {entry:?}: {reason} (expected e.g. \"mon-fri 08:00-18:00\" or \"daily 00:00-24:00\")"
)]
pub struct HoursError {
    pub entry: String,
    pub reason: String,
}

/// One entry: the days it holds on (bit 0 Monday) and its minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    days: u8,
    from: u16,
    to: u16,
}

/// Opening hours as configured (the entries) and as parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct OpeningHours {
    entries: Vec<String>,
    spans: Vec<Span>,
}

impl From<OpeningHours> for Vec<String> {
    fn from(hours: OpeningHours) -> Vec<String> {
        hours.entries
    }
}

impl TryFrom<Vec<String>> for OpeningHours {
    type Error = HoursError;

    fn try_from(entries: Vec<String>) -> Result<Self, HoursError> {
        let spans = entries
            .iter()
            .map(|e| parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OpeningHours { entries, spans })
    }
}

fn parse(entry: &str) -> Result<Span, HoursError> {
    let fail = |reason: &str| HoursError {
        entry: entry.to_owned(),
        reason: reason.to_owned(),
    };
    let mut words = entry.split_whitespace();
    let (Some(days), Some(times), None) = (words.next(), words.next(), words.next()) else {
        return Err(fail("two parts, days and times, separated by a space"));
    };
    let day = |name: &str| {
        DAYS.iter()
            .position(|d| name.eq_ignore_ascii_case(d))
            .ok_or_else(|| {
                fail(&format!(
                    "unknown day {name:?}; days are {}",
                    DAYS.join(" ")
                ))
            })
    };
    let mut mask = 0u8;
    for part in days.split(',') {
        if part.eq_ignore_ascii_case("daily") {
            mask = 0x7f;
        } else if let Some((a, b)) = part.split_once('-') {
            let (a, b) = (day(a)?, day(b)?);
            if a > b {
                return Err(fail("a day range runs from Monday towards Sunday"));
            }
            for d in a..=b {
                mask |= 1 << d;
            }
        } else {
            mask |= 1 << day(part)?;
        }
    }
    let minute = |t: &str| -> Result<u16, HoursError> {
        let (h, m) = t.split_once(':').ok_or_else(|| fail("times are HH:MM"))?;
        let (h, m): (u16, u16) = (
            h.parse().map_err(|_| fail("times are HH:MM"))?,
            m.parse().map_err(|_| fail("times are HH:MM"))?,
        );
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(fail("a time is 00:00 to 24:00"));
        }
        Ok(h * 60 + m)
    };
    let (from, to) = times
        .split_once('-')
        .ok_or_else(|| fail("times are HH:MM-HH:MM"))?;
    let (from, to) = (minute(from)?, minute(to)?);
    if from >= to {
        return Err(fail(
            "the end must follow the start (past midnight, write two entries)",
        ));
    }
    Ok(Span {
        days: mask,
        from,
        to,
    })
}

impl OpeningHours {
    /// Whether the queue is open at `at` in `calendar`'s zone (always, without entries).
    pub fn is_open(&self, calendar: &Calendar, at: Ts) -> bool {
        if self.spans.is_empty() {
            return true;
        }
        let (weekday, minute) = calendar.weekday_minute(at);
        self.spans
            .iter()
            .any(|s| s.days & (1 << weekday) != 0 && (s.from..s.to).contains(&minute))
    }

    /// Whether hours are configured.
    pub fn is_set(&self) -> bool {
        !self.spans.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(entries: &[&str]) -> OpeningHours {
        OpeningHours::try_from(entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
            .expect("valid")
    }

    /// `2026-11-30` is a Monday.
    fn at(zone: &Calendar, local: &str) -> Ts {
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").expect("time");
        let tz: chrono_tz::Tz = String::from(*zone).parse().expect("zone");
        use chrono::TimeZone;
        Ts(tz
            .from_local_datetime(&naive)
            .earliest()
            .expect("exists")
            .timestamp_millis())
    }

    #[test]
    fn open_in_the_center_zone_and_closed_outside() {
        let berlin = Calendar::new("Europe/Berlin").expect("zone");
        let h = hours(&["mon-fri 08:00-18:00", "sat 09:00-13:00"]);
        assert!(h.is_open(&berlin, at(&berlin, "2026-11-30 08:00")));
        assert!(h.is_open(&berlin, at(&berlin, "2026-11-30 17:59")));
        assert!(!h.is_open(&berlin, at(&berlin, "2026-11-30 18:00")));
        assert!(!h.is_open(&berlin, at(&berlin, "2026-11-30 07:59")));
        assert!(
            h.is_open(&berlin, at(&berlin, "2026-12-05 12:00")),
            "Saturday"
        );
        assert!(
            !h.is_open(&berlin, at(&berlin, "2026-12-06 12:00")),
            "Sunday"
        );
        // 08:00 in Berlin is 07:00 UTC: judged in the center's zone, not UTC's.
        let utc = Calendar::utc();
        assert!(!h.is_open(&utc, at(&berlin, "2026-11-30 08:30")));
        assert!(OpeningHours::default().is_open(&utc, Ts(0)));
        let all = hours(&["daily 00:00-24:00", "mon,wed 10:00-12:00"]);
        assert!(all.is_open(&berlin, at(&berlin, "2026-12-06 23:59")));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (entry, says) in [
            ("mon-fri", "two parts"),
            ("mo 08:00-18:00", "unknown day"),
            ("fri-mon 08:00-18:00", "Monday towards Sunday"),
            ("mon 8-18", "HH:MM"),
            ("mon 08:00-25:00", "00:00 to 24:00"),
            ("mon 22:00-02:00", "two entries"),
        ] {
            let error = OpeningHours::try_from(vec![entry.to_owned()]).expect_err(entry);
            assert!(error.to_string().contains(says), "{entry}: {error}");
        }
    }
}

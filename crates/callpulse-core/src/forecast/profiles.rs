//! Profiles as a file: what `callpulse forecast --profile-out` learns from history and the
//! engine loads (`[forecast] profile`) to reforecast each queue's day live.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Day, Method, Profile};

/// The file format this build writes and reads.
pub const PROFILE_VERSION: u32 = 1;

/// Weekday names, Monday first: the index of [`ProfileSet::queues`]' arrays.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Each queue's profile per weekday, learned from a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSet {
    pub version: u32,
    /// The IANA zone the days and intervals are local to.
    pub timezone: String,
    pub interval_secs: u32,
    /// The last day of the history learned from: the profiles forecast the days after it.
    pub learned_to: NaiveDate,
    /// The method the profiles were learned with and the engine scales them by.
    pub method: Method,
    /// Per queue, a profile per weekday (Monday first; `null` where the history had no
    /// usable day).
    pub queues: BTreeMap<String, [Option<Profile>; 7]>,
}

/// Why a profile file is refused.
#[derive(Debug, Error, PartialEq)]
pub enum ProfileError {
    #[error("profile format version {0}; this build reads version {PROFILE_VERSION}")]
    Version(u32),
    #[error("interval_secs {0} must divide a day and be shorter than it")]
    Interval(u32),
    #[error(
        "queue {queue:?}, {weekday}: {found} intervals, a day of {interval_secs} s has {expected}"
    )]
    Shape {
        queue: String,
        weekday: &'static str,
        found: usize,
        expected: usize,
        interval_secs: u32,
    },
    #[error("queue {queue:?}, {weekday}: a negative or non-finite figure")]
    Value {
        queue: String,
        weekday: &'static str,
    },
    #[error("method: weeks must be at least 1, damping and aht_damping_calls finite and >= 0")]
    Method,
    #[error(
        "the profile is for time zone {profile:?} and {profile_secs} s intervals; the engine \
         runs {engine:?} and {engine_secs} s (metrics.timezone, metrics.interval_mins)"
    )]
    Mismatch {
        profile: String,
        profile_secs: u32,
        engine: String,
        engine_secs: u32,
    },
}

/// The same weekday's days before `day` in `history`, newest first: the last `weeks` of
/// them, looking back at most twice that many weeks (a missing month is skipped).
pub fn past_days(history: &BTreeMap<NaiveDate, Day>, day: NaiveDate, weeks: usize) -> Vec<&Day> {
    (1..=2 * weeks as u64)
        .filter_map(|w| {
            day.checked_sub_days(Days::new(7 * w))
                .and_then(|d| history.get(&d))
        })
        .take(weeks)
        .collect()
}

impl ProfileSet {
    /// Learns every queue's profile per weekday for the week after `learned_to`, from each
    /// queue's days (`history`, every day `86_400 / interval_secs` intervals).
    pub fn learn(
        history: &BTreeMap<String, BTreeMap<NaiveDate, Day>>,
        learned_to: NaiveDate,
        method: Method,
        interval_secs: u32,
        timezone: &str,
    ) -> ProfileSet {
        let queues = history
            .iter()
            .map(|(queue, days)| {
                let mut week: [Option<Profile>; 7] = Default::default();
                for ahead in 1..=7u64 {
                    let Some(day) = learned_to.checked_add_days(Days::new(ahead)) else {
                        continue;
                    };
                    let past = past_days(days, day, method.weeks);
                    week[day.weekday().num_days_from_monday() as usize] = Profile::learn(&past);
                }
                (queue.clone(), week)
            })
            .collect();
        ProfileSet {
            version: PROFILE_VERSION,
            timezone: timezone.to_owned(),
            interval_secs,
            learned_to,
            method,
            queues,
        }
    }

    /// Checks a loaded file: its version, shapes and figures.
    ///
    /// # Errors
    /// The first problem found.
    pub fn check(&self) -> Result<(), ProfileError> {
        if self.version != PROFILE_VERSION {
            return Err(ProfileError::Version(self.version));
        }
        if self.interval_secs == 0
            || self.interval_secs >= 86_400
            || !86_400u32.is_multiple_of(self.interval_secs)
        {
            return Err(ProfileError::Interval(self.interval_secs));
        }
        let m = &self.method;
        let fine = |x: f64| x.is_finite() && x >= 0.0;
        if m.weeks == 0 || !fine(m.damping) || !fine(m.aht_damping_calls) {
            return Err(ProfileError::Method);
        }
        let expected = (86_400 / self.interval_secs) as usize;
        for (queue, week) in &self.queues {
            for (profile, weekday) in week.iter().zip(WEEKDAYS) {
                let Some(p) = profile else { continue };
                if p.offered.len() != expected || p.aht_s.len() != expected {
                    return Err(ProfileError::Shape {
                        queue: queue.clone(),
                        weekday,
                        found: if p.offered.len() == expected {
                            p.aht_s.len()
                        } else {
                            p.offered.len()
                        },
                        expected,
                        interval_secs: self.interval_secs,
                    });
                }
                let values_fine = p.offered.iter().all(|o| fine(*o))
                    && p.aht_s.iter().flatten().all(|a| fine(*a))
                    && p.patience_s.is_none_or(fine);
                if !values_fine {
                    return Err(ProfileError::Value {
                        queue: queue.clone(),
                        weekday,
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks that the engine reads days and intervals as the profile does.
    ///
    /// # Errors
    /// [`ProfileError::Mismatch`] otherwise.
    pub fn check_engine(&self, timezone: &str, interval_secs: u32) -> Result<(), ProfileError> {
        if self.timezone != timezone || self.interval_secs != interval_secs {
            return Err(ProfileError::Mismatch {
                profile: self.timezone.clone(),
                profile_secs: self.interval_secs,
                engine: timezone.to_owned(),
                engine_secs: interval_secs,
            });
        }
        Ok(())
    }

    /// `queue`'s profile for `weekday` (0 Monday .. 6 Sunday).
    pub fn profile(&self, queue: &str, weekday: u8) -> Option<&Profile> {
        self.queues.get(queue)?.get(usize::from(weekday))?.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::Slot;

    fn day(date: NaiveDate, offered: f64) -> Day {
        Day {
            date,
            slots: vec![
                Slot {
                    offered,
                    handled: offered,
                    handle_s: offered * 100.0,
                    ..Slot::default()
                };
                2
            ],
        }
    }

    #[test]
    fn learns_each_weekday_from_its_own_days_and_round_trips() {
        // Two Mondays (10, then 20 calls per interval) and one Tuesday (5).
        let monday = NaiveDate::from_ymd_opt(2026, 11, 16).expect("date");
        let mut days = BTreeMap::new();
        for (date, offered) in [
            (monday, 10.0),
            (monday + Days::new(7), 20.0),
            (monday + Days::new(1), 5.0),
        ] {
            days.insert(date, day(date, offered));
        }
        let history = BTreeMap::from([("q".to_owned(), days)]);
        let sunday = monday + Days::new(13);
        let set = ProfileSet::learn(&history, sunday, Method::default(), 43_200, "UTC");
        assert_eq!(set.check(), Ok(()));
        assert_eq!(
            set.profile("q", 0).expect("monday").offered,
            vec![15.0, 15.0]
        );
        assert_eq!(
            set.profile("q", 1).expect("tuesday").offered,
            vec![5.0, 5.0]
        );
        assert_eq!(set.profile("q", 2), None);
        assert_eq!(set.profile("other", 0), None);
        let json = serde_json::to_string(&set).expect("json");
        let back: ProfileSet = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, set);
        assert_eq!(set.check_engine("UTC", 43_200), Ok(()));
        assert!(matches!(
            set.check_engine("Europe/Berlin", 43_200),
            Err(ProfileError::Mismatch { .. })
        ));
    }

    #[test]
    fn a_bad_file_is_refused_with_its_reason() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 16).expect("date");
        let history =
            BTreeMap::from([("q".to_owned(), BTreeMap::from([(monday, day(monday, 3.0))]))]);
        let good = ProfileSet::learn(
            &history,
            monday + Days::new(6),
            Method::default(),
            43_200,
            "UTC",
        );
        let mut bad = good.clone();
        bad.version = 9;
        assert_eq!(bad.check(), Err(ProfileError::Version(9)));
        let mut bad = good.clone();
        bad.interval_secs = 7;
        assert_eq!(bad.check(), Err(ProfileError::Interval(7)));
        let mut bad = good.clone();
        if let Some(p) = bad.queues.get_mut("q").and_then(|w| w[0].as_mut()) {
            p.offered.push(1.0);
        }
        assert!(
            matches!(
                bad.check(),
                Err(ProfileError::Shape {
                    found: 3,
                    expected: 2,
                    ..
                })
            ),
            "{:?}",
            bad.check()
        );
        let mut bad = good.clone();
        if let Some(p) = bad.queues.get_mut("q").and_then(|w| w[0].as_mut()) {
            p.offered[0] = f64::NAN;
        }
        assert!(matches!(bad.check(), Err(ProfileError::Value { .. })));
        let mut bad = good;
        bad.method.damping = -1.0;
        assert_eq!(bad.check(), Err(ProfileError::Method));
    }
}

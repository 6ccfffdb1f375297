//! Call-by-call records in the SEE Lab's format (Technion, Service Enterprise Engineering:
//! the "Anonymous Bank" 1999 data set and the lab's later call-center data), mapped to the
//! event contract. These are the histories queueing research and workforce planning are
//! tested on; `callpulse replay --from seelab` and `callpulse forecast` read them.
//!
//! One tab-separated record per call: `vru+line call_id customer_id priority type date
//! vru_entry vru_exit vru_time q_start q_exit q_time outcome ser_start ser_exit ser_time
//! server`. `type` is the queue. Times are local times of day (`h:mm:ss`) and only `date`
//! (`YYMMDD`) carries a day: each time is put on the day nearest the call's previous time,
//! so waits and services that cross midnight stay whole.
//!
//! - A call that queued (`q_start` other than `0:00:00`, or `q_time` > 0) is queued at
//!   `q_start`; `AGENT`: answered at `q_exit` by `server`, completed `ser_time` later with
//!   that talk time; `HANG`: abandoned at `q_exit`.
//! - An `AGENT` call routed straight to an idle agent (no queue) is offered and answered at
//!   `ser_start` with a wait of 0: it is load the agents carried.
//! - Not used, counted by reason: `PHANTOM` records (the data's documentation says to
//!   ignore them), hang-ups in the voice-response unit before any queue (`vru_only`), and
//!   records without a usable queue, day or time.
//!
//! The records come sorted by VRU line, not by time: the mapper holds a file's events and
//! hands them out in time order at [`SeeLabMapper::flush`] (a month is ~100k events).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::envelope;
use callpulse_events::{
    CallAbandoned, CallAnswered, CallCompleted, CallQueued, Envelope, Event, ExitReason, Ts,
};

/// Why a record could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeeLabError {
    #[error("{0} tab-separated fields, not 17")]
    Fields(usize),
    #[error("{field} {value:?} is not a {what}")]
    Bad {
        field: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("a PHANTOM record (a virtual call, to be ignored)")]
    Phantom,
    #[error("hung up in the voice-response unit, before any queue")]
    VruOnly,
    #[error("outcome {0:?} is none of AGENT, HANG, PHANTOM")]
    Outcome(String),
}

impl SeeLabError {
    /// A short, stable name for counting.
    pub const fn reason(&self) -> &'static str {
        match self {
            SeeLabError::Fields(_) => "bad_fields",
            SeeLabError::Bad { .. } => "bad_field",
            SeeLabError::Phantom => "phantom",
            SeeLabError::VruOnly => "vru_only",
            SeeLabError::Outcome(_) => "bad_outcome",
        }
    }
}

/// What the mapper made of the records so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeeLabStats {
    pub records: u64,
    /// Calls offered to a queue (straight-to-agent calls included).
    pub offered: u64,
    /// `AGENT` calls that reached an agent without queueing.
    pub straight_to_agent: u64,
    /// Answered calls with no service record (completed with 0 s of talk).
    pub no_service: u64,
    /// Contract events produced.
    pub events: u64,
    /// Header lines skipped.
    pub headers: u64,
    /// Records not used, by [`SeeLabError::reason`].
    pub malformed: BTreeMap<&'static str, u64>,
}

/// Reads SEE Lab records; see the module docs.
#[derive(Debug)]
pub struct SeeLabMapper {
    zone: Tz,
    /// This file's events, with their order of arrival for ties.
    held: Vec<(Ts, u64, Envelope)>,
    seq: u64,
    stats: SeeLabStats,
}

impl SeeLabMapper {
    /// `zone`: the zone of the records' local times (the center's).
    pub fn new(zone: Tz) -> Self {
        SeeLabMapper {
            zone,
            held: Vec::new(),
            seq: 0,
            stats: SeeLabStats::default(),
        }
    }

    pub fn stats(&self) -> &SeeLabStats {
        &self.stats
    }

    /// Reads one record; its events are held until [`Self::flush`]. A header line is
    /// skipped.
    ///
    /// # Errors
    /// The record is not used (counted in [`SeeLabStats::malformed`]).
    pub fn map(&mut self, line: &str) -> Result<(), SeeLabError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with("vru") {
            self.stats.headers += 1;
            return Ok(());
        }
        self.stats.records += 1;
        match self.read(line) {
            Ok(events) => {
                for env in events {
                    self.seq += 1;
                    self.held.push((env.ts, self.seq, env));
                }
                Ok(())
            }
            Err(e) => {
                *self.stats.malformed.entry(e.reason()).or_default() += 1;
                Err(e)
            }
        }
    }

    /// Hands out the held events in time order (arrival order within the same millisecond).
    pub fn flush(&mut self, out: &mut Vec<Envelope>) {
        self.held.sort_unstable_by_key(|(ts, seq, _)| (*ts, *seq));
        self.stats.events += self.held.len() as u64;
        out.extend(self.held.drain(..).map(|(_, _, env)| env));
    }

    fn read(&mut self, line: &str) -> Result<Vec<Envelope>, SeeLabError> {
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [
            vru_line,
            call_id,
            customer,
            priority,
            queue,
            date,
            vru_entry,
            _vru_exit,
            _vru_time,
            q_start,
            q_exit,
            q_time,
            outcome,
            ser_start,
            _ser_exit,
            ser_time,
            server,
        ] = f[..]
        else {
            return Err(SeeLabError::Fields(f.len()));
        };
        let served = match outcome {
            "AGENT" => true,
            "HANG" => false,
            "PHANTOM" => return Err(SeeLabError::Phantom),
            other => return Err(SeeLabError::Outcome(other.chars().take(20).collect())),
        };
        if queue.is_empty() || !queue.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad("type", queue, "queue name"));
        }
        let day = NaiveDate::parse_from_str(date, "%y%m%d")
            .map_err(|_| bad("date", date, "YYMMDD date"))?;
        let q_secs = seconds("q_time", q_time)?;
        let ser_secs = seconds("ser_time", ser_time)?;
        let queued = q_start != "0:00:00" || q_secs > 0;
        let unserved = ser_start == "0:00:00" && ser_secs == 0;
        if !queued && (!served || unserved) {
            return Err(SeeLabError::VruOnly);
        }
        let mut clock = DayClock::new(self.zone, day);
        clock.at("vru_entry", vru_entry)?;
        let id = format!("{vru_line}-{call_id}-{date}");
        let event_id = {
            let id = id.clone();
            move |kind: &str| format!("seelab-{id}-{kind}")
        };
        let customer_id = (customer != "0"
            && !customer.is_empty()
            && customer.bytes().all(|b| b.is_ascii_digit()))
        .then(|| customer.to_owned());
        // Priority 0 is "old regular customers, treated as 1" in the documentation.
        let priority = match priority {
            "0" | "1" => Some(1),
            "2" => Some(2),
            _ => None,
        };
        let (queued_at, answered_at) = if queued {
            let at = clock.at("q_start", q_start)?;
            (at, clock.at("q_exit", q_exit)?)
        } else {
            self.stats.straight_to_agent += 1;
            let at = clock.at("ser_start", ser_start)?;
            (at, at)
        };
        self.stats.offered += 1;
        let mut events = vec![envelope(
            event_id("q"),
            queued_at,
            Event::CallQueued(CallQueued {
                call_id: id.clone(),
                queue: queue.to_owned(),
                customer_id,
                priority,
                transferred_from: None,
            }),
        )];
        if !served {
            let mut abandon = CallAbandoned::new(id, queue);
            abandon.reason = Some(ExitReason::Hangup);
            events.push(envelope(
                event_id("x"),
                answered_at,
                Event::CallAbandoned(abandon),
            ));
            return Ok(events);
        }
        if unserved {
            self.stats.no_service += 1;
        }
        events.push(envelope(
            event_id("a"),
            answered_at,
            Event::CallAnswered(CallAnswered {
                call_id: id.clone(),
                queue: queue.to_owned(),
                agent_id: server.to_owned(),
            }),
        ));
        let talk_ms = i64::from(ser_secs) * 1000;
        events.push(envelope(
            event_id("c"),
            Ts(answered_at.0 + talk_ms),
            Event::CallCompleted(CallCompleted {
                call_id: id,
                queue: queue.to_owned(),
                agent_id: server.to_owned(),
                talk_ms,
                hold_ms: 0,
                acw_ms: 0,
                resolved: None,
            }),
        ));
        Ok(events)
    }
}

fn bad(field: &'static str, value: &str, what: &'static str) -> SeeLabError {
    SeeLabError::Bad {
        field,
        value: value.chars().take(30).collect(),
        what,
    }
}

fn seconds(field: &'static str, text: &str) -> Result<u32, SeeLabError> {
    text.parse()
        .map_err(|_| bad(field, text, "count of seconds"))
}

/// Puts a call's times of day on calendar days: each on the day nearest the call's previous
/// time (the records' times cross midnight, and a few run a second or two backwards).
struct DayClock {
    zone: Tz,
    day: NaiveDate,
    last: Option<NaiveDateTime>,
}

impl DayClock {
    fn new(zone: Tz, day: NaiveDate) -> Self {
        DayClock {
            zone,
            day,
            last: None,
        }
    }

    fn at(&mut self, field: &'static str, text: &str) -> Result<Ts, SeeLabError> {
        let time = NaiveTime::parse_from_str(text, "%H:%M:%S")
            .map_err(|_| bad(field, text, "time of day (h:mm:ss)"))?;
        let mut local = self.day.and_time(time);
        if let Some(last) = self.last {
            let half_day = chrono::Duration::hours(12);
            if local < last - half_day {
                local = local + Days::new(1);
            } else if local > last + half_day {
                local = local - Days::new(1);
            }
        }
        self.day = local.date();
        self.last = Some(local);
        // In the hour a DST change repeats, the earlier reading; a time in the hour it
        // skips is refused.
        let at = self
            .zone
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| bad(field, text, "time that exists in the zone"))?;
        Ok(Ts::from_datetime(at.with_timezone(&chrono::Utc)))
    }
}

#[cfg(test)]
mod tests;

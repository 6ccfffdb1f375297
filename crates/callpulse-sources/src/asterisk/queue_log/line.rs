//! One `queue_log` line, split into its fields.
//!
//! The file form (`main/logger.c`): `epoch|callid|queue|agent|EVENT|data1|...|data5`, the
//! time in whole Unix seconds. The SQL-table form, exported as text, carries a local-time
//! string with microseconds instead (`2026-11-30 09:15:02.123456`), read in the center's
//! time zone. Data fields may be absent: a verb's fields are read by position, and a field
//! the verb needs but the line lacks is an error naming it.

use callpulse_events::Ts;
use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::QueueLogError;

/// A parsed line, borrowing from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub(crate) at: Ts,
    pub(crate) callid: &'a str,
    pub(crate) queue: &'a str,
    pub(crate) agent: &'a str,
    pub(crate) verb: &'a str,
    pub(crate) data: Vec<&'a str>,
}

impl<'a> Line<'a> {
    /// Splits `text` (without its line ending).
    pub(crate) fn parse(text: &'a str, zone: Tz) -> Result<Line<'a>, QueueLogError> {
        let mut fields = text.split('|');
        let mut next = || fields.next();
        let (Some(time), Some(callid), Some(queue), Some(agent), Some(verb)) =
            (next(), next(), next(), next(), next())
        else {
            return Err(QueueLogError::TooFewFields);
        };
        let data = fields.collect();
        let verb = verb.trim();
        if verb.is_empty() {
            return Err(QueueLogError::TooFewFields);
        }
        Ok(Line {
            at: parse_time(time.trim(), zone)?,
            callid: callid.trim(),
            queue: queue.trim(),
            agent: agent.trim(),
            verb,
            data,
        })
    }

    /// Data field `i` (0-based: `data1` is 0), trimmed; empty when absent.
    pub(crate) fn field(&self, i: usize) -> &'a str {
        self.data.get(i).map_or("", |f| f.trim())
    }

    /// Data field `i` counted from the right (0 is the last): ATTENDEDTRANSFER writes a
    /// variable number of fields before its holdtime, calltime and origposition.
    pub(crate) fn field_from_end(&self, i: usize) -> &'a str {
        self.data
            .len()
            .checked_sub(i + 1)
            .map_or("", |at| self.data[at].trim())
    }

    /// Data field `i` as a whole number of seconds or milliseconds.
    pub(crate) fn number(&self, i: usize, name: &'static str) -> Result<i64, QueueLogError> {
        parse_number(self.field(i), name)
    }

    /// [`Line::field_from_end`] as a number.
    pub(crate) fn number_from_end(
        &self,
        i: usize,
        name: &'static str,
    ) -> Result<i64, QueueLogError> {
        parse_number(self.field_from_end(i), name)
    }
}

fn parse_number(text: &str, name: &'static str) -> Result<i64, QueueLogError> {
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(QueueLogError::BadNumber {
            field: name,
            value: text.chars().take(32).collect(),
        }),
    }
}

/// Unix seconds (an optional fraction is kept to the millisecond), or a local date-time.
fn parse_time(text: &str, zone: Tz) -> Result<Ts, QueueLogError> {
    let bad = || QueueLogError::BadTime(text.chars().take(40).collect());
    if text.bytes().next().is_some_and(|b| b.is_ascii_digit()) && !text.contains('-') {
        let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let millis = format!("{frac:0<3}")[..3]
            .parse::<i64>()
            .map_err(|_| bad())?;
        return secs
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(millis))
            .map(Ts)
            .ok_or_else(bad);
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| bad())?;
    // In the hour a DST change repeats, the earlier reading; in the hour it skips, the
    // line is impossible and refused.
    let at = zone
        .from_local_datetime(&local)
        .earliest()
        .ok_or_else(bad)?;
    Ok(Ts::from_datetime(at.with_timezone(&chrono::Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lines_split_into_their_fields() {
        let line = Line::parse(
            "1732612502|1732612500.42|billing|SIP/1001|CONNECT|12|1732612510.43|3",
            Tz::UTC,
        )
        .expect("line");
        assert_eq!(line.at, Ts(1_732_612_502_000));
        assert_eq!(line.callid, "1732612500.42");
        assert_eq!(line.queue, "billing");
        assert_eq!(line.agent, "SIP/1001");
        assert_eq!(line.verb, "CONNECT");
        assert_eq!(line.number(0, "holdtime"), Ok(12));
        assert_eq!(line.field(1), "1732612510.43");
        assert_eq!(line.field(7), "");
        assert_eq!(line.field_from_end(0), "3");
        assert_eq!(line.field_from_end(9), "");
    }

    #[test]
    fn sql_rows_read_in_the_centers_zone() {
        let line = Line::parse(
            "2026-03-29 03:30:00.250000|c1|q|NONE|ENTERQUEUE||555",
            "Europe/Berlin".parse().expect("zone"),
        )
        .expect("line");
        // 03:30 CEST (UTC+2) on the day the clocks went forward.
        assert_eq!(line.at.to_rfc3339(), "2026-03-29T01:30:00.250Z");
        // 02:30 that day does not exist in Berlin.
        assert!(matches!(
            Line::parse(
                "2026-03-29 02:30:00|c1|q|NONE|ENTERQUEUE",
                "Europe/Berlin".parse().expect("zone")
            ),
            Err(QueueLogError::BadTime(_))
        ));
    }

    #[test]
    fn broken_lines_say_what_is_wrong() {
        assert_eq!(
            Line::parse("1732612502|c1|q|NONE", Tz::UTC),
            Err(QueueLogError::TooFewFields)
        );
        assert_eq!(
            Line::parse("17x|c1|q|NONE|ABANDON", Tz::UTC),
            Err(QueueLogError::BadTime("17x".into()))
        );
        let line = Line::parse("1|c|q|a|CONNECT|-4", Tz::UTC).expect("line");
        assert_eq!(
            line.number(0, "holdtime"),
            Err(QueueLogError::BadNumber {
                field: "holdtime",
                value: "-4".into()
            })
        );
        assert_eq!(
            Line::parse("1732612502.5|c|q|a|X", Tz::UTC)
                .expect("line")
                .at,
            Ts(1_732_612_502_500)
        );
    }
}

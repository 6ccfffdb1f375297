use callpulse_events::{Activity, AgentState, ScheduleSegment, Ts};

use super::*;

const MIN: i64 = 60_000;

fn seg(from_min: i64, to_min: i64, activity: Activity) -> ScheduleSegment {
    ScheduleSegment {
        start: Ts(from_min * MIN),
        end: Ts(to_min * MIN),
        activity,
    }
}

/// Books `[from, to)` (minutes) in `actual` into `into`, clipped to `[start, end)` minutes.
fn book(
    schedule: &Schedule,
    actual: Activity,
    (from, to): (i64, i64),
    episode: &mut Episode,
    grace_min: i64,
    into: &mut AdherenceTimes,
    (start, end): (i64, i64),
) {
    pieces(
        Some(schedule),
        actual,
        (Ts(from * MIN), Ts(to * MIN)),
        episode,
        grace_min * MIN,
        |p| into.add(&p, start * MIN, end * MIN),
    );
}

#[test]
fn three_minutes_late_from_break_with_two_minutes_grace() {
    // Open 09:00-10:00, break 10:00-10:15, open 10:15-11:00 (minutes of the day).
    let mut schedule = Schedule::default();
    schedule.replace(
        Ts(540 * MIN),
        Ts(660 * MIN),
        &[
            seg(540, 600, Activity::Open),
            seg(600, 615, Activity::Break),
            seg(615, 660, Activity::Open),
        ],
    );
    // On time to the break; back 3 minutes late (10:18): out 10:15-10:18, 2 min of grace.
    let mut t = AdherenceTimes::default();
    let mut episode = None;
    let day = (0, 1440);
    book(
        &schedule,
        Activity::Open,
        (540, 600),
        &mut episode,
        2,
        &mut t,
        day,
    );
    book(
        &schedule,
        Activity::Break,
        (600, 618),
        &mut episode,
        2,
        &mut t,
        day,
    );
    assert_eq!(episode, Some(615 * MIN));
    book(
        &schedule,
        Activity::Open,
        (618, 660),
        &mut episode,
        2,
        &mut t,
        day,
    );
    assert_eq!(episode, None);
    let v = AdherenceView::from(&t);
    assert_eq!(v.scheduled_s, 120.0 * 60.0);
    assert_eq!(v.out_of_adherence_s, 60.0);
    assert_eq!(v.adherence, Some(1.0 - 1.0 / 120.0));
    // Worked 60 + 42 of 105 scheduled open minutes.
    assert_eq!(v.worked_s, 102.0 * 60.0);
    assert_eq!(v.conformance, Some(102.0 / 105.0));
    assert_eq!(v.planned.break_, 15.0 * 60.0);
    assert_eq!(v.actual.break_, 18.0 * 60.0);
    assert_eq!(v.shrinkage_planned, Some(15.0 / 120.0));
    assert_eq!(v.shrinkage_actual, Some(18.0 / 120.0));
    // Within the grace nothing is out: back at 10:17.
    let mut t = AdherenceTimes::default();
    let mut episode = None;
    book(
        &schedule,
        Activity::Break,
        (600, 617),
        &mut episode,
        2,
        &mut t,
        day,
    );
    book(
        &schedule,
        Activity::Open,
        (617, 660),
        &mut episode,
        2,
        &mut t,
        day,
    );
    assert_eq!(t.out, 0);
    // Live: at 10:18 still on break the agent is out since 10:15 (3 minutes), at 10:16 not
    // yet (the grace).
    let now = AdherenceNow::at(
        &schedule,
        Activity::Break,
        Some(615 * MIN),
        Ts(618 * MIN),
        2 * MIN,
    );
    assert!(now.out_of_adherence);
    assert_eq!((now.scheduled, now.out_s), (Activity::Open, 180.0));
    assert_eq!(now.out_since_ms, Some(615 * MIN));
    let now = AdherenceNow::at(
        &schedule,
        Activity::Break,
        Some(615 * MIN),
        Ts(616 * MIN),
        2 * MIN,
    );
    assert!(!now.out_of_adherence);
}

#[test]
fn a_break_crossing_intervals_is_split_at_the_boundary() {
    // Lunch 12:20-12:50 across the 12:30 boundary of 30-minute intervals, taken exactly.
    let mut schedule = Schedule::default();
    schedule.replace(
        Ts(720 * MIN),
        Ts(780 * MIN),
        &[
            seg(720, 740, Activity::Open),
            seg(740, 770, Activity::Lunch),
            seg(770, 780, Activity::Open),
        ],
    );
    let mut first = AdherenceTimes::default();
    let mut second = AdherenceTimes::default();
    let mut episode = None;
    for (from, to, actual) in [
        (720, 740, Activity::Open),
        (740, 770, Activity::Lunch),
        (770, 780, Activity::Open),
    ] {
        for (into, bounds) in [(&mut first, (720, 750)), (&mut second, (750, 780))] {
            let mut ep = episode;
            book(&schedule, actual, (from, to), &mut ep, 2, into, bounds);
        }
        pieces(
            Some(&schedule),
            actual,
            (Ts(from * MIN), Ts(to * MIN)),
            &mut episode,
            2 * MIN,
            |_| {},
        );
    }
    assert_eq!(first.scheduled[Activity::Lunch.index()], 10 * MIN as u64);
    assert_eq!(second.scheduled[Activity::Lunch.index()], 20 * MIN as u64);
    assert_eq!(first.scheduled[Activity::Open.index()], 20 * MIN as u64);
    assert_eq!(second.scheduled[Activity::Open.index()], 10 * MIN as u64);
    assert_eq!((first.out, second.out), (0, 0));
    let (planned, actual) = AdherenceView::from(&second).shrinkage(Activity::Lunch);
    assert_eq!((planned, actual), (Some(2.0 / 3.0), Some(2.0 / 3.0)));
    // Two views summed are the whole hour.
    let hour = AdherenceView::sum([&AdherenceView::from(&first), &AdherenceView::from(&second)]);
    assert_eq!(hour.scheduled_s, 3600.0);
    assert_eq!(hour.shrinkage_planned, Some(0.5));
}

#[test]
fn absence_unscheduled_work_and_aux_reasons() {
    let policy = AdherencePolicy::default();
    assert_eq!(
        policy.actual(AgentState::Aux, Some("Lunch")),
        Activity::Lunch
    );
    assert_eq!(
        policy.actual(AgentState::Aux, Some("smoke")),
        Activity::Other
    );
    assert_eq!(policy.actual(AgentState::Aux, None), Activity::Other);
    assert_eq!(
        policy.actual(AgentState::WrapUp, Some("break")),
        Activity::Open
    );
    assert_eq!(policy.actual(AgentState::Offline, None), Activity::Off);
    let mut schedule = Schedule::default();
    schedule.replace(Ts(0), Ts(60 * MIN), &[seg(10, 40, Activity::Open)]);
    let mut t = AdherenceTimes::default();
    let mut episode = None;
    // Logged off until 0:20 (absent 10 minutes of it), then open to 0:50 (10 unscheduled).
    book(
        &schedule,
        Activity::Off,
        (0, 20),
        &mut episode,
        2,
        &mut t,
        (0, 60),
    );
    book(
        &schedule,
        Activity::Open,
        (20, 50),
        &mut episode,
        2,
        &mut t,
        (0, 60),
    );
    let v = AdherenceView::from(&t);
    assert_eq!(v.scheduled_s, 1800.0);
    assert_eq!(v.actual.off, 600.0);
    assert_eq!(v.out_of_adherence_s, 480.0);
    assert_eq!(v.worked_s, 1800.0);
    assert_eq!(v.conformance, Some(1.0));
    assert_eq!(v.shrinkage_actual, Some(1.0 / 3.0));
}

#[test]
fn replacing_part_of_a_schedule_keeps_the_rest() {
    let mut schedule = Schedule::default();
    schedule.replace(Ts(0), Ts(100 * MIN), &[seg(0, 100, Activity::Open)]);
    schedule.replace(
        Ts(30 * MIN),
        Ts(60 * MIN),
        &[seg(40, 50, Activity::Training), seg(50, 60, Activity::Off)],
    );
    assert_eq!(
        schedule.segments,
        vec![
            (0, 30 * MIN, Activity::Open),
            (40 * MIN, 50 * MIN, Activity::Training),
            (60 * MIN, 100 * MIN, Activity::Open),
        ]
    );
    assert_eq!(schedule.at(Ts(35 * MIN)), Activity::Off);
    assert_eq!(schedule.at(Ts(40 * MIN)), Activity::Training);
    assert_eq!(schedule.at(Ts(100 * MIN)), Activity::Off);
    let mut seen = Vec::new();
    schedule.stretches(20 * MIN, 70 * MIN, |a, b, act| {
        seen.push((a / MIN, b / MIN, act));
    });
    assert_eq!(
        seen,
        vec![
            (20, 30, Activity::Open),
            (30, 40, Activity::Off),
            (40, 50, Activity::Training),
            (50, 60, Activity::Off),
            (60, 70, Activity::Open),
        ]
    );
    assert!(schedule.prune(Ts(50 * MIN)));
    assert_eq!(schedule.segments.len(), 1);
    assert!(!schedule.prune(Ts(100 * MIN)));
}

use super::*;

const HEADER: &str = "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver";

fn zone() -> Tz {
    "Asia/Jerusalem".parse().expect("zone")
}

/// Local wall time in Jerusalem (UTC+2 in January 1999) as a Ts.
fn local(text: &str) -> Ts {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time");
    Ts::from_datetime(
        zone()
            .from_local_datetime(&naive)
            .single()
            .expect("unique")
            .with_timezone(&chrono::Utc),
    )
}

fn mapped(lines: &[&str]) -> (Vec<Envelope>, SeeLabMapper) {
    let mut mapper = SeeLabMapper::new(zone());
    for line in lines {
        let _ = mapper.map(line);
    }
    let mut out = Vec::new();
    mapper.flush(&mut out);
    (out, mapper)
}

#[test]
fn a_queued_answered_call_waits_and_talks_what_the_record_says() {
    // Records as they appear in the January 1999 file.
    let (events, mapper) = mapped(&[
        HEADER,
        "AA0101\t33118\t27997683\t2\tPS\t990101\t6:55:20\t6:55:26\t6\t6:55:26\t6:55:43\t17\tAGENT\t6:55:43\t6:56:37\t54\tMICHAL",
    ]);
    assert_eq!(mapper.stats().headers, 1);
    assert_eq!(events.len(), 3);
    let Event::CallQueued(q) = &events[0].event else {
        panic!("{:?}", events[0]);
    };
    assert_eq!(q.queue, "PS");
    assert_eq!(q.customer_id.as_deref(), Some("27997683"));
    assert_eq!(q.priority, Some(2));
    assert_eq!(events[0].ts, local("1999-01-01 06:55:26"));
    assert_eq!(events[1].ts.0 - events[0].ts.0, 17_000, "q_time");
    let Event::CallAnswered(a) = &events[1].event else {
        panic!("{:?}", events[1]);
    };
    assert_eq!(a.agent_id, "MICHAL");
    let Event::CallCompleted(c) = &events[2].event else {
        panic!("{:?}", events[2]);
    };
    assert_eq!((c.talk_ms, c.hold_ms, c.acw_ms), (54_000, 0, 0));
    assert_eq!(events[2].ts.0 - events[1].ts.0, 54_000);
}

#[test]
fn hang_ups_phantoms_and_vru_only_calls() {
    let (events, mapper) = mapped(&[
        // Hung up in the queue after 153 s.
        "AA0101\t33116\t9664491\t2\tPS\t990101\t0:00:31\t0:00:36\t5\t0:00:36\t0:03:09\t153\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
        // Hung up in the VRU: never offered.
        "AA0101\t33117\t0\t0\tPS\t990101\t0:34:12\t0:34:23\t11\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
        "AA0102\t40001\t0\t1\tNW\t990101\t9:00:00\t9:00:05\t5\t9:00:05\t9:00:40\t35\tPHANTOM\t0:00:00\t0:00:00\t0\tNO_SERVER",
        // Type AA (garbage in the data) on a VRU-only hang-up, as in the data.
        "AA0103\t40002\t0\t0\tAA\t990101\t9:00:00\t9:00:05\t5\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
        // A bad day.
        "AA0104\t40003\t0\t0\tPS\t991301\t9:00:00\t9:00:05\t5\t9:00:05\t9:00:40\t35\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
        "too\tfew",
    ]);
    assert_eq!(events.len(), 2);
    let Event::CallAbandoned(x) = &events[1].event else {
        panic!("{:?}", events[1]);
    };
    assert_eq!(x.reason, Some(ExitReason::Hangup));
    assert_eq!(events[1].ts.0 - events[0].ts.0, 153_000);
    let malformed = &mapper.stats().malformed;
    assert_eq!(malformed.get("vru_only"), Some(&2));
    assert_eq!(malformed.get("phantom"), Some(&1));
    assert_eq!(malformed.get("bad_field"), Some(&1));
    assert_eq!(malformed.get("bad_fields"), Some(&1));
    assert_eq!(mapper.stats().offered, 1);
}

#[test]
fn straight_to_an_agent_is_offered_and_answered_without_a_wait() {
    let (events, mapper) = mapped(&[
        "AA0101\t33119\t0\t0\tPS\t990101\t7:41:16\t7:41:26\t10\t0:00:00\t0:00:00\t0\tAGENT\t7:41:25\t7:44:53\t208\tBASCH",
    ]);
    assert_eq!(mapper.stats().straight_to_agent, 1);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].ts, local("1999-01-01 07:41:25"));
    assert_eq!(events[1].ts, events[0].ts);
    let Event::CallQueued(q) = &events[0].event else {
        panic!();
    };
    assert_eq!(q.customer_id, None, "customer 0 is not identified");
}

#[test]
fn times_crossing_midnight_stay_whole_and_events_come_out_in_time_order() {
    let (events, _) = mapped(&[
        // Queued at 23:59:28, answered 35 s later on the next day.
        "AA0201\t5\t123\t2\tPS\t990105\t23:59:20\t23:59:28\t8\t23:59:28\t0:00:03\t35\tAGENT\t0:00:03\t0:02:03\t120\tDANA",
        // Joined the queue after midnight while `date` is the day before.
        "AA0101\t6\t3.27E+11\t1\tNE\t990105\t23:59:50\t0:00:10\t20\t0:00:10\t0:00:20\t10\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
        // Earlier in the day, later in the file (records are sorted by line, not time).
        "AA0101\t7\t0\t1\tPS\t990105\t8:00:00\t8:00:05\t5\t8:00:05\t8:00:06\t1\tAGENT\t8:00:06\t8:01:06\t60\tDANA",
    ]);
    let times: Vec<Ts> = events.iter().map(|e| e.ts).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted);
    assert_eq!(events[0].ts, local("1999-01-05 08:00:05"));
    let answer = events
        .iter()
        .find(|e| matches!(&e.event, Event::CallAnswered(a) if a.call_id.starts_with("AA0201")))
        .expect("answer");
    assert_eq!(answer.ts, local("1999-01-06 00:00:03"));
    let abandon = events
        .iter()
        .find(|e| matches!(e.event, Event::CallAbandoned(_)))
        .expect("abandon");
    assert_eq!(abandon.ts, local("1999-01-06 00:00:20"));
    let Event::CallQueued(q) = &events
        .iter()
        .find(|e| matches!(&e.event, Event::CallQueued(q) if q.queue == "NE"))
        .expect("queued")
        .event
    else {
        panic!();
    };
    assert_eq!(
        q.customer_id, None,
        "an id mangled into scientific notation"
    );
}

#[test]
fn an_answer_without_a_service_record_completes_with_no_talk() {
    let (events, mapper) = mapped(&[
        "AA0301\t9\t55\t2\tIN\t990301\t10:00:00\t10:00:05\t5\t10:00:05\t10:00:25\t20\tAGENT\t0:00:00\t0:00:00\t0\tNO_SERVER",
    ]);
    assert_eq!(mapper.stats().no_service, 1);
    let Event::CallCompleted(c) = &events[2].event else {
        panic!();
    };
    assert_eq!(c.talk_ms, 0);
    assert_eq!(c.agent_id, "NO_SERVER");
}

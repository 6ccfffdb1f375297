use super::*;

/// What a sink was handed, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Offered {
        queue: u32,
        at: i64,
        transfer: bool,
    },
    Outcome {
        queue: u32,
        queued: i64,
        at: i64,
    },
    Completed {
        at: i64,
        home: Option<i64>,
    },
    Surveyed {
        at: i64,
        home: Option<i64>,
    },
    Contact {
        at: i64,
    },
    FcrCompleted {
        offered: i64,
        done: i64,
        home: Option<i64>,
    },
}

#[derive(Default)]
struct Recorder(Vec<Seen>);

impl CallSink for Recorder {
    fn offered(&mut self, queue: u32, at: Ts, transfer: bool, _source: Option<u32>) -> Applied {
        self.0.push(Seen::Offered {
            queue,
            at: at.millis(),
            transfer,
        });
        Applied::Counted
    }
    fn outcome(&mut self, leg: &LegOutcome) -> Applied {
        self.0.push(Seen::Outcome {
            queue: leg.queue,
            queued: leg.queued.millis(),
            at: leg.at.millis(),
        });
        Applied::Counted
    }
    fn completed(&mut self, done: &Completion, home: Option<Ts>) -> Applied {
        self.0.push(Seen::Completed {
            at: done.at.millis(),
            home: home.map(Ts::millis),
        });
        Applied::Counted
    }
    fn surveyed(&mut self, survey: &Survey, home: Option<Ts>) -> Applied {
        self.0.push(Seen::Surveyed {
            at: survey.at.millis(),
            home: home.map(Ts::millis),
        });
        Applied::Counted
    }
    fn contact(&mut self, fact: ContactFact) {
        self.0.push(match fact {
            ContactFact::Contact { at, .. } => Seen::Contact { at: at.millis() },
            ContactFact::Completed {
                offered,
                done,
                home,
                ..
            } => Seen::FcrCompleted {
                offered: offered.millis(),
                done: done.millis(),
                home: home.map(Ts::millis),
            },
        });
    }
}

const LIMITS: LedgerLimits = LedgerLimits {
    max_calls: 100,
    orphan_timeout_ms: 600_000,
    max_wait_ms: 3_600_000,
};

fn q(call: u64, queue: u32, at: Ts, from: Option<Option<u32>>, customer: Option<u64>) -> Queueing {
    Queueing {
        call,
        queue,
        at,
        from,
        customer,
    }
}

fn done(at: i64) -> Completion {
    Completion {
        queue: 0,
        at: Ts(at),
        talk_ms: 1000,
        hold_ms: 0,
        acw_ms: 0,
        resolved: None,
        agent: 0,
    }
}

fn survey(at: i64) -> Survey {
    Survey {
        queue: 0,
        at: Ts(at),
        score: Some(5),
        nps: None,
    }
}

/// A call answered in queue 0, transferred after the answer to queue 1 and answered there:
/// its completion and survey belong to the leg answered last (queued at 200 s).
#[test]
fn completions_and_surveys_go_home_to_the_leg_answered_last() {
    let mut ledger = CallLedger::new(LIMITS, Some(86_400_000));
    let (mut sink, mut counters) = (Recorder::default(), PartitionCounters::default());
    let c = 7;
    ledger.queued(
        q(c, 0, Ts(100_000), None, Some(1)),
        &mut sink,
        &mut counters,
    );
    ledger.outcome(
        c,
        0,
        Outcome::Answered,
        Ts(110_000),
        &mut sink,
        &mut counters,
    );
    ledger.queued(
        q(c, 1, Ts(200_000), Some(Some(0)), None),
        &mut sink,
        &mut counters,
    );
    ledger.outcome(
        c,
        1,
        Outcome::Answered,
        Ts(230_000),
        &mut sink,
        &mut counters,
    );
    ledger.completed(c, done(500_000), &mut sink, &mut counters);
    ledger.surveyed(c, survey(560_000), &mut sink, &mut counters);
    assert_eq!(
        sink.0,
        [
            Seen::Offered {
                queue: 0,
                at: 100_000,
                transfer: false
            },
            Seen::Contact { at: 100_000 },
            Seen::Outcome {
                queue: 0,
                queued: 100_000,
                at: 110_000
            },
            Seen::Offered {
                queue: 1,
                at: 200_000,
                transfer: true
            },
            Seen::Outcome {
                queue: 1,
                queued: 200_000,
                at: 230_000
            },
            Seen::Completed {
                at: 500_000,
                home: Some(200_000)
            },
            // FCR follows the contact from its first queueing.
            Seen::FcrCompleted {
                offered: 100_000,
                done: 500_000,
                home: Some(200_000)
            },
            Seen::Surveyed {
                at: 560_000,
                home: Some(200_000)
            },
        ]
    );
}

/// Events of a call in reverse order: with homes kept, the survey and the completion wait
/// for the queueing and then go home to it; without, they count at once at their own time.
#[test]
fn events_before_their_queueing_wait_for_a_home_only_when_homes_are_kept() {
    for keep_homes in [true, false] {
        let retention = keep_homes.then_some(86_400_000);
        let mut ledger = CallLedger::new(LIMITS, retention);
        let (mut sink, mut counters) = (Recorder::default(), PartitionCounters::default());
        let c = 9;
        let s = ledger.surveyed(c, survey(400_000), &mut sink, &mut counters);
        let d = ledger.completed(c, done(300_000), &mut sink, &mut counters);
        let a = ledger.outcome(
            c,
            0,
            Outcome::Answered,
            Ts(120_000),
            &mut sink,
            &mut counters,
        );
        assert_eq!(a, Applied::Parked);
        if keep_homes {
            assert_eq!((s, d), (Applied::Parked, Applied::Parked));
            assert!(sink.0.is_empty(), "{:?}", sink.0);
        } else {
            assert_eq!((s, d), (Applied::Counted, Applied::Counted));
            assert_eq!(sink.0.len(), 2);
        }
        ledger.queued(
            q(c, 0, Ts(100_000), None, Some(3)),
            &mut sink,
            &mut counters,
        );
        let home = keep_homes.then_some(100_000);
        let tail = &sink.0[sink.0.len() - 3..];
        let fcr = Seen::FcrCompleted {
            offered: 100_000,
            done: 300_000,
            home,
        };
        assert!(sink.0.contains(&fcr), "{:?}", sink.0);
        if keep_homes {
            assert_eq!(
                tail,
                [
                    fcr,
                    Seen::Completed { at: 300_000, home },
                    Seen::Surveyed { at: 400_000, home },
                ]
            );
        }
        assert_eq!(ledger.early.len(), 0);
    }
}

/// Nothing that waits for a home is lost: at the orphan timeout (or the end of a history)
/// it counts at its own time; a parked outcome without a queueing is an orphan.
#[test]
fn what_waits_in_vain_is_placed_at_its_own_time_or_counted_as_orphan() {
    let mut ledger = CallLedger::new(LIMITS, Some(86_400_000));
    let (mut sink, mut counters) = (Recorder::default(), PartitionCounters::default());
    ledger.surveyed(1, survey(0), &mut sink, &mut counters);
    ledger.completed(2, done(1000), &mut sink, &mut counters);
    ledger.outcome(
        3,
        0,
        Outcome::Abandoned(ExitReason::Hangup),
        Ts(1000),
        &mut sink,
        &mut counters,
    );
    ledger.expire(Ts(500_000), &mut sink, &mut counters);
    assert!(sink.0.is_empty(), "still within the orphan timeout");
    ledger.expire(Ts(601_000), &mut sink, &mut counters);
    assert_eq!(sink.0, [Seen::Surveyed { at: 0, home: None }]);
    ledger.release_all(&mut sink, &mut counters);
    assert_eq!(
        sink.0[1],
        Seen::Completed {
            at: 1000,
            home: None
        }
    );
    assert_eq!(counters.orphaned, 1);
    assert_eq!((ledger.early.len(), ledger.calls.len()), (0, 0));
}

/// At the cap, a completion with no room to wait is counted at once (never lost) and the
/// cap is counted; homes past the cap are counted as evicted.
#[test]
fn caps_count_and_lose_nothing() {
    let limits = LedgerLimits {
        max_calls: 2,
        ..LIMITS
    };
    let mut ledger = CallLedger::new(limits, Some(86_400_000));
    let (mut sink, mut counters) = (Recorder::default(), PartitionCounters::default());
    for c in 0..3 {
        ledger.completed(c, done(1000), &mut sink, &mut counters);
    }
    assert_eq!(
        sink.0,
        [Seen::Completed {
            at: 1000,
            home: None
        }]
    );
    assert_eq!(counters.fcr_untracked, 1);
    for c in 10..13 {
        ledger.queued(q(c, 0, Ts(0), None, None), &mut sink, &mut counters);
        ledger.outcome(c, 0, Outcome::Answered, Ts(10), &mut sink, &mut counters);
    }
    assert_eq!(ledger.homes.len(), 2);
    assert_eq!(counters.call_evicted, 1);
    // Homes expire after their retention.
    ledger.expire(Ts(86_400_000 + 11), &mut sink, &mut counters);
    assert_eq!(ledger.homes.len(), 0);
}

use proptest::prelude::*;

use super::*;

const H: i64 = 3_600_000;

fn tracker(cap: usize) -> FcrTracker {
    FcrTracker::new(24 * 3600, cap, 60_000, 2 * 24 * 60 + 1)
}

fn completed(customer: u64, offered: i64, done: i64) -> FcrFact {
    FcrFact::Completed {
        customer,
        offered: Ts(offered),
        done: Ts(done),
        queue: Arc::from("q"),
        key: Ts(done),
    }
}

fn totals(t: &FcrTracker) -> (u64, u64, u64) {
    let v = t.view(Ts(0), &MetricsPolicy::default());
    v.first().map_or((0, 0, 0), |(_, q)| {
        (q.totals.eligible, q.totals.success, q.pending)
    })
}

#[test]
fn repeat_within_the_window_fails_quiet_customer_succeeds() {
    let mut t = tracker(100);
    t.apply(&FcrFact::Contact {
        customer: 1,
        at: Ts(0),
    });
    t.apply(&completed(1, 0, H));
    t.apply(&FcrFact::Contact {
        customer: 2,
        at: Ts(0),
    });
    t.apply(&completed(2, 0, H));
    assert_eq!(totals(&t), (0, 0, 2), "both pending");
    t.apply(&FcrFact::Contact {
        customer: 1,
        at: Ts(5 * H),
    });
    assert_eq!(totals(&t), (1, 0, 1), "customer 1 called back");
    // Time passes the end of customer 2's window (completion + 24 h) by more than the lag.
    t.apply(&FcrFact::Contact {
        customer: 3,
        at: Ts(26 * H),
    });
    assert_eq!(totals(&t), (2, 1, 0));
    // Customers 1 and 2 were idle for a window: forgotten.
    assert_eq!(t.customers(), 2, "customer 1 (contact at 5 h) and 3 remain");
}

#[test]
fn a_repeat_seen_before_the_late_completion_still_counts() {
    let mut t = tracker(100);
    t.apply(&FcrFact::Contact {
        customer: 1,
        at: Ts(2 * H),
    });
    t.apply(&completed(1, 0, H));
    assert_eq!(totals(&t), (1, 0, 0));
}

#[test]
fn the_cap_evicts_the_idlest_customer() {
    let mut t = tracker(2);
    t.apply(&completed(1, 0, H));
    t.apply(&completed(2, 0, 2 * H));
    t.apply(&completed(3, 0, 3 * H));
    assert_eq!(t.customers(), 2);
    assert_eq!(t.evicted, 1);
    assert_eq!(
        totals(&t),
        (0, 0, 2),
        "the evicted contact is not pending any more"
    );
}

/// Naive FCR: for each completion, eligible when its window closed before the last time
/// seen, success when no contact of the customer falls in (offered, done + window].
fn naive(facts: &[FcrFact], window: i64) -> (u64, u64) {
    let end = facts
        .iter()
        .map(|f| match f {
            FcrFact::Contact { at, .. } => at.millis(),
            FcrFact::Completed { done, .. } => done.millis(),
        })
        .max()
        .unwrap_or(0);
    let (mut eligible, mut success) = (0, 0);
    for f in facts {
        if let FcrFact::Completed {
            customer,
            offered,
            done,
            ..
        } = f
        {
            let deadline = done.millis() + window;
            let repeat = facts.iter().any(|g| {
                matches!(g, FcrFact::Contact { customer: c, at }
                    if c == customer && *at > *offered && *at >= *done && at.millis() <= deadline)
            });
            if repeat {
                eligible += 1;
            } else if deadline < end - SETTLE_LAG_MS {
                eligible += 1;
                success += 1;
            }
        }
    }
    (eligible, success)
}

proptest! {
    /// In time order and with room for everyone, the tracker is the naive count.
    #[test]
    fn matches_the_naive_count(
        contacts in proptest::collection::vec((0u64..6, 0i64..288, 0i64..3), 1..40)
    ) {
        // Quarter hours, and handle times of whole quarters: contacts land inside other
        // contacts of the same customer (parallel, not repeats) and exactly at their
        // completion (a repeat), as second-resolution logs stamp them.
        let mut facts = Vec::new();
        for (customer, quarter, handle) in &contacts {
            let offered = quarter * H / 4;
            facts.push(FcrFact::Contact { customer: *customer, at: Ts(offered) });
            facts.push(completed(*customer, offered, offered + handle * H / 4));
        }
        facts.sort_by_key(|f| match f {
            FcrFact::Contact { at, .. } => (at.millis(), 0),
            FcrFact::Completed { done, .. } => (done.millis(), 1),
        });
        let mut t = tracker(1000);
        for f in &facts {
            t.apply(f);
        }
        let (eligible, success, _) = totals(&t);
        prop_assert_eq!((eligible, success), naive(&facts, 24 * H));
    }
}

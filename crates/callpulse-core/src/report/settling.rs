//! FCR outcomes on their way to report rows, for the queue report and the agent report
//! alike: the one FCR tracker, and the outcomes it counted held until their window has
//! closed by the tracker's lag. A report counts failures and successes at the same point:
//! counting a failure as soon as it is known, and a success only when the window closes,
//! would bias a row's FCR down while it is open.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use callpulse_events::Ts;

use crate::fcr::{FcrFact, FcrTracker, SETTLE_LAG_MS};

/// An outcome waiting: (window's end ms, key ms, success, unit).
type Waiting = (i64, i64, bool, Arc<str>);

/// One outcome for a row: the instant its row is chosen by (`key`), the unit the fact named
/// (a queue, or an agent report's agent), and the outcome (`None`: the window was still
/// open when the history ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) key: Ts,
    pub(crate) unit: Arc<str>,
    pub(crate) success: Option<bool>,
}

#[derive(Debug)]
pub(crate) struct FcrSettling {
    fcr: FcrTracker,
    /// Earliest window end first.
    waiting: BinaryHeap<Reverse<Waiting>>,
}

impl FcrSettling {
    /// Settles the outcomes of `fcr` (which logs them for this).
    pub(crate) fn new(fcr: FcrTracker) -> Self {
        FcrSettling {
            fcr: fcr.logging_settlements(),
            waiting: BinaryHeap::new(),
        }
    }

    pub(crate) fn apply(&mut self, fact: &FcrFact) {
        self.fcr.apply(fact);
    }

    /// Customers evicted at the tracker's cap with contacts pending.
    pub(crate) fn evicted(&self) -> u64 {
        self.fcr.evicted
    }

    /// Moves event time to `hw` and returns the outcomes final by then.
    pub(crate) fn settle(&mut self, hw: Ts) -> Vec<Outcome> {
        // Event time moves FCR windows as the engine's ticks do, contacts or not.
        self.fcr.advance(hw);
        self.take_logged();
        let before = hw.millis() - SETTLE_LAG_MS;
        let mut out = Vec::new();
        while let Some(Reverse((deadline, ..))) = self.waiting.peek() {
            if *deadline >= before {
                break;
            }
            if let Some(Reverse((_, key, success, unit))) = self.waiting.pop() {
                out.push(Outcome {
                    key: Ts(key),
                    unit,
                    success: Some(success),
                });
            }
        }
        out
    }

    /// Ends a history at `end`: every outcome whose window closed by then (without the lag
    /// that waits for slower partitions), and the contacts still open.
    pub(crate) fn finish(&mut self, end: Ts) -> Vec<Outcome> {
        let open = self.fcr.close(end);
        self.take_logged();
        let mut out = Vec::new();
        while let Some(Reverse((deadline, key, success, unit))) = self.waiting.pop() {
            out.push(Outcome {
                key: Ts(key),
                unit,
                success: (deadline <= end.millis()).then_some(success),
            });
        }
        out.extend(open.into_iter().map(|(unit, key)| Outcome {
            key,
            unit,
            success: None,
        }));
        out
    }

    fn take_logged(&mut self) {
        for s in self.fcr.drain_settled() {
            self.waiting.push(Reverse((
                s.deadline.millis(),
                s.key.millis(),
                s.success,
                s.queue,
            )));
        }
    }
}

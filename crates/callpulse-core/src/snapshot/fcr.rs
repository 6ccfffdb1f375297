//! FCR in the snapshot: the repartition topic's partitions merged per queue.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::figures::ratio;
use super::{FcrView, FcrWindow, Snapshot};
use crate::fcr::{FcrCounts, FcrPart};
use crate::window::Merge;

impl Snapshot {
    /// Attaches FCR: the merge of the repartition topic's partitions (`parts`), plus the
    /// outcomes this process counted in partitions it has since given away (`retired`,
    /// for the Prometheus counters only: the partitions' new owners hold their history).
    pub fn with_fcr(
        mut self,
        parts: &[Arc<FcrPart>],
        retired: &BTreeMap<Arc<str>, FcrCounts>,
    ) -> Snapshot {
        #[derive(Default)]
        struct Acc {
            windows: Vec<FcrCounts>,
            totals: FcrCounts,
            counted: FcrCounts,
            pending: u64,
        }
        let mut queues: BTreeMap<Arc<str>, Acc> = BTreeMap::new();
        for (name, counted) in retired {
            queues
                .entry(Arc::clone(name))
                .or_default()
                .counted
                .merge(counted);
        }
        for part in parts {
            self.engine.fcr_customers += part.customers;
            self.engine.counters.fcr_evicted += part.evicted;
            for q in &part.queues {
                let acc = queues.entry(Arc::clone(&q.name)).or_default();
                if acc.windows.len() < q.windows.len() {
                    acc.windows.resize_with(q.windows.len(), FcrCounts::default);
                }
                for (ours, theirs) in acc.windows.iter_mut().zip(&q.windows) {
                    ours.merge(theirs);
                }
                acc.totals.merge(&q.totals);
                acc.counted.merge(&q.counted);
                acc.pending += q.pending;
            }
        }
        for (name, acc) in queues {
            let Some(q) = self.queues.iter_mut().find(|q| q.queue == name) else {
                continue;
            };
            let t = acc.totals;
            q.fcr = Some(FcrView {
                windows: self
                    .windows
                    .iter()
                    .zip(&acc.windows)
                    .map(|(label, w)| FcrWindow {
                        window: label.clone(),
                        eligible: w.eligible,
                        success: w.success,
                        fcr: ratio(w.success, w.eligible),
                    })
                    .collect(),
                eligible_total: t.eligible,
                success_total: t.success,
                counted: acc.counted,
                pending: acc.pending,
                provisional: ratio(t.success + acc.pending, t.eligible + acc.pending),
            });
        }
        self
    }
}

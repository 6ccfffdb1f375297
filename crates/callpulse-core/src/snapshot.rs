//! The one snapshot every reader sees: partition snapshots merged, derived figures computed.
//!
//! `/metrics`, `/ws` and `/api/v1/snapshot` all read the same `Arc<Snapshot>`, so one scrape
//! and one WebSocket frame always agree on one `seq`.
//!
//! Here: the merge. Beside it: `views.rs` (the reader-facing types, the JSON of the API and
//! the feed) and `derive.rs` (the formulas turning aggregates into figures).

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::{AgentState, Ts};
use serde::Serialize;

use crate::adherence::AdherenceView;
use crate::calls::{CallAgg, CallTotals};
use crate::live::{AgentCalls, AgentCallsView, AgentView, TeamStates};
use crate::occupancy::{AgentTime, StateTimeView};
use crate::partition::{PartitionCounters, PartitionSnapshot};
use crate::periods::PERIOD_LABELS;
use crate::policy::{MetricsPolicy, QueuePolicy};
use crate::tickets::{CHANNELS, TicketAgg, TicketLive};
use crate::window::Merge;

/// Lifetime totals of partitions this instance no longer owns. Exported counters are
/// `retired + live`, so giving a partition away never makes a counter go down.
#[derive(Debug, Clone, Default)]
pub struct Retired {
    pub queues: BTreeMap<Arc<str>, CallTotals>,
    pub counters: PartitionCounters,
    /// What partitions restored from checkpoints brought with them: history this process
    /// did not count. The snapshot's totals include it (they equal those of a run that
    /// never stopped); the Prometheus counters leave it out, so a restart never continues a
    /// counter from a lower non-zero value and `sum()` across instances counts each event
    /// once.
    pub restored_queues: BTreeMap<Arc<str>, CallTotals>,
    pub restored_counters: PartitionCounters,
    /// Retired totals of partitions that came back to this instance: their restored state
    /// holds that history again, so the snapshot's totals leave it out of `queues` and
    /// `counters` (the Prometheus counters keep it: it was counted here).
    pub superseded_queues: BTreeMap<Arc<str>, CallTotals>,
    pub superseded_counters: PartitionCounters,
    /// The last retired totals of each partition, until it comes back.
    retired_by: BTreeMap<(Arc<str>, i32), Box<Retired>>,
}

impl EngineView {
    /// The counters as this process counted them: what Prometheus exports.
    pub fn counted_here(&self) -> PartitionCounters {
        let mut here = self.counters;
        here.remove(&self.restored);
        here
    }
}

impl Retired {
    /// Keeps the lifetime part of (`topic`, `partition`)'s last snapshot, as it is revoked.
    pub fn retire(&mut self, topic: &Arc<str>, partition: i32, last: &PartitionSnapshot) {
        self.absorb(last);
        let mut own = Retired::default();
        own.absorb(last);
        self.retired_by
            .insert((Arc::clone(topic), partition), Box::new(own));
    }

    /// Notes (`topic`, `partition`) restored from its checkpoint: its lifetime totals so far
    /// are history this process did not count, and what it retired of the partition before
    /// is in them again.
    pub fn restore(&mut self, topic: &Arc<str>, partition: i32, first: &PartitionSnapshot) {
        self.absorb_restored(first);
        if let Some(own) = self.retired_by.remove(&(Arc::clone(topic), partition)) {
            for (queue, totals) in &own.queues {
                self.superseded_queues
                    .entry(Arc::clone(queue))
                    .or_default()
                    .merge(totals);
            }
            self.superseded_counters.merge(&own.counters);
        }
    }

    /// Keeps the lifetime part of a partition just restored from a checkpoint, as history
    /// this process did not count.
    pub fn absorb_restored(&mut self, first: &PartitionSnapshot) {
        for q in &first.queues {
            self.restored_queues
                .entry(Arc::clone(&q.name))
                .or_default()
                .merge(&q.totals);
        }
        self.restored_counters.merge(&first.counters);
    }

    /// Keeps the lifetime part of a partition's last snapshot.
    pub fn absorb(&mut self, last: &PartitionSnapshot) {
        for q in &last.queues {
            self.queues
                .entry(Arc::clone(&q.name))
                .or_default()
                .merge(&q.totals);
        }
        self.counters.merge(&last.counters);
    }
}

/// Engine bookkeeping visible to readers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineView {
    /// Partitions whose state this instance owns now.
    pub partitions: usize,
    /// Newest event time applied, RFC 3339; `null` before the first event.
    pub last_event_ts: Option<String>,
    pub last_event_ms: Option<i64>,
    pub counters: PartitionCounters,
    /// The part of `counters` restored partitions brought from their checkpoints (see
    /// [`Retired::restored_counters`]); [`EngineView::counted_here`] leaves it out.
    #[serde(skip)]
    pub restored: PartitionCounters,
    /// Messages this instance read from Kafka, and rejected (filled in by the engine from its
    /// ingest telemetry; the core itself never sees Kafka).
    pub consumed: u64,
    pub rejected: u64,
    /// Customers the FCR partitions merged into this snapshot remember.
    pub fcr_customers: u64,
    /// The wall clock when the snapshot was built; the snapshot's own `at` is the instant
    /// its figures are read at (the instance watermark, docs/time.md). `wall_ms - at_ms` is
    /// how far behind real time the figures are (0 when caught up).
    pub wall_ms: i64,
    /// Partitions whose snapshot was not read for this tick (their worker missed the tick's
    /// deadline), so their windows end at an earlier instant.
    pub stale_partitions: usize,
    /// Seconds (wall time) since the Kafka cluster was last heard from: a broker up in the
    /// client's statistics (every second), or a message. `null` before the first contact.
    pub broker_contact_age_s: Option<f64>,
    /// Seconds (wall time) since the last message was received; `null` before the first.
    pub last_message_age_s: Option<f64>,
    /// This instance's id (`ingest.shared.instance`).
    pub instance: String,
    /// Partitions merged into this snapshot that other instances own (read from the
    /// snapshot topic); 0 when the instance shows only its own.
    pub remote_partitions: usize,
    /// Every partition merged into this snapshot: who owns it and how fresh its part is.
    pub sources: Vec<SourceView>,
    /// Seconds (wall time) since the oldest of the other instances' parts was published;
    /// `null` when none is merged.
    pub oldest_remote_age_s: Option<f64>,
    /// Queues and teams this instance has but exports no series of on `/metrics`
    /// (`export.max_unconfigured_labels`); they are in the API and the feed.
    pub queues_withheld: usize,
    pub teams_withheld: usize,
}

/// Where one partition's part of a snapshot comes from, and how fresh it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceView {
    pub topic: Arc<str>,
    pub partition: i32,
    /// `events` (an input partition) or `fcr` (a partition of the FCR repartition topic).
    pub kind: &'static str,
    /// The owning instance's id.
    pub owner: String,
    /// Whether this instance owns it (its part is read at this snapshot's tick).
    pub here: bool,
    /// The instant (event time, ms) its windows were read at.
    pub read_at_ms: i64,
    /// Seconds (wall time) since its owner published it; 0 for this instance's own.
    pub age_s: f64,
}

impl EngineView {
    /// Messages fully dealt with: applied in any way, or rejected.
    pub fn processed(&self) -> u64 {
        let c = &self.counters;
        c.applied + c.late + c.parked + c.ignored + self.rejected
    }
}

/// Everything readers see, at one sequence number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Increases by one per published snapshot; a client seeing a gap missed updates.
    pub seq: u64,
    /// When it was built (RFC 3339 and ms).
    pub at: String,
    pub at_ms: i64,
    /// Window labels in configuration order (`5m`, `15m`, ...).
    pub windows: Vec<String>,
    pub queues: Vec<QueueView>,
    /// The whole center: every queue's calls, the SL at `[metrics.default_queue]`'s
    /// thresholds and formula (on the API and WebSocket feed; on /metrics, sum the queues'
    /// numerators and denominators instead).
    pub center: CenterView,
    pub teams: Vec<TeamView>,
    pub agents: Vec<AgentView>,
    pub engine: EngineView,
    /// The partitions' scheduled seconds per team, until [`Snapshot::with_plan`] reads them.
    #[serde(skip)]
    scheduled: plan::Scheduled,
    /// The latest of the partitions' oldest event times: from when every partition merged
    /// has seen the calls (the reforecast's "so far" begins there, or at midnight).
    #[serde(skip)]
    history_from: Option<Ts>,
}

impl Snapshot {
    /// An empty snapshot (before any partition has published).
    pub fn empty(policy: &MetricsPolicy, at: Ts) -> Snapshot {
        Snapshot::build(0, at, &[], &Retired::default(), policy)
    }

    /// Merges partition snapshots (plus retired totals) into the readers' view.
    pub fn build(
        seq: u64,
        at: Ts,
        parts: &[Arc<PartitionSnapshot>],
        retired: &Retired,
        policy: &MetricsPolicy,
    ) -> Snapshot {
        let mut labels = policy.window_labels();
        labels.extend(PERIOD_LABELS.map(String::from));
        #[derive(Default)]
        struct Acc {
            windows: Vec<CallAgg>,
            waiting: u64,
            oldest: Option<Ts>,
            totals: CallTotals,
            tickets: Option<(Vec<TicketAgg>, TicketLive)>,
        }
        let mut queues: BTreeMap<Arc<str>, Acc> = BTreeMap::new();
        for (name, totals) in &retired.queues {
            queues
                .entry(Arc::clone(name))
                .or_default()
                .totals
                .merge(totals);
        }
        let mut teams: BTreeMap<Arc<str>, TeamStates> = BTreeMap::new();
        let mut team_time: BTreeMap<Arc<str>, Vec<AgentTime>> = BTreeMap::new();
        let mut agents: Vec<AgentView> = Vec::new();
        let mut counters = retired.counters;
        let mut center: Vec<CallAgg> = Vec::new();
        let mut high_water: Option<Ts> = None;
        for part in parts {
            if center.len() < part.center.len() {
                center.resize_with(part.center.len(), CallAgg::default);
            }
            for (ours, theirs) in center.iter_mut().zip(&part.center) {
                ours.merge(theirs);
            }
            for q in &part.queues {
                let acc = queues.entry(Arc::clone(&q.name)).or_default();
                if acc.windows.len() < q.windows.len() {
                    acc.windows.resize_with(q.windows.len(), CallAgg::default);
                }
                for (ours, theirs) in acc.windows.iter_mut().zip(&q.windows) {
                    ours.merge(theirs);
                }
                acc.waiting += q.waiting;
                acc.oldest = match (acc.oldest, q.oldest_waiting) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                acc.totals.merge(&q.totals);
                if let Some((windows, live)) = &q.tickets {
                    let (ours, our_live) = acc
                        .tickets
                        .get_or_insert_with(|| (Vec::new(), TicketLive::default()));
                    if ours.len() < windows.len() {
                        ours.resize_with(windows.len(), TicketAgg::default);
                    }
                    for (o, t) in ours.iter_mut().zip(windows) {
                        o.merge(t);
                    }
                    our_live.merge(live);
                }
            }
            for (team, states) in &part.teams {
                let ours = teams.entry(Arc::clone(team)).or_default();
                for (o, t) in ours.iter_mut().zip(states) {
                    *o += t;
                }
            }
            for (team, windows) in &part.team_time {
                let ours = team_time.entry(Arc::clone(team)).or_default();
                if ours.len() < windows.len() {
                    ours.resize_with(windows.len(), AgentTime::default);
                }
                for (o, t) in ours.iter_mut().zip(windows) {
                    o.merge(t);
                }
            }
            agents.extend(part.agents.iter().cloned());
            counters.merge(&part.counters);
            high_water = high_water.max(part.high_water);
        }
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        let mut agent_calls: BTreeMap<Arc<str>, AgentCalls> = BTreeMap::new();
        for part in parts {
            for (agent, calls) in &part.agent_calls {
                agent_calls
                    .entry(Arc::clone(agent))
                    .or_default()
                    .merge(calls);
            }
        }
        // A team's day: its agents' calls, surveys and evaluations merged, their time in
        // state summed; QA coverage over the agents the snapshot holds for it.
        let mut team_days: BTreeMap<Arc<str>, TeamDayAcc> = BTreeMap::new();
        for agent in &mut agents {
            let calls = agent_calls.get(&agent.agent_id);
            agent.calls_today = calls.map(AgentCallsView::from);
        }
        for agent in &agents {
            let acc = team_days.entry(Arc::clone(&agent.team)).or_default();
            acc.members.push(agent);
            if let Some(calls) = agent_calls.get(&agent.agent_id) {
                acc.calls.merge(calls);
            }
        }
        let team_days: BTreeMap<Arc<str>, TeamDay> = team_days
            .into_iter()
            .map(|(team, acc)| (team, acc.day()))
            .collect();
        center.resize_with(labels.len(), CallAgg::default);
        let center = CenterView {
            sl_thresholds_secs: policy.default_queue.sl_thresholds_secs.clone(),
            sl_target: policy.default_queue.sl_target,
            waiting: queues.values().map(|acc| acc.waiting).sum(),
            longest_wait_s: queues
                .values()
                .filter_map(|acc| acc.oldest)
                .min()
                .map_or(0.0, |oldest| secs(at.millis_since(oldest).max(0) as u64)),
            windows: labels
                .iter()
                .zip(&center)
                .map(|(label, agg)| window_metrics(label, agg, &policy.default_queue))
                .collect(),
            status: QueueStatus::default(),
            day: TeamDay::default(),
            groups: Vec::new(),
            plan: Vec::new(),
        };
        let team_calls = rollup(
            queues
                .iter()
                .map(|(name, acc)| (name, acc.windows.as_slice())),
            policy,
            &labels,
            |queue| policy.queue(queue).team.as_deref(),
        );
        let org = org::Org {
            policy,
            at,
            labels: &labels,
            queues: queues
                .iter()
                .map(|(name, acc)| (name, acc.windows.as_slice(), acc.waiting, acc.oldest))
                .collect(),
            teams: &teams,
            team_time: &team_time,
            agents: &agents,
            agent_calls: &agent_calls,
        };
        let (center_day, groups) = (org.center_day(), org.groups());
        let calendar = policy.calendar();
        let mut queues: Vec<QueueView> = queues
            .into_iter()
            .map(|(name, mut acc)| {
                acc.windows.resize_with(labels.len(), CallAgg::default);
                let queue_policy = policy.queue(&name);
                let thresholds = &queue_policy.sl_thresholds_secs;
                let bounds = policy.wait_bounds(queue_policy);
                // The totals less a part of them (superseded or restored history); nothing
                // to copy in the usual case, where no partition was restored.
                let less = |part: Option<&CallTotals>| match part {
                    None => totals_view(&acc.totals, thresholds, &bounds),
                    Some(part) => {
                        let mut rest = acc.totals.clone();
                        rest.remove(part);
                        totals_view(&rest, thresholds, &bounds)
                    }
                };
                QueueView {
                    team: queue_policy.team.as_deref().map(Arc::from),
                    open: queue_policy.opening_hours.is_open(&calendar, at),
                    sl_thresholds_secs: thresholds.clone(),
                    sl_target: queue_policy.sl_target,
                    short_abandon_secs: queue_policy.short_abandon_secs,
                    waiting: acc.waiting,
                    longest_wait_s: acc
                        .oldest
                        .map_or(0.0, |oldest| secs(at.millis_since(oldest).max(0) as u64)),
                    windows: labels
                        .iter()
                        .zip(&acc.windows)
                        .map(|(label, agg)| window_metrics(label, agg, queue_policy))
                        .collect(),
                    totals: less(retired.superseded_queues.get(&name)),
                    counted: less(retired.restored_queues.get(&name)),
                    staffing: staffing(policy, queue_policy, &labels, &acc.windows, at, &teams),
                    fcr: None,
                    forecast: None,
                    status: QueueStatus::default(),
                    tickets: acc.tickets.as_ref().map(|(windows, live)| TicketView {
                        live: *live,
                        windows: labels
                            .iter()
                            .zip(windows)
                            .map(|(label, agg)| ticket_window(label, agg))
                            .collect(),
                    }),
                    queue: name,
                }
            })
            .collect();
        let alert_window = policy
            .windows_mins
            .iter()
            .position(|m| *m == policy.alert_window_mins)
            .unwrap_or(0);
        for queue in &mut queues {
            queue.status = QueueStatus::judge(queue, alert_window, policy.queue(&queue.queue));
        }
        let mut center = center;
        (center.day, center.groups) = (center_day, groups);
        center.status = QueueStatus::judge_figures(
            &Figures {
                windows: &center.windows,
                thresholds: &center.sl_thresholds_secs,
                waiting: center.waiting,
                longest_wait_s: center.longest_wait_s,
                tickets: None,
            },
            alert_window,
            &policy.default_queue,
        );
        let teams = teams
            .into_iter()
            .map(|(team, s)| TeamView {
                calls: team_calls.get(&team).cloned(),
                day: team_days.get(&team).cloned().unwrap_or_default(),
                windows: team_time
                    .get(&team)
                    .map(|windows| {
                        labels
                            .iter()
                            .zip(windows)
                            .map(|(label, t)| TeamWindow {
                                window: label.clone(),
                                time: StateTimeView::from(&t.states),
                                adherence: AdherenceView::from(&t.adherence),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                team,
                states: AgentCounts::from(&s),
                plan: Vec::new(),
            })
            .collect();
        Snapshot {
            seq,
            at: at.to_rfc3339(),
            at_ms: at.millis(),
            windows: labels,
            queues,
            center,
            teams,
            agents,
            scheduled: plan::merge_scheduled(parts),
            history_from: parts.iter().filter_map(|p| p.low_water).max(),
            engine: EngineView {
                partitions: parts.len(),
                last_event_ts: high_water.map(Ts::to_rfc3339),
                last_event_ms: high_water.map(Ts::millis),
                counters: {
                    let mut whole = counters;
                    whole.remove(&retired.superseded_counters);
                    whole
                },
                // What `counters` holds that this process did not count.
                restored: {
                    let mut restored = retired.restored_counters;
                    restored.remove(&retired.superseded_counters);
                    restored
                },
                consumed: 0,
                rejected: 0,
                fcr_customers: 0,
                wall_ms: at.millis(),
                stale_partitions: 0,
                broker_contact_age_s: None,
                last_message_age_s: None,
                instance: String::new(),
                remote_partitions: 0,
                sources: Vec::new(),
                oldest_remote_age_s: None,
                queues_withheld: 0,
                teams_withheld: 0,
            },
        }
    }

    /// The queue named `name`.
    pub fn queue(&self, name: &str) -> Option<&QueueView> {
        self.queues.iter().find(|q| &*q.queue == name)
    }
}

mod derive;
mod fcr;
mod figures;
mod org;
mod plan;
mod shared;
mod status;
mod views;

use status::Figures;

use derive::{rollup, staffing, ticket_window, totals_view};
pub(crate) use figures::window_metrics;
pub use figures::{WINDOW_FIGURES, WINDOW_FIGURES_BY_THRESHOLD, WindowMetrics};
use figures::{avg_s, ratio, secs};
pub use plan::{ForecastInterval, PlanInterval, QueueForecast};
pub use shared::{SharedBody, SharedPart, SharedRef};
pub use status::{CHECKS, Check, Level, QueueStatus};
use views::TeamDayAcc;
pub use views::{
    AgentCounts, CenterView, ChannelCounts, FcrView, FcrWindow, GroupView, QueueView, StaffingView,
    TeamDay, TeamView, TeamWindow, TicketView, TicketWindow, TotalsView,
};

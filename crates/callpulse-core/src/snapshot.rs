//! The one snapshot every reader sees: partition snapshots merged, derived figures computed.
//!
//! `/metrics`, `/ws` and `/api/v1/snapshot` all read the same `Arc<Snapshot>`, so one scrape
//! and one WebSocket frame always agree on one `seq`.

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::{AgentState, Ts};
use serde::Serialize;

use crate::calls::{CallAgg, CallTotals};
use crate::fcr::FcrTracker;
use crate::live::{AgentCalls, AgentCallsView, AgentView, TeamStates};
use crate::occupancy::{StateTimeView, StateTimes};
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
}

impl Retired {
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

/// One window's figures for one queue: the raw numerators and denominators (so sums across
/// queues and instances stay correct) and the derived ratios and averages. Times in seconds;
/// a ratio or average is `null` when its denominator is 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowMetrics {
    pub window: String,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    /// Answered within each SL threshold, keyed by threshold in seconds.
    pub answered_within: BTreeMap<u32, u64>,
    /// The denominator of the queue's SL formula (`answered + abandoned - short_abandoned`
    /// by default).
    pub sl_denominator: u64,
    /// answered_within / sl_denominator, keyed by threshold in seconds.
    pub service_level: BTreeMap<u32, Option<f64>>,
    /// Abandonment rate's denominator: offered, minus short abandons when they are excluded.
    pub abandon_denominator: u64,
    /// (abandoned - short_abandoned) / (offered - short_abandoned) by default.
    pub abandon_rate: Option<f64>,
    pub wait_sum_s: f64,
    pub asa_s: Option<f64>,
    pub wait_p50_s: Option<f64>,
    pub wait_p90_s: Option<f64>,
    pub wait_p99_s: Option<f64>,
    pub wait_max_s: Option<f64>,
    pub avg_abandon_s: Option<f64>,
    pub completed: u64,
    pub handle_sum_s: f64,
    pub aht_s: Option<f64>,
    pub talk_avg_s: Option<f64>,
    pub hold_avg_s: Option<f64>,
    pub acw_avg_s: Option<f64>,
    /// Sums of AHT's parts (numerators of the averages).
    pub talk_sum_s: f64,
    pub hold_sum_s: f64,
    pub acw_sum_s: f64,
    /// Completed calls with hold time, and their share of completed calls.
    pub held_calls: u64,
    /// Calls queued here by a transfer (part of `offered`), and calls that left this queue
    /// by a transfer. The center counts contacts, so its own are 0.
    pub transferred_in: u64,
    pub transferred_out: u64,
    pub hold_rate: Option<f64>,
    /// Share of completed calls the agent flagged `resolved: true`, of those with the flag.
    pub resolved_reported_ratio: Option<f64>,
    pub csat_responses: u64,
    pub csat_positive: u64,
    /// Top-2-box share: csat_positive / csat_responses.
    pub csat: Option<f64>,
    pub csat_mean: Option<f64>,
}

/// Lifetime totals of one queue with the histogram bounds they were bucketed by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalsView {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub answered_within: BTreeMap<u32, u64>,
    pub answer_wait_s: f64,
    pub abandon_wait_s: f64,
    pub completed: u64,
    pub handle_s: f64,
    pub csat_responses: u64,
    pub csat_positive: u64,
    /// Wait histogram bucket upper bounds (seconds) and cumulative counts (Prometheus `le`);
    /// the count above the last bound is `answered` minus the last cumulative count.
    pub wait_le_bounds_s: Vec<u32>,
    pub wait_le_cumulative: Vec<u64>,
}

/// One queue in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    pub queue: Arc<str>,
    pub sl_thresholds_secs: Vec<u32>,
    pub sl_target: f64,
    pub short_abandon_secs: u32,
    /// Calls waiting now.
    pub waiting: u64,
    /// How long the longest-waiting call has waited, at the snapshot's time; 0 when none.
    pub longest_wait_s: f64,
    /// One entry per configured window, in configuration order.
    pub windows: Vec<WindowMetrics>,
    pub totals: TotalsView,
    /// Erlang C staffing now; `null` until the staffing window has a completed call.
    pub staffing: Option<StaffingView>,
    /// Ticket figures, for a queue that has had tickets.
    pub tickets: Option<TicketView>,
    /// Customer-based first contact resolution, for a queue with completed contacts of known
    /// customers.
    pub fcr: Option<FcrView>,
}

/// A queue's first contact resolution (see `fcr.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FcrView {
    /// Outcomes that became known within each sliding window.
    pub windows: Vec<FcrWindow>,
    pub eligible_total: u64,
    pub success_total: u64,
    /// Completed contacts whose window is open, no repeat contact so far.
    pub pending: u64,
    /// (success_total + pending) / (eligible_total + pending): the figure if no pending
    /// customer calls back (an upper bound).
    pub provisional: Option<f64>,
}

/// FCR outcomes known within one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FcrWindow {
    pub window: String,
    pub eligible: u64,
    pub success: u64,
    pub fcr: Option<f64>,
}

/// A queue's tickets: now, and per sliding window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub live: TicketLive,
    pub windows: Vec<TicketWindow>,
}

/// One window's ticket figures; times in seconds, `null` with a zero denominator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketWindow {
    pub window: String,
    pub created: u64,
    pub first_responses: u64,
    pub first_response_sum_s: f64,
    pub first_response_avg_s: Option<f64>,
    pub first_response_p90_s: Option<f64>,
    /// First responses later than their queue/priority target.
    pub first_response_breaches: u64,
    pub resolved: u64,
    pub resolution_sum_s: f64,
    pub resolution_avg_s: Option<f64>,
    pub resolution_p90_s: Option<f64>,
    pub reopened: u64,
    /// reopened / resolved.
    pub reopen_rate: Option<f64>,
    /// Created and resolved per channel (`email`, `chat`, `social`, `web`).
    pub by_channel: BTreeMap<&'static str, ChannelCounts>,
}

/// One channel's tickets in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    pub created: u64,
    pub resolved: u64,
}

fn ticket_window(label: &str, agg: &TicketAgg) -> TicketWindow {
    let p90 = |h: &crate::calls::WaitHistogram| h.quantile_ms(0.9).map(|s| s as f64);
    TicketWindow {
        window: label.to_owned(),
        created: agg.created,
        first_responses: agg.first_responses,
        first_response_sum_s: secs(agg.first_response_ms),
        first_response_avg_s: avg_s(agg.first_response_ms, agg.first_responses),
        first_response_p90_s: p90(&agg.first_response_hist),
        first_response_breaches: agg.first_response_breaches,
        resolved: agg.resolved,
        resolution_sum_s: secs(agg.resolution_ms),
        resolution_avg_s: avg_s(agg.resolution_ms, agg.resolved),
        resolution_p90_s: p90(&agg.resolution_hist),
        reopened: agg.reopened,
        reopen_rate: ratio(agg.reopened, agg.resolved),
        by_channel: CHANNELS
            .iter()
            .enumerate()
            .map(|(i, channel)| {
                let counts = ChannelCounts {
                    created: agg.created_by_channel[i],
                    resolved: agg.resolved_by_channel[i],
                };
                (channel.as_str(), counts)
            })
            .collect(),
    }
}

/// "Do I need more people right now": the Erlang C requirement at the current arrival rate
/// and AHT (both from `metrics.staffing_window_mins`), next to the agents the queue's team
/// has available, on a call or in wrap-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffingView {
    pub window: String,
    /// Offered calls per minute over the window's elapsed span.
    pub arrival_rate_per_min: f64,
    pub aht_s: f64,
    /// Offered load: arrival rate × AHT.
    pub traffic_erlangs: f64,
    /// The first SL threshold and the queue's target, which the requirement meets.
    pub threshold_s: u32,
    pub target: f64,
    /// Fewest agents meeting the target (Erlang C); `null` beyond any sane staff.
    pub required_agents: Option<u32>,
    /// The queue's team (`metrics.queues.NAME.team`) available + on_call + wrap_up now;
    /// `null` without a team.
    pub staffed_agents: Option<u64>,
    /// required − staffed: positive means short of people.
    pub gap_agents: Option<i64>,
}

/// The whole center's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CenterView {
    pub sl_thresholds_secs: Vec<u32>,
    pub sl_target: f64,
    /// Calls waiting now, over all queues, and the longest wait among them.
    pub waiting: u64,
    pub longest_wait_s: f64,
    pub windows: Vec<WindowMetrics>,
}

/// Agents per state for one team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamView {
    pub team: Arc<str>,
    pub available: u64,
    pub on_call: u64,
    pub wrap_up: u64,
    pub aux: u64,
    pub offline: u64,
    /// Time in state and occupancy over each sliding window, running states included.
    pub windows: Vec<TeamWindow>,
    /// The calls of the queues this team answers (`metrics.queues.NAME.team`), per window;
    /// `null` when no queue names the team. Service levels only when those queues share
    /// their thresholds and formula (answered-within counts of different thresholds do not
    /// add up).
    pub calls: Option<Vec<WindowMetrics>>,
}

/// One team's time in state over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamWindow {
    pub window: String,
    #[serde(flatten)]
    pub time: StateTimeView,
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
    /// Messages this instance read from Kafka, and rejected (filled in by the engine from its
    /// ingest telemetry; the core itself never sees Kafka).
    pub consumed: u64,
    pub rejected: u64,
    /// Customers the instance's FCR tracker remembers.
    pub fcr_customers: u64,
    /// The wall clock when the snapshot was built; the snapshot's own `at` is the instant
    /// its figures are read at (the instance watermark, docs/time.md). `wall_ms - at_ms` is
    /// how far behind real time the figures are (0 when caught up).
    pub wall_ms: i64,
    /// Partitions whose snapshot was not read for this tick (their worker missed the tick's
    /// deadline), so their windows end at an earlier instant.
    pub stale_partitions: usize,
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
        let mut team_time: BTreeMap<Arc<str>, Vec<StateTimes>> = BTreeMap::new();
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
                    ours.resize_with(windows.len(), StateTimes::default);
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
        for agent in &mut agents {
            agent.calls_today = agent_calls.get(&agent.agent_id).map(AgentCallsView::from);
        }
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
        };
        let team_calls = team_rollup(
            queues
                .iter()
                .map(|(name, acc)| (name, acc.windows.as_slice())),
            policy,
            &labels,
        );
        let queues = queues
            .into_iter()
            .map(|(name, mut acc)| {
                acc.windows.resize_with(labels.len(), CallAgg::default);
                let queue_policy = policy.queue(&name);
                let thresholds = &queue_policy.sl_thresholds_secs;
                QueueView {
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
                    totals: totals_view(&acc.totals, thresholds, &policy.wait_bounds(queue_policy)),
                    staffing: staffing(policy, queue_policy, &labels, &acc.windows, at, &teams),
                    fcr: None,
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
        let teams = teams
            .into_iter()
            .map(|(team, s)| TeamView {
                calls: team_calls.get(&team).cloned(),
                windows: team_time
                    .get(&team)
                    .map(|windows| {
                        labels
                            .iter()
                            .zip(windows)
                            .map(|(label, t)| TeamWindow {
                                window: label.clone(),
                                time: StateTimeView::from(t),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                team,
                available: s[AgentState::Available.index()],
                on_call: s[AgentState::OnCall.index()],
                wrap_up: s[AgentState::WrapUp.index()],
                aux: s[AgentState::Aux.index()],
                offline: s[AgentState::Offline.index()],
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
            engine: EngineView {
                partitions: parts.len(),
                last_event_ts: high_water.map(Ts::to_rfc3339),
                last_event_ms: high_water.map(Ts::millis),
                counters,
                consumed: 0,
                rejected: 0,
                fcr_customers: 0,
                wall_ms: at.millis(),
                stale_partitions: 0,
            },
        }
    }

    /// Attaches the instance's FCR figures to the queues, and the tracker's bookkeeping to
    /// the engine view, read at the snapshot's time.
    pub fn with_fcr(mut self, tracker: &FcrTracker, policy: &MetricsPolicy) -> Snapshot {
        self.engine.fcr_customers = tracker.customers() as u64;
        self.engine.counters.fcr_evicted = tracker.evicted;
        for (name, view) in tracker.view(Ts(self.at_ms), policy) {
            let Some(q) = self.queues.iter_mut().find(|q| q.queue == name) else {
                continue;
            };
            let t = view.totals;
            q.fcr = Some(FcrView {
                windows: self
                    .windows
                    .iter()
                    .zip(&view.windows)
                    .map(|(label, w)| FcrWindow {
                        window: label.clone(),
                        eligible: w.eligible,
                        success: w.success,
                        fcr: ratio(w.success, w.eligible),
                    })
                    .collect(),
                eligible_total: t.eligible,
                success_total: t.success,
                pending: view.pending,
                provisional: ratio(t.success + view.pending, t.eligible + view.pending),
            });
        }
        self
    }

    /// The queue named `name`.
    pub fn queue(&self, name: &str) -> Option<&QueueView> {
        self.queues.iter().find(|q| &*q.queue == name)
    }
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn avg_s(sum_ms: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum_ms as f64 / count as f64 / 1000.0)
}

/// Derives one window's figures from its aggregate; the formulas of `docs/metrics.md`.
pub(crate) fn window_metrics(label: &str, window: &CallAgg, policy: &QueuePolicy) -> WindowMetrics {
    let thresholds = &policy.sl_thresholds_secs;
    let agg = &window.counts;
    let den = agg.sl_denominator(policy.sl_formula);
    let (abandons, abandon_den) = agg.abandon_parts(policy.abandon_rate_excludes_short);
    let within: BTreeMap<u32, u64> = thresholds
        .iter()
        .zip(agg.answered_within)
        .map(|(t, n)| (*t, n))
        .collect();
    let quantile = |q: f64| window.wait_quantile_ms(q).map(secs);
    WindowMetrics {
        window: label.to_owned(),
        offered: agg.offered,
        answered: agg.answered,
        abandoned: agg.abandoned,
        short_abandoned: agg.short_abandoned,
        service_level: within.iter().map(|(t, n)| (*t, ratio(*n, den))).collect(),
        answered_within: within,
        sl_denominator: den,
        abandon_denominator: abandon_den,
        abandon_rate: ratio(abandons, abandon_den),
        wait_sum_s: secs(agg.answer_wait_ms),
        asa_s: avg_s(agg.answer_wait_ms, agg.answered),
        wait_p50_s: quantile(0.5),
        wait_p90_s: quantile(0.9),
        wait_p99_s: quantile(0.99),
        wait_max_s: (agg.answered > 0).then(|| secs(window.max_answer_wait_ms)),
        avg_abandon_s: avg_s(agg.abandon_wait_ms, agg.abandoned),
        completed: agg.completed,
        handle_sum_s: secs(agg.handle_ms()),
        aht_s: avg_s(agg.handle_ms(), agg.completed),
        talk_avg_s: avg_s(agg.talk_ms, agg.completed),
        hold_avg_s: avg_s(agg.hold_ms, agg.completed),
        acw_avg_s: avg_s(agg.acw_ms, agg.completed),
        talk_sum_s: secs(agg.talk_ms),
        hold_sum_s: secs(agg.hold_ms),
        acw_sum_s: secs(agg.acw_ms),
        held_calls: agg.held,
        transferred_in: agg.transferred_in,
        transferred_out: agg.transferred_out,
        hold_rate: ratio(agg.held, agg.completed),
        resolved_reported_ratio: ratio(agg.resolved_true, agg.resolved_reported),
        csat_responses: agg.csat_responses,
        csat_positive: agg.csat_positive,
        csat: ratio(agg.csat_positive, agg.csat_responses),
        csat_mean: (agg.csat_responses > 0)
            .then(|| agg.csat_score_sum as f64 / agg.csat_responses as f64),
    }
}

/// Each team's call figures: the merge of the queues that name it as their team.
fn team_rollup<'a>(
    queues: impl Iterator<Item = (&'a Arc<str>, &'a [CallAgg])>,
    policy: &MetricsPolicy,
    labels: &[String],
) -> BTreeMap<Arc<str>, Vec<WindowMetrics>> {
    let mut teams: BTreeMap<Arc<str>, (Vec<CallAgg>, Option<QueuePolicy>, bool)> = BTreeMap::new();
    for (name, acc) in queues {
        let queue_policy = policy.queue(name);
        let Some(team) = queue_policy.team.as_deref() else {
            continue;
        };
        let (windows, shared, differ) = teams.entry(Arc::from(team)).or_default();
        if windows.len() < labels.len() {
            windows.resize_with(labels.len(), CallAgg::default);
        }
        for (ours, theirs) in windows.iter_mut().zip(acc) {
            ours.merge(theirs);
        }
        match shared {
            None => *shared = Some(queue_policy.clone()),
            Some(first) => {
                *differ |= first.sl_thresholds_secs != queue_policy.sl_thresholds_secs
                    || first.sl_formula != queue_policy.sl_formula;
            }
        }
    }
    teams
        .into_iter()
        .map(|(team, (windows, shared, differ))| {
            let mut rollup = shared.unwrap_or_default();
            let mut windows = windows;
            if differ {
                // Not comparable: keep the counts, drop the service levels.
                rollup.sl_thresholds_secs.clear();
                for w in &mut windows {
                    w.counts.answered_within = [0; crate::calls::MAX_SL_THRESHOLDS];
                }
            }
            let views = labels
                .iter()
                .zip(&windows)
                .map(|(label, agg)| window_metrics(label, agg, &rollup))
                .collect();
            (team, views)
        })
        .collect()
}

/// The Erlang C figures of one queue (see [`StaffingView`]).
fn staffing(
    policy: &MetricsPolicy,
    queue: &QueuePolicy,
    labels: &[String],
    windows: &[CallAgg],
    at: Ts,
    teams: &BTreeMap<Arc<str>, TeamStates>,
) -> Option<StaffingView> {
    let i = policy
        .windows_mins
        .iter()
        .position(|m| *m == policy.staffing_window_mins)?;
    let counts = &windows.get(i)?.counts;
    // The window is the current bucket so far plus the whole ones before it.
    let bucket_ms = policy.bucket_ms();
    let buckets = i64::from(policy.staffing_window_mins) * 60_000 / bucket_ms;
    let span_s = ((buckets - 1) * bucket_ms + at.millis().rem_euclid(bucket_ms)) as f64 / 1000.0;
    if counts.completed == 0 || span_s <= 0.0 {
        return None;
    }
    let rate_per_s = counts.offered as f64 / span_s;
    let aht_s = counts.handle_ms() as f64 / counts.completed as f64 / 1000.0;
    let threshold_s = queue.sl_thresholds_secs.first().copied().unwrap_or(20);
    let required = crate::erlang::required_agents(
        rate_per_s,
        aht_s,
        f64::from(threshold_s),
        queue.sl_target.clamp(0.0, 0.999),
    );
    let staffed = queue.team.as_deref().map(|team| {
        teams.get(team).map_or(0, |s| {
            s[AgentState::Available.index()]
                + s[AgentState::OnCall.index()]
                + s[AgentState::WrapUp.index()]
        })
    });
    Some(StaffingView {
        window: labels.get(i).cloned().unwrap_or_default(),
        arrival_rate_per_min: rate_per_s * 60.0,
        aht_s,
        traffic_erlangs: rate_per_s * aht_s,
        threshold_s,
        target: queue.sl_target,
        required_agents: required,
        staffed_agents: staffed,
        gap_agents: required.zip(staffed).map(|(r, s)| i64::from(r) - s as i64),
    })
}

fn totals_view(totals: &CallTotals, thresholds: &[u32], bounds: &[u32]) -> TotalsView {
    let mut running = 0;
    let cumulative = (0..bounds.len())
        .map(|i| {
            running += totals.wait_le.get(i).copied().unwrap_or(0);
            running
        })
        .collect();
    let t = &totals.counts;
    TotalsView {
        offered: t.offered,
        answered: t.answered,
        abandoned: t.abandoned,
        short_abandoned: t.short_abandoned,
        answered_within: thresholds
            .iter()
            .zip(t.answered_within)
            .map(|(s, n)| (*s, n))
            .collect(),
        answer_wait_s: secs(t.answer_wait_ms),
        abandon_wait_s: secs(t.abandon_wait_ms),
        completed: t.completed,
        handle_s: secs(t.handle_ms()),
        csat_responses: t.csat_responses,
        csat_positive: t.csat_positive,
        wait_le_bounds_s: bounds.to_vec(),
        wait_le_cumulative: cumulative,
    }
}

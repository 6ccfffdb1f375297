//! The callpulse aggregation core.
//!
//! This crate owns the numbers: how events become windowed metrics and live state. It is
//! synchronous, does no I/O and never reads a clock; every function that depends on time
//! takes `now` as an argument (see `docs/time.md`).
//!
//! Layout, top-down along the data path:
//! - [`policy`]: the metric definitions' knobs (windows, SL thresholds, short abandons, caps).
//! - [`PartitionState`] (`partition.rs`): the single-writer state of one Kafka partition;
//!   `apply` takes one event, `snapshot` publishes an immutable [`PartitionSnapshot`].
//! - `window.rs`: the ring of fixed-width event-time buckets (O(1) per event, windows at read).
//! - `calls.rs`: the per-bucket call/handling/CSAT aggregate and its merge.
//! - `live.rs`: calls waiting now and agents by state now.
//! - `periods.rs`: the calendar windows (`interval`, `today`) in the center's zone.
//! - `dedupe.rs`: bounded memory of applied `event_id`s.
//! - [`report`]: interval reports over a finite history (`callpulse replay --report`).
//! - `fcr.rs`: live first contact resolution from the partitions' facts, bounded memory.
//! - [`erlang`]: Erlang C staffing and Erlang A abandonment (pure functions).
//! - [`calendar`]: local days and intervals in the center's time zone.
//! - `tickets.rs`: ticket backlog, first response and resolution per queue.
//! - `snapshot.rs`: merging partition snapshots into the one [`Snapshot`] every reader sees.
//! - [`watermark`]: the one instant a snapshot is read at (event time while catching up,
//!   the wall clock when caught up).
//!
//! Adding a call metric: a counter in the `call_counts!` list (`calls.rs`; its merge is
//! generated) recorded where the event is applied, its derived value in [`WindowMetrics`]
//! (`snapshot.rs`, which is also the JSON of the API and the feed), and one `Family` row in
//! the export crate's `prometheus/` tables (name, help, labels and how to read it). A test
//! there fails until `docs/metrics.md` has the family's row, and another until the family
//! emits with exactly its declared labels.

pub mod adherence;
pub mod calendar;
mod calls;
mod checkpoint;
mod dedupe;
pub mod erlang;
mod fcr;
pub mod forecast;
pub mod hours;
mod ledger;
mod live;
mod occupancy;
mod partition;
mod periods;
pub mod policy;
pub mod quality;
pub mod report;
mod snapshot;
mod tickets;
pub mod watermark;
mod window;

pub use adherence::{AdherenceNow, AdherenceView};
pub use calendar::{Calendar, CalendarError, DayInterval};
pub use calls::{CallAgg, CallCounts, CallTotals, MAX_SL_THRESHOLDS, WaitHistogram};
pub use checkpoint::{CHECKPOINT_VERSION, CheckpointError, policy_fingerprint};
pub use fcr::{
    FactRecord, FactRecordError, FcrCounts, FcrFact, FcrPart, FcrPartition, FcrQueuePart,
    FcrQueueView, FcrSettled, FcrTracker,
};
pub use live::{AgentCalls, AgentCallsView, AgentView, TeamStates};
pub use occupancy::{AgentTime, StateTimeView, StateTimes};
pub use partition::{Applied, PartitionCounters, PartitionSnapshot, PartitionState, QueueSnapshot};
pub use policy::{MetricsPolicy, PolicyError, QueuePolicy, SlFormula};
pub use report::{
    AgentRow, Attribution, CallColumns, FcrColumns, ReportBuilder, ReportCounters, ReportRow,
    ReportSpec, StaffLevel, StaffRow, TeamCounters, TeamReport, TeamRow,
};
pub use snapshot::{
    AgentCounts, CHECKS, CenterView, Check, EngineView, FcrView, FcrWindow, ForecastInterval,
    GroupView, Level, PlanInterval, QueueForecast, QueueStatus, QueueView, Retired, SharedBody,
    SharedPart, SharedRef, Snapshot, SourceView, StaffingView, TeamDay, TeamView, TeamWindow,
    TicketView, TicketWindow, WINDOW_FIGURES, WINDOW_FIGURES_BY_THRESHOLD, WindowMetrics,
};
pub use tickets::{TicketAgg, TicketLive};
pub use watermark::{PartitionProgress, instance_watermark};
pub use window::BucketRing;

pub use callpulse_events::Ts;

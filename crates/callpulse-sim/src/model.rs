//! The shape of the simulated center.

use serde::{Deserialize, Serialize};

/// One voice queue and the team that serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueModel {
    /// Queue name (also the label value in metrics).
    pub name: String,
    /// Team answering this queue.
    pub team: String,
    /// Calls per minute at the busiest hour of the day (before `scale`).
    pub peak_calls_per_min: f64,
    /// Agents on shift at the busiest hour; staffing follows the daily shape.
    pub peak_agents: u32,
    /// Mean talk time (s); talk times are log-normal around it, or exponential.
    pub mean_talk_secs: f64,
    /// Shape of talk times: `log_normal` (σ = 0.6, like real handle times) or `exponential`
    /// (the M/M/c textbook model, for checking against Erlang C).
    #[serde(default)]
    pub talk_distribution: TalkDistribution,
    /// Share of calls put on hold, and the mean hold (s) when they are.
    pub hold_share: f64,
    pub mean_hold_secs: f64,
    /// Mean after-call work (s), log-normal; 0 for none.
    pub mean_acw_secs: f64,
    /// Mean caller patience (s), exponential: how long callers wait before hanging up.
    pub mean_patience_secs: f64,
}

/// Distribution of talk times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TalkDistribution {
    #[default]
    LogNormal,
    Exponential,
}

/// The simulated center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Random seed: the same seed and start time give the same events.
    pub seed: u64,
    /// Multiplies every arrival rate (and staffing, so service levels stay realistic).
    pub scale: f64,
    /// Share of completed calls that get a CSAT survey response.
    pub survey_share: f64,
    /// Tickets (email/chat/social/web) created per minute at the busiest hour.
    pub peak_tickets_per_min: f64,
    /// Ignore the daily shape and run every hour as the busiest (demos at night).
    pub flat_day: bool,
    /// Agents take an occasional short break between calls (4 % of calls, 5-15 min).
    pub breaks: bool,
    /// The queues.
    pub queues: Vec<QueueModel>,
}

impl Default for SimConfig {
    fn default() -> Self {
        let queue =
            |name: &str, team: &str, rate: f64, agents: u32, talk: f64, patience: f64| QueueModel {
                name: name.to_owned(),
                team: team.to_owned(),
                peak_calls_per_min: rate,
                peak_agents: agents,
                mean_talk_secs: talk,
                talk_distribution: TalkDistribution::LogNormal,
                hold_share: 0.25,
                mean_hold_secs: 45.0,
                mean_acw_secs: 40.0,
                mean_patience_secs: patience,
            };
        SimConfig {
            seed: 1999,
            scale: 1.0,
            survey_share: 0.2,
            peak_tickets_per_min: 2.0,
            flat_day: false,
            breaks: true,
            queues: vec![
                queue("billing", "billing-team", 8.0, 42, 220.0, 180.0),
                queue("support", "tech-team", 6.0, 45, 330.0, 240.0),
                queue("sales", "sales-team", 4.0, 21, 200.0, 120.0),
                queue("vip", "vip-team", 1.0, 9, 260.0, 300.0),
            ],
        }
    }
}

/// Relative arrival intensity by hour of day (1.0 = the busiest hour): quiet nights, a
/// morning peak, a lunch dip and a smaller afternoon peak, as in most inbound centers.
pub fn daily_shape(hour: u32) -> f64 {
    const SHAPE: [f64; 24] = [
        0.05, 0.03, 0.03, 0.03, 0.05, 0.10, 0.25, 0.55, 0.85, 1.00, 0.98, 0.90, //
        0.75, 0.80, 0.88, 0.85, 0.75, 0.60, 0.45, 0.35, 0.25, 0.18, 0.12, 0.08,
    ];
    SHAPE[(hour % 24) as usize]
}

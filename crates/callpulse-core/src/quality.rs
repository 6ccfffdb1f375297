//! Quality evaluations (`qa_evaluation`): what team leads and QA analysts score agents on.
//!
//! Per agent and day, counted where the evaluation lands (any partition) and merged by
//! agent id in the snapshot, like the agent's calls; a team's figures are its agents'
//! merged. The figures, as QA tools (NICE, Verint, Calabrio, Playvox) report them:
//! - **score**: the mean of the evaluations' scores as a share of their form's maximum
//!   (each evaluation weighs the same, whatever its form's size);
//! - **pass rate**: evaluations at or above `metrics.qa_pass_mark` of the maximum and
//!   without a critical failure (a critical item failed fails the evaluation, whatever the
//!   points);
//! - **critical-failure rate**: evaluations with at least one critical item failed;
//! - **coverage**: evaluations per agent (a team's evaluations over its agents).

use callpulse_events::QaEvaluation;
use serde::{Deserialize, Serialize};

/// A share scored, in millionths: exact integer sums, so merges in any order agree.
const PPM: u64 = 1_000_000;

/// Evaluations counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaCounts {
    pub evaluations: u64,
    /// Sum of score / max_score, in millionths.
    pub score_ppm_sum: u64,
    pub passed: u64,
    pub critical: u64,
}

impl QaCounts {
    /// Counts one evaluation; `pass_mark` is the share of the maximum that passes.
    pub fn record(&mut self, e: &QaEvaluation, pass_mark: f64) {
        let max = u64::from(e.max_score.max(1));
        let ppm = u64::from(e.score.min(e.max_score)) * PPM / max;
        self.evaluations += 1;
        self.score_ppm_sum += ppm;
        let critical = e.critical_failures > 0;
        self.critical += u64::from(critical);
        self.passed += u64::from(!critical && ppm as f64 >= pass_mark * PPM as f64);
    }

    pub fn merge(&mut self, o: &QaCounts) {
        self.evaluations += o.evaluations;
        self.score_ppm_sum += o.score_ppm_sum;
        self.passed += o.passed;
        self.critical += o.critical;
    }
}

/// QA figures as readers see them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QaView {
    pub evaluations: u64,
    /// Mean score as a share of the maximum, 0 to 1.
    pub score: Option<f64>,
    pub pass_rate: Option<f64>,
    pub critical_failure_rate: Option<f64>,
    /// Evaluations per agent: for a team, its evaluations over its agents; `null` for an
    /// agent.
    pub per_agent: Option<f64>,
}

impl QaView {
    /// The view of `c`; `agents` is the number of agents it covers (a team's), if any.
    pub fn of(c: &QaCounts, agents: Option<usize>) -> Self {
        let ratio = |n: u64| (c.evaluations > 0).then(|| n as f64 / c.evaluations as f64);
        QaView {
            evaluations: c.evaluations,
            score: (c.evaluations > 0)
                .then(|| c.score_ppm_sum as f64 / PPM as f64 / c.evaluations as f64),
            pass_rate: ratio(c.passed),
            critical_failure_rate: ratio(c.critical),
            per_agent: agents
                .filter(|n| *n > 0)
                .map(|n| c.evaluations as f64 / n as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(score: u32, max_score: u32, critical_failures: u32) -> QaEvaluation {
        QaEvaluation {
            evaluation_id: "e".into(),
            agent_id: "a".into(),
            evaluator_id: "lead".into(),
            form: "calls-v2".into(),
            score,
            max_score,
            critical_failures,
            sections: Vec::new(),
            contact_id: None,
        }
    }

    /// Three evaluations: 90/100 passes, 45/50 (also 90 %) with a critical failure fails,
    /// 7/10 (70 %) is under the 80 % mark.
    #[test]
    fn a_critical_failure_fails_whatever_the_score() {
        let mut qa = QaCounts::default();
        for e in [
            evaluation(90, 100, 0),
            evaluation(45, 50, 1),
            evaluation(7, 10, 0),
        ] {
            qa.record(&e, 0.8);
        }
        let view = QaView::of(&qa, Some(2));
        assert_eq!(view.evaluations, 3);
        assert!((view.score.expect("score") - (0.9 + 0.9 + 0.7) / 3.0).abs() < 1e-9);
        assert_eq!(view.pass_rate, Some(1.0 / 3.0));
        assert_eq!(view.critical_failure_rate, Some(1.0 / 3.0));
        assert_eq!(view.per_agent, Some(1.5));
        // Exactly at the mark passes.
        let mut at_mark = QaCounts::default();
        at_mark.record(&evaluation(8, 10, 0), 0.8);
        assert_eq!(at_mark.passed, 1);
        assert_eq!(QaView::of(&QaCounts::default(), None).score, None);
    }

    #[test]
    fn merging_is_adding() {
        let (mut a, mut b, mut both) = (
            QaCounts::default(),
            QaCounts::default(),
            QaCounts::default(),
        );
        a.record(&evaluation(3, 7, 0), 0.8);
        b.record(&evaluation(6, 7, 2), 0.8);
        both.record(&evaluation(3, 7, 0), 0.8);
        both.record(&evaluation(6, 7, 2), 0.8);
        a.merge(&b);
        assert_eq!(a, both);
    }
}

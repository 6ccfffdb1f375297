//! Which queues and teams get series on `/metrics`: every one the configuration names, and
//! at most `export.max_unconfigured_labels` others of each, so that a flood of names from
//! input (admitted by the core up to `metrics.max_queues` and `max_teams` per partition; a
//! queue is worth about 150 series, a team about 20) cannot make a scrape megabytes. The
//! API, the feed and the wallboard still show every queue and team.
//!
//! The choice is sticky: a name exported stays exported, and one withheld stays withheld,
//! for as long as it is in the snapshot. A name moving between the two would make a
//! counter series appear at its full value or vanish mid-life; a name that leaves and comes
//! back starts a new series, which PromQL handles.

use std::collections::BTreeSet;
use std::sync::Arc;

use callpulse_core::{MetricsPolicy, Snapshot};

/// The sticky choice for one kind of name.
#[derive(Debug, Default)]
struct Sticky {
    exported: BTreeSet<Arc<str>>,
    withheld: BTreeSet<Arc<str>>,
}

impl Sticky {
    /// Chooses for the unconfigured names of `present` not chosen for yet (in name order),
    /// and forgets those gone.
    fn update<'a>(&mut self, cap: usize, present: impl Iterator<Item = &'a Arc<str>>) {
        let present: BTreeSet<&Arc<str>> = present.collect();
        self.exported.retain(|name| present.contains(name));
        self.withheld.retain(|name| present.contains(name));
        for name in present {
            if self.exported.contains(name) || self.withheld.contains(name) {
                continue;
            }
            if self.exported.len() < cap {
                self.exported.insert(Arc::clone(name));
            } else {
                self.withheld.insert(Arc::clone(name));
            }
        }
    }
}

/// The sticky choice of unconfigured queues and teams with series, for one instance.
#[derive(Debug)]
pub struct LabelCap {
    cap: usize,
    policy: Arc<MetricsPolicy>,
    queues: Sticky,
    teams: Sticky,
}

impl LabelCap {
    /// At most `cap` unconfigured queues and `cap` unconfigured teams exported; what is
    /// configured is read from `policy`.
    pub fn new(cap: usize, policy: Arc<MetricsPolicy>) -> Self {
        LabelCap {
            cap,
            policy,
            queues: Sticky::default(),
            teams: Sticky::default(),
        }
    }

    /// Chooses for the names of `snap` (the snapshot `/metrics` exports) not chosen for
    /// yet, and forgets those gone.
    pub fn update(&mut self, snap: &Snapshot) {
        let policy = &self.policy;
        self.queues.update(
            self.cap,
            snap.queues
                .iter()
                .map(|q| &q.queue)
                .filter(|name| !policy.configures_queue(name)),
        );
        self.teams.update(
            self.cap,
            snap.teams
                .iter()
                .map(|t| &t.team)
                .filter(|name| !policy.configures_team(name)),
        );
    }

    /// Takes the withheld queues and teams out of `snap`, and says how many of each in
    /// `engine.queues_withheld` and `engine.teams_withheld`.
    pub fn withhold(&self, snap: &mut Snapshot) {
        if !self.queues.withheld.is_empty() {
            snap.queues
                .retain(|q| !self.queues.withheld.contains(&q.queue));
        }
        if !self.teams.withheld.is_empty() {
            snap.teams
                .retain(|t| !self.teams.withheld.contains(&t.team));
        }
        snap.engine.queues_withheld = self.queues.withheld.len();
        snap.engine.teams_withheld = self.teams.withheld.len();
    }

    /// Whether `withhold` takes anything out (the caller can skip a copy if not).
    pub fn withholds(&self) -> bool {
        !self.queues.withheld.is_empty() || !self.teams.withheld.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use callpulse_core::{QueuePolicy, Retired, Ts};

    use super::*;

    fn policy() -> Arc<MetricsPolicy> {
        let mut policy = MetricsPolicy::default();
        policy.queues.insert(
            "vip".into(),
            QueuePolicy {
                team: Some("vip-team".into()),
                ..QueuePolicy::default()
            },
        );
        Arc::new(policy)
    }

    /// A snapshot with a call queued in each of `names`, and an agent in a team of each.
    fn snapshot(names: &[&str]) -> Snapshot {
        let policy = policy();
        let now = Ts(1_764_158_400_000);
        let lines = names.iter().enumerate().flat_map(|(i, name)| {
            let team = if *name == "vip" { "vip-team" } else { name };
            [
                format!(
                    r#"{{"type":"call_queued","event_id":"q{i}","ts":"2025-11-26T11:50:00Z","call_id":"c{i}","queue":"{name}"}}"#
                ),
                format!(
                    r#"{{"type":"agent_state","event_id":"a{i}","ts":"2025-11-26T11:50:00Z","agent_id":"a{i}","team":"{team}","state":"available"}}"#
                ),
            ]
        });
        let mut part = super::super::applied(&policy, lines, now);
        let parts = [Arc::new(part.snapshot(now))];
        Snapshot::build(1, now, &parts, &Retired::default(), &policy)
    }

    fn apply(cap: &mut LabelCap, names: &[&str]) -> (Vec<String>, Vec<String>, Snapshot) {
        let mut snap = snapshot(names);
        cap.update(&snap);
        cap.withhold(&mut snap);
        let queues = snap.queues.iter().map(|q| q.queue.to_string()).collect();
        let teams = snap.teams.iter().map(|t| t.team.to_string()).collect();
        (queues, teams, snap)
    }

    #[test]
    fn configured_names_always_and_a_sticky_few_others() {
        let mut cap = LabelCap::new(2, policy());
        let (queues, teams, snap) = apply(&mut cap, &["b", "c", "vip"]);
        assert_eq!(queues, ["b", "c", "vip"]);
        assert_eq!(teams, ["b", "c", "vip-team"]);
        assert_eq!(
            (snap.engine.queues_withheld, snap.engine.teams_withheld),
            (0, 0)
        );
        // `a` comes later: over the cap, withheld, though it sorts first.
        let (queues, teams, snap) = apply(&mut cap, &["a", "b", "c", "vip"]);
        assert_eq!(queues, ["b", "c", "vip"]);
        assert_eq!(teams, ["b", "c", "vip-team"]);
        assert_eq!(
            (snap.engine.queues_withheld, snap.engine.teams_withheld),
            (1, 1)
        );
        // `b` goes: its place is free, but `a` stays withheld while it is there; `d` takes it.
        let (queues, _, _) = apply(&mut cap, &["a", "c", "d", "vip"]);
        assert_eq!(queues, ["c", "d", "vip"]);
        // `a` gone and back: a new series now that there is room.
        apply(&mut cap, &["c", "vip"]);
        let (queues, teams, _) = apply(&mut cap, &["a", "c", "vip"]);
        assert_eq!(queues, ["a", "c", "vip"]);
        assert_eq!(teams, ["a", "c", "vip-team"]);
        assert!(!cap.withholds());
    }
}

//! The org chart's groups (`[metrics.groups]`): what each owns, and the checks that keep
//! every team and queue in one group at most (docs/org.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MetricsPolicy, PolicyError};

/// One group of the org chart (`[metrics.groups.NAME]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupPolicy {
    /// The teams it owns (each team in one group at most).
    pub teams: Vec<String>,
    /// The queues it owns, beyond those whose `team` it owns (each queue in one group).
    pub queues: Vec<String>,
}

impl MetricsPolicy {
    /// The group owning `team`.
    pub fn group_of_team(&self, team: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|(_, g)| g.teams.iter().any(|t| t == team))
            .map(|(name, _)| name.as_str())
    }

    /// The group owning `queue`: the one listing it, else the one owning the queue's team.
    pub fn group_of_queue(&self, queue: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|(_, g)| g.queues.iter().any(|q| q == queue))
            .map(|(name, _)| name.as_str())
            .or_else(|| {
                self.queue(queue)
                    .team
                    .as_deref()
                    .and_then(|t| self.group_of_team(t))
            })
    }

    pub(super) fn check_groups(&self) -> Result<(), PolicyError> {
        let mut owner: BTreeMap<(&str, &str), &str> = BTreeMap::new();
        for (group, g) in &self.groups {
            let fail = |problem: String| {
                Err(PolicyError::Group {
                    group: group.clone(),
                    problem,
                })
            };
            if g.teams.is_empty() && g.queues.is_empty() {
                return fail("names no team and no queue".into());
            }
            let members = g.teams.iter().map(|t| ("team", t.as_str()));
            for (kind, name) in members.chain(g.queues.iter().map(|q| ("queue", q.as_str()))) {
                if name.is_empty() {
                    return fail(format!("an empty {kind} name"));
                }
                if let Some(other) = owner.insert((kind, name), group) {
                    return fail(format!("{kind} {name:?} is also in group {other:?}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(teams: &[&str], queues: &[&str]) -> GroupPolicy {
        GroupPolicy {
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        }
    }

    #[test]
    fn a_team_or_queue_is_in_one_group_and_queues_follow_their_team() {
        let mut policy = MetricsPolicy::default();
        policy.queues.insert(
            "billing".into(),
            crate::QueuePolicy {
                team: Some("t1".into()),
                ..crate::QueuePolicy::default()
            },
        );
        policy.groups.insert("a".into(), group(&["t1"], &["vip"]));
        policy.groups.insert("b".into(), group(&["t2"], &[]));
        assert_eq!(policy.validate(), Ok(()));
        assert_eq!(policy.group_of_queue("billing"), Some("a"));
        assert_eq!(policy.group_of_queue("vip"), Some("a"));
        assert_eq!(policy.group_of_queue("other"), None);
        assert_eq!(policy.group_of_team("t2"), Some("b"));
        // A listed team counts as configured: admitted past max_teams.
        assert!(policy.configures_team("t2"));
        // The same team in two groups, and an empty group, are refused with their names.
        policy.groups.insert("c".into(), group(&["t1"], &[]));
        let err = policy.validate().expect_err("t1 twice").to_string();
        assert!(
            err.contains("[metrics.groups.c]") && err.contains("\"a\""),
            "{err}"
        );
        policy.groups.insert("c".into(), group(&[], &[]));
        let err = policy.validate().expect_err("empty").to_string();
        assert!(err.contains("names no team and no queue"), "{err}");
    }
}

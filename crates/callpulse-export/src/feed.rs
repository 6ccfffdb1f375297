//! The feed's parts: one snapshot cut into JSON pieces, rendered once per tick, from which
//! every `/ws` v2 frame is assembled by copying (docs/ws-protocol.md).
//!
//! Each piece (the center, the engine, one queue, one team, one team's agents) remembers the
//! `seq` at which its JSON last changed. A client whose last frame was at `base` gets only
//! the pieces changed after `base`, and the names removed after it; this holds across
//! skipped ticks, as long as `base` is within [`HISTORY`] ticks. Older, it gets a whole
//! snapshot: that is the resync.
//!
//! Frames depend only on (subscription, base), so clients that agree share one frame:
//! [`Parts::frame`] builds it once and caches it for the tick.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use callpulse_core::{Level, Snapshot};
use serde::Serialize;

use crate::auth::AgentScope;

pub(crate) mod subscription;

pub(crate) use subscription::{Section, Subscription};

/// Ticks a delta can span. A client further behind gets a whole snapshot.
pub(crate) const HISTORY: u64 = 64;

/// One piece of the snapshot as JSON, with the `seq` its content last changed at.
#[derive(Debug, Clone)]
struct Part {
    json: Arc<str>,
    changed: u64,
}

/// Names removed from a keyed section at a `seq`.
#[derive(Debug, Clone)]
struct Removal {
    seq: u64,
    section: Section,
    name: Arc<str>,
}

/// An alert event: a queue check entering or leaving at risk or breach.
#[derive(Debug, Clone)]
struct AlertEvent {
    seq: u64,
    queue: Arc<str>,
    json: Arc<str>,
}

/// One tick's parts. Built with [`Parts::cut`] (off the async runtime: the publisher's
/// blocking thread) and linked to the previous tick's with [`Parts::follow`].
#[derive(Debug)]
pub struct Parts {
    seq: u64,
    /// `"seq":N,"at":...,"at_ms":...,"wall_ms":...,...`: the fields every frame carries.
    header: String,
    center: Part,
    engine: Part,
    queues: BTreeMap<Arc<str>, Part>,
    teams: BTreeMap<Arc<str>, Part>,
    agents: BTreeMap<Arc<str>, Part>,
    /// Where each agent's JSON lies in its team's part: an agent's own frames and API
    /// answers copy it from there.
    agent_spans: HashMap<Arc<str>, (Arc<str>, Range<usize>)>,
    /// Each queue's check levels, for alert events at the next tick.
    levels: BTreeMap<Arc<str>, Vec<(&'static str, Level)>>,
    removals: VecDeque<Removal>,
    events: VecDeque<AlertEvent>,
    /// The oldest `base` a delta can be built from; older clients get a snapshot.
    delta_from: u64,
    /// Frames built this tick, by (subscription, base); `None` base is a snapshot.
    frames: Mutex<HashMap<FrameKey, Utf8Bytes>>,
}

/// A subscription's key and the base of a delta (`None`: a snapshot).
type FrameKey = (Arc<str>, Option<u64>);

#[derive(Serialize)]
struct Header<'a> {
    seq: u64,
    at: &'a str,
    at_ms: i64,
    /// When the snapshot was built (wall clock), the newest event's time, and the seconds
    /// since a message last arrived: what a wallboard needs to say "stale".
    wall_ms: i64,
    last_event_ms: Option<i64>,
    last_message_age_s: Option<f64>,
    windows: &'a [String],
}

fn json<T: Serialize + ?Sized>(value: &T) -> Arc<str> {
    // Views hold strings, integers and finite floats: serialization cannot fail.
    Arc::from(serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()))
}

fn part(value: &(impl Serialize + ?Sized), seq: u64) -> Part {
    Part {
        json: json(value),
        changed: seq,
    }
}

impl Parts {
    /// Cuts `snapshot` into parts, each marked changed at this `seq` (no predecessor).
    /// Cuts `snapshot` into parts, and assembles from the same pieces its whole JSON (what
    /// `serde_json::to_string(snapshot)` gives, byte for byte): every queue, team and agent
    /// is serialized once per tick, for the API, v1 and v2 alike.
    pub fn cut(snapshot: &Snapshot) -> (Parts, String) {
        let seq = snapshot.seq;
        let header = serde_json::to_string(&Header {
            seq,
            at: &snapshot.at,
            at_ms: snapshot.at_ms,
            wall_ms: snapshot.engine.wall_ms,
            last_event_ms: snapshot.engine.last_event_ms,
            last_message_age_s: snapshot.engine.last_message_age_s,
            windows: &snapshot.windows,
        })
        .unwrap_or_else(|_| "{}".to_owned());
        // `{...}` without its braces: spliced into every frame.
        let header = header[1..header.len() - 1].to_owned();
        // Each agent once; a team's part is its agents' JSON joined.
        let agent_json: Vec<String> = snapshot
            .agents
            .iter()
            .map(|a| serde_json::to_string(a).unwrap_or_else(|_| "null".to_owned()))
            .collect();
        let mut agents: BTreeMap<Arc<str>, String> = BTreeMap::new();
        let mut agent_spans = HashMap::with_capacity(snapshot.agents.len());
        for (agent, text) in snapshot.agents.iter().zip(&agent_json) {
            let list = agents
                .entry(Arc::clone(&agent.team))
                .or_insert_with(|| "[".to_owned());
            if list.len() > 1 {
                list.push(',');
            }
            let start = list.len();
            list.push_str(text);
            agent_spans.insert(
                Arc::clone(&agent.agent_id),
                (Arc::clone(&agent.team), start..list.len()),
            );
        }
        let parts = Parts {
            seq,
            header,
            center: part(&snapshot.center, seq),
            engine: part(&snapshot.engine, seq),
            queues: snapshot
                .queues
                .iter()
                .map(|q| (Arc::clone(&q.queue), part(q, seq)))
                .collect(),
            teams: snapshot
                .teams
                .iter()
                .map(|t| (Arc::clone(&t.team), part(t, seq)))
                .collect(),
            agents: agents
                .into_iter()
                .map(|(team, mut list)| {
                    list.push(']');
                    let piece = Part {
                        json: Arc::from(list),
                        changed: seq,
                    };
                    (team, piece)
                })
                .collect(),
            agent_spans,
            levels: snapshot
                .queues
                .iter()
                .map(|q| {
                    let levels = q.status.checks.iter().map(|c| (c.check, c.level)).collect();
                    (Arc::clone(&q.queue), levels)
                })
                .collect(),
            removals: VecDeque::new(),
            events: VecDeque::new(),
            delta_from: seq,
            frames: Mutex::new(HashMap::new()),
        };
        let whole = parts.whole(snapshot, &mut agent_json.iter().map(String::as_str));
        (parts, whole)
    }

    /// The snapshot's JSON with only the agents `scope` covers (a wallboard's has none).
    pub(crate) fn scoped_whole(&self, snapshot: &Snapshot, scope: &AgentScope) -> String {
        match scope {
            AgentScope::All => self.whole(
                snapshot,
                &mut self.agents.values().map(|p| &p.json[1..p.json.len() - 1]),
            ),
            AgentScope::None => self.whole(snapshot, &mut std::iter::empty()),
            AgentScope::Teams(teams) => self.whole(
                snapshot,
                &mut teams
                    .iter()
                    .filter_map(|t| self.agents.get(t.as_str()))
                    .map(|p| &p.json[1..p.json.len() - 1]),
            ),
            AgentScope::One(agent) => self.whole(
                snapshot,
                &mut self.agent_json(agent).map(|(_, json)| json).into_iter(),
            ),
        }
    }

    /// An agent's team and JSON, if it is in the snapshot.
    fn agent_json(&self, agent: &str) -> Option<(&Arc<str>, &str)> {
        let (team, range) = self.agent_spans.get(agent)?;
        let part = self.agents.get(team)?;
        Some((team, part.json.get(range.clone())?))
    }

    /// The snapshot's JSON from the pieces, in `Snapshot`'s field order, with `agents` (each
    /// one or more agents' JSON objects, comma-joined) as its agent list.
    fn whole(&self, snapshot: &Snapshot, agents: &mut dyn Iterator<Item = &str>) -> String {
        #[derive(Serialize)]
        struct Head<'a> {
            seq: u64,
            at: &'a str,
            at_ms: i64,
            windows: &'a [String],
        }
        let head = serde_json::to_string(&Head {
            seq: snapshot.seq,
            at: &snapshot.at,
            at_ms: snapshot.at_ms,
            windows: &snapshot.windows,
        })
        .unwrap_or_else(|_| "{}".to_owned());
        let mut out = String::with_capacity(
            head.len()
                + self
                    .queues
                    .values()
                    .map(|p| p.json.len() + 1)
                    .sum::<usize>()
                + self.teams.values().map(|p| p.json.len() + 1).sum::<usize>()
                + self.agents.values().map(|p| p.json.len()).sum::<usize>()
                + self.center.json.len()
                + self.engine.json.len()
                + 64,
        );
        out.push_str(&head[..head.len() - 1]);
        let list = |out: &mut String, key: &str, items: &mut dyn Iterator<Item = &str>| {
            let _ = write!(out, r#","{key}":["#);
            for (i, item) in items.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(item);
            }
            out.push(']');
        };
        let null: &str = "null";
        list(
            &mut out,
            "queues",
            &mut snapshot
                .queues
                .iter()
                .map(|q| self.queues.get(&q.queue).map_or(null, |p| &*p.json)),
        );
        let _ = write!(out, r#","center":{}"#, self.center.json);
        list(
            &mut out,
            "teams",
            &mut snapshot
                .teams
                .iter()
                .map(|t| self.teams.get(&t.team).map_or(null, |p| &*p.json)),
        );
        list(&mut out, "agents", agents);
        let _ = write!(out, r#","engine":{}}}"#, self.engine.json);
        out
    }

    /// Links these parts to the previous tick's: unchanged pieces keep their `seq`, removed
    /// names and alert events are recorded, and deltas may start from `prev`'s history.
    /// `snapshot` is the one these parts were cut from.
    pub fn follow(&mut self, prev: &Parts, snapshot: &Snapshot) {
        if prev.seq >= self.seq {
            return;
        }
        let keep = |ours: &mut Part, theirs: &Part| {
            if ours.json == theirs.json {
                ours.changed = theirs.changed;
            }
        };
        keep(&mut self.center, &prev.center);
        keep(&mut self.engine, &prev.engine);
        let seq = self.seq;
        let mut removals = prev.removals.clone();
        for (section, ours, theirs) in [
            (Section::Queues, &mut self.queues, &prev.queues),
            (Section::Teams, &mut self.teams, &prev.teams),
            (Section::Agents, &mut self.agents, &prev.agents),
        ] {
            for (name, old) in theirs {
                match ours.get_mut(name) {
                    Some(new) => keep(new, old),
                    None => removals.push_back(Removal {
                        seq,
                        section,
                        name: Arc::clone(name),
                    }),
                }
            }
        }
        self.delta_from = prev.delta_from.max(seq.saturating_sub(HISTORY));
        let horizon = self.delta_from;
        removals.retain(|r| r.seq > horizon);
        self.removals = removals;
        let mut events = prev.events.clone();
        events.retain(|e| e.seq > horizon);
        // A closed queue raises no alert; its levels still move on, so reopening in breach
        // is an event only if the level differs from what it was before.
        for queue in snapshot.queues.iter().filter(|q| q.open) {
            let before = prev.levels.get(&queue.queue);
            for check in &queue.status.checks {
                let previous = before
                    .and_then(|l| l.iter().find(|(name, _)| *name == check.check))
                    .map_or(Level::Ok, |(_, level)| *level);
                let alarming = |l: Level| l >= Level::AtRisk;
                if previous != check.level && (alarming(previous) || alarming(check.level)) {
                    events.push_back(AlertEvent {
                        seq,
                        queue: Arc::clone(&queue.queue),
                        json: json(&AlertFrame {
                            kind: "alert",
                            seq,
                            at_ms: snapshot.at_ms,
                            queue: &queue.queue,
                            window: &queue.status.window,
                            previous,
                            check,
                        }),
                    });
                }
            }
        }
        self.events = events;
    }

    /// The team an agent is in now.
    pub(crate) fn team_of(&self, agent: &str) -> Option<&Arc<str>> {
        self.agent_spans.get(agent).map(|(team, _)| team)
    }

    /// This tick's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether a client whose last frame was at `base` can be sent a delta.
    pub(crate) fn delta_possible(&self, base: u64) -> bool {
        base >= self.delta_from && base <= self.seq
    }

    /// Alert events after `after` for queues `subscription` covers, oldest first.
    pub(crate) fn events_after<'a>(
        &'a self,
        after: u64,
        subscription: &'a Subscription,
    ) -> impl Iterator<Item = &'a Arc<str>> + 'a {
        self.events
            .iter()
            .filter(move |e| {
                e.seq > after
                    && subscription.wants(Section::Alerts)
                    && subscription.covers_queue(&e.queue)
            })
            .map(|e| &e.json)
    }

    /// The frame for `subscription`: a delta from `base`, or a whole snapshot when `base` is
    /// `None` (or too old). Built once per tick for each distinct (subscription, base).
    pub(crate) fn frame(&self, subscription: &Subscription, base: Option<u64>) -> Utf8Bytes {
        let base = base.filter(|b| self.delta_possible(*b));
        let key = (Arc::clone(subscription.key()), base);
        if let Some(frame) = self.cached(&key) {
            return frame;
        }
        let frame = Utf8Bytes::from(self.render(subscription, base));
        if let Ok(mut frames) = self.frames.lock() {
            frames.insert(key, frame.clone());
        }
        frame
    }

    fn cached(&self, key: &FrameKey) -> Option<Utf8Bytes> {
        self.frames.lock().ok()?.get(key).cloned()
    }

    fn render(&self, subscription: &Subscription, base: Option<u64>) -> String {
        let after = base.unwrap_or(0);
        let fresh = |p: &Part| base.is_none() || p.changed > after;
        let mut out = String::with_capacity(4096);
        match base {
            None => out.push_str(r#"{"type":"snapshot","#),
            Some(b) => {
                let _ = write!(out, r#"{{"type":"update","base":{b},"#);
            }
        }
        out.push_str(&self.header);
        for (section, single) in [
            (Section::Center, &self.center),
            (Section::Engine, &self.engine),
        ] {
            if subscription.wants(section) && fresh(single) {
                let _ = write!(out, r#","{}":{}"#, section.as_str(), single.json);
            }
        }
        let mut removed: Vec<(Section, &Arc<str>)> = Vec::new();
        for (section, parts) in [
            (Section::Queues, &self.queues),
            (Section::Teams, &self.teams),
            (Section::Agents, &self.agents),
        ] {
            if !subscription.wants(section) {
                continue;
            }
            let _ = write!(out, r#","{}":{{"#, section.as_str());
            let mut first = true;
            if let (Section::Agents, AgentScope::One(agent)) = (section, subscription.agent_scope())
            {
                // Only its own entry, under its team; the client starts over (a snapshot)
                // when its team changes (ws.rs), so no other team's entry can be stale.
                if let Some((team, json)) = self.agent_json(agent)
                    && subscription.covers(section, team)
                    && parts.get(team).is_some_and(&fresh)
                {
                    push_key(&mut out, team);
                    let _ = write!(out, "[{json}]");
                }
                out.push('}');
                continue;
            }
            for (name, part) in parts {
                if subscription.covers(section, name) && fresh(part) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    push_key(&mut out, name);
                    out.push_str(&part.json);
                }
            }
            out.push('}');
            if base.is_some() {
                removed.extend(
                    self.removals
                        .iter()
                        .filter(|r| {
                            r.seq > after
                                && r.section == section
                                && !parts.contains_key(&r.name)
                                && subscription.covers(section, &r.name)
                        })
                        .map(|r| (section, &r.name)),
                );
            }
        }
        if base.is_some() {
            out.push_str(r#","removed":{"#);
            let mut first_section = true;
            for section in [Section::Queues, Section::Teams, Section::Agents] {
                let mut names: Vec<&Arc<str>> = removed
                    .iter()
                    .filter(|(s, _)| *s == section)
                    .map(|(_, n)| *n)
                    .collect();
                if names.is_empty() {
                    continue;
                }
                names.sort();
                names.dedup();
                if !first_section {
                    out.push(',');
                }
                first_section = false;
                let _ = write!(out, r#""{}":{}"#, section.as_str(), json(&names));
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

/// `"name":` with `name` escaped as JSON.
fn push_key(out: &mut String, name: &str) {
    out.push_str(&json(name));
    out.push(':');
}

#[derive(Serialize)]
struct AlertFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    at_ms: i64,
    queue: &'a str,
    window: &'a str,
    previous: Level,
    #[serde(flatten)]
    check: &'a callpulse_core::Check,
}

#[cfg(test)]
mod tests;

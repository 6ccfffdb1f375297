//! Each agent's schedule, published at the start of each (UTC) day: open for the hours
//! staffing puts the agent on shift (the daily shape), with a 15-minute break in the middle
//! of each stretch of four hours or more, which the agent takes at the first staffing pass
//! once it is free (up to one pass late: what adherence's grace is for). Derived from the
//! shape, never from the random stream, so a seed's calls stay what they were.

use callpulse_events::{Activity, AgentSchedule, AgentState, Event, ScheduleSegment, Ts};

use super::{Ev, SEC, Simulator, daily_shape};

const HOUR: i64 = 3600 * SEC;
const DAY: i64 = 24 * HOUR;
const BREAK: i64 = 15 * 60 * SEC;

impl Simulator {
    /// Whether the agent of `rank` among `team` agents is on shift in `hour` (UTC), as
    /// staffing decides it.
    pub(super) fn on_shift_in(&self, rank: usize, team: usize, hour: u32) -> bool {
        let shape = if self.cfg.flat_day {
            1.0
        } else {
            daily_shape(hour)
        };
        rank < ((team as f64) * shape.max(0.15)).ceil() as usize
    }

    /// Publishes every agent's schedule for the UTC day holding `now`, and plans the next.
    pub(super) fn publish_schedules(&mut self) {
        let day = self.now.div_euclid(DAY) * DAY;
        for q in 0..self.queues.len() {
            let members = self.queues[q].agents.clone();
            for (rank, a) in members.iter().enumerate() {
                let segments = self.day_segments(day, rank, members.len());
                self.agents[*a].breaks = segments
                    .iter()
                    .filter(|s| s.activity == Activity::Break)
                    .map(|s| (s.start.millis(), s.end.millis()))
                    .collect();
                self.emit(Event::AgentSchedule(AgentSchedule {
                    agent_id: self.agents[*a].id.clone(),
                    team: Some(self.cfg.queues[q].team.clone()),
                    start: Ts(day),
                    end: Ts(day + DAY),
                    segments,
                }));
            }
        }
        self.schedule(day + DAY - self.now, Ev::Schedules);
    }

    fn day_segments(&self, day: i64, rank: usize, team: usize) -> Vec<ScheduleSegment> {
        let mut stretches: Vec<(i64, i64)> = Vec::new();
        for hour in 0..24u32 {
            if !self.on_shift_in(rank, team, hour) {
                continue;
            }
            let start = day + i64::from(hour) * HOUR;
            match stretches.last_mut() {
                Some(last) if last.1 == start => last.1 = start + HOUR,
                _ => stretches.push((start, start + HOUR)),
            }
        }
        let segment = |start: i64, end: i64, activity| ScheduleSegment {
            start: Ts(start),
            end: Ts(end),
            activity,
        };
        let mut out = Vec::new();
        for (start, end) in stretches {
            if self.cfg.breaks && end - start >= 4 * HOUR {
                // Staggered by rank over four slots, so a team never breaks all at once.
                let slot = (rank % 4) as i64 - 2;
                let pause = start + (end - start) / 2 + slot * BREAK;
                out.push(segment(start, pause, Activity::Open));
                out.push(segment(pause, pause + BREAK, Activity::Break));
                out.push(segment(pause + BREAK, end, Activity::Open));
            } else {
                out.push(segment(start, end, Activity::Open));
            }
        }
        out
    }

    /// An available agent whose scheduled break has begun takes it, to its scheduled end.
    pub(super) fn take_scheduled_break(&mut self, a: usize) {
        if self.agents[a].state == AgentState::Available {
            self.break_if_due(a);
        }
    }

    /// If the agent's scheduled break has begun (and it is staying on shift), starts it and
    /// says so: an agent ending a call then takes its break rather than the next call.
    pub(super) fn break_if_due(&mut self, a: usize) -> bool {
        let now = self.now;
        let agent = &self.agents[a];
        if agent.leaving || !agent.on_shift {
            return false;
        }
        let Some(&(_, end)) = agent
            .breaks
            .iter()
            .find(|(start, end)| *start <= now && now < *end)
        else {
            return false;
        };
        self.emit_agent(a, AgentState::Aux);
        self.schedule(end - now, Ev::BreakEnd(a));
        true
    }
}

//! The discrete-event simulation: calls arrive (non-homogeneous Poisson by thinning), wait
//! in FIFO queues, are answered by the next free agent of the queue's team or abandoned when
//! the caller's patience runs out, are talked, held and wrapped up, and sometimes rated.
//! Agents follow shifts (staffing tracks the daily shape, and each day's published schedule
//! says the same) and take breaks, scheduled and not. Tickets arrive on
//! the digital channels and get a first response and a resolution later.
//!
//! Here: the event queue, the clock-free driver, staffing and tickets; a call's own life
//! cycle is in `calls.rs`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use callpulse_events::{
    AgentState, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    CsatResponse, Envelope, Event, QaEvaluation, QaSection, TicketChannel, TicketCreated,
    TicketFirstResponse, TicketReopened, TicketResolved, Ts,
};
use chrono::Timelike;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};

use crate::model::{SimConfig, TalkDistribution, daily_shape};

mod calls;
mod schedules;

const SEC: i64 = 1000;
/// Staffing is re-planned this often (simulated ms).
const STAFFING_EVERY: i64 = 5 * 60 * SEC;
/// Distinct customers; repeat callers are what first-contact resolution measures.
const CUSTOMERS: u32 = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival(usize),
    Patience(u64),
    TalkEnd(u64),
    WrapEnd(u64),
    BreakEnd(usize),
    Staffing,
    /// A new (UTC) day: every agent's schedule for it.
    Schedules,
    Survey(u64),
    TicketArrival,
    TicketFirstResponse(u64),
    TicketResolve(u64),
}

#[derive(Debug)]
struct Agent {
    id: String,
    queue: usize,
    state: AgentState,
    on_shift: bool,
    /// Asked to end the shift; goes offline when the current call or break ends.
    leaving: bool,
    /// Today's scheduled breaks, `[start, end)` ms (`engine/schedules.rs`).
    breaks: Vec<(i64, i64)>,
}

#[derive(Debug)]
struct Call {
    queue: usize,
    id: String,
    queued_at: i64,
    answered_at: Option<i64>,
    agent: Option<usize>,
    talk_ms: i64,
    hold_ms: i64,
    acw_ms: i64,
    done: bool,
}

#[derive(Debug)]
struct QueueRt {
    waiting: VecDeque<u64>,
    agents: Vec<usize>,
}

/// A seeded, clock-free call-center simulation.
#[derive(Debug)]
pub struct Simulator {
    cfg: SimConfig,
    rng: SmallRng,
    now: i64,
    heap: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    seq: u64,
    run: String,
    next_id: u64,
    queues: Vec<QueueRt>,
    agents: Vec<Agent>,
    calls: HashMap<u64, Call>,
    out: Vec<Envelope>,
}

impl Simulator {
    /// A center per `cfg`, starting at `start` with the shift that is on at that hour.
    pub fn new(cfg: SimConfig, start: Ts) -> Simulator {
        let rng = SmallRng::seed_from_u64(cfg.seed);
        let run = format!("{:x}", cfg.seed ^ (start.millis() as u64).rotate_left(21));
        let mut sim = Simulator {
            rng,
            now: start.millis(),
            heap: BinaryHeap::new(),
            seq: 0,
            run,
            next_id: 0,
            queues: Vec::new(),
            agents: Vec::new(),
            calls: HashMap::new(),
            out: Vec::new(),
            cfg,
        };
        for (q, model) in sim.cfg.queues.iter().enumerate() {
            let count = ((f64::from(model.peak_agents) * sim.cfg.scale).round() as usize).max(1);
            let first = sim.agents.len();
            for i in 0..count {
                sim.agents.push(Agent {
                    id: format!("{}-{:03}", model.team, i + 1),
                    queue: q,
                    state: AgentState::Offline,
                    on_shift: false,
                    leaving: false,
                    breaks: Vec::new(),
                });
            }
            sim.queues.push(QueueRt {
                waiting: VecDeque::new(),
                agents: (first..first + count).collect(),
            });
        }
        for a in 0..sim.agents.len() {
            sim.emit_agent(a, AgentState::Offline);
        }
        sim.publish_schedules();
        sim.staffing();
        for q in 0..sim.queues.len() {
            sim.schedule_arrival(q);
        }
        sim.schedule_ticket();
        sim
    }

    /// Runs the simulation up to `until` (inclusive) and returns the events produced, in
    /// event-time order.
    pub fn advance_to(&mut self, until: Ts) -> Vec<Envelope> {
        while let Some(Reverse((at, _, _))) = self.heap.peek() {
            if *at > until.millis() {
                break;
            }
            let Some(Reverse((at, _, ev))) = self.heap.pop() else {
                break;
            };
            self.now = at;
            self.handle(ev);
        }
        self.now = self.now.max(until.millis());
        std::mem::take(&mut self.out)
    }

    /// Runs until `n` events have been handed to `f`, one simulated minute at a time, so
    /// that a bulk load of any size holds at most a minute of events.
    ///
    /// # Errors
    /// The first error of `f`, which stops the run.
    pub fn stream<E>(
        &mut self,
        n: usize,
        mut f: impl FnMut(Envelope) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut handed = 0;
        while handed < n {
            let next = Ts(self.now + 60 * SEC);
            for env in self.advance_to(next).into_iter().take(n - handed) {
                f(env)?;
                handed += 1;
            }
        }
        Ok(())
    }

    /// Simulated time now.
    pub fn now(&self) -> Ts {
        Ts(self.now)
    }

    fn schedule(&mut self, delay_ms: i64, ev: Ev) {
        self.seq += 1;
        self.heap
            .push(Reverse((self.now + delay_ms.max(0), self.seq, ev)));
    }

    fn shape(&self, at_ms: i64) -> f64 {
        if self.cfg.flat_day {
            return 1.0;
        }
        let hour = Ts(at_ms).to_datetime().map_or(12, |dt| dt.hour());
        daily_shape(hour)
    }

    /// Next arrival by thinning: candidates at the peak rate, each kept with probability
    /// shape(t), which gives exact non-homogeneous Poisson arrivals.
    fn next_gap(&mut self, peak_per_min: f64) -> Option<i64> {
        let rate_per_ms = peak_per_min * self.cfg.scale / 60_000.0;
        // No arrivals at all (a rate of 0 would schedule one at the end of time).
        if rate_per_ms.is_nan() || rate_per_ms <= 0.0 {
            return None;
        }
        let exp = Exp::new(rate_per_ms).ok()?;
        let mut gap = 0.0;
        loop {
            gap += exp.sample(&mut self.rng);
            let at = self.now + gap as i64;
            if self.rng.random::<f64>() < self.shape(at) {
                return Some(gap as i64);
            }
        }
    }

    fn schedule_arrival(&mut self, q: usize) {
        if let Some(gap) = self.next_gap(self.cfg.queues[q].peak_calls_per_min) {
            self.schedule(gap, Ev::Arrival(q));
        }
    }

    fn schedule_ticket(&mut self) {
        if let Some(gap) = self.next_gap(self.cfg.peak_tickets_per_min) {
            self.schedule(gap, Ev::TicketArrival);
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn emit(&mut self, event: Event) {
        let n = self.id();
        self.out.push(Envelope {
            event_id: format!("{}-{n}", self.run),
            ts: Ts(self.now),
            event,
        });
    }

    fn emit_agent(&mut self, a: usize, state: AgentState) {
        self.agents[a].state = state;
        let team = self.cfg.queues[self.agents[a].queue].team.clone();
        let reason = (state == AgentState::Aux).then(|| "break".to_owned());
        self.emit(Event::AgentState(AgentStateChanged {
            agent_id: self.agents[a].id.clone(),
            team,
            state,
            reason,
        }));
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival(q) => self.arrival(q),
            Ev::Patience(c) => self.patience(c),
            Ev::TalkEnd(c) => {
                if let Some(agent) = self.calls.get(&c).and_then(|call| call.agent) {
                    self.emit_agent(agent, AgentState::WrapUp);
                    let acw = self.calls.get(&c).map_or(0, |call| call.acw_ms);
                    self.schedule(acw, Ev::WrapEnd(c));
                }
            }
            Ev::WrapEnd(c) => self.wrap_end(c),
            Ev::BreakEnd(a) => self.agent_free(a),
            Ev::Staffing => self.staffing(),
            Ev::Schedules => self.publish_schedules(),
            Ev::Survey(c) => self.survey(c),
            Ev::TicketArrival => self.ticket_arrival(),
            Ev::TicketFirstResponse(t) => {
                let agent_id = format!("digital-{:03}", 1 + t % 12);
                self.emit(Event::TicketFirstResponse(TicketFirstResponse {
                    ticket_id: format!("tk-{}-{t}", self.run),
                    agent_id,
                }));
                let resolve = Exp::new(1.0 / (90.0 * 60.0 * 1000.0))
                    .map_or(3_600_000.0, |e| e.sample(&mut self.rng));
                self.schedule(resolve as i64, Ev::TicketResolve(t));
            }
            Ev::TicketResolve(t) => {
                let ticket_id = format!("tk-{}-{t}", self.run);
                let agent_id = format!("digital-{:03}", 1 + t % 12);
                self.emit(Event::TicketResolved(TicketResolved {
                    ticket_id: ticket_id.clone(),
                    agent_id,
                }));
                if self.rng.random::<f64>() < 0.05 {
                    self.emit(Event::TicketReopened(TicketReopened { ticket_id }));
                }
            }
        }
    }

    /// Puts the number of agents the hour needs on shift; the others finish their call and
    /// leave. Re-planned every few simulated minutes.
    fn staffing(&mut self) {
        let shape = self.shape(self.now).max(0.15);
        for q in 0..self.queues.len() {
            let team = self.queues[q].agents.clone();
            let mut sorted = team;
            sorted.sort_unstable();
            let needed = ((sorted.len() as f64) * shape).ceil() as usize;
            for (rank, a) in sorted.into_iter().enumerate() {
                let agent = &mut self.agents[a];
                if rank < needed {
                    agent.leaving = false;
                    if !agent.on_shift {
                        agent.on_shift = true;
                        self.emit_agent(a, AgentState::Available);
                    }
                    self.take_scheduled_break(a);
                } else if agent.on_shift {
                    match agent.state {
                        AgentState::Available | AgentState::Offline => {
                            agent.on_shift = false;
                            self.emit_agent(a, AgentState::Offline);
                        }
                        _ => agent.leaving = true,
                    }
                }
            }
            self.dispatch(q);
        }
        self.schedule(STAFFING_EVERY, Ev::Staffing);
    }

    fn ticket_arrival(&mut self) {
        self.schedule_ticket();
        let t = self.id();
        let channel = [
            TicketChannel::Email,
            TicketChannel::Chat,
            TicketChannel::Social,
            TicketChannel::Web,
        ][self.rng.random_range(0..4)];
        let customer = format!("cust-{}", self.rng.random_range(1..=CUSTOMERS));
        self.emit(Event::TicketCreated(TicketCreated {
            ticket_id: format!("tk-{}-{t}", self.run),
            queue: "digital".to_owned(),
            channel,
            customer_id: Some(customer),
            priority: None,
        }));
        let first = exp_ms(&mut self.rng, 20.0 * 60.0);
        self.schedule(first, Ev::TicketFirstResponse(t));
    }
}

/// A log-normal sample with the given mean (σ = 0.6, typical of handle times), in seconds.
pub(super) fn lognormal(rng: &mut SmallRng, mean: f64) -> i64 {
    let sigma: f64 = 0.6;
    let mu = mean.max(1.0).ln() - sigma * sigma / 2.0;
    LogNormal::new(mu, sigma)
        .map_or(mean, |d| d.sample(rng))
        .round() as i64
}

/// An exponential sample with the given mean in seconds, returned in ms.
pub(super) fn exp_ms(rng: &mut SmallRng, mean_secs: f64) -> i64 {
    Exp::new(1.0 / mean_secs.max(0.001))
        .map_or(mean_secs, |d| d.sample(rng))
        .mul_add(1000.0, 0.0) as i64
}

#[cfg(test)]
mod tests;

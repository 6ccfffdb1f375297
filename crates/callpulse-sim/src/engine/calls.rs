//! A call's life: arrival in its queue, the caller's patience, dispatch to the next free
//! agent of the queue's team, talk, hold and wrap-up, and the survey that sometimes follows.

use super::*;

impl Simulator {
    pub(super) fn arrival(&mut self, q: usize) {
        self.schedule_arrival(q);
        let n = self.id();
        let model = &self.cfg.queues[q];
        let (talk_shape, talk_mean, hold_share, hold_mean, acw_mean, patience) = (
            model.talk_distribution,
            model.mean_talk_secs,
            model.hold_share,
            model.mean_hold_secs,
            model.mean_acw_secs,
            model.mean_patience_secs,
        );
        let call = Call {
            queue: q,
            id: format!("call-{}-{n}", self.run),
            queued_at: self.now,
            answered_at: None,
            agent: None,
            talk_ms: match talk_shape {
                TalkDistribution::LogNormal => lognormal(&mut self.rng, talk_mean) * SEC,
                TalkDistribution::Exponential => exp_ms(&mut self.rng, talk_mean),
            },
            hold_ms: if self.rng.random::<f64>() < hold_share {
                exp_ms(&mut self.rng, hold_mean)
            } else {
                0
            },
            acw_ms: if acw_mean > 0.0 {
                lognormal(&mut self.rng, acw_mean) * SEC
            } else {
                0
            },
            done: false,
        };
        let customer_id = format!("cust-{}", self.rng.random_range(1..=CUSTOMERS));
        let priority = u8::from(self.cfg.queues[q].name == "vip") * 2;
        self.emit(Event::CallQueued(CallQueued {
            call_id: call.id.clone(),
            queue: self.cfg.queues[q].name.clone(),
            customer_id: Some(customer_id),
            priority: (priority > 0).then_some(priority),
            transferred_from: None,
        }));
        self.calls.insert(n, call);
        self.queues[q].waiting.push_back(n);
        let patience_ms = exp_ms(&mut self.rng, patience);
        self.schedule(patience_ms, Ev::Patience(n));
        self.dispatch(q);
    }

    pub(super) fn patience(&mut self, c: u64) {
        let Some(call) = self.calls.get(&c) else {
            return;
        };
        if call.answered_at.is_some() {
            return;
        }
        let q = call.queue;
        let event = CallAbandoned::new(call.id.clone(), self.cfg.queues[q].name.clone());
        self.calls.remove(&c);
        self.queues[q].waiting.retain(|w| *w != c);
        self.emit(Event::CallAbandoned(event));
    }

    /// Hands waiting calls to free agents, longest-waiting call to the agent idle longest.
    pub(super) fn dispatch(&mut self, q: usize) {
        while let Some(&c) = self.queues[q].waiting.front() {
            let free = self.queues[q].agents.iter().copied().find(|a| {
                self.agents[*a].state == AgentState::Available && !self.agents[*a].leaving
            });
            let Some(agent) = free else { return };
            self.queues[q].waiting.pop_front();
            // Rotate so the next call goes to another agent, spreading the work.
            if let Some(pos) = self.queues[q].agents.iter().position(|a| *a == agent) {
                let a = self.queues[q].agents.remove(pos);
                self.queues[q].agents.push(a);
            }
            let Some(call) = self.calls.get_mut(&c) else {
                continue;
            };
            call.answered_at = Some(self.now);
            call.agent = Some(agent);
            let busy = call.talk_ms + call.hold_ms;
            let event = CallAnswered {
                call_id: call.id.clone(),
                queue: self.cfg.queues[q].name.clone(),
                agent_id: self.agents[agent].id.clone(),
            };
            self.emit(Event::CallAnswered(event));
            self.emit_agent(agent, AgentState::OnCall);
            self.schedule(busy, Ev::TalkEnd(c));
        }
    }

    pub(super) fn wrap_end(&mut self, c: u64) {
        let Some(call) = self.calls.get_mut(&c) else {
            return;
        };
        call.done = true;
        let Some(agent) = call.agent else { return };
        let resolved = self.rng.random::<f64>() < 0.78;
        let event = CallCompleted {
            call_id: call.id.clone(),
            queue: self.cfg.queues[call.queue].name.clone(),
            agent_id: self.agents[agent].id.clone(),
            talk_ms: call.talk_ms,
            hold_ms: call.hold_ms,
            acw_ms: call.acw_ms,
            resolved: Some(resolved),
        };
        self.emit(Event::CallCompleted(event));
        self.evaluate(c, agent);
        if self.rng.random::<f64>() < self.cfg.survey_share {
            let delay = self.rng.random_range(30..600) * SEC;
            self.schedule(delay, Ev::Survey(c));
        } else {
            self.calls.remove(&c);
        }
        if self.cfg.breaks && !self.agents[agent].leaving && self.rng.random::<f64>() < 0.04 {
            self.emit_agent(agent, AgentState::Aux);
            let pause = self.rng.random_range(5..15) * 60 * SEC;
            self.schedule(pause, Ev::BreakEnd(agent));
        } else {
            self.agent_free(agent);
        }
    }

    /// The team lead evaluates one call in twenty as it ends. Decided from a hash of the
    /// call id, not the random stream, so a seed's calls and agents stay what they were.
    fn evaluate(&mut self, c: u64, agent: usize) {
        let Some(call) = self.calls.get(&c) else {
            return;
        };
        let h = call.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        if h % 20 != 0 {
            return;
        }
        let score = 60 + ((h >> 8) % 41) as u32;
        let opening = (score * 20 / 100).min(20);
        let team = &self.cfg.queues[call.queue].team;
        let event = QaEvaluation {
            evaluation_id: format!("qa-{}", call.id),
            agent_id: self.agents[agent].id.clone(),
            evaluator_id: format!("{team}-lead"),
            form: "calls-v1".into(),
            score,
            max_score: 100,
            critical_failures: u32::from((h >> 16) % 25 == 0),
            sections: vec![
                QaSection {
                    name: "opening".into(),
                    score: opening,
                    max_score: 20,
                },
                QaSection {
                    name: "resolution".into(),
                    score: score - opening,
                    max_score: 80,
                },
            ],
            contact_id: Some(call.id.clone()),
        };
        self.emit(Event::QaEvaluation(event));
    }

    pub(super) fn agent_free(&mut self, a: usize) {
        if self.agents[a].leaving || !self.agents[a].on_shift {
            self.agents[a].on_shift = false;
            self.agents[a].leaving = false;
            self.emit_agent(a, AgentState::Offline);
            return;
        }
        if self.break_if_due(a) {
            return;
        }
        self.emit_agent(a, AgentState::Available);
        self.dispatch(self.agents[a].queue);
    }

    pub(super) fn survey(&mut self, c: u64) {
        let Some(call) = self.calls.remove(&c) else {
            return;
        };
        let wait_s = call
            .answered_at
            .unwrap_or(call.queued_at)
            .saturating_sub(call.queued_at)
            / SEC;
        // Satisfaction falls with the wait: most callers answered fast rate 4-5.
        let good = if wait_s < 30 {
            0.85
        } else if wait_s < 120 {
            0.65
        } else {
            0.4
        };
        let score = if self.rng.random::<f64>() < good {
            self.rng.random_range(4..=5)
        } else {
            self.rng.random_range(1..=3)
        };
        // Most surveys ask both questions; a satisfied caller tends to recommend.
        let nps = (self.rng.random::<f64>() < 0.8).then(|| {
            if score >= 4 {
                self.rng.random_range(7..=10)
            } else {
                self.rng.random_range(0..=7)
            }
        });
        let event = CsatResponse {
            interaction_id: call.id.clone(),
            queue: self.cfg.queues[call.queue].name.clone(),
            agent_id: call.agent.map(|a| self.agents[a].id.clone()),
            score: Some(score),
            nps,
        };
        self.emit(Event::CsatResponse(event));
    }
}

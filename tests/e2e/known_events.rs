//! A fixed event set, with out-of-order, duplicated and malformed messages mixed in, must
//! come out of `/metrics`, `/api/v1/snapshot` and `/ws` as exact, hand-computed figures.

use std::collections::BTreeMap;
use std::time::Duration;

use callpulse_e2e::{Engine, Scrape, Tansu, eventually, mock_cluster, promtool_check, test_config};
use callpulse_events::{
    Activity, AgentSchedule, AgentState, AgentStateChanged, CallAbandoned, CallAnswered,
    CallCompleted, CallQueued, CsatResponse, Envelope, Event, QaEvaluation, ScheduleSegment,
    TicketChannel, TicketCreated, TicketFirstResponse, TicketReopened, TicketResolved, Ts,
};
use callpulse_sim::{EventProducer, SimTopics};
use futures::StreamExt;

/// Messages produced per topic below (good, duplicated and bad alike).
const CALLS_MSGS: f64 = 18.0;
const AGENTS_MSGS: f64 = 5.0;
const SURVEYS_MSGS: f64 = 6.0;
const TICKETS_MSGS: f64 = 6.0;

use callpulse_e2e::wall_now as now;

struct Script {
    t0: Ts,
    n: u32,
    out: Vec<Envelope>,
}

impl Script {
    fn at(&mut self, secs: i64, event: Event) -> Envelope {
        self.n += 1;
        let env = Envelope {
            event_id: format!("known-{}", self.n),
            ts: self.t0.plus_millis(secs * 1000),
            event,
        };
        self.out.push(env.clone());
        env
    }
    fn queued(&mut self, s: i64, call: &str, queue: &str) {
        self.queued_by(s, call, queue, None);
    }
    fn queued_by(&mut self, s: i64, call: &str, queue: &str, customer: Option<&str>) {
        self.at(
            s,
            Event::CallQueued(CallQueued {
                call_id: call.into(),
                queue: queue.into(),
                customer_id: customer.map(Into::into),
                priority: None,
                transferred_from: None,
            }),
        );
    }
    fn answered(&mut self, s: i64, call: &str, queue: &str) -> Envelope {
        self.at(
            s,
            Event::CallAnswered(CallAnswered {
                call_id: call.into(),
                queue: queue.into(),
                agent_id: "a1".into(),
            }),
        )
    }
    fn abandoned(&mut self, s: i64, call: &str, queue: &str) {
        self.at(s, Event::CallAbandoned(CallAbandoned::new(call, queue)));
    }
    fn agent(&mut self, s: i64, id: &str, team: &str, state: AgentState) {
        self.at(
            s,
            Event::AgentState(AgentStateChanged {
                agent_id: id.into(),
                team: team.into(),
                state,
                reason: None,
            }),
        );
    }
    fn qa(&mut self, s: i64, id: &str, agent: &str, (score, max_score): (u32, u32), critical: u32) {
        self.at(
            s,
            Event::QaEvaluation(QaEvaluation {
                evaluation_id: id.into(),
                agent_id: agent.into(),
                evaluator_id: "lead".into(),
                form: "calls".into(),
                score,
                max_score,
                critical_failures: critical,
                sections: Vec::new(),
                contact_id: None,
            }),
        );
    }
    fn csat(&mut self, s: i64, id: &str, queue: &str, score: u8) {
        self.at(
            s,
            Event::CsatResponse(CsatResponse {
                interaction_id: id.into(),
                queue: queue.into(),
                // a1 answered every call the script rates.
                agent_id: Some("a1".into()),
                score: Some(score),
                // The NPS answer twice the CSAT score: 10, 4 and 8 below.
                nps: Some(score * 2),
            }),
        );
    }
}

/// Produces the set; returns the `call_queued` time of the call left waiting.
/// Produces the known events; returns when the oldest still-waiting call was queued, and
/// every message as a line of NDJSON history (for the replay comparison).
fn produce(brokers: &str) -> (Ts, Vec<String>) {
    let producer = EventProducer::new(
        brokers,
        &BTreeMap::new(),
        SimTopics::new("calls", "agents", "tickets", "surveys"),
    )
    .expect("producer");
    let mut s = Script {
        t0: Ts(now().millis() - 180_000),
        n: 0,
        out: Vec::new(),
    };
    s.queued_by(0, "c1", "billing", Some("k1"));
    let duplicate = s.answered(10, "c1", "billing"); // wait 10 s
    s.at(
        100,
        Event::CallCompleted(CallCompleted {
            call_id: "c1".into(),
            queue: "billing".into(),
            agent_id: "a1".into(),
            talk_ms: 60_000,
            hold_ms: 10_000,
            acw_ms: 20_000,
            resolved: Some(true),
        }),
    );
    s.queued(5, "c2", "billing");
    s.answered(35, "c2", "billing"); // 30 s
    s.queued(10, "c3", "billing");
    s.abandoned(13, "c3", "billing"); // short abandon (3 s)
    s.queued(20, "c4", "billing");
    s.abandoned(60, "c4", "billing"); // 40 s
    s.answered(110, "c5", "billing"); // the answer arrives before its call_queued...
    // ...wait 5 s; k1 calls again after c1 completed (at 100): a repeat contact. (A call
    // placed while c1 was still in progress would be a parallel contact, not a repeat.)
    s.queued_by(105, "c5", "billing", Some("k1"));
    s.queued(100, "c6", "billing"); // still waiting
    s.queued(0, "s1", "sales");
    s.answered(25, "s1", "sales"); // 25 s: outside the 20 s threshold
    s.agent(0, "a1", "billing-team", AgentState::Available);
    s.agent(10, "a1", "billing-team", AgentState::OnCall);
    s.agent(5, "a2", "billing-team", AgentState::Aux);
    s.agent(5, "a3", "sales-team", AgentState::Available);
    // a2 is scheduled open to t0 + 60 s, then on a break, and is in aux with no reason
    // ("other") from t0 + 5 s: out of adherence from then, past the 120 s grace by the time
    // it is read (t0 + 180 s or later).
    let at = |secs: i64| s.t0.plus_millis(secs * 1000);
    let schedule = AgentSchedule {
        agent_id: "a2".into(),
        team: Some("billing-team".into()),
        start: at(-3600),
        end: at(3600),
        segments: vec![
            ScheduleSegment {
                start: at(-600),
                end: at(60),
                activity: Activity::Open,
            },
            ScheduleSegment {
                start: at(60),
                end: at(3600),
                activity: Activity::Break,
            },
        ],
    };
    s.at(-120, Event::AgentSchedule(schedule));
    s.csat(120, "c1", "billing", 5);
    s.csat(121, "c2", "billing", 2);
    s.csat(122, "s1", "sales", 4);
    // Quality: a1 90/100 passes; a2 40/50 (80 %, at the mark) fails on a critical item.
    s.qa(123, "qa1", "a1", (90, 100), 0);
    s.qa(124, "qa2", "a2", (40, 50), 1);
    s.at(
        1,
        Event::TicketCreated(TicketCreated {
            ticket_id: "t1".into(),
            queue: "digital".into(),
            channel: TicketChannel::Email,
            customer_id: None,
            priority: None,
        }),
    );
    // t1: first response after 60 s, resolved after 120 s, reopened; t2 waits.
    s.at(
        61,
        Event::TicketFirstResponse(TicketFirstResponse {
            ticket_id: "t1".into(),
            agent_id: "d1".into(),
        }),
    );
    s.at(
        121,
        Event::TicketResolved(TicketResolved {
            ticket_id: "t1".into(),
            agent_id: "d1".into(),
        }),
    );
    s.at(
        130,
        Event::TicketReopened(TicketReopened {
            ticket_id: "t1".into(),
        }),
    );
    s.at(
        2,
        Event::TicketCreated(TicketCreated {
            ticket_id: "t2".into(),
            queue: "digital".into(),
            channel: TicketChannel::Chat,
            customer_id: None,
            priority: Some(1),
        }),
    );
    let mut history: Vec<String> = Vec::new();
    for env in &s.out {
        producer.send(env).expect("send");
        history.push(env.to_json());
    }
    // Redelivery of an already-sent event (same id, same key, so the same partition).
    producer.send(&duplicate).expect("send duplicate");
    history.push(duplicate.to_json());
    history.push("{not json".to_owned());
    history.push(
        r#"{"type":"call_teleported","event_id":"x1","ts":"2025-01-01T00:00:00Z"}"#.to_owned(),
    );
    producer
        .send_raw("calls", "c9", b"{not json")
        .expect("send");
    producer
        .send_raw(
            "calls",
            "c9",
            br#"{"type":"call_teleported","event_id":"x1","ts":"2025-01-01T00:00:00Z"}"#,
        )
        .expect("send");
    let missing = format!(
        r#"{{"type":"call_answered","event_id":"x2","ts":"{}","call_id":"c9","queue":"billing"}}"#,
        now().to_rfc3339()
    );
    producer
        .send_raw("calls", "c9", missing.as_bytes())
        .expect("send");
    history.push(missing.clone());
    let bad_score = format!(
        r#"{{"type":"csat_response","event_id":"x3","ts":"{}","interaction_id":"c9","queue":"billing","score":9}}"#,
        now().to_rfc3339()
    );
    producer
        .send_raw("surveys", "c9", bad_score.as_bytes())
        .expect("send");
    history.push(bad_score.clone());
    let huge = format!(
        r#"{{"type":"ticket_created","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    producer
        .send_raw("tickets", "t9", huge.as_bytes())
        .expect("send");
    history.push(huge);
    producer.flush(Duration::from_secs(30)).expect("flush");
    (s.t0.plus_millis(100_000), history)
}

/// The same history through `callpulse replay` gives the live run's lifetime figures: per
/// queue totals, and every event's fate.
fn replay_matches_live(history: &[String], live: &serde_json::Value) {
    let path = std::env::temp_dir().join(format!(
        "callpulse-known-{}-{}.ndjson",
        std::process::id(),
        live["seq"]
    ));
    std::fs::write(&path, history.join("\n") + "\n").expect("write history");
    let out = std::process::Command::new(callpulse_e2e::callpulse_binary())
        .args(["replay", path.to_str().expect("utf-8 path")])
        .env("RUST_LOG", "error")
        .output()
        .expect("replay runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("snapshot json");
    let totals = |snap: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        snap["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|q| (q["queue"].to_string(), q["totals"].clone()))
            .collect()
    };
    assert_eq!(
        totals(&replayed),
        totals(live),
        "replay totals equal the live run's"
    );
    for counter in ["applied", "parked", "ignored", "orphaned", "late"] {
        assert_eq!(
            replayed["engine"]["counters"][counter], live["engine"]["counters"][counter],
            "{counter}"
        );
    }
}

async fn scenario(brokers: &str, group: &str) {
    let (waiting_since, history) = produce(brokers);
    let mut config = test_config(brokers, group);
    config.metrics.queues.insert(
        "billing".into(),
        callpulse_core::QueuePolicy {
            team: Some("billing-team".into()),
            ..config.metrics.default_queue.clone()
        },
    );
    // The org chart: group "front" owns billing-team (so the billing queue) and sales.
    config.metrics.groups.insert(
        "front".into(),
        callpulse_core::policy::GroupPolicy {
            teams: vec!["billing-team".into()],
            queues: vec!["sales".into()],
        },
    );
    // The reforecast: billing's typical day is 6 calls per 30-minute interval of 100 s.
    let day = serde_json::json!({
        "offered": vec![6.0; 48], "aht_s": vec![100.0; 48], "patience_s": 90.0, "days": 8
    });
    let profile = std::env::temp_dir().join(format!("callpulse-{group}-profile.json"));
    std::fs::write(
        &profile,
        serde_json::json!({
            "version": callpulse_core::forecast::PROFILE_VERSION,
            "timezone": config.metrics.timezone,
            "interval_secs": config.metrics.interval_mins * 60,
            "learned_to": "2026-01-01",
            "method": { "weeks": 8, "damping": 0.1, "aht_damping_calls": 50.0 },
            "queues": { "billing": vec![day; 7] },
        })
        .to_string(),
    )
    .expect("profile");
    config.forecast.profile = profile.display().to_string();
    let engine = Engine::start(config).await;
    let total = CALLS_MSGS + AGENTS_MSGS + SURVEYS_MSGS + TICKETS_MSGS;
    // Everything consumed, and a snapshot taken after that.
    // Consumed is counted as the poll thread hands a batch to its worker; processed, once
    // the worker has applied it and a snapshot holds it (a loaded machine left the surveys
    // batch unapplied two ticks after it was consumed).
    let seq_after = eventually(
        Duration::from_secs(60),
        "all messages consumed and processed",
        || async {
            let m = engine.metrics().await;
            if m.sum("callpulse_events_consumed_total") != total {
                return None;
            }
            let (status, body) = engine.get("/api/v1/engine").await;
            let engine_json: serde_json::Value =
                serde_json::from_str(&body).ok().filter(|_| status == 200)?;
            (engine_json["processed"].as_f64() == Some(total))
                .then(|| engine_json["seq"].as_f64())
                .flatten()
        },
    )
    .await;
    let m: Scrape = eventually(
        Duration::from_secs(20),
        "two more snapshots and lag statistics",
        || async {
            let m = engine.metrics().await;
            let families = callpulse_e2e::families(&m);
            let lag_known = families.contains_key("callpulse_consumer_lag_messages");
            // FCR facts travel through the repartition topic after their events: the
            // tracker has them once FCR figures appear.
            let fcr_known = families.contains_key("callpulse_fcr_eligible_total");
            // Every worker met the tick's deadline (a loaded machine can make one miss a
            // tick; the next one catches up).
            let fresh = m.value("callpulse_snapshot_stale_partitions", &[]) == 0.0;
            (m.value("callpulse_snapshot_seq", &[]) >= seq_after + 2.0
                && lag_known
                && fcr_known
                && fresh)
                .then_some(m)
        },
    )
    .await;
    promtool_check(&m.text);
    callpulse_e2e::check_docs_against(&m);
    // Caught up: the figures are read at the wall clock, every partition at the tick's
    // instant (the known history is stamped minutes in the past, so an event-time instant
    // would show as a delay).
    let delay = m.value("callpulse_watermark_delay_seconds", &[]);
    assert!((0.0..5.0).contains(&delay), "watermark delay {delay} s");
    assert_eq!(m.value("callpulse_snapshot_stale_partitions", &[]), 0.0);

    for (topic, n) in [
        ("calls", CALLS_MSGS),
        ("agents", AGENTS_MSGS),
        ("surveys", SURVEYS_MSGS),
        ("tickets", TICKETS_MSGS),
    ] {
        assert_eq!(
            m.value("callpulse_events_consumed_total", &[("topic", topic)]),
            n,
            "{topic}"
        );
    }
    for (reason, n) in [
        ("malformed_json", 1.0),
        ("unknown_type", 1.0),
        ("missing_field", 1.0),
        ("score_out_of_range", 1.0),
        ("payload_too_large", 1.0),
        ("duplicate", 1.0),
        ("negative_duration", 0.0),
    ] {
        assert_eq!(
            m.value("callpulse_events_rejected_total", &[("reason", reason)]),
            n,
            "{reason}"
        );
    }
    let b = |name: &str| m.value(name, &[("queue", "billing"), ("window", "5m")]);
    assert_eq!(b("callpulse_queue_offered_calls"), 6.0);
    assert_eq!(b("callpulse_queue_answered_calls"), 3.0);
    assert_eq!(b("callpulse_queue_abandoned_calls"), 2.0);
    assert_eq!(b("callpulse_queue_short_abandoned_calls"), 1.0);
    assert_eq!(b("callpulse_queue_sl_denominator_calls"), 4.0);
    let bt = |name: &str| {
        m.value(
            name,
            &[
                ("queue", "billing"),
                ("window", "5m"),
                ("threshold_seconds", "20"),
            ],
        )
    };
    assert_eq!(bt("callpulse_queue_answered_within_threshold_calls"), 2.0);
    assert_eq!(bt("callpulse_queue_service_level_ratio"), 0.5);
    // (2 abandoned - 1 short) / (6 offered - 1 short)
    assert_eq!(b("callpulse_queue_abandon_ratio"), 0.2);
    assert_eq!(b("callpulse_queue_answer_wait_seconds"), 45.0);
    assert_eq!(b("callpulse_queue_asa_seconds"), 15.0);
    assert_eq!(b("callpulse_queue_wait_max_seconds"), 30.0);
    assert_eq!(b("callpulse_queue_completed_calls"), 1.0);
    assert_eq!(b("callpulse_queue_aht_seconds"), 90.0);
    assert_eq!(b("callpulse_queue_csat_responses"), 2.0);
    assert_eq!(b("callpulse_queue_csat_ratio"), 0.5);
    // NPS 10 (promoter) and 4 (detractor): (1 - 1) / 2.
    assert_eq!(b("callpulse_queue_nps_responses"), 2.0);
    assert_eq!(b("callpulse_queue_nps_promoters"), 1.0);
    assert_eq!(b("callpulse_queue_nps_detractors"), 1.0);
    assert_eq!(b("callpulse_queue_nps_score"), 0.0);
    // FCR: customer k1's call c1 completed, then k1 called again (c5): not resolved first time.
    assert_eq!(b("callpulse_queue_fcr_eligible_contacts"), 1.0);
    assert_eq!(b("callpulse_queue_fcr_resolved_contacts"), 0.0);
    assert_eq!(b("callpulse_queue_fcr_ratio"), 0.0);
    assert_eq!(
        m.value(
            "callpulse_queue_fcr_pending_contacts",
            &[("queue", "billing")]
        ),
        0.0
    );
    assert_eq!(m.value("callpulse_fcr_customers", &[]), 1.0);
    // Tickets: t1 and t2 open (t1 reopened), t2 still waiting for its first response.
    let d = |name: &str| m.value(name, &[("queue", "digital")]);
    assert_eq!(d("callpulse_queue_tickets_open"), 2.0);
    assert_eq!(d("callpulse_queue_tickets_awaiting_first_response"), 1.0);
    assert_eq!(d("callpulse_queue_tickets_overdue"), 0.0);
    let dw = |name: &str| m.value(name, &[("queue", "digital"), ("window", "5m")]);
    assert_eq!(dw("callpulse_queue_tickets_created"), 2.0);
    assert_eq!(
        dw("callpulse_queue_ticket_first_response_avg_seconds"),
        60.0
    );
    assert_eq!(dw("callpulse_queue_ticket_resolution_avg_seconds"), 120.0);
    assert_eq!(dw("callpulse_queue_ticket_reopen_ratio"), 1.0);
    // Staffing: billing-team has a1 on a call (a2 is in aux); Erlang C needs at least one.
    let q = |name: &str| m.value(name, &[("queue", "billing")]);
    assert_eq!(q("callpulse_queue_staffed_agents"), 1.0);
    assert!(q("callpulse_queue_offered_load_erlangs") > 0.0);
    assert!(q("callpulse_queue_required_agents") >= 1.0);
    assert_eq!(
        q("callpulse_queue_staffing_gap_agents"),
        q("callpulse_queue_required_agents") - 1.0
    );
    assert_eq!(
        m.value("callpulse_queue_calls_waiting", &[("queue", "billing")]),
        1.0
    );
    let s = |name: &str| m.value(name, &[("queue", "sales"), ("window", "1h")]);
    assert_eq!(s("callpulse_queue_answered_calls"), 1.0);
    assert_eq!(
        m.value(
            "callpulse_queue_service_level_ratio",
            &[
                ("queue", "sales"),
                ("window", "1h"),
                ("threshold_seconds", "20")
            ]
        ),
        0.0
    );
    assert_eq!(s("callpulse_queue_asa_seconds"), 25.0);
    assert_eq!(s("callpulse_queue_csat_ratio"), 1.0);
    // One passive (8): no promoter, no detractor.
    assert_eq!(s("callpulse_queue_nps_score"), 0.0);
    assert_eq!(s("callpulse_queue_nps_responses"), 1.0);
    assert_eq!(
        m.value(
            "callpulse_team_agents",
            &[("team", "billing-team"), ("state", "on_call")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "callpulse_team_agents",
            &[("team", "billing-team"), ("state", "aux")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "callpulse_team_agents",
            &[("team", "sales-team"), ("state", "available")]
        ),
        1.0
    );
    // Quality today: billing-team's two evaluations, (0.9 + 0.8) / 2, one passed, one
    // critical failure.
    let team = [("team", "billing-team")];
    assert_eq!(m.value("callpulse_team_qa_evaluations", &team), 2.0);
    assert!((m.value("callpulse_team_qa_score_ratio", &team) - 0.85).abs() < 1e-9);
    assert_eq!(m.value("callpulse_team_qa_pass_ratio", &team), 0.5);
    assert_eq!(
        m.value("callpulse_team_qa_critical_failure_ratio", &team),
        0.5
    );
    assert_eq!(
        m.value("callpulse_team_qa_evaluations", &[("team", "sales-team")]),
        0.0
    );
    // The group: billing and sales merged (offered 6 + 1 in the hour), billing-team's two
    // agents, a1's three ratings (5, 2 and 4: two of three top-2-box).
    let front = [("group", "front")];
    assert_eq!(m.value("callpulse_group_calls_waiting", &front), 1.0);
    assert_eq!(
        m.value(
            "callpulse_group_offered_calls",
            &[("group", "front"), ("window", "1h")]
        ),
        m.value(
            "callpulse_queue_offered_calls",
            &[("queue", "billing"), ("window", "1h")]
        ) + 1.0
    );
    assert_eq!(
        m.value(
            "callpulse_group_agents",
            &[("group", "front"), ("state", "aux")]
        ),
        1.0
    );
    assert!((m.value("callpulse_group_csat_ratio", &front) - 2.0 / 3.0).abs() < 1e-9);
    // Adherence: a2, the team's only scheduled agent, out since t0 + 5 s.
    assert_eq!(
        m.value("callpulse_team_agents_out_of_adherence", &team),
        1.0
    );
    let day = [("team", "billing-team"), ("window", "today")];
    assert!(m.value("callpulse_team_adherence_ratio", &day) < 1.0);
    // Not working while scheduled open (55 s of it); mostly a break scheduled since.
    assert_eq!(m.value("callpulse_team_conformance_ratio", &day), 0.0);
    assert!(
        m.value(
            "callpulse_team_shrinkage_ratio",
            &[
                ("team", "billing-team"),
                ("activity", "break"),
                ("kind", "planned")
            ]
        ) > 0.5
    );
    // Lifetime counters and the histogram, whose buckets sit on the thresholds.
    let q = [("queue", "billing")];
    assert_eq!(m.value("callpulse_calls_offered_total", &q), 6.0);
    assert_eq!(
        m.value(
            "callpulse_calls_answered_within_threshold_total",
            &[("queue", "billing"), ("threshold_seconds", "20")]
        ),
        2.0
    );
    assert_eq!(
        m.value(
            "callpulse_calls_answer_wait_seconds_bucket",
            &[("queue", "billing"), ("le", "5")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "callpulse_calls_answer_wait_seconds_bucket",
            &[("queue", "billing"), ("le", "20")]
        ),
        2.0
    );
    assert_eq!(
        m.value(
            "callpulse_calls_answer_wait_seconds_bucket",
            &[("queue", "billing"), ("le", "+Inf")]
        ),
        3.0
    );
    assert_eq!(m.value("callpulse_calls_answer_wait_seconds_sum", &q), 45.0);
    // Applied outcomes: 29 good events, one parked until its call_queued came.
    assert_eq!(
        m.value("callpulse_events_applied_total", &[("outcome", "counted")]),
        28.0
    );
    assert_eq!(
        m.value("callpulse_events_applied_total", &[("outcome", "parked")]),
        1.0
    );
    assert_eq!(
        m.value("callpulse_events_applied_total", &[("outcome", "ignored")]),
        0.0
    );

    // The engine status endpoint accounts for every message: 28 applied + 6 rejected.
    let (status, body) = engine.get("/api/v1/engine").await;
    assert_eq!(status, 200);
    let status_json: serde_json::Value = serde_json::from_str(&body).expect("engine json");
    assert_eq!(status_json["engine"]["consumed"], total as u64);
    assert_eq!(status_json["engine"]["rejected"], 6);
    assert_eq!(status_json["processed"], total as u64);

    // The JSON API and the WebSocket feed tell the same story.
    let snap = engine.snapshot().await;
    let billing = snap["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["queue"] == "billing")
        .expect("billing")
        .clone();
    assert_eq!(billing["windows"][0]["window"], "5m");
    assert_eq!(billing["windows"][0]["service_level"]["20"], 0.5);
    assert_eq!(billing["windows"][0]["answered_within"]["20"], 2);
    let at_ms = snap["at_ms"].as_i64().expect("at_ms");
    assert_eq!(
        billing["longest_wait_s"].as_f64().expect("longest"),
        (at_ms - waiting_since.millis()) as f64 / 1000.0
    );
    let agents = snap["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), 3);
    assert_eq!(agents[0]["agent_id"], "a1");
    assert_eq!(agents[0]["state"], "on_call");
    let a1_qa = &agents[0]["calls_today"]["qa"];
    assert_eq!(
        (&a1_qa["evaluations"], &a1_qa["score"], &a1_qa["pass_rate"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(0.9),
            &serde_json::json!(1.0)
        ),
        "{a1_qa}"
    );
    let team_qa = &snap["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .find(|t| t["team"] == "billing-team")
        .expect("billing-team")["calls_today"]["qa"];
    // Two evaluations over the team's two agents.
    assert_eq!(team_qa["per_agent"], 1.0, "{team_qa}");
    assert_eq!(team_qa["critical_failure_rate"], 0.5, "{team_qa}");
    let billing = snap["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .find(|t| t["team"] == "billing-team")
        .expect("billing-team");
    assert_eq!(billing["agents_out_of_adherence"], 1, "{billing}");
    // The reforecast of billing from the profile file, and billing-team's plan against it:
    // the team's only queue's forecast, and its one scheduled agent.
    let forecast = &snap["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["queue"] == "billing")
        .expect("billing")["forecast"];
    let ratio = forecast["volume_ratio"].as_f64().expect("ratio");
    let next = &forecast["intervals"][0];
    assert!(
        (next["offered"].as_f64().expect("offered") - 6.0 * ratio).abs() < 1e-9,
        "{forecast}"
    );
    assert_eq!(forecast["profile_days"], 8, "{forecast}");
    let plan = &billing["plan"][0];
    assert_eq!(plan["start_ms"], next["start_ms"], "{plan}");
    assert_eq!(plan["forecast_offered"], next["offered"], "{plan}");
    assert_eq!(plan["required_agents"], next["required_agents"], "{plan}");
    let gap = plan["required_agents"].as_f64().expect("required")
        - plan["scheduled_agents"].as_f64().expect("scheduled");
    assert!(
        (plan["gap_agents"].as_f64().expect("gap") - gap).abs() < 1e-9,
        "{plan}"
    );
    // Read a few ticks earlier, the day's position a little earlier: close, not equal.
    let scraped = m.value(
        "callpulse_queue_forecast_volume_ratio",
        &[("queue", "billing")],
    );
    assert!(
        scraped > 0.0 && (scraped - ratio).abs() < 0.1,
        "{scraped} {ratio}"
    );
    let agents = snap["agents"].as_array().expect("agents");
    let a2 = agents.iter().find(|a| a["agent_id"] == "a2").expect("a2");
    let out = &a2["adherence"];
    assert_eq!(
        (&out["out_of_adherence"], &out["scheduled"], &out["actual"]),
        (
            &serde_json::json!(true),
            &serde_json::json!("break"),
            &serde_json::json!("other")
        ),
        "{billing}"
    );
    // t0 + 5 s: the call left waiting was queued at t0 + 100 s.
    assert_eq!(
        out["out_since_ms"],
        serde_json::json!(waiting_since.millis() - 95_000),
        "{out}"
    );
    replay_matches_live(&history, &snap);

    let url = format!("ws://{}/ws", engine.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("ws connect");
    let first: serde_json::Value = next_json(&mut ws).await;
    assert_eq!(first["type"], "snapshot");
    // A frame and the API agree at one seq: sliding windows move with time, so a frame is
    // compared with the API's snapshot of the same seq (ticks are 200 ms: a few tries).
    let billing_of = |snap: &serde_json::Value| {
        snap["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .find(|q| q["queue"] == "billing")
            .expect("billing")
            .clone()
    };
    let mut agreed = false;
    for _ in 0..50 {
        let update: serde_json::Value = next_json(&mut ws).await;
        assert_eq!(update["type"], "update");
        assert!(
            update["seq"].as_u64() > first["seq"].as_u64(),
            "seq increases"
        );
        let api = engine.snapshot().await;
        if api["seq"] != update["seq"] {
            continue;
        }
        assert_eq!(
            billing_of(&update["data"])["windows"],
            billing_of(&api)["windows"],
            "ws and api agree on windowed figures"
        );
        agreed = true;
        break;
    }
    assert!(agreed, "never read a frame and the API at one seq");
    drop(ws);
    dead_letters_hold_every_rejection(brokers);
    engine.stop().await;
}

/// Every rejected message but the duplicate is in the dead-letter topic, byte for byte,
/// with its reason and source in headers.
fn dead_letters_hold_every_rejection(brokers: &str) {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dead-letter-reader")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.message.max.bytes", "2000000")
        .create()
        .expect("consumer");
    consumer
        .subscribe(&[callpulse_e2e::DEAD_LETTER_TOPIC])
        .expect("subscribe");
    let mut letters: Vec<(BTreeMap<String, String>, Vec<u8>)> = Vec::new();
    for _ in 0..300 {
        if letters.len() >= 5 {
            // One more poll: a sixth (the duplicate) must not come.
            if let Some(Ok(extra)) = consumer.poll(Duration::from_secs(1)) {
                panic!("unexpected dead letter: {:?}", extra.payload_view::<str>());
            }
            break;
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.expect("dead letter");
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|header| {
                        let value = header
                            .value
                            .map(|v| String::from_utf8_lossy(v).into_owned());
                        (header.key.to_owned(), value.unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default();
        letters.push((headers, message.payload().unwrap_or_default().to_vec()));
    }
    let mut reasons: Vec<(String, String)> = letters
        .iter()
        .map(|(h, _)| {
            (
                h[callpulse_ingest::HEADER_REASON].clone(),
                h[callpulse_ingest::HEADER_TOPIC].clone(),
            )
        })
        .collect();
    reasons.sort();
    let expected: Vec<(String, String)> = [
        ("malformed_json", "calls"),
        ("missing_field", "calls"),
        ("payload_too_large", "tickets"),
        ("score_out_of_range", "surveys"),
        ("unknown_type", "calls"),
    ]
    .iter()
    .map(|(r, t)| ((*r).to_owned(), (*t).to_owned()))
    .collect();
    assert_eq!(reasons, expected);
    for (headers, body) in &letters {
        assert!(
            headers[callpulse_ingest::HEADER_OFFSET]
                .parse::<i64>()
                .is_ok()
        );
        assert!(
            headers[callpulse_ingest::HEADER_PARTITION]
                .parse::<i32>()
                .is_ok()
        );
        assert!(!headers[callpulse_ingest::HEADER_ERROR].is_empty());
        match headers[callpulse_ingest::HEADER_REASON].as_str() {
            "malformed_json" => assert_eq!(body, b"{not json"),
            "payload_too_large" => {
                assert!(body.len() > 70_000 && body.starts_with(br#"{"type":"ticket_created""#));
            }
            _ => assert!(body.starts_with(b"{\"type\":")),
        }
    }
}

async fn next_json<S>(ws: &mut S) -> serde_json::Value
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("frame within 10 s")
            .expect("open")
            .expect("ok");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
            return serde_json::from_str(&text).expect("json frame");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_figures_through_the_mock_cluster() {
    let mock = mock_cluster(3);
    scenario(&mock.bootstrap_servers(), "known-mock").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_figures_through_an_external_broker() {
    let tansu = Tansu::start_with_topics(3).await;
    scenario(&tansu.brokers, "known-tansu").await;
}

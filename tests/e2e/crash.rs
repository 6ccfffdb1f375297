//! Exact after crashes: events go into an external broker process (tansu) while the engine,
//! a separate `callpulse run` process, is SIGKILLed again and again; at the end its
//! `/api/v1/snapshot` equals that of an engine that read the same events without ever
//! stopping: every queue's windows and totals, the center, waiting calls, agents.
//! Meanwhile `/metrics` is scraped: a restarted process's counters count only what it
//! applied itself (never restored history), so Prometheus sees a reset, never a counter
//! continued from a lower non-zero value. (The scenario: `callpulse_e2e::crash`.)

use callpulse_e2e::crash::{crash_run, history};
use callpulse_e2e::{Tansu, wall_now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_again_and_again_the_engine_ends_exactly_where_an_uninterrupted_one_does() {
    let tansu = Tansu::start_with_topics(3).await;
    let events = history(3000, wall_now().plus_millis(-40 * 60_000));
    let report = crash_run(&tansu.brokers, &events, 6).await;
    assert!(
        !report.got.is_null(),
        "the last engine never served a snapshot"
    );
    assert_eq!(report.want, report.got);
    assert!(
        report.want["queues"]
            .as_array()
            .is_some_and(|q| q.len() == 3),
        "{}",
        report.want
    );
    assert!(report.kills >= 5, "{} kills", report.kills);
}

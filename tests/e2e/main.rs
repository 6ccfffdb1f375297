//! callpulse end-to-end tests: one test binary, one module per scenario.
//!
//! Every test drives the real path: Kafka protocol in (librdkafka's in-process mock cluster,
//! or an external tansu broker process), the engine's consumer group, core and publisher,
//! and HTTP/WebSocket out.

mod alerting;
mod amazon_connect;
mod asterisk_ami;
mod auth;
mod broker_restart;
mod crash;
mod demo_smoke;
mod feed_v2;
mod freeswitch;
mod genesys_cloud;
mod grafana;
mod kafka_sasl;
mod known_events;
mod native_topics;
mod offsets;
mod outage;
mod poison;
mod replay_report;
mod scale_out;
mod sources;
mod theory;
mod wallboard;
mod whole_center;
mod ws_limits;

//! The callpulse call-center simulator.
//!
//! - `model.rs`: what a center looks like ([`SimConfig`], [`QueueModel`]), with a realistic
//!   default: four voice queues, their teams, a daily arrival shape and staffing that follows it.
//! - `engine.rs`: the seeded discrete-event simulation ([`Simulator`]). It never reads a
//!   clock: callers advance it to a time and get back the contract events up to that time.
//! - `produce.rs`: the Kafka side: a producer that writes events to the configured topics
//!   keyed as the contract says, a real-time driver, and a fast bulk generator for loads.

mod engine;
mod model;
mod produce;

pub use engine::Simulator;
pub use model::{QueueModel, SimConfig, TalkDistribution, daily_shape};
pub use produce::{EventProducer, ProduceError, SimTopics, ensure_topics, run_realtime};

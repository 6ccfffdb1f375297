//! Asterisk and the PBXs built on it (FreePBX, Issabel, VitalPBX, Wazo, PBXware): the
//! `queue_log` that `app_queue` writes, and its events on the Manager Interface (AMI).

pub mod ami;
pub mod queue_log;

//! The rebalance callbacks: restore on assignment, drain and commit on revoke.

use super::*;

impl ConsumerContext for Ctx {
    /// librdkafka's default rebalance, with one step added: newly assigned partitions are
    /// restored from their checkpoints and assigned at the checkpoints' offsets
    /// (`restore.rs`) before fetching starts.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if let Some(store) = &self.checkpoints {
                    restore_assigned(
                        store,
                        &self.policy,
                        &self.workers,
                        &self.telemetry,
                        &self.fcr_topic,
                        tpl,
                    );
                }
                self.pre_rebalance(consumer, &Rebalance::Assign(tpl));
                let assigned = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(err) = assigned {
                    error!(%err, "could not take the assigned partitions");
                }
                self.post_rebalance(consumer, &Rebalance::Assign(tpl));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.pre_rebalance(consumer, &Rebalance::Revoke(tpl));
                self.unassign(consumer, tpl, cooperative);
                self.post_rebalance(consumer, &Rebalance::Revoke(tpl));
            }
            other => {
                let error = Rebalance::Error(KafkaError::Rebalance(other.into()));
                self.pre_rebalance(consumer, &error);
                // As librdkafka's default does on a failed rebalance: let go of everything.
                self.unassign(consumer, tpl, cooperative);
                self.post_rebalance(consumer, &error);
            }
        }
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if self.closing.load(Ordering::Acquire) {
                self.commit(consumer, "close");
                return;
            }
            self.telemetry
                .rebalances
                .with_label_values(&["revoke"])
                .inc();
            let gone: Vec<(Arc<str>, i32)> = tpl
                .elements()
                .iter()
                .map(|e| (Arc::from(e.topic()), e.partition()))
                .collect();
            info!(partitions = ?gone, "partitions revoked: draining and committing");
            let acked = self.broadcast(|done| Input::Revoke {
                partitions: gone.clone(),
                done,
            });
            if !acked {
                warn!(
                    "workers did not drain in time on revoke; the next owner may re-apply some events"
                );
            }
            self.commit(consumer, "revoke");
            for (topic, partition) in &gone {
                let _ = self
                    .telemetry
                    .lag
                    .remove_label_values(&[&**topic, &partition.to_string()]);
            }
            self.telemetry.assigned.sub(gone.len() as i64);
            self.revoked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(gone);
            self.revoked_flag.store(true, Ordering::Release);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                self.telemetry
                    .rebalances
                    .with_label_values(&["assign"])
                    .inc();
                self.telemetry.assigned.add(tpl.count() as i64);
                let parts: Vec<String> = tpl
                    .elements()
                    .iter()
                    .map(|e| format!("{}/{}", e.topic(), e.partition()))
                    .collect();
                // The watermark follows the input topics, not the facts derived from them.
                for e in tpl
                    .elements()
                    .iter()
                    .filter(|e| e.topic() != &*self.fcr_topic)
                {
                    self.board.assigned(e.topic(), e.partition());
                }
                info!(partitions = ?parts, "partitions assigned");
                self.ready.store(true, Ordering::Release);
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(err) => {
                self.telemetry
                    .rebalances
                    .with_label_values(&["error"])
                    .inc();
                error!(%err, "rebalance failed");
            }
        }
    }
}

/// Past this long without hearing from the cluster, a synchronous commit is not attempted.
const COMMIT_SILENCE_MS: i64 = 10_000;

impl Ctx {
    fn unassign(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList, cooperative: bool) {
        let result = if cooperative {
            consumer.incremental_unassign(tpl)
        } else {
            consumer.unassign()
        };
        if let Err(err) = result {
            warn!(%err, "could not release the revoked partitions");
        }
    }

    /// Sends a control input to every worker and waits for all acks, up to the drain timeout.
    pub(super) fn broadcast(
        &self,
        make: impl Fn(std::sync::mpsc::SyncSender<()>) -> Input,
    ) -> bool {
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(self.workers.len());
        let mut expected = 0;
        for worker in &self.workers {
            if worker.blocking_send(make(done_tx.clone())).is_ok() {
                expected += 1;
            }
        }
        drop(done_tx);
        let deadline = Duration::from_millis(1).max(self.drain_timeout);
        #[allow(clippy::disallowed_methods)] // bounding a blocking wait, not event time
        let start = std::time::Instant::now();
        for _ in 0..expected {
            let left = deadline.saturating_sub(start.elapsed());
            if done_rx.recv_timeout(left).is_err() {
                return false;
            }
        }
        true
    }

    pub(super) fn commit(&self, consumer: &BaseConsumer<Self>, when: &str) {
        // librdkafka's synchronous commit waits for a coordinator without a deadline: with
        // the cluster gone, a shutdown would hang for ever. The offsets stay where the last
        // commit left them, which checkpoints make safe (the next owner restores from its
        // checkpoint and re-reads what follows).
        let (contact, _) = self.board.last_heard();
        let silent_ms = contact.map_or(i64::MAX, |at| self.clock.now().millis_since(at));
        if silent_ms > COMMIT_SILENCE_MS {
            self.telemetry.commit_failures.inc();
            warn!(
                when,
                silent_ms, "the cluster is unreachable: offsets not committed"
            );
            return;
        }
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => debug!(when, "offsets committed"),
            // Nothing was stored since the last commit: nothing to do.
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(err) => {
                self.telemetry.commit_failures.inc();
                warn!(when, %err, "synchronous offset commit failed; the next owner may re-apply events");
            }
        }
    }
}

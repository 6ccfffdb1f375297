//! The formulas: figures derived from aggregates (`docs/metrics.md`).

use super::*;

pub(super) fn ticket_window(label: &str, agg: &TicketAgg) -> TicketWindow {
    let p90 = |h: &crate::calls::WaitHistogram| h.quantile_ms(0.9).map(|s| s as f64);
    TicketWindow {
        window: label.to_owned(),
        created: agg.created,
        first_responses: agg.first_responses,
        first_response_sum_s: secs(agg.first_response_ms),
        first_response_avg_s: avg_s(agg.first_response_ms, agg.first_responses),
        first_response_p90_s: p90(&agg.first_response_hist),
        first_response_breaches: agg.first_response_breaches,
        resolved: agg.resolved,
        resolution_sum_s: secs(agg.resolution_ms),
        resolution_avg_s: avg_s(agg.resolution_ms, agg.resolved),
        resolution_p90_s: p90(&agg.resolution_hist),
        reopened: agg.reopened,
        reopen_rate: ratio(agg.reopened, agg.resolved),
        by_channel: CHANNELS
            .iter()
            .enumerate()
            .map(|(i, channel)| {
                let counts = ChannelCounts {
                    created: agg.created_by_channel[i],
                    resolved: agg.resolved_by_channel[i],
                };
                (channel.as_str(), counts)
            })
            .collect(),
    }
}

/// Each unit's call figures (a team's, a group's): the merge of the queues `unit_of` puts
/// in it.
pub(super) fn rollup<'a>(
    queues: impl Iterator<Item = (&'a Arc<str>, &'a [CallAgg])>,
    policy: &MetricsPolicy,
    labels: &[String],
    unit_of: impl Fn(&str) -> Option<&'a str>,
) -> BTreeMap<Arc<str>, Vec<WindowMetrics>> {
    let mut teams: BTreeMap<Arc<str>, (Vec<CallAgg>, Option<QueuePolicy>, bool)> = BTreeMap::new();
    for (name, acc) in queues {
        let queue_policy = policy.queue(name);
        let Some(team) = unit_of(name) else {
            continue;
        };
        let (windows, shared, differ) = teams.entry(Arc::from(team)).or_default();
        if windows.len() < labels.len() {
            windows.resize_with(labels.len(), CallAgg::default);
        }
        for (ours, theirs) in windows.iter_mut().zip(acc) {
            ours.merge(theirs);
        }
        match shared {
            None => *shared = Some(queue_policy.clone()),
            Some(first) => {
                *differ |= first.sl_thresholds_secs != queue_policy.sl_thresholds_secs
                    || first.sl_formula != queue_policy.sl_formula;
            }
        }
    }
    teams
        .into_iter()
        .map(|(team, (windows, shared, differ))| {
            let mut rollup = shared.unwrap_or_default();
            let mut windows = windows;
            if differ {
                // Not comparable: keep the counts, drop the service levels.
                rollup.sl_thresholds_secs.clear();
                for w in &mut windows {
                    w.counts.answered_within = [0; crate::calls::MAX_SL_THRESHOLDS];
                }
            }
            let views = labels
                .iter()
                .zip(&windows)
                .map(|(label, agg)| window_metrics(label, agg, &rollup))
                .collect();
            (team, views)
        })
        .collect()
}

/// The Erlang C figures of one queue (see [`StaffingView`]).
pub(super) fn staffing(
    policy: &MetricsPolicy,
    queue: &QueuePolicy,
    labels: &[String],
    windows: &[CallAgg],
    at: Ts,
    teams: &BTreeMap<Arc<str>, TeamStates>,
) -> Option<StaffingView> {
    let i = policy
        .windows_mins
        .iter()
        .position(|m| *m == policy.staffing_window_mins)?;
    let counts = &windows.get(i)?.counts;
    // The window is the current bucket so far plus the whole ones before it.
    let bucket_ms = policy.bucket_ms();
    let buckets = i64::from(policy.staffing_window_mins) * 60_000 / bucket_ms;
    let span_s = ((buckets - 1) * bucket_ms + at.millis().rem_euclid(bucket_ms)) as f64 / 1000.0;
    if counts.completed == 0 || span_s <= 0.0 {
        return None;
    }
    let rate_per_s = counts.offered as f64 / span_s;
    let aht_s = counts.handle_ms() as f64 / counts.completed as f64 / 1000.0;
    let threshold_s = queue.sl_thresholds_secs.first().copied().unwrap_or(20);
    let required = crate::erlang::required_agents(
        rate_per_s,
        aht_s,
        f64::from(threshold_s),
        queue.sl_target.clamp(0.0, 0.999),
    );
    let staffed = queue.team.as_deref().map(|team| {
        teams.get(team).map_or(0, |s| {
            s[AgentState::Available.index()]
                + s[AgentState::OnCall.index()]
                + s[AgentState::WrapUp.index()]
        })
    });
    Some(StaffingView {
        window: labels.get(i).cloned().unwrap_or_default(),
        arrival_rate_per_min: rate_per_s * 60.0,
        aht_s,
        traffic_erlangs: rate_per_s * aht_s,
        threshold_s,
        target: queue.sl_target,
        required_agents: required,
        staffed_agents: staffed,
        gap_agents: required.zip(staffed).map(|(r, s)| i64::from(r) - s as i64),
    })
}

pub(super) fn totals_view(totals: &CallTotals, thresholds: &[u32], bounds: &[u32]) -> TotalsView {
    let mut running = 0;
    let cumulative = (0..bounds.len())
        .map(|i| {
            running += totals.wait_le.get(i).copied().unwrap_or(0);
            running
        })
        .collect();
    let t = &totals.counts;
    TotalsView {
        offered: t.offered,
        answered: t.answered,
        abandoned: t.abandoned,
        short_abandoned: t.short_abandoned,
        answered_within: thresholds
            .iter()
            .zip(t.answered_within)
            .map(|(s, n)| (*s, n))
            .collect(),
        abandoned_within: thresholds
            .iter()
            .zip(t.abandoned_within)
            .map(|(s, n)| (*s, n))
            .collect(),
        answer_wait_s: secs(t.answer_wait_ms),
        abandon_wait_s: secs(t.abandon_wait_ms),
        completed: t.completed,
        handle_s: secs(t.handle_ms()),
        csat_responses: t.csat_responses,
        csat_positive: t.csat_positive,
        wait_le_bounds_s: bounds.to_vec(),
        wait_le_cumulative: cumulative,
    }
}

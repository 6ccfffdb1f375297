//! Queueing theory for staffing: Erlang C (callers wait as long as it takes) and Erlang A
//! (callers abandon after an exponential patience).
//!
//! Erlang C answers the supervisor's question "how many agents do I need right now to meet
//! my service level at this arrival rate and handle time?". It assumes Poisson arrivals,
//! exponential handle times and infinitely patient callers, so it over-states the need when
//! many callers abandon; it is the industry's staffing standard all the same (Genesys,
//! NICE and Verint forecasts use it or a variant). Erlang A is here to check the simulator,
//! and the engine's abandonment figures, against theory.

/// More agents than this is not a staffing answer but a data problem.
pub const MAX_AGENTS: u32 = 100_000;

/// Erlang B blocking probability for `agents` servers and `traffic` erlangs, by the stable
/// recurrence `B(n) = A·B(n-1) / (n + A·B(n-1))` (no factorials, no overflow).
pub fn erlang_b(agents: u32, traffic: f64) -> f64 {
    let mut b = 1.0;
    for n in 1..=agents {
        b = traffic * b / (f64::from(n) + traffic * b);
    }
    b
}

/// Erlang C probability that a call waits, for `agents` and `traffic` erlangs (arrival rate
/// × mean handle time). 1 when the queue is unstable (`traffic >= agents`).
pub fn erlang_c(agents: u32, traffic: f64) -> f64 {
    let n = f64::from(agents);
    if traffic <= 0.0 {
        return 0.0;
    }
    if traffic >= n {
        return 1.0;
    }
    let b = erlang_b(agents, traffic);
    n * b / (n - traffic * (1.0 - b))
}

/// Share of calls answered within `threshold_s` (Erlang C):
/// `1 - C · exp(-(n - A) · t / AHT)`; 0 for an unstable queue.
pub fn service_level(agents: u32, traffic: f64, aht_s: f64, threshold_s: f64) -> f64 {
    let n = f64::from(agents);
    if traffic >= n {
        return 0.0;
    }
    if traffic <= 0.0 {
        return 1.0;
    }
    1.0 - erlang_c(agents, traffic) * (-(n - traffic) * threshold_s / aht_s).exp()
}

/// Average speed of answer in seconds over all calls (Erlang C): `C · AHT / (n - A)`;
/// infinite for an unstable queue.
pub fn asa(agents: u32, traffic: f64, aht_s: f64) -> f64 {
    let n = f64::from(agents);
    if traffic >= n {
        return f64::INFINITY;
    }
    erlang_c(agents, traffic) * aht_s / (n - traffic)
}

/// The fewest agents that reach `target` service level within `threshold_s`, for calls
/// arriving at `rate_per_s` with mean handle time `aht_s`. `Some(0)` with no traffic;
/// `None` for unusable inputs or a need above [`MAX_AGENTS`].
pub fn required_agents(rate_per_s: f64, aht_s: f64, threshold_s: f64, target: f64) -> Option<u32> {
    if !(rate_per_s.is_finite() && aht_s.is_finite() && threshold_s.is_finite())
        || rate_per_s < 0.0
        || aht_s < 0.0
        || !(0.0..1.0).contains(&target)
    {
        return None;
    }
    let traffic = rate_per_s * aht_s;
    if traffic == 0.0 {
        return Some(0);
    }
    // Start at the stability bound; SL rises with every agent added.
    let mut n = (traffic.floor() as u32).saturating_add(1);
    while n <= MAX_AGENTS {
        if service_level(n, traffic, aht_s, threshold_s) >= target {
            return Some(n);
        }
        n += 1;
    }
    None
}

/// Erlang A (M/M/n+M): the steady-state share of callers who abandon, for `agents`, arrival
/// rate, mean handle time and mean (exponential) patience, all in seconds.
/// `P(abandon) = θ · E[queue length] / λ` over the birth-death chain with birth rate λ and
/// death rate `min(k, n)·μ + max(k - n, 0)·θ` (`erlang_a_states`).
pub fn erlang_a_abandon(agents: u32, rate_per_s: f64, aht_s: f64, patience_s: f64) -> f64 {
    if rate_per_s <= 0.0 {
        return 0.0;
    }
    let theta = 1.0 / patience_s;
    let p = erlang_a_states(agents, rate_per_s, 1.0 / aht_s, theta);
    let n = agents as usize;
    let queued: f64 = p
        .iter()
        .enumerate()
        .skip(n)
        .map(|(k, pk)| (k - n) as f64 * pk)
        .sum();
    theta * queued / rate_per_s
}

/// The stationary distribution of the Erlang A chain (`p[k]`: k callers in the system),
/// normalised, cut where the tail no longer matters.
fn erlang_a_states(agents: u32, rate_per_s: f64, mu: f64, theta: f64) -> Vec<f64> {
    let n = f64::from(agents);
    let mut p = vec![1.0_f64];
    let (mut last, mut total) = (1.0_f64, 1.0_f64);
    let mut k = 1u32;
    loop {
        let kf = f64::from(k);
        let death = kf.min(n) * mu + (kf - n).max(0.0) * theta;
        last *= rate_per_s / death;
        total += last;
        p.push(last);
        if (kf > n && last < 1e-16 * total && death > rate_per_s) || k > 10 * MAX_AGENTS {
            break;
        }
        k += 1;
    }
    p.iter_mut().for_each(|x| *x /= total);
    p
}

/// Erlang A's service level: the share of arriving callers answered within `threshold_s`
/// (abandons count against it, as offered calls do), with `agents`, arrival rate, mean
/// handle time and mean (exponential) patience.
///
/// A caller arriving to `k ≥ n` in the system has `j = k - n` callers ahead; it moves up
/// when an agent frees (rate `n·μ`) or one ahead abandons (`i·θ` with `i` ahead), and
/// leaves itself at rate `θ`. The chance of reaching an agent within the threshold is
/// computed for every `j` at once by uniformisation (a Poisson-weighted sum over jumps).
pub fn erlang_a_service_level(
    agents: u32,
    rate_per_s: f64,
    aht_s: f64,
    patience_s: f64,
    threshold_s: f64,
) -> f64 {
    if rate_per_s <= 0.0 {
        return 1.0;
    }
    let (mu, theta) = (1.0 / aht_s, 1.0 / patience_s);
    let p = erlang_a_states(agents, rate_per_s, mu, theta);
    let n = agents as usize;
    let immediate: f64 = p.iter().take(n).sum();
    let waiting = p.len().saturating_sub(n);
    if waiting == 0 {
        return immediate;
    }
    let busy = f64::from(agents) * mu;
    // Uniformisation rate: the fastest phase (the most callers ahead) plus own patience.
    let lambda = busy + waiting as f64 * theta + theta;
    let lt = lambda * threshold_s.max(0.0);
    // f[i]: the chance of being served within m jumps from `i` ahead (m grows per pass).
    let mut f = vec![0.0_f64; waiting];
    let mut next = vec![0.0_f64; waiting];
    // Poisson weights in log space (exp(-λT) underflows for busy queues).
    let mut log_w = -lt;
    let mut served = 0.0_f64;
    let mut mass = 0.0_f64;
    let mut m = 0u64;
    loop {
        let w = log_w.exp();
        if m > 0 {
            for (i, slot) in next.iter_mut().enumerate() {
                let advance = busy + i as f64 * theta;
                let ahead = if i == 0 { 1.0 } else { f[i - 1] };
                let stay = 1.0 - (advance + theta) / lambda;
                *slot = advance / lambda * ahead + stay * f[i];
            }
            std::mem::swap(&mut f, &mut next);
        }
        // P(served by T) = Σ_m P(N = m) · f_m, N the jumps by T.
        served += w * f.iter().zip(&p[n..]).map(|(fi, pk)| fi * pk).sum::<f64>();
        mass += w;
        m += 1;
        log_w += lt.ln() - (m as f64).ln();
        if (mass > 1.0 - 1e-12 && m as f64 > lt) || m > 1_000_000 || lt == 0.0 {
            break;
        }
    }
    immediate + served
}

/// The fewest agents for which [`erlang_a_service_level`] reaches `target`: with callers
/// who give up, fewer than Erlang C asks when patience is short (the queue sheds load),
/// never a queue that grows for ever. `None` for unusable inputs or above [`MAX_AGENTS`].
pub fn required_agents_erlang_a(
    rate_per_s: f64,
    aht_s: f64,
    patience_s: f64,
    threshold_s: f64,
    target: f64,
) -> Option<u32> {
    required_agents_erlang_a_near(rate_per_s, aht_s, patience_s, threshold_s, target, None)
}

/// [`required_agents_erlang_a`], searching from `near` (Erlang C's answer, usually the
/// same or an agent or two more): a step or two from it instead of a search from scratch,
/// the same answer either way (the service level rises with every agent). The staffing
/// plan asks it for every queue and interval at every snapshot.
pub fn required_agents_erlang_a_near(
    rate_per_s: f64,
    aht_s: f64,
    patience_s: f64,
    threshold_s: f64,
    target: f64,
    near: Option<u32>,
) -> Option<u32> {
    let usable = [rate_per_s, aht_s, patience_s, threshold_s]
        .iter()
        .all(|x| x.is_finite() && *x >= 0.0)
        && aht_s > 0.0
        && patience_s > 0.0
        && (0.0..1.0).contains(&target);
    if !usable {
        return None;
    }
    if rate_per_s == 0.0 {
        return Some(0);
    }
    let meets =
        |n: u32| erlang_a_service_level(n, rate_per_s, aht_s, patience_s, threshold_s) >= target;
    if let Some(near) = near.filter(|n| (1..=MAX_AGENTS).contains(n)) {
        let mut n = near;
        if meets(n) {
            // Down while one fewer still meets it: the fewest.
            while n > 1 && meets(n - 1) {
                n -= 1;
            }
            return Some(n);
        }
        // Up one at a time for a few agents, then the doubling search.
        for _ in 0..4 {
            n += 1;
            if n > MAX_AGENTS {
                return None;
            }
            if meets(n) {
                return Some(n);
            }
        }
    }
    // The service level rises with every agent: double to a staffing that meets the
    // target, then halve the gap down to the fewest.
    let mut hi = ((rate_per_s * aht_s).ceil() as u32).max(1);
    while !meets(hi) {
        if hi >= MAX_AGENTS {
            return None;
        }
        hi = hi.saturating_mul(2).min(MAX_AGENTS);
    }
    let mut lo = 0u32; // does not meet: no agent answers anyone
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if meets(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Erlang C the textbook way, from factorial sums (fine for small n).
    fn naive_c(n: u32, a: f64) -> f64 {
        let fact = |k: u32| (1..=k).map(f64::from).product::<f64>();
        let top = a.powi(n as i32) / fact(n) * f64::from(n) / (f64::from(n) - a);
        let bottom: f64 = (0..n).map(|k| a.powi(k as i32) / fact(k)).sum::<f64>() + top;
        top / bottom
    }

    #[test]
    fn textbook_example() {
        // 360 calls in 30 min with a 240 s AHT is 48 erlangs; 54 agents answer 81.7 % within
        // 20 s with an ASA of 12 s, 53 only 75.2 % (the worked example of most staffing
        // guides).
        let rate: f64 = 360.0 / 1800.0;
        let traffic = rate * 240.0;
        assert!((traffic - 48.0).abs() < 1e-12);
        let sl = service_level(54, traffic, 240.0, 20.0);
        assert!((sl - 0.8172).abs() < 1e-4, "sl {sl}");
        assert!((asa(54, traffic, 240.0) - 12.05).abs() < 0.01);
        assert!((erlang_c(54, traffic) - 0.3013).abs() < 1e-4);
        assert!((service_level(53, traffic, 240.0, 20.0) - 0.7518).abs() < 1e-4);
        assert_eq!(required_agents(rate, 240.0, 20.0, 0.8), Some(54));
        assert_eq!(required_agents(0.0, 240.0, 20.0, 0.8), Some(0));
        assert_eq!(required_agents(-1.0, 240.0, 20.0, 0.8), None);
        assert_eq!(required_agents(1.0, f64::NAN, 20.0, 0.8), None);
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_behaviour() {
        // Very patient callers: almost nobody abandons in a stable queue.
        assert!(erlang_a_abandon(14, 1.0 / 15.0, 180.0, 1e7) < 1e-3);
        // Less patience, more abandonment; more agents, less.
        let short = erlang_a_abandon(12, 1.0 / 15.0, 180.0, 60.0);
        let long = erlang_a_abandon(12, 1.0 / 15.0, 180.0, 600.0);
        let staffed = erlang_a_abandon(16, 1.0 / 15.0, 180.0, 60.0);
        assert!(short > long && short > staffed, "{short} {long} {staffed}");
        // An overloaded queue is stable under abandonment: the excess leaves.
        let overloaded = erlang_a_abandon(10, 1.0 / 15.0, 180.0, 120.0);
        assert!(
            overloaded > 1.0 - 10.0 / 12.0 && overloaded < 1.0,
            "{overloaded}"
        );
    }

    #[test]
    fn erlang_a_service_level_meets_erlang_c_and_its_own_abandonment() {
        // Callers who never give up: the textbook Erlang C figures.
        let rate: f64 = 360.0 / 1800.0;
        let patient = erlang_a_service_level(54, rate, 240.0, 1e9, 20.0);
        assert!((patient - 0.8172).abs() < 1e-3, "{patient}");
        assert_eq!(
            required_agents_erlang_a(rate, 240.0, 1e9, 20.0, 0.8),
            Some(54)
        );
        // A threshold past every wait: the answered share is 1 - abandonment.
        for (n, patience) in [(10, 120.0), (12, 60.0), (16, 300.0)] {
            let rate = 1.0 / 15.0;
            let all = erlang_a_service_level(n, rate, 180.0, patience, 1e6);
            let abandon = erlang_a_abandon(n, rate, 180.0, patience);
            assert!((all + abandon - 1.0).abs() < 1e-6, "{n}: {all} + {abandon}");
        }
        // Impatient callers leave the queue shorter: within 20 s more of those who stay
        // are answered, and an overloaded queue still has a finite need.
        let n = required_agents_erlang_a(rate, 240.0, 60.0, 20.0, 0.8).expect("need");
        assert!(n <= 54, "{n}");
        assert!(erlang_a_service_level(n, rate, 240.0, 60.0, 20.0) >= 0.8);
        assert!(erlang_a_service_level(n - 1, rate, 240.0, 60.0, 20.0) < 0.8);
        assert_eq!(
            required_agents_erlang_a(0.0, 240.0, 60.0, 20.0, 0.8),
            Some(0)
        );
        assert_eq!(required_agents_erlang_a(rate, 240.0, 0.0, 20.0, 0.8), None);
    }

    proptest! {
        /// From any starting point, the search from a hint finds the search from scratch's
        /// answer.
        #[test]
        fn erlang_a_from_a_hint_is_the_same_answer(
            load in 0.2f64..30.0,
            aht in 30.0f64..600.0,
            patience in 10.0f64..900.0,
            near in 1u32..60,
            target in 0.5f64..0.95,
        ) {
            let rate = load / aht;
            let scratch = required_agents_erlang_a(rate, aht, patience, 20.0, target);
            let hinted =
                required_agents_erlang_a_near(rate, aht, patience, 20.0, target, Some(near));
            prop_assert_eq!(scratch, hinted);
        }
    }

    proptest! {
        #[test]
        fn erlang_a_more_agents_never_lower_the_service_level(
            n in 1u32..40,
            load in 0.2f64..1.5,
            aht in 30.0f64..600.0,
            patience in 10.0f64..900.0,
            threshold in 0.0f64..60.0,
        ) {
            let rate = f64::from(n) * load / aht;
            let sl = erlang_a_service_level(n, rate, aht, patience, threshold);
            let more = erlang_a_service_level(n + 1, rate, aht, patience, threshold);
            prop_assert!((0.0..=1.0 + 1e-9).contains(&sl), "{}", sl);
            prop_assert!(more >= sl - 1e-9, "{} < {}", more, sl);
        }

        #[test]
        fn recurrence_matches_factorials(n in 1u32..60, load in 0.05f64..0.99) {
            let a = f64::from(n) * load;
            let (fast, slow) = (erlang_c(n, a), naive_c(n, a));
            prop_assert!((fast - slow).abs() < 1e-9 * slow.max(1e-12) + 1e-12, "{} vs {}", fast, slow);
            prop_assert!((0.0..=1.0).contains(&fast));
        }

        #[test]
        fn required_is_the_fewest_that_meet_the_target(
            rate in 0.001f64..5.0,
            aht in 10.0f64..900.0,
            threshold in 0.0f64..120.0,
            target in 0.05f64..0.98,
        ) {
            let n = required_agents(rate, aht, threshold, target).expect("finite need");
            let a = rate * aht;
            prop_assert!(f64::from(n) > a);
            prop_assert!(service_level(n, a, aht, threshold) >= target);
            if f64::from(n - 1) > a {
                prop_assert!(service_level(n - 1, a, aht, threshold) < target);
            }
            // More agents never lower the service level or raise the ASA.
            prop_assert!(service_level(n + 1, a, aht, threshold) >= service_level(n, a, aht, threshold));
            prop_assert!(asa(n + 1, a, aht) <= asa(n, a, aht));
        }
    }
}

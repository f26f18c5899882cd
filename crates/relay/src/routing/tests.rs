//! The routing rules, deterministically: the clock is a number passed in.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const PN: &str = "100";

fn agent(id: i64, load: i64, capacity: i64) -> Candidate {
    Candidate {
        id,
        load,
        capacity,
        skills: Vec::new(),
        teams: Vec::new(),
        last_assigned_at: 0,
    }
}

fn waiting(id: i64, queued_at: i64) -> Waiting {
    Waiting {
        conversation_id: id,
        phone_number_id: PN.into(),
        priority: 0,
        queued_at,
        required_skills: Vec::new(),
        team_id: None,
        previous: None,
    }
}

fn policies(p: Policy) -> HashMap<String, Policy> {
    HashMap::from([(PN.to_string(), p)])
}

/// Resolves a conversation of agent `id` (its load drops by one).
fn resolve(cands: &mut [Candidate], id: i64) {
    let c = cands.iter_mut().find(|c| c.id == id).unwrap();
    c.load -= 1;
}

#[test]
fn round_robin_is_even_over_1000_conversations() {
    let rr = Policy {
        mode: Mode::RoundRobin,
        ..Policy::default()
    };
    let pol = policies(rr);
    let mut cands: Vec<Candidate> = [3, 5, 8, 13, 21, 34, 55].map(|i| agent(i, 0, 6)).to_vec();
    let mut cursor = HashMap::new();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    let mut order = Vec::new();
    for i in 0..1000 {
        let d = plan(vec![waiting(i, i)], &mut cands, &pol, &mut cursor, i);
        assert_eq!(d.len(), 1, "conversation {i} assigned");
        let a = d[0].agent_id;
        assert_eq!(d[0].reason, "round_robin");
        *counts.entry(a).or_default() += 1;
        order.push(a);
        // Each agent answers and resolves at once, so capacity never blocks the rotation.
        resolve(&mut cands, a);
    }
    let (min, max) = (
        *counts.values().min().unwrap(),
        *counts.values().max().unwrap(),
    );
    assert_eq!(counts.len(), 7);
    assert!(max - min <= 1, "even within one: {counts:?}");
    assert_eq!(
        &order[..8],
        &[3, 5, 8, 13, 21, 34, 55, 3],
        "in id order, wrapping"
    );
}

#[test]
fn round_robin_skips_full_and_unavailable_agents() {
    let rr = Policy {
        mode: Mode::RoundRobin,
        ..Policy::default()
    };
    let mut cands = vec![agent(1, 0, 6), agent(2, 6, 6), agent(3, 0, 6)];
    let w = waiting(1, 0);
    assert_eq!(
        choose(&rr, &w, &cands, Some(1), 0),
        Some((3, Reason::RoundRobin))
    );
    assert_eq!(
        choose(&rr, &w, &cands, Some(3), 0),
        Some((1, Reason::RoundRobin))
    );
    cands[0].load = 6;
    cands[2].load = 6;
    assert_eq!(
        choose(&rr, &w, &cands, Some(3), 0),
        None,
        "everyone full: queue"
    );
}

#[test]
fn least_loaded_picks_the_emptiest_then_the_longest_idle() {
    let p = Policy::default();
    let mut cands = vec![agent(1, 3, 6), agent(2, 1, 6), agent(3, 1, 6)];
    cands[1].last_assigned_at = 50;
    cands[2].last_assigned_at = 10;
    assert_eq!(
        choose(&p, &waiting(1, 0), &cands, None, 100),
        Some((3, Reason::LeastLoaded))
    );
    // A capacity smaller than the load counts as full.
    let cands = vec![agent(1, 2, 2), agent(2, 5, 6)];
    assert_eq!(
        choose(&p, &waiting(1, 0), &cands, None, 100),
        Some((2, Reason::LeastLoaded))
    );
}

proptest! {
    /// Whatever the loads, capacities and arrivals, no agent ever goes over capacity, and a
    /// conversation waits only when every agent is full.
    #[test]
    fn least_loaded_never_exceeds_capacity(
        caps in prop::collection::vec((0i64..4, 1i64..8), 1..12),
        arrivals in 1usize..120,
        rr in any::<bool>(),
    ) {
        let mut cands: Vec<Candidate> = caps
            .iter()
            .enumerate()
            .map(|(i, (load, cap))| agent(i as i64 + 1, (*load).min(*cap), *cap))
            .collect();
        let total_room: i64 = cands.iter().map(|c| c.capacity - c.load).sum();
        let pol = policies(Policy {
            mode: if rr { Mode::RoundRobin } else { Mode::LeastLoaded },
            ..Policy::default()
        });
        let queue: Vec<Waiting> = (0..arrivals as i64).map(|i| waiting(i, i)).collect();
        let d = plan(queue, &mut cands, &pol, &mut HashMap::new(), 1000);
        prop_assert_eq!(d.len() as i64, total_room.min(arrivals as i64));
        for c in &cands {
            prop_assert!(c.load <= c.capacity, "agent {} at {}/{}", c.id, c.load, c.capacity);
        }
        let mut ids: Vec<i64> = d.iter().map(|x| x.conversation_id).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), d.len(), "no conversation twice");
    }
}

#[test]
fn least_loaded_spreads_a_burst_evenly() {
    let mut cands: Vec<Candidate> = (1..=5).map(|i| agent(i, 0, 6)).collect();
    let queue: Vec<Waiting> = (0..25).map(|i| waiting(i, i)).collect();
    let d = plan(
        queue,
        &mut cands,
        &policies(Policy::default()),
        &mut HashMap::new(),
        0,
    );
    assert_eq!(d.len(), 25);
    assert!(cands.iter().all(|c| c.load == 5), "{cands:?}");
}

#[test]
fn sticky_goes_back_to_the_last_agent_within_the_window() {
    let p = Policy {
        sticky_days: 7,
        ..Policy::default()
    };
    let day = 24 * 3600 * 1000;
    let cands = vec![agent(1, 0, 6), agent(2, 4, 6)];
    let mut w = waiting(9, 0);
    w.previous = Some((2, 0));
    assert_eq!(
        choose(&p, &w, &cands, None, 3 * day),
        Some((2, Reason::Sticky))
    );
    // Too long ago: the load rule decides.
    assert_eq!(
        choose(&p, &w, &cands, None, 8 * day),
        Some((1, Reason::LeastLoaded))
    );
    // Last agent full or not online: the load rule decides.
    let full = vec![agent(1, 0, 6), agent(2, 6, 6)];
    assert_eq!(
        choose(&p, &w, &full, None, day),
        Some((1, Reason::LeastLoaded))
    );
    assert_eq!(
        choose(&p, &w, &cands[..1], None, day),
        Some((1, Reason::LeastLoaded))
    );
    // Sticky off: never.
    assert_eq!(
        choose(&Policy::default(), &w, &cands, None, day),
        Some((1, Reason::LeastLoaded))
    );
}

#[test]
fn skills_restrict_who_qualifies() {
    let mut rules = SkillRules {
        number: vec!["support".into()],
        ..SkillRules::default()
    };
    rules.languages.insert("de".into(), vec!["german".into()]);
    rules.tags.insert("vip".into(), vec!["senior".into()]);
    assert_eq!(rules.required("en", &[]), vec!["support"]);
    assert_eq!(
        rules.required("de", &["vip".into(), "x".into()]),
        vec!["german", "senior", "support"]
    );
    let p = Policy {
        skills: rules.clone(),
        ..Policy::default()
    };
    let mut a = agent(1, 0, 6);
    a.skills = vec!["support".into()];
    let mut b = agent(2, 3, 6);
    b.skills = vec!["support".into(), "german".into()];
    let cands = vec![a, b];
    let mut w = waiting(1, 0);
    w.required_skills = rules.required("de", &[]);
    assert_eq!(
        choose(&p, &w, &cands, None, 0),
        Some((2, Reason::LeastLoaded))
    );
    let d = plan(
        vec![w.clone()],
        &mut cands.clone(),
        &policies(p.clone()),
        &mut HashMap::new(),
        0,
    );
    assert_eq!(d[0].reason, "skills+least_loaded");
    w.required_skills = rules.required("de", &["vip".into()]);
    assert_eq!(
        choose(&p, &w, &cands, None, 0),
        None,
        "nobody senior: it waits"
    );
    // Teams restrict the same way.
    let mut w = waiting(1, 0);
    w.team_id = Some(7);
    let mut cands = cands;
    assert_eq!(choose(&p, &w, &cands, None, 0), None);
    cands[0].teams = vec![7];
    w.required_skills = vec!["support".into()];
    assert_eq!(
        choose(&p, &w, &cands, None, 0),
        Some((1, Reason::LeastLoaded))
    );
}

#[test]
fn queue_is_served_vip_first_then_by_waiting_time() {
    let mut q = vec![
        waiting(1, 300),
        waiting(2, 100),
        waiting(3, 200),
        waiting(4, 400),
    ];
    q[3].priority = 1;
    queue_order(&mut q);
    let ids: Vec<i64> = q.iter().map(|w| w.conversation_id).collect();
    assert_eq!(ids, vec![4, 2, 3, 1]);
    // Two free places: the VIP and the longest waiting get them.
    let mut cands = vec![agent(1, 5, 6), agent(2, 5, 6)];
    let queue = vec![waiting(1, 300), waiting(2, 100), waiting(3, 200), {
        let mut w = waiting(4, 400);
        w.priority = 1;
        w
    }];
    let d = plan(
        queue,
        &mut cands,
        &policies(Policy::default()),
        &mut HashMap::new(),
        500,
    );
    let got: Vec<i64> = d.iter().map(|x| x.conversation_id).collect();
    assert_eq!(got, vec![4, 2]);
    assert_eq!(Policy::default().priority(&["vip".into()]), 1);
    assert_eq!(Policy::default().priority(&["new".into()]), 0);
}

#[test]
fn presence_follows_connections_status_and_grace() {
    use Status::*;
    let grace = 60_000;
    assert_eq!(presence(Online, 1, None, 0, grace), Online);
    assert_eq!(presence(Away, 2, None, 0, grace), Away);
    assert_eq!(presence(Offline, 3, None, 0, grace), Offline);
    assert_eq!(
        presence(Online, 0, None, 0, grace),
        Offline,
        "never connected"
    );
    assert_eq!(
        presence(Online, 0, Some(1_000), 60_999, grace),
        Online,
        "in grace"
    );
    assert_eq!(
        presence(Online, 0, Some(1_000), 61_000, grace),
        Offline,
        "grace over"
    );
}

#[test]
fn durations_and_alerts() {
    let d = summarize((1..=10).map(|s| s * 1000).collect());
    assert_eq!(d.count, 10);
    assert_eq!(d.avg_s, Some(5.5));
    assert_eq!(d.median_s, Some(5.0));
    assert_eq!(d.p90_s, Some(9.0));
    assert_eq!(summarize(vec![]).median_s, None);

    let a = |now, alerted, overdue, assigned| {
        alerts_due(1_000, alerted, overdue, assigned, now, 60_000, 300_000)
    };
    assert_eq!(
        a(30_000, None, None, true),
        Alerts {
            realert: false,
            overdue: false
        }
    );
    assert!(a(61_000, None, None, true).realert);
    assert!(!a(61_000, None, None, false).realert, "nobody to re-alert");
    assert!(
        !a(90_000, Some(61_000), None, true).realert,
        "once per wait"
    );
    assert!(
        a(90_000, Some(500), None, true).realert,
        "an earlier wait's alert"
    );
    let late = a(301_000, Some(61_000), None, true);
    assert!(late.overdue && !late.realert);
}

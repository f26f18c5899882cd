//! The supervisor's live monitor, aggregated: a pure function of what the store read at `now`
//! (agents, first responses of the last day, resolutions of the last hour, overdue
//! conversations, the queue, teams), so the sums, filters and percentiles are tested without a
//! database. `store::routing::monitor` does the reading.

use std::collections::HashMap;

use switchboard_protocol::api::{Monitor, MonitorAgent, MonitorTeam, OverdueConversation};

use super::{summarize, Status};

/// What the monitor is made of, as read from the store at `now`.
#[derive(Debug, Clone, Default)]
pub struct MonitorInputs {
    /// Agents with presence and settings; the per-agent figures are filled in here.
    pub agents: Vec<MonitorAgent>,
    /// (first responder, first response time ms) of conversation periods answered in the last day.
    pub first_responses: Vec<(i64, i64)>,
    /// (agent, conversations resolved in the last hour).
    pub resolved_last_hour: Vec<(i64, i64)>,
    /// Open conversations waiting past the overdue threshold, oldest first.
    pub overdue: Vec<OverdueConversation>,
    /// (team, queued since) of unassigned open conversations in the queue.
    pub queue: Vec<(Option<i64>, i64)>,
    /// (id, name, members) of every team.
    pub teams: Vec<(i64, String, Vec<i64>)>,
    /// The event log's head when read.
    pub head: i64,
}

/// Seconds since the oldest of `since` (ms), if any.
fn longest_wait_s(now: i64, since: impl Iterator<Item = i64>) -> Option<f64> {
    since.min().map(|s| (now - s).max(0) as f64 / 1000.0)
}

/// The monitor at `now`.
pub fn aggregate(now: i64, inputs: MonitorInputs) -> Monitor {
    let MonitorInputs {
        mut agents,
        first_responses,
        resolved_last_hour,
        overdue,
        queue,
        teams,
        head,
    } = inputs;
    // A negative time (clock skew between relays) counts as an immediate answer.
    let first_responses: Vec<(i64, i64)> = first_responses
        .into_iter()
        .map(|(u, ms)| (u, ms.max(0)))
        .collect();
    let mut by_agent: HashMap<i64, Vec<i64>> = HashMap::new();
    for &(u, ms) in &first_responses {
        by_agent.entry(u).or_default().push(ms);
    }
    let resolved: HashMap<i64, i64> = resolved_last_hour.into_iter().collect();
    for a in &mut agents {
        a.first_response = summarize(by_agent.remove(&a.id).unwrap_or_default());
        a.resolved_last_hour = resolved.get(&a.id).copied().unwrap_or(0);
        a.overdue = overdue
            .iter()
            .filter(|o| o.assignee_id == Some(a.id))
            .count() as i64;
    }
    let team_list = teams
        .into_iter()
        .map(|(id, name, members)| {
            let in_team: Vec<&MonitorAgent> =
                agents.iter().filter(|a| members.contains(&a.id)).collect();
            let samples: Vec<i64> = first_responses
                .iter()
                .filter(|(u, _)| members.contains(u))
                .map(|(_, ms)| *ms)
                .collect();
            let waiting: Vec<i64> = queue
                .iter()
                .filter(|(team, _)| *team == Some(id))
                .map(|(_, at)| *at)
                .collect();
            MonitorTeam {
                id,
                name,
                online: in_team
                    .iter()
                    .filter(|a| a.presence.presence == Status::Online)
                    .count() as i64,
                open: in_team.iter().map(|a| a.presence.open).sum(),
                capacity: in_team.iter().map(|a| a.presence.capacity).sum(),
                first_response: summarize(samples),
                resolved_last_hour: in_team.iter().map(|a| a.resolved_last_hour).sum(),
                overdue: in_team.iter().map(|a| a.overdue).sum(),
                queue_length: waiting.len() as i64,
                longest_wait_s: longest_wait_s(now, waiting.into_iter()),
                members,
            }
        })
        .collect();
    Monitor {
        at: now,
        agents,
        teams: team_list,
        queue_length: queue.len() as i64,
        longest_wait_s: longest_wait_s(now, queue.iter().map(|(_, at)| *at)),
        first_response: summarize(first_responses.into_iter().map(|(_, ms)| ms).collect()),
        overdue,
        head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::api::AgentPresence;

    fn agent(id: i64, presence: Status, open: i64, capacity: i64) -> MonitorAgent {
        MonitorAgent {
            id,
            name: format!("Agent {id}"),
            email: format!("a{id}@example.com"),
            role: "agent".into(),
            presence: AgentPresence {
                user_id: id,
                status: Status::Online,
                presence,
                connections: i64::from(presence == Status::Online),
                open,
                capacity,
            },
            teams: Vec::new(),
            skills: Vec::new(),
            first_response: Default::default(),
            resolved_last_hour: 0,
            overdue: 0,
        }
    }

    fn overdue(conv: i64, assignee: Option<i64>, since: i64, now: i64) -> OverdueConversation {
        OverdueConversation {
            conversation_id: conv,
            assignee_id: assignee,
            phone_number_id: "200000000000002".into(),
            waiting_since: since,
            waiting_s: (now - since) as f64 / 1000.0,
        }
    }

    #[test]
    fn an_empty_floor_has_no_figures() {
        let m = aggregate(1_000, MonitorInputs::default());
        assert_eq!(m.queue_length, 0);
        assert_eq!(m.longest_wait_s, None);
        assert_eq!(m.first_response.count, 0);
        assert_eq!(m.first_response.median_s, None);
        assert!(m.agents.is_empty() && m.teams.is_empty());
    }

    #[test]
    fn agents_teams_and_the_floor_add_up() {
        let now = 10_000_000;
        let m = aggregate(
            now,
            MonitorInputs {
                agents: vec![
                    agent(1, Status::Online, 2, 4),
                    agent(2, Status::Offline, 1, 6),
                    agent(3, Status::Online, 0, 5),
                ],
                // Agent 1 answered in 10 s and 30 s, agent 2 in 20 s; one skewed clock.
                first_responses: vec![(1, 10_000), (2, 20_000), (1, 30_000), (3, -500)],
                resolved_last_hour: vec![(1, 3), (3, 1)],
                overdue: vec![
                    overdue(7, Some(1), now - 900_000, now),
                    overdue(8, None, now - 600_000, now),
                    overdue(9, Some(1), now - 300_000, now),
                ],
                queue: vec![
                    (Some(10), now - 45_000),
                    (None, now - 90_000),
                    (Some(10), now - 5_000),
                ],
                teams: vec![
                    (10, "Support".into(), vec![1, 2]),
                    (11, "Leer".into(), vec![]),
                ],
                head: 42,
            },
        );
        let a1 = &m.agents[0];
        assert_eq!(a1.first_response.count, 2);
        assert_eq!(a1.first_response.avg_s, Some(20.0));
        assert_eq!(a1.first_response.median_s, Some(10.0));
        assert_eq!(a1.first_response.p90_s, Some(30.0));
        assert_eq!((a1.resolved_last_hour, a1.overdue), (3, 2));
        assert_eq!(m.agents[1].first_response.count, 1);
        assert_eq!(
            (m.agents[1].resolved_last_hour, m.agents[1].overdue),
            (0, 0)
        );
        assert_eq!(m.agents[2].first_response.median_s, Some(0.0));

        let support = &m.teams[0];
        assert_eq!(support.members, vec![1, 2]);
        assert_eq!((support.online, support.open, support.capacity), (1, 3, 10));
        assert_eq!(support.first_response.count, 3, "agent 3 is not a member");
        assert_eq!(support.first_response.median_s, Some(20.0));
        assert_eq!((support.resolved_last_hour, support.overdue), (3, 2));
        assert_eq!(support.queue_length, 2);
        assert_eq!(support.longest_wait_s, Some(45.0));
        let empty = &m.teams[1];
        assert_eq!((empty.online, empty.open, empty.queue_length), (0, 0, 0));
        assert_eq!(empty.longest_wait_s, None);

        assert_eq!(m.queue_length, 3);
        assert_eq!(m.longest_wait_s, Some(90.0));
        assert_eq!(m.first_response.count, 4);
        assert_eq!(m.overdue.len(), 3);
        assert_eq!((m.at, m.head), (now, 42));
    }
}

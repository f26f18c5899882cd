//! Why a queued conversation waits, and an agent's report over days: pure functions of what the
//! store read, so the supervisor's "why unassigned" and the 30-day figures are tested without a
//! database. `store::routing::monitor` does the reading.

use switchboard_protocol::routing::{AgentReport, WaitReason};

use super::{summarize, Candidate, Waiting};

/// An agent who takes conversations, as the queue view sees them (online or not).
#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    pub online: bool,
    pub agent: Candidate,
}

/// Why `w` has no agent, checked in the order a supervisor would fix it: is anyone there, is
/// anyone of its team there, does anyone have the skills, does anyone have room.
pub fn why_waiting(w: &Waiting, seats: &[Seat]) -> WaitReason {
    let online: Vec<&Candidate> = seats
        .iter()
        .filter(|s| s.online)
        .map(|s| &s.agent)
        .collect();
    if online.is_empty() {
        return WaitReason::NobodyOnline;
    }
    let in_team: Vec<&Candidate> = online
        .into_iter()
        .filter(|c| w.team_id.is_none_or(|t| c.teams.contains(&t)))
        .collect();
    if in_team.is_empty() {
        return WaitReason::TeamOffline;
    }
    let skilled: Vec<&Candidate> = in_team
        .into_iter()
        .filter(|c| w.required_skills.iter().all(|s| c.skills.contains(s)))
        .collect();
    if skilled.is_empty() {
        return WaitReason::MissingSkills;
    }
    if skilled.iter().all(|c| c.load >= c.capacity) {
        return WaitReason::AllBusy;
    }
    WaitReason::Next
}

/// What an agent's report is made of, read for the period `since..until`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportInputs {
    /// Distinct conversations the agent held in the period.
    pub conversations: i64,
    /// First response times (ms) of the periods the agent answered first.
    pub first_responses: Vec<i64>,
    /// Opening to resolution (ms) of the periods the agent resolved.
    pub resolutions: Vec<i64>,
}

/// The agent's report: counts, medians and 90th percentiles. Negative times (clock skew between
/// relays) count as zero.
pub fn agent_report(
    agent_id: i64,
    days: i64,
    since: i64,
    until: i64,
    inputs: ReportInputs,
) -> AgentReport {
    let clamp = |v: Vec<i64>| v.into_iter().map(|ms| ms.max(0)).collect::<Vec<_>>();
    let resolved = inputs.resolutions.len() as i64;
    AgentReport {
        agent_id,
        days,
        since,
        until,
        conversations: inputs.conversations,
        resolved,
        first_response: summarize(clamp(inputs.first_responses)),
        resolution: summarize(clamp(inputs.resolutions)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(
        id: i64,
        online: bool,
        load: i64,
        capacity: i64,
        teams: &[i64],
        skills: &[&str],
    ) -> Seat {
        Seat {
            online,
            agent: Candidate {
                id,
                load,
                capacity,
                skills: skills.iter().map(|s| s.to_string()).collect(),
                teams: teams.to_vec(),
                last_assigned_at: 0,
            },
        }
    }

    fn waiting(team: Option<i64>, skills: &[&str]) -> Waiting {
        Waiting {
            conversation_id: 1,
            phone_number_id: "p".into(),
            priority: 0,
            queued_at: 0,
            required_skills: skills.iter().map(|s| s.to_string()).collect(),
            team_id: team,
            previous: None,
        }
    }

    #[test]
    fn the_first_missing_condition_is_the_reason() {
        let w = waiting(Some(7), &["de"]);
        assert_eq!(why_waiting(&w, &[]), WaitReason::NobodyOnline);
        assert_eq!(
            why_waiting(&w, &[seat(1, false, 0, 6, &[7], &["de"])]),
            WaitReason::NobodyOnline
        );
        assert_eq!(
            why_waiting(&w, &[seat(1, true, 0, 6, &[8], &["de"])]),
            WaitReason::TeamOffline
        );
        assert_eq!(
            why_waiting(&w, &[seat(1, true, 0, 6, &[7], &["en"])]),
            WaitReason::MissingSkills
        );
        assert_eq!(
            why_waiting(&w, &[seat(1, true, 6, 6, &[7], &["de", "en"])]),
            WaitReason::AllBusy
        );
        assert_eq!(
            why_waiting(
                &w,
                &[
                    seat(1, true, 6, 6, &[7], &["de"]),
                    seat(2, true, 1, 6, &[7], &["de"])
                ]
            ),
            WaitReason::Next
        );
        // Without a team or skills, any online agent with room qualifies.
        assert_eq!(
            why_waiting(&waiting(None, &[]), &[seat(3, true, 0, 1, &[], &[])]),
            WaitReason::Next
        );
    }

    #[test]
    fn the_report_gives_median_and_p90_not_only_the_average() {
        // Nine quick answers and one lost conversation: the median stays quick.
        let mut fr = vec![60_000; 9];
        fr.push(36_000_000);
        let r = agent_report(
            4,
            30,
            0,
            1000,
            ReportInputs {
                conversations: 12,
                first_responses: fr,
                resolutions: vec![-5, 120_000, 240_000],
            },
        );
        assert_eq!(r.conversations, 12);
        assert_eq!(r.resolved, 3);
        assert_eq!(r.first_response.count, 10);
        assert_eq!(r.first_response.median_s, Some(60.0));
        assert_eq!(r.first_response.p90_s, Some(60.0));
        assert_eq!(r.first_response.avg_s, Some(3654.0));
        assert_eq!(r.resolution.median_s, Some(120.0));
        assert_eq!(r.resolution.p90_s, Some(240.0));
        assert_eq!(
            r.resolution.avg_s,
            Some(120.0),
            "a negative time counts as zero"
        );
    }
}

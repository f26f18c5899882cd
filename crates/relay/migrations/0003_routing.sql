-- Schema version 3: assignment, presence and routing (issue 5).

-- Teams of agents. requeue_on_offline: when a member goes offline past the grace period, their
-- open conversations return to the queue.
CREATE TABLE teams (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    requeue_on_offline INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

-- Known skills; agents and policies may only name these.
CREATE TABLE skills (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE agent_skills (
    user_id INTEGER NOT NULL REFERENCES users(id),
    skill   TEXT NOT NULL REFERENCES skills(name),
    PRIMARY KEY (user_id, skill)
);

-- One row per user: routing settings and presence.
-- status: what the person set (online, away, offline); connections: open streams right now;
-- last_seen_at: when the last stream closed; presence: the effective state (offline once no
-- stream was open for the grace period); load: open conversations assigned (kept by triggers);
-- routable: agents are routed to automatically, supervisors and admins only by hand.
CREATE TABLE agent_routing (
    user_id          INTEGER PRIMARY KEY REFERENCES users(id),
    capacity         INTEGER NOT NULL DEFAULT 6,
    status           TEXT NOT NULL DEFAULT 'online',
    connections      INTEGER NOT NULL DEFAULT 0,
    last_seen_at     INTEGER,
    presence         TEXT NOT NULL DEFAULT 'offline',
    load             INTEGER NOT NULL DEFAULT 0,
    routable         INTEGER NOT NULL,
    last_assigned_at INTEGER NOT NULL DEFAULT 0,
    skills           TEXT NOT NULL DEFAULT ',',
    teams            TEXT NOT NULL DEFAULT ','
);
CREATE INDEX agent_routing_available ON agent_routing (presence, routable);

INSERT INTO agent_routing (user_id, routable) SELECT id, role = 'agent' FROM users;
CREATE TRIGGER users_routing AFTER INSERT ON users BEGIN
    INSERT INTO agent_routing (user_id, routable) VALUES (NEW.id, NEW.role = 'agent');
END;

-- Per business number. mode: least_loaded or round_robin; team_id: route only to this team;
-- sticky_days: a returning customer goes back to their last agent within so many days (0: off);
-- skills: JSON {number: [..], languages: {lang: [..]}, tags: {tag: [..]}}; priority_tags: JSON
-- list of customer tags that go first in the queue. No row: least-loaded, no team, not sticky.
CREATE TABLE routing_policies (
    phone_number_id TEXT PRIMARY KEY,
    mode            TEXT NOT NULL,
    team_id         INTEGER REFERENCES teams(id),
    sticky_days     INTEGER NOT NULL,
    skills          TEXT NOT NULL,
    priority_tags   TEXT NOT NULL,
    rr_last         INTEGER,
    updated_at      INTEGER NOT NULL
);

-- Global routing settings (one row).
CREATE TABLE routing_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    grace_ms       INTEGER NOT NULL,
    alert_after_ms INTEGER NOT NULL,
    overdue_ms     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
INSERT INTO routing_settings (id, grace_ms, alert_after_ms, overdue_ms, updated_at)
    VALUES (1, 120000, 300000, 900000, 0);

-- Customer tags (VIP, language hints, ...), used by skill rules and queue priority.
CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag)
);

-- Queue and waiting state on the conversation.
-- queued_at: waiting for an agent since (NULL when assigned or not waiting); priority: higher
-- goes first; team_id: the team the conversation is routed within; waiting_since: the oldest
-- customer message no person has answered yet; alerted_at / overdue_at: when the waiting alerts
-- went out for that wait; period_id: the current open period (measures).
ALTER TABLE conversations ADD COLUMN queued_at INTEGER;
ALTER TABLE conversations ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN team_id INTEGER;
ALTER TABLE conversations ADD COLUMN waiting_since INTEGER;
ALTER TABLE conversations ADD COLUMN alerted_at INTEGER;
ALTER TABLE conversations ADD COLUMN overdue_at INTEGER;
ALTER TABLE conversations ADD COLUMN period_id INTEGER;
ALTER TABLE conversations ADD COLUMN resolved_at INTEGER;
CREATE INDEX conversations_queue ON conversations (priority DESC, queued_at, id) WHERE queued_at IS NOT NULL;
CREATE INDEX conversations_waiting ON conversations (waiting_since) WHERE waiting_since IS NOT NULL;
CREATE INDEX conversations_by_assignee ON conversations (assignee_id, status);

UPDATE agent_routing SET load = (SELECT COUNT(*) FROM conversations c
    WHERE c.assignee_id = agent_routing.user_id AND c.status = 'open');

-- load follows every change of a conversation's assignee or status, whichever code path makes it.
CREATE TRIGGER conversations_load_insert AFTER INSERT ON conversations
WHEN NEW.status = 'open' AND NEW.assignee_id IS NOT NULL BEGIN
    UPDATE agent_routing SET load = load + 1 WHERE user_id = NEW.assignee_id;
END;
CREATE TRIGGER conversations_load_update AFTER UPDATE OF assignee_id, status ON conversations BEGIN
    UPDATE agent_routing SET load = load - 1 WHERE OLD.status = 'open' AND user_id = OLD.assignee_id;
    UPDATE agent_routing SET load = load + 1 WHERE NEW.status = 'open' AND user_id = NEW.assignee_id;
END;
CREATE TRIGGER conversations_load_delete AFTER DELETE ON conversations
WHEN OLD.status = 'open' AND OLD.assignee_id IS NOT NULL BEGIN
    UPDATE agent_routing SET load = load - 1 WHERE user_id = OLD.assignee_id;
END;

-- Measures per open period of a conversation (a reopen starts a new period). resolved_by: the
-- assignee when it was resolved ("resolved in the last hour" per agent).
CREATE TABLE conversation_periods (
    id                 INTEGER PRIMARY KEY,
    conversation_id    INTEGER NOT NULL,
    opened_at          INTEGER NOT NULL,
    first_inbound_at   INTEGER,
    assigned_at        INTEGER,
    first_response_at  INTEGER,
    first_responder_id INTEGER,
    resolved_at        INTEGER,
    resolved_by        INTEGER
);
CREATE INDEX conversation_periods_by_conversation ON conversation_periods (conversation_id, id);
CREATE INDEX conversation_periods_response ON conversation_periods (first_response_at) WHERE first_response_at IS NOT NULL;
CREATE INDEX conversation_periods_resolved ON conversation_periods (resolved_at) WHERE resolved_at IS NOT NULL;

-- Every assignment change: who (by: a user, NULL for the router) and why.
CREATE TABLE assignments (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    from_user       INTEGER,
    to_user         INTEGER,
    team_id         INTEGER,
    by_user         INTEGER,
    reason          TEXT NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX assignments_by_conversation ON assignments (conversation_id, id);
CREATE INDEX assignments_by_agent ON assignments (to_user, at);

-- Local cache, version 3: escalation alerts (`conversation.waiting` to the agent,
-- `conversation.overdue` to supervisors) kept from the event log, so an alert raised while the
-- app was closed still shows at the next start. `notified`: a desktop notification went out (or
-- was due while the alert no longer applied); `seen`: the person opened the alert list.
CREATE TABLE alerts (
    seq             INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    waiting_since   INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    notified        INTEGER NOT NULL DEFAULT 0,
    seen            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_by_conversation ON alerts (conversation_id);

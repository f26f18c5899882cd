-- Schema version 2: automations and outbound policy (issue 6).

-- Outbound queue: who asked for a send decides its priority (2 agent reply, 1 automatic reply,
-- 0 bulk); enqueued_at gives the waits shown on /metrics.
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;
ALTER TABLE outbox ADD COLUMN enqueued_at INTEGER NOT NULL DEFAULT 0;
-- Outbound messages: agent, auto_reply, away, bulk (NULL for inbound and older rows).
ALTER TABLE messages ADD COLUMN origin TEXT;

-- The outgoing sensitive-word list (replaced as a whole by the admin API).
CREATE TABLE sensitive_words (
    id         INTEGER PRIMARY KEY,
    entry      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Keyword auto-reply rules per business number. keywords and reply are JSON.
CREATE TABLE auto_reply_rules (
    id              INTEGER PRIMARY KEY,
    phone_number_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    keywords        TEXT NOT NULL,
    match_mode      TEXT NOT NULL,
    whole_word      INTEGER NOT NULL,
    reply           TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    cooldown_ms     INTEGER NOT NULL,
    handoff         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX auto_reply_rules_number ON auto_reply_rules (phone_number_id);

-- When a rule last answered a conversation (the per-customer cooldown).
CREATE TABLE auto_reply_log (
    rule_id         INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    PRIMARY KEY (rule_id, conversation_id)
);

-- Business hours per number (JSON settings, see policy::hours::BusinessHours).
CREATE TABLE business_hours (
    phone_number_id TEXT PRIMARY KEY,
    settings        TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- When a conversation last got the away message.
CREATE TABLE away_log (
    conversation_id INTEGER PRIMARY KEY,
    sent_at         INTEGER NOT NULL
);

-- Send rate settings per number (defaults from the config otherwise).
CREATE TABLE rate_limits (
    phone_number_id  TEXT PRIMARY KEY,
    per_minute       INTEGER NOT NULL,
    burst            INTEGER NOT NULL,
    pair_interval_ms INTEGER NOT NULL,
    pair_burst       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- Message templates as synced from the Graph API, per WhatsApp Business Account.
CREATE TABLE templates (
    waba_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,
    body_params   INTEGER NOT NULL,
    header_params INTEGER NOT NULL,
    body          TEXT NOT NULL,
    synced_at     INTEGER NOT NULL,
    PRIMARY KEY (waba_id, name, language)
);

-- Outbound messages refused by the sensitive-word filter. A supervisor may allow one through
-- (allowed_by, message_id); that is audited.
CREATE TABLE policy_blocks (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    user_id         INTEGER,
    origin          TEXT NOT NULL,
    request         TEXT NOT NULL,
    code            TEXT NOT NULL,
    matched         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    allowed_by      INTEGER,
    allowed_at      INTEGER,
    message_id      INTEGER
);

-- Switchboard relay schema, version 1. Shipped migrations are never edited: add a new file.
-- Kept to portable SQL (integer ids, TEXT, INTEGER Unix milliseconds) so the PostgreSQL back-end
-- can share it with only type-name changes.

CREATE TABLE phone_numbers (
    phone_number_id      TEXT PRIMARY KEY,
    display_phone_number TEXT NOT NULL,
    name                 TEXT NOT NULL,
    waba_id              TEXT,
    configured           INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    bsuid      TEXT UNIQUE,
    wa_id      TEXT UNIQUE,
    username   TEXT,
    name       TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id                   INTEGER PRIMARY KEY,
    phone_number_id      TEXT NOT NULL,
    contact_id           INTEGER NOT NULL REFERENCES contacts(id),
    status               TEXT NOT NULL,
    assignee_id          INTEGER REFERENCES users(id),
    last_inbound_at      INTEGER,
    last_message_at      INTEGER NOT NULL,
    last_message_preview TEXT NOT NULL,
    unread_count         INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (phone_number_id, contact_id)
);
CREATE INDEX conversations_activity ON conversations (last_message_at, id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    direction       TEXT NOT NULL,
    wamid           TEXT UNIQUE,
    type            TEXT NOT NULL,
    text            TEXT NOT NULL,
    content         TEXT NOT NULL,
    unsupported     INTEGER NOT NULL,
    status          TEXT,
    status_at       INTEGER,
    error_code      INTEGER,
    error_title     TEXT,
    error_details   TEXT,
    reply_to        INTEGER,
    reply_to_wamid  TEXT,
    sender_id       INTEGER,
    client_id       TEXT,
    raw             TEXT,
    media_id        TEXT,
    media_mime      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

-- Durable send queue: a row exists while the Graph API has not accepted the message.
CREATE TABLE outbox (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id),
    conversation_id INTEGER NOT NULL,
    phone_number_id TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE idempotency_keys (
    user_id      INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    message_id   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Every correctly signed webhook body, committed before the 200 goes out.
-- state: pending (acknowledged, not yet applied), processed, dead (could not be parsed).
CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    body         BLOB NOT NULL,
    state        TEXT NOT NULL,
    error        TEXT,
    processed_at INTEGER
);
CREATE INDEX webhook_inbox_state ON webhook_inbox (state, id);

-- Statuses for wamids not (yet) known: a status webhook can overtake the send response.
CREATE TABLE orphan_statuses (
    id          INTEGER PRIMARY KEY,
    wamid       TEXT NOT NULL,
    raw         TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX orphan_statuses_wamid ON orphan_statuses (wamid);

-- Webhook fields other than messages, and value.errors: accepted and recorded.
CREATE TABLE account_events (
    id              INTEGER PRIMARY KEY,
    phone_number_id TEXT,
    field           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at     INTEGER NOT NULL
);

-- The event log clients sync from. seq is assigned by the single writer, strictly increasing.
-- visible_all / visible_users say which agents may see the event (supervisors see all).
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    conversation_id INTEGER,
    visible_all     INTEGER NOT NULL,
    visible_users   TEXT NOT NULL,
    data            TEXT NOT NULL,
    at              INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    details TEXT NOT NULL,
    at      INTEGER NOT NULL
);

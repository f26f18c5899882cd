-- Local cache, version 1. Shipped migrations are never edited: add a new one.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    wa_id      TEXT,
    bsuid      TEXT,
    username   TEXT,
    name       TEXT,
    updated_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    phone_number_id TEXT NOT NULL,
    contact_id      INTEGER NOT NULL,
    status          TEXT NOT NULL,
    assignee_id     INTEGER,
    last_inbound_at INTEGER,
    last_message_at INTEGER NOT NULL,
    preview         TEXT NOT NULL,
    unread_count    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX conversations_activity ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations (contact_id);

-- Messages as the relay knows them; `data` is the full JSON snapshot.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    text            TEXT NOT NULL,
    client_id       TEXT,
    data            TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

-- Messages written here and not yet accepted by the relay. client_id is the Idempotency-Key.
-- state: pending (to send), failed (the relay refused; kept with its reason until retried or
-- discarded).
CREATE TABLE outbox (
    local_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT NOT NULL UNIQUE,
    conversation_id INTEGER NOT NULL,
    request         TEXT NOT NULL,
    text            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL,
    error_code      TEXT,
    error_message   TEXT
);

-- Full-text search over message text and over contact names and numbers.
CREATE VIRTUAL TABLE message_fts USING fts5(text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO message_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE VIRTUAL TABLE contact_fts USING fts5(name, wa_id, username, content='contacts', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contact_fts (rowid, name, wa_id, username) VALUES (new.id, new.name, new.wa_id, new.username);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contact_fts (contact_fts, rowid, name, wa_id, username) VALUES ('delete', old.id, old.name, old.wa_id, old.username);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, wa_id, username ON contacts BEGIN
    INSERT INTO contact_fts (contact_fts, rowid, name, wa_id, username) VALUES ('delete', old.id, old.name, old.wa_id, old.username);
    INSERT INTO contact_fts (rowid, name, wa_id, username) VALUES (new.id, new.name, new.wa_id, new.username);
END;

-- Schema version 22: data governance (issue 16).
-- Retention per business number: messages, media, events and raw webhook bodies older than
-- `retention_days` are purged by the leader's background job (NULL: kept forever).
-- `retention_cutoff` is how far the last finished purge reached (ms), what clients apply too.
ALTER TABLE phone_numbers ADD COLUMN retention_days INTEGER;
ALTER TABLE phone_numbers ADD COLUMN retention_cutoff INTEGER;

-- A legal hold on a customer (all their conversations) or on one conversation suspends purges
-- and refuses erasure. Exactly one of contact_id / conversation_id is set.
CREATE TABLE legal_holds (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER,
    conversation_id INTEGER,
    reason          TEXT NOT NULL,
    set_by          TEXT NOT NULL,
    set_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX legal_holds_contact ON legal_holds (contact_id) WHERE contact_id IS NOT NULL;
CREATE UNIQUE INDEX legal_holds_conversation ON legal_holds (conversation_id) WHERE conversation_id IS NOT NULL;

-- What a purge took from a conversation, for reports: counts and the time span, no content.
CREATE TABLE conversation_tombstones (
    conversation_id  INTEGER PRIMARY KEY,
    phone_number_id  TEXT NOT NULL,
    messages_in      INTEGER NOT NULL,
    messages_out     INTEGER NOT NULL,
    first_message_at INTEGER NOT NULL,
    last_message_at  INTEGER NOT NULL,
    purged_at        INTEGER NOT NULL
);

-- Who sent an edit or deletion (wa_id or BSUID), so erasing the customer finds those whose
-- original never arrived.
ALTER TABLE message_amendments ADD COLUMN sender TEXT;

-- How far the purge went through the event log (per number) and the webhook inbox (for all):
-- both are read in order from there, so what a purge keeps (other numbers', held) is not read
-- again every hour. Reset when a retention is set or a hold released. No index is added to the
-- event log or the inbox: the ingest path stays as fast as before.
ALTER TABLE phone_numbers ADD COLUMN events_purged_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE retention_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    inbox_purged_id INTEGER NOT NULL
);
INSERT INTO retention_state (id, inbox_purged_id) VALUES (1, 0);

UPDATE roles SET permissions = permissions || ',manage_data' WHERE name = 'admin' AND builtin = 1;

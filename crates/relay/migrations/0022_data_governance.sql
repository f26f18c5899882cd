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

CREATE INDEX events_by_conversation ON events (conversation_id, seq) WHERE conversation_id IS NOT NULL;
CREATE INDEX webhook_inbox_received ON webhook_inbox (received_at);

UPDATE roles SET permissions = permissions || ',manage_data' WHERE name = 'admin' AND builtin = 1;

-- Schema version 15: customers edit and delete messages (see the SQLite twin).
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN edits TEXT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
CREATE TABLE message_amendments (
    wamid          TEXT PRIMARY KEY,
    original_wamid TEXT NOT NULL,
    kind           TEXT NOT NULL,
    content        TEXT,
    at             BIGINT NOT NULL,
    received_at    BIGINT NOT NULL,
    applied_at     BIGINT
);
CREATE INDEX message_amendments_waiting ON message_amendments (original_wamid) WHERE applied_at IS NULL;

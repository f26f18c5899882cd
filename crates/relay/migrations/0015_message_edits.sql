-- Schema version 15: customers edit and delete messages (webhook types `edit` and `revoke`).
-- An edited message keeps its earlier versions (`edits`: JSON list of {text, content,
-- replaced_at}); a deleted one stays readable, marked (`deleted_at`). An edit or deletion that
-- arrives before its original waits in `message_amendments` and applies when the original comes;
-- every amendment is kept there by its own wamid, so a redelivered webhook applies nothing twice.
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN edits TEXT;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
CREATE TABLE message_amendments (
    wamid          TEXT PRIMARY KEY,
    original_wamid TEXT NOT NULL,
    kind           TEXT NOT NULL,
    content        TEXT,
    at             INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    applied_at     INTEGER
);
CREATE INDEX message_amendments_waiting ON message_amendments (original_wamid) WHERE applied_at IS NULL;

-- Local cache, version 2: customers' tags (for the tag filter) and internal notes.
-- Caches upgraded from version 1 learn a customer's tags with the next snapshot of that customer.
ALTER TABLE contacts ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag)
) WITHOUT ROWID;
CREATE INDEX contact_tags_by_tag ON contact_tags (tag, contact_id);

-- `data` is the relay's JSON snapshot of the note.
CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX notes_by_contact ON notes (contact_id, id);

-- Set once a conversation's older messages were fetched from the relay (they may predate the
-- user's view of it: a conversation transferred to them, or reopened by a returning customer).
ALTER TABLE conversations ADD COLUMN history_complete INTEGER NOT NULL DEFAULT 0;

-- Internal notes on customers: written by colleagues, never sent to the customer.
CREATE TABLE contact_notes (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    author_id   INTEGER REFERENCES users(id),
    author_name TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX contact_notes_by_contact ON contact_notes (contact_id, id);

-- Schema version 11: the audit log as a hash chain (see the SQLite twin).
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL,
    hash    TEXT NOT NULL
);

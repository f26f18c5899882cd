-- Schema version 11: the audit log as a hash chain. Each entry's `hash` is the SHA-256 of the
-- previous entry's hash and the entry's own fields (`store/audit.rs` `entry_hash`); `audit_head`
-- holds the last entry's id and hash, so removing the newest entries shows too. Entries written
-- before this version are chained once, in the migration's transaction (`audit::seal_legacy`).
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL,
    hash    TEXT NOT NULL
);

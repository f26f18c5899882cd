-- Schema version 8: sessions that can be listed and ended, idle expiry, deactivated users.
-- A session is a bearer token (stored as its SHA-256) with when it was made, last used and
-- expires, and the client that made it. Ending sessions (logout, deactivation, a role change, a
-- password reset) also appends a row to session_revocations, which every relay polls to close
-- the open streams of those sessions at once.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
INSERT INTO sessions (token_hash, user_id, created_at, last_used_at, expires_at)
    SELECT token_hash, user_id, created_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000, expires_at FROM tokens;
DROP TABLE tokens;

CREATE TABLE session_revocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    -- NULL: every session of the user.
    session_id INTEGER,
    at         INTEGER NOT NULL
);

ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;

-- Schema version 21: tokens of deactivated users' ended sessions (see the SQLite twin).
CREATE TABLE ended_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    at         BIGINT NOT NULL
);

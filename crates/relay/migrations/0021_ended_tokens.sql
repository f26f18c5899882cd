-- Schema version 21: tokens of sessions that ended because their user was deactivated, kept
-- (hashed, 90 days) so that the person's app learns why at its next contact (401
-- `account_deactivated`) and deletes what it stored; removed when the user is reactivated.
CREATE TABLE ended_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL
);

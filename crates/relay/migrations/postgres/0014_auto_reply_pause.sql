-- Schema version 14: auto-reply rules can be paused (see the SQLite twin).
ALTER TABLE auto_reply_rules ADD COLUMN paused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auto_reply_rules ADD COLUMN updated_by TEXT;
ALTER TABLE auto_reply_rules ADD COLUMN updated_at BIGINT;

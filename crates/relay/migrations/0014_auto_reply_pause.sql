-- Schema version 14: an auto-reply rule can be paused (it answers nobody until resumed) and
-- remembers who changed it last.
ALTER TABLE auto_reply_rules ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE auto_reply_rules ADD COLUMN updated_by TEXT;
ALTER TABLE auto_reply_rules ADD COLUMN updated_at INTEGER;

-- Schema version 13: a blocked message is released or rejected (see the SQLite twin).
ALTER TABLE policy_blocks ADD COLUMN rejected_by BIGINT;
ALTER TABLE policy_blocks ADD COLUMN rejected_at BIGINT;

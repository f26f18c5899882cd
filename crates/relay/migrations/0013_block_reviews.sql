-- Schema version 13: a supervisor's review of a blocked message ends in a release (allowed_by)
-- or a rejection (rejected_by), never both.
ALTER TABLE policy_blocks ADD COLUMN rejected_by INTEGER;
ALTER TABLE policy_blocks ADD COLUMN rejected_at INTEGER;

-- Schema version 16: a customer's latest choice about marketing messages (`user_preferences`
-- webhooks): `stop` or `resume`, and when they made it (ms). NULL until they made one.
ALTER TABLE contacts ADD COLUMN marketing_pref TEXT;
ALTER TABLE contacts ADD COLUMN marketing_pref_at INTEGER;

-- Schema version 16: a customer's marketing preference (see the SQLite twin).
ALTER TABLE contacts ADD COLUMN marketing_pref TEXT;
ALTER TABLE contacts ADD COLUMN marketing_pref_at BIGINT;

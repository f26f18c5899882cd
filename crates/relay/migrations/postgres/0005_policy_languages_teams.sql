-- PostgreSQL twin of the SQLite migration 0005_policy_languages_teams.sql (same schema, PostgreSQL types).
-- Schema version 5: per-language sensitive-word lists and business hours per team (issue 6).

-- The language a sensitive-word entry applies to: '' for every language (the list
-- `PUT /api/v1/admin/sensitive-words` `entries` replaces), else a lower-case ISO 639 code ('de').
ALTER TABLE sensitive_words ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- Business hours per team (JSON settings, see policy::hours::BusinessHours). For a conversation
-- that belongs to a team they take precedence over its number's hours.
CREATE TABLE team_business_hours (
    team_id    BIGINT PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A synced template's text header (with its `{{1}}` placeholders), to check header parameters;
-- filled in by the next template sync.
ALTER TABLE templates ADD COLUMN header TEXT NOT NULL DEFAULT '';

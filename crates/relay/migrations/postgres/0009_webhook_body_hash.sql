-- PostgreSQL twin of SQLite migration 0009 (a webhook body is stored once, keyed by its SHA-256).
ALTER TABLE webhook_inbox ADD COLUMN body_sha256 TEXT;
CREATE UNIQUE INDEX webhook_inbox_body_sha256 ON webhook_inbox (body_sha256);

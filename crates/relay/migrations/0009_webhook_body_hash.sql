-- Schema version 9: a signed webhook body is stored once. A replayed body (the same bytes, so the
-- same SHA-256) is acknowledged but neither stored nor applied again. Rows from before keep NULL;
-- a UNIQUE index allows any number of NULLs.
ALTER TABLE webhook_inbox ADD COLUMN body_sha256 TEXT;
CREATE UNIQUE INDEX webhook_inbox_body_sha256 ON webhook_inbox (body_sha256);

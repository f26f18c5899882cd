-- PostgreSQL twin of SQLite migration 0010 (messages found by their media id).
CREATE INDEX messages_by_media ON messages (media_id) WHERE media_id IS NOT NULL;

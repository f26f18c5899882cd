-- Schema version 20: messages read in the order they were written (see the SQLite twin).
CREATE INDEX messages_by_time ON messages (conversation_id, created_at, id);

-- Schema version 20: a conversation's messages are read in the order they were written
-- (`created_at`, then arrival), not only in arrival order: the chat history shared from the
-- WhatsApp Business app arrives after the live messages but was written before them.
CREATE INDEX messages_by_time ON messages (conversation_id, created_at, id);

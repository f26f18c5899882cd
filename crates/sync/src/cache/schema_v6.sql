-- Local cache, version 6: timelines in the order messages were written (`created_at`, then
-- arrival), as the relay pages them: a chat history shared from the WhatsApp Business app arrives
-- after the live messages but precedes them. A virtual column read from the snapshot, so every
-- cache (also one upgraded from version 5) has it at once.
ALTER TABLE messages ADD COLUMN created_at INTEGER GENERATED ALWAYS AS (json_extract(data, '$.created_at')) VIRTUAL;
CREATE INDEX messages_by_time ON messages (conversation_id, created_at, id);

-- Schema version 10: messages found by their media id. A send naming a media id is allowed only
-- when the file was uploaded for the conversation or a message the sender may see carries it
-- (`store/media.rs`); that lookup runs inside the write job, so it must not scan every message.
CREATE INDEX messages_by_media ON messages (media_id) WHERE media_id IS NOT NULL;

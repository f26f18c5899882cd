-- Schema version 18: the media archive (see the SQLite twin).
CREATE TABLE media_archive (
    media_id        TEXT PRIMARY KEY,
    message_id      BIGINT NOT NULL,
    state           TEXT NOT NULL,
    bytes           BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    stored_at       BIGINT
);
CREATE INDEX media_archive_due ON media_archive (next_attempt_at) WHERE state = 'pending';
INSERT INTO media_archive (media_id, message_id, state, next_attempt_at, created_at)
SELECT media_id, MIN(id), 'pending', 0, MIN(created_at) FROM messages
WHERE direction = 'in' AND media_id IS NOT NULL
  AND created_at > (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT - 30::BIGINT * 86400000
GROUP BY media_id;

-- Schema version 18: the media archive. Every inbound media file is downloaded when it arrives
-- (in the background, retried) into `<data_dir>/media-archive`, so a photo nobody opened is not
-- lost when Meta's retention ends. One row per media id: `pending` (to fetch at
-- `next_attempt_at`), `stored` (`bytes`), `failed` (given up, `error`), `evicted` (removed to
-- keep the archive under its size) or `expired` (older than the retention).
CREATE TABLE media_archive (
    media_id        TEXT PRIMARY KEY,
    message_id      INTEGER NOT NULL,
    state           TEXT NOT NULL,
    bytes           INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    stored_at       INTEGER
);
CREATE INDEX media_archive_due ON media_archive (next_attempt_at) WHERE state = 'pending';
-- Media of the last 30 days (what Meta may still hold) is archived too.
INSERT INTO media_archive (media_id, message_id, state, next_attempt_at, created_at)
SELECT media_id, MIN(id), 'pending', 0, MIN(created_at) FROM messages
WHERE direction = 'in' AND media_id IS NOT NULL
  AND created_at > CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 30 * 86400000
GROUP BY media_id;

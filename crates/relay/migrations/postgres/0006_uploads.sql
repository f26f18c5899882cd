-- PostgreSQL twin of the SQLite migration 0006_uploads.sql (same schema, PostgreSQL types).
-- Files agents uploaded for sending (the Graph API's media id), so an outbound message can name
-- its file's type and the relay can serve it back without asking WhatsApp.
CREATE TABLE uploads (
    media_id        TEXT PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    user_id         BIGINT REFERENCES users(id),
    mime            TEXT NOT NULL,
    filename        TEXT NOT NULL,
    size            BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

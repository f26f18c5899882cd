-- Files agents uploaded for sending (the Graph API's media id), so an outbound message can name
-- its file's type and the relay can serve it back without asking WhatsApp.
CREATE TABLE uploads (
    media_id        TEXT PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    user_id         INTEGER REFERENCES users(id),
    mime            TEXT NOT NULL,
    filename        TEXT NOT NULL,
    size            INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

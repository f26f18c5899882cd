-- Schema version 19: credentials per WhatsApp Business Account (see the SQLite twin).
CREATE TABLE meta_apps (
    app_id     TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE business_accounts (
    waba_id    TEXT PRIMARY KEY,
    name       TEXT,
    app_id     TEXT REFERENCES meta_apps (app_id),
    token      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

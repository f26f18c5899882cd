-- Schema version 19: credentials per WhatsApp Business Account. A number belongs to an account
-- (`phone_numbers.waba_id`); an account may have its own access token (sends, uploads, media and
-- templates of its numbers use it) and belong to a Meta app with its own app secret (its
-- webhooks are verified with that secret). Tokens and secrets are sealed with the key from
-- SWITCHBOARD_SECRET_KEY (`v1:` + base64), never stored in clear. Accounts without a row use
-- the relay's configured token and secret, as before.
CREATE TABLE meta_apps (
    app_id     TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE business_accounts (
    waba_id    TEXT PRIMARY KEY,
    name       TEXT,
    app_id     TEXT REFERENCES meta_apps (app_id),
    token      TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

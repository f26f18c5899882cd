-- Schema version 17: Coexistence (the business also answers from the WhatsApp Business app).
-- An edit or deletion may come from the business's phone app (an echo of type edit/revoke):
-- `by_business` says whose message it may amend. `app_name`: the name the business saved for
-- the customer in the phone app's contact list (`smb_app_state_sync`; NULL when removed).
-- `history_imports`: the progress of the chat history shared at onboarding, per number and
-- phase (the latest chunk seen), or the business's refusal to share it.
ALTER TABLE message_amendments ADD COLUMN by_business INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN app_name TEXT;
CREATE TABLE history_imports (
    phone_number_id TEXT NOT NULL,
    phase           INTEGER NOT NULL,
    chunk_order     INTEGER,
    progress        INTEGER,
    messages        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (phone_number_id, phase)
);

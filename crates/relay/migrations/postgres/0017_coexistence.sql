-- Schema version 17: Coexistence (see the SQLite twin).
ALTER TABLE message_amendments ADD COLUMN by_business BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN app_name TEXT;
CREATE TABLE history_imports (
    phone_number_id TEXT NOT NULL,
    phase           BIGINT NOT NULL,
    chunk_order     BIGINT,
    progress        BIGINT,
    messages        BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (phone_number_id, phase)
);

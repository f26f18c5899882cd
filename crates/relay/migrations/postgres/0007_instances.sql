-- PostgreSQL twin of SQLite migration 0007 (relays as cluster instances and the streams they hold).
CREATE TABLE relay_instances (
    id           TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

CREATE TABLE stream_connections (
    instance_id TEXT NOT NULL,
    user_id     BIGINT NOT NULL,
    connections BIGINT NOT NULL,
    PRIMARY KEY (instance_id, user_id)
);

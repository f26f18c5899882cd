-- Schema version 7: relays as instances of one cluster (PostgreSQL) and whose streams they hold.
-- Each running relay has a row and a heartbeat; stream_connections says how many streams of a
-- user it holds. agent_routing.connections stays the sum over all instances (what routing reads);
-- when an instance stops beating (killed, machine gone), the leader takes its streams off the
-- sum, so its agents' grace periods start instead of their staying "online" forever.
CREATE TABLE relay_instances (
    id           TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

CREATE TABLE stream_connections (
    instance_id TEXT NOT NULL,
    user_id     INTEGER NOT NULL,
    connections INTEGER NOT NULL,
    PRIMARY KEY (instance_id, user_id)
);

-- Area "session": the cluster's memory of who is running and connected.

-- One row per node name. Each node upserts its row at start, updates
-- heartbeat_at every second and reads back draining (set by teguctl drain).
CREATE TABLE nodes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    host text NOT NULL,
    pid integer NOT NULL,
    version text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    draining boolean NOT NULL DEFAULT false,
    stopped_at timestamptz
);

COMMENT ON TABLE nodes IS 'One row per node name; heartbeat_at older than a few seconds means the node is gone';

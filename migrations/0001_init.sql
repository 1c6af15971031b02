-- Configuration and cluster membership: the settings every node reads and
-- the registry of running nodes.

CREATE TABLE settings (
    name text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE settings IS 'Cluster-wide settings; a missing row means the default from the code''s settings table';

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

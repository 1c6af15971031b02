-- Area "config": cluster-wide settings and the migration ledger.
-- This file is the schema as the migrations leave it, for reading; the
-- migrations in ../migrations are what actually changes a database.

-- Written by the migration runner (node/lib/migrate.c) before anything else.
CREATE TABLE schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- A missing row means the default from the settings table in node/lib/settings.c.
CREATE TABLE settings (
    name text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE settings IS 'Cluster-wide settings; a missing row means the default from the code''s settings table';

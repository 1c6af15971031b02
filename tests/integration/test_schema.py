"""schema/*.sql (the readable schema) must describe exactly what the
migrations build."""

import difflib
import glob
import os
import re
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_FILES = sorted(glob.glob(os.path.join(REPO, "schema", "*.sql")))
MIGRATION_FILES = sorted(glob.glob(os.path.join(REPO, "migrations", "*.sql")))


def apply_schema_files(pg, dsn):
    for path in SCHEMA_FILES:
        result = subprocess.run([pg.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                 "-d", dsn, "-f", path],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, f"{path}: {result.stderr}"


def schema_dump(pg, dsn):
    """pg_dump --schema-only without comments, SET lines and blank lines.
    Also without psql's \\restrict/\\unrestrict lines, which newer pg_dump
    versions write with a random key."""
    result = subprocess.run([pg.tool("pg_dump"), "--schema-only", "--no-owner",
                             "--no-privileges", "-d", dsn],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines()
            if line.strip()
            and not line.startswith("--")
            and not line.startswith("SET ")
            and not re.match(r"\\(un)?restrict\b", line)]


def test_migration_files_are_numbered():
    names = [os.path.basename(p) for p in MIGRATION_FILES]
    assert names, "no migrations"
    for i, name in enumerate(names, start=1):
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", name), f"bad migration file name {name}"
        assert int(name[:4]) == i, f"migrations not numbered 0001, 0002, ... without gaps: {names}"


def test_schema_files_apply_cleanly(pg_server):
    dsn = pg_server.create_db()
    apply_schema_files(pg_server, dsn)
    dump = schema_dump(pg_server, dsn)
    assert any(line.startswith("CREATE TABLE") for line in dump)


def test_migrations_build_the_documented_schema(pg_server, node_factory):
    via_migrations = pg_server.create_db()
    via_schema = pg_server.create_db()

    node = node_factory(via_migrations, start=False)
    result = node.teguctl("migrate")
    assert result.returncode == 0, result.stderr
    apply_schema_files(pg_server, via_schema)

    migrated = schema_dump(pg_server, via_migrations)
    documented = schema_dump(pg_server, via_schema)
    assert any(line.startswith("CREATE TABLE") for line in migrated)
    diff = "\n".join(difflib.unified_diff(documented, migrated, "schema/*.sql",
                                          "migrations via teguctl migrate", lineterm=""))
    assert migrated == documented, "schema/ and migrations/ disagree:\n" + diff

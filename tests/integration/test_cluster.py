"""Several nodes on one database: migrations applied once, the `nodes`
registry, drain/undrain and stale detection, as seen through teguctl."""

import signal
import time

NODES_HEADER = ["ID", "NAME", "HOST", "PID", "VERSION", "STARTED", "HEARTBEAT", "STATE"]


def teguctl_nodes(node):
    """`teguctl nodes` through node's tegu.conf -> {name: row}. The STARTED
    and HEARTBEAT columns may hold spaces, so NAME, HOST, PID and VERSION
    are read from the left and STATE from the right."""
    result = node.teguctl("nodes")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and lines[0].split() == NODES_HEADER, result.stdout
    rows = {}
    for line in lines[1:]:
        fields = line.split()
        assert len(fields) >= len(NODES_HEADER), line
        rows[fields[1]] = {"host": fields[2], "pid": int(fields[3]), "version": fields[4],
                           "state": fields[-1]}
    return rows


def test_two_nodes_started_together(db, node_factory, query, migrations):
    alpha = node_factory(db, name="alpha", start=False)
    beta = node_factory(db, name="beta", start=False)
    alpha.start()
    beta.start()
    alpha.wait_healthy()
    beta.wait_healthy()

    # Each migration applied exactly once (the ledger may keep the name
    # with or without ".sql").
    applied = query(db, "SELECT name FROM schema_migrations")
    names = sorted(name[:-4] if name.endswith(".sql") else name for (name,) in applied)
    assert names == migrations

    rows = query(db, "SELECT name, pid, version, stopped_at FROM nodes ORDER BY name")
    assert [(r[0], r[1]) for r in rows] == [("alpha", alpha.pid), ("beta", beta.pid)]
    assert all(r[2] and r[3] is None for r in rows)

    # Heartbeats move on (every second).
    sql = "SELECT heartbeat_at FROM nodes WHERE name = 'alpha'"
    first = query(db, sql)[0][0]
    time.sleep(1.5)
    assert query(db, sql)[0][0] > first

    listed = teguctl_nodes(alpha)
    assert set(listed) == {"alpha", "beta"}
    assert listed["alpha"]["state"] == "alive" and listed["beta"]["state"] == "alive"
    assert listed["alpha"]["pid"] == alpha.pid and listed["beta"]["pid"] == beta.pid

    # A clean stop is recorded.
    assert beta.stop(signal.SIGTERM, timeout=8) == 0
    assert query(db, "SELECT stopped_at IS NOT NULL FROM nodes WHERE name = 'beta'") == [(True,)]
    listed = teguctl_nodes(alpha)
    assert listed["beta"]["state"] == "stopped"
    assert listed["alpha"]["state"] == "alive"


def test_drain_and_undrain(db, node_factory, query):
    node = node_factory(db, name="drainme").wait_healthy()

    result = node.teguctl("drain", "drainme")
    assert result.returncode == 0, result.stderr
    # Contract: within 2 s; a little slack for the polling itself.
    assert node.wait_health(503, timeout=2.5) == (503, "draining\n")
    assert query(db, "SELECT draining FROM nodes WHERE name = 'drainme'") == [(True,)]
    assert teguctl_nodes(node)["drainme"]["state"] == "draining"

    result = node.teguctl("undrain", "drainme")
    assert result.returncode == 0, result.stderr
    assert node.wait_health(200, timeout=2.5) == (200, "ok\n")
    assert query(db, "SELECT draining FROM nodes WHERE name = 'drainme'") == [(False,)]
    assert teguctl_nodes(node)["drainme"]["state"] == "alive"


def test_drain_errors(db, node_factory):
    node = node_factory(db, name="n1").wait_healthy()
    unknown = node.teguctl("drain", "no-such-node")
    assert unknown.returncode in (1, 2) and unknown.stderr.strip()
    missing = node.teguctl("drain")
    assert missing.returncode == 2 and missing.stderr.strip()
    assert node.health() == (200, "ok\n")


def test_killed_node_becomes_stale(db, node_factory):
    # teguctl goes through the witness, which stays up.
    witness = node_factory(db, name="witness").wait_healthy()
    victim = node_factory(db, name="victim").wait_healthy()

    victim.kill()  # SIGKILL: no chance to say goodbye
    killed_at = time.monotonic()
    assert teguctl_nodes(witness)["victim"]["state"] == "alive"

    # Stale means no heartbeat for 10 s; the last one was at most ~1 s
    # before the kill.
    state = None
    while time.monotonic() - killed_at < 14:
        state = teguctl_nodes(witness)["victim"]["state"]
        if state == "stale":
            break
        assert state == "alive", f"killed node shown as {state!r}"
        time.sleep(0.5)
    elapsed = time.monotonic() - killed_at
    assert state == "stale", f"still {state!r} {elapsed:.1f} s after SIGKILL"
    assert elapsed >= 8, f"stale after only {elapsed:.1f} s"
    assert teguctl_nodes(witness)["witness"]["state"] == "alive"

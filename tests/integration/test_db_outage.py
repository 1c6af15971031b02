"""A node rides out a PostgreSQL outage: unhealthy while the database is
gone, healthy again when it is back, without a restart."""

import time


def test_node_survives_database_outage(private_pg, node_factory, query):
    node = node_factory(private_pg.dsn).wait_healthy()
    pid = node.pid

    private_pg.stop()
    status, body = node.wait_health(503, timeout=5)
    assert body.endswith("\n") and "\n" not in body[:-1], f"not one line: {body!r}"
    assert "database" in body, f"reason does not name the database: {body!r}"
    assert node.alive
    assert node.metric("tegu_db_up") == 0

    # Still up and still saying so a moment later.
    time.sleep(2)
    assert node.alive
    assert node.health()[0] == 503

    private_pg.start()
    assert node.wait_health(200, timeout=15) == (200, "ok\n")
    assert node.alive and node.pid == pid
    assert node.metric("tegu_db_up") == 1

    # The heartbeat is written again.
    deadline = time.monotonic() + 3
    while True:
        (fresh,), = query(private_pg.dsn, "SELECT now() - heartbeat_at < interval '2 seconds' "
                                          "FROM nodes WHERE pid = %s", (pid,))
        if fresh or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert fresh, "heartbeat not resumed after the database came back"


def wait_metric_above(node, name, value, timeout):
    deadline = time.monotonic() + timeout
    while True:
        current = node.metric(name)
        if current is not None and current > value:
            return current
        assert time.monotonic() < deadline, f"{name} stayed at {current} (wanted > {value})"
        time.sleep(0.1)


def test_settings_notify_reaches_node_before_and_after_outage(private_pg, node_factory):
    """teguctl set wakes every node through NOTIFY config, also after the
    node's LISTEN connection was lost and re-established (the slow poll is
    a minute, so a prompt reload proves the LISTEN came back)."""
    node = node_factory(private_pg.dsn).wait_healthy()
    wait_metric_above(node, "tegu_settings_loads_total", 0, 5)

    before = node.metric("tegu_settings_loads_total")
    assert node.teguctl("set", "serverName", "mx1.example.test").returncode == 0
    wait_metric_above(node, "tegu_settings_loads_total", before, 3)

    private_pg.stop()
    node.wait_health(503, timeout=5)
    private_pg.start()
    node.wait_health(200, timeout=15)
    # Reconnecting also polls once: notifications sent meanwhile are lost.
    time.sleep(2)
    before = node.metric("tegu_settings_loads_total")
    assert node.teguctl("set", "serverName", "mx2.example.test").returncode == 0
    wait_metric_above(node, "tegu_settings_loads_total", before, 3)

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

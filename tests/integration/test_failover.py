"""What a node does when the primary changes under it (Patroni failover):
a multi-host DSN finds the writable server, and a server that turns
read-only (SQLSTATE 25006, what a demoted primary answers) makes the node
drop that connection, report not ready, and come back by itself once a
writable server is there again."""

import time

import psycopg2.sql

from conftest import free_port


def test_multi_host_dsn_skips_a_dead_host(node_factory, pg_server, db):
    dead = free_port()  # nothing listens there
    dbname = db.split("dbname=")[1].split()[0]
    dsn = (f"host=127.0.0.1,127.0.0.1 port={dead},{pg_server.port} dbname={dbname} "
           f"user=tegu target_session_attrs=read-write")
    node = node_factory(dsn, name="multihost")
    node.wait_healthy(timeout=20)
    status, body = node.health()
    assert (status, body) == (200, "ok\n")


def test_read_only_server_makes_node_unready_then_recovers(node_factory, pg_server, db, query):
    dbname = db.split("dbname=")[1].split()[0]
    node = node_factory(db, name="demoted")
    node.wait_healthy(timeout=20)

    # Every new transaction in this database is now read-only, as on a
    # standby; existing sessions get it on their next connection, so end them.
    pg_server.admin_query(psycopg2.sql.SQL(
        "ALTER DATABASE {} SET default_transaction_read_only = on").format(
        psycopg2.sql.Identifier(dbname)))
    pg_server.admin_query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
    status, body = node.wait_health(503, timeout=10)
    assert body == "database unavailable\n"
    # Reconnects land on a read-only server again: the node stays unready
    # and says why.
    deadline = time.monotonic() + 10
    while "read-only" not in node.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "read-only" in node.log_text()
    assert node.health() == (503, "database unavailable\n")
    assert node.alive

    pg_server.admin_query(psycopg2.sql.SQL(
        "ALTER DATABASE {} SET default_transaction_read_only = off").format(
        psycopg2.sql.Identifier(dbname)))
    node.wait_healthy(timeout=20)

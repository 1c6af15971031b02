"""SIGTERM: stop accepting at once, close idle connections at once, give a
request in progress up to shutdownGrace seconds, then exit 0."""

import signal
import socket
import time

GRACE = 5  # shutdownGrace in the tegu.conf written by node_factory


def refused_within(port, timeout):
    """True as soon as a new connection to port is refused."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        else:
            sock.close()
        time.sleep(0.05)
    return False


def keep_alive_connection(node):
    stream = node.open_stream()
    stream.send(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    r = stream.read_response()
    assert r.status == 200
    assert r.headers.get("connection", "").lower() != "close"
    return stream


def half_sent_request(node):
    stream = node.open_stream()
    stream.send(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")  # no final empty line
    return stream


def test_sigterm_with_idle_and_unfinished_connections(db, node_factory):
    node = node_factory(db).wait_healthy()
    idle = keep_alive_connection(node)
    half = half_sent_request(node)
    time.sleep(0.3)  # let the node accept and start reading both

    node.send_signal(signal.SIGTERM)
    started = time.monotonic()

    assert refused_within(node.http_port, 1.0), "new connections still accepted after SIGTERM"
    assert idle.wait_closed(timeout=1.0), "idle keep-alive connection not closed promptly"
    rc = node.wait(timeout=GRACE + 3 - (time.monotonic() - started))
    assert rc == 0
    assert half.wait_closed(timeout=1.0)
    idle.close()
    half.close()


def test_request_in_progress_is_finished(db, node_factory):
    node = node_factory(db).wait_healthy()
    half = half_sent_request(node)
    time.sleep(0.3)

    node.send_signal(signal.SIGTERM)
    started = time.monotonic()
    time.sleep(0.5)
    assert node.alive, "node exited while a request was in progress"

    half.send(b"\r\n")  # finish the request within the grace period
    r = half.read_response(timeout=3)
    assert r.status in (200, 503), r  # healthy or already saying it is going away
    assert half.wait_closed(timeout=2), "connection kept open by a node shutting down"
    half.close()
    assert node.wait(timeout=GRACE + 3 - (time.monotonic() - started)) == 0

"""GET /health and /metrics, and how the HTTP listener treats bad input."""

import pytest

HTTP_LISTENER = {"listener": "http"}


@pytest.fixture
def node(db, node_factory):
    return node_factory(db).wait_healthy()


def get(path, version="HTTP/1.1", extra=b""):
    return f"GET {path} {version}\r\nHost: localhost\r\n".encode() + extra + b"\r\n"


def exchange(node, data):
    """Sends data on a new connection; returns the first response."""
    stream = node.open_stream()
    try:
        stream.send(data)
        return stream.read_response()
    finally:
        stream.close()


def test_health_ok(node):
    assert node.health() == (200, "ok\n")


def test_metrics(node):
    r = node.request("GET", "/metrics")
    assert r.status == 200
    assert r.headers.get("content-type", "").startswith("text/plain")
    text = r.text
    assert node.metric("tegu_uptime_seconds", text=text) >= 0
    assert node.metric("tegu_db_up", text=text) == 1
    # The connection carrying this very request is active.
    assert node.metric("tegu_connections_active", HTTP_LISTENER, text=text) >= 1
    assert node.metric("tegu_connections_total", HTTP_LISTENER, text=text) >= 1


def test_connections_total_counts_connections(node):
    before = node.metric("tegu_connections_total", HTTP_LISTENER)
    assert node.health()[0] == 200  # one more connection
    after = node.metric("tegu_connections_total", HTTP_LISTENER)  # and this one
    assert after == before + 2


def test_unknown_path_is_404(node):
    assert node.request("GET", "/no-such-page").status == 404


@pytest.mark.parametrize("data", [
    b"HELLO\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost localhost\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xff\xfe\r\n\r\n",
], ids=["one-word", "method-only", "header-without-colon", "binary"])
def test_garbage_is_400(node, data):
    assert exchange(node, data).status == 400


@pytest.mark.parametrize("data", [
    get("/hea\0lth"),
    get("/health", extra=b"X-Test: a\0b\r\n"),
], ids=["in-target", "in-header"])
def test_nul_byte_is_400(node, data):
    assert exchange(node, data).status == 400


def test_bare_lf_is_served_or_refused(node):
    r = exchange(node, b"GET /health HTTP/1.1\nHost: localhost\n\n")
    assert r.status in (200, 400)


@pytest.mark.parametrize("extra", [
    b"X-Big: " + b"a" * 9000 + b"\r\n",
    b"".join(b"X-Field-%d: v\r\n" % i for i in range(100)),
], ids=["head-over-8KiB", "too-many-fields"])
def test_large_head_is_431(node, extra):
    assert exchange(node, get("/health", extra=extra)).status == 431


def test_http2_version_is_505(node):
    assert exchange(node, get("/health", version="HTTP/2.0")).status == 505


def test_http10_gets_answer_then_close(node):
    stream = node.open_stream()
    stream.send(b"GET /health HTTP/1.0\r\n\r\n")
    r = stream.read_response()
    assert (r.status, r.body) == (200, b"ok\n")
    assert stream.wait_closed(timeout=2), "HTTP/1.0 without keep-alive must be closed"
    stream.close()


def test_connection_close_is_honoured(node):
    stream = node.open_stream()
    stream.send(get("/health", extra=b"Connection: close\r\n"))
    assert stream.read_response().status == 200
    assert stream.wait_closed(timeout=2)
    stream.close()


def test_keep_alive_serves_requests_on_one_connection(node):
    stream = node.open_stream()
    stream.send(get("/metrics"))
    first = stream.read_response()
    stream.send(get("/health"))
    second = stream.read_response()
    stream.send(get("/metrics"))
    third = stream.read_response()
    stream.close()
    assert first.status == 200 and third.status == 200
    assert (second.status, second.body) == (200, b"ok\n")
    # All three went over the connection opened once.
    assert node.metric("tegu_connections_total", HTTP_LISTENER, text=first.text) == \
        node.metric("tegu_connections_total", HTTP_LISTENER, text=third.text)


def test_pipelined_requests_answered_in_order(node):
    stream = node.open_stream()
    stream.send(get("/health") + get("/no-such-page") + get("/health"))
    answers = [stream.read_response() for _ in range(3)]
    stream.close()
    assert [r.status for r in answers] == [200, 404, 200]
    assert answers[0].body == b"ok\n" and answers[2].body == b"ok\n"

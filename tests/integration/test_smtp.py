"""The SMTP server against real clients: Python's smtplib and raw sockets
that send exact bytes. Every check looks at the replies and at what was (or
was not) committed to the queue tables queue_messages and queue_entries
(through a journal the tests install, see "the queue" below: local
delivery empties the live tables at once).

Most tests share one node per module (the `site` fixture, built from the
session-scoped pg_server and tegu_build, so the node starts once); the tests
that kill or reconfigure a node start their own with node_factory. Tests on
the shared node tell their messages apart by the queue id of the 250 reply
or by an envelope sender of their own.

The shared node here: a certificate (STARTTLS on smtp and submission,
SMTPS), messageSizeMb = 1, and fullAllowedIps = 127.0.0.2, so a client that
binds 127.0.0.2 is "full allowed" while 127.0.0.1 is not.

test_smtp_smuggling.py uses the helpers of this file for the DATA edge
cases (bare CR/LF, NUL, long lines, dot-stuffing, SMTP smuggling).
"""

import base64
import contextlib
import re
import shutil
import socket
import smtplib
import ssl
import subprocess
import time
import uuid

import psycopg2
import pytest

from conftest import NodeFactory, insecure_tls_context, run_query

DOMAIN = "example.test"
ALICE = "alice@example.test"
ALICE_PASSWORD = "alice-Secret-1"
BOB = "bob@example.test"
BOB_PASSWORD = "bob-Secret-2"
GROUP = "team@example.test"
ALIAS = "info@example.test"
REMOTE = "remote.test"  # not a local domain
SERVER_NAME = "mx.example.test"
FULL_ALLOWED_SOURCE = "127.0.0.2"
SIZE_MB = 1
MAX_SIZE = SIZE_MB * 1048576
TIMEOUT = 5

# Replies that carry no enhanced status code: the banner, the EHLO/HELO
# reply, 354 (go ahead with DATA) and 334 (SASL challenge).
NO_ENHANCED = (334, 354)
REPLY_LINE = re.compile(rb"(\d{3})([ -])(.*)")
ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")
QUEUED = re.compile(r"queued as (\d+)")


# ---------------------------------------------------------------- raw client

class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # text after "NNN-" / "NNN ", one per line

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        m = ENHANCED.match(self.lines[-1])
        return m.group(0).strip() if m else None

    @property
    def queue_id(self):
        m = QUEUED.search(self.lines[-1])
        assert m, f"no queue id in {self!r}"
        return int(m.group(1))

    def __repr__(self):
        return f"<Reply {self.code} {self.lines!r}>"


class Smtp:
    """One SMTP connection over a raw socket (optionally TLS): send exact
    bytes, read replies one by one. Every reply is checked for its form
    (CRLF endings, one code per reply) and, unless exempt, for an enhanced
    status code of the same class (RFC 2034)."""

    def __init__(self, port, *, source=None, tls=False, banner=True, timeout=TIMEOUT):
        self.timeout = timeout
        self.buf = b""
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self._wrap()
        self.banner = None
        if banner:
            self.banner = self.read_reply(enhanced=False)
            assert self.banner.code == 220, self.banner

    def _wrap(self):
        self.sock = insecure_tls_context().wrap_socket(self.sock, server_hostname="localhost")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # what the server said before closing can still be read

    def send_pieces(self, pieces, pause=0.005):
        """Sends each piece in its own write (TCP_NODELAY is on), so the
        server sees the input cut at those places."""
        for piece in pieces:
            self.send(piece)
            time.sleep(pause)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete reply in time; got so far {self.buf[:300]!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no complete reply in time; got so far {self.buf[:300]!r}") from None
        if not data:
            raise EOFError(f"connection closed; got so far {self.buf[:300]!r}")
        self.buf += data

    def read_reply(self, timeout=None, enhanced=True):
        deadline = time.monotonic() + (timeout or self.timeout)
        code, lines = None, []
        while True:
            while b"\n" not in self.buf:
                self._fill(deadline)
            i = self.buf.index(b"\n")
            raw, self.buf = self.buf[:i + 1], self.buf[i + 1:]
            assert raw.endswith(b"\r\n") and b"\r" not in raw[:-2], f"bad reply line {raw!r}"
            m = REPLY_LINE.fullmatch(raw[:-2])
            assert m, f"bad reply line {raw!r}"
            assert code is None or int(m.group(1)) == code, f"code changed in a reply: {raw!r}"
            code = int(m.group(1))
            lines.append(m.group(3).decode("utf-8", errors="replace"))
            if m.group(2) == b" ":
                break
        reply = Reply(code, lines)
        if enhanced and code not in NO_ENHANCED:
            for line in lines:
                e = ENHANCED.match(line)
                assert e, f"no enhanced status code in {reply!r}"
                assert int(e.group(1)) == code // 100, f"enhanced class differs: {reply!r}"
        return reply

    def cmd(self, line, enhanced=True):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.read_reply(enhanced=enhanced)

    def expect(self, line, code, enhanced=None):
        """Sends one command; asserts the reply code (and enhanced code)."""
        r = self.cmd(line)
        assert r.code == code, f"{line!r}: expected {code}, got {r!r}"
        if enhanced is not None:
            assert r.enhanced == enhanced, f"{line!r}: expected {enhanced}, got {r!r}"
        return r

    def expect_reply(self, code, enhanced=None, timeout=None):
        r = self.read_reply(timeout=timeout)
        assert r.code == code, f"expected {code}, got {r!r}"
        if enhanced is not None:
            assert r.enhanced == enhanced, f"expected {enhanced}, got {r!r}"
        return r

    def ehlo(self, name="client.test"):
        """EHLO; returns {KEYWORD: "params"} of the reply's lines 2..n."""
        r = self.cmd(f"EHLO {name}", enhanced=False)
        assert r.code == 250, r
        assert not ENHANCED.match(r.lines[0]), r
        keywords = {}
        for line in r.lines[1:]:
            word, _, params = line.partition(" ")
            keywords[word.upper()] = params
        return keywords

    def starttls(self):
        self.expect("STARTTLS", 220, "2.0.0")
        assert self.buf == b"", f"data after the STARTTLS reply: {self.buf!r}"
        self._wrap()

    def silent(self, wait=0.5):
        """Asserts that the server sends nothing within wait seconds."""
        assert self.buf == b"", f"unexpected data from the server: {self.buf!r}"
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return
        finally:
            self.sock.settimeout(self.timeout)
        raise AssertionError(f"unexpected data from the server: {data!r}")

    def closed(self, timeout=3):
        """True when the server closes within timeout (data first is kept)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, ssl.SSLError):
                return True
            if not data:
                return True
            self.buf += data
        return False

    def mail(self, sender, params=""):
        return self.expect(f"MAIL FROM:<{sender}>{params}", 250, "2.1.0")

    def rcpt(self, recipient, params=""):
        return self.expect(f"RCPT TO:<{recipient}>{params}", 250, "2.1.5")

    def data(self, payload, pieces=None):
        """DATA, then payload as is (it must carry its own end of data);
        returns the reply to the message."""
        r = self.cmd("DATA")
        assert r.code == 354, f"DATA: {r!r}"
        if pieces:
            self.send_pieces(pieces)
        else:
            self.send(payload)
        return self.read_reply(timeout=30)

    def send_message(self, sender, recipients, message, mail_params="", rcpt_params=""):
        """A whole transaction; message is sent dot-stuffed with its end
        mark. Returns the queue id of the 250 reply."""
        self.mail(sender, mail_params)
        for rcpt in recipients:
            self.rcpt(rcpt, rcpt_params)
        r = self.data(dot_stuff(message) + b".\r\n")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        return r.queue_id

    def quit(self):
        self.expect("QUIT", 221, "2.0.0")
        assert self.closed(), "no close after QUIT"
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def dot_stuff(message):
    """RFC 5321 4.5.2: a dot at the start of a line is doubled."""
    stuffed = re.sub(rb"(?m)^\.", b"..", message)
    assert stuffed.endswith(b"\r\n"), "a message must end with CRLF here"
    return stuffed


def make_message(subject="test", body="Hello.", sender="sender@remote.test", to=ALICE):
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@remote.test>\r\n\r\n{body}\r\n").encode()


def unique_sender(tag="s"):
    return f"{tag}-{uuid.uuid4().hex[:12]}@{REMOTE}"


# ---------------------------------------------------------------- the queue
#
# Local delivery empties the queue as soon as a message is committed, so
# the live tables cannot show what the SMTP server queued (and an empty
# queue would make "nothing was queued" pass for the wrong reason). The
# tests install a journal instead: triggers that copy every row committed
# into queue_messages and queue_entries into tables of the test's own.
# A row is in the journal exactly when the server's transaction committed.

JOURNAL_SQL = """
CREATE TABLE test_journal_messages (LIKE queue_messages);
CREATE TABLE test_journal_entries (LIKE queue_entries);
CREATE FUNCTION test_journal_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'queue_messages' THEN
        INSERT INTO test_journal_messages SELECT (NEW).*;
    ELSE
        INSERT INTO test_journal_entries SELECT (NEW).*;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER test_journal AFTER INSERT ON queue_messages
    FOR EACH ROW EXECUTE FUNCTION test_journal_copy();
CREATE TRIGGER test_journal AFTER INSERT ON queue_entries
    FOR EACH ROW EXECUTE FUNCTION test_journal_copy();
"""


def install_queue_journal(dsn):
    """After the node applied the migrations, before any mail."""
    run_query(dsn, JOURNAL_SQL)


MESSAGE_COLUMNS = ("id", "sender", "size", "body", "body_type", "smtputf8", "dsn_envid",
                   "dsn_ret", "client_address", "helo", "auth_user", "received_by",
                   "session_id")


def queued_message(dsn, message_id):
    """The queue_messages row the server committed, as a dict."""
    columns = ", ".join("b.content" if c == "body" else f"j.{c}" for c in MESSAGE_COLUMNS)
    rows = run_query(dsn, f"SELECT {columns} FROM test_journal_messages j"
                     " JOIN mail_blobs b ON b.hash = j.body_hash WHERE j.id = %s", (message_id,))
    assert len(rows) == 1, f"no queue_messages row {message_id} was committed"
    row = dict(zip(MESSAGE_COLUMNS, rows[0]))
    row["body"] = bytes(row["body"])
    return row


def queue_entries(dsn, message_id):
    """[(recipient, dsn_notify, dsn_orcpt)] committed for one message, in order."""
    return run_query(dsn, "SELECT recipient, dsn_notify, dsn_orcpt FROM test_journal_entries"
                     " WHERE message_id = %s ORDER BY id", (message_id,))


def entry_transports(dsn, message_id):
    return run_query(dsn, "SELECT recipient, transport FROM test_journal_entries"
                     " WHERE message_id = %s ORDER BY id", (message_id,))


def messages_from(dsn, sender):
    """Ids of the messages ever queued with this envelope sender."""
    return [r[0] for r in run_query(dsn, "SELECT id FROM test_journal_messages"
                                         " WHERE sender = %s ORDER BY id", (sender,))]


RECEIVED = re.compile(rb"Received: from [^\r\n]*(?:\r\n[ \t][^\r\n]*)*\r\n")


def split_received(body):
    """(our Received: header, the rest: the message as the client sent it)."""
    m = RECEIVED.match(body)
    assert m, f"the body does not start with our Received: header: {body[:200]!r}"
    return m.group(0), body[m.end():]


def assert_queued(dsn, message_id, message, recipients):
    """The row holds our Received: header and then exactly message; one
    entry per recipient. Returns the row."""
    row = queued_message(dsn, message_id)
    assert split_received(row["body"])[1] == message
    assert row["size"] == len(row["body"])
    assert [e[0] for e in queue_entries(dsn, message_id)] == recipients
    return row


# ---------------------------------------------------------------- nodes

def ok(result):
    assert result.returncode == 0, (f"teguctl {result.args[3:]}: exit {result.returncode}\n"
                                    f"{result.stdout}{result.stderr}")
    return result.stdout


def setup_directory(node):
    """example.test with alice and bob, a group and an alias."""
    ok(node.teguctl("domain", "add", DOMAIN))
    ok(node.teguctl("user", "add", ALICE, "--password-stdin", "--name", "Alice",
                    input=ALICE_PASSWORD + "\n"))
    ok(node.teguctl("user", "add", BOB, "--password-stdin", input=BOB_PASSWORD + "\n"))
    ok(node.teguctl("group", "add", GROUP))
    ok(node.teguctl("group", "member", "add", GROUP, ALICE))
    ok(node.teguctl("group", "member", "add", GROUP, BOB))
    ok(node.teguctl("alias", "add", ALIAS, ALICE))


def make_certificate(folder):
    """A self-signed certificate for localhost; returns (cert, key) paths."""
    cert, key = f"{folder}/cert.pem", f"{folder}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Site:
    """A running node with the test directory, its database and helpers."""

    def __init__(self, node, dsn):
        self.node = node
        self.dsn = dsn
        self.failed = False

    def connect(self, listener="smtp", **kwargs):
        return Smtp(self.node.ports[listener], **kwargs)

    @contextlib.contextmanager
    def session(self, listener="smtp", ehlo=True, **kwargs):
        """A connection (greeted with EHLO unless ehlo=False), closed after."""
        c = self.connect(listener, **kwargs)
        try:
            if ehlo:
                c.ehlo()
            yield c
        finally:
            c.close()


@contextlib.contextmanager
def running_site(pg_server, tegu_build, extra_settings, listen=("http",)):
    """A database and one node on it with the test directory, for a whole
    module. Teardown as node_factory's: SIGTERM, then the node log must
    hold no sanitizer report; folders are kept when a test failed."""
    dsn = pg_server.create_db()
    factory = NodeFactory(tegu_build)
    site = None
    try:
        node = factory(dsn, name="smtp1", extra_settings=extra_settings, listen=listen)
        node.wait_healthy()
        install_queue_journal(dsn)
        setup_directory(node)
        site = Site(node, dsn)
        yield site
    finally:
        reports = []
        for node in factory.nodes:
            node.shutdown_for_teardown()
            report = node.sanitizer_report()
            if report:
                reports.append(f"--- node {node.name} ({node.log_path}):\n{report}")
        if not reports and site is not None and not site.failed:
            for node in factory.nodes:
                shutil.rmtree(node.workdir, ignore_errors=True)
        dbname = dsn.split("dbname=")[1].split()[0]
        try:
            pg_server.drop_db(dbname)
        except psycopg2.Error:
            pass
        if reports:
            pytest.fail("sanitizer report in node log:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def site(pg_server, tegu_build, certificate):
    cert, key = certificate
    settings = {"sslCertPath": cert, "sslKeyPath": key, "messageSizeMb": SIZE_MB,
                "fullAllowedIps": FULL_ALLOWED_SOURCE, "serverName": SERVER_NAME}
    with running_site(pg_server, tegu_build, settings, listen=("http", "https")) as s:
        yield s


@pytest.fixture(autouse=True)
def _site_log_on_failure(request):
    """When a test on the shared node fails, print the node's log tail (it
    shows under "Captured stdout teardown") and keep its folder."""
    yield
    if getattr(request.node, "tegu_failed", False) and "site" in request.fixturenames:
        s = request.getfixturevalue("site")
        s.failed = True
        print(f"--- node {s.node.name} log, last 60 lines ({s.node.log_path}):")
        print(s.node.log_tail(60))


def tls_and_auth_keywords(keywords):
    return "STARTTLS" in keywords, keywords.get("AUTH")


# ---------------------------------------------------------------- greeting, EHLO

BASE_KEYWORDS = {"PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                 "CHUNKING", "DSN", "HELP"}


def test_banner_ehlo_and_small_commands(site):
    c = site.connect("smtp")
    try:
        assert c.banner.lines == [f"{SERVER_NAME} ESMTP Tegu"]
        keywords = c.ehlo("client.test")
        assert set(keywords) == BASE_KEYWORDS | {"STARTTLS"}, keywords
        assert keywords["SIZE"] == str(MAX_SIZE)
        # HELO answers without keywords and without an enhanced code.
        r = c.cmd("HELO client.test", enhanced=False)
        assert r.code == 250 and r.lines == [SERVER_NAME], r
        c.expect("NOOP", 250, "2.0.0")
        c.expect("NOOP anything", 250, "2.0.0")
        c.expect("RSET", 250, "2.0.0")
        c.expect("HELP", 214, "2.0.0")
        c.expect(f"VRFY {ALICE}", 252, "2.5.0")
        c.expect(f"EXPN {GROUP}", 502, "5.5.1")
        c.expect("EHLO", 501, "5.5.4")
        c.expect("RSET now", 501, "5.5.4")
        c.quit()
    finally:
        c.close()


def test_submission_and_smtps_keywords(site):
    with site.session("submission", ehlo=False) as c:
        assert tls_and_auth_keywords(c.ehlo()) == (True, None)
        c.starttls()
        keywords = c.ehlo()
        assert set(keywords) == BASE_KEYWORDS | {"AUTH"}, keywords
        assert keywords["AUTH"].split() == ["PLAIN", "LOGIN"]
    with site.session("smtps", ehlo=False, tls=True) as c:
        keywords = c.ehlo()
        assert set(keywords) == BASE_KEYWORDS | {"AUTH"}, keywords
        assert keywords["AUTH"].split() == ["PLAIN", "LOGIN"]
        c.expect("STARTTLS", 503, "5.5.1")


def test_client_talking_before_the_banner_is_refused(site):
    c = site.connect("smtp", banner=False)
    try:
        c.send(b"EHLO early.test\r\n")
        c.expect_reply(554, "5.5.0")
        assert c.closed()
    finally:
        c.close()
    # Submission has no greeting pause.
    c = site.connect("submission", banner=False)
    try:
        c.send(b"EHLO early.test\r\n")
        r = c.read_reply(enhanced=False)
        assert r.code == 220, r
        r = c.read_reply(enhanced=False)
        assert r.code == 250, r
    finally:
        c.close()


# ---------------------------------------------------------------- MX

def test_mx_queues_local_mail_with_dsn_parameters(site):
    sender = unique_sender()
    message = make_message("dsn", "Body line one.\r\nBody line two.")
    with site.session("smtp") as c:
        message_id = c.send_message(
            sender, [ALICE, BOB], message, mail_params=" RET=HDRS ENVID=abc",
            rcpt_params=" NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y")
        # A second transaction in the same session, without DSN.
        second = c.send_message(sender, [ALICE], message)
        c.quit()
    row = assert_queued(site.dsn, message_id, message, [ALICE, BOB])
    assert row["sender"] == sender
    assert row["dsn_envid"] == "abc"
    assert row["dsn_ret"] == "hdrs"
    assert row["body_type"] == "7bit"
    assert row["smtputf8"] is False
    assert row["client_address"] == "127.0.0.1"
    assert row["helo"] == "client.test"
    assert row["auth_user"] is None
    assert row["received_by"] == site.node.name
    assert row["session_id"]
    received, _ = split_received(row["body"])
    assert received.startswith(b"Received: from client.test ([127.0.0.1])\r\n"), received
    assert b" with ESMTP id " in received and f"by {SERVER_NAME}".encode() in received
    assert b"for <" not in received  # two recipients: no "for" clause
    assert queue_entries(site.dsn, message_id) == [
        (ALICE, "SUCCESS,FAILURE", "rfc822;x@y"),
        (BOB, "SUCCESS,FAILURE", "rfc822;x@y"),
    ]
    assert entry_transports(site.dsn, message_id) == [(ALICE, "local"), (BOB, "local")]

    row2 = assert_queued(site.dsn, second, message, [ALICE])
    assert (row2["dsn_envid"], row2["dsn_ret"]) == (None, None)
    assert row2["session_id"] == row["session_id"]
    assert queue_entries(site.dsn, second) == [(ALICE, None, None)]
    received2, _ = split_received(row2["body"])
    assert f"for <{ALICE}>".encode() in received2
    assert messages_from(site.dsn, sender) == [message_id, second]


def test_smtplib_sendmail_to_a_local_user(site):
    sender = unique_sender("lib")
    message = make_message("via smtplib", ".leading dot\r\n..two dots")
    with smtplib.SMTP("127.0.0.1", site.node.ports["smtp"], local_hostname="lib.test",
                      timeout=TIMEOUT) as s:
        refused = s.sendmail(sender, [ALICE], message)
        assert refused == {}
    ids = messages_from(site.dsn, sender)
    assert len(ids) == 1
    row = assert_queued(site.dsn, ids[0], message, [ALICE])
    assert row["helo"] == "lib.test"


def test_mx_recipient_checks_groups_and_aliases(site):
    sender = unique_sender()
    with site.session("smtp") as c:
        c.mail(sender)
        c.expect(f"RCPT TO:<nobody@{DOMAIN}>", 550, "5.1.1")
        c.expect(f"RCPT TO:<someone@{REMOTE}>", 554, "5.7.1")
        # Only refused recipients so far: DATA has nobody to deliver to.
        r = c.cmd("DATA")
        assert r.code in (503, 554) and r.enhanced in ("5.5.1", "5.5.0"), r
        # Groups and aliases are accepted as such (expanded at delivery).
        c.rcpt(GROUP)
        c.rcpt(ALIAS)
        c.rcpt(ALICE)
        c.rcpt(ALICE)  # the same mailbox twice: one entry
        message = make_message("to group and alias")
        r = c.data(message + b".\r\n")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        assert_queued(site.dsn, r.queue_id, message, [GROUP, ALIAS, ALICE])
        c.quit()
    assert len(messages_from(site.dsn, sender)) == 1


def test_rcpt_postmaster_without_domain(site):
    """RFC 5321 4.1.1.3 and 4.5.1: "RCPT TO:<Postmaster>" (no domain) must
    be accepted; the parser lets it through as "postmaster", and the
    directory takes it as every local domain's postmaster."""
    with site.session("smtp") as c:
        c.mail(unique_sender("pm"))
        c.expect("RCPT TO:<Postmaster>", 250, "2.1.5")
        c.quit()


def test_full_allowed_ip_may_relay_but_not_with_empty_sender(site):
    sender = unique_sender("dev")
    remote = f"printer-owner@{REMOTE}"
    # From 127.0.0.1 (not listed): no relay.
    with site.session("smtp") as c:
        c.mail(sender)
        c.expect(f"RCPT TO:<{remote}>", 554, "5.7.1")
    # From 127.0.0.2 (fullAllowedIps): relay.
    with site.session("smtp", source=FULL_ALLOWED_SOURCE) as c:
        message = make_message("scan", sender=sender, to=remote)
        message_id = c.send_message(sender, [remote], message)
        row = assert_queued(site.dsn, message_id, message, [remote])
        assert row["client_address"] == FULL_ALLOWED_SOURCE
        assert entry_transports(site.dsn, message_id) == [(remote, "remote")]
        # The empty sender relays only with allowEmptySenderForFullAllowed.
        c.mail("")
        c.expect(f"RCPT TO:<{remote}>", 554, "5.7.1")
        c.rcpt(ALICE)  # local mail with <> (bounces) is fine
        message = make_message("bounce", sender="MAILER-DAEMON@remote.test")
        r = c.data(message + b".\r\n")
        assert r.code == 250, r
        row = assert_queued(site.dsn, r.queue_id, message, [ALICE])
        assert row["sender"] == ""
        c.quit()


def test_eight_bit_and_smtputf8(site):
    utf8_sender = f"jörg-{uuid.uuid4().hex[:8]}@{REMOTE}"
    body = "Grüße aus Köln".encode()
    message = b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + b"\r\n"
    with site.session("smtp") as c:
        c.expect(f"MAIL FROM:<{utf8_sender}>".encode(), 553, "5.6.7")
        c.expect(f"MAIL FROM:<{utf8_sender}> SMTPUTF8".encode(), 250, "2.1.0")
        c.rcpt(ALICE)
        r = c.data(message + b".\r\n")
        assert r.code == 250, r
        row = assert_queued(site.dsn, r.queue_id, message, [ALICE])
        assert row["sender"] == utf8_sender
        assert row["smtputf8"] is True
        assert row["body_type"] == "8bitmime"
        assert b" with UTF8SMTP id " in split_received(row["body"])[0]

        sender = unique_sender("8bit")
        message_id = c.send_message(sender, [ALICE], message, mail_params=" BODY=8BITMIME")
        row = assert_queued(site.dsn, message_id, message, [ALICE])
        assert (row["body_type"], row["smtputf8"]) == ("8bitmime", False)
        c.expect(f"MAIL FROM:<{sender}> BODY=BINARYMIME", 504, "5.5.4")
        c.expect(f"MAIL FROM:<{sender}> FOO=BAR", 555, "5.5.4")
        c.expect(f"MAIL FROM:<{sender}> RET=ALL", 555, "5.5.4")
        c.expect("MAIL FROM:<not an address>", 501, "5.1.7")
        c.mail(sender)
        c.expect("RCPT TO:<alice@>", 501, "5.1.3")
        c.expect(f"RCPT TO:<{ALICE}> NOTIFY=NEVER,SUCCESS", 555, "5.5.4")
        c.quit()


# ---------------------------------------------------------------- submission, SMTPS

def plain(login, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{login}\0{password}".encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def test_submission_needs_tls_then_auth(site):
    remote = f"friend@{REMOTE}"
    with site.session("submission") as c:
        c.expect(f"MAIL FROM:<{ALICE}>", 530, "5.7.0")
        c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD)}", 538, "5.7.11")
        c.expect("AUTH LOGIN", 538, "5.7.11")
        c.starttls()
        # RFC 3207 4.2: the EHLO before TLS is forgotten.
        c.expect(f"MAIL FROM:<{ALICE}>", 503, "5.5.1")
        keywords = c.ehlo()
        assert tls_and_auth_keywords(keywords) == (False, "PLAIN LOGIN")
        c.expect("STARTTLS", 503, "5.5.1")
        c.expect(f"MAIL FROM:<{ALICE}>", 530, "5.7.0")
        c.expect(f"AUTH PLAIN {plain(ALICE, 'wrong-password')}", 535, "5.7.8")
        c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD, authzid=BOB)}", 535, "5.7.8")
        c.expect("AUTH CRAM-MD5", 504, "5.5.4")
        c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD)}", 235, "2.7.0")
        c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD)}", 503, "5.5.1")
        assert "AUTH" not in c.ehlo()  # EHLO again: still authenticated
        c.expect(f"MAIL FROM:<{BOB}>", 553, "5.7.1")
        c.expect(f"MAIL FROM:<someone@{REMOTE}>", 553, "5.7.1")
        message = make_message("submitted", sender=ALICE, to=remote)
        message_id = c.send_message(ALICE, [remote, BOB], message)
        c.quit()
    row = assert_queued(site.dsn, message_id, message, [remote, BOB])
    assert entry_transports(site.dsn, message_id) == [(remote, "remote"), (BOB, "local")]
    assert row["auth_user"] == ALICE
    assert row["sender"] == ALICE
    assert b" with ESMTPSA id " in split_received(row["body"])[0]


def test_submission_auth_login_and_plain_challenge(site):
    with site.session("submission") as c:
        c.starttls()
        c.ehlo()
        r = c.cmd("AUTH LOGIN")
        assert (r.code, r.lines) == (334, ["VXNlcm5hbWU6"]), r
        r = c.cmd(b64(ALICE))
        assert (r.code, r.lines) == (334, ["UGFzc3dvcmQ6"]), r
        c.expect(b64("not-the-password"), 535, "5.7.8")
        # Cancelled exchange.
        r = c.cmd("AUTH LOGIN")
        assert r.code == 334, r
        c.expect("*", 501)
        # PLAIN with an empty initial response, then the credentials.
        r = c.cmd("AUTH PLAIN")
        assert (r.code, r.lines) == (334, [""]), r
        c.expect("!!!notbase64", 501)
        r = c.cmd(f"AUTH LOGIN {b64(ALICE)}")
        assert (r.code, r.lines) == (334, ["UGFzc3dvcmQ6"]), r
        c.expect(b64(ALICE_PASSWORD), 235, "2.7.0")
        c.mail(ALICE)
        c.rcpt(f"x@{REMOTE}")
        c.quit()


def test_smtplib_starttls_login_plain_and_login(site):
    port = site.node.ports["submission"]
    ids = []
    for mechanism in ("PLAIN", "LOGIN"):
        remote = f"{mechanism.lower()}-{uuid.uuid4().hex[:8]}@{REMOTE}"
        message = make_message(f"smtplib {mechanism}", sender=BOB, to=remote)
        with smtplib.SMTP("127.0.0.1", port, local_hostname="laptop.test",
                          timeout=TIMEOUT) as s:
            s.starttls(context=insecure_tls_context())
            s.ehlo()
            s.user, s.password = BOB, BOB_PASSWORD
            code, _ = s.auth(mechanism, getattr(s, f"auth_{mechanism.lower()}"))
            assert code == 235
            code, resp = s.mail(BOB)
            assert code == 250
            code, resp = s.rcpt(remote)
            assert code == 250
            code, resp = s.data(message)
            assert code == 250, resp
            ids.append(int(QUEUED.search(resp.decode()).group(1)))
        row = assert_queued(site.dsn, ids[-1], message, [remote])
        assert row["auth_user"] == BOB


def test_smtps_implicit_tls_with_auth(site):
    port = site.node.ports["smtps"]
    remote = f"far-{uuid.uuid4().hex[:8]}@{REMOTE}"
    message = make_message("over smtps", sender=ALICE, to=remote)
    with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="phone.test",
                          context=insecure_tls_context(), timeout=TIMEOUT) as s:
        s.login(ALICE, ALICE_PASSWORD)
        assert s.sendmail(ALICE, [remote], message) == {}
    with site.session("smtps", tls=True) as c:
        c.expect(f"MAIL FROM:<{ALICE}>", 530, "5.7.0")
        c.expect(f"AUTH PLAIN {plain(BOB, ALICE_PASSWORD)}", 535, "5.7.8")
        c.expect(f"AUTH PLAIN {plain(BOB, BOB_PASSWORD)}", 235, "2.7.0")
        c.expect(f"MAIL FROM:<{ALICE}>", 553, "5.7.1")
        c.quit()
    rows = run_query(site.dsn, "SELECT message_id FROM test_journal_entries"
                     " WHERE recipient = %s", (remote,))
    assert len(rows) == 1
    row = assert_queued(site.dsn, rows[0][0], message, [remote])
    assert (row["auth_user"], row["helo"]) == (ALICE, "phone.test")
    assert b" with ESMTPSA id " in split_received(row["body"])[0]


def test_mx_auth_needs_tls_too(site):
    with site.session("smtp") as c:
        c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD)}", 538, "5.7.11")
        c.starttls()
        assert tls_and_auth_keywords(c.ehlo()) == (False, "PLAIN LOGIN")
        c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD)}", 235, "2.7.0")
        c.mail(ALICE)
        c.rcpt(f"relay-ok@{REMOTE}")  # authenticated: relay allowed on port 25 too
        c.quit()


@pytest.mark.parametrize("listener", ["smtp", "submission"])
def test_starttls_command_injection_is_not_answered(site, listener):
    """CVE-2011-0411 class: commands sent in the same packet as STARTTLS
    were plaintext and must be thrown away, not run after the handshake."""
    with site.session(listener) as c:
        c.send(b"STARTTLS\r\nNOOP\r\nMAIL FROM:<injected@remote.test>\r\n")
        r = c.read_reply()
        assert (r.code, r.enhanced) == (220, "2.0.0"), r
        assert c.buf == b"", f"plaintext after 220: {c.buf!r}"
        c._wrap()
        c.silent(0.7)  # no 250 for the injected NOOP or MAIL
        keywords = c.ehlo()  # the first reply over TLS is the EHLO's
        assert "STARTTLS" not in keywords
        # The injected MAIL was not run: no transaction is open.
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")
        c.quit()


# ---------------------------------------------------------------- order and syntax

def test_command_order(site):
    sender = unique_sender()
    # Each session stays under the error limit (every 503 counts).
    with site.session("smtp", ehlo=False) as c:
        c.expect(f"MAIL FROM:<{sender}>", 503, "5.5.1")
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")
        c.expect("DATA", 503, "5.5.1")
        c.ehlo()
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")
        c.expect("DATA", 503, "5.5.1")
        c.mail(sender)
        c.expect(f"MAIL FROM:<{sender}>", 503, "5.5.1")
        r = c.cmd("DATA")  # MAIL but no RCPT
        assert r.code in (503, 554) and r.enhanced.startswith("5.5."), r
        c.quit()
    with site.session("smtp") as c:
        c.mail(sender)
        c.expect("STARTTLS", 503, "5.5.1")  # not inside a transaction
        c.expect("AUTH PLAIN AGFAYg==", 503, "5.5.1")
        c.expect("RSET", 250, "2.0.0")
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")
        # EHLO resets the transaction too.
        c.mail(sender)
        c.rcpt(ALICE)
        c.ehlo()
        c.expect("DATA", 503, "5.5.1")
        c.quit()
    assert messages_from(site.dsn, sender) == []


def test_command_line_length_limit(site):
    with site.session("smtp") as c:
        # 512 octets with CRLF is the limit (RFC 5321 4.5.3.1.4).
        c.expect("NOOP " + "x" * (512 - 2 - 5), 250, "2.0.0")
        c.expect("NOOP " + "x" * (512 - 2 - 5 + 1), 500, "5.5.2")
        c.expect("NOOP", 250, "2.0.0")  # the session goes on, the rest was dropped
        # A long line sent in pieces gets one reply, and nothing of it runs.
        c.send_pieces([b"MAIL FROM:<" + b"a" * 3000, b"@remote.test>\r\n", b"NOOP\r\n"])
        c.expect_reply(500, "5.5.2")
        c.expect_reply(250, "2.0.0")
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")  # that MAIL did not happen
        c.quit()


def test_unknown_and_malformed_commands(site):
    with site.session("smtp") as c:
        r = c.cmd("FOO bar")
        assert r.code in (500, 502) and r.enhanced in ("5.5.1", "5.5.2"), r
        r = c.cmd("")
        assert r.code == 500 and r.enhanced == "5.5.2", r
        c.expect(b"NOOP\rRSET", 500, "5.5.2")
        c.expect(b"NO\x00OP", 500, "5.5.2")
        c.expect("MAIL TO:<x@y>", 501, "5.5.4")
        c.expect("noop", 250, "2.0.0")  # verbs are case-insensitive
        c.quit()


def test_repeated_errors_end_the_session(site):
    with site.session("smtp") as c:
        errors, reply = 0, None
        for i in range(11):
            c.send(f"BOGUS{i}\r\n".encode())
            reply = c.read_reply()
            if reply.code != 421:
                assert reply.code >= 500, reply
                errors += 1
                # The 421 comes in the same write as the last error reply.
                if c.buf:
                    reply = c.read_reply()
            if reply.code == 421:
                break
        assert (reply.code, reply.enhanced) == (421, "4.7.0"), reply
        # A few typos are forgiven; 11 bad commands are too many.
        assert 5 <= errors <= 11, errors
        assert c.closed(), "the session did not end after 421"


def test_too_many_recipients(site):
    sender = unique_sender("many")
    recipients = [f"r{i:03d}@{REMOTE}" for i in range(101)]
    with site.session("smtp", source=FULL_ALLOWED_SOURCE) as c:
        c.send(f"MAIL FROM:<{sender}>\r\n".encode()
               + b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in recipients))
        c.expect_reply(250, "2.1.0")
        for _ in range(100):
            c.expect_reply(250, "2.1.5")
        c.expect_reply(452, "4.5.3")
        message = make_message("many")
        r = c.data(message + b".\r\n")
        assert r.code == 250, r
        assert_queued(site.dsn, r.queue_id, message, recipients[:100])
        c.quit()


def test_size_limits(site):
    sender = unique_sender("size")
    big = unique_sender("too-big")  # the sender of every refused message
    with site.session("smtp") as c:
        c.expect(f"MAIL FROM:<{sender}> SIZE={MAX_SIZE + 1}", 552, "5.3.4")
        c.expect(f"MAIL FROM:<{sender}> SIZE=99999999999999999999999", 555, "5.5.4")
        c.mail(sender, f" SIZE={MAX_SIZE}")
        c.rcpt(ALICE)
        # Exactly the limit (the message as sent, without our Received:).
        head = b"Subject: exactly the limit\r\n\r\n"
        line = b"x" * 98 + b"\r\n"
        body = head + line * ((MAX_SIZE - len(head)) // len(line))
        exact = body + b"y" * (MAX_SIZE - len(body) - 2) + b"\r\n"
        assert len(exact) == MAX_SIZE
        r = c.data(exact + b".\r\n")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        assert_queued(site.dsn, r.queue_id, exact, [ALICE])
        # One octet more: refused after the end of data, nothing queued.
        too_big = exact[:-2] + b"y\r\n"
        assert len(too_big) == MAX_SIZE + 1
        c.mail(big)
        c.rcpt(ALICE)
        r = c.data(too_big + b".\r\n")
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        # Much bigger than the limit, still one reply, session goes on.
        c.mail(big)
        c.rcpt(ALICE)
        r = c.data(line * (3 * MAX_SIZE // len(line)) + b".\r\n")
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        c.expect("NOOP", 250, "2.0.0")
        # BDAT over the limit: the chunk is read, then refused.
        c.mail(big)
        c.rcpt(ALICE)
        c.send(f"BDAT {MAX_SIZE + 1} LAST\r\n".encode() + b"z" * (MAX_SIZE + 1))
        c.expect_reply(552, "5.3.4", timeout=30)
        c.mail(big)
        c.rcpt(ALICE)
        c.send(f"BDAT {MAX_SIZE - 10}\r\n".encode() + b"z" * (MAX_SIZE - 10))
        c.expect_reply(250, "2.0.0", timeout=30)
        c.send(b"BDAT 11\r\n" + b"z" * 11)
        c.expect_reply(552, "5.3.4")
        c.send(b"BDAT 0 LAST\r\n")
        c.expect_reply(552, "5.3.4")
        c.expect("NOOP", 250, "2.0.0")
        c.quit()
    assert len(messages_from(site.dsn, sender)) == 1
    assert messages_from(site.dsn, big) == []


# ---------------------------------------------------------------- BDAT

def test_bdat_chunks(site):
    sender = unique_sender("bdat")
    chunk1 = b"Subject: chunked\r\n\r\nline one\r\n.\r\n..dots stay as sent\r\n"
    chunk2 = b"BDAT 5\r\nQUIT\r\n"  # commands inside a chunk are only data
    with site.session("smtp") as c:
        c.mail(sender)
        c.rcpt(ALICE)
        c.send(f"BDAT {len(chunk1)}\r\n".encode() + chunk1)
        c.expect_reply(250, "2.0.0")
        c.send(f"BDAT {len(chunk2)}\r\n".encode() + chunk2)
        c.expect_reply(250, "2.0.0")
        c.expect("EHLO client.test", 503, "5.5.1")  # finish BDAT first
        c.expect("NOOP", 250, "2.0.0")
        r = c.cmd("BDAT 0 LAST")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        assert_queued(site.dsn, r.queue_id, chunk1 + chunk2, [ALICE])

        # All pipelined in one write, the last chunk with LAST.
        c.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{BOB}>\r\n".encode()
               + f"BDAT {len(chunk1)}\r\n".encode() + chunk1
               + f"BDAT {len(chunk2)} LAST\r\n".encode() + chunk2 + b"NOOP\r\n")
        c.expect_reply(250, "2.1.0")
        c.expect_reply(250, "2.1.5")
        c.expect_reply(250, "2.0.0")
        r = c.expect_reply(250, "2.0.0")
        assert_queued(site.dsn, r.queue_id, chunk1 + chunk2, [BOB])
        c.expect_reply(250, "2.0.0")  # the NOOP

        # BDAT without a recipient: the chunk is consumed, then refused.
        c.mail(sender)
        c.expect(f"RCPT TO:<nobody@{DOMAIN}>", 550, "5.1.1")
        c.send(b"BDAT 6\r\nQUIT\r\n")
        c.expect_reply(554, "5.5.1")
        c.expect("NOOP", 250, "2.0.0")
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")  # the transaction ended

        # DATA after BDAT is a bad sequence; BDAT goes on after it.
        c.mail(sender)
        c.rcpt(ALICE)
        c.send(b"BDAT 7\r\nhello\r\n")
        c.expect_reply(250, "2.0.0")
        c.expect("DATA", 503, "5.5.1")
        c.expect(f"MAIL FROM:<{sender}>", 503, "5.5.1")
        r = c.cmd("BDAT 0 LAST")
        assert r.code == 250, r
        assert_queued(site.dsn, r.queue_id, b"hello\r\n", [ALICE])

        # RSET drops a BDAT transaction.
        c.mail(sender)
        c.rcpt(ALICE)
        c.send(b"BDAT 4\r\nlost")
        c.expect_reply(250, "2.0.0")
        c.expect("RSET", 250, "2.0.0")
        c.expect("BDAT 0 LAST", 503, "5.5.1")  # no transaction any more
        c.expect("NOOP", 250, "2.0.0")
        c.quit()
    assert len(messages_from(site.dsn, sender)) == 3


@pytest.mark.parametrize("before", ["nothing", "EHLO", "MAIL-refused"])
def test_refused_bdat_chunk_is_not_read_as_commands(site, before):
    """RFC 3030 2: the chunk follows BDAT at once, so a refused BDAT must
    still swallow its chunk-size octets (smtp_cmd_bdat says so too);
    otherwise message content runs as SMTP commands. Here the chunk is
    "QUIT": if it were run, the session would end with 221."""
    with site.session("submission", ehlo=False) as c:
        if before in ("EHLO", "MAIL-refused"):
            c.ehlo()
        if before == "MAIL-refused":
            c.expect(f"MAIL FROM:<{ALICE}>", 530, "5.7.0")  # not authenticated
        c.send(b"BDAT 6 LAST\r\nQUIT\r\n")
        r = c.read_reply()
        assert r.code >= 500, r
        # The next reply must be the NOOP's, not the 221 of a QUIT.
        c.expect("NOOP", 250, "2.0.0")


# ---------------------------------------------------------------- own nodes

def mx_connect(node, **kwargs):
    return Smtp(node.ports["smtp"], **kwargs)


def test_kill_during_data_then_restart(db, node_factory):
    settings = {"serverName": SERVER_NAME}
    node = node_factory(db, name="victim", extra_settings=settings).wait_healthy()
    install_queue_journal(db)
    setup_directory(node)
    sender = unique_sender("durable")
    unfinished = unique_sender("unfinished")
    message = make_message("acknowledged before the crash")

    c = mx_connect(node)
    try:
        c.ehlo()
        acknowledged = c.send_message(sender, [ALICE], message)
        c.mail(unfinished)
        c.rcpt(ALICE)
        c.rcpt(BOB)
        r = c.cmd("DATA")
        assert r.code == 354, r
        c.send(b"Subject: never finished\r\n\r\n" + b"part of the body\r\n" * 200)
        time.sleep(0.3)  # let the node read it
        node.kill()  # SIGKILL in the middle of DATA
        assert c.closed(), "connection still open after SIGKILL"
    finally:
        c.close()

    # Only the acknowledged message is there, whole.
    assert messages_from(db, unfinished) == []
    assert messages_from(db, sender) == [acknowledged]
    assert_queued(db, acknowledged, message, [ALICE])
    assert run_query(db, "SELECT count(*) FROM test_journal_messages")[0][0] == 1
    assert run_query(db, "SELECT count(*) FROM test_journal_entries")[0][0] == 1

    node2 = node_factory(db, name="successor", extra_settings=settings).wait_healthy()
    c = mx_connect(node2)
    try:
        c.ehlo()
        later = c.send_message(sender, [ALICE, BOB], message)
        c.quit()
    finally:
        c.close()
    assert messages_from(db, sender) == [acknowledged, later]
    row = assert_queued(db, later, message, [ALICE, BOB])
    assert row["received_by"] == "successor"


def test_connection_limit_no_tls_and_empty_sender(db, node_factory):
    """A node without a certificate, smtpMaxConnections = 2, 127.0.0.1 full
    allowed with allowEmptySenderForFullAllowed."""
    node = node_factory(db, extra_settings={
        "smtpMaxConnections": 2, "fullAllowedIps": "127.0.0.1",
        "allowEmptySenderForFullAllowed": "true",
        # no certificate: the defaults point at files that do not exist
        "sslCertPath": "/nonexistent/cert.pem", "sslKeyPath": "/nonexistent/key.pem",
    }).wait_healthy()
    install_queue_journal(db)
    setup_directory(node)
    assert "smtps" not in node.ports

    # No certificate: neither STARTTLS nor AUTH, on either listener.
    for listener in ("smtp", "submission"):
        c = Smtp(node.ports[listener])
        try:
            keywords = c.ehlo()
            assert set(keywords) == BASE_KEYWORDS, keywords
            c.expect("STARTTLS", 454, "4.7.0")
            c.expect(f"AUTH PLAIN {plain(ALICE, ALICE_PASSWORD)}", 538, "5.7.11")
            c.quit()
        finally:
            c.close()

    # Full allowed with an empty sender: relay allowed.
    remote = f"owner@{REMOTE}"
    c = mx_connect(node)
    try:
        c.ehlo()
        message = make_message("from a scanner", sender="scanner@office.test", to=remote)
        message_id = c.send_message("", [remote], message)
        row = assert_queued(db, message_id, message, [remote])
        assert row["sender"] == ""
        c.quit()
    finally:
        c.close()

    # Two sessions open (the limit counts every SMTP listener together)...
    first = Smtp(node.ports["submission"])
    second = Smtp(node.ports["smtp"])
    try:
        # ... a third is turned away at once.
        third = Smtp(node.ports["submission"], banner=False)
        try:
            third.expect_reply(421, "4.7.0")
            assert third.closed()
        finally:
            third.close()
        second.ehlo()  # the open ones work on
        first.quit()
        # A slot is free again once the first session has ended.
        deadline = time.monotonic() + 5
        while True:
            c = Smtp(node.ports["submission"], banner=False)
            try:
                r = c.read_reply(enhanced=False)
                if r.code == 220:
                    c.quit()
                    break
                assert r.code == 421 and time.monotonic() < deadline, r
            finally:
                c.close()
            time.sleep(0.1)
    finally:
        first.close()
        second.close()


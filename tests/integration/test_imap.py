"""The IMAP server driven by Python's imaplib: getting in (STARTTLS,
LOGIN, AUTHENTICATE PLAIN, master users), mailboxes with Cyrillic names in
modified UTF-7 and UTF-8, SELECT, FETCH from the structure cached at
delivery, STORE, SEARCH in PostgreSQL, EXPUNGE, IDLE across nodes, and the
ugly input."""

import base64
import imaplib
import re
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

DOMAIN = "imap.test"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
ADMIN = f"admin@{DOMAIN}"
PASSWORDS = {ALICE: "alice-secret", BOB: "bob-secret", ADMIN: "admin-secret"}

MULTIPART = (
    "From: Carol <carol@remote.test>\r\n"
    "To: Alice <alice@imap.test>\r\n"
    "Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?= report\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0300\r\n"
    "Message-ID: <report-1@remote.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Quarterly numbers attached. Отчёт за квартал.\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAwQ=\r\n"
    "--b1--\r\n"
)


def make_certificate(folder):
    cert, key = f"{folder}/cert.pem", f"{folder}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def setup_directory(node):
    assert node.teguctl("domain", "add", DOMAIN).returncode == 0
    for user, password in PASSWORDS.items():
        result = node.teguctl("user", "add", user, "--password-stdin", input=password + "\n")
        assert result.returncode == 0, result.stderr
    assert node.teguctl("group", "add", "masters", "--master").returncode == 0
    assert node.teguctl("group", "member", "add", "masters", ADMIN).returncode == 0


def deliver(node, to, message):
    with smtplib.SMTP("127.0.0.1", node.ports["smtp"], timeout=10) as client:
        assert client.sendmail("carol@remote.test", [to], message.encode()) == {}


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def inbox_count(query, dsn, user):
    (count,), = query(dsn, "SELECT count(*) FROM messages m JOIN mailboxes b"
                           " ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id"
                           " WHERE u.address = %s AND b.name = 'INBOX'", (user,))
    return count


def tls_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def login(node, user=ALICE, password=None):
    client = imaplib.IMAP4("127.0.0.1", node.ports["imap"], timeout=10)
    client.starttls(tls_context())
    client.login(user, password or PASSWORDS[user])
    return client


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def site(node_factory, db, query, certificate):
    """A node with a certificate (STARTTLS and IMAPS), the directory, and two
    messages for alice."""
    cert, key = certificate
    node = node_factory(db, extra_settings={"sslCertPath": cert, "sslKeyPath": key},
                        listen=("http", "https")).wait_healthy()
    setup_directory(node)
    deliver(node, ALICE, MULTIPART)
    deliver(node, ALICE, "From: dave@remote.test\r\nTo: alice@imap.test\r\n"
                         "Subject: lunch\r\n\r\nPizza at noon?\r\n")
    wait_for(lambda: inbox_count(query, db, ALICE) == 2, what="delivery")
    return node


def test_passwords_need_tls(site):
    client = imaplib.IMAP4("127.0.0.1", site.ports["imap"], timeout=10)
    assert "LOGINDISABLED" in client.capabilities and "STARTTLS" in client.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        client.login(ALICE, PASSWORDS[ALICE])
    client.starttls(tls_context())
    assert "AUTH=PLAIN" in client.capabilities and "STARTTLS" not in client.capabilities
    assert client.login(ALICE, PASSWORDS[ALICE])[0] == "OK"
    client.logout()


def test_imaps_and_authenticate_plain(site):
    client = imaplib.IMAP4_SSL("127.0.0.1", site.ports["imaps"], ssl_context=tls_context(),
                               timeout=10)
    typ, _ = client.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORDS[ALICE]}".encode())
    assert typ == "OK"
    typ, data = client.select("INBOX", readonly=True)
    assert (typ, data) == ("OK", [b"2"])
    client.logout()


def test_wrong_password_is_counted(site):
    client = imaplib.IMAP4("127.0.0.1", site.ports["imap"], timeout=10)
    client.starttls(tls_context())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(ALICE, "wrong")
    client.logout()
    assert re.search(r"event=auth_failed service=imap .* ip=127\.0\.0\.1 ", site.log_text())


def test_list_shows_special_folders(site):
    client = login(site)
    typ, lines = client.list()
    assert typ == "OK"
    listed = {line.decode().rsplit(" ", 1)[1].strip('"'): line.decode() for line in lines}
    assert set(listed) >= {"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"}
    assert "\\Sent" in listed["Sent"] and "\\Trash" in listed["Trash"]
    assert client.namespace()[1] == [b'(("" "/")) NIL NIL']
    client.logout()


def test_cyrillic_mailbox_names_both_ways(site):
    client = login(site)
    name = "Отчёты/2026"
    encoded = imap_utf7(name)
    assert client.create(f'"{encoded}"')[0] == "OK"
    typ, lines = client.list('""', "*")
    assert any(encoded.encode() in line for line in lines), lines
    parent = [line for line in lines if line.endswith(f' "{imap_utf7("Отчёты")}"'.encode())]
    assert len(parent) == 1 and b"\\HasChildren" in parent[0], lines
    # The same mailbox as UTF-8 once UTF8=ACCEPT is on.
    typ, data = client._simple_command("ENABLE", "UTF8=ACCEPT")
    assert typ == "OK"
    typ, lines = client.list('""', "*")
    assert any(name.encode() in line for line in lines), lines
    client.logout()

    client = login(site)
    assert client.rename(f'"{encoded}"', f'"{imap_utf7("Архив/Отчёты")}"')[0] == "OK"
    typ, lines = client.list('""', "*")
    assert any(imap_utf7("Архив/Отчёты").encode() in line for line in lines)
    assert client.delete(f'"{imap_utf7("Архив/Отчёты")}"')[0] == "OK"
    typ, data = client.select('"&Jjo-bad"')  # not valid modified UTF-7
    assert typ == "BAD" or typ == "NO"
    client.logout()


def imap_utf7(text):
    """RFC 3501 5.1.3 modified UTF-7, independently of the server."""
    out, run = [], []

    def flush():
        if run:
            data = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in text:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def test_fetch_answers_from_the_cached_structure(site, query, db):
    client = login(site)
    typ, data = client.select("INBOX")
    assert (typ, data) == ("OK", [b"2"])
    typ, data = client.fetch("1", "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK"
    text = data[0] if isinstance(data[0], bytes) else data[0][0]
    assert b"ENVELOPE (\"Mon, 23 Nov 2026 10:00:00 +0300\"" in text
    assert b"\"<report-1@remote.test>\"" in text
    assert b"(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\"" in text
    assert b"\"mixed\" (\"boundary\" \"b1\")" in text
    (cached,), = query(db, "SELECT count(*) FROM mail_blobs WHERE structure IS NOT NULL")
    assert cached == 2

    typ, data = client.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (Subject Message-ID)])")
    assert typ == "OK"
    assert data[0][1] == (b"Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?= report\r\n"
                          b"Message-ID: <report-1@remote.test>\r\n\r\n")
    typ, data = client.fetch("1", "(BODY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2])")
    assert typ == "OK"
    assert data[0][1] == "Quarterly numbers attached. Отчёт за квартал.".encode()
    assert data[1][1] == b"\x00\x01\x02\x03\x04"
    assert b"BINARY.SIZE[2] 5" in data[2]
    typ, data = client.fetch("1", "(BODY[]<0.4>)")
    assert data[0][1] == b"Rece"  # our Received: comes first
    typ, data = client.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]  # BODY[] without PEEK set it
    typ, data = client.fetch("2", "(RFC822)")
    body = data[0][1]
    assert body.startswith(b"Received: ") and body.endswith(b"Pizza at noon?\r\n")
    typ, data = client.fetch("2", "(RFC822.SIZE)")
    assert f"RFC822.SIZE {len(body)}".encode() in data[0]
    client.logout()


def test_store_search_expunge(site):
    client = login(site)
    client.select("INBOX")
    typ, data = client.store("2", "+FLAGS", r"(\Flagged $Work)")
    assert typ == "OK" and b"\\Flagged" in data[0] and b"$Work" in data[0]
    assert client.search(None, "FLAGGED") == ("OK", [b"2"])
    assert client.search(None, "KEYWORD", "$Work") == ("OK", [b"2"])
    assert client.search(None, "UNFLAGGED") == ("OK", [b"1"])
    assert client.search(None, "SUBJECT", "lunch") == ("OK", [b"2"])
    assert client.search(None, "FROM", "carol") == ("OK", [b"1"])
    assert client.search(None, "BODY", "pizza") == ("OK", [b"2"])
    client.literal = "отчёт".encode()
    assert client.search("UTF-8", "BODY") == ("OK", [b"1"])
    assert client.search(None, "OR", "SUBJECT", "lunch", "FROM", "carol") == ("OK", [b"1 2"])
    typ, data = client.uid("SEARCH", "ALL")
    uids = data[0].split()
    assert len(uids) == 2
    typ, data = client._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
    assert typ == "OK"
    assert client.untagged_responses.pop("ESEARCH")[0].endswith(b"MIN 1 MAX 2 COUNT 2")
    assert client.store("1", "+FLAGS", r"\Deleted")[0] == "OK"
    typ, data = client.status("INBOX", "(MESSAGES UNSEEN DELETED DELETED-STORAGE SIZE UIDNEXT"
                                       " RECENT HIGHESTMODSEQ)")
    assert typ == "OK", data
    status = dict(re.findall(rb"([A-Z-]+) (\d+)", data[0]))
    assert status[b"MESSAGES"] == b"2" and status[b"DELETED"] == b"1"
    assert status[b"UIDNEXT"] == b"3" and status[b"RECENT"] == b"0"
    # One of the two messages, in KiB rounded up.
    assert 0 < int(status[b"DELETED-STORAGE"]) * 1024 < int(status[b"SIZE"]) + 1024
    typ, data = client.expunge()
    assert (typ, data) == ("OK", [b"1"])
    assert client.search(None, "ALL") == ("OK", [b"1"])
    client.logout()


def test_condstore_unchangedsince(site):
    sock = raw_session(site)
    reply = exchange(sock, b"a SELECT INBOX (CONDSTORE)\r\n", b"a")
    highest = int(re.search(rb"\* OK \[HIGHESTMODSEQ (\d+)\]", reply).group(1))
    reply = exchange(sock, b"b FETCH 1 (MODSEQ)\r\n", b"b")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", reply).group(1))
    reply = exchange(sock, f"c STORE 1 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Answered)\r\n".encode(),
                     b"c")
    assert b"c OK STORE" in reply and re.search(rb"MODSEQ \((\d+)\)", reply), reply
    reply = exchange(sock, f"d STORE 1 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Draft)\r\n".encode(),
                     b"d")
    assert b"d OK [MODIFIED 1]" in reply, reply
    reply = exchange(sock, f"e FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})\r\n".encode(), b"e")
    assert re.search(rb"\* 1 FETCH \(FLAGS \(\\Answered\) MODSEQ", reply), reply
    assert b"* 2 FETCH" not in reply
    sock.close()


def test_master_user_opens_the_users_mailbox(site):
    client = login(site, f"{ALICE}*{ADMIN}", PASSWORDS[ADMIN])
    assert client.select("INBOX", readonly=True) == ("OK", [b"2"])
    client.logout()
    assert re.search(r"event=imap_login .* user=alice@imap\.test master=admin@imap\.test",
                     site.log_text())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        login(site, f"{ALICE}*{ADMIN}", "wrong")
    assert re.search(r"event=auth_failed service=imap .*login=\"alice@imap\.test\*admin@imap\.test\"",
                     site.log_text())
    # bob is no master: his password opens nothing of alice's.
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        login(site, f"{ALICE}*{BOB}", PASSWORDS[BOB])


def raw_session(node):
    """A plain socket past STARTTLS and LOGIN, for hand-written commands."""
    sock = socket.create_connection(("127.0.0.1", node.ports["imap"]), timeout=10)
    sock.recv(4096)
    sock.sendall(b"s STARTTLS\r\n")
    assert b"s OK" in sock.recv(4096)
    tls = tls_context().wrap_socket(sock)
    tls.sendall(f"l LOGIN {ALICE} {PASSWORDS[ALICE]}\r\n".encode())
    reply = b""
    while b"l OK" not in reply:
        reply += tls.recv(4096)
    return tls


class Raw:
    """One IMAP connection past STARTTLS and LOGIN, read line by line.
    Everything received is kept in .received, to check what was never sent."""

    def __init__(self, node, user=ALICE):
        sock = socket.create_connection(("127.0.0.1", node.ports["imap"]), timeout=10)
        self.sock, self.buf, self.received, self.tags = sock, b"", b"", 0
        assert self.line().startswith("* OK")
        sock.sendall(b"s STARTTLS\r\n")
        assert self.line().startswith("s OK")
        self.sock = tls_context().wrap_socket(sock)
        untagged, done = self.cmd(f"LOGIN {user} {PASSWORDS[user]}")
        assert done.startswith("OK"), done

    def line(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no line within {timeout}s; have {self.buf!r}"
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            assert chunk, f"connection closed; have {self.buf!r}"
            self.buf += chunk
            self.received += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def cmd(self, text):
        """Sends a command; returns its untagged lines and the tagged
        status after the tag ("OK [...] text")."""
        self.tags += 1
        tag = f"t{self.tags}"
        self.send(f"{tag} {text}")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def ok(self, text):
        untagged, done = self.cmd(text)
        assert done.startswith("OK"), (text, done, untagged)
        return untagged

    def wait_for(self, pattern, timeout=10):
        """Reads lines (as during IDLE) until one matches; returns it and
        the lines before it."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(deadline - time.monotonic(), 0.01))
            if re.search(pattern, line):
                return line, before
            before.append(line)

    def one(self, text, prefix):
        """The one untagged line of a command that starts with prefix."""
        lines = [line for line in self.ok(text) if line.startswith(prefix)]
        assert len(lines) == 1, (text, lines)
        return lines[0]

    def close(self):
        try:
            self.sock.sendall(b"z LOGOUT\r\n")
            while True:
                if self.line().startswith("z "):
                    break
        finally:
            self.sock.close()


def exchange(sock, command, tag):
    sock.sendall(command)
    reply = b""
    while not re.search(rb"(^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n", reply):
        chunk = sock.recv(65536)
        assert chunk, reply
        reply += chunk
    return reply


def test_bad_input(site):
    sock = raw_session(site)
    assert b"a BAD" in exchange(sock, b"a FROB\r\n", b"a")
    assert b"b BAD" in exchange(sock, b"b FETCH 1 FLAGS\r\n", b"b")  # nothing selected
    assert b"c OK" in exchange(sock, b"c SELECT INBOX\r\n", b"c")
    assert b"d BAD" in exchange(sock, b"d FETCH 0:x FLAGS\r\n", b"d")
    assert b"e BAD" in exchange(sock, b"e FETCH 99 FLAGS\r\n", b"e")
    assert b"f BAD" in exchange(sock, b"f FETCH 1 (FLAGS\r\n", b"f")
    assert b"g BAD" in exchange(sock, b"g SEARCH FROM\r\n", b"g")
    assert b"h BAD" in exchange(sock, b"h STORE 1 +FLAGS (\\Recent)\r\n", b"h")
    # A literal far over the limit is refused before it is sent.
    assert b"BAD" in exchange(sock, b"i LOGIN {99999999}\r\n", b"\\*|i")
    assert b"m OK" in exchange(sock, b"m NOOP\r\n", b"m")  # eight errors: still alive
    assert b"j BAD" in exchange(sock, b"j SEARCH \xff\r\n", b"j")
    # The tenth error ends the session.
    reply = exchange(sock, b"k LIST \"\" \"a\x00b\"\r\n", b"k")
    while b"BYE" not in reply:
        chunk = sock.recv(4096)
        assert chunk, reply
        reply += chunk
    assert b"k BAD" in reply and b"* BYE Too many errors" in reply
    assert sock.recv(4096) == b""
    sock.close()


def test_idle_sees_changes_made_through_other_nodes(site, node_factory, db, certificate):
    """A client IDLE on node A sees a message delivered through node B, a
    flag set through node C and an expunge through node B, each within a
    second."""
    cert, key = certificate
    settings = {"sslCertPath": cert, "sslKeyPath": key}
    other = node_factory(db, name="imap-b", listen=("http", "https"),
                         extra_settings=settings).wait_healthy()
    third = node_factory(db, name="imap-c", listen=("http", "https"),
                         extra_settings=settings).wait_healthy()
    watcher = raw_session(site)
    exchange(watcher, b"s SELECT INBOX\r\n", b"s")
    watcher.sendall(b"i IDLE\r\n")
    assert watcher.recv(4096).startswith(b"+ ")
    watcher.settimeout(1.5)

    def expect(pattern):
        seen = b""
        deadline = time.monotonic() + 1.5
        while not re.search(pattern, seen):
            assert time.monotonic() < deadline, (pattern, seen)
            seen += watcher.recv(4096)
        return seen

    deliver(other, ALICE, "Subject: third\r\n\r\nvia the other node\r\n")
    expect(rb"\* 3 EXISTS\r\n")
    flagger = login(third)
    flagger.select("INBOX")
    flagger.store("1", "+FLAGS", r"\Flagged")
    expect(rb"\* 1 FETCH \(UID \d+ FLAGS \([^)]*\\Flagged")
    flagger.logout()
    changer = login(other)
    changer.select("INBOX")
    changer.store("2", "+FLAGS", r"\Deleted")
    changer.expunge()
    expect(rb"\* 2 EXPUNGE\r\n")
    changer.logout()
    watcher.settimeout(10)
    assert b"i OK" in exchange(watcher, b"DONE\r\n", b"i")
    watcher.close()


def test_large_message_streams_in_chunks(site, query, db):
    """A 2.9 MB message goes out in pieces read from the database; the
    octets and partial fetches must still be exact."""
    lines = "".join(f"line {i:07d} of a long attachment-free message\r\n" for i in range(60000))
    message = "Subject: big\r\nFrom: carol@remote.test\r\n\r\n" + lines
    deliver(site, ALICE, message)
    wait_for(lambda: inbox_count(query, db, ALICE) == 3, what="delivery")
    client = login(site)
    client.select("INBOX", readonly=True)
    typ, data = client.fetch("3", "(RFC822.SIZE BODY.PEEK[TEXT] BODY.PEEK[]<2500000.100>)")
    assert typ == "OK"
    size = int(re.search(rb"RFC822.SIZE (\d+)", data[0][0]).group(1))
    assert size > 2_500_100
    assert data[0][1] == lines.encode()
    typ, data = client.fetch("3", "(BODY.PEEK[])")
    whole = data[0][1]
    assert len(whole) == size and whole.endswith(lines.encode())
    typ, data = client.fetch("3", "(BODY.PEEK[]<2500000.100>)")
    assert data[0][1] == whole[2500000:2500100]
    client.logout()


def test_concurrent_changes_from_two_nodes_keep_counters_right(site, node_factory, db, query,
                                                               certificate):
    """APPEND, STORE and EXPUNGE at once from sessions on two nodes: UIDs
    are never reused, every APPENDUID is new and larger than the last one
    the same session got, and no MODSEQ passes the mailbox's HIGHESTMODSEQ."""
    import concurrent.futures
    cert, key = certificate
    other = node_factory(db, name="imap-b2", listen=("http", "https"),
                         extra_settings={"sslCertPath": cert, "sslKeyPath": key}).wait_healthy()

    def worker(node, n):
        client = login(node)
        client.select("INBOX")
        uids = []
        for i in range(15):
            typ, data = client.append("INBOX", None, None,
                                      f"Subject: w{n}-{i}\r\n\r\nbody {i}\r\n".encode())
            assert typ == "OK", data
            uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)))
            client.uid("STORE", str(uids[-1]), "+FLAGS", r"(\Flagged)")
            if i % 5 == 4:
                client.uid("STORE", str(uids[-2]), "+FLAGS", r"(\Deleted)")
                client.expunge()
        client.logout()
        return uids

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda a: worker(*a),
                                [(site, 0), (other, 1), (site, 2), (other, 3)]))
    every = [uid for uids in results for uid in uids]
    assert len(every) == len(set(every)) == 60
    for uids in results:
        assert uids == sorted(uids)
    (highest, uidnext), = query(db, "SELECT b.highestmodseq, b.uidnext FROM mailboxes b"
                                    " JOIN users u ON u.id = b.user_id"
                                    " WHERE u.address = %s AND b.name = 'INBOX'", (ALICE,))
    (top_modseq, top_uid), = query(db, "SELECT max(m.modseq), max(m.uid) FROM messages m"
                                       " JOIN mailboxes b ON b.id = m.mailbox_id"
                                       " JOIN users u ON u.id = b.user_id"
                                       " WHERE u.address = %s AND b.name = 'INBOX'", (ALICE,))
    assert top_modseq <= highest and top_uid < uidnext
    assert inbox_count(query, db, ALICE) == 2 + 60 - 12

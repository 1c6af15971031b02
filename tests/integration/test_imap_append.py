"""APPEND, COPY and MOVE with UIDPLUS (RFC 9051 6.3.12, 6.4.7, RFC 6851,
RFC 4315), driven by imaplib and by hand over a raw socket: APPENDUID and
COPYUID checked against what UID FETCH finds, the appended message's
structure cached for FETCH and its words for SEARCH, line ends made CRLF,
NUL refused, LITERAL+, TRYCREATE, modified UTF-7 names, the quota, and the
EXPUNGEs of MOVE in the moving session and in another one."""

import calendar
import re
import socket
import threading
import time

import pytest

from test_imap import (ALICE, MULTIPART, deliver, exchange, imap_utf7, inbox_count,
                       login, make_certificate, raw_session, setup_directory, wait_for)

CAROL = "carol@imap.test"

APPENDED = (
    "From: Alice <alice@imap.test>\r\n"
    "To: Bob <bob@imap.test>\r\n"
    "Subject: =?UTF-8?B?0JTQvtCz0L7QstC+0YA=?= draft\r\n"
    "Date: Sun, 05 Jan 2025 10:20:30 +0300\r\n"
    "Message-ID: <draft-1@imap.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
    "\r\n"
    "--alt\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "The contract for Zanzibar. Договор подписан.\r\n"
    "--alt\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>The contract for <b>Zanzibar</b>.</p>\r\n"
    "--alt--\r\n"
).encode()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def site(node_factory, db, query, certificate):
    """A node with STARTTLS, the directory and two messages in alice's
    INBOX."""
    cert, key = certificate
    node = node_factory(db, extra_settings={"sslCertPath": cert, "sslKeyPath": key},
                        listen=("http", "https")).wait_healthy()
    setup_directory(node)
    deliver(node, ALICE, MULTIPART)
    deliver(node, ALICE, "From: dave@remote.test\r\nTo: alice@imap.test\r\n"
                         "Subject: lunch\r\n\r\nPizza at noon?\r\n")
    wait_for(lambda: inbox_count(query, db, ALICE) == 2, what="delivery")
    return node


def code_of(data):
    """The response code of an imaplib answer: "[APPENDUID 5 1] ..." -> ["APPENDUID", "5", "1"]."""
    text = data[-1].decode() if isinstance(data[-1], bytes) else data[-1][0].decode()
    match = re.match(r"\[([^\]]*)\]", text)
    assert match, text
    return match.group(1).split()


def uid_set(text):
    """An IMAP UID set ("3:5,9") as a list of UIDs in its order."""
    uids = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        uids.extend(range(int(lo), int(hi or lo) + 1))
    return uids


def uidvalidity(client, mailbox):
    typ, data = client.status(mailbox, "(UIDVALIDITY)")
    assert typ == "OK", data
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


def fetch_one(client, uid, items):
    """UID FETCH of one message: (the response line(s) as one bytes, literal or None)."""
    typ, data = client.uid("FETCH", str(uid), items)
    assert typ == "OK" and data and data[0] is not None, (typ, data)
    if isinstance(data[0], tuple):
        return data[0][0] + b"".join(d for d in data[1:] if isinstance(d, bytes)), data[0][1]
    return data[0], None


def append_raw(sock, tag, mailbox, message, extra=b"", plus=False, literal8=False):
    """APPEND over a raw socket with a synchronizing literal (waiting for the
    continuation) or, with plus, a non-synchronizing one sent at once;
    literal8 makes it ~{n}."""
    head = b"%s APPEND %s%s %s{%d%s}\r\n" % (tag, mailbox, extra, b"~" if literal8 else b"",
                                           len(message), b"+" if plus else b"")
    if plus:
        sock.sendall(head + message + b"\r\n")
    else:
        sock.sendall(head)
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += sock.recv(4096)
        assert reply.startswith(b"+"), reply
        sock.sendall(message + b"\r\n")
    return exchange(sock, b"", tag)


def test_capabilities(site):
    client = login(site)
    typ, data = client.capability()
    assert {"UIDPLUS", "MOVE"} <= set(data[0].decode().split())
    client.logout()


def test_append_with_flags_and_date(site, query, db):
    client = login(site)
    typ, data = client.append("Drafts", r"(\Seen $Work \draft $Work)",
                              '"05-Jan-2025 10:20:30 +0300"', APPENDED)
    assert typ == "OK", data
    name, validity, uid = code_of(data)
    assert name == "APPENDUID" and int(validity) == uidvalidity(client, "Drafts")
    uid = int(uid)

    assert client.select("Drafts")[0] == "OK"
    line, body = fetch_one(client, uid, "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    flags = set(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split())
    assert flags == {b"\\Seen", b"\\Draft", b"$Work"}, line
    assert b'INTERNALDATE "05-Jan-2025 07:20:30 +0000"' in line, line
    assert body == APPENDED
    assert f"RFC822.SIZE {len(APPENDED)}".encode() in line, line

    # ENVELOPE and BODYSTRUCTURE come from the structure cached at APPEND.
    (cached,), = query(db, "SELECT count(*) FROM mail_blobs WHERE content = %s"
                           " AND structure IS NOT NULL AND body_tsv IS NOT NULL"
                           " AND sent_date = '2025-01-05 07:20:30+00'", (APPENDED,))
    assert cached == 1
    line, _ = fetch_one(client, uid, "(ENVELOPE BODYSTRUCTURE)")
    assert b'ENVELOPE ("Sun, 05 Jan 2025 10:20:30 +0300"' in line, line
    assert b'"<draft-1@imap.test>"' in line
    assert b'("text" "plain" ("charset" "utf-8") NIL NIL "8bit"' in line, line
    assert b'"alternative" ("boundary" "alt")' in line, line

    # Its header fields and words are in the search index.
    assert client.uid("SEARCH", "BODY", "zanzibar") == ("OK", [str(uid).encode()])
    assert client.uid("SEARCH", "HEADER", "Message-ID", "draft-1") == ("OK", [str(uid).encode()])
    client.literal = "договор".encode()
    assert client.uid("SEARCH", "CHARSET", "UTF-8", "BODY") == ("OK", [str(uid).encode()])

    # Without flags and date: no flags, INTERNALDATE is now.
    typ, data = client.append("Drafts", None, None, b"Subject: second\r\n\r\nno flags\r\n")
    assert typ == "OK", data
    second = int(code_of(data)[2])
    assert second == uid + 1
    line, _ = fetch_one(client, second, "(FLAGS INTERNALDATE)")
    assert b"FLAGS ()" in line, line
    stamp = re.search(rb'INTERNALDATE "([^"]+)"', line).group(1).decode()
    when = calendar.timegm(time.strptime(stamp, "%d-%b-%Y %H:%M:%S +0000"))
    assert abs(when - time.time()) < 120, stamp
    client.logout()


def test_append_makes_line_ends_crlf(site):
    sock = raw_session(site)
    reply = append_raw(sock, b"a", b"INBOX", b"Subject: bare\n\nline one\nline two\r\nthree\n")
    uid = int(re.search(rb"a OK \[APPENDUID \d+ (\d+)\]", reply).group(1))
    exchange(sock, b"s SELECT INBOX\r\n", b"s")
    reply = exchange(sock, b"f UID FETCH %d (RFC822.SIZE BODY.PEEK[])\r\n" % uid, b"f")
    expected = b"Subject: bare\r\n\r\nline one\r\nline two\r\nthree\r\n"
    assert b"RFC822.SIZE %d" % len(expected) in reply, reply
    assert b"BODY[] {%d}\r\n" % len(expected) + expected in reply, reply
    sock.close()


def test_append_refuses_nul_and_bad_arguments(site):
    sock = raw_session(site)
    reply = append_raw(sock, b"a", b"INBOX", b"Subject: nul\r\n\r\na\x00b\r\n")
    assert re.search(rb"a NO ", reply), reply
    reply = append_raw(sock, b"b", b"INBOX", b"Subject: nul\r\n\r\na\x00b\r\n", plus=True,
                       literal8=True)
    assert b"b NO [UNKNOWN-CTE]" in reply, reply
    # A literal8 without NUL is a message like any other.
    reply = append_raw(sock, b"c", b"INBOX", b"Subject: binary\r\n\r\nclean\r\n",
                       literal8=True)
    assert b"c OK [APPENDUID" in reply, reply
    for tag, date in ((b"d", b"31-Feb-2025 10:00:00 +0000"), (b"e", b"5-Jan-2025 10:00:00 +0000"),
                      (b"f", b"05-Jan-2025 24:00:00 +0000"), (b"g", b"05-Foo-2025 10:00:00 +0000"),
                      (b"h", b"05-Jan-2025 10:00:00 0000"), (b"i", b"05-Jan-2025 10:00 +0000")):
        reply = append_raw(sock, tag, b"INBOX", b"Subject: x\r\n\r\nx\r\n", plus=True,
                           extra=b' "' + date + b'"')
        assert re.search(tag + rb" BAD ", reply), (date, reply)
    reply = append_raw(sock, b"j", b"INBOX", b"Subject: x\r\n\r\nx\r\n", plus=True,
                       extra=b" (\\Recent)")
    assert b"j BAD" in reply, reply
    reply = append_raw(sock, b"k", b"INBOX", b"Subject: day\r\n\r\nx\r\n", plus=True,
                       extra=b' (\\flagged) " 5-Jan-2025 23:30:00 -0130"')
    uid = int(re.search(rb"k OK \[APPENDUID \d+ (\d+)\]", reply).group(1))
    exchange(sock, b"s EXAMINE INBOX\r\n", b"s")
    reply = exchange(sock, b"l UID FETCH %d (FLAGS INTERNALDATE)\r\n" % uid, b"l")
    assert b'INTERNALDATE "06-Jan-2025 01:00:00 +0000"' in reply, reply
    assert b"FLAGS (\\Flagged)" in reply, reply
    # The session is still fine after all that.
    assert b"m OK" in exchange(sock, b"m NOOP\r\n", b"m")
    sock.close()


def test_append_non_synchronizing_literal(site):
    sock = raw_session(site)
    message = b"Subject: literal plus\r\n\r\nsent without waiting\r\n"
    # Two commands in one write: the literal's octets follow its line at once.
    sock.sendall(b"a APPEND INBOX (\\Seen) {%d+}\r\n" % len(message) + message + b"\r\n"
                 b"b NOOP\r\n")
    reply = exchange(sock, b"", b"b")
    assert re.search(rb"a OK \[APPENDUID \d+ \d+\]", reply), reply
    assert b"+ " not in reply, reply  # no continuation for {n+}
    assert b"b OK" in reply
    sock.close()


def test_append_too_big_is_refused_before_it_is_sent(site):
    sock = raw_session(site)
    # messageSizeMb is 30: no continuation, a tagged NO, and the session goes on.
    reply = exchange(sock, b"a APPEND INBOX {%d}\r\n" % (31 * 1024 * 1024), b"a")
    assert b"a NO [TOOBIG]" in reply and b"+ " not in reply, reply
    assert b"b OK" in exchange(sock, b"b NOOP\r\n", b"b")
    sock.close()
    # Before login even a small message-sized literal is refused unread.
    sock = socket.create_connection(("127.0.0.1", site.ports["imap"]), timeout=10)
    sock.recv(4096)
    reply = exchange(sock, b"c APPEND INBOX {100000}\r\n", b"c")
    assert b"c BAD [TOOBIG]" in reply and b"+ " not in reply, reply
    sock.close()


def test_append_into_the_selected_mailbox_tells_exists(site):
    sock = raw_session(site)
    exchange(sock, b"s SELECT INBOX\r\n", b"s")
    reply = append_raw(sock, b"a", b"INBOX", b"Subject: third\r\n\r\nhere\r\n")
    exists = reply.find(b"* 3 EXISTS\r\n")
    ok = reply.find(b"a OK [APPENDUID")
    assert 0 <= exists < ok, reply
    sock.close()


def test_append_to_a_missing_mailbox_says_trycreate(site):
    client = login(site)
    typ, data = client.append("Nowhere", None, None, b"Subject: lost\r\n\r\nx\r\n")
    assert typ == "NO" and b"[TRYCREATE]" in data[0], data
    assert client.create("Nowhere")[0] == "OK"
    typ, data = client.append("Nowhere", None, None, b"Subject: found\r\n\r\nx\r\n")
    assert typ == "OK" and code_of(data)[0] == "APPENDUID"
    client.logout()


def test_append_to_a_cyrillic_mailbox(site):
    client = login(site)
    name = imap_utf7("Проекты/Отчёты")
    assert "&" in name
    assert client.create(f'"{name}"')[0] == "OK"
    typ, data = client.append(f'"{name}"', None, None, b"Subject: report\r\n\r\nx\r\n")
    assert typ == "OK", data
    _, validity, uid = code_of(data)
    typ, data = client.status(f'"{name}"', "(MESSAGES UIDVALIDITY UIDNEXT)")
    assert f"MESSAGES 1 UIDVALIDITY {validity} UIDNEXT {int(uid) + 1}".encode() in data[0], data
    client.logout()


def test_append_utf8_data_item(site):
    sock = raw_session(site)
    message = "Subject: Привет\r\n\r\nтело письма\r\n".encode()
    command = b"a APPEND INBOX UTF8 (~{%d+}\r\n" % len(message) + message + b")\r\n"
    # Only once UTF8=ACCEPT is enabled (RFC 6855 4).
    assert b"a BAD" in exchange(sock, command, b"a")
    assert b"e OK" in exchange(sock, b"e ENABLE UTF8=ACCEPT\r\n", b"e")
    name = "Черновики".encode()
    assert b"c OK" in exchange(sock, b'c CREATE "' + name + b'"\r\n', b"c")
    reply = exchange(sock, command.replace(b"a APPEND INBOX", b'b APPEND "' + name + b'"'), b"b")
    uid = int(re.search(rb"b OK \[APPENDUID \d+ (\d+)\]", reply).group(1))
    exchange(sock, b'x SELECT "' + name + b'"\r\n', b"x")
    reply = exchange(sock, b"f UID FETCH %d (BODY.PEEK[])\r\n" % uid, b"f")
    assert message in reply, reply
    sock.close()


def test_append_over_quota(site):
    result = site.teguctl("user", "add", CAROL, "--password-stdin", "--quota", "1",
                          input="carol-secret\n")
    assert result.returncode == 0, result.stderr
    client = login(site, CAROL, "carol-secret")
    chunk = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 600  # 600 kB
    typ, data = client.append("INBOX", None, None, chunk)
    assert typ == "OK", data
    typ, data = client.append("INBOX", None, None, chunk)
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    # A larger quota lets it in.
    client.logout()
    assert site.teguctl("user", "set", CAROL, "--quota", "5").returncode == 0
    client = login(site, CAROL, "carol-secret")
    typ, data = client.append("INBOX", None, None, chunk)
    assert typ == "OK", data
    # 1.2 MB used of 5 MiB: copying both three times fits (4.8 MB), a
    # fourth time does not; MOVE changes nothing of the usage.
    client.select("INBOX")
    for _ in range(3):
        assert client.copy("1:2", "Archive")[0] == "OK"
    typ, data = client.copy("1:2", "Archive")
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    assert client._simple_command("MOVE", "1", "Trash")[0] == "OK"
    client.logout()


def test_copy_keeps_flags_and_reports_copyuid(site):
    client = login(site)
    assert client.select("INBOX")[0] == "OK"
    client.store("2", "+FLAGS", r"(\Flagged $Work)")
    typ, data = client.uid("FETCH", "1:*", "(UID)")
    source = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    typ, data = client.copy("1:2", "Archive")
    assert typ == "OK", data
    name, validity, src, dst = code_of(data)
    assert name == "COPYUID" and int(validity) == uidvalidity(client, "Archive")
    assert uid_set(src) == source
    dst = uid_set(dst)
    assert len(dst) == 2
    originals = {}
    for uid in source:
        line, body = fetch_one(client, uid, "(FLAGS INTERNALDATE BODY.PEEK[])")
        originals[uid] = (re.search(rb"FLAGS \([^)]*\)", line).group(0),
                          re.search(rb'INTERNALDATE "[^"]+"', line).group(0), body)
    # The source is unchanged.
    assert client.search(None, "ALL") == ("OK", [b"1 2"])

    assert client.select("Archive")[0] == "OK"
    for old, new in zip(source, dst):
        line, body = fetch_one(client, new, "(FLAGS INTERNALDATE BODY.PEEK[])")
        flags, date, content = originals[old]
        assert flags in line and date in line, (line, originals[old])
        assert body == content
    assert b"$Work" in originals[source[1]][0]
    # Copying again gives new UIDs after those.
    assert client.select("INBOX")[0] == "OK"
    # (imaplib's uid() returns FETCH responses: the tagged answer is wanted)
    typ, data = client._simple_command("UID", "COPY", str(source[1]), "Archive")
    assert typ == "OK", data
    assert uid_set(code_of(data)[3]) == [dst[-1] + 1]
    client.logout()


def test_copy_and_move_to_a_missing_mailbox(site):
    client = login(site)
    client.select("INBOX")
    typ, data = client.copy("1", "Missing")
    assert typ == "NO" and b"[TRYCREATE]" in data[0], data
    typ, data = client._simple_command("MOVE", "1", "Missing")
    assert typ == "NO" and b"[TRYCREATE]" in data[0], data
    # Nothing found to copy is no error.
    typ, data = client.uid("COPY", "999", "Archive")
    assert typ == "OK", data
    client.select("INBOX", readonly=True)
    typ, data = client._simple_command("MOVE", "1", "Archive")
    assert typ == "NO" and b"READ-ONLY" in data[0], data
    client.logout()


def test_move_expunges_here_and_elsewhere(site):
    mover = raw_session(site)
    watcher = raw_session(site)
    exchange(mover, b"s SELECT INBOX\r\n", b"s")
    exchange(watcher, b"s SELECT INBOX\r\n", b"s")
    reply = exchange(mover, b"u UID FETCH 1:* (UID)\r\n", b"u")
    uids = [int(u) for u in re.findall(rb"UID (\d+)", reply)]
    assert len(uids) == 2

    reply = exchange(mover, b"m MOVE 1 Trash\r\n", b"m")
    match = re.search(rb"\* OK \[COPYUID (\d+) (\S+) (\S+)\][^\r]*\r\n", reply)
    assert match, reply
    assert uid_set(match.group(2).decode()) == [uids[0]]
    trash_uid = uid_set(match.group(3).decode())[0]
    expunge = reply.find(b"* 1 EXPUNGE\r\n")
    assert match.end() <= expunge < reply.find(b"m OK"), reply

    # The other session sees the expunge on its next command that allows it.
    reply = exchange(watcher, b"n NOOP\r\n", b"n")
    assert b"* 1 EXPUNGE\r\n" in reply, reply

    # UID MOVE of the remaining message, now number 1.
    reply = exchange(mover, b"v UID MOVE %d Trash\r\n" % uids[1], b"v")
    match = re.search(rb"\* OK \[COPYUID \d+ (\S+) (\S+)\]", reply)
    assert match and uid_set(match.group(1).decode()) == [uids[1]], reply
    assert uid_set(match.group(2).decode()) == [trash_uid + 1]
    assert b"* 1 EXPUNGE\r\n" in reply and b"v OK" in reply, reply
    reply = exchange(watcher, b"o NOOP\r\n", b"o")
    assert b"* 1 EXPUNGE\r\n" in reply, reply
    reply = exchange(watcher, b"p SEARCH ALL\r\n", b"p")
    assert b"* SEARCH\r\n" in reply, reply

    # Both messages are in Trash under the UIDs COPYUID gave.
    exchange(mover, b"t SELECT Trash\r\n", b"t")
    reply = exchange(mover, b"f UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (Subject)])\r\n",
                     b"f")
    assert re.findall(rb"UID (\d+)", reply) == [str(trash_uid).encode(),
                                                str(trash_uid + 1).encode()], reply
    assert b"lunch" in reply
    mover.close()
    watcher.close()


def test_copy_into_the_selected_mailbox_tells_exists(site):
    sock = raw_session(site)
    exchange(sock, b"s SELECT INBOX\r\n", b"s")
    reply = exchange(sock, b"c COPY 2 INBOX\r\n", b"c")
    exists = reply.find(b"* 3 EXISTS\r\n")
    assert 0 <= exists < reply.find(b"c OK [COPYUID"), reply
    sock.close()


def test_move_within_the_same_mailbox(site):
    sock = raw_session(site)
    exchange(sock, b"s SELECT INBOX\r\n", b"s")
    reply = exchange(sock, b"u UID FETCH 1:* (UID)\r\n", b"u")
    uids = [int(u) for u in re.findall(rb"UID (\d+)", reply)]
    reply = exchange(sock, b"m MOVE 1:* INBOX\r\n", b"m")
    match = re.search(rb"\* OK \[COPYUID \d+ (\S+) (\S+)\]", reply)
    assert match and uid_set(match.group(1).decode()) == uids, reply
    assert uid_set(match.group(2).decode()) == [uids[-1] + 1, uids[-1] + 2]
    assert b"m OK" in reply
    reply = exchange(sock, b"f UID FETCH 1:* (UID)\r\n", b"f")
    assert [int(u) for u in re.findall(rb"UID (\d+)", reply)] == [uids[-1] + 1, uids[-1] + 2]
    sock.close()


def test_concurrent_appends_and_crossing_copies(site):
    """Sessions appending to one mailbox while others copy INBOX to Archive
    and Archive to INBOX: every command succeeds (the mailbox rows are
    locked in id order, so crossing copies cannot deadlock) and no UID is
    given twice."""
    client = login(site)
    client.select("Archive")
    client.append("Archive", None, None, b"Subject: seed\r\n\r\nx\r\n")
    client.logout()
    errors, appended = [], []

    def appender(n):
        try:
            c = login(site)
            for i in range(10):
                typ, data = c.append("INBOX", None, None, b"Subject: %d-%d\r\n\r\nx\r\n" % (n, i))
                assert typ == "OK", data
                appended.append(int(code_of(data)[2]))
            c.logout()
        except Exception as e:  # reported below
            errors.append(e)

    def copier(source, target):
        try:
            c = login(site)
            c.select(source)
            for _ in range(10):
                typ, data = c.copy("1", target)
                assert typ == "OK", data
            c.logout()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=copier, args=("INBOX", "Archive")),
                threading.Thread(target=copier, args=("Archive", "INBOX"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(set(appended)) == 30
    client = login(site)
    client.select("INBOX")
    typ, data = client.uid("SEARCH", "ALL")
    uids = [int(u) for u in data[0].split()]
    assert len(uids) == 2 + 30 + 10 and len(set(uids)) == len(uids)
    assert set(appended) <= set(uids)
    client.logout()


def test_move_with_qresync_says_vanished(site):
    """RFC 6851 4.4: once QRESYNC is enabled, the moved messages are told as
    VANISHED, never as EXPUNGE, after the untagged COPYUID."""
    sock = raw_session(site)
    assert b"e OK" in exchange(sock, b"e ENABLE QRESYNC\r\n", b"e")
    exchange(sock, b"s SELECT INBOX\r\n", b"s")
    reply = exchange(sock, b"u UID FETCH 1 (UID)\r\n", b"u")
    uid = int(re.search(rb"UID (\d+)", reply).group(1))
    reply = exchange(sock, b"m MOVE 1 Archive\r\n", b"m")
    copyuid = reply.find(b"* OK [COPYUID ")
    vanished = reply.find(b"* VANISHED %d\r\n" % uid)
    assert 0 <= copyuid < vanished < reply.find(b"m OK"), reply
    assert b"EXPUNGE" not in reply, reply
    sock.close()

"""QRESYNC (RFC 7162 3.2) and OBJECTID (RFC 8474) over raw sockets, as
imaplib knows neither: ENABLE QRESYNC, SELECT/EXAMINE (QRESYNC ...) after a
disconnect with VANISHED (EARLIER) and the flag changes, VANISHED for live
expunges (never EXPUNGE once QRESYNC is on), UID FETCH (CHANGEDSINCE
VANISHED), and MAILBOXID in CREATE, SELECT and STATUS across RENAME."""

import re

import pytest

from test_imap import (ALICE, Raw, deliver, inbox_count, login, make_certificate,
                       setup_directory, wait_for)

MESSAGES = 5


def code(lines, name):
    """The value of the response code [NAME value] among untagged lines."""
    for line in lines:
        found = re.match(r"\* OK \[" + name + r" ([^\]]*)\]", line)
        if found:
            return found.group(1)
    raise AssertionError(f"no [{name}] in {lines}")


def uid_set(uids):
    """The shortest IMAP form of sorted UIDs, as the server writes it."""
    parts, i = [], 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        parts.append(str(uids[i]) if i == j else f"{uids[i]}:{uids[j]}")
        i = j + 1
    return ",".join(parts)


def inbox_uids(raw):
    lines = raw.ok("UID SEARCH ALL")
    return [int(n) for n in lines[0].split()[2:]]


def modseqs(query, db, user=ALICE, mailbox="INBOX"):
    rows = query(db, "SELECT m.uid, m.modseq FROM messages m JOIN mailboxes b"
                     " ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id"
                     " WHERE u.address = %s AND b.name = %s", (user, mailbox))
    return dict(rows)


def fetches(lines):
    """{uid: line} of the untagged FETCH lines."""
    found = {}
    for line in lines:
        match = re.match(r"\* \d+ FETCH \(.*UID (\d+)", line)
        if match:
            found[int(match.group(1))] = line
    return found


def no_expunge(*sessions):
    for raw in sessions:
        assert not re.search(rb"\* \d+ EXPUNGE\r\n", raw.received), raw.received


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def site(node_factory, db, query, certificate):
    """A node with STARTTLS, the directory, and MESSAGES messages for alice."""
    cert, key = certificate
    node = node_factory(db, extra_settings={"sslCertPath": cert, "sslKeyPath": key},
                        listen=("http",)).wait_healthy()
    setup_directory(node)
    for n in range(1, MESSAGES + 1):
        deliver(node, ALICE, f"From: dave@remote.test\r\nSubject: note {n}\r\n\r\nNote {n}.\r\n")
    wait_for(lambda: inbox_count(query, db, ALICE) == MESSAGES, what="delivery")
    return node


def test_enable_qresync_and_its_rules(site):
    raw = Raw(site)
    caps = raw.ok("CAPABILITY")[0].split()
    assert "QRESYNC" in caps and "OBJECTID" in caps and "CONDSTORE" in caps
    # Not enabled yet: the QRESYNC parameter and VANISHED are errors.
    untagged, done = raw.cmd("SELECT INBOX (QRESYNC (1 1))")
    assert done.startswith("BAD"), done
    raw.ok("SELECT INBOX")
    untagged, done = raw.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert done.startswith("BAD"), done

    assert raw.ok("ENABLE QRESYNC") == ["* ENABLED QRESYNC"]
    assert raw.ok("ENABLE QRESYNC CONDSTORE") == ["* ENABLED"]  # both on already
    # FETCH without UID may not ask for VANISHED (RFC 7162 3.2.6).
    untagged, done = raw.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert done.startswith("BAD"), done
    untagged, done = raw.cmd("UID FETCH 1:* (FLAGS) (VANISHED)")  # needs CHANGEDSINCE
    assert done.startswith("BAD"), done
    # Four more errors make eight: two short of the session's end.
    for bad in ("(QRESYNC)", "(QRESYNC (0 1))", "(QRESYNC (1 1 1:x))",
                "(QRESYNC (1 1 1:2 (1:2)))"):
        untagged, done = raw.cmd(f"SELECT INBOX {bad}")
        assert done.startswith("BAD"), (bad, done)

    # Implies CONDSTORE: HIGHESTMODSEQ, and MODSEQ with UID in FETCHes.
    lines = raw.ok("SELECT INBOX")
    assert lines[0] == "* OK [CLOSED] Previous mailbox closed"
    assert int(code(lines, "HIGHESTMODSEQ")) > 0
    lines = raw.ok("STORE 1 +FLAGS (\\Answered)")
    assert re.fullmatch(r"\* 1 FETCH \(UID \d+ FLAGS \(\\Answered\) MODSEQ \(\d+\)\)", lines[0])
    lines = raw.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
    assert re.fullmatch(r"\* 2 FETCH \(UID \d+ MODSEQ \(\d+\)\)", lines[0])
    lines = raw.ok("FETCH 3 (BODY[TEXT])")
    assert re.search(r"UID \d+ FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$", lines[-1]), lines
    raw.close()


def test_select_qresync_after_a_disconnect(site, query, db):
    first = Raw(site)
    first.ok("ENABLE QRESYNC")
    lines = first.ok("SELECT INBOX")
    uidvalidity = int(code(lines, "UIDVALIDITY"))
    highest = int(code(lines, "HIGHESTMODSEQ"))
    uids = inbox_uids(first)
    assert len(uids) == MESSAGES
    first.close()

    # Meanwhile another client flags one message and expunges two.
    other = login(site)
    other.select("INBOX")
    other.uid("STORE", str(uids[1]), "+FLAGS", "(\\Flagged)")
    other.uid("STORE", f"{uids[0]},{uids[2]}", "+FLAGS", "(\\Deleted)")
    assert other.expunge()[0] == "OK"
    other.logout()
    now = modseqs(query, db)
    assert sorted(now) == [uids[1]] + uids[3:]

    back = Raw(site)
    back.ok("ENABLE QRESYNC")
    lines = back.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {highest}))")
    assert f"* {MESSAGES - 2} EXISTS" in lines
    # One MODSEQ each: the flag, the \Deleted, the expunge.
    assert int(code(lines, "HIGHESTMODSEQ")) == highest + 3
    vanished = [n for n, line in enumerate(lines) if line.startswith("* VANISHED")]
    assert [lines[n] for n in vanished] == [f"* VANISHED (EARLIER) {uid_set([uids[0], uids[2]])}"]
    changed = fetches(lines)
    # The flagged message, now number 1, with the MODSEQ the store gave it;
    # messages untouched since are not told.
    assert changed == {uids[1]: f"* 1 FETCH (UID {uids[1]} FLAGS (\\Flagged)"
                                f" MODSEQ ({now[uids[1]]}))"}
    assert now[uids[1]] == highest + 1
    first_fetch = min(n for n, line in enumerate(lines) if " FETCH " in line)
    assert vanished[0] < first_fetch
    assert vanished[0] > lines.index(next(l for l in lines if "[HIGHESTMODSEQ" in l))

    # Known UIDs narrow VANISHED; seq-match-data is accepted.
    lines = back.ok(f"EXAMINE INBOX (QRESYNC ({uidvalidity} {highest} {uids[0]}:{uids[1]}))")
    assert lines[0] == "* OK [CLOSED] Previous mailbox closed"
    assert [l for l in lines if "VANISHED" in l] == [f"* VANISHED (EARLIER) {uids[0]}"]
    lines = back.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {highest} 1:{uids[-1]}"
                    f" (1:{MESSAGES} {uids[0]}:{uids[-1]})))")
    assert [l for l in lines if "VANISHED" in l] == \
        [f"* VANISHED (EARLIER) {uid_set([uids[0], uids[2]])}"]
    # The flag change is older than this MODSEQ: nothing to tell.
    lines = back.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {now[uids[1]]}))")
    assert [l for l in lines if "VANISHED" in l or " FETCH " in l] == \
        [f"* VANISHED (EARLIER) {uid_set([uids[0], uids[2]])}"]

    # Another UIDVALIDITY: the client's UIDs mean nothing, nothing is told.
    lines = back.ok(f"SELECT INBOX (QRESYNC ({uidvalidity + 1000} {highest}))")
    assert not [l for l in lines if "VANISHED" in l or " FETCH " in l], lines
    assert int(code(lines, "UIDVALIDITY")) == uidvalidity
    no_expunge(back)
    back.close()


def test_live_expunges_are_vanished_never_expunge(site):
    watcher = Raw(site)
    watcher.ok("ENABLE QRESYNC")
    watcher.ok("SELECT INBOX")
    uids = inbox_uids(watcher)
    watcher.send("i IDLE")
    assert watcher.line().startswith("+ ")

    changer = Raw(site)
    changer.ok("ENABLE QRESYNC")
    changer.ok("SELECT INBOX")
    changer.ok(f"UID STORE {uids[3]} +FLAGS.SILENT (\\Flagged)")
    line, _ = watcher.wait_for(r" FETCH ")
    assert re.fullmatch(rf"\* 4 FETCH \(UID {uids[3]} FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", line)

    # EXPUNGE in a QRESYNC session answers with VANISHED...
    changer.ok(f"UID STORE {uids[1]},{uids[2]} +FLAGS.SILENT (\\Deleted)")
    lines = changer.ok("EXPUNGE")
    assert lines == [f"* VANISHED {uid_set([uids[1], uids[2]])}"]
    # ...and the IDLE session hears of it the same way.
    line, _ = watcher.wait_for(r"VANISHED")
    assert line == f"* VANISHED {uid_set([uids[1], uids[2]])}"

    # UID EXPUNGE, of one \Deleted message out of two.
    changer.ok(f"UID STORE {uids[0]},{uids[4]} +FLAGS.SILENT (\\Deleted)")
    assert changer.ok(f"UID EXPUNGE {uids[4]}") == [f"* VANISHED {uids[4]}"]
    line, _ = watcher.wait_for(r"VANISHED")
    assert line == f"* VANISHED {uids[4]}"
    watcher.send("DONE")
    watcher.wait_for(r"^i OK")

    # The views agree: numbers moved down as the client was told.
    assert inbox_uids(watcher) == [uids[0], uids[3]]
    lines = watcher.ok("FETCH 1:* (UID)")
    assert [re.search(r"UID (\d+)", l).group(1) for l in lines] == [str(uids[0]), str(uids[3])]
    # CLOSE expunges silently; the watcher's NOOP tells it.
    changer.ok("CLOSE")
    assert watcher.ok("NOOP") == [f"* VANISHED {uids[0]}"]
    no_expunge(watcher, changer)
    watcher.close()
    changer.close()


def test_uid_fetch_changedsince_vanished(site):
    raw = Raw(site)
    raw.ok("ENABLE QRESYNC")
    highest = int(code(raw.ok("SELECT INBOX"), "HIGHESTMODSEQ"))
    uids = inbox_uids(raw)

    other = login(site)
    other.select("INBOX")
    other.uid("STORE", str(uids[3]), "+FLAGS", "(\\Seen)")
    other.uid("STORE", str(uids[1]), "+FLAGS", "(\\Deleted)")
    other.expunge()
    assert raw.ok("NOOP")[0] == f"* VANISHED {uids[1]}"

    lines = raw.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
    assert lines[0] == f"* VANISHED (EARLIER) {uids[1]}"
    assert len(lines) == 2 and re.fullmatch(
        rf"\* 3 FETCH \(FLAGS \(\\Seen\) UID {uids[3]} MODSEQ \(\d+\)\)", lines[1]), lines
    # Only UIDs of the set given.
    lines = raw.ok(f"UID FETCH {uids[2]}:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
    assert not [l for l in lines if "VANISHED" in l], lines
    lines = raw.ok(f"UID FETCH {uids[1]} (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
    assert lines == [f"* VANISHED (EARLIER) {uids[1]}"]

    # An expunge not told yet stays the next report's, told once.
    other.uid("STORE", str(uids[0]), "+FLAGS", "(\\Deleted)")
    other.expunge()
    other.logout()
    lines = raw.ok(f"UID FETCH 1:* (UID) (CHANGEDSINCE {highest} VANISHED)")
    assert lines[0] == f"* VANISHED (EARLIER) {uids[1]}", lines
    assert [l for l in raw.ok("NOOP") if "VANISHED" in l] == [f"* VANISHED {uids[0]}"]
    lines = raw.ok(f"UID FETCH 1:* (UID) (CHANGEDSINCE {highest} VANISHED)")
    assert lines[0] == f"* VANISHED (EARLIER) {uid_set([uids[0], uids[1]])}", lines
    no_expunge(raw)
    raw.close()


def test_mailboxid_in_create_select_status_across_rename(site):
    raw = Raw(site)
    untagged, done = raw.cmd("CREATE Projects")
    created = re.match(r"OK \[MAILBOXID \((F\d+)\)\] ", done)
    assert created and not untagged, (untagged, done)
    mailbox_id = created.group(1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", mailbox_id)  # RFC 8474 objectid

    assert raw.ok("STATUS Projects (MESSAGES MAILBOXID)") == \
        [f"* STATUS \"Projects\" (MESSAGES 0 MAILBOXID ({mailbox_id}))"]
    lines = raw.ok("SELECT Projects")
    assert f"* OK [MAILBOXID ({mailbox_id})] Ok" in lines
    inbox = code(raw.ok("EXAMINE INBOX"), "MAILBOXID")
    assert inbox != f"({mailbox_id})"

    raw.ok("CREATE Projects/2026")
    child = re.search(r"\((F\d+)\)", raw.ok("STATUS Projects/2026 (MAILBOXID)")[0]).group(1)
    raw.ok("RENAME Projects Work/Projects")
    assert raw.ok("STATUS Work/Projects (MAILBOXID)") == \
        [f"* STATUS \"Work/Projects\" (MAILBOXID ({mailbox_id}))"]
    assert raw.ok("STATUS Work/Projects/2026 (MAILBOXID)") == \
        [f"* STATUS \"Work/Projects/2026\" (MAILBOXID ({child}))"]
    assert f"* OK [MAILBOXID ({mailbox_id})] Ok" in raw.ok("EXAMINE Work/Projects")
    untagged, done = raw.cmd("STATUS Projects (MAILBOXID)")
    assert done.startswith("NO"), done

    # A new mailbox of an old name is another mailbox.
    raw.ok("DELETE Work/Projects/2026")
    untagged, done = raw.cmd("CREATE Work/Projects/2026")
    assert re.match(r"OK \[MAILBOXID \(F\d+\)\]", done) and f"({child})" not in done, done

    # EMAILID and THREADID (none: NIL, and SEARCH THREADID finds nothing).
    raw.ok("SELECT INBOX")
    line = raw.ok("FETCH 2 (EMAILID THREADID)")[0]
    email_id = re.fullmatch(r"\* 2 FETCH \(EMAILID \((M[0-9a-f]+)\) THREADID NIL\)", line).group(1)
    uid = inbox_uids(raw)[1]
    assert raw.ok(f"UID SEARCH EMAILID {email_id}") == [f"* SEARCH {uid}"]
    assert raw.ok("SEARCH EMAILID M0") == ["* SEARCH"]
    assert raw.ok("SEARCH THREADID T1") == ["* SEARCH"]
    raw.close()


def test_inbox_rename_tells_qresync_clients(site):
    first = Raw(site)
    first.ok("ENABLE QRESYNC")
    lines = first.ok("SELECT INBOX")
    uidvalidity = int(code(lines, "UIDVALIDITY"))
    highest = int(code(lines, "HIGHESTMODSEQ"))
    inbox_id = code(lines, "MAILBOXID")
    uids = inbox_uids(first)
    first.send("i IDLE")
    assert first.line().startswith("+ ")

    other = Raw(site)
    other.ok("RENAME INBOX Old")
    # The messages left INBOX: its sessions are told as of an expunge...
    line, _ = first.wait_for(r"VANISHED")
    assert line == f"* VANISHED {uid_set(uids)}"
    first.send("DONE")
    first.wait_for(r"^i OK")
    first.close()

    # ...and so is a client coming back, while INBOX keeps its identity.
    other.ok("ENABLE QRESYNC")
    lines = other.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {highest}))")
    assert "* 0 EXISTS" in lines and code(lines, "MAILBOXID") == inbox_id
    assert f"* VANISHED (EARLIER) {uid_set(uids)}" in lines
    lines = other.ok("SELECT Old")
    assert f"* {len(uids)} EXISTS" in lines and code(lines, "MAILBOXID") != inbox_id
    no_expunge(first, other)
    other.close()

"""Local delivery: mail accepted by any node lands in the recipients'
INBOX exactly once, with UIDs strictly increasing per mailbox whichever
node delivers, the content stored once, groups and aliases expanded, and
a dead node's claimed entries taken over when their lease runs out."""

import concurrent.futures
import smtplib
import time

DOMAIN = "deliver.test"
USERS = [f"u{i}@{DOMAIN}" for i in range(1, 4)]


def setup_directory(node, users=USERS):
    assert node.teguctl("domain", "add", DOMAIN).returncode == 0
    for user in users:
        result = node.teguctl("user", "add", user, "--password-stdin", input="pw-" + user + "\n")
        assert result.returncode == 0, result.stderr


def send(node, recipients, subject="hello", sender="someone@remote.test"):
    with smtplib.SMTP("127.0.0.1", node.ports["smtp"], timeout=10) as client:
        refused = client.sendmail(sender, recipients,
                                  f"Subject: {subject}\r\nFrom: <{sender}>\r\n\r\nbody of {subject}\r\n")
        assert refused == {}


def wait_local_queue_empty(query, dsn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        (count,), = query(dsn, "SELECT count(*) FROM queue_entries WHERE transport = 'local'")
        if count == 0:
            return
        if time.monotonic() >= deadline:
            rows = query(dsn, "SELECT recipient, claimed_by, claimed_until - now(),"
                              " next_attempt_at - now(), attempts, last_error FROM queue_entries")
            raise AssertionError(f"{count} local entries still queued: {rows}")
        time.sleep(0.1)


def inbox(query, dsn, address):
    return query(dsn, "SELECT m.uid, m.modseq, encode(m.blob_hash, 'hex') FROM messages m"
                      " JOIN mailboxes b ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id"
                      " WHERE u.address = %s AND b.name = 'INBOX' ORDER BY m.uid", (address,))


def test_delivery_folders_blobs_groups_and_aliases(node_factory, db, query):
    node = node_factory(db).wait_healthy()
    setup_directory(node)
    assert node.teguctl("group", "add", f"staff@{DOMAIN}").returncode == 0
    for member in USERS[:2]:
        assert node.teguctl("group", "member", "add", f"staff@{DOMAIN}", member).returncode == 0
    assert node.teguctl("alias", "add", f"sales@{DOMAIN}", USERS[2],
                        "partner@remote.test").returncode == 0

    send(node, USERS, subject="to all three")
    wait_local_queue_empty(query, db)
    for user in USERS:
        assert [uid for uid, _, _ in inbox(query, db, user)] == [1]
    # One content, three mailboxes.
    (blobs,), = query(db, "SELECT count(*) FROM mail_blobs")
    assert blobs == 1
    # INBOX and the special folders exist from the first delivery.
    folders = query(db, "SELECT b.name, b.special_use FROM mailboxes b JOIN users u"
                        " ON u.id = b.user_id WHERE u.address = %s ORDER BY b.name", (USERS[0],))
    assert folders == [("Archive", "\\Archive"), ("Drafts", "\\Drafts"), ("INBOX", None),
                       ("Junk", "\\Junk"), ("Sent", "\\Sent"), ("Trash", "\\Trash")]

    send(node, [f"staff@{DOMAIN}"], subject="to the group")
    send(node, [f"sales@{DOMAIN}"], subject="to the alias")
    wait_local_queue_empty(query, db)
    assert len(inbox(query, db, USERS[0])) == 2
    assert len(inbox(query, db, USERS[1])) == 2
    assert len(inbox(query, db, USERS[2])) == 2
    # One message to a user directly and through the group: one copy each.
    send(node, [USERS[0], f"staff@{DOMAIN}"], subject="direct and through the group")
    wait_local_queue_empty(query, db)
    assert len(inbox(query, db, USERS[0])) == 3
    assert len(inbox(query, db, USERS[1])) == 3
    # The alias's outside target waits for outbound delivery.
    assert query(db, "SELECT recipient, transport FROM queue_entries") == [
        ("partner@remote.test", "remote")]
    # Messages fully delivered are gone from the queue.
    (left,), = query(db, "SELECT count(*) FROM queue_messages")
    assert left == 1


def test_uids_strictly_increase_with_two_nodes_delivering(node_factory, db, query):
    a = node_factory(db, name="deliver-a").wait_healthy()
    b = node_factory(db, name="deliver-b").wait_healthy()
    setup_directory(a, users=USERS[:1])

    def batch(node, tag):
        for i in range(15):
            send(node, [USERS[0]], subject=f"{tag}-{i}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(batch, node, f"{node.name}-{t}") for node in (a, b) for t in range(2)]
        for job in jobs:
            job.result()
    wait_local_queue_empty(query, db)
    rows = inbox(query, db, USERS[0])
    assert [uid for uid, _, _ in rows] == list(range(1, 61))
    modseqs = [modseq for _, modseq, _ in rows]
    assert modseqs == sorted(modseqs) and len(set(modseqs)) == 60
    (uidnext,), = query(db, "SELECT uidnext FROM mailboxes b JOIN users u ON u.id = b.user_id"
                            " WHERE u.address = %s AND b.name = 'INBOX'", (USERS[0],))
    assert uidnext == 61
    # Both nodes delivered some: the claim spreads the work.
    assert "event=delivered" in a.log_text() or "event=delivered" in b.log_text()


def test_dead_nodes_claim_expires_and_is_delivered_once(node_factory, db, query):
    node = node_factory(db, extra_settings={"queueLeaseSeconds": 5}).wait_healthy()
    setup_directory(node, users=USERS[:1])
    # A message another node accepted and claimed, then died with it:
    # the claim has a few seconds left.
    body = "convert_to('Subject: orphan\r\n\r\nhi\r\n', 'UTF8')"
    query(db, "WITH b AS (INSERT INTO mail_blobs (hash, size, content)"
              f" VALUES (sha256({body}), 20, {body})),"
              " m AS (INSERT INTO queue_messages"
              " (sender, size, body_hash, received_by, session_id)"
              f" VALUES ('x@remote.test', 20, sha256({body}),"
              " 'dead', 'dead1') RETURNING id)"
              " INSERT INTO queue_entries (message_id, recipient, claimed_by, claimed_until)"
              " SELECT id, %s, 'dead/1', now() + interval '3 seconds' FROM m", (USERS[0],))
    time.sleep(1)
    assert inbox(query, db, USERS[0]) == []  # still held by the dead node's lease
    wait_local_queue_empty(query, db, timeout=15)
    assert len(inbox(query, db, USERS[0])) == 1


def test_node_killed_right_after_250_delivers_exactly_once(node_factory, db, query):
    a = node_factory(db, name="killed-a", extra_settings={"queueLeaseSeconds": 5}).wait_healthy()
    setup_directory(a, users=USERS[:1])
    with smtplib.SMTP("127.0.0.1", a.ports["smtp"], timeout=10) as client:
        client.ehlo("client.test")
        client.mail("x@remote.test")
        client.rcpt(USERS[0])
        code, _ = client.data(b"Subject: once\r\n\r\nexactly once\r\n")
        assert code == 250
        a.kill()
    b = node_factory(db, name="killed-b", extra_settings={"queueLeaseSeconds": 5}).wait_healthy()
    wait_local_queue_empty(query, db, timeout=20)
    assert len(inbox(query, db, USERS[0])) == 1
    time.sleep(1)
    assert len(inbox(query, db, USERS[0])) == 1
    assert b.alive


def test_quota_at_rcpt(node_factory, db, query):
    """Manual 6.2.5 "Default user quota in MB": a recipient whose mailbox is
    full gets 452 4.2.2 at RCPT, a message that alone exceeds the quota
    552 5.2.2; the Trash allowance and per-user quotas are honoured."""
    node = node_factory(db).wait_healthy()
    assert node.teguctl("domain", "add", "quota.test", "--quota", "1").returncode == 0
    for user in ("q@quota.test", "big@quota.test"):
        assert node.teguctl("user", "add", user, "--password-stdin", input="pw\n").returncode == 0
    assert node.teguctl("user", "set", "big@quota.test", "--quota", "5").returncode == 0
    body = "x" * 76 + "\r\n"
    message = "Subject: bulk\r\n\r\n" + body * 8000  # about 625 KB

    def rcpt_reply(address, size):
        with smtplib.SMTP("127.0.0.1", node.ports["smtp"], timeout=10) as client:
            client.ehlo("client.test")
            client.mail("x@remote.test", [f"SIZE={size}"])
            return client.rcpt(address)

    send(node, ["q@quota.test"], subject="first")
    with smtplib.SMTP("127.0.0.1", node.ports["smtp"], timeout=10) as client:
        assert client.sendmail("x@remote.test", ["q@quota.test"], message) == {}
    wait_local_queue_empty(query, db)

    code, text = rcpt_reply("q@quota.test", 2 * 1048576)
    assert (code, text[:5]) == (552, b"5.2.2")
    code, text = rcpt_reply("q@quota.test", len(message))  # 625 KB more does not fit
    assert (code, text[:5]) == (452, b"4.2.2")
    code, _ = rcpt_reply("q@quota.test", 1000)  # a small one still does
    assert code == 250
    code, _ = rcpt_reply("big@quota.test", 2 * 1048576)  # the user's own quota: 5 MB
    assert code == 250


def test_a_burst_to_many_mailboxes(node_factory, db, query):
    """Deliveries to 60 mailboxes at once: the notifier then sends one long
    pipeline of NOTIFYs (it once aborted past 32 statements)."""
    node = node_factory(db).wait_healthy()
    users = [f"burst{i}@{DOMAIN}" for i in range(60)]
    setup_directory(node, users=users)
    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        list(pool.map(lambda user: send(node, [user], subject=user), users))
    wait_local_queue_empty(query, db)
    assert node.proc.poll() is None
    for user in users:
        assert len(inbox(query, db, user)) == 1

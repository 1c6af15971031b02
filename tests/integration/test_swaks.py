"""swaks, the SMTP test tool from Debian, as a real client: plain mail to
a local user on the MX port, STARTTLS + AUTH on submission, AUTH over
implicit TLS on SMTPS; each message lands in the user's INBOX."""

import os
import subprocess
import time

from test_smtp import make_certificate

DOMAIN = "swaks.test"
USER = f"user@{DOMAIN}"
PASSWORD = "swaks-Pass-1"


def swaks(*args):
    result = subprocess.run(["swaks", "--timeout", "15", "--from", USER, "--to", USER, *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def inbox_count(query, dsn):
    (count,), = query(dsn, "SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
                           " JOIN users u ON u.id = b.user_id"
                           " WHERE u.address = %s AND b.name = 'INBOX'", (USER,))
    return count


def test_swaks_on_all_three_listeners(node_factory, db, query, tmp_path):
    cert, key = make_certificate(str(tmp_path))
    node = node_factory(db, listen=("http", "https"),
                        extra_settings={"sslCertPath": cert, "sslKeyPath": key}).wait_healthy()
    assert node.teguctl("domain", "add", DOMAIN).returncode == 0
    assert node.teguctl("user", "add", USER, "--password-stdin",
                        input=PASSWORD + "\n").returncode == 0

    out = swaks("--server", f"127.0.0.1:{node.ports['smtp']}", "--header", "Subject: via MX")
    assert "250 2.0.0 Ok: queued as" in out
    out = swaks("--server", f"127.0.0.1:{node.ports['submission']}", "--tls",
                "--auth", "LOGIN", "--auth-user", USER, "--auth-password", PASSWORD,
                "--header", "Subject: via submission")
    assert "235 2.7.0" in out and "250 2.0.0 Ok: queued as" in out
    out = swaks("--server", f"127.0.0.1:{node.ports['smtps']}", "--tls-on-connect",
                "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                "--header", "Subject: via SMTPS")
    assert "235 2.7.0" in out and "250 2.0.0 Ok: queued as" in out

    deadline = time.monotonic() + 15
    while inbox_count(query, db) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert inbox_count(query, db) == 3

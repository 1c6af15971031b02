"""A real MTA in front of Tegu: Postfix from Debian, a private instance on
loopback, relays everything to the node's MX listener (relayhost), and
the mail lands in the user's INBOX. This is the interoperability check of
our SMTP server against the most common peer on the internet."""

import os
import shutil
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import free_port

DOMAIN = "relay.test"
USER = f"rcpt@{DOMAIN}"


def postconf(conf_dir, *args):
    subprocess.run(["postconf", "-c", conf_dir, *args], check=True, capture_output=True, text=True,
                   timeout=30)


class PrivatePostfix:
    """Postfix with its own configuration and queue in a temporary folder;
    its only listener is an smtpd on a free loopback port."""

    def __init__(self, relay_port):
        self.base = tempfile.mkdtemp(prefix="tegu-postfix-")
        os.chmod(self.base, 0o755)  # the postfix user must reach data/; nothing secret here
        self.conf = os.path.join(self.base, "etc")
        self.queue = os.path.join(self.base, "queue")
        self.data = os.path.join(self.base, "data")
        self.log = os.path.join(self.base, "maillog")
        for folder in (self.conf, self.queue, self.data):
            os.makedirs(folder)
        shutil.chown(self.data, "postfix")
        open(os.path.join(self.conf, "main.cf"), "w").close()
        shutil.copy("/etc/postfix/master.cf", os.path.join(self.conf, "master.cf"))
        self.port = free_port()
        postconf(self.conf, "-e",
                 "compatibility_level = 3.6",
                 f"queue_directory = {self.queue}",
                 f"data_directory = {self.data}",
                 f"maillog_file = {self.log}",
                 f"maillog_file_prefixes = {self.base}",
                 "syslog_name = postfix-tegu-test",
                 "inet_interfaces = 127.0.0.1",
                 "inet_protocols = ipv4",
                 "myhostname = postfix.relay-peer.test",
                 "mydestination =",
                 "mynetworks = 127.0.0.0/8",
                 f"relayhost = [127.0.0.1]:{relay_port}",
                 "alias_maps =",
                 "alias_database =",
                 "smtp_tls_security_level = none",
                 "smtpd_tls_security_level = none",
                 "smtpd_peername_lookup = no",
                 "smtp_dns_support_level = disabled")
        listeners = subprocess.run(["postconf", "-c", self.conf, "-M"], capture_output=True,
                                   text=True, check=True, timeout=30).stdout.splitlines()
        for line in listeners:
            fields = line.split()
            if len(fields) > 1 and fields[1] == "inet":
                postconf(self.conf, "-MX", f"{fields[0]}/inet")
        postconf(self.conf, "-Me",
                 f"127.0.0.1:{self.port}/inet = 127.0.0.1:{self.port} inet n - n - - smtpd")
        chroots = subprocess.run(["postconf", "-c", self.conf, "-F", "*/*/chroot"],
                                 capture_output=True, text=True, check=True, timeout=30).stdout
        for line in chroots.splitlines():
            name, _, value = line.partition(" = ")
            if value.strip() != "n":
                postconf(self.conf, "-F", "-e", f"{name} = n")
        started = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True,
                                 text=True, timeout=60)
        if started.returncode != 0:
            raise RuntimeError(f"Postfix did not start: {started.stderr}\n{self.log_text()}")

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""


@pytest.fixture
def postfix_in_front(node_factory, db):
    if shutil.which("postfix") is None:
        pytest.fail("postfix is not installed (deploy/packages.txt lists it)")
    node = node_factory(db).wait_healthy()
    assert node.teguctl("domain", "add", DOMAIN).returncode == 0
    assert node.teguctl("user", "add", USER, "--password-stdin", input="pw\n").returncode == 0
    postfix = PrivatePostfix(node.ports["smtp"])
    yield node, postfix
    postfix.stop()


def test_postfix_relays_to_tegu(postfix_in_front, db, query):
    node, postfix = postfix_in_front
    deadline = time.monotonic() + 15
    while True:
        try:
            client = smtplib.SMTP("127.0.0.1", postfix.port, timeout=10)
            break
        except OSError:
            assert time.monotonic() < deadline, "Postfix did not listen"
            time.sleep(0.2)
    with client:
        client.sendmail("sender@elsewhere.test", [USER],
                        b"Subject: via postfix\r\nFrom: sender@elsewhere.test\r\n\r\n"
                        b"relayed by a real MTA\r\n.leading dot\r\n")

    deadline = time.monotonic() + 30
    rows = []
    while time.monotonic() < deadline:
        rows = query(db, "SELECT convert_from(b.content, 'UTF8') FROM messages m"
                         " JOIN mail_blobs b ON b.hash = m.blob_hash"
                         " JOIN mailboxes x ON x.id = m.mailbox_id JOIN users u ON u.id = x.user_id"
                         " WHERE u.address = %s AND x.name = 'INBOX'", (USER,))
        if rows:
            break
        time.sleep(0.2)
    assert rows, f"not delivered; Postfix log:\n{postfix.log_text()[-3000:]}"
    (content,), = rows
    # Our trace header on top, Postfix's below it, the body intact.
    assert content.startswith("Received: from postfix.relay-peer.test")
    assert "by postfix.relay-peer.test (Postfix)" in content
    assert content.endswith("relayed by a real MTA\r\n.leading dot\r\n")
    assert "status=sent" in postfix.log_text()

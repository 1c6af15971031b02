"""Real mail clients from Debian against Tegu's IMAP server: mbsync (isync),
offlineimap (offlineimap3) and mutt, each over STARTTLS with the test's
self-signed certificate trusted and its password in its configuration.

The mailbox holds 1,000 varied messages in INBOX (plain, multipart with an
attachment, Cyrillic subjects in RFC 2047 and Cyrillic bodies, sizes up to
about 60 KB) plus some in two folders with Cyrillic names created over IMAP
in modified UTF-7. They are put there with APPEND in one imaplib session.

mbsync and offlineimap synchronise everything down into a Maildir (same
count per folder, a sample byte for byte equal to BODY.PEEK[]), push local
changes up (a message marked seen, one deleted, a new one in a Cyrillic
folder) and pull server changes down (a flag set, a message appended, one
expunged).
mutt, driven headless in a pty made by script(1), reads a message and saves
it to a Cyrillic folder (deleting the original), checked over imaplib; mutt
ENABLEs UTF8=ACCEPT, so it names that folder in UTF-8.

How each client names the Cyrillic folders on disk:
  mbsync 1.4 does no name conversion: the Maildir folders carry the server's
  modified UTF-7 names ("&BBAEQARFBDgEMg- 2026").
  offlineimap runs with utf8foldernames = yes and writes them in UTF-8
  ("Архив 2026").
Both store messages with LF line ends, and mbsync adds an X-TUID: header to
every message it copies, so a Maildir file is compared with BODY.PEEK[]
after CRLF -> LF and without that header.
"""

import email.header
import imaplib
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile

import pytest

from test_imap import ALICE, PASSWORDS, imap_utf7, setup_directory, tls_context

INBOX_MESSAGES = 1000
FOLDERS = {"INBOX": INBOX_MESSAGES, "Входящие/Отчёты": 30, "Архив 2026": 20}
CLIENT_TIMEOUT = 90  # seconds, for any one run of a client


# ---------------------------------------------------------------- the mailbox

def make_message(n, subject=None, body=None):
    """Message n, identified by Message-ID <n@clients.test>. Every 3rd has a
    Cyrillic subject and body, every 5th is multipart with a base64
    attachment, every 100th is about 60 KB."""
    cyrillic = n % 3 == 0
    subject = subject or (f"Отчёт №{n} за квартал" if cyrillic else f"message {n}")
    body = body or ("Привет! Это письмо номер {n}.\r\n" if cyrillic
                    else "Hello, this is message {n}.\r\n").format(n=n)
    if n % 100 == 99:
        body += "".join(f"filler line {i:05d} of a long message, ascii only\r\n"
                        for i in range(1200))
    head = (f"From: Carol <carol@remote.test>\r\nTo: Alice <{ALICE}>\r\n"
            f"Subject: {email.header.Header(subject, 'utf-8').encode()}\r\n"
            f"Date: Mon, 23 Nov 2026 10:{n // 60 % 60:02d}:{n % 60:02d} +0300\r\n"
            f"Message-ID: <{n}@clients.test>\r\nMIME-Version: 1.0\r\n")
    text_part = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    if n % 5:
        return (head + text_part + "\r\n" + body).encode()
    return (head + 'Content-Type: multipart/mixed; boundary="=b"\r\n\r\n'
            + "--=b\r\n" + text_part + "\r\n" + body
            + f'--=b\r\nContent-Type: application/octet-stream; name="data{n}.bin"\r\n'
            + "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--=b--\r\n").encode()


def quoted(folder):
    """A folder name as an IMAP quoted string in modified UTF-7."""
    return '"' + imap_utf7(folder) + '"'


def imap_login(site):
    client = imaplib.IMAP4("127.0.0.1", site.ports["imap"], timeout=30)
    client.starttls(tls_context())
    # imaplib writes an APPEND's literal and its CRLF apart: without this,
    # Nagle and delayed ACKs cost 40 ms per message.
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.login(ALICE, PASSWORDS[ALICE])
    return client


def fill_mailbox(site):
    """Creates the folders and APPENDs every message in one session.
    Message numbers: INBOX 0..999, then the folders' in order."""
    client = imap_login(site)
    number = 0
    for folder, count in FOLDERS.items():
        if folder != "INBOX":
            assert client.create(quoted(folder))[0] == "OK"
        for _ in range(count):
            typ, data = client.append(quoted(folder), None, None, make_message(number))
            assert typ == "OK", (typ, data)
            number += 1
    client.logout()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for "localhost" (the clients check the name)."""
    folder = tmp_path_factory.mktemp("cert")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def site(node_factory, db, certificate):
    """A node with the certificate, the directory and the filled mailbox."""
    cert, key = certificate
    node = node_factory(db, extra_settings={"sslCertPath": cert, "sslKeyPath": key},
                        listen=("http", "https")).wait_healthy()
    setup_directory(node)
    node.cert = cert
    fill_mailbox(node)
    return node


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="tegu-clients-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- server side

def server_counts(client):
    return {folder: int(client.select(quoted(folder), readonly=True)[1][0])
            for folder in FOLDERS}


def find_on_server(client, folder, message_id):
    """(uid, flags) of the message in folder, or None."""
    assert client.select(quoted(folder))[0] == "OK"
    typ, data = client.uid("SEARCH", "HEADER", "Message-ID", message_id)
    assert typ == "OK"
    if not data[0]:
        return None
    uid = data[0].split()[0].decode()
    typ, data = client.uid("FETCH", uid, "(FLAGS)")
    return uid, [flag.decode() for flag in imaplib.ParseFlags(data[0])]


def server_body(client, folder, message_id):
    uid, _ = find_on_server(client, folder, message_id)
    typ, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    return data[0][1]


# ---------------------------------------------------------------- Maildir side

def maildir_files(folder_dir):
    return [os.path.join(folder_dir, sub, name) for sub in ("new", "cur")
            for name in os.listdir(os.path.join(folder_dir, sub))]


def maildir_find(folder_dir, message_id):
    """The path of the message with that Message-ID in a Maildir folder, or None."""
    needle = f"\nMessage-ID: {message_id}\n".encode()
    for path in maildir_files(folder_dir):
        with open(path, "rb") as f:
            if needle in b"\n" + f.read():
                return path
    return None


def maildir_flags(path):
    return path.rsplit(":2,", 1)[1] if ":2," in path else ""


def maildir_mark_seen(path):
    """What a mail reader does on reading: move to cur/, add the S flag."""
    folder_dir = os.path.dirname(os.path.dirname(path))
    base, _, flags = os.path.basename(path).partition(":2,")
    os.rename(path, os.path.join(folder_dir, "cur", base + ":2," + "".join(sorted(flags + "S"))))


def maildir_deliver(folder_dir, message):
    name = f"1795000000.local{os.getpid()}.testhost"
    with open(os.path.join(folder_dir, "tmp", name), "wb") as f:
        f.write(message.replace(b"\r\n", b"\n"))
    os.rename(os.path.join(folder_dir, "tmp", name), os.path.join(folder_dir, "new", name))


# ---------------------------------------------------------------- the clients

def run_client(argv, home, timeout=CLIENT_TIMEOUT, env=None):
    """Runs a client to the end (bounded); fails with its output if it fails."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
                   "LANG": "C.UTF-8", **(env or {})}
    try:
        result = subprocess.run(argv, cwd=home, env=environment, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{argv[0]} still running after {timeout} s\n"
                             f"{(e.stdout or b'')[-3000:]!r}\n{(e.stderr or b'')[-3000:]!r}")
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, f"{shlex.join(argv)} exited {result.returncode}:\n" \
                                   f"{output[-6000:]}"
    return output


class Mbsync:
    """mbsync with one channel for every folder (Patterns *)."""

    def __init__(self, site, home):
        self.home, self.mail = home, os.path.join(home, "Mail")
        os.mkdir(self.mail)
        self.config = os.path.join(home, "mbsyncrc")
        with open(self.config, "w") as f:
            f.write(f"IMAPAccount tegu\nHost localhost\nPort {site.ports['imap']}\n"
                    f"User {ALICE}\nPass {PASSWORDS[ALICE]}\nSSLType STARTTLS\n"
                    f"CertificateFile {site.cert}\nTimeout 30\n\n"
                    "IMAPStore remote\nAccount tegu\n\n"
                    f"MaildirStore local\nPath {self.mail}/\nInbox {self.mail}/INBOX\n"
                    "SubFolders Verbatim\n\n"
                    "Channel tegu\nFar :remote:\nNear :local:\nPatterns *\n"
                    "Create Both\nExpunge Both\nSyncState *\n")

    def folder_dir(self, folder):
        return os.path.join(self.mail, imap_utf7(folder))  # names stay in modified UTF-7

    def sync(self):
        return run_client(["mbsync", "-V", "-c", self.config, "-a"], self.home)


class OfflineImap:
    """offlineimap, one-shot, one connection, folder names in UTF-8.

    Two things of offlineimap 8.0.0 / imaplib2 3.5, not of the server:
    - Under STARTTLS it calls imaplib2's starttls() bare: sslcacertfile
      (and ssl_version) are ignored and the certificate is not checked.
    - Over TLS 1.3 imaplib2 used to lose its first command after STARTTLS
      about once in 100 connections: its reader thread woke on the server's
      post-handshake session tickets and blocked in SSL_read while the
      writer thread called SSL_write on the same SSL object; the server
      then ended the session after 60 s ("* BYE Autologout"). The server
      sends no session tickets since (conn_tls_server_ctx), so this runs
      on TLS 1.3 as a user's offlineimap would."""

    def __init__(self, site, home):
        self.home, self.mail = home, os.path.join(home, "Mail")
        self.config = os.path.join(home, "offlineimaprc")
        with open(self.config, "w") as f:
            f.write(f"[general]\naccounts = tegu\nmetadata = {home}/metadata\n\n"
                    "[Account tegu]\nlocalrepository = local\nremoterepository = remote\n"
                    "utf8foldernames = yes\n\n"
                    f"[Repository local]\ntype = Maildir\nlocalfolders = {self.mail}\nsep = /\n\n"
                    "[Repository remote]\ntype = IMAP\nremotehost = localhost\n"
                    f"remoteport = {site.ports['imap']}\nremoteuser = {ALICE}\n"
                    f"remotepass = {PASSWORDS[ALICE]}\nssl = no\nstarttls = yes\n"
                    f"sslcacertfile = {site.cert}\nmaxconnections = 1\n")

    def folder_dir(self, folder):
        return os.path.join(self.mail, folder)

    def sync(self):
        return run_client(["offlineimap", "-c", self.config, "-o", "-u", "quiet"], self.home)


# ---------------------------------------------------------------- the tests

# Message-ID -> folder (see make_message): 60 KB, multipart, Cyrillic, Cyrillic
# in a Cyrillic folder.
SAMPLES = {"<99@clients.test>": "INBOX", "<100@clients.test>": "INBOX",
           "<102@clients.test>": "INBOX",
           f"<{INBOX_MESSAGES + 2}@clients.test>": "Входящие/Отчёты"}


@pytest.mark.parametrize("client_class", [Mbsync, OfflineImap], ids=["mbsync", "offlineimap"])
def test_sync_both_ways(site, workdir, client_class):
    client = client_class(site, workdir)
    imap = imap_login(site)

    # Down: everything arrives, byte for byte.
    client.sync()
    counts = server_counts(imap)
    assert counts == FOLDERS
    assert {f: len(maildir_files(client.folder_dir(f))) for f in FOLDERS} == counts
    for message_id, folder in SAMPLES.items():
        with open(maildir_find(client.folder_dir(folder), message_id), "rb") as f:
            local = re.sub(rb"^X-TUID: .*\n", b"", f.read(), count=1, flags=re.M)
        assert local == server_body(imap, folder, message_id).replace(b"\r\n", b"\n")

    # Up: read one, delete one, write a new one into a Cyrillic folder.
    inbox, reports = client.folder_dir("INBOX"), client.folder_dir("Входящие/Отчёты")
    maildir_mark_seen(maildir_find(inbox, "<5@clients.test>"))
    os.unlink(maildir_find(inbox, "<6@clients.test>"))
    maildir_deliver(reports, make_message(5000, subject="Сделано локально"))
    client.sync()
    assert "\\Seen" in find_on_server(imap, "INBOX", "<5@clients.test>")[1]
    assert find_on_server(imap, "INBOX", "<6@clients.test>") is None
    assert find_on_server(imap, "Входящие/Отчёты", "<5000@clients.test>") is not None
    assert find_on_server(imap, "INBOX", "<5000@clients.test>") is None
    assert server_counts(imap) == {**FOLDERS, "INBOX": INBOX_MESSAGES - 1,
                                   "Входящие/Отчёты": FOLDERS["Входящие/Отчёты"] + 1}

    # Down again: a flag set, a message appended and one expunged on the server.
    uid, _ = find_on_server(imap, "INBOX", "<7@clients.test>")
    assert imap.uid("STORE", uid, "+FLAGS", "(\\Flagged)")[0] == "OK"
    uid, _ = find_on_server(imap, "INBOX", "<8@clients.test>")
    assert imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert imap.expunge()[0] == "OK"
    assert imap.append(quoted("Архив 2026"), None, None,
                       make_message(6000, subject="С сервера"))[0] == "OK"
    imap.logout()
    client.sync()
    assert "F" in maildir_flags(maildir_find(inbox, "<7@clients.test>"))
    assert "S" in maildir_flags(maildir_find(inbox, "<5@clients.test>"))
    assert maildir_find(inbox, "<8@clients.test>") is None
    assert len(maildir_files(inbox)) == INBOX_MESSAGES - 2
    assert maildir_find(client.folder_dir("Архив 2026"), "<6000@clients.test>")
    assert len(maildir_files(client.folder_dir("Архив 2026"))) == FOLDERS["Архив 2026"] + 1


def test_mutt_reads_and_saves_to_another_folder(site, workdir):
    imap = imap_login(site)
    assert imap.append("INBOX", None, None,
                       make_message(7000, subject="lunch", body="Pizza at noon?\r\n"))[0] == "OK"
    muttrc = os.path.join(workdir, "muttrc")
    with open(muttrc, "w") as f:
        f.write(f'set folder = "imap://localhost:{site.ports["imap"]}/"\n'
                'set spoolfile = "+INBOX"\n'
                f'set imap_user = "{ALICE}"\nset imap_pass = "{PASSWORDS[ALICE]}"\n'
                f"set ssl_starttls = yes\nset ssl_force_tls = yes\n"
                f"set certificate_file = {site.cert}\n"
                "set confirmappend = no\nset confirmcreate = no\nset delete = yes\n"
                "set move = no\nset quit = yes\nset wait_key = no\nset record = ''\n"
                "set header_cache = ''\nset sort = mailbox-order\nset timeout = 5\n")
    # Read the message in the pager, then tag it and save it to "Архив 2026"
    # (<quote-char> before the space: in a folder prompt a bare space would
    # complete the name), then sync (expunges the original) and quit.
    keys = ("<search>~s lunch<enter><display-message><exit>"
            "<tag-pattern>~s lunch<enter><tag-prefix>"
            "<save-message>=Архив<quote-char> 2026<enter><sync-mailbox><quit>")
    mutt = ["mutt", "-n", "-F", muttrc, "-f", "=INBOX", "-e", f'push "{keys}"']
    # mutt is a curses program: script(1) gives it a terminal.
    run_client(["script", "-qec", shlex.join(mutt), "/dev/null"], workdir,
               env={"TERM": "vt100"})

    assert find_on_server(imap, "INBOX", "<7000@clients.test>") is None
    moved = find_on_server(imap, "Архив 2026", "<7000@clients.test>")
    assert moved is not None and "\\Seen" in moved[1]
    assert server_counts(imap) == {**FOLDERS, "Архив 2026": FOLDERS["Архив 2026"] + 1}
    imap.logout()

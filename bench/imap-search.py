#!/usr/bin/python3
"""IMAP SEARCH on a large mailbox: how long a Tegu node (SEARCH in
PostgreSQL, BODY and TEXT through a full-text index) and Dovecot (Maildir,
no full-text search plugin) take to answer the same commands over IMAP on
the same mailbox of N messages.

The mailbox. N messages (--messages, default 20000) generated from a fixed
seed: English and Russian text drawn from small word lists, random
subjects (Russian ones as RFC 2047 encoded-words) and From addresses,
bodies 7bit, 8bit, quoted-printable or base64, in UTF-8 and some Russian
ones in KOI8-R; about a third multipart (text and HTML alternatives, text
with a base64 attachment of random bytes up to 300 KB). Internal dates
spread over 2024 and 2025 in append order; 1 in 7 messages left unseen.
A few invented marker words sit in known messages (in the body, the
subject, the From address or an X-Bench-Tag field), so each query's
answer is known beforehand. The markers are words no other word contains
and whose first five letters start no other word, so Tegu's BODY/TEXT (whole
words, by prefix, through the full-text index) and Dovecot's (substrings
of the decoded text) must find the same messages.

The fill. One imaplib connection per server (TCP_NODELAY on its socket:
without it every APPEND waits for a delayed ACK) logs in, creates the
mailbox Bench and APPENDs the messages one by one with their internal
date and \\Seen flag, then flags some (UID STORE +FLAGS \\Flagged). The
time per message is the fill's wall clock over N.

The queries. A second connection per server, a minimal IMAP client whose
reading costs next to nothing, SELECTs Bench and runs each command once
unmeasured on both servers (Dovecot builds its cache file, the page cache
fills), then --repeat times (default 5) alternately on Tegu and Dovecot;
the table gives the median, from sending the command to reading its
tagged OK. Each answer is checked: the UIDs found must be the expected
ones on both servers (SORT: in the expected order; FETCH and SELECT: the
expected count); a row where they are not is marked (!) and explained.

The servers: PostgreSQL and Dovecot must be running (the wrapper
bench/run-imap-search.sh starts them); the Tegu node is started here from
--tegu-build, with IMAP on a free loopback port, imapPlaintextAuth on
(loopback only, no certificate needed) and the user bench@example.test.

Bounded: N messages, --repeat runs per query, and everything within
--timeout seconds (each IMAP command at most 300 s of them).

What it shares with the other drivers (the Tegu node, its users, the
tables) is in bench/benchlib.py.
"""
import base64
import datetime
import email.utils
import imaplib
import os
import quopri
import random
import re
import socket
import statistics
import sys
import time

import psycopg2

import benchlib

DOMAIN = "example.test"
USER = "bench"
PASSWORD = "bench-password"
MAILBOX = "Bench"
SEED = 20261123


def say(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)

# ------------------------------------------------------------ the mailbox

RUSSIAN_WORDS = (
    "и в не на я быть он с что а по это она этот к но они мы как из у который то за "
    "свой весь год от так о для ты же все тот мочь вы человек такой его сказать "
    "только или еще бы себя один как уже до время если сам когда другой вот говорить "
    "наш мой знать стать при чтобы дело жизнь кто первый очень два день ее новый "
    "рука даже во со раз где там под можно ну какой после их работа без самый потом "
    "надо хотеть ли слово идти большой должен место иметь ничто отчет встреча бюджет "
    "счет договор поставка проект черновик вложение пожалуйста спасибо квартал "
    "совещание согласование сроки клиент заказ оплата письмо").split()

EN_NAMES = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
            "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen").split()
EN_SURNAMES = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
               "Hernandez Lopez Wilson Anderson Taylor Moore Jackson Martin Lee Thompson").split()
# (Cyrillic, Latin) pairs: the display name in Cyrillic, the address in Latin.
RU_NAMES = [("Иван", "ivan"), ("Мария", "maria"), ("Алексей", "alexey"), ("Ольга", "olga"),
            ("Дмитрий", "dmitry"), ("Елена", "elena"), ("Сергей", "sergey"),
            ("Наталья", "natalia"), ("Андрей", "andrey"), ("Татьяна", "tatiana")]
RU_SURNAMES = [("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"),
               ("Попов", "popov"), ("Васильев", "vasiliev"), ("Петров", "petrov"),
               ("Соколов", "sokolov"), ("Михайлов", "mikhailov"), ("Новиков", "novikov"),
               ("Федоров", "fedorov")]
SENDER_DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "partner.example.ru",
                  "supplier.example.com")
FIRST_DAY = datetime.date(2024, 1, 1)
DAYS = 731  # 2024 and 2025

# The markers: invented words, each put into a known set of messages.
BODY_EN = "quokkaberry"       # the body (text or HTML part, any encoding)
BODY_RU = "шмыгозавр"         # the body of Russian messages
TEXT_WORD = "fjordbanjo"      # the body of some messages, the subject of others
SUBJECT_EN = "Xylograph"      # the subject
SUBJECT_RU = "дирижаблик"     # the subject, as an RFC 2047 encoded-word
FREQUENT = "meridian"         # the body of 5 % of the messages
FROM_NAME, FROM_ADDR = "Quentin Zanzibarov", "q.zanzibarov@rare-sender.test"
TAG_NEEDLE = "needle-7"       # X-Bench-Tag; the others are "batch-" and hex digits
MARKER_COUNTS = {"body_en": 15, "body_ru": 11, "text_body": 8, "text_subject": 6,
                 "subject_en": 12, "subject_ru": 9, "from": 7, "tag": 10}


class Message:
    """One generated message: its octets (CRLF), internal date, flags and
    which markers it holds where."""
    __slots__ = ("data", "internaldate", "sent", "seen", "flagged", "body", "subject",
                 "sender", "tag")

    def __init__(self):
        self.body, self.subject = set(), set()
        self.sender = self.tag = self.flagged = False


def encoded_words(text):
    """text as RFC 2047 B encoded-words of at most 75 characters on folded
    lines; each holds whole words and the space after them, so the decoded
    text keeps its spaces."""
    words, chunks, chunk = text.split(" "), [], ""
    for k, word in enumerate(words):
        piece = word + (" " if k + 1 < len(words) else "")
        if chunk and len(base64.b64encode((chunk + piece).encode())) > 60:
            chunks.append(chunk)
            chunk = ""
        chunk += piece
    chunks.append(chunk)
    return "\n ".join("=?UTF-8?B?" + base64.b64encode(c.encode()).decode() + "?="
                      for c in chunks)


def sentences(rng, vocabulary, count, markers):
    """count words of vocabulary in sentences, the markers put in at random places."""
    words = [rng.choice(vocabulary) for _ in range(count)]
    for marker in markers:
        words.insert(rng.randrange(len(words) + 1), marker)
    out, start = [], True
    for word in words:
        out.append(word.capitalize() if start else word)
        start = rng.random() < 0.1
        if start:
            out[-1] += "."
    return " ".join(out) + "."


def wrap(text, width=72):
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line]) + "\n"


def text_part(rng, ctype, text, russian):
    """A text part's header and body (LF line ends): charset UTF-8 or, for
    some Russian text, KOI8-R; 7bit/8bit, quoted-printable or base64."""
    charset = "koi8-r" if russian and rng.random() < 0.15 else "utf-8"
    raw = text.encode(charset)
    pick = rng.random()
    if pick < 0.2:
        cte, body = "quoted-printable", quopri.encodestring(raw).decode("ascii")
    elif pick < (0.35 if russian else 0.3):
        cte, body = "base64", base64.encodebytes(raw).decode("ascii")
    else:
        cte, body = ("8bit" if russian else "7bit"), raw.decode(charset)
    if not body.endswith("\n"):
        body += "\n"
    return (f"Content-Type: {ctype}; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n",
            body, charset)


def html_of(text):
    return ("<html><body>\n" + "".join(f"<p>{wrap(p).strip()}</p>\n" for p in text.split(". "))
            + "</body></html>\n")


def attachment(rng):
    pick = rng.random()
    size = (rng.randint(2000, 20000) if pick < 0.7 else rng.randint(20000, 60000)
            if pick < 0.95 else rng.randint(60000, 300000))
    name = f"{rng.choice(('report', 'scan', 'invoice', 'photo', 'data'))}-{rng.randint(1, 999)}.bin"
    return (f"Content-Type: application/octet-stream; name=\"{name}\"\n"
            f"Content-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\n\n"
            + base64.encodebytes(rng.randbytes(size)).decode("ascii"))


def multipart(rng, subtype, parts):
    boundary = f"=_part_{rng.getrandbits(48):012x}"
    body = "".join(f"--{boundary}\n{p}" for p in parts) + f"--{boundary}--\n"
    return f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\n\n", body


def make_message(rng, i, n, markers):
    """Message i of n; markers: {kind: set of message indexes}."""
    m = Message()
    russian = rng.random() < 0.35
    vocabulary = RUSSIAN_WORDS if russian else benchlib.ENGLISH_WORDS

    # Dates: internal dates in append order over the two years, in working
    # hours UTC; the Date: field up to an hour earlier, in one of four zones.
    day = FIRST_DAY + datetime.timedelta(days=i * DAYS // n)
    m.internaldate = datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc) \
        + datetime.timedelta(seconds=rng.randint(8 * 3600, 17 * 3600))
    m.sent = m.internaldate - datetime.timedelta(seconds=rng.randint(5, 3600))
    zone = datetime.timezone(datetime.timedelta(hours=rng.choice((0, 3, -5, 1))))
    m.seen = i % 7 != 0

    # The sender.
    if i in markers["from"]:
        m.sender = True
        sender = f"{FROM_NAME} <{FROM_ADDR}>"
    elif russian:
        (first, f_lat), (last, l_lat) = rng.choice(RU_NAMES), rng.choice(RU_SURNAMES)
        sender = (f"{encoded_words(f'{first} {last}')} "
                  f"<{f_lat}.{l_lat}@{rng.choice(SENDER_DOMAINS)}>")
    else:
        first, last = rng.choice(EN_NAMES), rng.choice(EN_SURNAMES)
        sender = f"{first} {last} <{first.lower()}.{last.lower()}@{rng.choice(SENDER_DOMAINS)}>"

    # The subject.
    subject_markers = []
    if i in markers["subject_en"]:
        subject_markers.append(SUBJECT_EN)
        m.subject.add(SUBJECT_EN.lower())
    if i in markers["text_subject"]:
        subject_markers.append(TEXT_WORD)
        m.subject.add(TEXT_WORD)
    if i in markers["subject_ru"]:
        subject_markers.append(SUBJECT_RU)
        m.subject.add(SUBJECT_RU)
    subject = sentences(rng, vocabulary, rng.randint(2, 8), subject_markers).rstrip(".")
    subject = rng.choice(("", "", "", "Re: ", "Fwd: ")) + subject
    if any(ord(c) > 127 for c in subject):
        subject = encoded_words(subject)

    # The text.
    body_markers = []
    for kind, word in (("body_en", BODY_EN), ("body_ru", BODY_RU), ("text_body", TEXT_WORD)):
        if i in markers[kind]:
            body_markers.append(word)
            m.body.add(word)
    if rng.random() < 0.05:
        body_markers.append(FREQUENT)
        m.body.add(FREQUENT)
    length = min(int(rng.lognormvariate(4.6, 0.8)) + 10, 1500)
    text = sentences(rng, vocabulary, length, body_markers)

    # The structure.
    pick = rng.random()
    plain = text_part(rng, "text/plain", wrap(text), russian)
    if pick < 0.62:
        head, body = plain[:2]
    elif pick < 0.67:
        head, body = text_part(rng, "text/html", html_of(text), russian)[:2]
    else:
        alternative = multipart(rng, "alternative", [
            "".join(plain[:2]), "".join(text_part(rng, "text/html", html_of(text), russian)[:2])])
        if pick < 0.82:
            head, body = alternative
        else:
            first = "".join(alternative) if pick > 0.97 else "".join(plain[:2])
            head, body = multipart(rng, "mixed", [first, attachment(rng)])

    header = (f"From: {sender}\n"
              f"To: Bench User <{USER}@{DOMAIN}>\n"
              f"Subject: {subject}\n"
              f"Date: {email.utils.format_datetime(m.sent.astimezone(zone))}\n"
              f"Message-ID: <{rng.getrandbits(64):016x}.{i}@bench.test>\n")
    if i in markers["tag"]:
        m.tag = True
        header += f"X-Bench-Tag: {TAG_NEEDLE}\n"
    elif rng.random() < 0.5:
        header += f"X-Bench-Tag: batch-{rng.getrandbits(16):04x}\n"
    if rng.random() < 0.3:
        header += "X-Mailer: Bench Mailer 1.0\n"
    header += "MIME-Version: 1.0\n"
    m.data = (header + head + body).replace("\n", "\r\n").encode("utf-8")
    return m


def make_mailbox(n):
    """The n messages, and the indexes of the flagged ones."""
    rng = random.Random(SEED)
    markers = {kind: set(rng.sample(range(n), count)) for kind, count in MARKER_COUNTS.items()}
    words = set(benchlib.ENGLISH_WORDS) | set(RUSSIAN_WORDS)
    for marker in (BODY_EN, BODY_RU, TEXT_WORD, SUBJECT_EN.lower(), SUBJECT_RU, FREQUENT,
                   "zanzibarov", TAG_NEEDLE):
        # Substring (Dovecot) and prefix (Tegu) would differ on such words.
        clash = [w for w in words if marker in w or w.startswith(marker[:5])]
        assert not clash, (marker, clash)
    messages = [make_message(rng, i, n, markers) for i in range(n)]
    # Flagged: one in 97, and two of the messages with BODY_EN (for NOT FLAGGED).
    flagged = {i for i in range(n) if i % 97 == 3} | set(sorted(markers["body_en"])[:2])
    for i in flagged:
        messages[i].flagged = True
    return messages, sorted(flagged)


# ------------------------------------------------------------ the queries

def day(text):
    return datetime.datetime.strptime(text, "%d-%b-%Y").date()


def date_range(since, before):
    return lambda m: day(since) <= m.internaldate.date() < day(before)


def queries(n):
    """(label, command parts, kind, expected): a part that is bytes goes as a
    literal; expected is a test of a Message (search, sort) or a count."""
    month, one_day = ("1-Mar-2025", "1-Apr-2025"), ("10-Mar-2025", "11-Mar-2025")
    in_month, in_day = date_range(*month), date_range(*one_day)
    first = max(1, n - 999)
    return [
        ("SELECT Bench", ["SELECT", MAILBOX], "select", n),
        ("UID SEARCH ALL", ["UID SEARCH ALL"], "search", lambda m: True),
        (f"UID SEARCH BODY {BODY_EN}", [f"UID SEARCH BODY {BODY_EN}"], "search",
         lambda m: BODY_EN in m.body),
        (f"UID SEARCH CHARSET UTF-8 BODY {BODY_RU}",
         ["UID SEARCH CHARSET UTF-8 BODY", BODY_RU.encode()], "search",
         lambda m: BODY_RU in m.body),
        (f"UID SEARCH BODY {FREQUENT}", [f"UID SEARCH BODY {FREQUENT}"], "search",
         lambda m: FREQUENT in m.body),
        (f"UID SEARCH TEXT {TEXT_WORD}", [f"UID SEARCH TEXT {TEXT_WORD}"], "search",
         lambda m: TEXT_WORD in m.body or TEXT_WORD in m.subject),
        (f"UID SEARCH SUBJECT {SUBJECT_EN.lower()}",
         [f"UID SEARCH SUBJECT {SUBJECT_EN.lower()}"], "search",
         lambda m: SUBJECT_EN.lower() in m.subject),
        (f"UID SEARCH CHARSET UTF-8 SUBJECT {SUBJECT_RU}",
         ["UID SEARCH CHARSET UTF-8 SUBJECT", SUBJECT_RU.encode()], "search",
         lambda m: SUBJECT_RU in m.subject),
        ("UID SEARCH FROM zanzibarov", ["UID SEARCH FROM zanzibarov"], "search",
         lambda m: m.sender),
        (f"UID SEARCH HEADER X-Bench-Tag {TAG_NEEDLE}",
         [f"UID SEARCH HEADER X-Bench-Tag {TAG_NEEDLE}"], "search", lambda m: m.tag),
        ("UID SEARCH SINCE {} BEFORE {}".format(*month),
         ["UID SEARCH SINCE {} BEFORE {}".format(*month)], "search", in_month),
        ("UID SEARCH SINCE {} BEFORE {}".format(*one_day),
         ["UID SEARCH SINCE {} BEFORE {}".format(*one_day)], "search", in_day),
        ("UID SEARCH FLAGGED", ["UID SEARCH FLAGGED"], "search", lambda m: m.flagged),
        ("UID SEARCH UNSEEN", ["UID SEARCH UNSEEN"], "search", lambda m: not m.seen),
        ("UID SEARCH LARGER 50000", ["UID SEARCH LARGER 50000"], "search",
         lambda m: len(m.data) > 50000),
        (f"UID SEARCH OR BODY {BODY_EN} FROM zanzibarov NOT FLAGGED",
         [f"UID SEARCH OR BODY {BODY_EN} FROM zanzibarov NOT FLAGGED"], "search",
         lambda m: (BODY_EN in m.body or m.sender) and not m.flagged),
        (f"UID SEARCH SINCE 1-Jan-2025 UNSEEN BODY {FREQUENT}",
         [f"UID SEARCH SINCE 1-Jan-2025 UNSEEN BODY {FREQUENT}"], "search",
         lambda m: m.internaldate.year >= 2025 and not m.seen and FREQUENT in m.body),
        (f"UID SEARCH NOT BODY {FREQUENT}", [f"UID SEARCH NOT BODY {FREQUENT}"], "search",
         lambda m: FREQUENT not in m.body),
        ("FETCH 1:* (FLAGS UID)", ["FETCH 1:* (FLAGS UID)"], "fetch", n),
        (f"FETCH {first}:{n} (ENVELOPE)", [f"FETCH {first}:{n} (ENVELOPE)"], "fetch",
         n - first + 1),
        ("UID SORT (DATE) UTF-8 ALL", ["UID SORT (DATE) UTF-8 ALL"], "sort", lambda m: True),
    ]


# ------------------------------------------------------------ IMAP

LITERAL = re.compile(rb"\{(\d+)\}$")


class Client:
    """A minimal IMAP client for the timed commands: sends a command (its
    literals synchronizing) and reads the answer up to the tagged line,
    literals included, with little work per line."""

    def __init__(self, name, port, timeout):
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf, self.pos, self.tags = bytearray(), 0, 0
        self.line()  # the greeting

    def close(self):
        self.sock.close()

    def _more(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError(f"{self.name} closed the connection")
        if self.pos > 1 << 20:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += data

    def line(self):
        """One response line, a literal's octets inline."""
        out = []
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            while end < 0:
                scanned = len(self.buf) - self.pos  # _more() may move the data
                self._more()
                end = self.buf.find(b"\r\n", self.pos + max(0, scanned - 1))
            text = bytes(self.buf[self.pos:end])
            self.pos = end + 2
            out.append(text)
            literal = LITERAL.search(text)
            if not literal:
                return b"".join(out)
            size = int(literal.group(1))
            while len(self.buf) - self.pos < size:
                self._more()
            out.append(bytes(self.buf[self.pos:self.pos + size]))
            self.pos += size

    def command(self, parts, timeout):
        """Sends the command (parts: str as is, bytes as a literal, joined by
        spaces); returns (the untagged lines, seconds to the tagged OK)."""
        self.sock.settimeout(timeout)
        self.tags += 1
        tag = b"b%d" % self.tags
        untagged = []
        start = time.perf_counter()
        pending = tag
        for part in parts:
            if isinstance(part, bytes):
                self.sock.sendall(pending + b" {%d}\r\n" % len(part))
                while True:
                    reply = self.line()
                    if reply.startswith(b"+"):
                        break
                    if not reply.startswith(b"*"):
                        raise RuntimeError(f"{self.name}: {reply[:300]!r}")
                    untagged.append(reply)
                pending = part
            else:
                pending += b" " + part.encode()
        self.sock.sendall(pending + b"\r\n")
        while True:
            reply = self.line()
            if reply.startswith(tag + b" "):
                break
            untagged.append(reply)
        elapsed = time.perf_counter() - start
        if not reply.startswith(tag + b" OK"):
            raise RuntimeError(f"{self.name}: {' '.join(map(str, parts))}: "
                               f"{reply.decode(errors='replace')[:300]}")
        return untagged, elapsed


def uid_set(uids):
    """Sorted UIDs as an IMAP set: "1:3,7"."""
    runs = []
    for uid in uids:
        if runs and runs[-1][1] + 1 == uid:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in runs)


def fill(name, port, messages, flagged, deadline):
    """APPENDs the messages over one imaplib connection and flags some;
    returns (the UID of each message, seconds the APPENDs took)."""
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=300)
    imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        imap.login(f"{USER}@{DOMAIN}", PASSWORD)
        typ, data = imap.create(MAILBOX)
        if typ != "OK":
            raise RuntimeError(f"{name}: CREATE {MAILBOX}: {data}")
        uids = []
        start = time.monotonic()
        for k, m in enumerate(messages):
            typ, data = imap.append(MAILBOX, "(\\Seen)" if m.seen else None, m.internaldate,
                                    m.data)
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"") if typ == "OK" else None
            if not found:
                raise RuntimeError(f"{name}: APPEND of message {k + 1}: {typ} {data}")
            uids.append(int(found.group(1)))
            if (k + 1) % 2000 == 0:
                say(f"{name}: {k + 1} messages appended, "
                             f"{(time.monotonic() - start) * 1000 / (k + 1):.2f} ms each")
            if time.monotonic() > deadline:
                raise SystemExit(f"--timeout reached while filling {name}")
        seconds = time.monotonic() - start
        typ, data = imap.select(MAILBOX)
        if typ != "OK":
            raise RuntimeError(f"{name}: SELECT {MAILBOX}: {data}")
        typ, data = imap.uid("STORE", uid_set(sorted(uids[i] for i in flagged)),
                             "+FLAGS.SILENT", "(\\Flagged)")
        if typ != "OK":
            raise RuntimeError(f"{name}: STORE \\Flagged: {data}")
        imap.logout()
        return uids, seconds
    finally:
        if imap.state != "LOGOUT":
            imap.shutdown()


def answer(kind, untagged):
    """What a command found: UIDs (search: a set; sort: a list) or a count."""
    if kind == "select":
        for line in untagged:
            found = re.match(rb"\* (\d+) EXISTS", line)
            if found:
                return int(found.group(1))
        return None
    if kind == "fetch":
        return sum(1 for line in untagged if re.match(rb"\* \d+ FETCH", line))
    head = b"* SEARCH" if kind == "search" else b"* SORT"
    uids = [int(x) for line in untagged if line.startswith(head) for x in line.split()[2:]]
    return set(uids) if kind == "search" else uids


def expected_answer(kind, expected, messages, uids):
    if kind in ("select", "fetch"):
        return expected
    chosen = [k for k, m in enumerate(messages) if expected(m)]
    if kind == "search":
        return {uids[k] for k in chosen}
    # SORT (DATE): by the Date: field's instant, ties by sequence number.
    return [uids[k] for k in sorted(chosen, key=lambda k: (messages[k].sent, k))]


def size_of(found):
    return found if isinstance(found, int) or found is None else len(found)


# ------------------------------------------------------------ the run

def disk_mib(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total / 1048576


def log_problems(tegu_log, dovecot_log):
    problems = []
    with open(tegu_log, errors="replace") as f:
        problems += [f"tegu: {line.strip()[:300]}" for line in f
                     if "level=warn" in line or "level=error" in line]
    with open(dovecot_log, errors="replace") as f:
        problems += [f"dovecot: {line.strip()[:300]}" for line in f
                     if re.search(r"\b(Warning|Error|Panic|Fatal):", line)]
    return problems


def analyzed(dsn):
    """Whether autovacuum has analyzed messages and mail_blobs yet."""
    with psycopg2.connect(dsn, application_name="bench") as db, db.cursor() as cur:
        cur.execute("SELECT relname, coalesce(greatest(last_analyze, last_autoanalyze)::text,"
                    " 'never') FROM pg_stat_user_tables"
                    " WHERE relname IN ('messages', 'mail_blobs') ORDER BY relname")
        return ", ".join(f"{r} {when[:19]}" for r, when in cur.fetchall())


def database_mib(dsn):
    with psycopg2.connect(dsn, application_name="bench") as db, db.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        return cur.fetchone()[0] / 1048576


def main():
    ap = benchlib.argument_parser(__doc__)
    ap.add_argument("--dsn", required=True, help="PostgreSQL DSN for the Tegu node")
    ap.add_argument("--dovecot-port", type=int, required=True)
    ap.add_argument("--dovecot-log", required=True)
    ap.add_argument("--mail-root", required=True, help="Dovecot's home folders (disk use)")
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per query (median)")
    ap.add_argument("--timeout", type=int, default=2400, help="seconds for the whole run")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    if not 1000 <= args.messages <= 200000 or not 1 <= args.repeat <= 50:
        ap.error("--messages: 1000 to 200000; --repeat: 1 to 50")
    benchlib.exit_on_sigterm()
    deadline = time.monotonic() + args.timeout

    started = time.monotonic()
    messages, flagged = make_mailbox(args.messages)
    total = sum(len(m.data) for m in messages)
    say(f"{len(messages)} messages generated in {time.monotonic() - started:.1f} s, "
        f"{total / 1048576:.1f} MiB, {len(flagged)} to flag")

    workdir = os.path.join(args.workdir, "tegu")
    os.makedirs(workdir, exist_ok=True)
    conf, log_path = os.path.join(workdir, "tegu.conf"), os.path.join(workdir, "tegu.log")
    http_port, imap_port = benchlib.free_port(), benchlib.free_port()
    benchlib.write_tegu_conf(conf, workdir, "bench-search", args.dsn, http_port,
                             benchlib.free_port(), benchlib.free_port(),
                             global_extra="shutdownGrace = 5\n", imap_port=imap_port,
                             settings={"imapPlaintextAuth": "true"})
    proc = benchlib.start_tegu(args.tegu_build, conf, log_path)
    clients = []
    try:
        benchlib.wait_healthy(proc, http_port, log_path)
        benchlib.add_users(args.tegu_build, conf, DOMAIN, [USER], PASSWORD)
        say(f"tegu node pid {proc.pid}, IMAP on 127.0.0.1:{imap_port}; "
            f"Dovecot on 127.0.0.1:{args.dovecot_port}")
        servers = [("tegu", imap_port), ("dovecot", args.dovecot_port)]
        uids, fill_rows = {}, []
        for name, port in servers:
            say(f"{name}: appending {len(messages)} messages")
            uids[name], seconds = fill(name, port, messages, flagged, deadline)
            fill_rows.append([name, str(len(messages)), f"{seconds:.1f}",
                              f"{seconds * 1000 / len(messages):.2f}"])
            say(f"{name}: filled in {seconds:.1f} s")
        fill_rows[0].append(f"{database_mib(args.dsn):.0f} (database)")
        fill_rows[1].append(f"{disk_mib(args.mail_root):.0f} (Maildir and index files)")
        stats_before = analyzed(args.dsn)

        for name, port in servers:
            clients.append(Client(name, port, 60))
            clients[-1].command([f"LOGIN {USER}@{DOMAIN} {PASSWORD}"], 60)
            clients[-1].command(["SELECT", MAILBOX], 60)
        rows, problems = [], []
        for label, parts, kind, expected in queries(args.messages):
            times = {c.name: [] for c in clients}
            found = {}
            for run in range(args.repeat + 1):
                for client in clients:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise SystemExit(f"--timeout reached at: {label}")
                    untagged, seconds = client.command(parts, min(300, left))
                    if run == 0:
                        found[client.name] = answer(kind, untagged)  # warm-up: checked only
                    else:
                        times[client.name].append(seconds * 1000)
            wrong = []
            for client in clients:
                want = expected_answer(kind, expected, messages, uids[client.name])
                if found[client.name] != want:
                    got = found[client.name]
                    if size_of(got) == size_of(want):
                        detail = "same count, other messages or order"
                    else:
                        detail = f"{size_of(got)} found"
                    wrong.append(f"{client.name} {detail}")
            want_count = size_of(expected_answer(kind, expected, messages, uids["tegu"]))
            hits = str(want_count) + (" (!)" if wrong else "")
            if wrong:
                problems.append(f"{label}: expected {want_count}; " + "; ".join(wrong))
            rows.append([label, hits] + [f"{statistics.median(times[c.name]):.1f}"
                                         for c in clients])
            say(f"{label}: {hits} hits, " + ", ".join(
                f"{c.name} {statistics.median(times[c.name]):.1f} ms "
                f"({min(times[c.name]):.1f}-{max(times[c.name]):.1f})" for c in clients))
        for client in clients:
            client.command(["LOGOUT"], 30)
        stats_after = analyzed(args.dsn)
    finally:
        for client in clients:
            client.close()
        benchlib.stop_tegu(proc)

    print(benchlib.table(["query", "hits", "Tegu ms", "Dovecot ms"], rows,
                         [False, True, True, True]))
    print()
    print(benchlib.table(["server", "messages", "fill s", "fill ms/message", "MiB on disk"],
                         fill_rows, [False, True, True, True, True]))
    print()
    print(f"{len(messages)} messages, {total / 1048576:.1f} MiB as appended "
          f"({total / len(messages) / 1024:.1f} KiB on average); {args.repeat} timed runs "
          f"per query after one warm-up, median. Tables last analyzed (autovacuum), after "
          f"the fill: {stats_before}; at the end: {stats_after}.")
    problems += [f"log: {p}" for p in log_problems(log_path, args.dovecot_log)[:10]]
    for p in problems:
        print(f"(!) {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

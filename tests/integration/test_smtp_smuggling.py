"""The DATA body against the ugly cases: NUL octets, over-long lines, bare
CR and bare LF, dot-stuffing, and the SMTP smuggling variants (SEC
Consult, 2023: an end of data other than <CRLF>.<CRLF> that one server
takes and another does not, so a second, forged message rides inside the
first). Each case checks the reply and exactly what was queued.

Only <CRLF>.<CRLF> ends the data here, and a bare CR or LF anywhere gets
the whole message refused (550 5.6.0): so every smuggling attempt ends as
no message at all, never as two.

The node is shared by the module (see test_smtp.py for the helpers).
"""

import uuid

import pytest

from test_smtp import (ALICE, BOB, SERVER_NAME, dot_stuff, make_message, messages_from,
                       queue_entries, queued_message, running_site, split_received,
                       unique_sender)


@pytest.fixture(scope="module")
def site(pg_server, tegu_build):
    with running_site(pg_server, tegu_build, {"serverName": SERVER_NAME}) as s:
        yield s


@pytest.fixture(autouse=True)
def _site_log_on_failure(request):
    yield
    if getattr(request.node, "tegu_failed", False) and "site" in request.fixturenames:
        s = request.getfixturevalue("site")
        s.failed = True
        print(f"--- node {s.node.name} log, last 60 lines ({s.node.log_path}):")
        print(s.node.log_tail(60))


def stored_message(site, reply):
    """The message of a 250 reply as queued, without our Received: header."""
    assert (reply.code, reply.enhanced) == (250, "2.0.0"), reply
    return split_received(queued_message(site.dsn, reply.queue_id)["body"])[1]


# ---------------------------------------------------------------- dot-stuffing

def test_dot_stuffing_round_trip(site):
    message = (b"Subject: dots\r\n\r\n"
               b".x\r\n"          # sent as ..x
               b".\r\n"           # a lone dot inside: sent as ..
               b"..\r\n"          # sent as ...
               b". leading dot and space\r\n"
               b"a.b\r\n"
               b"\r\n"
               b".\r\n")
    with site.session("smtp") as c:
        c.mail(unique_sender("dots"))
        c.rcpt(ALICE)
        r = c.data(dot_stuff(message) + b".\r\n")
        assert stored_message(site, r) == message

        # The exact bytes of the brief: "..x" is stored as ".x".
        c.mail(unique_sender("dots"))
        c.rcpt(ALICE)
        r = c.data(b"..x\r\n.\r\n")
        assert stored_message(site, r) == b".x\r\n"

        # A client that forgot to stuff: the first dot is still removed
        # (RFC 5321 4.5.2).
        c.mail(unique_sender("dots"))
        c.rcpt(ALICE)
        r = c.data(b"Subject: unstuffed\r\n\r\n.hidden\r\n.\r\n")
        assert stored_message(site, r) == b"Subject: unstuffed\r\n\r\nhidden\r\n"

        # The CRLF of the DATA line starts the first line: ".\r\n" at once
        # is an empty message.
        c.mail(unique_sender("dots"))
        c.rcpt(ALICE)
        r = c.data(b".\r\n")
        assert stored_message(site, r) == b""
        c.quit()


def test_end_of_data_cut_across_writes(site):
    message = b"Subject: pieces\r\n\r\n..stuffed\r\nlast line\r\n"
    with site.session("smtp") as c:
        c.mail(unique_sender("pieces"))
        c.rcpt(ALICE)
        wire = dot_stuff(message) + b".\r\n"
        # Every octet its own write: the reader must give the same result.
        r = c.data(None, pieces=[bytes([b]) for b in wire])
        assert stored_message(site, r) == message
        c.quit()


# ---------------------------------------------------------------- refused bodies

REFUSED_BODIES = {
    "nul": (b"Subject: nul\r\n\r\nbefore\x00after\r\n", 554),
    "line-1001-octets": (b"Subject: long\r\n\r\n" + b"a" * 999 + b"\r\n", 554),
    "bare-lf": (b"Subject: lf\r\n\r\nline one\nline two\r\n", 550),
    "bare-cr": (b"Subject: cr\r\n\r\nline one\rline two\r\n", 550),
    "bare-lf-in-header": (b"Subject: lf\nBcc: <victim@remote.test>\r\n\r\nbody\r\n", 550),
    "cr-cr-lf": (b"Subject: crcrlf\r\n\r\nbody\r\r\n", 550),
    "bare-lf-first": (b"\nSubject: lf first\r\n\r\nbody\r\n", 550),
}


@pytest.mark.parametrize("case", list(REFUSED_BODIES))
def test_refused_body_queues_nothing(site, case):
    body, code = REFUSED_BODIES[case]
    sender = unique_sender(case)
    with site.session("smtp") as c:
        c.mail(sender)
        c.rcpt(ALICE)
        r = c.data(body + b".\r\n")
        assert (r.code, r.enhanced) == (code, "5.6.0"), r
        c.silent(0.2)
        # The transaction is over; the session goes on and the next
        # message is queued alone.
        c.expect(f"RCPT TO:<{ALICE}>", 503, "5.5.1")
        good = make_message(f"after {case}")
        good_id = c.send_message(sender, [BOB], good)
        c.quit()
    assert messages_from(site.dsn, sender) == [good_id]
    assert split_received(queued_message(site.dsn, good_id)["body"])[1] == good
    assert [e[0] for e in queue_entries(site.dsn, good_id)] == [BOB]


@pytest.mark.parametrize("first", [b"b", b"."])
def test_longest_line_is_accepted(site, first):
    """A line of 1000 octets with its CRLF is allowed, "not counting the
    leading dot duplicated for transparency" (RFC 5321 4.5.3.1.6): a
    1000-octet line that starts with a dot is 1001 octets on the wire."""
    message = b"Subject: 998\r\n\r\n" + first + b"c" * 997 + b"\r\n"
    with site.session("smtp") as c:
        c.mail(unique_sender("998"))
        c.rcpt(ALICE)
        r = c.data(dot_stuff(message) + b".\r\n")
        assert stored_message(site, r) == message
        c.quit()


# ---------------------------------------------------------------- smuggling

SMUGGLING_ENDS = {
    "LF.LF": b"\n.\n",
    "CR.CR": b"\r.\r",
    "LF.CRLF": b"\n.\r\n",
    "CRLF.LF": b"\r\n.\n",
    "CRLF.CR": b"\r\n.\r",
    "CR.LF": b"\r.\n",
    "CRLF.CRCRLF": b"\r\n.\r\r\n",
    "CRLF.SP-CRLF": b"\r\n. \r\n",
}


def smuggling_payload(legit_sender, evil_sender):
    first = (f"From: <{legit_sender}>\r\nTo: <{ALICE}>\r\nSubject: legit\r\n\r\n"
             f"hello").encode()
    smuggled = (f"MAIL FROM:<{evil_sender}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n"
                f"From: <ceo@{ALICE.split('@')[1]}>\r\nTo: <{ALICE}>\r\n"
                f"Subject: smuggled\r\n\r\nwire the money\r\n").encode()
    return first, smuggled


@pytest.mark.parametrize("split", ["one-write", "cut"])
@pytest.mark.parametrize("variant", list(SMUGGLING_ENDS))
def test_smuggling_variant_is_one_message_at_most(site, variant, split):
    end = SMUGGLING_ENDS[variant]
    legit = unique_sender("legit")
    evil = f"evil-{uuid.uuid4().hex[:12]}@x"
    first, smuggled = smuggling_payload(legit, evil)
    wire = first + end + smuggled + b"\r\n.\r\n"
    with site.session("smtp") as c:
        c.mail(legit)
        c.rcpt(ALICE)
        if split == "one-write":
            r = c.data(wire)
        else:  # the fake end cut into single octets, each its own write
            r = c.data(None, pieces=[first] + [bytes([b]) for b in end]
                       + [smuggled, b"\r\n.\r\n"])
        # One reply for the whole thing. The fake end holds a bare CR or
        # LF (or is no end at all), so the message is refused.
        if variant == "CRLF.SP-CRLF":
            # ". " is a stuffed line " ": no bare CR/LF, one message.
            assert (r.code, r.enhanced) == (250, "2.0.0"), r
        else:
            assert (r.code, r.enhanced) == (550, "5.6.0"), r
        c.silent(0.3)  # no replies to smuggled MAIL/RCPT/DATA
        c.expect("NOOP", 250, "2.0.0")
        c.quit()
    assert messages_from(site.dsn, evil) == []
    queued = messages_from(site.dsn, legit)
    if variant == "CRLF.SP-CRLF":
        assert len(queued) == 1
        body = split_received(queued_message(site.dsn, queued[0])["body"])[1]
        # The would-be commands are content of the one message.
        assert body == first + b"\r\n \r\n" + smuggled + b"\r\n"
    else:
        assert queued == []


def test_real_end_then_pipelined_second_message(site):
    """The control for the cases above: with a real <CRLF>.<CRLF> the same
    bytes are two messages, both queued exactly."""
    legit = unique_sender("legit")
    second_sender = unique_sender("second")
    first, second = smuggling_payload(legit, second_sender)
    with site.session("smtp") as c:
        c.mail(legit)
        c.rcpt(ALICE)
        r = c.data(first + b"\r\n.\r\n" + second + b"\r\n.\r\n")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        first_id = r.queue_id
        c.expect_reply(250, "2.1.0")
        c.expect_reply(250, "2.1.5")
        assert c.read_reply().code == 354
        r = c.expect_reply(250, "2.0.0")
        second_id = r.queue_id
        c.quit()
    assert messages_from(site.dsn, legit) == [first_id]
    assert messages_from(site.dsn, second_sender) == [second_id]
    assert split_received(queued_message(site.dsn, first_id)["body"])[1] == first + b"\r\n"
    smuggled_body = second.split(b"DATA\r\n", 1)[1] + b"\r\n"
    assert split_received(queued_message(site.dsn, second_id)["body"])[1] == smuggled_body


# ---------------------------------------------------------------- pipelining

def test_pipelined_transactions_in_one_write(site):
    sender = unique_sender("pipe")
    m1 = make_message("first pipelined")
    m2 = make_message("second pipelined", to=BOB)
    with site.session("smtp") as c:
        c.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{ALICE}>\r\n"
               f"RCPT TO:<nobody@example.test>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n".encode())
        c.expect_reply(250, "2.1.0")
        c.expect_reply(250, "2.1.5")
        c.expect_reply(550, "5.1.1")
        c.expect_reply(250, "2.1.5")
        assert c.read_reply().code == 354
        # The rest of the session in one write: end of the first message,
        # a whole second transaction, QUIT.
        c.send(dot_stuff(m1) + b".\r\n"
               + f"MAIL FROM:<{sender}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n".encode()
               + dot_stuff(m2) + b".\r\nQUIT\r\n")
        id1 = c.expect_reply(250, "2.0.0").queue_id
        c.expect_reply(250, "2.1.0")
        c.expect_reply(250, "2.1.5")
        assert c.read_reply().code == 354
        id2 = c.expect_reply(250, "2.0.0").queue_id
        c.expect_reply(221, "2.0.0")
        assert c.closed()
    assert messages_from(site.dsn, sender) == [id1, id2]
    assert split_received(queued_message(site.dsn, id1)["body"])[1] == m1
    assert split_received(queued_message(site.dsn, id2)["body"])[1] == m2
    assert [e[0] for e in queue_entries(site.dsn, id1)] == [ALICE, BOB]
    assert [e[0] for e in queue_entries(site.dsn, id2)] == [BOB]

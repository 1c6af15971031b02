"""SORT (RFC 5256) with ESORT (RFC 5267) and DISPLAYFROM/DISPLAYTO (RFC
5957), QUOTA (RFC 9208), and LIST-EXTENDED (RFC 5258) with LIST-STATUS (RFC
5819) and the SPECIAL-USE options (RFC 6154), over raw sockets: imaplib
knows none of them. The SORT messages are chosen so that every criterion
gives another order, with base subjects behind "Re: [list] Fwd: ... (fwd)"
and Cyrillic encoded-words, a message without Date:, dates in several
zones and INTERNALDATEs set apart."""

import base64
import re

import pytest

from test_imap import (ALICE, Raw, deliver, inbox_count, make_certificate,
                       setup_directory, wait_for)


def encoded(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


# (From, To, Cc, Subject, Date, body length); the comments give the keys.
MESSAGES = [
    # FROM carl, DISPLAYFROM "ZED ZULU", TO yuri (no name), CC bea, SUBJECT "banana"
    ('"Zed Zulu" <carl@remote.test>', "yuri@remote.test", "bea@remote.test",
     "Re: [list] Fwd: banana (fwd)", "Thu, 03 Jan 2030 10:00:00 +0000", 3000),
    # FROM anna (no name), TO zoe "Boris", no Cc, SUBJECT "Яблоко"
    ("anna@remote.test", "Boris <zoe@remote.test>", None,
     encoded("Яблоко"), "Tue, 01 Jan 2030 12:00:00 +0300", 1000),
    # FROM Bob (case), TO xena "Anton", CC abe, SUBJECT "apple", no Date:
    ('"Mila" <Bob@remote.test>', '"Anton" <xena@remote.test>', "abe@remote.test",
     "apple", None, 5000),
    # FROM dave, TO adam "Vera", SUBJECT "Re: Абрикос" in one encoded-word
    ('"Ivan" <dave@remote.test>', '"Vera" <adam@remote.test>', None,
     encoded("Re: Абрикос"), "Fri, 04 Jan 2030 08:00:00 +0100", 2000),
    # FROM eve, TO carl (no name), SUBJECT "[fwd: Cherry]"
    ('"Bella" <eve@remote.test>', "carl@remote.test", None,
     "[fwd: Cherry]", "Mon, 31 Dec 2029 23:00:00 -0500", 4000),
]

# INTERNALDATE per message; the third one's is also its DATE (no Date:).
ARRIVALS = ["2030-02-05 00:00:00+00", "2030-02-03 00:00:00+00", "2030-01-02 00:00:00+00",
            "2030-02-04 00:00:00+00", "2030-02-01 00:00:00+00"]


def message(sender, to, cc, subject, date, size):
    lines = [f"From: {sender}", f"To: {to}"]
    if cc:
        lines.append(f"Cc: {cc}")
    lines.append(f"Subject: {subject}")
    if date:
        lines.append(f"Date: {date}")
    body = ("x" * 70 + "\r\n") * (size // 72)
    return "\r\n".join(lines) + "\r\n\r\n" + body


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("cert"))


def start(node_factory, db, certificate):
    cert, key = certificate
    node = node_factory(db, extra_settings={"sslCertPath": cert, "sslKeyPath": key},
                        listen=("http", "https")).wait_healthy()
    setup_directory(node)
    return node


@pytest.fixture
def sorted_site(node_factory, db, query, certificate):
    """alice's INBOX: a message expunged (so UIDs and numbers differ by
    one), then the five of MESSAGES in order, INTERNALDATEs set apart."""
    node = start(node_factory, db, certificate)
    deliver(node, ALICE, "Subject: gone\r\n\r\nsoon expunged\r\n")
    wait_for(lambda: inbox_count(query, db, ALICE) == 1, what="delivery")
    for i, fields in enumerate(MESSAGES):
        deliver(node, ALICE, message(*fields))
        wait_for(lambda: inbox_count(query, db, ALICE) == i + 2, what="delivery")
    raw = Raw(node)
    raw.ok("SELECT INBOX")
    raw.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    raw.ok("EXPUNGE")
    raw.close()
    for uid, when in enumerate(ARRIVALS, start=2):
        query(db, "UPDATE messages m SET internaldate = %s FROM mailboxes b, users u"
                  " WHERE m.mailbox_id = b.id AND b.user_id = u.id AND u.address = %s"
                  " AND b.name = 'INBOX' AND m.uid = %s", (when, ALICE, uid))
    return node


def sort(raw, text):
    line = raw.one(text, "* SORT")
    return [int(n) for n in line.split()[2:]]


def test_sort_by_each_criterion(sorted_site):
    raw = Raw(sorted_site)
    caps = raw.one("CAPABILITY", "* CAPABILITY").split()
    assert {"SORT", "SORT=DISPLAY", "ESORT"} <= set(caps)
    raw.ok("SELECT INBOX")
    # SUBJECT: apple, banana, cherry, then Cyrillic АБРИКОС before ЯБЛОКО.
    assert sort(raw, "SORT (SUBJECT) UTF-8 ALL") == [3, 1, 5, 4, 2]
    assert sort(raw, "SORT (REVERSE SUBJECT) US-ASCII ALL") == [2, 4, 5, 1, 3]
    assert sort(raw, "SORT (FROM) UTF-8 ALL") == [2, 3, 1, 4, 5]  # anna Bob carl dave eve
    assert sort(raw, "SORT (TO) UTF-8 ALL") == [4, 5, 3, 1, 2]  # adam carl xena yuri zoe
    # CC: no Cc is "" and sorts first, ties in message order.
    assert sort(raw, "SORT (CC) UTF-8 ALL") == [2, 4, 5, 3, 1]
    # DATE in UTC: 5 (Jan 1 04:00), 2 (09:00), 3 (no Date: its INTERNALDATE,
    # Jan 2), 1 (Jan 3), 4 (Jan 4 07:00).
    assert sort(raw, "SORT (DATE) UTF-8 ALL") == [5, 2, 3, 1, 4]
    assert sort(raw, "SORT (REVERSE DATE) UTF-8 ALL") == [4, 1, 3, 2, 5]
    assert sort(raw, "SORT (ARRIVAL) UTF-8 ALL") == [3, 5, 2, 4, 1]
    assert sort(raw, "SORT (SIZE) UTF-8 ALL") == [2, 4, 1, 5, 3]
    # RFC 5957: the display name, else the address.
    assert sort(raw, "SORT (DISPLAYFROM) UTF-8 ALL") == [2, 5, 4, 3, 1]
    assert sort(raw, "SORT (DISPLAYTO) UTF-8 ALL") == [3, 2, 5, 4, 1]
    # Several criteria; REVERSE applies to its own only.
    assert sort(raw, "SORT (CC REVERSE DATE) UTF-8 ALL") == [4, 2, 5, 3, 1]
    # Search keys as SEARCH has them.
    assert sort(raw, "SORT (SUBJECT) UTF-8 FROM remote.test NOT SUBJECT apple") == [1, 5, 4, 2]
    assert sort(raw, "SORT (DATE) UTF-8 LARGER 3500") == [5, 3]
    assert sort(raw, "SORT (DATE) UTF-8 SUBJECT nothing-like-it") == []
    raw.close()


def test_uid_sort_and_esort(sorted_site):
    raw = Raw(sorted_site)
    raw.ok("SELECT INBOX")
    # UIDs are the message numbers plus one.
    assert sort(raw, "UID SORT (SUBJECT) UTF-8 ALL") == [4, 2, 6, 5, 3]
    assert sort(raw, "UID SORT (SUBJECT) UTF-8 UID 2:4") == [4, 2, 3]
    # ESORT: MIN and MAX are the first and last in sort order.
    line = raw.one("SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL", "* ESEARCH")
    assert re.fullmatch(r'\* ESEARCH \(TAG "t\d+"\) MIN 3 MAX 2 COUNT 5', line), line
    line = raw.one("UID SORT RETURN (COUNT MIN) (REVERSE ARRIVAL) UTF-8 ALL", "* ESEARCH")
    assert re.fullmatch(r'\* ESEARCH \(TAG "t\d+"\) UID MIN 2 COUNT 5', line), line
    # ALL keeps the sort order; only ascending runs become ranges.
    line = raw.one("SORT RETURN (ALL) (DATE) UTF-8 ALL", "* ESEARCH")
    assert line.endswith(" ALL 5,2:3,1,4"), line
    line = raw.one("SORT RETURN () (SUBJECT) UTF-8 ALL", "* ESEARCH")
    assert line.endswith(" ALL 3,1,5,4,2"), line
    line = raw.one("SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing-like-it", "* ESEARCH")
    assert line.endswith(" COUNT 0"), line
    # CONDSTORE: a MODSEQ key adds the highest MODSEQ found.
    untagged = raw.ok("SORT (DATE) UTF-8 MODSEQ 1")
    assert re.fullmatch(r"\* SORT 5 2 3 1 4 \(MODSEQ \d+\)", untagged[-1]), untagged
    raw.close()


def test_sort_errors(sorted_site):
    raw = Raw(sorted_site)
    _, done = raw.cmd("SORT (DATE) UTF-8 ALL")
    assert done.startswith("BAD"), done  # nothing selected
    raw.ok("SELECT INBOX")
    _, done = raw.cmd("SORT (DATE) KOI8-R ALL")
    assert done.startswith("NO [BADCHARSET (US-ASCII UTF-8)]"), done
    for bad in ("SORT (DATE) ALL", "SORT () UTF-8 ALL", "SORT (BOGUS) UTF-8 ALL",
                "SORT (REVERSE) UTF-8 ALL", "SORT DATE UTF-8 ALL",
                "SORT RETURN (X) (DATE) UTF-8 ALL", "SORT (DATE) UTF-8 FROM"):
        _, done = raw.cmd(bad)
        assert done.startswith("BAD"), (bad, done)
    assert sort(raw, "SORT (DATE) UTF-8 ALL") == [5, 2, 3, 1, 4]
    raw.close()


# ---------------------------------------------------------------- QUOTA

def storage_kib(query, db):
    (octets,), = query(db, "SELECT coalesce(sum(m.size), 0) FROM messages m JOIN mailboxes b"
                           " ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id"
                           " WHERE u.address = %s", (ALICE,))
    return (octets + 1023) // 1024


def test_quota(node_factory, db, query, certificate):
    node = start(node_factory, db, certificate)
    deliver(node, ALICE, "Subject: one\r\n\r\n" + ("y" * 98 + "\r\n") * 30)
    wait_for(lambda: inbox_count(query, db, ALICE) == 1, what="delivery")
    used = storage_kib(query, db)
    assert used >= 3

    raw = Raw(node)
    caps = raw.one("CAPABILITY", "* CAPABILITY").split()
    assert {"QUOTA", "QUOTA=RES-STORAGE"} <= set(caps)
    # No quota: the root is there, with no resource.
    assert raw.ok("GETQUOTAROOT INBOX") == ['* QUOTAROOT "INBOX" ""', '* QUOTA "" ()']
    assert raw.ok('GETQUOTA ""') == ['* QUOTA "" ()']
    raw.close()

    result = node.teguctl("user", "set", ALICE, "--quota", "10")
    assert result.returncode == 0, result.stderr
    raw = Raw(node)  # the quota is read at login
    assert raw.ok("GETQUOTAROOT Sent") == ['* QUOTAROOT "Sent" ""',
                                           f'* QUOTA "" (STORAGE {used} 10240)']
    raw.ok("SELECT INBOX")  # and in the selected state too
    assert raw.ok('GETQUOTA ""') == [f'* QUOTA "" (STORAGE {used} 10240)']
    _, done = raw.cmd('SETQUOTA "" (STORAGE 99999)')
    assert done.startswith("NO [NOPERM]"), done
    _, done = raw.cmd('GETQUOTA "other"')
    assert done.startswith("NO"), done
    _, done = raw.cmd("GETQUOTAROOT Nowhere")
    assert done.startswith("NO [NONEXISTENT]"), done
    _, done = raw.cmd("GETQUOTAROOT")
    assert done.startswith("BAD"), done
    raw.close()


# ---------------------------------------------------------------- LIST

@pytest.fixture
def folders(node_factory, db, query, certificate):
    """alice with two messages in INBOX and mailboxes Work (unsubscribed),
    Work/Reports, Work/Old (unsubscribed) and Lists/Tegu, whose parent
    "Lists" does not exist."""
    node = start(node_factory, db, certificate)
    deliver(node, ALICE, "Subject: a\r\n\r\nfirst\r\n")
    deliver(node, ALICE, "Subject: b\r\n\r\nsecond\r\n")
    wait_for(lambda: inbox_count(query, db, ALICE) == 2, what="delivery")
    raw = Raw(node)
    for name in ("Work", "Work/Reports", "Work/Old", "Lists/Tegu"):
        raw.ok(f"CREATE {name}")
    raw.ok("UNSUBSCRIBE Work")
    raw.ok("UNSUBSCRIBE Work/Old")
    raw.ok("SELECT INBOX")
    raw.ok("STORE 1 +FLAGS.SILENT (\\Seen)")
    raw.close()
    return node


def listed(lines):
    """{name: (attributes, rest)} of LIST lines."""
    out = {}
    for line in lines:
        m = re.fullmatch(r'\* LIST \(([^)]*)\) "/" ("[^"]*"|\S+)(.*)', line)
        if m:
            out[m.group(2).strip('"')] = (set(m.group(1).split()), m.group(3))
    return out


def test_list_status_and_special_use(folders):
    raw = Raw(folders)
    caps = raw.one("CAPABILITY", "* CAPABILITY").split()
    assert {"LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE"} <= set(caps)
    lines = raw.ok('LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))')
    names = listed(lines)
    assert "\\Sent" in names["Sent"][0] and "\\Trash" in names["Trash"][0]
    assert "\\HasNoChildren" in names["INBOX"][0]
    assert names["Lists"][0] == {"\\NonExistent", "\\HasChildren"}
    # Each selectable mailbox's STATUS right after its LIST line.
    i = next(k for k, line in enumerate(lines) if line.endswith(' "/" "INBOX"'))
    assert lines[i + 1] == '* STATUS "INBOX" (MESSAGES 2 UNSEEN 1)'
    i = next(k for k, line in enumerate(lines) if line.endswith(' "/" "Work/Reports"'))
    assert lines[i + 1] == '* STATUS "Work/Reports" (MESSAGES 0 UNSEEN 0)'
    assert not any(line.startswith('* STATUS "Lists" ') for line in lines), lines
    assert sum(line.startswith("* STATUS ") for line in lines) == len(names) - 1

    # SPECIAL-USE as a selection: the special folders only.
    names = listed(raw.ok('LIST (SPECIAL-USE) "" "*"'))
    assert set(names) == {"Archive", "Drafts", "Junk", "Sent", "Trash"}
    # Unknown options are refused.
    for bad in ('LIST (RECURSIVEMATCH) "" "*"', 'LIST (BOGUS) "" "*"',
                'LIST "" "*" RETURN (BOGUS)', 'LIST "" "*" RETURN (STATUS (BOGUS))',
                'LIST "" "*" RETURN (STATUS)', 'LIST "" "*" (SUBSCRIBED)'):
        _, done = raw.cmd(bad)
        assert done.startswith("BAD"), (bad, done)
    raw.close()


def test_list_subscribed_and_patterns(folders):
    raw = Raw(folders)
    names = listed(raw.ok('LIST (SUBSCRIBED) "" "*"'))
    assert {"INBOX", "Work/Reports", "Lists/Tegu", "Sent"} <= set(names)
    assert not {"Work", "Work/Old", "Lists"} & set(names), names
    assert all("\\Subscribed" in attrs for attrs, _ in names.values())

    # RECURSIVEMATCH: parents with a subscribed descendant, with CHILDINFO.
    names = listed(raw.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'))
    assert names["Work"] == ({"\\HasChildren"}, ' ("CHILDINFO" ("SUBSCRIBED"))')
    assert names["Lists"] == ({"\\NonExistent", "\\HasChildren"},
                              ' ("CHILDINFO" ("SUBSCRIBED"))')
    assert names["INBOX"] == ({"\\Subscribed", "\\HasNoChildren"}, "")

    # RETURN (SUBSCRIBED) marks without selecting.
    names = listed(raw.ok('LIST "" "Work*" RETURN (SUBSCRIBED CHILDREN)'))
    assert names["Work"][0] == {"\\HasChildren"}
    assert names["Work/Reports"][0] == {"\\HasNoChildren", "\\Subscribed"}
    assert names["Work/Old"][0] == {"\\HasNoChildren"}

    # Several patterns, and the reference in front of each.
    names = listed(raw.ok('LIST "" (INBOX "Work/*")'))
    assert set(names) == {"INBOX", "Work/Reports", "Work/Old"}
    names = listed(raw.ok('LIST "Work/" ("R*" "O%")'))
    assert set(names) == {"Work/Reports", "Work/Old"}

    # \NonExistent under LIST-EXTENDED only; plain LIST and LSUB as before.
    assert listed(raw.ok('LIST () "" "%"'))["Lists"][0] == {"\\NonExistent", "\\HasChildren"}
    assert listed(raw.ok('LIST "" "%"'))["Lists"][0] == {"\\Noselect", "\\HasChildren"}
    lsub = raw.ok('LSUB "" "*"')
    assert '* LSUB () "/" "Work/Reports"' in lsub and '* LSUB (\\Noselect) "/" "Work"' in lsub
    assert not any(line.endswith(' "/" "Work/Old"') for line in lsub), lsub
    assert raw.ok('LIST "" ""') == ['* LIST (\\Noselect) "/" ""']
    raw.close()

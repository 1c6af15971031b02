"""What an address expands to, and logins: directory_expand() and
directory_authenticate() through `teguctl directory resolve` and
`teguctl directory auth` (node/directory/README.md, "Expansion")."""

import json

import pytest

from test_directory import PASSWORD, make_ctl


@pytest.fixture
def ctl(db, node_factory):
    c = make_ctl(node_factory, db)
    c.run("domain", "add", "example.com")
    c.run("domain", "add", "example.org")
    for user in ("alice", "bob", "carol", "dave"):
        c.run("user", "add", f"{user}@example.com")
    return c


def resolve(ctl, address):
    """[(kind, address)] in the printed order."""
    return [tuple(line) for line in ctl.lines("directory", "resolve", address)]


def users(*names):
    return [("user", f"{name}@example.com") for name in names]


def test_user_and_alternative_address(ctl):
    ctl.run("user", "address", "add", "alice@example.com", "ally@example.org")
    assert resolve(ctl, "alice@example.com") == users("alice")
    assert resolve(ctl, "ALLY@Example.org") == users("alice")


def test_unknown_and_external(ctl):
    assert resolve(ctl, "nobody@example.com") == []
    assert resolve(ctl, "Someone@Elsewhere.example") == [("external", "someone@elsewhere.example")]
    ctl.run("directory", "resolve", "not-an-address", rc=2)


def test_bare_postmaster(ctl):
    """RCPT TO:<Postmaster>: the postmaster@ of every local domain."""
    assert resolve(ctl, "postmaster") == []
    ctl.run("alias", "add", "postmaster@example.com", "alice@example.com")
    ctl.run("user", "address", "add", "bob@example.com", "postmaster@example.org")
    assert resolve(ctl, "Postmaster") == users("alice", "bob")


def test_disabled_user_skipped(ctl):
    ctl.run("group", "add", "team@example.com")
    ctl.run("group", "member", "add", "team@example.com", "alice@example.com")
    ctl.run("group", "member", "add", "team@example.com", "bob@example.com")
    ctl.run("user", "set", "bob@example.com", "--disable")
    assert resolve(ctl, "bob@example.com") == []
    assert resolve(ctl, "team@example.com") == users("alice")
    ctl.run("user", "set", "bob@example.com", "--enable")
    assert resolve(ctl, "team@example.com") == users("alice", "bob")


def test_group_members_subgroups_and_children(ctl):
    ctl.run("group", "add", "all@example.com")
    ctl.run("group", "add", "Sales", "--parent", "all@example.com")
    ctl.run("group", "add", "Sales EU", "--parent", "Sales")
    ctl.run("group", "add", "Board")
    ctl.run("group", "member", "add", "Sales", "alice@example.com")
    ctl.run("group", "member", "add", "Sales EU", "bob@example.com")
    ctl.run("group", "member", "add", "Board", "carol@example.com")
    ctl.run("group", "member", "add", "all@example.com", "Board")
    ctl.run("group", "member", "add", "all@example.com", "alice@example.com")
    # alice twice (directly and through Sales): once.
    assert resolve(ctl, "all@example.com") == users("alice", "bob", "carol")
    ctl.run("group", "add", "sales@example.com", "--parent", "Sales EU")
    ctl.run("group", "member", "add", "sales@example.com", "dave@example.com")
    assert resolve(ctl, "sales@example.com") == users("dave")
    assert resolve(ctl, "all@example.com") == users("alice", "bob", "carol", "dave")


def test_aliases_local_external_and_duplicates(ctl):
    ctl.run("group", "add", "team@example.com")
    ctl.run("group", "member", "add", "team@example.com", "alice@example.com")
    ctl.run("group", "member", "add", "team@example.com", "bob@example.com")
    ctl.run("alias", "add", "partners@example.com", "x@partner.example", "Y@partner.example")
    ctl.run("alias", "add", "info@example.com", "team@example.com", "alice@example.com",
            "partners@example.com", "x@partner.example", "ghost@example.com")
    assert resolve(ctl, "info@example.com") == users("alice", "bob") + [
        ("external", "x@partner.example"), ("external", "y@partner.example")]


def test_cycles_are_ignored(ctl):
    ctl.run("alias", "add", "a@example.com", "b@example.com", "alice@example.com")
    ctl.run("alias", "add", "b@example.com", "a@example.com", "out@partner.example")
    assert resolve(ctl, "a@example.com") == users("alice") + [("external", "out@partner.example")]
    assert resolve(ctl, "b@example.com") == users("alice") + [("external", "out@partner.example")]

    ctl.run("group", "add", "g1@example.com")
    ctl.run("group", "add", "g2@example.com")
    ctl.run("group", "member", "add", "g1@example.com", "g2@example.com")
    ctl.run("group", "member", "add", "g2@example.com", "g1@example.com")
    ctl.run("group", "member", "add", "g2@example.com", "bob@example.com")
    ctl.run("alias", "add", "c@example.com", "g1@example.com", "a@example.com")
    assert resolve(ctl, "g1@example.com") == users("bob")
    assert resolve(ctl, "c@example.com") == users("alice", "bob") + [
        ("external", "out@partner.example")]


@pytest.mark.parametrize("levels, delivered", [(10, True), (11, False)])
def test_alias_depth_limit(ctl, levels, delivered):
    """Ten levels of aliases are followed, the eleventh is not."""
    for i in range(1, levels):
        ctl.run("alias", "add", f"level{i}@example.com", f"level{i + 1}@example.com")
    ctl.run("alias", "add", f"level{levels}@example.com", "dave@example.com")
    assert resolve(ctl, "level1@example.com") == (users("dave") if delivered else [])


@pytest.mark.parametrize("levels, delivered", [(10, True), (11, False)])
def test_group_depth_limit(ctl, levels, delivered):
    """Ten levels of nested groups (by membership or parent) are followed."""
    ctl.run("group", "add", "top@example.com")
    previous = "top@example.com"
    for i in range(2, levels + 1):
        if i % 2:
            ctl.run("group", "add", f"G{i}")
            ctl.run("group", "member", "add", previous, f"G{i}")
        else:
            ctl.run("group", "add", f"G{i}", "--parent", previous)
        previous = f"G{i}"
    ctl.run("group", "member", "add", previous, "carol@example.com")
    assert resolve(ctl, "top@example.com") == (users("carol") if delivered else [])


def test_auth(ctl):
    ctl.run("user", "passwd", "alice@example.com", input=PASSWORD + "\n")
    ctl.run("user", "address", "add", "alice@example.com", "ally@example.org")
    assert ctl.auth("alice@example.com", PASSWORD) == "ok"
    assert ctl.auth("Alice@EXAMPLE.com", PASSWORD) == "ok"
    assert ctl.auth("ally@example.org", PASSWORD) == "ok"
    assert ctl.auth("alice@example.com", PASSWORD.upper()) == "fail"
    assert ctl.auth("alice@example.com", PASSWORD + " ") == "fail"
    assert ctl.auth("bob@example.com", PASSWORD) == "fail"      # no password
    assert ctl.auth("nobody@example.com", PASSWORD) == "fail"   # unknown
    assert ctl.auth("nobody@nowhere.example", PASSWORD) == "fail"
    assert ctl.auth("not-an-address", PASSWORD) == "fail"
    ctl.run("alias", "add", "info@example.com", "alice@example.com")
    ctl.run("group", "add", "team@example.com")
    assert ctl.auth("info@example.com", PASSWORD) == "fail"     # aliases do not log in
    assert ctl.auth("team@example.com", PASSWORD) == "fail"
    ctl.run("user", "set", "alice@example.com", "--disable")
    assert ctl.auth("alice@example.com", PASSWORD) == "fail"
    ctl.fails("directory", "auth", "alice@example.com", input="", rc=2)


def test_auth_with_imported_hash(ctl, tmp_path):
    """A hash of another crypt(3) scheme, imported, checks too ($6$: SHA-512)."""
    doc = json.loads(ctl.export())
    # crypt("secret", "$6$saltsalt$"), made with libxcrypt.
    doc["users"][0]["password_hash"] = (
        "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN"
        ".Pq.H91p5hVO1")
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    ctl.run("directory", "import", str(path))
    assert ctl.auth("alice@example.com", "secret") == "ok"
    assert ctl.auth("alice@example.com", "Secret") == "fail"

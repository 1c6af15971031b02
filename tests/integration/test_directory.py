"""The local directory through teguctl: domains, users, alternative
addresses, groups, aliases, export and import (node/directory/README.md).

Most tests run teguctl against a migrated database without a node; the
test about secrets runs a node too, to read its log."""

import json
import re

import pytest

PASSWORD = "Correct-Horse-7f3a9c"


class Ctl:
    """teguctl against one database; run() checks the exit code."""

    def __init__(self, node):
        self.node = node

    def run(self, *args, input=None, rc=0):
        result = self.node.teguctl(*args, input=input)
        assert result.returncode == rc, (
            f"teguctl {' '.join(args)}: exit {result.returncode}, wanted {rc}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}")
        if rc == 0:
            assert result.stderr == "", result.stderr
        else:
            assert result.stderr.strip(), "a failure must say why on stderr"
        return result

    def out(self, *args, input=None):
        return self.run(*args, input=input).stdout

    def lines(self, *args):
        return [line.split("\t") for line in self.out(*args).splitlines()]

    def fails(self, *args, input=None, rc=1):
        return self.run(*args, input=input, rc=rc).stderr

    def export(self):
        return self.out("directory", "export")

    def auth(self, login, password):
        """`directory auth`: "ok" (exit 0) or "fail" (exit 1)."""
        result = self.node.teguctl("directory", "auth", login, input=password + "\n")
        answer = result.stdout.strip()
        assert (answer, result.returncode) in (("ok", 0), ("fail", 1)), result
        return answer


def make_ctl(node_factory, dsn):
    node = node_factory(dsn, start=False)
    result = node.teguctl("migrate")
    assert result.returncode == 0, result.stderr
    return Ctl(node)


@pytest.fixture
def ctl(db, node_factory):
    return make_ctl(node_factory, db)


def populate(ctl):
    """A directory using every feature."""
    ctl.run("domain", "add", "example.com", "--quota", "1024", "--trash-quota", "100")
    ctl.run("domain", "add", "example.org")
    ctl.run("user", "add", "alice@example.com", "--password-stdin", "--name", "Alice Liddell",
            input=PASSWORD + "\n")
    ctl.run("user", "add", "bob@example.com", "--quota", "50")
    ctl.run("user", "add", "carol@example.org", "--password-stdin", "--name", "Кэрол",
            input="other-password\n")
    ctl.run("user", "set", "carol@example.org", "--disable")
    ctl.run("user", "address", "add", "alice@example.com", "a.liddell@example.com")
    ctl.run("user", "address", "add", "alice@example.com", "alice@example.org")
    ctl.run("group", "add", "staff@example.com")
    ctl.run("group", "add", "Sales", "--parent", "staff@example.com")
    ctl.run("group", "add", "Отдел кадров")
    ctl.run("group", "add", "Admins", "--master")
    ctl.run("group", "member", "add", "Sales", "bob@example.com")
    ctl.run("group", "member", "add", "staff@example.com", "alice@example.org")
    ctl.run("group", "member", "add", "staff@example.com", "Отдел кадров")
    ctl.run("group", "member", "add", "Admins", "alice@example.com")
    ctl.run("alias", "add", "info@example.com", "staff@example.com", "Boss@Partner.example")
    ctl.run("alias", "add", "postmaster@example.org", "alice@example.com")


# ---------------------------------------------------------------- domains

def test_domain_add_list_remove(ctl):
    ctl.run("domain", "add", "Example.COM", "--quota", "100", "--trash-quota=10")
    ctl.run("domain", "add", "mail.example.net")
    assert ctl.lines("domain", "list") == [
        ["example.com", "100", "10", "0"],
        ["mail.example.net", "0", "0", "0"],
    ]
    assert "already exists" in ctl.fails("domain", "add", "example.com")
    ctl.run("domain", "remove", "MAIL.example.net")
    assert ctl.lines("domain", "list") == [["example.com", "100", "10", "0"]]
    assert "no domain" in ctl.fails("domain", "remove", "mail.example.net")


@pytest.mark.parametrize("domain", ["", "-example.com", "example-.com", "exa mple.com",
                                    "example..com", ".example.com", "example.com.",
                                    "a" * 64 + ".com", "ex_ample.com", "пример.рф"])
def test_domain_invalid(ctl, domain):
    ctl.fails("domain", "add", domain, rc=2)
    assert ctl.out("domain", "list") == ""


@pytest.mark.parametrize("quota", ["-1", "ten", "1.5", "99999999999999"])
def test_domain_invalid_quota(ctl, quota):
    ctl.fails("domain", "add", "example.com", "--quota", quota, rc=2)
    ctl.fails("domain", "add", "example.com", "--trash-quota", quota, rc=2)
    assert ctl.out("domain", "list") == ""


def test_domain_remove_refuses_content_unless_forced(ctl, db, query):
    populate(ctl)
    before = ctl.export()
    err = ctl.fails("domain", "remove", "example.org")
    assert "not empty" in err and "--force" in err
    assert ctl.export() == before

    ctl.run("domain", "remove", "example.org", "--force")
    assert [d[0] for d in ctl.lines("domain", "list")] == ["example.com"]
    users = ctl.lines("user", "list")
    # carol (in example.org) is gone; alice keeps her example.com addresses only.
    assert [u[0] for u in users] == ["alice@example.com", "bob@example.com"]
    assert users[0][5] == "a.liddell@example.com"
    assert [a[0] for a in ctl.lines("alias", "list")] == ["info@example.com"]
    assert query(db, "SELECT count(*) FROM directory_addresses WHERE domain = 'example.org'") \
        == [(0,)]


def test_domain_remove_empty_domain_with_only_an_alias_needs_force(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("alias", "add", "a@example.com", "x@elsewhere.example")
    ctl.fails("domain", "remove", "example.com")
    ctl.run("domain", "remove", "example.com", "--force")
    assert ctl.out("alias", "list") == ""


# ---------------------------------------------------------------- users

def test_user_add_and_list(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("domain", "add", "example.org")
    ctl.run("user", "add", "Alice@Example.COM", "--password-stdin", "--name", "Alice A.",
            "--quota", "500", input=PASSWORD + "\n")
    ctl.run("user", "add", "bob@example.com")
    ctl.run("user", "add", "zed@example.org", "--name=Zed")
    assert ctl.lines("user", "list") == [
        ["alice@example.com", "Alice A.", "500", "enabled", "password", "-"],
        ["bob@example.com", "-", "default", "enabled", "no-password", "-"],
        ["zed@example.org", "Zed", "default", "enabled", "no-password", "-"],
    ]
    assert [u[0] for u in ctl.lines("user", "list", "example.org")] == ["zed@example.org"]
    assert "no domain" in ctl.fails("user", "list", "example.net")


def test_user_duplicates_and_unknown_domain_refused(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("user", "add", "alice@example.com")
    err = ctl.fails("user", "add", "ALICE@example.com")
    assert "alice@example.com is already used by a user" in err
    assert "no domain example.net" in ctl.fails("user", "add", "alice@example.net")
    assert len(ctl.lines("user", "list")) == 1


@pytest.mark.parametrize("address", ["alice", "@example.com", "alice@", "a@b@example.com",
                                     "al ice@example.com", ".alice@example.com",
                                     "alice.@example.com", "al..ice@example.com",
                                     '"alice"@example.com', "alice@exa_mple.com",
                                     "a" * 65 + "@example.com", "алиса@example.com",
                                     "a,b@example.com"])
def test_user_invalid_address(ctl, address):
    ctl.run("domain", "add", "example.com")
    ctl.fails("user", "add", address, rc=2)
    assert ctl.out("user", "list") == ""


def test_user_invalid_input(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.fails("user", "add", "a@example.com", "--quota", "lots", rc=2)
    ctl.fails("user", "add", "a@example.com", "--name", "tab\there", rc=2)
    ctl.fails("user", "add", "a@example.com", "--no-such-option", rc=2)
    # A password is never taken from the command line.
    ctl.fails("user", "add", "a@example.com", "--password", PASSWORD, rc=2)
    ctl.fails("user", "add", "a@example.com", "--password-stdin", input="", rc=2)
    ctl.fails("user", "add", "a@example.com", "--password-stdin", input="\n", rc=2)
    ctl.fails("user", "add", "a@example.com", "--password-stdin", input="x" * 1025 + "\n",
              rc=2)
    ctl.fails("user", "add", rc=2)
    assert ctl.out("user", "list") == ""


def test_user_passwd(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("user", "add", "alice@example.com")
    # Without a password, no login.
    assert ctl.auth("alice@example.com", PASSWORD) == "fail"
    ctl.run("user", "passwd", "alice@example.com", input=PASSWORD + "\r\n")
    assert ctl.auth("alice@example.com", PASSWORD) == "ok"
    ctl.run("user", "passwd", "alice@example.com", input="second password")
    assert ctl.auth("alice@example.com", PASSWORD) == "fail"
    assert ctl.auth("alice@example.com", "second password") == "ok"
    assert "no user" in ctl.fails("user", "passwd", "nobody@example.com", input="pw\n")
    ctl.fails("user", "passwd", "alice@example.com", input="", rc=2)
    ctl.fails("user", "passwd", "alice@example.com", PASSWORD, rc=2)


def test_user_set(ctl):
    ctl.run("domain", "add", "example.com", "--quota", "300")
    ctl.run("user", "add", "alice@example.com", "--password-stdin", input=PASSWORD + "\n")
    ctl.run("user", "set", "alice@example.com", "--name", "Alice", "--quota", "20")
    assert ctl.lines("user", "list")[0][:4] == ["alice@example.com", "Alice", "20", "enabled"]
    ctl.run("user", "set", "alice@example.com", "--quota", "default", "--disable")
    assert ctl.lines("user", "list")[0][:4] == ["alice@example.com", "Alice", "default",
                                                 "disabled"]
    assert ctl.auth("alice@example.com", PASSWORD) == "fail"
    ctl.run("user", "set", "alice@example.com", "--enable", "--name", "")
    assert ctl.lines("user", "list")[0][:4] == ["alice@example.com", "-", "default", "enabled"]
    assert ctl.auth("alice@example.com", PASSWORD) == "ok"

    ctl.fails("user", "set", "alice@example.com", "--enable", "--disable", rc=2)
    ctl.fails("user", "set", "alice@example.com", "--quota", "-5", rc=2)
    ctl.fails("user", "set", "alice@example.com", "--bogus", rc=2)
    assert "no user" in ctl.fails("user", "set", "nobody@example.com", "--enable")


def test_user_remove(ctl):
    populate(ctl)
    ctl.run("user", "remove", "alice@example.com")
    assert "alice@example.com" not in [u[0] for u in ctl.lines("user", "list")]
    groups = {g[0]: g for g in ctl.lines("group", "list")}
    assert groups["Admins"][4] == "-"
    assert groups["staff@example.com"][4] == "-"
    # Her addresses are free again.
    ctl.run("alias", "add", "a.liddell@example.com", "bob@example.com")
    ctl.run("user", "add", "alice@example.org")
    assert "no user" in ctl.fails("user", "remove", "alice@example.com")


def test_user_alternative_addresses(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("domain", "add", "example.org")
    ctl.run("user", "add", "alice@example.com", "--password-stdin", input=PASSWORD + "\n")
    ctl.run("user", "add", "bob@example.com")
    ctl.run("user", "address", "add", "alice@example.com", "Alice@Example.ORG")
    ctl.run("user", "address", "add", "alice@example.com", "al@example.com")
    assert ctl.lines("user", "list")[0][5] == "al@example.com,alice@example.org"
    # Login with an alternative address.
    assert ctl.auth("ALICE@example.org", PASSWORD) == "ok"

    assert "already used by an alternative address" in ctl.fails(
        "user", "address", "add", "bob@example.com", "al@example.com")
    assert "already used by a user" in ctl.fails(
        "user", "address", "add", "bob@example.com", "alice@example.com")
    assert "no user" in ctl.fails("user", "address", "add", "nobody@example.com",
                                  "x@example.com")
    assert "no domain" in ctl.fails("user", "address", "add", "bob@example.com",
                                    "bob@example.net")
    assert "not an alternative address" in ctl.fails(
        "user", "address", "remove", "bob@example.com", "al@example.com")
    ctl.fails("user", "address", "add", "bob@example.com", "not an address", rc=2)

    ctl.run("user", "address", "remove", "alice@example.com", "al@example.com")
    assert ctl.lines("user", "list")[0][5] == "alice@example.org"
    ctl.run("user", "address", "add", "bob@example.com", "al@example.com")


# ---------------------------------------------------------------- uniqueness

def add_holder(ctl, kind, address):
    if kind == "user":
        ctl.run("user", "add", address)
    elif kind == "alternative":
        ctl.run("user", "add", "owner@example.com")
        ctl.run("user", "address", "add", "owner@example.com", address)
    elif kind == "group":
        ctl.run("group", "add", address)
    else:
        ctl.run("alias", "add", address, "someone@elsewhere.example")


def try_add(ctl, kind, address):
    if kind == "user":
        return ctl.fails("user", "add", address)
    if kind == "group":
        return ctl.fails("group", "add", address)
    return ctl.fails("alias", "add", address, "other@elsewhere.example")


KINDS = ["user", "alternative", "group", "alias"]
DESCRIPTION = {"user": "a user", "alternative": "an alternative address",
               "group": "a group", "alias": "an alias"}


@pytest.mark.parametrize("holder", KINDS)
@pytest.mark.parametrize("newcomer", KINDS)
def test_address_unique_across_kinds(ctl, holder, newcomer):
    ctl.run("domain", "add", "example.com")
    add_holder(ctl, holder, "shared@example.com")
    before = ctl.export()
    if newcomer == "alternative":
        ctl.run("user", "add", "second@example.com")
        before = ctl.export()
        err = ctl.fails("user", "address", "add", "second@example.com", "Shared@example.com")
    else:
        err = try_add(ctl, newcomer, "SHARED@example.com")
    # The same kind twice may also say "group shared@example.com already exists".
    assert f"address shared@example.com is already used by {DESCRIPTION[holder]}" in err \
        or (holder == newcomer and "shared@example.com already exists" in err), err
    assert ctl.export() == before


def test_database_enforces_address_uniqueness(ctl, db, query):
    """The database refuses a clash even when the code would not look."""
    ctl.run("domain", "add", "example.com")
    ctl.run("user", "add", "x@example.com")
    for sql in ("INSERT INTO aliases (address, targets) VALUES ('x@example.com', '{y@z.example}')",
                "INSERT INTO groups (name, address) VALUES ('G', 'x@example.com')",
                "INSERT INTO user_addresses (address, user_id)"
                " SELECT 'x@example.com', id FROM users"):
        with pytest.raises(Exception) as caught:
            query(db, sql)
        assert "already used by a user" in str(caught.value)
    with pytest.raises(Exception):
        query(db, "INSERT INTO aliases (address, targets) VALUES ('y@missing.example', '{a@b.c}')")


# ---------------------------------------------------------------- groups

def test_groups(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("user", "add", "alice@example.com")
    ctl.run("user", "add", "bob@example.com")
    ctl.run("user", "address", "add", "bob@example.com", "robert@example.com")
    ctl.run("group", "add", "Staff@Example.com")
    ctl.run("group", "add", "Sales", "--parent", "staff@example.com")
    ctl.run("group", "add", "Sales EU", "--parent", "Sales")
    ctl.run("group", "add", "Admins", "--master")
    ctl.run("group", "member", "add", "Sales", "alice@example.com")
    ctl.run("group", "member", "add", "Sales", "Robert@example.com")  # bob, by alternative
    ctl.run("group", "member", "add", "staff@example.com", "Admins")
    ctl.run("group", "member", "add", "Admins", "bob@example.com")
    assert ctl.lines("group", "list") == [
        ["Admins", "-", "-", "master", "bob@example.com", "-"],
        ["Sales", "-", "staff@example.com", "-", "alice@example.com,bob@example.com", "-"],
        ["Sales EU", "-", "Sales", "-", "-", "-"],
        ["staff@example.com", "staff@example.com", "-", "-", "-", "Admins"],
    ]

    assert "already exists" in ctl.fails("group", "add", "Sales")
    assert "already exists" in ctl.fails("group", "add", "staff@example.com")
    assert "no group" in ctl.fails("group", "add", "Marketing", "--parent", "Nowhere")
    assert "no domain" in ctl.fails("group", "add", "team@example.net")
    assert "already a member" in ctl.fails("group", "member", "add", "Sales", "bob@example.com")
    assert "no user or group" in ctl.fails("group", "member", "add", "Sales",
                                           "nobody@example.com")
    assert "no user or group" in ctl.fails("group", "member", "add", "Sales", "Nobody")
    assert "no group" in ctl.fails("group", "member", "add", "Nobody", "alice@example.com")
    assert "itself" in ctl.fails("group", "member", "add", "Sales", "Sales")
    assert "not a member" in ctl.fails("group", "member", "remove", "Admins",
                                       "alice@example.com")
    ctl.fails("group", "add", "-Sales", rc=2)
    ctl.fails("group", "add", "Sa,les", rc=2)
    ctl.fails("group", "add", "", rc=2)

    ctl.run("group", "member", "remove", "Sales", "bob@example.com")
    ctl.run("group", "member", "remove", "staff@example.com", "Admins")
    ctl.run("group", "remove", "Sales")
    assert ctl.lines("group", "list") == [
        ["Admins", "-", "-", "master", "bob@example.com", "-"],
        ["Sales EU", "-", "-", "-", "-", "-"],
        ["staff@example.com", "staff@example.com", "-", "-", "-", "-"],
    ]
    assert "no group" in ctl.fails("group", "remove", "Sales")
    ctl.run("group", "remove", "STAFF@example.com")
    # The address is free again.
    ctl.run("alias", "add", "staff@example.com", "alice@example.com")


# ---------------------------------------------------------------- aliases

def test_aliases(ctl):
    ctl.run("domain", "add", "example.com")
    ctl.run("user", "add", "alice@example.com")
    ctl.run("alias", "add", "Info@Example.com", "zed@partner.example", "alice@example.com",
            "ZED@partner.example")
    ctl.run("alias", "add", "sales@example.com", "info@example.com")
    assert ctl.lines("alias", "list") == [
        ["info@example.com", "zed@partner.example,alice@example.com"],
        ["sales@example.com", "info@example.com"],
    ]
    assert "already exists" in ctl.fails("alias", "add", "info@example.com", "x@y.example")
    assert "own target" in ctl.fails("alias", "add", "self@example.com", "self@example.com")
    assert "no domain" in ctl.fails("alias", "add", "x@example.net", "alice@example.com")
    ctl.fails("alias", "add", "x@example.com", "not-an-address", rc=2)
    ctl.fails("alias", "add", "x@example.com", rc=2)
    ctl.run("alias", "remove", "info@example.com")
    assert [a[0] for a in ctl.lines("alias", "list")] == ["sales@example.com"]
    assert "no alias" in ctl.fails("alias", "remove", "info@example.com")


def test_unknown_command_and_usage(ctl):
    ctl.fails("domain", "frobnicate", rc=2)
    ctl.fails("user", "remove", rc=2)
    ctl.fails("user", "address", "add", "a@example.com", rc=2)
    ctl.fails("group", "member", "add", "G", rc=2)


# ---------------------------------------------------------------- secrets

def test_password_never_in_argv_output_logs(db, node_factory, pg_server, query):
    node = node_factory(db).wait_healthy()
    ctl = Ctl(node)
    populate(ctl)
    ctl.run("user", "passwd", "bob@example.com", input=PASSWORD + "-bob\n")
    outputs = []
    for args in (("user", "list"), ("group", "list"), ("alias", "list"), ("domain", "list"),
                 ("directory", "export"), ("directory", "resolve", "info@example.com")):
        result = ctl.run(*args)
        outputs += [result.stdout, result.stderr]
    result = ctl.run("directory", "auth", "alice@example.com", input=PASSWORD + "\n")
    outputs += [result.stdout, result.stderr]
    result = node.teguctl("directory", "auth", "alice@example.com", input=PASSWORD + "x\n")
    assert (result.returncode, result.stdout) == (1, "fail\n")
    outputs += [result.stdout, result.stderr]

    export = json.loads(ctl.export())
    hashes = {u["address"]: u["password_hash"] for u in export["users"]}
    assert hashes["alice@example.com"].startswith("$y$")
    assert hashes["bob@example.com"].startswith("$y$")
    assert hashes["alice@example.com"] != hashes["bob@example.com"]

    stored = query(db, "SELECT string_agg(t::text, ' ') FROM users t")[0][0]
    places = outputs + [node.log_text(), pg_server.log_text(), stored]
    for place in places:
        assert PASSWORD not in place


# ---------------------------------------------------------------- export and import

def write_doc(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_export_format(ctl):
    populate(ctl)
    doc = json.loads(ctl.export())
    assert doc["format"] == "tegu-directory" and doc["version"] == 1
    assert doc["domains"] == [
        {"name": "example.com", "default_quota_mb": 1024, "trash_quota_mb": 100},
        {"name": "example.org", "default_quota_mb": 0, "trash_quota_mb": 0},
    ]
    alice = doc["users"][0]
    assert alice["address"] == "alice@example.com"
    assert alice["display_name"] == "Alice Liddell"
    assert alice["quota_mb"] is None and alice["enabled"] is True
    assert alice["addresses"] == ["a.liddell@example.com", "alice@example.org"]
    assert doc["users"][1]["password_hash"] is None and doc["users"][1]["quota_mb"] == 50
    assert doc["users"][2]["display_name"] == "Кэрол" and doc["users"][2]["enabled"] is False
    groups = {g["name"]: g for g in doc["groups"]}
    assert groups["Sales"]["parent"] == "staff@example.com"
    assert groups["Admins"]["master"] is True
    assert groups["staff@example.com"]["address"] == "staff@example.com"
    assert groups["staff@example.com"]["members"] == ["alice@example.com"]
    assert groups["staff@example.com"]["subgroups"] == ["Отдел кадров"]
    assert doc["aliases"] == [
        {"address": "info@example.com", "targets": ["staff@example.com", "boss@partner.example"]},
        {"address": "postmaster@example.org", "targets": ["alice@example.com"]},
    ]


def test_export_import_into_fresh_database(ctl, pg_server, node_factory, tmp_path):
    populate(ctl)
    exported = ctl.export()
    fresh = make_ctl(node_factory, pg_server.create_db())
    path = write_doc(tmp_path, "dir.json", exported)
    assert fresh.lines("directory", "import", path) == [
        ["domains", "2"], ["users", "3"], ["groups", "4"], ["aliases", "2"]]
    assert fresh.export() == exported
    # The hashes came along: the same password works.
    assert fresh.auth("a.liddell@example.com", PASSWORD) == "ok"
    assert fresh.lines("group", "list") == ctl.lines("group", "list")
    assert fresh.lines("user", "list") == ctl.lines("user", "list")


def test_import_twice_is_idempotent(ctl, db, query, tmp_path):
    populate(ctl)
    exported = ctl.export()
    path = write_doc(tmp_path, "dir.json", exported)
    ids = query(db, "SELECT address, id FROM users ORDER BY address")
    groups = query(db, "SELECT name, id FROM groups ORDER BY name")
    for _ in range(2):
        ctl.run("directory", "import", path)
        assert ctl.export() == exported
        assert query(db, "SELECT address, id FROM users ORDER BY address") == ids
        assert query(db, "SELECT name, id FROM groups ORDER BY name") == groups
    # 3 users, 2 alternative addresses, 1 group address, 2 aliases.
    assert query(db, "SELECT count(*) FROM directory_addresses")[0][0] == 8


def test_import_from_stdin_with_defaults(ctl):
    doc = {
        "version": 1,
        "domains": [{"name": "Example.com"}],
        "users": [{"address": "Alice@example.com"}],
        "groups": [{"name": "team@example.com", "members": ["alice@example.com"]}],
        "aliases": [{"address": "all@example.com", "targets": ["team@example.com"]}],
    }
    ctl.run("directory", "import", "-", input=json.dumps(doc))
    assert json.loads(ctl.export()) == {
        "format": "tegu-directory",
        "version": 1,
        "domains": [{"name": "example.com", "default_quota_mb": 0, "trash_quota_mb": 0}],
        "users": [{"address": "alice@example.com", "display_name": "", "password_hash": None,
                   "quota_mb": None, "enabled": True, "addresses": []}],
        "groups": [{"name": "team@example.com", "address": "team@example.com", "parent": None,
                    "master": False, "members": ["alice@example.com"], "subgroups": []}],
        "aliases": [{"address": "all@example.com", "targets": ["team@example.com"]}],
    }


def test_import_replaces_the_directory(ctl, db, query, tmp_path):
    populate(ctl)
    bob_id = query(db, "SELECT id FROM users WHERE address = 'bob@example.com'")[0][0]
    doc = json.loads(ctl.export())
    # Carol and example.org go; alice's alternative address becomes an
    # alias, info@ becomes a user, Sales gets an address and a new parent.
    doc["domains"] = [d for d in doc["domains"] if d["name"] != "example.org"]
    doc["users"] = [u for u in doc["users"] if u["address"] != "carol@example.org"]
    alice = doc["users"][0]
    alice["addresses"] = []
    alice["display_name"] = "Alice L."
    doc["users"].append({"address": "info@example.com", "display_name": "Info",
                         "password_hash": None, "quota_mb": 7, "enabled": True,
                         "addresses": []})
    doc["aliases"] = [{"address": "a.liddell@example.com", "targets": ["alice@example.com"]}]
    for group in doc["groups"]:
        if group["name"] == "Sales":
            group["address"] = "sales@example.com"
            group["parent"] = "Admins"
        group["members"] = [m for m in group["members"] if m != "alice@example.org"]
    path = write_doc(tmp_path, "new.json", doc)
    ctl.run("directory", "import", path)
    result = json.loads(ctl.export())
    assert result["domains"] == doc["domains"]
    assert [u["address"] for u in result["users"]] == [
        "alice@example.com", "bob@example.com", "info@example.com"]
    assert result["users"][0]["display_name"] == "Alice L."
    assert result["aliases"] == doc["aliases"]
    sales = [g for g in result["groups"] if g["name"] == "Sales"][0]
    assert sales["address"] == "sales@example.com" and sales["parent"] == "Admins"
    assert query(db, "SELECT id FROM users WHERE address = 'bob@example.com'")[0][0] == bob_id
    # Importing the result again changes nothing.
    ctl.run("directory", "import", write_doc(tmp_path, "again.json", result))
    assert json.loads(ctl.export()) == result


def test_import_empty_document_empties_the_directory(ctl, tmp_path):
    populate(ctl)
    ctl.run("directory", "import", write_doc(tmp_path, "empty.json", {"version": 1}))
    assert json.loads(ctl.export()) == {"format": "tegu-directory", "version": 1,
                                        "domains": [], "users": [], "groups": [],
                                        "aliases": []}


GOOD = {
    "version": 1,
    "domains": [{"name": "example.com"}],
    "users": [{"address": "alice@example.com", "addresses": ["al@example.com"]}],
    "groups": [{"name": "G", "members": ["alice@example.com"]}],
    "aliases": [{"address": "info@example.com", "targets": ["alice@example.com"]}],
}


def bad(change):
    doc = json.loads(json.dumps(GOOD))
    change(doc)
    return doc


BAD_DOCUMENTS = {
    "not json": "{\"version\": 1,",
    "not an object": [],
    "no version": bad(lambda d: d.pop("version")),
    "version 2": bad(lambda d: d.update(version=2)),
    "wrong format": bad(lambda d: d.update(format="other")),
    "unknown key": bad(lambda d: d.update(extra=1)),
    "unknown user key": bad(lambda d: d["users"][0].update(pasword="x")),
    "duplicate key": '{"version": 1, "version": 1}',
    "domains not an array": bad(lambda d: d.update(domains={})),
    "bad domain": bad(lambda d: d["domains"].append({"name": "bad_domain"})),
    "duplicate domain": bad(lambda d: d["domains"].append({"name": "EXAMPLE.com"})),
    "negative quota": bad(lambda d: d["domains"][0].update(default_quota_mb=-1)),
    "bad address": bad(lambda d: d["users"].append({"address": "bob@@example.com"})),
    "user of unknown domain": bad(lambda d: d["users"].append({"address": "bob@example.net"})),
    "duplicate user": bad(lambda d: d["users"].append({"address": "Alice@example.com"})),
    "alternative is a user": bad(lambda d: d["users"].append(
        {"address": "bob@example.com", "addresses": ["alice@example.com"]})),
    "alias is an alternative": bad(lambda d: d["aliases"].append(
        {"address": "al@example.com", "targets": ["x@y.example"]})),
    "group address is an alias": bad(lambda d: d["groups"].append(
        {"name": "H", "address": "info@example.com"})),
    "bad hash": bad(lambda d: d["users"][0].update(password_hash="plain text")),
    "empty hash": bad(lambda d: d["users"][0].update(password_hash="")),
    "enabled not boolean": bad(lambda d: d["users"][0].update(enabled="yes")),
    "control character in name": bad(lambda d: d["users"][0].update(display_name="a\nb")),
    "member not a user": bad(lambda d: d["groups"][0].update(members=["zed@example.com"])),
    "member is an alias": bad(lambda d: d["groups"][0].update(members=["info@example.com"])),
    "unknown subgroup": bad(lambda d: d["groups"][0].update(subgroups=["Nope"])),
    "self subgroup": bad(lambda d: d["groups"][0].update(subgroups=["G"])),
    "unknown parent": bad(lambda d: d["groups"][0].update(parent="Nope")),
    "parent cycle": bad(lambda d: d["groups"].extend([
        {"name": "A", "parent": "B"}, {"name": "B", "parent": "A"}])),
    "duplicate group": bad(lambda d: d["groups"].append({"name": "G"})),
    "group named by another address": bad(lambda d: d["groups"].append(
        {"name": "x@example.com", "address": "y@example.com"})),
    "alias without targets": bad(lambda d: d["aliases"].append(
        {"address": "x@example.com", "targets": []})),
    "alias to itself": bad(lambda d: d["aliases"].append(
        {"address": "x@example.com", "targets": ["x@example.com"]})),
    "bad target": bad(lambda d: d["aliases"][0].update(targets=["nope"])),
}


@pytest.mark.parametrize("name", list(BAD_DOCUMENTS))
def test_bad_import_changes_nothing(ctl, tmp_path, name):
    populate(ctl)
    before = ctl.export()
    doc = BAD_DOCUMENTS[name]
    err = ctl.fails("directory", "import", write_doc(tmp_path, "bad.json", doc), rc=2)
    assert "directory import" in err
    assert ctl.export() == before


def test_good_document_of_the_bad_ones_imports(ctl, tmp_path):
    ctl.run("directory", "import", write_doc(tmp_path, "good.json", GOOD))
    assert [u[0] for u in ctl.lines("user", "list")] == ["alice@example.com"]


def test_import_references_by_any_address(ctl, tmp_path):
    """Members by an alternative address, parents and subgroups by address:
    stored, and exported, by primary address and name."""
    doc = {
        "version": 1,
        "domains": [{"name": "example.com"}],
        "users": [{"address": "alice@example.com", "addresses": ["al@example.com"]}],
        "groups": [
            {"name": "Top", "address": "top@example.com"},
            {"name": "Child", "parent": "TOP@example.com", "members": ["AL@example.com",
                                                                      "alice@example.com"]},
            {"name": "Other", "subgroups": ["top@example.com", "Child", "Top"]},
        ],
    }
    ctl.run("directory", "import", write_doc(tmp_path, "doc.json", doc))
    assert ctl.lines("group", "list") == [
        ["Child", "-", "Top", "-", "alice@example.com", "-"],
        ["Other", "-", "-", "-", "-", "Child,Top"],
        ["Top", "top@example.com", "-", "-", "-", "-"],
    ]


def test_import_missing_file(ctl, tmp_path):
    populate(ctl)
    before = ctl.export()
    assert "No such file" in ctl.fails("directory", "import", str(tmp_path / "missing.json"))
    assert ctl.export() == before


def test_import_failing_in_the_database_changes_nothing(ctl, db, query, tmp_path):
    """A document that passes every check but fails in the database (a
    trigger that refuses one alias) rolls back the whole import."""
    populate(ctl)
    before = ctl.export()
    doc = json.loads(before)
    doc["users"] = [u for u in doc["users"] if u["address"] != "carol@example.org"]
    doc["users"][0]["display_name"] = "Changed"
    doc["aliases"].append({"address": "zz@example.com", "targets": ["refused@example.com"]})
    query(db, """
        CREATE FUNCTION refuse_zz() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.address = 'zz@example.com' THEN
                RAISE EXCEPTION 'refused by the test';
            END IF;
            RETURN NEW;
        END $$""")
    query(db, "CREATE TRIGGER refuse_zz BEFORE INSERT ON aliases"
              " FOR EACH ROW EXECUTE FUNCTION refuse_zz()")
    err = ctl.fails("directory", "import", write_doc(tmp_path, "doc.json", doc), rc=1)
    assert "refused by the test" in err
    assert ctl.export() == before


def test_export_is_valid_json_sorted(ctl):
    populate(ctl)
    text = ctl.export()
    assert text.endswith("}\n")
    doc = json.loads(text)
    for section, key in (("domains", "name"), ("users", "address"), ("groups", "name"),
                         ("aliases", "address")):
        values = [item[key] for item in doc[section]]
        assert values == sorted(values, key=lambda v: v.encode()), section
    assert re.search(r'"password_hash": "\$y\$', text)

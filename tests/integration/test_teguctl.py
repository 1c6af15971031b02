"""teguctl: migrate, get, set and dump."""

import re

import pytest


@pytest.fixture
def node(db, node_factory):
    return node_factory(db).wait_healthy()


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def migrate_status(node):
    """`teguctl migrate --status` -> {name: state}, in the order printed."""
    states = {}
    for line in ok(node.teguctl("migrate", "--status")).splitlines():
        if not line.strip():
            continue
        name, state = line.split()
        states[name[:-4] if name.endswith(".sql") else name] = state
    return states


def test_migrate_status_after_node_start(node, migrations):
    states = migrate_status(node)
    assert list(states) == migrations
    assert set(states.values()) == {"applied"}


def test_migrate_fresh_database(db, node_factory, migrations):
    node = node_factory(db, start=False)
    assert migrate_status(node) == {name: "pending" for name in migrations}

    lines = [line for line in ok(node.teguctl("migrate")).splitlines() if line.strip()]
    assert len(lines) == len(migrations), lines
    for name, line in zip(migrations, lines):
        assert name in line

    assert ok(node.teguctl("migrate")).strip() == "up to date"
    assert migrate_status(node) == {name: "applied" for name in migrations}


@pytest.mark.parametrize("name, value", [
    ("smtpPort", "25"),
    ("messageSizeMb", "30"),
    ("masterUserSeparator", "*"),
])
def test_get_default(node, name, value):
    assert ok(node.teguctl("get", name)) == value + "\n"


def test_set_then_get(node, db, query):
    ok(node.teguctl("set", "smtpPort", "2525"))
    assert ok(node.teguctl("get", "smtpPort")) == "2525\n"
    assert query(db, "SELECT value FROM settings WHERE name = 'smtpPort'") == [("2525",)]

    # Booleans are stored normalised.
    ok(node.teguctl("set", "greylistEnabled", "off"))
    assert ok(node.teguctl("get", "greylistEnabled")) == "false\n"
    ok(node.teguctl("set", "greylistEnabled", "yes"))
    assert ok(node.teguctl("get", "greylistEnabled")) == "true\n"

    ok(node.teguctl("set", "dkimSelector", "sel2025"))
    assert ok(node.teguctl("get", "dkimSelector")) == "sel2025\n"


@pytest.mark.parametrize("name, value", [
    ("smtpPort", "70000"),
    ("smtpPort", "twenty-five"),
    ("greylistEnabled", "maybe"),
    ("noSuchSetting", "1"),
])
def test_set_invalid_exits_2(node, name, value):
    result = node.teguctl("set", name, value)
    assert result.returncode == 2
    assert result.stderr.strip(), "no message on stderr"
    assert ok(node.teguctl("get", "smtpPort")) == "25\n"


def test_get_unknown_exits_2(node):
    result = node.teguctl("get", "noSuchSetting")
    assert result.returncode == 2 and result.stderr.strip()


@pytest.mark.parametrize("args", [(), ("frobnicate",), ("get",), ("set", "smtpPort")],
                         ids=["nothing", "unknown-command", "get-without-key", "set-without-value"])
def test_usage_errors_exit_2(node, args):
    result = node.teguctl(*args)
    assert result.returncode == 2, result
    assert result.stderr.strip()


def test_dump(node):
    lines = ok(node.teguctl("dump")).splitlines()
    values = {}
    for line in lines:
        m = re.fullmatch(r"(\S+) =(?: (.*))?", line)  # an empty value may lose its space
        assert m, f"not `name = value`: {line!r}"
        assert m.group(1) not in values, f"{m.group(1)} listed twice"
        values[m.group(1)] = m.group(2) or ""
    assert "serverName" in values
    assert values["dkimSelector"] == "mail"
    assert values["smtpPort"] == "25"
    assert values["messageSizeMb"] == "30"
    assert values["masterUserSeparator"] == "*"

    ok(node.teguctl("set", "smtpPort", "2526"))
    assert "smtpPort = 2526" in ok(node.teguctl("dump")).splitlines()

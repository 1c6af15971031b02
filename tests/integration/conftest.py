"""Fixtures for the integration tests: real PostgreSQL clusters and real tegu
nodes, started and stopped by the tests themselves (no mocks).

Environment:
  TEGU_BUILD   the build folder holding tegu and teguctl (default build/debug)

Fixtures:
  pg_server     session: one throwaway PostgreSQL cluster shared by the tests
  db            function: a fresh database in pg_server, owned by role tegu (the dsn)
  private_pg    function: a cluster of the test's own, for tests that stop it
  tegu_build    session: the Build (paths of the binaries, sanitizer flag)
  node_factory  function: starts tegu nodes; all are stopped at teardown
  query         function: query(dsn, sql, params=()) -> list of rows
  migrations    session: the migration names, from migrations/NNNN_name.sql

Every server binds 127.0.0.1 only, every wait is bounded, and files holding
secrets are created with mode 0600.
"""

import glob
import http.client
import itertools
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid

import psycopg2
import psycopg2.sql
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IS_ROOT = os.geteuid() == 0
PG_OS_USER = "postgres"

# What a sanitizer writes when it finds a bug; a node log holding one of
# these fails the test at teardown.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

# Proxy variables are removed from the environment of the programs we start:
# teguctl uses libcurl, which would send requests for 127.0.0.1 to a proxy.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                   "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")

LISTENER_NAMES = ("smtp", "submission", "smtps", "imap", "imaps", "http", "https")


# ---------------------------------------------------------------- helpers

_ports_given = set()


def free_port():
    """A TCP port free on 127.0.0.1 now, never handed out twice in this run.

    Ports are picked below the kernel's ephemeral range (32768 and up on
    Linux) so an outgoing connection cannot take one before its server binds.
    """
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free TCP port found on 127.0.0.1")


def tail(text, lines=60):
    return "\n".join(text.splitlines()[-lines:])


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def write_secret_file(path, text):
    """Creates path with mode 0600 (never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def run_query(dsn, sql, params=()):
    """Runs one statement in its own connection; returns the rows (or [])."""
    conn = psycopg2.connect(dsn, connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def migration_names():
    """Names of the migrations in order: the file names without .sql."""
    files = sorted(glob.glob(os.path.join(REPO, "migrations", "*.sql")))
    return [os.path.basename(f)[:-len(".sql")] for f in files]


# ---------------------------------------------------------------- PostgreSQL

def pg_bindir():
    """The bin folder of the newest PostgreSQL server installed."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        version = os.path.basename(os.path.dirname(d))
        if os.path.exists(os.path.join(d, "initdb")) and version.isdigit():
            found.append((int(version), d))
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    pytest.fail("PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb); "
                "install the packages in deploy/packages.txt")


class PgCluster:
    """A throwaway PostgreSQL cluster in a temporary folder.

    It runs as the `postgres` OS user when we are root (PostgreSQL refuses
    root), listens on 127.0.0.1 at a free port plus a unix socket in its
    folder, trusts every loopback connection (acceptable: it lives only for
    the tests), and has a non-superuser role `tegu`.
    """

    def __init__(self, label):
        self.bindir = pg_bindir()
        # Under /tmp with a short name: a unix socket path must stay under
        # about 100 bytes.
        self.base = tempfile.mkdtemp(prefix=f"tegu-{label}-")
        self.datadir = os.path.join(self.base, "data")
        self.logfile = os.path.join(self.base, "postgres.log")
        self.port = None
        self.running = False
        self._port_fixed = False
        try:
            self._create()
        except BaseException:
            self.destroy()
            raise

    def _create(self):
        if IS_ROOT:
            shutil.chown(self.base, PG_OS_USER, PG_OS_USER)
        self._pg("initdb", "-D", self.datadir, "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C", "--lc-ctype=C.UTF-8", "--no-sync",
                 "--no-instructions")
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# Added by tests/integration/conftest.py\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.base}'\n"
                    "fsync = off\n"
                    "full_page_writes = off\n"
                    "max_connections = 200\n"
                    "shared_buffers = 32MB\n")
        hba = os.path.join(self.datadir, "pg_hba.conf")
        with open(hba, "w") as f:
            f.write("# Test cluster: trust on its own socket and on loopback only.\n"
                    "local all all trust\n"
                    "host all all 127.0.0.1/32 trust\n")
        if IS_ROOT:
            shutil.chown(hba, PG_OS_USER, PG_OS_USER)
        self.start()
        self.admin_query("CREATE ROLE tegu LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")

    def tool(self, name):
        """Path of a PostgreSQL program (psql, pg_dump, ...) of this version."""
        return os.path.join(self.bindir, name)

    def _pg(self, program, *args, check=True, timeout=120):
        cmd = [self.tool(program), *args]
        if IS_ROOT:
            cmd = ["runuser", "-u", PG_OS_USER, "--", *cmd]
        result = subprocess.run(cmd, cwd=self.base, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}"
                               f"{result.stderr}\n{tail(self.log_text(), 20)}")
        return result

    def start(self):
        """Starts the server; the first start picks the port, later ones keep it."""
        for _ in range(5):
            if self.port is None:
                self.port = free_port()
            result = self._pg("pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60",
                              "-o", f"-p {int(self.port)}", "start", check=False)
            if result.returncode == 0:
                self.running = True
                self._port_fixed = True
                return
            if not self._port_fixed and "could not bind" in self.log_text():
                self.port = None  # lost a race for the port: take another
                continue
            break
        raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n"
                           f"{tail(self.log_text(), 30)}")

    def stop(self, mode="fast"):
        self._pg("pg_ctl", "-D", self.datadir, "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def destroy(self):
        if self.running:
            try:
                self.stop(mode="immediate")
            except Exception:
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    def log_text(self):
        return read_text(self.logfile)

    @property
    def admin_dsn(self):
        return f"host=127.0.0.1 port={self.port} dbname=postgres user=postgres"

    def dsn_for(self, dbname):
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user=tegu"

    def admin_query(self, sql, params=()):
        return run_query(self.admin_dsn, sql, params)

    def create_db(self, name=None):
        """Creates a database owned by tegu; returns its dsn (as user tegu)."""
        name = name or "t_" + uuid.uuid4().hex[:16]
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"bad database name {name!r}")
        self.admin_query(psycopg2.sql.SQL("CREATE DATABASE {} OWNER tegu").format(
            psycopg2.sql.Identifier(name)))
        return self.dsn_for(name)

    def drop_db(self, name):
        self.admin_query(psycopg2.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            psycopg2.sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_server():
    cluster = PgCluster("pg")
    yield cluster
    cluster.destroy()


@pytest.fixture
def db(pg_server):
    """A fresh database for this test; yields its dsn."""
    name = "t_" + uuid.uuid4().hex[:16]
    dsn = pg_server.create_db(name)
    yield dsn
    try:
        pg_server.drop_db(name)
    except psycopg2.Error:
        pass


@pytest.fixture
def private_pg():
    """A cluster of this test's own (it may stop and start it); .dsn is a fresh db."""
    cluster = PgCluster("private")
    cluster.dsn = cluster.create_db()
    yield cluster
    cluster.destroy()


@pytest.fixture
def query():
    return run_query


@pytest.fixture(scope="session")
def migrations():
    names = migration_names()
    assert names, "no migrations/*.sql found"
    return names


# ---------------------------------------------------------------- the build

class Build(os.PathLike):
    """The binaries under test, from TEGU_BUILD. Usable as the folder's path
    (os.path.join(tegu_build, "tegu")) or through .tegu and .teguctl."""

    def __fspath__(self):
        return self.path

    def __str__(self):
        return self.path

    def __init__(self, path):
        self.path = path
        self.tegu = os.path.join(path, "tegu")
        self.teguctl = os.path.join(path, "teguctl")
        cache = read_text(os.path.join(path, "CMakeCache.txt"))
        build_type = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache, re.M)
        self.asan = (build_type is not None and build_type.group(1).strip().lower() == "asan") \
            or (not cache and os.path.basename(path) == "asan")

    def env(self, home):
        """Environment for tegu and teguctl: HOME set, no proxies, and under
        ASan, sanitizer reports written to stderr with exit code 66."""
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env["HOME"] = str(home)
        env.pop("ASAN_OPTIONS", None)
        env.pop("UBSAN_OPTIONS", None)
        if self.asan:
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=66"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        return env


@pytest.fixture(scope="session")
def tegu_build():
    path = os.path.abspath(os.environ.get("TEGU_BUILD", os.path.join(REPO, "build", "debug")))
    build = Build(path)
    missing = [p for p in (build.tegu, build.teguctl) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"tegu binaries missing: {', '.join(missing)}. Build them first "
                    f"(bash tests/run-all.sh does), or point TEGU_BUILD at a build folder.",
                    pytrace=False)
    return build


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body        # bytes

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"<Response {self.status} {self.reason!r} {self.body[:80]!r}>"


class HttpStream:
    """One raw connection: send exact bytes, read responses one by one."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        """Sends data; a peer that already closed is not an error here (the
        response it sent before closing can still be read)."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete HTTP response in time; got so far: %r" % self.buf[:200])
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no complete HTTP response in time; got so far: %r"
                               % self.buf[:200]) from None
        if not data:
            raise EOFError("connection closed before a complete response; got: %r" % self.buf[:200])
        self.buf += data

    def _read_until(self, marker, deadline):
        while marker not in self.buf:
            self._fill(deadline)
        i = self.buf.index(marker) + len(marker)
        data, self.buf = self.buf[:i], self.buf[i:]
        return data

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, timeout=5):
        deadline = time.monotonic() + timeout
        head = self._read_until(b"\r\n\r\n", deadline).decode("latin-1")
        lines = head[:-4].split("\r\n")
        m = re.fullmatch(r"HTTP/1\.[01] (\d{3})(?: (.*))?", lines[0])
        if not m:
            raise ValueError(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]), deadline)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._read_until(b"\r\n", deadline).split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n", deadline)  # no trailers expected
                    break
                body += self._read_exact(size, deadline)
                self._read_exact(2, deadline)
        else:  # body runs to the end of the connection
            try:
                while True:
                    self._fill(deadline)
            except EOFError:
                pass
            body, self.buf = self.buf, b""
        return Response(int(m.group(1)), m.group(2) or "", headers, body)

    def wait_closed(self, timeout=2):
        """True when the peer closes (EOF or reset) within timeout. Data that
        arrives first is kept in self.buf."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, ssl.SSLError):
                return True
            if not data:
                return True
            self.buf += data

    def close(self):
        self.sock.close()


def insecure_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------- nodes

class Node:
    """One tegu process with its own tegu.conf, data folder and log."""

    def __init__(self, build, workdir, name, dsn, listen, extra_settings):
        self.build = build
        self.workdir = workdir
        self.name = name
        self.dsn = dsn
        self.conf = os.path.join(workdir, "tegu.conf")
        self.log_path = os.path.join(workdir, "tegu.log")
        self.data_dir = os.path.join(workdir, "data")
        self.env = build.env(workdir)
        self.proc = None
        self._log_file = None
        os.makedirs(self.data_dir, mode=0o700)

        self.listen = {}  # listener name -> "ADDR:PORT"
        self.ports = {}   # listener name -> port, for the ones we allocated
        wanted = dict(listen) if isinstance(listen, dict) else {n: None for n in listen}
        # Every listener the node would open gets a free loopback port, so
        # no test node ever binds a default port such as 25 on all addresses.
        for always in ("http", "smtp", "submission", "imap"):
            wanted.setdefault(always, None)
        if "https" in wanted:  # a certificate is configured: SMTPS and IMAPS start too
            wanted.setdefault("smtps", None)
            wanted.setdefault("imaps", None)
        for lname, address in wanted.items():
            if lname not in LISTENER_NAMES:
                raise ValueError(f"unknown listener {lname!r}")
            if address is None:
                self.ports[lname] = free_port()
                address = f"127.0.0.1:{self.ports[lname]}"
            self.listen[lname] = address

        sections = [
            ("global", {"dataDir": self.data_dir, "nodeName": name, "shutdownGrace": "5"}),
            ("database", {"dsn": dsn}),
            ("Log", {"debug": "true"}),
            ("WEB", {"adminPassword": "test-admin-pass"}),
            ("listen", self.listen),
            ("settings", dict(extra_settings)),
        ]
        text = ""
        for section, values in sections:
            text += f"[{section}]\n"
            for key, value in values.items():
                value = str(value)
                if "\n" in value or "\n" in key:
                    raise ValueError(f"newline in setting {key!r}")
                text += f"{key} = {value}\n"
            text += "\n"
        write_secret_file(self.conf, text)

    # -- process

    def start(self):
        assert self.proc is None, "node already started"
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.build.tegu, "-c", self.conf], cwd=self.workdir,
                                     env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    @property
    def pid(self):
        return self.proc.pid

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for the process to exit; returns its exit code (negative:
        killed by that signal). Fails the test if it is still running."""
        try:
            return self.proc.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"node {self.name} still running after {timeout:.1f} s\n"
                                 f"{self.log_tail()}") from None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.alive:
            self.proc.kill()
        return self.proc.wait(timeout=10)

    def log_text(self):
        return read_text(self.log_path)

    def log_tail(self, lines=60):
        return tail(self.log_text(), lines)

    # -- HTTP

    def port(self, tls=False):
        port = self.ports.get("https" if tls else "http")
        assert port, f"node {self.name} has no {'https' if tls else 'http'} listener"
        return port

    @property
    def http_port(self):
        return self.ports.get("http")

    @property
    def https_port(self):
        return self.ports.get("https")

    def request(self, method="GET", path="/", tls=False, context=None, headers=None,
                body=None, timeout=5):
        """One request on a new connection (http.client: no proxies)."""
        if tls:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port(True), timeout=timeout,
                                               context=context or insecure_tls_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port(), timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.reason, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def health(self, tls=False, context=None, timeout=5):
        r = self.request("GET", "/health", tls=tls, context=context, timeout=timeout)
        return r.status, r.text

    def metrics(self, tls=False, context=None, timeout=5):
        r = self.request("GET", "/metrics", tls=tls, context=context, timeout=timeout)
        assert r.status == 200, f"/metrics answered {r.status}: {r.text[:200]!r}"
        return r.text

    def metric(self, name, labels=None, text=None):
        """The value of one sample from /metrics (or from text); None if absent."""
        return parse_metrics(text if text is not None else self.metrics()).get(
            (name, frozenset((labels or {}).items())))

    def wait_health(self, status, timeout, tls=False, context=None):
        """Polls /health until it answers status; returns (status, body).
        Fails with the last answer and the log if it does not in time or the
        process exits."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if not self.alive:
                raise AssertionError(f"node {self.name} exited with {self.proc.returncode} "
                                     f"while waiting for /health {status}\n{self.log_tail()}")
            try:
                last = self.health(tls=tls, context=context,
                                   timeout=max(0.2, min(2, deadline - time.monotonic())))
                if last[0] == status:
                    return last
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            if time.monotonic() >= deadline:
                raise AssertionError(f"node {self.name}: /health not {status} within {timeout} s; "
                                     f"last answer {last!r}\n{self.log_tail()}")
            time.sleep(0.1)

    def wait_healthy(self, timeout=20, tls=False, context=None):
        self.wait_health(200, timeout, tls=tls, context=context)
        return self

    def open_stream(self, tls=False, context=None, timeout=5):
        """A raw connection to the http (or https) listener."""
        sock = socket.create_connection(("127.0.0.1", self.port(tls)), timeout=timeout)
        if tls:
            sock = (context or insecure_tls_context()).wrap_socket(sock,
                                                                    server_hostname="localhost")
        return HttpStream(sock)

    # -- teguctl

    def teguctl(self, *args, input=None, timeout=30):
        return subprocess.run([self.build.teguctl, "-c", self.conf, *args], cwd=self.workdir,
                              env=self.env, input=input, capture_output=True, text=True,
                              stdin=None if input is not None else subprocess.DEVNULL,
                              timeout=timeout)

    # -- teardown

    def shutdown_for_teardown(self):
        """SIGTERM (so a sanitizer can report leaks at exit), SIGKILL after
        shutdownGrace + 3 s."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def sanitizer_report(self):
        text = self.log_text()
        for marker in SANITIZER_MARKERS:
            i = text.find(marker)
            if i >= 0:
                return text[max(0, i - 200):i + 4000]
        return None


_METRIC_LINE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?")
_METRIC_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """Prometheus text format -> {(name, frozenset of (label, value)): float}.
    Raises ValueError on a line that is not a sample, comment or blank."""
    samples = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _METRIC_LINE.fullmatch(line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        labels = frozenset(_METRIC_LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


class NodeFactory:
    def __init__(self, build):
        self.build = build
        self.nodes = []
        self._numbers = itertools.count(1)

    def __call__(self, dsn, name=None, extra_settings=None, listen=("http",), start=True):
        """A node on dsn. listen: listener names that get a free 127.0.0.1
        port (http always does), or a dict name -> "ADDR:PORT" (None: free
        port). extra_settings go to the [settings] section."""
        number = next(self._numbers)
        workdir = tempfile.mkdtemp(prefix=f"tegu-node{number}-")
        node = Node(self.build, workdir, name or f"node{number}", dsn, listen,
                    extra_settings or {})
        self.nodes.append(node)
        if start:
            node.start()
        return node


@pytest.fixture
def node_factory(request, tegu_build):
    factory = NodeFactory(tegu_build)
    yield factory
    reports = []
    for node in factory.nodes:
        if node.proc is not None:
            node.shutdown_for_teardown()
            report = node.sanitizer_report()
            if report:
                reports.append(f"--- node {node.name} ({node.log_path}):\n{report}")
    failed = reports or _test_failed(request)
    for node in factory.nodes:
        if not failed:
            shutil.rmtree(node.workdir, ignore_errors=True)
    if reports:
        pytest.fail("sanitizer report in node log:\n" + "\n".join(reports), pytrace=False)


def _test_failed(request):
    return getattr(request.node, "tegu_failed", False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """When a test (or its setup) fails, attach the tail of each node's log
    (and of a private cluster's log) to the report, and remember the failure
    for the fixtures' teardown (which then keeps the nodes' folders)."""
    outcome = yield
    report = outcome.get_result()
    if report.when not in ("setup", "call") or not report.failed:
        return
    item.tegu_failed = True
    funcargs = getattr(item, "funcargs", {})
    factory = funcargs.get("node_factory")
    if isinstance(factory, NodeFactory):
        for node in factory.nodes:
            report.sections.append((f"node {node.name} log, last 60 lines ({node.log_path})",
                                    node.log_tail(60)))
    cluster = funcargs.get("private_pg")
    if isinstance(cluster, PgCluster):
        report.sections.append(("private PostgreSQL log, last 30 lines",
                                tail(cluster.log_text(), 30)))

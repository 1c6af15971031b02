"""tegu.conf: the file a node writes when it finds none, and TLS set up from
[settings] sslCertPath/sslKeyPath."""

import configparser
import os
import signal
import ssl
import stat
import subprocess
import time

import pytest

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def read_conf(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep key case: dataDir, adminPassword
    parser.read(path)
    return parser


def conf_complete(path):
    try:
        return bool(read_conf(path).get("WEB", "adminPassword", fallback=""))
    except configparser.Error:
        return False  # still being written


def run_until(build, home, log_path, done, timeout):
    """Starts tegu without -c and HOME=home until done() is true, the
    process exits or timeout passes; then stops it. Returns the log text."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([build.tegu], cwd=home, env=build.env(home),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None and not done():
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=8)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    for marker in SANITIZER_MARKERS:
        assert marker not in text, f"sanitizer report:\n{text[-4000:]}"
    return text


def test_writes_home_config_when_there_is_none(tegu_build, tmp_path):
    if os.path.exists("/etc/tegu.conf"):
        pytest.skip("/etc/tegu.conf exists: the node would read it")
    home = tmp_path / "home"
    home.mkdir()
    conf = home / "tegu.conf"
    log_path = tmp_path / "tegu.log"

    # This node has no database; it may also find port 8888 taken. Neither
    # matters: only the file it writes first is looked at.
    log = run_until(tegu_build, home, log_path, lambda: conf_complete(conf), timeout=15)
    assert conf.exists(), f"{conf} not written; log:\n{log[-3000:]}"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600

    parsed = read_conf(conf)
    assert parsed.get("global", "dataDir", fallback="").strip()
    assert parsed.get("Log", "debug", fallback=None) == "false"
    password = parsed.get("WEB", "adminPassword", fallback="")
    assert len(password) == 20, f"adminPassword is {len(password)} characters"
    assert str(conf) in log, "the node does not log the path of the file it wrote"
    assert password not in log, "the admin password is in the log"

    # A second start reads the file and leaves it as it is.
    before = conf.read_bytes()
    log = run_until(tegu_build, home, log_path, lambda: False, timeout=2)
    assert conf.read_bytes() == before
    assert password not in log


@pytest.fixture
def self_signed(tmp_path):
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    result = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                             "-days", "1", "-subj", "/CN=localhost",
                             "-keyout", str(key), "-out", str(cert)],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    os.chmod(key, 0o600)
    return cert, key


def test_https_serves_the_same_endpoints(db, node_factory, self_signed):
    cert, key = self_signed
    node = node_factory(db, listen=("http", "https"),
                        extra_settings={"sslCertPath": cert, "sslKeyPath": key})
    node.wait_healthy()

    # Trust exactly our certificate; it names localhost, we connect to 127.0.0.1.
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    assert node.wait_health(200, timeout=5, tls=True, context=context) == (200, "ok\n")
    assert node.metric("tegu_uptime_seconds", text=node.metrics(tls=True, context=context)) >= 0
    assert node.request("GET", "/no-such-page", tls=True, context=context).status == 404

    stream = node.open_stream(tls=True, context=context)
    served = stream.sock.getpeercert(binary_form=True)
    stream.send(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    first = stream.read_response()
    stream.send(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    second = stream.read_response()  # keep-alive over TLS too
    stream.close()
    assert served == ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert (first.status, first.body) == (200, b"ok\n")
    assert (second.status, second.body) == (200, b"ok\n")

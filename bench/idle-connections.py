#!/usr/bin/python3
"""Idle-connection memory: how much resident memory a Tegu node, and for
comparison a Dovecot imap-login and a Postfix smtpd when installed, spend
per open idle TCP connection.

Opens N connections (default 10,000) from this process to each server on
loopback, waits for the count to settle, and reads VmRSS of the serving
processes from /proc before and after. Bounded: connects at most N per
server, gives up after --timeout seconds, closes everything at the end.

  bench/idle-connections.py --tegu-build build/release --dsn 'host=... dbname=tegu user=tegu'

Prints a table: server, connections held, RSS before/after (MiB), KiB per
connection. The Tegu figure is the node's whole process (all workers).
"""
import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def hold(port, count, timeout, greeting):
    """Opens count connections; returns the list of sockets that stayed open."""
    socks = []
    deadline = time.monotonic() + timeout
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError as e:
            print(f"  connect stopped at {len(socks)}: {e}", file=sys.stderr)
            break
        socks.append(s)
    if greeting:
        # Servers with a banner have answered every connection once the
        # last one has its banner.
        for s in socks[-10:]:
            try:
                s.recv(512)
            except OSError:
                pass
    time.sleep(2)
    return socks


def measure(name, pids_fn, port, count, timeout, greeting):
    time.sleep(1)
    before = rss_kib(pids_fn())
    socks = hold(port, count, timeout, greeting)
    after = rss_kib(pids_fn())
    held = len(socks)
    for s in socks:
        s.close()
    per = (after - before) / held if held else float("nan")
    return (name, held, before / 1024, after / 1024, per)


def start_tegu(build, dsn, workdir):
    port = free_port()
    conf = os.path.join(workdir, "tegu.conf")
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"[global]\ndataDir = {workdir}\nnodeName = bench-idle\n\n"
                f"[database]\ndsn = {dsn}\n\n[Log]\ndebug = false\n\n"
                f"[WEB]\nadminPassword = bench\n\n[listen]\nhttp = 127.0.0.1:{port}\n")
    log = open(os.path.join(workdir, "tegu.log"), "w")
    proc = subprocess.Popen([os.path.join(build, "tegu"), "-c", conf],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tegu-build", default="build/release")
    ap.add_argument("--dsn", default="")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--dovecot-port", type=int, default=0,
                    help="IMAP port of a running Dovecot to compare (0: skip)")
    ap.add_argument("--postfix-port", type=int, default=0,
                    help="SMTP port of a running Postfix to compare (0: skip)")
    args = ap.parse_args()

    want = args.count * 2 + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        proc, port = start_tegu(args.tegu_build, args.dsn, workdir)
        try:
            rows.append(measure("tegu (http listener)", lambda: [proc.pid], port,
                                args.count, args.timeout, greeting=False))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if args.dovecot_port:
        pids = lambda: [p for p in subprocess.run(["pgrep", "-f", "dovecot|imap-login"],
                        capture_output=True, text=True).stdout.split()]
        rows.append(measure("dovecot (imap-login)", pids, args.dovecot_port,
                            args.count, args.timeout, greeting=True))
    if args.postfix_port:
        pids = lambda: [p for p in subprocess.run(["pgrep", "-f", "postfix|smtpd"],
                        capture_output=True, text=True).stdout.split()]
        rows.append(measure("postfix (smtpd)", pids, args.postfix_port,
                            args.count, args.timeout, greeting=True))

    print(f"{'server':<24} {'held':>7} {'RSS before MiB':>15} {'RSS after MiB':>14} {'KiB/conn':>9}")
    for name, held, before, after, per in rows:
        print(f"{name:<24} {held:>7} {before:>15.1f} {after:>14.1f} {per:>9.2f}")


if __name__ == "__main__":
    main()

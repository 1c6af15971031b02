#!/usr/bin/python3
"""Idle-connection memory: how much resident memory a Tegu node, and for
comparison a Dovecot and a Postfix instance, spend per open idle TCP
connection.

For each server in turn: open one connection and close it (so lazily started
helpers exist before the baseline), read the resident memory of the whole
server instance, open N connections from this process on loopback, wait until
the server has accepted all of them (and, for Dovecot and Postfix, sent each
its greeting), read the memory again, and close everything. Only connections
still open when memory is read count as held.

The memory of a server instance is the sum of VmRSS over its processes: the
Tegu node is one process (all workers are threads); for Dovecot and Postfix
it is the master process given by --dovecot-pid / --postfix-pid and every
process below it, so a system instance running next to it is not counted.

Bounded: at most N connections per server, each server's phase gives up
after --timeout seconds, and everything is closed at the end. The Tegu node
is started here from --tegu-build and stopped again; Dovecot and Postfix must
be running (bench/run-idle-connections.sh starts private instances of both
and passes their ports and pids):

  bench/idle-connections.py --tegu-build build/release --dsn 'host=... dbname=tegu user=tegu' \\
      [--dovecot-port P --dovecot-pid PID] [--postfix-port P --postfix-pid PID]

Prints one table: server, connections held, RSS before and after (MiB), KiB
per connection, a note on how that server holds connections, and the same
per-connection figure in PSS (proportional set size, where a page shared by
k processes counts 1/k in each): summed VmRSS counts shared libraries once
per process, which overstates a process-per-connection server.

What it shares with smtp-throughput.py (process trees, the Tegu node, the
table) is in bench/benchlib.py.
"""
import os
import resource
import selectors
import socket
import sys
import tempfile
import time

import benchlib


# ------------------------------------------------------------ processes

def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass  # exited meanwhile
    return total


def pss_kib(pids):
    """Proportional set size: a page shared by k processes counts 1/k in
    each, so shared libraries count once across a process-per-connection
    server rather than once per process as in the VmRSS sum."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass  # exited meanwhile
    return total


def open_fds(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return total


# ------------------------------------------------------------ connections

def warm_up(port, greeting):
    """One connection, closed again, so that helpers started on first use
    (Dovecot's auth, Postfix's first smtpd) are in the baseline."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        if greeting:
            s.recv(512)
    time.sleep(1)


def open_connections(port, count, deadline):
    socks = []
    for _ in range(count):
        if time.monotonic() > deadline:
            print(f"  timeout: stopped opening at {len(socks)}", file=sys.stderr)
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as e:
            print(f"  connect stopped at {len(socks)}: {e}", file=sys.stderr)
            break
        socks.append(s)
    return socks


def wait_accepted(pids_fn, fds_before, count, deadline):
    """Waits until the server's processes hold count more descriptors."""
    while time.monotonic() < deadline:
        if open_fds(pids_fn()) >= fds_before + count:
            return True
        time.sleep(0.2)
    print("  timeout: the server did not accept every connection", file=sys.stderr)
    return False


def read_greetings(socks, deadline):
    """Reads the greeting of every connection; a server that has greeted a
    connection has set up its session."""
    waiting = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        waiting.register(s, selectors.EVENT_READ)
    while waiting.get_map() and time.monotonic() < deadline:
        for key, _ in waiting.select(timeout=1):
            try:
                key.fileobj.recv(4096)
            except OSError:
                pass
            waiting.unregister(key.fileobj)
    if waiting.get_map():
        print(f"  timeout: {len(waiting.get_map())} connections got no greeting",
              file=sys.stderr)
    waiting.close()


def still_open(s):
    """True while the server has not closed the connection."""
    s.setblocking(False)  # a socket with a timeout would wait in recv
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True  # open, nothing to read
    except OSError:
        return False


def measure(name, note, pids_fn, port, count, timeout, greeting):
    print(f"  {name}: holding {count} connections to 127.0.0.1:{port}", file=sys.stderr)
    deadline = time.monotonic() + timeout
    warm_up(port, greeting)
    pids = pids_fn()
    before, pss_before = rss_kib(pids), pss_kib(pids)
    fds_before = open_fds(pids)
    socks = open_connections(port, count, deadline)
    try:
        wait_accepted(pids_fn, fds_before, len(socks), deadline)
        if greeting:
            read_greetings(socks, deadline)
        time.sleep(2)  # let the server settle
        pids = pids_fn()
        after, pss_after = rss_kib(pids), pss_kib(pids)
        held = sum(1 for s in socks if still_open(s))
        if held < count:
            print(f"  {name}: {held} of {count} connections held", file=sys.stderr)
    finally:
        for s in socks:
            s.close()
    nan = float("nan")
    return {"server": name, "held": held, "before": before / 1024, "after": after / 1024,
            "per": (after - before) / held if held else nan,
            "pss_per": (pss_after - pss_before) / held if held else nan, "note": note}


# ------------------------------------------------------------ tegu

def start_tegu(build, dsn, workdir):
    """Starts a node serving HTTP on a free port; waits (30 s at most) for
    /health to answer 200, i.e. the database is reached and migrated."""
    port = benchlib.free_port()
    conf = os.path.join(workdir, "tegu.conf")
    benchlib.write_tegu_conf(conf, workdir, "bench-idle", dsn, port, benchlib.free_port(),
                             benchlib.free_port())
    log_path = os.path.join(workdir, "tegu.log")
    proc = benchlib.start_tegu(build, conf, log_path)
    benchlib.wait_healthy(proc, port, log_path)
    return proc, port


# ------------------------------------------------------------ main

def print_table(rows):
    header = ["server", "connections held", "RSS before MiB", "RSS after MiB",
              "KiB per connection", "note", "PSS KiB per connection"]
    cells = [[r["server"], str(r["held"]), f"{r['before']:.1f}", f"{r['after']:.1f}",
              f"{r['per']:.1f}", r["note"], f"{r['pss_per']:.1f}"] for r in rows]
    print(benchlib.table(header, cells, [False, True, True, True, True, False, True]))


def main():
    ap = benchlib.argument_parser(__doc__)
    ap.add_argument("--dsn", default="", help="PostgreSQL DSN for the Tegu node")
    ap.add_argument("--count", type=int, default=10000, help="connections to Tegu")
    ap.add_argument("--timeout", type=int, default=180,
                    help="seconds at most per server to open and settle the connections")
    ap.add_argument("--dovecot-port", type=int, default=0,
                    help="IMAP port of a running Dovecot to compare (0: skip)")
    ap.add_argument("--dovecot-pid", type=int, default=0, help="its master process")
    ap.add_argument("--dovecot-count", type=int, default=10000)
    ap.add_argument("--postfix-port", type=int, default=0,
                    help="SMTP port of a running Postfix to compare (0: skip)")
    ap.add_argument("--postfix-pid", type=int, default=0, help="its master process")
    ap.add_argument("--postfix-count", type=int, default=500)
    args = ap.parse_args()
    benchlib.exit_on_sigterm()
    if args.dovecot_port and not args.dovecot_pid:
        ap.error("--dovecot-port needs --dovecot-pid (the master of that instance)")
    if args.postfix_port and not args.postfix_pid:
        ap.error("--postfix-port needs --postfix-pid (the master of that instance)")

    # One server at a time: this process needs a descriptor per connection.
    want = max(args.count, args.dovecot_count, args.postfix_count) + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        if want > hard:
            sys.exit(f"{want} open files needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        proc, port = start_tegu(args.tegu_build, args.dsn, workdir)
        try:
            rows.append(measure("tegu", "http listener; 1 process, a fiber per connection",
                                lambda: [proc.pid], port, args.count, args.timeout,
                                greeting=False))
        finally:
            benchlib.stop_tegu(proc)
    if args.dovecot_port:
        rows.append(measure("dovecot", "imap-login, high-performance mode: 1 process for all",
                            lambda: benchlib.process_tree(args.dovecot_pid), args.dovecot_port,
                            args.dovecot_count, args.timeout, greeting=True))
    if args.postfix_port:
        rows.append(measure("postfix", "smtpd: process per connection, so fewer held",
                            lambda: benchlib.process_tree(args.postfix_pid), args.postfix_port,
                            args.postfix_count, args.timeout, greeting=True))
    print_table(rows)


if __name__ == "__main__":
    main()

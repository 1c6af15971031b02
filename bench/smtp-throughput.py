#!/usr/bin/python3
"""SMTP throughput: how many messages a second a Tegu node accepts over SMTP
and delivers into its PostgreSQL mailboxes, and how much CPU each message
costs in the node and in PostgreSQL; the same load against Postfix
delivering over LMTP into Dovecot Maildirs, with the CPU of Postfix and of
Dovecot.

The load is Postfix's smtp-source. A run is (message size, clients,
messages): `clients` smtp-source processes start together, each one SMTP
session (-s 1) that sends its share of the messages over one connection
(-d), each message to one recipient: client i writes to its own user
(u1..uN, N = --users, rotating from run to run), so `clients` mailboxes
take mail at once. The message is a file (-F) of the given size: headers,
a text part of words and, filling the rest, a base64 attachment of random
bytes (incompressible, like real attachments); `--payload fill` uses
smtp-source's own -l body instead (lines of 'X', which compress to almost
nothing).

For each run, on the server side:
  accepted/s   messages / wall clock of the smtp-source processes (the last
               one exits after its last 250 and QUIT);
  delivered/s  messages / time from the start until the queue is empty
               (Tegu: no row left in queue_entries and queue_messages;
               Postfix: no file left in its incoming, active, deferred,
               hold and maildrop queues), polled every 50 ms;
  CPU ms/msg   utime+stime, from /proc/PID/stat before the start and after
               the queue is empty, divided by the messages: the Tegu node
               (one process, its threads included) and PostgreSQL (the
               postmaster and every process below it); Postfix (its master
               and everything below it) and Dovecot (likewise). A process
               that exited during the run counts through its parent's
               cutime/cstime, so short-lived workers are included.
Every run is checked: every smtp-source must exit 0 (it stops at the first
reply that is not 2xx), exactly `messages` messages must have been stored
in the mailboxes since the run began, none smaller than the one sent, and
the servers' logs must show no warning or error; anything else is
reported and marks the row. The second table adds the seconds, the
clients' CPU and how busy the machine was, and how much of that went to
other processes (a shared machine).

Diagnostics: --perf SIZE:CLIENTS profiles that Tegu run with perf;
--pg-diagnostics samples what the node's backends wait for and prints the
top statements of pg_stat_statements (loaded by the wrapper).

The servers must be running except Tegu, which is started here (and
stopped again) from --tegu-build with a domain and --users users, created
with teguctl. bench/run-smtp-throughput.sh starts a throwaway PostgreSQL,
a private Postfix and a private Dovecot and passes their ports, pids and
folders.

Bounded: counts are fixed per run, every smtp-source gets --run-timeout
seconds, the queue --drain-timeout seconds to empty.

What it shares with idle-connections.py (process trees, the Tegu node, the
tables) is in bench/benchlib.py.
"""
import base64
import os
import random
import re
import resource
import signal
import subprocess
import sys
import threading
import time

import psycopg2

import benchlib
from benchlib import proc_stat, process_tree

CLK_TCK = os.sysconf("SC_CLK_TCK")
DOMAIN = "example.test"
SENDER = "bench@sender.test"

PROFILERS = []
DEFAULT_RUNS = ("4096:1:1000,4096:10:2000,4096:50:4000,"
                "102400:1:300,102400:10:1000,102400:50:2000")


def say(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------ processes and CPU

def tree_cpu_seconds(root):
    """utime+stime+cutime+cstime summed over root and its live descendants:
    a child that exited and was reaped is in its parent's cutime/cstime."""
    ticks = 0
    for pid in process_tree(root):
        fields = proc_stat(pid)
        if fields:
            # fields[0] is field 3 (state): utime is field 14, cstime 17.
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def all_cpu():
    """{pid: (command, utime+stime in ticks, ppid)} for every process. Without
    cutime/cstime: pid 1 reaping an orphan would count its whole life."""
    result = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            result[int(entry)] = (comm, int(fields[11]) + int(fields[12]), int(fields[1]))
    return result


def other_processes(before, after, ours):
    """CPU seconds per command name of the processes that are not ours (not
    in the pid set `ours`, nor children of this process), largest first."""
    me = os.getpid()
    spent = {}
    for pid, (comm, ticks, ppid) in after.items():
        if pid in ours or ppid == me or pid == me:
            continue
        old = before.get(pid)
        delta = ticks - (old[1] if old and old[0] == comm else 0)
        if delta > 0:
            spent[comm] = spent.get(comm, 0) + delta / CLK_TCK
    return sorted(spent.items(), key=lambda kv: -kv[1])


def machine_cpu():
    """Jiffies of the whole machine from /proc/stat: (busy, iowait, irq, total).
    busy is user, nice, system, irq and softirq; irq is irq and softirq,
    which the kernel charges to no process (loopback TCP is received in
    softirq); total adds idle and iowait. Steal (the hypervisor's) is left
    out of all of them; guest time is already in user."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq = \
            (int(x) for x in f.readline().split()[1:8])
    busy = user + nice + system + irq + softirq
    return busy, iowait, irq + softirq, busy + idle + iowait


# ------------------------------------------------------------ messages

WORDS = benchlib.ENGLISH_WORDS


def make_message(path, size, rng):
    """A message of about `size` bytes (LF line ends here; smtp-source -F
    sends CRLF): headers, a text part of words (up to 3 KB), and a base64
    attachment of random bytes filling the rest when there is room."""
    boundary = "=_bench_%016x" % rng.getrandbits(64)
    head = (f"From: Bench Sender <{SENDER}>\n"
            f"To: Bench Users <users@{DOMAIN}>\n"
            "Subject: Quarterly report, draft for review\n"
            "Date: Mon, 23 Nov 2026 12:00:00 +0000\n"
            f"Message-ID: <bench.{rng.getrandbits(64):016x}@sender.test>\n"
            "MIME-Version: 1.0\n"
            f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n"
            f"--{boundary}\n"
            "Content-Type: text/plain; charset=us-ascii\n\n")
    tail = f"\n--{boundary}--\n"
    attach_head = (f"\n--{boundary}\n"
                   "Content-Type: application/octet-stream; name=\"report.bin\"\n"
                   "Content-Transfer-Encoding: base64\n"
                   "Content-Disposition: attachment; filename=\"report.bin\"\n\n")
    text_size = min(size - len(head) - len(tail), 3000)
    text, line = "", ""
    while len(text) + len(line) < text_size - 12:
        word = rng.choice(WORDS)
        if len(line) + len(word) + 1 > 72:
            text += line + "\n"
            line = word
        else:
            line = f"{line} {word}" if line else word
    body = head + text + line + "\n"

    def wire(s):
        return len(s) + s.count("\n")
    room = size - wire(body) - wire(attach_head) - wire(tail)
    if room >= 78:
        # Lines of 76 base64 characters and CRLF: 78 bytes carry 57 random bytes.
        body += attach_head + base64.encodebytes(rng.randbytes(room // 78 * 57)).decode()
    body += tail
    with open(path, "w") as f:
        f.write(body)
    return wire(body)  # as sent, with CRLF


# ------------------------------------------------------------ the systems

class Tegu:
    name = "tegu"
    server_label = "tegu"
    agent_label = "postgres"

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = os.path.join(workdir, "tegu")
        os.makedirs(self.workdir, exist_ok=True)
        self.conf = os.path.join(self.workdir, "tegu.conf")
        self.log_path = os.path.join(self.workdir, "tegu.log")
        self.http_port = benchlib.free_port()
        self.port = benchlib.free_port()
        self.submission_port = benchlib.free_port()
        self.proc = None
        self.db = None
        self.log_offset = 0

    def start(self):
        benchlib.write_tegu_conf(self.conf, self.workdir, "bench-smtp", self.args.dsn,
                                 self.http_port, self.port, self.submission_port,
                                 global_extra="shutdownGrace = 5\n")
        self.proc = benchlib.start_tegu(self.args.tegu_build, self.conf, self.log_path)
        try:
            with open(f"/proc/{self.proc.pid}/autogroup") as f:
                group = f.read().strip()
        except OSError:
            group = "no autogroup"
        say(f"tegu node pid {self.proc.pid} (nice {os.getpriority(os.PRIO_PROCESS, self.proc.pid)}, "
            f"{group}), SMTP on 127.0.0.1:{self.port}")
        benchlib.wait_healthy(self.proc, self.http_port, self.log_path)
        benchlib.add_users(self.args.tegu_build, self.conf, DOMAIN,
                           [f"u{i}" for i in range(1, self.args.users + 1)], "bench-password")
        self.db = psycopg2.connect(self.args.dsn, application_name="bench")
        self.db.autocommit = True

    def stop(self):
        if self.db is not None:
            self.db.close()
            self.db = None
        if self.proc is not None:
            benchlib.stop_tegu(self.proc)

    def alive(self):
        return self.proc.poll() is None

    def query(self, sql):
        with self.db.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()

    def queue_left(self):
        entries, messages = self.query(
            "SELECT (SELECT count(*) FROM queue_entries), (SELECT count(*) FROM queue_messages)")
        return max(entries, messages)

    def queue_problems(self):
        """Entries that failed at least once: (count, a sample of errors)."""
        with self.db.cursor() as cur:
            cur.execute("SELECT count(*) FILTER (WHERE last_error IS NOT NULL),"
                        " (array_agg(DISTINCT last_error) FILTER"
                        "  (WHERE last_error IS NOT NULL))[1:3]"
                        " FROM queue_entries")
            count, errors = cur.fetchone()
        return count, errors or []

    def mark(self):
        return self.query("SELECT clock_timestamp()")[0]

    def delivered_since(self, mark):
        """(messages stored since mark, the smallest of their sizes)."""
        with self.db.cursor() as cur:
            cur.execute("SELECT count(*), min(size) FROM messages WHERE savedate >= %s", (mark,))
            return cur.fetchone()

    def statements(self, limit):
        """The statements that took the most time in PostgreSQL, when
        pg_stat_statements is loaded (--pg-statements)."""
        with self.db.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
            if cur.fetchone()[0] == 0:
                return None
            cur.execute("SELECT calls, total_plan_time, total_exec_time, wal_bytes,"
                        " regexp_replace(query, '\\s+', ' ', 'g')"
                        " FROM pg_stat_statements WHERE calls > 0"
                        " ORDER BY total_plan_time + total_exec_time DESC LIMIT %s", (limit,))
            return cur.fetchall()

    def reset_statements(self):
        with self.db.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
            if cur.fetchone()[0]:
                cur.execute("SELECT pg_stat_statements_reset()")

    def cpu(self):
        return tree_cpu_seconds(self.proc.pid), tree_cpu_seconds(self.args.pg_pid)

    def profiled_pids(self):
        return [self.proc.pid] + process_tree(self.args.pg_pid)

    def new_log_problems(self):
        """Lines at level warn or error written since the last call."""
        with open(self.log_path, errors="replace") as f:
            f.seek(self.log_offset)
            text = f.read()
            self.log_offset = f.tell()
        return [line for line in text.splitlines()
                if "level=warn" in line or "level=error" in line]


class Postfix:
    name = "postfix"
    server_label = "postfix"
    agent_label = "dovecot"
    QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")

    def __init__(self, args, workdir):
        self.args = args
        self.port = args.postfix_port
        self.log_path = args.postfix_log
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0

    def start(self):
        pass

    def stop(self):
        pass

    def alive(self):
        try:
            os.kill(self.args.postfix_pid, 0)
            os.kill(self.args.dovecot_pid, 0)
            return True
        except OSError:
            return False

    def queue_left(self):
        n = 0
        for queue in self.QUEUES:
            for _, _, files in os.walk(os.path.join(self.args.postfix_queue, queue)):
                n += len(files)
        return n

    def queue_problems(self):
        n = 0
        for queue in ("deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.args.postfix_queue, queue)):
                n += len(files)
        return n, []

    def mark(self):
        return time.time() - 1  # Maildir file times have a resolution of 1 s at worst

    def delivered_since(self, mark):
        """(messages stored since mark, the smallest of their sizes): the
        Maildir files of every user, W= being the size with CRLF line ends."""
        count, smallest = 0, None
        root = self.args.mail_root
        for user in os.listdir(root):
            for sub in ("new", "cur"):
                folder = os.path.join(root, user, "Maildir", sub)
                try:
                    names = os.listdir(folder)
                except FileNotFoundError:
                    continue
                for name in names:
                    try:
                        if os.stat(os.path.join(folder, name)).st_mtime < mark:
                            continue
                    except FileNotFoundError:
                        continue
                    count += 1
                    size = re.search(r",W=(\d+)", name)
                    if size and (smallest is None or int(size.group(1)) < smallest):
                        smallest = int(size.group(1))
        return count, smallest

    def cpu(self):
        return tree_cpu_seconds(self.args.postfix_pid), tree_cpu_seconds(self.args.dovecot_pid)

    def profiled_pids(self):
        return process_tree(self.args.postfix_pid) + process_tree(self.args.dovecot_pid)

    def new_log_problems(self):
        with open(self.log_path, errors="replace") as f:
            f.seek(self.log_offset)
            text = f.read()
            self.log_offset = f.tell()
        pattern = re.compile(r"(warning|error|fatal|panic):|status=(deferred|bounced)")
        problems = [line for line in text.splitlines() if pattern.search(line)]
        dovecot_log = self.args.dovecot_log
        if os.path.exists(dovecot_log):
            with open(dovecot_log, errors="replace") as f:
                f.seek(getattr(self, "dovecot_offset", 0))
                text = f.read()
                self.dovecot_offset = f.tell()
            problems += [line for line in text.splitlines()
                         if re.search(r"(Error|Fatal|Panic|Warning):", line)]
        return problems


# ------------------------------------------------------------ one run

def smtp_source_commands(args, system, size, clients, messages, message_file, first_user):
    share, extra = divmod(messages, clients)
    commands = []
    for i in range(clients):
        count = share + (1 if i < extra else 0)
        if count == 0:
            continue
        user = (first_user + i) % args.users + 1
        cmd = [args.smtp_source, "-4", "-d", "-s", "1", "-m", str(count), "-M", "client.bench.test",
               "-f", SENDER, "-t", f"u{user}@{DOMAIN}"]
        if args.payload == "fill":
            cmd += ["-l", str(size)]
        else:
            cmd += ["-F", message_file]
        cmd.append(f"127.0.0.1:{system.port}")
        commands.append(cmd)
    return commands


def run_once(args, system, size, clients, messages, message_file, min_size, first_user,
             workdir, perf=False, quiet=False, sampler=None):
    row = {"system": system.name, "size": size, "clients": clients, "messages": messages,
           "problems": []}
    deadline = time.monotonic() + args.drain_timeout
    while system.queue_left() and time.monotonic() < deadline:
        time.sleep(0.1)
    if system.queue_left():
        row["problems"].append(f"queue not empty before the run: {system.queue_left()}")
    system.new_log_problems()  # only this run's lines count
    commands = smtp_source_commands(args, system, size, clients, messages, message_file,
                                    first_user)
    err_path = os.path.join(workdir, f"smtp-source-{system.name}-{size}-{clients}.err")
    perf_proc = None
    if sampler:
        sampler.start()
    if perf:
        perf_data = os.path.join(workdir, f"perf-{system.name}-{size}-{clients}.data")
        # No call graphs: Debian's postgres has no frame pointers.
        perf_proc = subprocess.Popen(["perf", "record", "-a", "-F", "999", "-o", perf_data],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROFILERS.append(perf_proc)  # killed at exit if still running
        time.sleep(1)

    mark = system.mark()
    everyone0 = all_cpu()
    server0, agent0 = system.cpu()
    busy0, iowait0, irq0, total0 = machine_cpu()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    procs = []
    try:
        with open(err_path, "w") as err:
            for cmd in commands:
                procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=err))
        run_deadline = t0 + args.run_timeout
        failed = 0
        for p in procs:
            try:
                rc = p.wait(timeout=max(0.1, run_deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
                row["problems"].append("smtp-source timed out")
            if rc != 0:
                failed += 1
    finally:
        # On an interruption too: no client outlives the run.
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    t1 = time.monotonic()
    busy1, iowait1, irq1, total1 = machine_cpu()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if failed:
        with open(err_path) as err:
            lines = [line.strip() for line in err if line.strip()]
        row["problems"].append(f"{failed} of {len(procs)} smtp-source processes failed: "
                               + "; ".join(sorted(set(lines))[:3]))
    deadline = t1 + args.drain_timeout
    while system.queue_left() and system.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    t2 = time.monotonic()
    server1, agent1 = system.cpu()
    busy2, iowait2, irq2, total2 = machine_cpu()
    if sampler:
        row["waits"] = sampler.stop()
    others = other_processes(everyone0, all_cpu(), set(system.profiled_pids()))
    if perf_proc:
        profiled = system.profiled_pids()
        perf_proc.send_signal(signal.SIGINT)
        perf_proc.wait(timeout=60)
    left = system.queue_left() if system.alive() else -1
    delivered, smallest = system.delivered_since(mark)
    if not system.alive():
        row["problems"].append(f"{system.name} died during the run")
    if left:
        stuck, errors = system.queue_problems()
        row["problems"].append(f"queue not empty after {args.drain_timeout} s: {left} left, "
                               f"{stuck} deferred or failed {errors}")
    if delivered != messages:
        row["problems"].append(f"delivered {delivered} of {messages} messages")
    if smallest is not None and smallest < min_size:
        row["problems"].append(f"a delivered message has {smallest} bytes, fewer than the "
                               f"{min_size} sent")
    log_problems = system.new_log_problems()
    if log_problems:
        row["problems"].append(f"{len(log_problems)} warning/error log lines, first: "
                               f"{log_problems[0][:300]}")
    row.update({
        "accept_s": t1 - t0,
        "drain_s": t2 - t0,
        "accepted_per_s": messages / (t1 - t0),
        "delivered_per_s": messages / (t2 - t0) if not left else float("nan"),
        "server_ms": (server1 - server0) * 1000 / messages,
        "agent_ms": (agent1 - agent0) * 1000 / messages,
        "client_ms": ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime))
        * 1000 / messages,
        "busy_accept": 100 * (busy1 - busy0) / max(1, total1 - total0),
        "iowait_accept": 100 * (iowait1 - iowait0) / max(1, total1 - total0),
        "busy_all": 100 * (busy2 - busy0) / max(1, total2 - total0),
        # Busy time of the machine not spent by the server, its database or
        # delivery agent, or the clients: other work on the machine, noise.
        "irq_all": 100 * (irq2 - irq0) / max(1, total2 - total0),
        "other_all": 100 * max(0.0, (busy2 - busy0 - irq2 + irq0) / CLK_TCK
                               - (server1 - server0) - (agent1 - agent0)
                               - (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime))
        / max(1e-9, (total2 - total0) / CLK_TCK),
        "server_label": system.server_label,
        "agent_label": system.agent_label,
        "others": others[:6],
    })
    if not quiet:
        say(f"{system.name:7} {size // 1024:4} KiB x{clients:<3} {messages:5} msgs: "
            f"accept {row['accept_s']:.2f} s, queue empty at {row['drain_s']:.2f} s, "
            f"CPU {system.server_label} {row['server_ms']:.2f} + {system.agent_label} "
            f"{row['agent_ms']:.2f} ms/msg, machine busy {row['busy_all']:.0f}%"
            + ("" if not row["problems"] else "; PROBLEMS: " + " | ".join(row["problems"])))
        say("        other processes meanwhile (CPU s): "
            + ", ".join(f"{comm} {s:.2f}" for comm, s in others[:6]))
        if sampler:
            say(f"        the node's PostgreSQL backends, on average: {row['waits']}")
    if perf_proc:
        report = os.path.join(workdir, f"perf-{system.name}-{size}-{clients}.txt")
        with open(report, "w") as out:
            # The machine may run other things: only the server's processes.
            # Percentages are of those processes' samples.
            for sort in ("comm,dso,sym",):
                out.flush()
                subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "--no-children",
                                "-g", "none", "--pid", ",".join(map(str, profiled)),
                                "--percentage", "relative", "--sort", sort,
                                "--percent-limit", "0.3"],
                               stdout=out, stderr=subprocess.DEVNULL, timeout=300)
        row["perf_report"] = report
        say(f"perf profile of {system.name}'s processes during that run: {report}")
    return row


# ------------------------------------------------------------ output

def fmt(v, digits=1):
    if isinstance(v, float):
        return "n/a" if v != v else f"{v:.{digits}f}"
    return str(v)


def table(rows, columns):
    """columns: (header, cell of a row, numeric) each."""
    return benchlib.table([c[0] for c in columns], [[c[1](r) for c in columns] for r in rows],
                          [c[2] for c in columns])


def main_table(rows):
    return table(rows, [
        ("system", lambda r: r["system"] + (" (!)" if r["problems"] else ""), False),
        ("size", lambda r: f"{r['size'] // 1024} KiB", True),
        ("clients", lambda r: str(r["clients"]), True),
        ("messages", lambda r: str(r["messages"]), True),
        ("accepted/s", lambda r: fmt(r["accepted_per_s"]), True),
        ("delivered/s", lambda r: fmt(r["delivered_per_s"]), True),
        ("CPU ms/msg (server)", lambda r: f"{fmt(r['server_ms'], 2)} {r['server_label']}", True),
        ("CPU ms/msg (database or delivery agent)",
         lambda r: f"{fmt(r['agent_ms'], 2)} {r['agent_label']}", True),
    ])


def detail_table(rows):
    return table(rows, [
        ("system", lambda r: r["system"], False),
        ("size", lambda r: f"{r['size'] // 1024} KiB", True),
        ("clients", lambda r: str(r["clients"]), True),
        ("accept s", lambda r: fmt(r["accept_s"], 2), True),
        ("queue empty s", lambda r: fmt(r["drain_s"], 2), True),
        ("CPU ms/msg total", lambda r: fmt(r["server_ms"] + r["agent_ms"], 2), True),
        ("client CPU ms/msg", lambda r: fmt(r["client_ms"], 2), True),
        ("machine busy % (accept)", lambda r: fmt(r["busy_accept"], 0), True),
        ("iowait % (accept)", lambda r: fmt(r["iowait_accept"], 0), True),
        ("machine busy % (to empty)", lambda r: fmt(r["busy_all"], 0), True),
        ("of which irq+softirq %", lambda r: fmt(r["irq_all"], 0), True),
        ("of which other processes %", lambda r: fmt(r["other_all"], 0), True),
    ])


class WaitSampler:
    """Samples pg_stat_activity every 10 ms while running: what the node's
    backends are doing (active: which wait event, or on CPU; idle; idle in
    transaction). Diagnostics only (--pg-diagnostics): it costs PostgreSQL
    a little CPU itself."""

    def __init__(self, dsn):
        self.db = psycopg2.connect(dsn, application_name="bench")
        self.db.autocommit = True
        self.counts = {}
        self.samples = 0
        self.stop_event = threading.Event()
        self.thread = None

    def _run(self):
        with self.db.cursor() as cur:
            while not self.stop_event.is_set():
                cur.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                            " WHERE usename = 'tegu' AND application_name <> 'bench'"
                            "  AND backend_type = 'client backend'")
                self.samples += 1
                for state, wtype, wevent in cur.fetchall():
                    if state == "active":
                        key = f"active, {wtype}:{wevent}" if wtype else "active, on CPU"
                    else:
                        key = f"{state}" + (f", {wtype}:{wevent}" if wtype and
                                            state != "idle" else "")
                    self.counts[key] = self.counts.get(key, 0) + 1
                time.sleep(0.01)

    def start(self):
        self.counts, self.samples = {}, 0
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=10)
        if not self.samples:
            return "no samples"
        return ", ".join(f"{k} {v / self.samples:.2f}"
                         for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1]))

    def close(self):
        self.db.close()


def print_statements(tegu):
    rows = tegu.statements(20)
    if rows is None:
        say("pg_stat_statements is not loaded: no statement report")
        return
    plan = sum(r[1] for r in rows)
    execute = sum(r[2] for r in rows)
    lines = [f"PostgreSQL statements of all Tegu runs, warm-up included, by planning + execution "
             f"time (top {len(rows)}: planning {plan / 1000:.1f} s, execution {execute / 1000:.1f} "
             "s; parsing, the protocol and the commit's WAL flush are in neither):",
             "  plan ms  exec ms   calls  plan/call exec/call  WAL B/call  statement"]
    for calls, plan_ms, exec_ms, wal, query in rows:
        lines.append(f"  {plan_ms:7.0f} {exec_ms:8.0f} {calls:7} {plan_ms / calls:9.3f} "
                     f"{exec_ms / calls:9.3f} {int(wal or 0) / calls:11.0f}  {query[:110]}")
    say("\n".join(lines))
    with open(os.path.join(tegu.args.workdir, "pg-statements.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_runs(spec):
    runs = []
    for item in spec.split(","):
        try:
            size, clients, messages = (int(x) for x in item.split(":"))
        except ValueError:
            sys.exit(f"bad run \"{item}\": SIZE:CLIENTS:MESSAGES expected")
        if size < 1024 or clients < 1 or messages < clients:
            sys.exit(f"bad run \"{item}\": size >= 1024, clients >= 1, messages >= clients")
        runs.append((size, clients, messages))
    return runs


def main():
    ap = benchlib.argument_parser(__doc__)
    ap.add_argument("--dsn", required=True, help="PostgreSQL DSN for the Tegu node")
    ap.add_argument("--pg-pid", type=int, required=True, help="the postmaster's pid")
    ap.add_argument("--postfix-port", type=int, default=0, help="0: Tegu only")
    ap.add_argument("--postfix-pid", type=int, default=0)
    ap.add_argument("--postfix-queue", default="")
    ap.add_argument("--postfix-log", default="")
    ap.add_argument("--dovecot-pid", type=int, default=0)
    ap.add_argument("--dovecot-log", default="")
    ap.add_argument("--mail-root", default="", help="Dovecot's Maildirs: ROOT/USER/Maildir")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--runs", default=DEFAULT_RUNS,
                    help="SIZE:CLIENTS:MESSAGES,... (default %(default)s)")
    ap.add_argument("--payload", choices=("file", "fill"), default="file",
                    help="file: -F with a generated message (default); fill: smtp-source -l")
    ap.add_argument("--smtp-source", default="/usr/sbin/smtp-source")
    ap.add_argument("--run-timeout", type=int, default=120,
                    help="seconds at most for the smtp-source processes of one run")
    ap.add_argument("--drain-timeout", type=int, default=120,
                    help="seconds at most for the queue to empty after a run")
    ap.add_argument("--perf", default="",
                    help="SIZE:CLIENTS: record a system-wide perf profile of that Tegu run")
    ap.add_argument("--pg-diagnostics", action="store_true",
                    help="sample the node's backends in pg_stat_activity during its runs and "
                    "print the top statements of pg_stat_statements (when loaded)")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    benchlib.exit_on_sigterm()
    runs = parse_runs(args.runs)
    if args.postfix_port and not (args.postfix_pid and args.postfix_queue and args.postfix_log
                                  and args.dovecot_pid and args.mail_root):
        ap.error("--postfix-port needs --postfix-pid, --postfix-queue, --postfix-log, "
                 "--dovecot-pid and --mail-root")
    want = max(c for _, c, _ in runs) * 2 + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    rng = random.Random(20261123)
    files, wire = {}, {}
    for size in sorted({s for s, _, _ in runs} | {4096}):
        path = os.path.join(args.workdir, f"message-{size}.eml")
        files[size] = path
        wire[size] = make_message(path, size, rng)
        if args.payload == "fill":
            wire[size] = size  # smtp-source's own headers come on top
        else:
            say(f"message file {path}: {wire[size]} bytes as sent")

    tegu = Tegu(args, args.workdir)
    systems = [tegu]
    if args.postfix_port:
        systems.append(Postfix(args, args.workdir))
    rows = []
    sampler = None
    try:
        tegu.start()
        if args.pg_diagnostics:
            tegu.reset_statements()  # the warm-up counts, the setup does not
            sampler = WaitSampler(args.dsn)
        # Warm-up, not measured: pools, helper processes, first mailbox rows.
        for system in systems:
            say(f"warm-up: {system.name}, 100 messages of 4 KiB from 10 clients")
            size = 4096 if 4096 in files else min(files)
            warm = run_once(args, system, size, 10, 100, files[size], wire[size], 0,
                            args.workdir, quiet=True)
            if warm["problems"]:
                say(f"warm-up problems on {system.name}: " + " | ".join(warm["problems"]))
        perf_run = tuple(int(x) for x in args.perf.split(":")) if args.perf else None
        first_user = 0
        for size, clients, messages in runs:
            for system in systems:
                row = run_once(args, system, size, clients, messages, files[size], wire[size],
                               first_user, args.workdir,
                               perf=(system is tegu and perf_run == (size, clients)),
                               sampler=sampler if system is tegu else None)
                rows.append(row)
                if not system.alive():
                    raise SystemExit(f"{system.name} is no longer running; stopping")
            first_user = (first_user + clients) % args.users
        if args.pg_diagnostics:
            print_statements(tegu)
            sampler.close()
    finally:
        for p in PROFILERS:
            if p.poll() is None:
                p.kill()
                p.wait()
        tegu.stop()
    print(main_table(rows))
    print()
    print(detail_table(rows))
    problems = [r for r in rows if r["problems"]]
    if problems:
        print()
        for r in problems:
            print(f"(!) {r['system']} {r['size'] // 1024} KiB x{r['clients']}: "
                  + " | ".join(r["problems"]))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

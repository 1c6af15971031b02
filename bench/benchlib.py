"""The Python the bench drivers share (idle-connections.py,
smtp-throughput.py and imap-search.py import it from this folder): process
trees from /proc, free loopback ports, starting and stopping a Tegu node,
its domain and users, a word list for generated mail, the command line's
common part and the Markdown tables they print."""
import argparse
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time


# ------------------------------------------------------------ processes

def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None  # exited meanwhile
    # The command name (field 2) may hold spaces and parentheses:
    # the fields after it start behind the last ")".
    return stat[stat.rindex(")") + 2:].split()


def children_by_parent():
    """{ppid: [pid, ...]} for every process now in /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(entry)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(pid):
    """pid and all its descendants."""
    children = children_by_parent()
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


# ------------------------------------------------------------ the Tegu node

def free_port():
    """A port free on 127.0.0.1, below the kernel's ephemeral range (32768
    and up) so our own outgoing connections cannot take it."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free TCP port on 127.0.0.1")


def healthy(port):
    """True when the node's /health on 127.0.0.1:port answers 200."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def write_tegu_conf(path, workdir, node_name, dsn, http_port, smtp_port, submission_port,
                    global_extra="", imap_port=None, settings=None):
    """Writes a node's configuration (mode 0600): data in workdir, the
    database dsn, HTTP, SMTP, submission and IMAP listeners on 127.0.0.1
    (IMAP on imap_port, else on a free port, so the node never binds 143 on
    all addresses); global_extra, lines of [global], comes after nodeName;
    settings, {name: value}, go into [settings] (this node only)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"[global]\ndataDir = {workdir}\nnodeName = {node_name}\n{global_extra}\n"
                f"[database]\ndsn = {dsn}\n\n[Log]\ndebug = false\n\n"
                f"[WEB]\nadminPassword = bench\n\n[listen]\nhttp = 127.0.0.1:{http_port}\n"
                f"smtp = 127.0.0.1:{smtp_port}\nsubmission = 127.0.0.1:{submission_port}\n"
                f"imap = 127.0.0.1:{imap_port or free_port()}\n")
        if settings:
            f.write("\n[settings]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))


def start_tegu(build, conf, log_path):
    """Starts BUILD/tegu -c conf, its output into log_path; the Popen."""
    with open(log_path, "w") as log:
        return subprocess.Popen([os.path.join(build, "tegu"), "-c", conf],
                                stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(proc, http_port, log_path):
    """Waits (30 s at most) for /health to answer 200, i.e. the database is
    reached and migrated; else stops the node, shows the end of its log and
    exits."""
    deadline = time.monotonic() + 30
    while not healthy(http_port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_tegu(proc)
            with open(log_path) as log:
                sys.stderr.write(log.read()[-3000:])
            sys.exit("tegu did not become healthy within 30 s; the end of its log is above")
        time.sleep(0.2)


def teguctl(build, conf, *argv, stdin=None):
    """Runs BUILD/teguctl -c conf ARGV... (60 s at most); its output, or
    exits with its error."""
    result = subprocess.run([os.path.join(build, "teguctl"), "-c", conf, *argv], input=stdin,
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"teguctl {' '.join(argv)} failed ({result.returncode}): "
                 f"{result.stderr.strip()}")
    return result.stdout


def add_users(build, conf, domain, names, password):
    """Creates the domain and the users NAME@domain, all with password."""
    teguctl(build, conf, "domain", "add", domain)
    for name in names:
        teguctl(build, conf, "user", "add", f"{name}@{domain}", "--password-stdin",
                stdin=password + "\n")


def stop_tegu(proc):
    """Stops the node if it still runs: SIGTERM, SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ------------------------------------------------------------ generated mail

# Common English words for the text of generated messages.
ENGLISH_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his "
    "from at which but have an they you were her she there been one all we their "
    "has would when if so no will more can out other into some could time these "
    "two may then do first any my now such like our over man me even most made "
    "after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very "
    "make world still own see men work long get here between both life being under "
    "never day same another know while last might us great old year off come since "
    "against go came right used take three quarterly report meeting budget invoice "
    "schedule delivery contract review project draft attached please regards").split()


# ------------------------------------------------------------ command line and output

def argument_parser(doc):
    """The drivers' parser: doc's first paragraph as description, and
    --tegu-build."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tegu-build", default="build/release")
    return ap


def exit_on_sigterm():
    """On SIGTERM, unwind as on Ctrl-C: the finally clauses close the
    connections and stop what was started (the Tegu node, the clients)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def table(header, cells, numeric):
    """A Markdown table: header and each row of cells are lists of strings;
    numeric columns are right-aligned."""
    widths = [max(len(x[i]) for x in [header] + cells) for i in range(len(header))]

    def line(values):
        return "| " + " | ".join(v.rjust(w) if num else v.ljust(w)
                                 for v, w, num in zip(values, widths, numeric)) + " |"
    out = [line(header), "| " + " | ".join("-" * (w - 1) + (":" if num else "-")
                                          for w, num in zip(widths, numeric)) + " |"]
    out += [line(c) for c in cells]
    return "\n".join(out)

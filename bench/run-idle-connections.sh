#!/usr/bin/env bash
# Idle-connection memory, Tegu against Dovecot and Postfix, in one command:
#
#   bash bench/run-idle-connections.sh [--count N] [--dovecot-count N]
#                                      [--postfix-count N] [--timeout SECONDS]
#
# Defaults: 10000 connections to Tegu and to Dovecot, 500 to Postfix (its
# smtpd is one process per connection). For Debian 12, as root. It
#   1. installs postgresql, dovecot-imapd and postfix when missing, without
#      letting the packages start their own services (policy-rc.d);
#   2. builds Tegu Release into build/release when build/release/tegu is missing;
#   3. starts, in one temporary folder, a throwaway PostgreSQL cluster, a
#      private Dovecot (dovecot -c) and a private Postfix (postfix -c), each on
#      127.0.0.1 at a free port, apart from any system instance;
#   4. runs bench/idle-connections.py, which starts the Tegu node itself, holds
#      the connections to one server at a time and prints the table;
#   5. stops everything it started and removes the folder, on any exit.
# Every wait is bounded. The folder is kept after a failure, or always with
# KEEP_WORKDIR=1, for the servers' logs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$repo/build/release
python=/usr/bin/python3

tegu_count=10000
dovecot_count=10000
postfix_count=500
timeout=180

say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'run-idle-connections: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '3,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--count) tegu_count=${2:?}; shift 2 ;;
	--dovecot-count) dovecot_count=${2:?}; shift 2 ;;
	--postfix-count) postfix_count=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
for n in "$tegu_count" "$dovecot_count" "$postfix_count" "$timeout"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "counts and timeout must be positive integers, got \"$n\""
done

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and starts Dovecot and Postfix"

# ------------------------------------------------------------ cleanup

workdir=
bench_pid=
policy_rc_d_ours=false
pg_bindir=
pgdata=
dovecot_conf=
postfix_conf=

alive() { # alive PID: running and not a zombie
	kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]
}

wait_gone() { # wait_gone PID SECONDS: 0 when PID has exited within SECONDS
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

pidfile_pid() { # pidfile_pid FILE: the pid in FILE (Postfix pads it with spaces)
	local pid
	[ -f "$1" ] || return 1
	pid=$(tr -d ' \n' <"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

stop_dovecot() {
	local pid
	[ -n "$dovecot_conf" ] || return 0
	pid=$(pidfile_pid "$workdir/dovecot/run/master.pid") || return 0
	alive "$pid" || return 0
	say "stopping Dovecot (pid $pid)"
	timeout 30 dovecot -c "$dovecot_conf" stop 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 15; then
		say "Dovecot still running after 15 s: SIGKILL to its process tree"
		kill_tree "$pid"
	fi
}

stop_postfix() {
	local pid
	[ -n "$postfix_conf" ] || return 0
	pid=$(pidfile_pid "$workdir/postfix/queue/pid/master.pid") || return 0
	alive "$pid" || return 0
	say "stopping Postfix (pid $pid)"
	timeout 30 postfix -c "$postfix_conf" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 15; then
		say "Postfix still running after 15 s: SIGKILL to its process tree"
		kill_tree "$pid"
	fi
}

kill_tree() { # kill_tree PID: SIGKILL to PID and its descendants
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_tree "$child"
	done
	kill -KILL "$1" 2>/dev/null || true
}

stop_pg() {
	[ -n "$pgdata" ] && [ -f "$pgdata/postmaster.pid" ] || return 0
	say "stopping PostgreSQL"
	runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$pgdata" -m immediate -w -t 30 stop \
		>/dev/null 2>&1 || true
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$bench_pid" ] && alive "$bench_pid"; then
		kill -TERM "$bench_pid" 2>/dev/null
		wait_gone "$bench_pid" 45 || kill -KILL "$bench_pid" 2>/dev/null
	fi
	stop_postfix
	stop_dovecot
	stop_pg
	if $policy_rc_d_ours; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if [ -n "$workdir" ] && [ -d "$workdir" ]; then
		# Kept after a failure (not after an interrupt), for the logs.
		if [ "${KEEP_WORKDIR:-0}" = 1 ] || { [ $status -ne 0 ] && [ $status -ne 130 ] &&
			[ $status -ne 143 ]; }; then
			say "kept $workdir (logs)"
		else
			rm -rf "$workdir"
		fi
	fi
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ------------------------------------------------------------ packages

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'; }

listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }

install_packages() {
	local wanted=(postgresql dovecot-imapd postfix) missing=() p
	if [ ! -x "$build_dir/tegu" ]; then
		# The build needs the build dependencies as well.
		mapfile -t -O ${#wanted[@]} wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' \
			-e '/^$/d' "$repo/deploy/packages.txt")
	fi
	for p in "${wanted[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages: all installed"
		return
	fi
	command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"

	# The packages' own services must not start (they would take ports 25
	# and 143 and run next to ours): invoke-rc.d and deb-systemd-invoke ask
	# policy-rc.d, and 101 means "not allowed".
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# Temporary, from tegu bench/run-idle-connections.sh\nexit 101\n' \
			>/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy_rc_d_ours=true
	fi
	local before25=false before143=false
	listening 25 && before25=true
	listening 143 && before143=true

	say "installing packages: ${missing[*]}"
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
	timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
		die "apt-get update failed"
	timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" ||
		die "apt-get install failed"

	if $policy_rc_d_ours; then
		rm -f /usr/sbin/policy-rc.d
		policy_rc_d_ours=false
	fi
	# Whatever started anyway (a system without policy-rc.d support) is
	# stopped again; services that ran before this script are left alone.
	local unit
	for unit in postfix dovecot; do
		if { [ $unit = postfix ] && ! $before25 && listening 25; } ||
			{ [ $unit = dovecot ] && ! $before143 && listening 143; }; then
			say "stopping the $unit service the package started"
			if [ -d /run/systemd/system ]; then
				timeout 60 systemctl stop "$unit" || true
			else
				timeout 60 "/etc/init.d/$unit" stop || true
			fi
		fi
	done
	! { ! $before25 && listening 25; } || die "something listens on port 25 after the install"
	! { ! $before143 && listening 143; } || die "something listens on port 143 after the install"
}

build_tegu() {
	[ -x "$build_dir/tegu" ] && return 0
	say "building Tegu Release into build/release"
	cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build_dir" -j2
	[ -x "$build_dir/tegu" ] || die "the build did not produce $build_dir/tegu"
}

# ------------------------------------------------------------ servers

# A port free on 127.0.0.1 now, below the kernel's ephemeral range (32768 and
# up), so the benchmark's own outgoing connections cannot take it. Ports
# already handed out are passed as arguments.
free_port() {
	"$python" - "$@" <<'EOF'
import random, socket, sys
taken = {int(p) for p in sys.argv[1:]}
for _ in range(200):
    port = random.randint(20000, 32000)
    if port in taken:
        continue
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    sys.exit(0)
sys.exit("no free TCP port on 127.0.0.1")
EOF
}

start_pg() {
	pg_bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -x "$pg_bindir/initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
	pgdata=$workdir/pg/data
	mkdir -p "$workdir/pg"
	chown postgres:postgres "$workdir/pg"
	say "starting PostgreSQL on 127.0.0.1:$pg_port"
	runuser -u postgres -- "$pg_bindir/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 \
		--locale=C --lc-ctype=C.UTF-8 --no-instructions >"$workdir/pg/initdb.log" 2>&1 ||
		{ cat "$workdir/pg/initdb.log" >&2; die "initdb failed"; }
	runuser -u postgres -- tee -a "$pgdata/postgresql.conf" >/dev/null <<EOF

# bench/run-idle-connections.sh: a throwaway cluster, loopback only.
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$workdir/pg'
fsync = off
EOF
	runuser -u postgres -- tee "$pgdata/pg_hba.conf" >/dev/null <<EOF
local  all  all                trust
host   all  all  127.0.0.1/32  trust
EOF
	runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$pgdata" -l "$workdir/pg/pg.log" -w -t 60 \
		start >/dev/null || { tail -n 20 "$workdir/pg/pg.log" >&2; die "PostgreSQL did not start"; }
	local psql=(runuser -u postgres -- "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1
		-h "$workdir/pg" -p "$pg_port" -U postgres -d postgres)
	"${psql[@]}" -c "CREATE ROLE tegu LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
	"${psql[@]}" -c "CREATE DATABASE tegu OWNER tegu"
}

start_dovecot() {
	local dir=$workdir/dovecot
	dovecot_conf=$dir/dovecot.conf
	mkdir -p "$dir/run" "$dir/state"
	if ! id dovenull >/dev/null 2>&1 || ! id dovecot >/dev/null 2>&1; then
		die "users dovenull and dovecot missing: is dovecot-core installed?"
	fi
	# Unused (nobody logs in) but Dovecot wants an authentication database.
	printf 'bench:{PLAIN}bench:65534:65534::/nonexistent::\n' >"$dir/users"
	chmod 644 "$dir/users"
	cat >"$dovecot_conf" <<EOF
# bench/run-idle-connections.sh: a private Dovecot, no system config included.
protocols = imap
listen = 127.0.0.1
instance_name = tegu-bench-dovecot
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
# High-performance mode: one imap-login process serves every connection
# before login (the usual setting for many clients).
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dovecot_port
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 1
  process_limit = 1
  client_limit = $((dovecot_count + 100))
  vsz_limit = 2G
}
EOF
	doveconf -c "$dovecot_conf" -n >"$dir/doveconf.txt" 2>&1 ||
		{ cat "$dir/doveconf.txt" >&2; die "Dovecot rejects its configuration"; }
	say "starting Dovecot (imap) on 127.0.0.1:$dovecot_port"
	dovecot -c "$dovecot_conf" || { tail -n 20 "$dir/dovecot.log" >&2; die "Dovecot did not start"; }
	wait_listening "$dovecot_port" Dovecot "$dir/dovecot.log"
	dovecot_pid=$(pidfile_pid "$dir/run/master.pid") || die "no Dovecot master.pid"
}

start_postfix() {
	local dir=$workdir/postfix
	postfix_conf=$dir/etc
	mkdir -p "$postfix_conf" "$dir/queue" "$dir/data"
	chown postfix "$dir/data"
	# Start from the system's main.cf and master.cf (main.cf is missing after
	# a "No configuration" install), then make every setting that matters
	# explicit. The other files Postfix reads stay in meta_directory, /etc/postfix.
	if [ -f /etc/postfix/main.cf ]; then
		cp /etc/postfix/main.cf "$postfix_conf/main.cf"
	else
		: >"$postfix_conf/main.cf"
	fi
	cp /etc/postfix/master.cf "$postfix_conf/master.cf"
	local pc=(postconf -c "$postfix_conf")
	"${pc[@]}" -e \
		"compatibility_level = 3.6" \
		"queue_directory = $dir/queue" \
		"data_directory = $dir/data" \
		"maillog_file = $dir/maillog" \
		"maillog_file_prefixes = $dir" \
		"syslog_name = postfix-tegu-bench" \
		"inet_interfaces = 127.0.0.1" \
		"inet_protocols = ipv4" \
		"myhostname = bench.localdomain" \
		"mydestination =" \
		"mynetworks = 127.0.0.0/8" \
		"relayhost =" \
		"alias_maps =" \
		"alias_database =" \
		"smtpd_tls_security_level = none" \
		"smtpd_milters =" \
		"non_smtpd_milters =" \
		"smtpd_peername_lookup = no" \
		"smtpd_client_connection_count_limit = 0" \
		"smtpd_client_connection_rate_limit = 0" \
		"default_process_limit = $((postfix_count + 100))"
	# One smtpd listener on our port instead of the system's listeners (25,
	# and 587 or 465 when enabled there), and no chroot: the queue folder
	# holds no copy of /etc.
	local service
	for service in $("${pc[@]}" -M | awk '$2 == "inet" {print $1 "/" $2}'); do
		"${pc[@]}" -MX "$service"
	done
	"${pc[@]}" -Me "127.0.0.1:$postfix_port/inet = 127.0.0.1:$postfix_port inet n - n - $((postfix_count + 100)) smtpd"
	local field
	for field in $("${pc[@]}" -F '*/*/chroot' | awk '$3 != "n" {print $1}'); do
		"${pc[@]}" -F -e "$field = n"
	done
	say "starting Postfix (smtpd) on 127.0.0.1:$postfix_port"
	timeout 60 postfix -c "$postfix_conf" check >"$dir/check.log" 2>&1 ||
		{ cat "$dir/check.log" >&2; die "postfix check failed"; }
	timeout 60 postfix -c "$postfix_conf" start >"$dir/start.log" 2>&1 ||
		{ cat "$dir/start.log" >&2; tail -n 20 "$dir/maillog" >&2 2>/dev/null; die "Postfix did not start"; }
	wait_listening "$postfix_port" Postfix "$dir/maillog"
	postfix_pid=$(pidfile_pid "$dir/queue/pid/master.pid") || die "no Postfix master.pid"
}

wait_listening() { # wait_listening PORT NAME LOG
	local i
	for ((i = 0; i < 300; i++)); do
		listening "$1" && return 0
		sleep 0.1
	done
	tail -n 20 "$3" >&2 2>/dev/null
	die "$2 does not listen on 127.0.0.1:$1 after 30 s"
}

# ------------------------------------------------------------ main

install_packages
build_tegu

# Each held connection is one descriptor in this client and one in the
# server; raise the soft limit as far as the hard one allows (children
# inherit it). Too low a limit shows up as fewer connections held.
ulimit -Sn "$(ulimit -Hn)"
for n in "$tegu_count" "$dovecot_count" "$postfix_count"; do
	[ $((n + 200)) -le "$(ulimit -Hn)" ] ||
		die "$n connections need more open files than the hard limit ($(ulimit -Hn))"
done

workdir=$(mktemp -d /tmp/tegu-bench-idle.XXXXXX)
# The servers' own users (postgres, dovecot, dovenull, postfix) pass through it.
chmod 755 "$workdir"

pg_port=$(free_port)
dovecot_port=$(free_port "$pg_port")
postfix_port=$(free_port "$pg_port" "$dovecot_port")

start_pg
start_dovecot
start_postfix

say "measuring (Tegu $tegu_count, Dovecot $dovecot_count, Postfix $postfix_count connections)"
# In the background and waited for, so that a signal reaches the cleanup at
# once; the cleanup stops it (and so the Tegu node it started) first.
"$python" "$repo/bench/idle-connections.py" \
	--tegu-build "$build_dir" \
	--dsn "host=127.0.0.1 port=$pg_port dbname=tegu user=tegu" \
	--count "$tegu_count" \
	--dovecot-port "$dovecot_port" --dovecot-pid "$dovecot_pid" --dovecot-count "$dovecot_count" \
	--postfix-port "$postfix_port" --postfix-pid "$postfix_pid" --postfix-count "$postfix_count" \
	--timeout "$timeout" &
bench_pid=$!
wait "$bench_pid"

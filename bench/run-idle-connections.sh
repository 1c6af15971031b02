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
# KEEP_WORKDIR=1, for the servers' logs. What it shares with
# the other run-*.sh scripts (cleanup, packages, the servers) is in bench/lib.sh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tegu_count=10000
dovecot_count=10000
postfix_count=500
timeout=180

while [ $# -gt 0 ]; do
	case $1 in
	--count) tegu_count=${2:?}; shift 2 ;;
	--dovecot-count) dovecot_count=${2:?}; shift 2 ;;
	--postfix-count) postfix_count=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	*) usage 3,5 ;;
	esac
done
for n in "$tegu_count" "$dovecot_count" "$postfix_count" "$timeout"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "counts and timeout must be positive integers, got \"$n\""
done

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and starts Dovecot and Postfix"

trap_cleanup

# ------------------------------------------------------------ build and Dovecot

# build_tegu: builds Tegu (Release, all targets) when build/release/tegu is missing.
build_tegu() {
	[ -x "$build_dir/tegu" ] && return 0
	say "building Tegu Release into build/release"
	cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build_dir" -j2
	[ -x "$build_dir/tegu" ] || die "the build did not produce $build_dir/tegu"
}

# start_idle_dovecot: a private Dovecot serving IMAP on 127.0.0.1:$dovecot_port
# (imap-login in high-performance mode); sets dovecot_pid.
start_idle_dovecot() {
	dovecot_dirs
	# Unused (nobody logs in) but Dovecot wants an authentication database.
	printf 'bench:{PLAIN}bench:65534:65534::/nonexistent::\n' >"$workdir/dovecot/users"
	# High-performance mode: one imap-login process serves every connection
	# before login (the usual setting for many clients).
	start_imap_dovecot tegu-bench-dovecot "a private Dovecot, no system config included." \
		"service_count = 0" "process_min_avail = 1" "process_limit = 1" \
		"client_limit = $((dovecot_count + 100))" "vsz_limit = 2G" </dev/null
}

# ------------------------------------------------------------ main

packages=(postgresql dovecot-imapd postfix)
# The build needs the build dependencies as well.
[ -x "$build_dir/tegu" ] || mapfile -t -O ${#packages[@]} packages < <(build_packages)
install_packages "${packages[@]}"
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

start_pg "" "a throwaway cluster, loopback only." "fsync = off"
start_idle_dovecot
start_postfix "$((postfix_count + 100))" "default_process_limit = $((postfix_count + 100))"

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

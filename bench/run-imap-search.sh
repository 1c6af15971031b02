#!/usr/bin/env bash
# IMAP SEARCH on a large mailbox, Tegu against Dovecot, in one command:
#
#   bash bench/run-imap-search.sh [--messages N] [--timeout SECONDS] [--nice N]
#                                 [--no-build]
#
# For Debian 12, as root. It
#   1. installs postgresql, dovecot-imapd and python3-psycopg2 when missing,
#      without letting the packages start their own services;
#   2. builds tegu and teguctl (Release, build/release; incremental, so a
#      no-op when up to date; --no-build uses the binaries as found);
#   3. starts, in one temporary folder, a throwaway PostgreSQL cluster
#      (durable, PostgreSQL's defaults) and a private Dovecot serving IMAP
#      on 127.0.0.1, its one user's Maildir in the folder, no FTS plugin;
#   4. runs bench/imap-search.py, which starts the Tegu node (IMAP on
#      127.0.0.1, plaintext logins allowed), appends the same N messages
#      (default 20000) to one mailbox on each server, times the searches on
#      both and prints the tables;
#   5. stops everything it started and removes the folder, on any exit.
# Every wait is bounded; --timeout (default 2400 s) bounds the driver. The
# folder is kept after a failure, or always with KEEP_WORKDIR=1, for the
# servers' logs. What it shares with the other run-*.sh scripts (cleanup,
# packages, the build, the servers) is in bench/lib.sh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

domain=example.test
messages=20000
timeout=2400
build=true
nice_level=-10

args=("$@")
parse_options 3,5 --messages=messages --timeout=timeout --nice=nice_level \
	--no-build=build=false -- "$@"
[[ $messages =~ ^[1-9][0-9]*$ ]] && [ "$messages" -ge 1000 ] && [ "$messages" -le 200000 ] ||
	die "--messages: 1000 to 200000"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout: seconds, a positive integer"
check_nice

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and starts PostgreSQL and Dovecot"

trap_cleanup

# start_search_dovecot: a private Dovecot serving IMAP on 127.0.0.1:$dovecot_port
# to one user, bench@$domain, whose Maildir is $mail_root/bench/Maildir;
# sets mail_root and dovecot_pid.
start_search_dovecot() {
	dovecot_dirs
	mail_root=$workdir/mail
	mkdir -p "$mail_root/bench"
	# The mail belongs to nobody (no user is created on the system).
	chown -R nobody:nogroup "$mail_root"
	printf 'bench@%s:{PLAIN}bench-password:65534:65534::%s/bench::\n' "$domain" "$mail_root" \
		>"$workdir/dovecot/users"
	# No mail_plugins, so no full-text search index (fts): SEARCH BODY and
	# TEXT read the message files, Dovecot's default. The index and cache
	# files (dovecot.index*) stay next to the Maildir, also the default.
	start_imap_dovecot tegu-bench-search "a private Dovecot, IMAP only, no system config included." <<EOF
mail_location = maildir:~/Maildir
EOF
}

# ------------------------------------------------------------ main

# Priority: see set_priority in lib.sh.
set_priority
# Dovecot (which passes TZ on to its processes) and PostgreSQL read dates in UTC.
export TZ=UTC

workdir=$(mktemp -d /tmp/tegu-bench-search.XXXXXX)
# The servers' own users (postgres, dovecot, dovenull, nobody) pass through it.
chmod 755 "$workdir"

packages=(postgresql dovecot-core dovecot-imapd python3-psycopg2)
if $build || [ ! -x "$build_dir/tegu" ]; then
	mapfile -t -O ${#packages[@]} packages < <(build_packages)
fi
install_packages "${packages[@]}"
build_release

pg_port=$(free_port)
dovecot_port=$(free_port "$pg_port")

# Durable, as in production; everything at PostgreSQL's defaults.
start_pg " (PostgreSQL's defaults)" "a throwaway cluster, loopback only."
start_search_dovecot
for pid in "$pg_pid" "$dovecot_pid"; do
	autogroup_nice "$pid"
done

started=$(date -u '+%F %H:%M UTC')
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
say "measuring (load average $load_before)"
run_driver "$python" "$repo/bench/imap-search.py" \
	--tegu-build "$build_dir" \
	--dsn "host=127.0.0.1 port=$pg_port dbname=tegu user=tegu" \
	--dovecot-port "$dovecot_port" --dovecot-log "$workdir/dovecot/dovecot.log" \
	--mail-root "$mail_root" --messages "$messages" --timeout "$timeout" \
	--workdir "$workdir"
printf '\n%s; %s; Tegu %s (build/release, %s). Load average (1, 5, 15 min) %s at the start, %s at the end. Command: `%s`.\n' \
	"$started" "$(machine "Dovecot $(dovecot_version)")" \
	"$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)" \
	"$($build && echo "built by the run" || echo "as found")" \
	"$load_before" "$(cut -d ' ' -f 1-3 /proc/loadavg)" \
	"bash bench/run-imap-search.sh${args[*]:+ ${args[*]}}"
exit "$status"

#!/usr/bin/env bash
# SMTP throughput, Tegu against Postfix + Dovecot, in one command:
#
#   bash bench/run-smtp-throughput.sh [--runs SIZE:CLIENTS:MESSAGES,...] [--users N]
#        [--payload file|fill] [--perf SIZE:CLIENTS] [--pg-diagnostics]
#        [--pg-setting NAME=VALUE]... [--nice N] [--no-build] [--readme]
#
# For Debian 12, as root. It
#   1. installs postgresql, postfix, dovecot-lmtpd and python3-psycopg2 when
#      missing, without letting the packages start their own services;
#   2. builds tegu and teguctl (Release, build/release; incremental, so a
#      no-op when up to date; --no-build uses the binaries as found);
#   3. starts, in one temporary folder, a throwaway PostgreSQL cluster with
#      fsync and synchronous_commit on, a private Dovecot serving LMTP only
#      into Maildirs, and a private Postfix whose smtpd takes mail for the
#      bench domain and hands it over LMTP to that Dovecot, all on 127.0.0.1;
#   4. runs bench/smtp-throughput.py, which starts the Tegu node with the
#      domain and users, drives both servers with Postfix's smtp-source and
#      prints the tables (--readme also appends them to bench/README.md);
#   5. stops everything it started and removes the folder, on any exit.
# Every wait is bounded. The folder is kept after a failure, or always with
# KEEP_WORKDIR=1, for the servers' logs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$repo/build/release
python=/usr/bin/python3
domain=example.test

runs=
users=50
payload=file
perf=
build=true
readme=false
pg_diagnostics=false
pg_settings=()
nice_level=-10

say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'run-smtp-throughput: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '3,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?}; shift 2 ;;
	--users) users=${2:?}; shift 2 ;;
	--payload) payload=${2:?}; shift 2 ;;
	--perf) perf=${2:?}; shift 2 ;;
	--pg-diagnostics) pg_diagnostics=true; shift ;;
	--pg-setting)
		[[ ${2:-} =~ ^[a-z_.]+=[A-Za-z0-9_.,:/+-]+$ ]] || die "--pg-setting NAME=VALUE"
		pg_settings+=("$2")
		shift 2
		;;
	--nice) nice_level=${2:?}; shift 2 ;;
	--no-build) build=false; shift ;;
	--readme) readme=true; shift ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
[[ $users =~ ^[1-9][0-9]*$ ]] && [ "$users" -le 1000 ] || die "--users: 1 to 1000"
[[ $payload =~ ^(file|fill)$ ]] || die "--payload: file or fill"
[ -z "$runs" ] || [[ $runs =~ ^[0-9]+:[0-9]+:[0-9]+(,[0-9]+:[0-9]+:[0-9]+)*$ ]] ||
	die "--runs: SIZE:CLIENTS:MESSAGES[,...]"
[ -z "$perf" ] || [[ $perf =~ ^[0-9]+:[0-9]+$ ]] || die "--perf: SIZE:CLIENTS"
[[ $nice_level =~ ^-?[0-9]+$ ]] && [ "$nice_level" -ge -20 ] && [ "$nice_level" -le 19 ] ||
	die "--nice: -20 to 19"

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

pidfile_pid() { # pidfile_pid FILE: the pid on the first line of FILE (Postfix pads it)
	local pid
	[ -f "$1" ] || return 1
	pid=$(head -n 1 "$1" | tr -d ' \n')
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

kill_tree() { # kill_tree PID: SIGKILL to PID and its descendants
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_tree "$child"
	done
	kill -KILL "$1" 2>/dev/null || true
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
		# The helper stops its smtp-source processes and the Tegu node.
		kill -TERM "$bench_pid" 2>/dev/null
		wait_gone "$bench_pid" 45 || kill_tree "$bench_pid"
	fi
	stop_postfix
	stop_dovecot
	stop_pg
	if [ -n "${own_autogroup_nice:-}" ]; then
		# This session may be the caller's terminal: give its autogroup back its value.
		echo "$own_autogroup_nice" >/proc/$$/autogroup 2>/dev/null
	fi
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
	local wanted=(postgresql postfix dovecot-core dovecot-lmtpd python3-psycopg2) missing=() p
	if $build || [ ! -x "$build_dir/tegu" ]; then
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
	# The packages' own services must not start: invoke-rc.d asks
	# policy-rc.d, and 101 means "not allowed". One already there is left as is.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# Temporary, from tegu bench/run-smtp-throughput.sh\nexit 101\n' \
			>/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy_rc_d_ours=true
	fi
	local before25=false
	listening 25 && before25=true
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
	if ! $before25 && listening 25; then
		say "stopping the postfix service the package started"
		if [ -d /run/systemd/system ]; then
			timeout 60 systemctl stop postfix || true
		else
			timeout 60 /etc/init.d/postfix stop || true
		fi
	fi
}

build_tegu() {
	if ! $build; then
		[ -x "$build_dir/tegu" ] && [ -x "$build_dir/teguctl" ] ||
			die "--no-build, but $build_dir/tegu or teguctl is missing"
		say "using $build_dir/tegu as found (built $(date -u -r "$build_dir/tegu" '+%F %H:%M UTC'))"
		return
	fi
	say "building tegu and teguctl (Release) in build/release"
	if [ ! -f "$build_dir/CMakeCache.txt" ]; then
		cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
	fi
	cmake --build "$build_dir" -j2 --target tegu teguctl >"$workdir/build.log" 2>&1 ||
		{ tail -n 30 "$workdir/build.log" >&2; die "the build failed"; }
}

# ------------------------------------------------------------ servers

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

wait_listening() { # wait_listening PORT NAME LOG
	local i
	for ((i = 0; i < 300; i++)); do
		listening "$1" && return 0
		sleep 0.1
	done
	tail -n 20 "$3" >&2 2>/dev/null
	die "$2 does not listen on 127.0.0.1:$1 after 30 s"
}

start_pg() {
	pg_bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -x "$pg_bindir/initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
	pgdata=$workdir/pg/data
	mkdir -p "$workdir/pg"
	chown postgres:postgres "$workdir/pg"
	say "starting PostgreSQL on 127.0.0.1:$pg_port (fsync on, synchronous_commit on)"
	runuser -u postgres -- "$pg_bindir/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 \
		--locale=C --lc-ctype=C.UTF-8 --no-instructions >"$workdir/pg/initdb.log" 2>&1 ||
		{ cat "$workdir/pg/initdb.log" >&2; die "initdb failed"; }
	# Durability as in production: a 250 means the message is on disk.
	# Everything else stays at PostgreSQL's defaults.
	runuser -u postgres -- tee -a "$pgdata/postgresql.conf" >/dev/null <<EOF

# bench/run-smtp-throughput.sh: a throwaway cluster, loopback only, durable.
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$workdir/pg'
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
	local setting
	for setting in ${pg_settings[@]+"${pg_settings[@]}"}; do
		# An experiment: say so in the results.
		printf "%s = '%s'\n" "${setting%%=*}" "${setting#*=}" |
			runuser -u postgres -- tee -a "$pgdata/postgresql.conf" >/dev/null
	done
	if $pg_diagnostics; then
		# Diagnostics only: which statements the time goes to (costs a little).
		printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track_planning = on\n" |
			runuser -u postgres -- tee -a "$pgdata/postgresql.conf" >/dev/null
	fi
	runuser -u postgres -- tee "$pgdata/pg_hba.conf" >/dev/null <<EOF
local  all  all                trust
host   all  all  127.0.0.1/32  trust
EOF
	runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$pgdata" -l "$workdir/pg/pg.log" -w -t 60 \
		start >/dev/null || { tail -n 20 "$workdir/pg/pg.log" >&2; die "PostgreSQL did not start"; }
	pg_pid=$(pidfile_pid "$pgdata/postmaster.pid") || die "no postmaster.pid"
	local psql=(runuser -u postgres -- "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1
		-h "$workdir/pg" -p "$pg_port" -U postgres -d postgres)
	"${psql[@]}" -c "CREATE ROLE tegu LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
	"${psql[@]}" -c "CREATE DATABASE tegu OWNER tegu"
	if $pg_diagnostics; then
		"${psql[@]}" -d tegu -c "CREATE EXTENSION pg_stat_statements"
		"${psql[@]}" -c "GRANT pg_read_all_stats TO tegu"
		"${psql[@]}" -d tegu -c "GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO tegu"
	fi
}

start_dovecot() {
	local dir=$workdir/dovecot i
	dovecot_conf=$dir/dovecot.conf
	mail_root=$workdir/mail
	mkdir -p "$dir/run" "$dir/state" "$mail_root"
	id dovenull >/dev/null 2>&1 && id dovecot >/dev/null 2>&1 ||
		die "users dovenull and dovecot missing: is dovecot-core installed?"
	# The mail belongs to nobody (no user is created on the system); the
	# users are the same as Tegu's, with their Maildir under mail_root.
	chown nobody:nogroup "$mail_root"
	for ((i = 1; i <= users; i++)); do
		printf 'u%d@%s:{PLAIN}bench-password:65534:65534::%s/u%d::\n' "$i" "$domain" \
			"$mail_root" "$i"
	done >"$dir/users"
	chmod 644 "$dir/users"
	cat >"$dovecot_conf" <<EOF
# bench/run-smtp-throughput.sh: a private Dovecot, LMTP only, no system config included.
protocols = lmtp
listen = 127.0.0.1
instance_name = tegu-bench-lmtp
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
ssl = no
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
# Postfix's lmtp client (user postfix) connects here.
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
protocol lmtp {
  postmaster_address = postmaster@$domain
}
EOF
	doveconf -c "$dovecot_conf" -n >"$dir/doveconf.txt" 2>&1 ||
		{ cat "$dir/doveconf.txt" >&2; die "Dovecot rejects its configuration"; }
	say "starting Dovecot (LMTP on $dir/run/lmtp, Maildirs under $mail_root)"
	dovecot -c "$dovecot_conf" || { tail -n 20 "$dir/dovecot.log" >&2; die "Dovecot did not start"; }
	for ((i = 0; i < 100; i++)); do
		[ -S "$dir/run/lmtp" ] && dovecot_pid=$(pidfile_pid "$dir/run/master.pid") && break
		sleep 0.1
	done
	[ -S "$dir/run/lmtp" ] && [ -n "${dovecot_pid:-}" ] ||
		{ tail -n 20 "$dir/dovecot.log" >&2; die "no LMTP socket or master.pid after 10 s"; }
}

start_postfix() {
	local dir=$workdir/postfix i
	postfix_conf=$dir/etc
	mkdir -p "$postfix_conf" "$dir/queue" "$dir/data"
	chown postfix "$dir/data"
	if [ -f /etc/postfix/main.cf ]; then
		cp /etc/postfix/main.cf "$postfix_conf/main.cf"
	else
		: >"$postfix_conf/main.cf"
	fi
	cp /etc/postfix/master.cf "$postfix_conf/master.cf"
	for ((i = 1; i <= users; i++)); do
		printf 'u%d@%s OK\n' "$i" "$domain"
	done >"$dir/vmailbox"
	local pc=(postconf -c "$postfix_conf")
	# The bench domain is a virtual mailbox domain: smtpd accepts only its
	# users (virtual_mailbox_maps) and the queue manager hands every message
	# to the lmtp client, which delivers into Dovecot. Queue and delivery
	# settings stay at Postfix's defaults (fsync of each queue file before
	# the 250, up to 20 parallel LMTP deliveries).
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
		"virtual_mailbox_domains = $domain" \
		"virtual_mailbox_maps = texthash:$dir/vmailbox" \
		"virtual_alias_maps =" \
		"virtual_transport = lmtp:unix:$workdir/dovecot/run/lmtp" \
		"smtpd_tls_security_level = none" \
		"smtpd_milters =" \
		"non_smtpd_milters =" \
		"smtpd_peername_lookup = no" \
		"smtpd_client_connection_count_limit = 0" \
		"smtpd_client_connection_rate_limit = 0"
	local service
	for service in $("${pc[@]}" -M | awk '$2 == "inet" {print $1 "/" $2}'); do
		"${pc[@]}" -MX "$service"
	done
	"${pc[@]}" -Me "127.0.0.1:$postfix_port/inet = 127.0.0.1:$postfix_port inet n - n - - smtpd"
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

machine() { # one line: CPU, memory, kernel, OS, server versions
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
	printf '%s vCPUs (%s), %s, Debian %s, kernel %s; PostgreSQL %s, Postfix %s, Dovecot %s' \
		"$(nproc)" "$cpu" "$mem" "$(cat /etc/debian_version)" "$(uname -r)" \
		"$("$pg_bindir/postgres" --version | awk '{print $3}')" \
		"$(postconf -d -h mail_version)" "$(dovecot --version | awk '{print $1}')"
}

# ------------------------------------------------------------ main

# Priority, the same for both systems, so that other work on the machine
# takes little of the CPU from the measurement. Everything started from
# here on (PostgreSQL, Dovecot, Postfix, the node, the clients) inherits
# the nice value. With autogroup scheduling (kernel.sched_autogroup_enabled),
# the CPU is shared between sessions first, and PostgreSQL, Dovecot and
# Postfix each start their own session: each of those autogroups, and this
# script's, gets the nice value too (/proc/PID/autogroup), else a system
# made of more sessions would get more CPU.
renice -n "$nice_level" -p $$ >/dev/null || die "renice failed"
autogroup_nice() { # autogroup_nice PID: give PID's autogroup our nice value
	[ -w "/proc/$1/autogroup" ] || return 0
	echo "$nice_level" >"/proc/$1/autogroup" 2>/dev/null || say "could not renice the autogroup of $1"
}
if [ -r /proc/$$/autogroup ]; then
	own_autogroup_nice=$(sed -n 's/.* nice \(-\{0,1\}[0-9]*\)$/\1/p' /proc/$$/autogroup)
	autogroup_nice $$
fi

workdir=$(mktemp -d /tmp/tegu-bench-smtp.XXXXXX)
# The servers' own users (postgres, dovecot, postfix, nobody) pass through it.
chmod 755 "$workdir"

install_packages
build_tegu
[ -x /usr/sbin/smtp-source ] || die "/usr/sbin/smtp-source not found (package postfix)"

pg_port=$(free_port)
postfix_port=$(free_port "$pg_port")

start_pg
start_dovecot
start_postfix
for pid in "$pg_pid" "$dovecot_pid" "$postfix_pid"; do
	autogroup_nice "$pid"
done

helper=("$python" "$repo/bench/smtp-throughput.py"
	--tegu-build "$build_dir"
	--dsn "host=127.0.0.1 port=$pg_port dbname=tegu user=tegu"
	--pg-pid "$pg_pid"
	--postfix-port "$postfix_port" --postfix-pid "$postfix_pid"
	--postfix-queue "$workdir/postfix/queue" --postfix-log "$workdir/postfix/maillog"
	--dovecot-pid "$dovecot_pid" --dovecot-log "$workdir/dovecot/dovecot.log"
	--mail-root "$mail_root" --users "$users" --payload "$payload"
	--workdir "$workdir")
[ -z "$runs" ] || helper+=(--runs "$runs")
[ -z "$perf" ] || helper+=(--perf "$perf")
! $pg_diagnostics || helper+=(--pg-diagnostics)

started=$(date -u '+%F %H:%M UTC')
say "measuring"
# In the background and waited for, so that a signal reaches the cleanup at
# once; the cleanup stops it (and so the node and the clients) first.
status=0
"${helper[@]}" >"$workdir/result.txt" &
bench_pid=$!
wait "$bench_pid" || status=$?
bench_pid=
cat "$workdir/result.txt"
[ -s "$workdir/result.txt" ] || die "the measurement printed nothing (exit $status)"

if $readme; then
	{
		printf '\n### Results %s\n\n' "$started"
		printf '%s; Tegu %s (build/release, %s). ' "$(machine)" \
			"$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)" \
			"$($build && echo "built by the run" || echo "as found")"
		printf 'Output of `%s`:\n\n' \
			"$(printf '%s' "bash bench/run-smtp-throughput.sh${args[*]:+ ${args[*]}}" |
				sed 's/ --readme//')"
		cat "$workdir/result.txt"
	} >>"$repo/bench/README.md"
	say "appended the results to bench/README.md"
fi
exit "$status"

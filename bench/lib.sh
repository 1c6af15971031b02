# bench/lib.sh: the shell code the comparison scripts share, sourced by
# run-idle-connections.sh and run-smtp-throughput.sh right after their
# `set -euo pipefail`. It only defines: messages, process and pid-file
# helpers, the cleanup on exit, package installation, free ports, and the
# start and stop of the private PostgreSQL, Dovecot and Postfix. The start
# functions read the variables the scripts set (workdir, pg_port,
# postfix_port, ...); the cleanup reads the state variables below.
# shellcheck shell=bash disable=SC2034,SC2154 # variables set for the scripts, or by them

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$repo/build/release
python=/usr/bin/python3
script=$(basename "$0" .sh) # the running script's name, for messages

# What the cleanup stops and removes; set as things start.
workdir=
bench_pid=
policy_rc_d_ours=false
pg_bindir=
pgdata=
dovecot_conf=
postfix_conf=
own_autogroup_nice=

# ------------------------------------------------------------ messages and processes

# say MESSAGE: a progress line on stderr.
say() { printf '==> %s\n' "$*" >&2; }

# die MESSAGE: an error line on stderr, then exit 1 (the cleanup runs).
die() {
	printf '%s: %s\n' "$script" "$*" >&2
	exit 1
}

# alive PID: running and not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]
}

# wait_gone PID SECONDS: 0 when PID has exited within SECONDS.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# pidfile_pid FILE: the pid on the first line of FILE (Postfix pads it with spaces).
pidfile_pid() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(head -n 1 "$1" | tr -d ' \n')
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

# kill_tree PID: SIGKILL to PID and its descendants.
kill_tree() {
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_tree "$child"
	done
	kill -KILL "$1" 2>/dev/null || true
}

# ------------------------------------------------------------ cleanup

# stop_master NAME PIDFILE COMMAND...: stops a master by COMMAND or SIGTERM; SIGKILL to its tree after 15 s.
stop_master() {
	local name=$1 pidfile=$2 pid
	shift 2
	pid=$(pidfile_pid "$pidfile") || return 0
	alive "$pid" || return 0
	say "stopping $name (pid $pid)"
	timeout 30 "$@" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 15; then
		say "$name still running after 15 s: SIGKILL to its process tree"
		kill_tree "$pid"
	fi
}

# stop_dovecot: stops the private Dovecot, if started.
stop_dovecot() {
	[ -n "$dovecot_conf" ] || return 0
	stop_master Dovecot "$workdir/dovecot/run/master.pid" dovecot -c "$dovecot_conf" stop
}

# stop_postfix: stops the private Postfix, if started.
stop_postfix() {
	[ -n "$postfix_conf" ] || return 0
	stop_master Postfix "$workdir/postfix/queue/pid/master.pid" postfix -c "$postfix_conf" stop
}

# stop_pg: stops the throwaway PostgreSQL cluster, if started.
stop_pg() {
	[ -n "$pgdata" ] && [ -f "$pgdata/postmaster.pid" ] || return 0
	say "stopping PostgreSQL"
	runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$pgdata" -m immediate -w -t 30 stop \
		>/dev/null 2>&1 || true
}

# cleanup: on exit, stops the driver and the servers, removes policy-rc.d if ours and the folder.
cleanup() {
	local status=$?
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$bench_pid" ] && alive "$bench_pid"; then
		# The driver stops what it started itself (the Tegu node, the clients).
		kill -TERM "$bench_pid" 2>/dev/null
		wait_gone "$bench_pid" 45 || kill_tree "$bench_pid"
	fi
	stop_postfix
	stop_dovecot
	stop_pg
	if [ -n "$own_autogroup_nice" ]; then
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

# trap_cleanup: runs cleanup on any exit, Ctrl-C and termination included.
trap_cleanup() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}

# ------------------------------------------------------------ packages

# installed PACKAGE: the Debian package is installed.
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# listening PORT: something listens on TCP PORT.
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }

# build_packages: the packages of deploy/packages.txt (what the build needs), one a line.
build_packages() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$repo/deploy/packages.txt"
}

# install_packages PACKAGE...: installs the missing ones without letting their services run.
install_packages() {
	local missing=() p
	for p; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages: all installed"
		return
	fi
	command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"

	# The packages' own services must not start (they would take ports 25
	# and 143 and run next to ours): invoke-rc.d and deb-systemd-invoke ask
	# policy-rc.d, and 101 means "not allowed". One already there is left as is.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# Temporary, from tegu bench/%s.sh\nexit 101\n' "$script" \
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

# ------------------------------------------------------------ servers

# free_port [TAKEN...]: a port free on 127.0.0.1 now, none of the TAKEN ones (handed out already).
free_port() {
	# Below the kernel's ephemeral range (32768 and up), so the benchmark's
	# own outgoing connections cannot take it.
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

# wait_listening PORT NAME LOG: waits 30 s at most for a listener on PORT, else dies showing LOG.
wait_listening() {
	local i
	for ((i = 0; i < 300; i++)); do
		listening "$1" && return 0
		sleep 0.1
	done
	tail -n 20 "$3" >&2 2>/dev/null
	die "$2 does not listen on 127.0.0.1:$1 after 30 s"
}

# pg_psql ARG...: psql as the superuser into the throwaway cluster (database postgres).
pg_psql() {
	runuser -u postgres -- "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 \
		-h "$workdir/pg" -p "$pg_port" -U postgres -d postgres "$@"
}

# start_pg NOTE COMMENT [LINE...]: starts the throwaway cluster with role and database tegu; sets pg_pid.
start_pg() {
	# In $workdir/pg, on 127.0.0.1:$pg_port. NOTE ends the progress line;
	# postgresql.conf gets a "# bench/SCRIPT.sh: COMMENT" line and the LINEs.
	local note=$1 comment=$2
	shift 2
	pg_bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -x "$pg_bindir/initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
	pgdata=$workdir/pg/data
	mkdir -p "$workdir/pg"
	chown postgres:postgres "$workdir/pg"
	say "starting PostgreSQL on 127.0.0.1:$pg_port$note"
	runuser -u postgres -- "$pg_bindir/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 \
		--locale=C --lc-ctype=C.UTF-8 --no-instructions >"$workdir/pg/initdb.log" 2>&1 ||
		{ cat "$workdir/pg/initdb.log" >&2; die "initdb failed"; }
	{
		printf '\n# bench/%s.sh: %s\n' "$script" "$comment"
		printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" \
			"$pg_port" "$workdir/pg"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} | runuser -u postgres -- tee -a "$pgdata/postgresql.conf" >/dev/null
	runuser -u postgres -- tee "$pgdata/pg_hba.conf" >/dev/null <<EOF
local  all  all                trust
host   all  all  127.0.0.1/32  trust
EOF
	runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$pgdata" -l "$workdir/pg/pg.log" -w -t 60 \
		start >/dev/null || { tail -n 20 "$workdir/pg/pg.log" >&2; die "PostgreSQL did not start"; }
	pg_pid=$(pidfile_pid "$pgdata/postmaster.pid") || die "no postmaster.pid"
	pg_psql -c "CREATE ROLE tegu LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
	pg_psql -c "CREATE DATABASE tegu OWNER tegu"
}

# dovecot_dirs: the folders of the private Dovecot under $workdir/dovecot; sets dovecot_conf.
dovecot_dirs() {
	dovecot_conf=$workdir/dovecot/dovecot.conf
	mkdir -p "$workdir/dovecot/run" "$workdir/dovecot/state"
	if ! id dovenull >/dev/null 2>&1 || ! id dovecot >/dev/null 2>&1; then
		die "users dovenull and dovecot missing: is dovecot-core installed?"
	fi
}

# start_dovecot PROTOCOL INSTANCE COMMENT MESSAGE: configures and starts the private Dovecot.
start_dovecot() {
	# The config: the shared settings, the users from the passwd-file
	# $dir/users (written by the caller), then the lines on stdin.
	local dir=$workdir/dovecot
	chmod 644 "$dir/users"
	{
		cat <<EOF
# bench/$script.sh: $3
protocols = $1
listen = 127.0.0.1
instance_name = $2
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
ssl = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
EOF
		cat
	} >"$dovecot_conf"
	doveconf -c "$dovecot_conf" -n >"$dir/doveconf.txt" 2>&1 ||
		{ cat "$dir/doveconf.txt" >&2; die "Dovecot rejects its configuration"; }
	say "$4"
	dovecot -c "$dovecot_conf" || { tail -n 20 "$dir/dovecot.log" >&2; die "Dovecot did not start"; }
}

# start_postfix MAXPROC [SETTING...]: starts the private Postfix, smtpd on $postfix_port; sets postfix_pid.
start_postfix() {
	# postfix -c in $workdir/postfix; one smtpd listener on 127.0.0.1, MAXPROC
	# processes at most ("-": Postfix's default); the SETTINGs go into main.cf.
	local dir=$workdir/postfix maxproc=$1
	shift
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
		"$@"
	# One smtpd listener on our port instead of the system's listeners (25,
	# and 587 or 465 when enabled there), and no chroot: the queue folder
	# holds no copy of /etc.
	local service
	for service in $("${pc[@]}" -M | awk '$2 == "inet" {print $1 "/" $2}'); do
		"${pc[@]}" -MX "$service"
	done
	"${pc[@]}" -Me "127.0.0.1:$postfix_port/inet = 127.0.0.1:$postfix_port inet n - n - $maxproc smtpd"
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

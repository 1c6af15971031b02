# bench/lib.sh: the shell code the comparison scripts share, sourced by
# run-idle-connections.sh, run-smtp-throughput.sh and run-imap-search.sh
# right after their `set -euo pipefail`. It only defines: messages, process
# and pid-file helpers, the cleanup on exit, package installation, the
# Release build, priority, free ports, the start and stop of the private
# PostgreSQL, Dovecot and Postfix, running the Python driver and the
# machine's description. The functions read the variables the scripts set
# (workdir, pg_port, postfix_port, build, nice_level, ...); the cleanup
# reads the state variables below.
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

# usage LINES: those lines of the running script's header comment (its
# synopsis, "3,5"), then exit 2.
usage() {
	sed -n "$1p" "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# parse_options LINES OPTION... -- ARG...: reads the command line ARGs. An
# OPTION is "--name=variable" (the next word is the variable's value) or
# "--name=variable=value" (a switch: sets the variable to value); an ARG that
# is none of them shows the usage (usage LINES). The caller checks the values.
parse_options() {
	local lines=$1 spec name variable value found
	local options=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		options+=("$1")
		shift
	done
	shift
	while [ $# -gt 0 ]; do
		found=false
		for spec in "${options[@]}"; do
			IFS='=' read -r name variable value <<<"$spec"
			[ "$1" = "$name" ] || continue
			if [[ $spec == *=*=* ]]; then
				printf -v "$variable" '%s' "$value"
				shift
			else
				[ $# -ge 2 ] || usage "$lines"
				printf -v "$variable" '%s' "$2"
				shift 2
			fi
			found=true
			break
		done
		$found || usage "$lines"
	done
}

# check_nice: dies unless $nice_level is a nice value (-20 to 19).
check_nice() {
	[[ $nice_level =~ ^-?[0-9]+$ ]] && [ "$nice_level" -ge -20 ] && [ "$nice_level" -le 19 ] ||
		die "--nice: -20 to 19"
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

# ------------------------------------------------------------ build and priority

# build_release: builds tegu and teguctl (Release, build/release; incremental,
# a no-op when up to date), or when $build is false checks that they are there.
build_release() {
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

# set_priority: this script, and all it starts from here on, at nice $nice_level.
set_priority() {
	# The same for both systems, so that other work on the machine takes
	# little of the CPU from the measurement. Everything started from here
	# on (PostgreSQL, Dovecot, Postfix, the node, the clients) inherits the
	# nice value. With autogroup scheduling (kernel.sched_autogroup_enabled)
	# the CPU is shared between sessions first, and PostgreSQL, Dovecot and
	# Postfix each start their own session: each of those autogroups, and
	# this script's, gets the nice value too (autogroup_nice), else a system
	# made of more sessions would get more CPU.
	renice -n "$nice_level" -p $$ >/dev/null || die "renice failed"
	if [ -r /proc/$$/autogroup ]; then
		own_autogroup_nice=$(sed -n 's/.* nice \(-\{0,1\}[0-9]*\)$/\1/p' /proc/$$/autogroup)
		autogroup_nice $$
	fi
}

# autogroup_nice PID: gives PID's autogroup the nice value $nice_level.
autogroup_nice() {
	[ -w "/proc/$1/autogroup" ] || return 0
	echo "$nice_level" >"/proc/$1/autogroup" 2>/dev/null || say "could not renice the autogroup of $1"
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

# start_imap_dovecot INSTANCE COMMENT [SETTING...]: the private Dovecot serving
# IMAP on 127.0.0.1:$dovecot_port; sets dovecot_pid.
start_imap_dovecot() {
	# dovecot_dirs and the users file come first (the caller's). Plaintext
	# logins (PLAIN, LOGIN) without TLS: loopback only. The config gets the
	# lines on stdin, then service imap-login with the SETTINGs.
	local instance=$1 comment=$2
	shift 2
	start_dovecot imap "$instance" "$comment" "starting Dovecot (imap) on 127.0.0.1:$dovecot_port" \
		< <(
			cat
			cat <<EOF
disable_plaintext_auth = no
auth_mechanisms = plain
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dovecot_port
  }
  inet_listener imaps {
    port = 0
  }
EOF
			[ $# -eq 0 ] || printf '  %s\n' "$@"
			echo "}"
		)
	wait_listening "$dovecot_port" Dovecot "$workdir/dovecot/dovecot.log"
	dovecot_pid=$(pidfile_pid "$workdir/dovecot/run/master.pid") || die "no Dovecot master.pid"
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

# ------------------------------------------------------------ the driver and the report

# run_driver COMMAND...: runs the Python driver, its output into
# $workdir/result.txt, then shows it; sets status to its exit status.
run_driver() {
	# In the background and waited for, so that a signal reaches the cleanup
	# at once; the cleanup stops it (and so the node and the clients) first.
	status=0
	"$@" >"$workdir/result.txt" &
	bench_pid=$!
	wait "$bench_pid" || status=$?
	bench_pid=
	cat "$workdir/result.txt"
	[ -s "$workdir/result.txt" ] || die "the measurement printed nothing (exit $status)"
}

# machine [NAME VERSION]...: one line: CPU, memory, OS, kernel, PostgreSQL's
# version and then each NAME VERSION given ("Dovecot 2.3.19.1").
machine() {
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
	printf '%s vCPUs (%s), %s, Debian %s, kernel %s; PostgreSQL %s' \
		"$(nproc)" "$cpu" "$mem" "$(cat /etc/debian_version)" "$(uname -r)" \
		"$("$pg_bindir/postgres" --version | awk '{print $3}')"
	[ $# -eq 0 ] || printf ', %s' "$@"
}

# dovecot_version: Dovecot's version number.
dovecot_version() { dovecot --version | awk '{print $1}'; }

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
# KEEP_WORKDIR=1, for the servers' logs. What it shares with
# the other run-*.sh scripts (cleanup, packages, the build, the servers) is in
# bench/lib.sh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
	*) usage 3,7 ;;
	esac
done
[[ $users =~ ^[1-9][0-9]*$ ]] && [ "$users" -le 1000 ] || die "--users: 1 to 1000"
[[ $payload =~ ^(file|fill)$ ]] || die "--payload: file or fill"
[ -z "$runs" ] || [[ $runs =~ ^[0-9]+:[0-9]+:[0-9]+(,[0-9]+:[0-9]+:[0-9]+)*$ ]] ||
	die "--runs: SIZE:CLIENTS:MESSAGES[,...]"
[ -z "$perf" ] || [[ $perf =~ ^[0-9]+:[0-9]+$ ]] || die "--perf: SIZE:CLIENTS"
check_nice

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and starts Dovecot and Postfix"

trap_cleanup

# ------------------------------------------------------------ build and servers

# start_durable_pg: the throwaway PostgreSQL cluster, durable, with the
# --pg-setting lines and, with --pg-diagnostics, pg_stat_statements.
start_durable_pg() {
	# Durability as in production: a 250 means the message is on disk.
	# Everything else stays at PostgreSQL's defaults.
	local conf=("fsync = on" "synchronous_commit = on" "full_page_writes = on") setting
	for setting in ${pg_settings[@]+"${pg_settings[@]}"}; do
		# An experiment: say so in the results.
		conf+=("${setting%%=*} = '${setting#*=}'")
	done
	if $pg_diagnostics; then
		# Diagnostics only: which statements the time goes to (costs a little).
		conf+=("shared_preload_libraries = 'pg_stat_statements'"
			"pg_stat_statements.track_planning = on")
	fi
	start_pg " (fsync on, synchronous_commit on)" \
		"a throwaway cluster, loopback only, durable." "${conf[@]}"
	if $pg_diagnostics; then
		pg_psql -d tegu -c "CREATE EXTENSION pg_stat_statements"
		pg_psql -c "GRANT pg_read_all_stats TO tegu"
		pg_psql -d tegu -c "GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO tegu"
	fi
}

# start_lmtp_dovecot: a private Dovecot serving LMTP on the Unix socket
# $workdir/dovecot/run/lmtp into Maildirs under $mail_root, for the users
# u1..uN of the bench domain; sets mail_root and dovecot_pid.
start_lmtp_dovecot() {
	local dir=$workdir/dovecot i
	dovecot_dirs
	mail_root=$workdir/mail
	mkdir -p "$mail_root"
	# The mail belongs to nobody (no user is created on the system); the
	# users are the same as Tegu's, with their Maildir under mail_root.
	chown nobody:nogroup "$mail_root"
	for ((i = 1; i <= users; i++)); do
		printf 'u%d@%s:{PLAIN}bench-password:65534:65534::%s/u%d::\n' "$i" "$domain" \
			"$mail_root" "$i"
	done >"$dir/users"
	start_dovecot lmtp tegu-bench-lmtp "a private Dovecot, LMTP only, no system config included." \
		"starting Dovecot (LMTP on $dir/run/lmtp, Maildirs under $mail_root)" <<EOF
mail_location = maildir:~/Maildir
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
	for ((i = 0; i < 100; i++)); do
		[ -S "$dir/run/lmtp" ] && dovecot_pid=$(pidfile_pid "$dir/run/master.pid") && break
		sleep 0.1
	done
	[ -S "$dir/run/lmtp" ] && [ -n "${dovecot_pid:-}" ] ||
		{ tail -n 20 "$dir/dovecot.log" >&2; die "no LMTP socket or master.pid after 10 s"; }
}

# start_virtual_postfix: a private Postfix for which the bench domain is a
# virtual mailbox domain delivered over LMTP into that Dovecot.
start_virtual_postfix() {
	local dir=$workdir/postfix i
	mkdir -p "$dir"
	for ((i = 1; i <= users; i++)); do
		printf 'u%d@%s OK\n' "$i" "$domain"
	done >"$dir/vmailbox"
	# smtpd accepts only the bench users (virtual_mailbox_maps) and the
	# queue manager hands every message to the lmtp client, which delivers
	# into Dovecot. Queue and delivery settings stay at Postfix's defaults
	# (fsync of each queue file before the 250, up to 20 parallel LMTP
	# deliveries), and so does smtpd's process limit.
	start_postfix - \
		"virtual_mailbox_domains = $domain" \
		"virtual_mailbox_maps = texthash:$dir/vmailbox" \
		"virtual_alias_maps =" \
		"virtual_transport = lmtp:unix:$workdir/dovecot/run/lmtp"
}

# ------------------------------------------------------------ main

# Priority: see set_priority in lib.sh.
set_priority

workdir=$(mktemp -d /tmp/tegu-bench-smtp.XXXXXX)
# The servers' own users (postgres, dovecot, postfix, nobody) pass through it.
chmod 755 "$workdir"

packages=(postgresql postfix dovecot-core dovecot-lmtpd python3-psycopg2)
if $build || [ ! -x "$build_dir/tegu" ]; then
	mapfile -t -O ${#packages[@]} packages < <(build_packages)
fi
install_packages "${packages[@]}"
build_release
[ -x /usr/sbin/smtp-source ] || die "/usr/sbin/smtp-source not found (package postfix)"

pg_port=$(free_port)
postfix_port=$(free_port "$pg_port")

start_durable_pg
start_lmtp_dovecot
start_virtual_postfix
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
run_driver "${helper[@]}"

if $readme; then
	{
		printf '\n### Results %s\n\n' "$started"
		printf '%s; Tegu %s (build/release, %s). ' \
			"$(machine "Postfix $(postconf -d -h mail_version)" "Dovecot $(dovecot_version)")" \
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

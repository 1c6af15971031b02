#!/usr/bin/env bash
# Quick start: one Tegu node on this machine with a private PostgreSQL.
#
#   bash deploy/quickstart.sh            install, build, start (safe to run again)
#   bash deploy/quickstart.sh stop       stop the node and its PostgreSQL
#   bash deploy/quickstart.sh restart    restart the node (e.g. after a rebuild)
#   bash deploy/quickstart.sh status     say what is running
#
# For Debian 12, as root (or as a user with sudo for the package install).
# Everything it makes lives in ./.tegu-local of the checkout:
#   pg/         the PostgreSQL cluster (port 15432, 127.0.0.1 only), pg.log
#   run/        its unix socket
#   tegu.conf   the node's configuration (0600: it holds the admin password)
#   data/       the node's dataDir
#   tegu.log, tegu.pid
# Remove the folder (after `stop`) to start from scratch.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

local_dir=$repo/.tegu-local
pgdata=$local_dir/pg
pglog=$local_dir/pg.log
pg_port=15432
conf=$local_dir/tegu.conf
data_dir=$local_dir/data
pidfile=$local_dir/tegu.pid
logfile=$local_dir/tegu.log
build_dir=$repo/build/release
http_addr=127.0.0.1:8888
dsn="host=127.0.0.1 port=$pg_port dbname=tegu user=tegu"

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'quickstart: %s\n' "$*" >&2
	exit 1
}

if [ "$(id -u)" -eq 0 ]; then
	is_root=true
	sudo=()
else
	is_root=false
	sudo=(sudo)
fi

# PostgreSQL refuses to run as root. As root the cluster belongs to the
# `postgres` OS user, or, when postgres cannot enter the checkout (a home
# folder closed to others) and we run under sudo, to the sudo user; an
# existing cluster keeps its owner. Otherwise it belongs to whoever runs
# this script.
pg_owner=$(id -un)
if $is_root; then
	pg_owner=postgres
	if [ -d "$pgdata" ]; then
		pg_owner=$(stat -c %U "$pgdata")
	fi
fi

as_pg() {
	if $is_root; then
		(cd "$local_dir" && runuser -u "$pg_owner" -- "$@")
	else
		"$@"
	fi
}

# The unix socket folder. A socket path must stay under ~100 bytes, so a
# checkout deep in the tree gets one under /tmp instead.
socket_dir() {
	local dir=$local_dir/run
	if [ ${#dir} -gt 80 ]; then
		dir=/tmp/tegu-quickstart-$(id -u)-$(printf '%s' "$local_dir" | cksum | cut -d' ' -f1)
	fi
	printf '%s' "$dir"
}

pg_bindir() {
	local dir
	dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -x "$dir/initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
	printf '%s' "$dir"
}

pg_running() {
	[ -f "$pgdata/PG_VERSION" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$pgdata" status >/dev/null 2>&1
}

psql_admin() {
	as_pg "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$(socket_dir)" -p "$pg_port" \
		-U postgres -d postgres "$@"
}

alive() { # alive PID: running and not a zombie
	kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]
}

# Prints the pid of our node when it runs. The pid file alone is not
# trusted: the process must be tegu started with our tegu.conf.
node_pid() {
	local pid
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$conf" || return 1
	printf '%s' "$pid"
}

conf_value() { # conf_value KEY: the first KEY = value in tegu.conf
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$conf" | head -n 1
}

healthy() {
	curl -fsS --noproxy '*' --max-time 2 -o /dev/null "http://$(conf_value http)/health" 2>/dev/null
}

install_packages() {
	local packages missing=() p
	mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' deploy/packages.txt)
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages: all installed"
		return
	fi
	command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"
	if ! $is_root && ! command -v sudo >/dev/null; then
		die "missing packages (${missing[*]}): run as root, or install sudo"
	fi
	say "installing packages: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
}

build() {
	say "building Release into build/release"
	cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build_dir" -j"$(nproc)"
}

prepare_local_dir() {
	case $local_dir in
	*\'* | *\\*) die "the checkout path must not contain quotes or backslashes: $repo" ;;
	esac
	mkdir -p "$local_dir" "$data_dir"
	chmod 700 "$data_dir"
	if $is_root; then
		# The cluster's owner must pass through (not read) the folder to
		# reach pg/ and run/.
		chmod 711 "$local_dir"
		if ! runuser -u "$pg_owner" -- test -x "$local_dir"; then
			if [ ! -d "$pgdata" ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] &&
				runuser -u "$SUDO_USER" -- test -x "$local_dir"; then
				pg_owner=$SUDO_USER
			else
				die "the $pg_owner user cannot reach $local_dir (a parent folder is closed" \
					"to others): run this with sudo as the checkout's owner, or put the" \
					"checkout under /opt or /srv"
			fi
		fi
	else
		chmod 700 "$local_dir"
	fi
}

init_pg() {
	local bindir sockdir
	bindir=$(pg_bindir)
	sockdir=$(socket_dir)
	mkdir -p "$sockdir"
	chmod 700 "$sockdir"
	touch "$pglog"
	if $is_root; then
		chown "$pg_owner:" "$sockdir" "$pglog"
	fi
	if [ ! -f "$pgdata/PG_VERSION" ]; then
		say "creating the PostgreSQL cluster in .tegu-local/pg"
		mkdir -p "$pgdata"
		chmod 700 "$pgdata"
		$is_root && chown "$pg_owner:" "$pgdata"
		as_pg "$bindir/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 \
			--locale=C --lc-ctype=C.UTF-8 \
			--no-instructions >/dev/null
		as_pg tee -a "$pgdata/postgresql.conf" >/dev/null <<EOF

# Added by deploy/quickstart.sh: a private cluster for one node.
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$sockdir'
EOF
		# Authentication. The superuser connects over the unix socket, whose
		# folder only the cluster's OS user (and root) can enter. Role tegu,
		# which is no superuser, connects to database tegu over 127.0.0.1
		# without a password: trust is acceptable for this private,
		# loopback-only trial cluster (any local user could connect as tegu),
		# never for a production one (use scram-sha-256 and a password there).
		as_pg tee "$pgdata/pg_hba.conf" >/dev/null <<EOF
# Written by deploy/quickstart.sh (see the comments there).
local  all   all                trust
host   tegu  tegu  127.0.0.1/32 trust
EOF
	fi
	if pg_running; then
		say "PostgreSQL already running on 127.0.0.1:$pg_port"
	else
		say "starting PostgreSQL on 127.0.0.1:$pg_port"
		# 15432 is below Linux's ephemeral range (32768-60999), but a port
		# a stopped server just left may still be in TIME_WAIT for up to
		# 60 s. When nothing listens on it, wait for it rather than fail.
		local deadline=$((SECONDS + 75))
		until as_pg "$bindir/pg_ctl" -D "$pgdata" -l "$pglog" -w -t 60 start >/dev/null 2>&1; do
			if [ -n "$(ss -Hltn "sport = :$pg_port")" ]; then
				die "port $pg_port is taken by another server: $(ss -Hltnp "sport = :$pg_port")"
			fi
			if [ $SECONDS -ge $deadline ] || ! tail -n 5 "$pglog" | grep -q 'could not bind'; then
				tail -n 20 "$pglog" >&2
				die "PostgreSQL did not start; the end of its log is above"
			fi
			say "port $pg_port is still held by a closed connection (TIME_WAIT); retrying"
			sleep 5
		done
	fi
	if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'tegu'")" != 1 ]; then
		psql_admin -c "CREATE ROLE tegu LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
	fi
	if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'tegu'")" != 1 ]; then
		psql_admin -c "CREATE DATABASE tegu OWNER tegu"
	fi
}

random_password() {
	local password
	password=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20 || true)
	[ ${#password} -eq 20 ] || die "could not read random bytes from /dev/urandom"
	printf '%s' "$password"
}

# A self-signed certificate for localhost, made once (the key 0600).
tls_dir=$local_dir/tls
make_certificate() {
	[ -s "$tls_dir/cert.pem" ] && [ -s "$tls_dir/key.pem" ] && return 0
	say "making a self-signed certificate in .tegu-local/tls"
	(umask 077 && mkdir -p "$tls_dir")
	(umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
		-keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem" >/dev/null 2>&1) ||
		die "openssl could not make a certificate"
}

write_conf() {
	if [ -f "$conf" ]; then
		say "keeping .tegu-local/tegu.conf"
	else
		say "writing .tegu-local/tegu.conf"
		local password
		password=$(random_password)
		(
			umask 077
			cat >"$conf.new" <<EOF
# Written by deploy/quickstart.sh. Holds the admin password: keep it 0600.
[global]
dataDir = $data_dir
nodeName = quickstart

[database]
dsn = $dsn

[Log]
debug = false

[WEB]
adminPassword = $password

[listen]
http = $http_addr
https = 127.0.0.1:9999
smtp = 127.0.0.1:2525
submission = 127.0.0.1:2587
smtps = 127.0.0.1:2465
imap = 127.0.0.1:2143
imaps = 127.0.0.1:2993

[settings]
# A self-signed certificate made by the quick start, for STARTTLS, SMTPS
# and IMAPS on loopback.
sslCertPath = $tls_dir/cert.pem
sslKeyPath = $tls_dir/key.pem
EOF
		)
		mv "$conf.new" "$conf"
	fi
	chmod 600 "$conf"
}

stop_node() {
	local pid i
	if ! pid=$(node_pid); then
		rm -f "$pidfile"
		return 0
	fi
	say "stopping tegu (pid $pid)"
	kill -TERM "$pid"
	for ((i = 0; i < 150; i++)); do # shutdownGrace is 10 s by default
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		say "tegu still running after 15 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

start_node() {
	local pid
	if pid=$(node_pid); then
		if [ "$build_dir/tegu" -nt "$pidfile" ]; then
			say "tegu was rebuilt: restarting it"
			stop_node
		else
			say "tegu already running (pid $pid)"
			return 0
		fi
	fi
	say "starting tegu (log: .tegu-local/tegu.log)"
	nohup "$build_dir/tegu" -c "$conf" >>"$logfile" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidfile"
	local deadline=$((SECONDS + 30))
	until healthy; do
		if ! alive "$pid"; then
			tail -n 20 "$logfile" >&2
			rm -f "$pidfile"
			die "tegu exited; the end of its log is above"
		fi
		if [ $SECONDS -ge $deadline ]; then
			tail -n 20 "$logfile" >&2
			stop_node
			die "tegu did not answer 200 on /health within 30 s; the end of its log is above"
		fi
		sleep 0.5
	done
}

show() {
	local http
	http=$(conf_value http)
	cat <<EOF

Tegu node "quickstart" is running (pid $(cat "$pidfile")).
  health:    http://$http/health
  metrics:   http://$http/metrics
  admin:     login admin, password $(conf_value adminPassword)
             (kept in .tegu-local/tegu.conf; the web panel is not built yet)
  mail:      SMTP (MX) 127.0.0.1:2525, submission 127.0.0.1:2587 (STARTTLS, AUTH),
             SMTPS 127.0.0.1:2465; IMAP 127.0.0.1:2143 (STARTTLS), IMAPS 127.0.0.1:2993
             (self-signed certificate in .tegu-local/tls: let the client accept it)
  demo user: $demo_user, password $(cat "$demo_password_file")
             send:  swaks --server 127.0.0.1:2525 --to $demo_user
             read:  any IMAP client on 127.0.0.1:2993 (SSL/TLS) or 2143 (STARTTLS),
                    user $demo_user; or
                    curl -k -u $demo_user imaps://127.0.0.1:2993/INBOX -X 'FETCH 1 BODY[]'
  teguctl:   build/release/teguctl -c .tegu-local/tegu.conf dump
             (also: nodes, get KEY, set KEY VALUE, migrate --status)
  database:  psql "$dsn"
  log:       .tegu-local/tegu.log
  stop:      bash deploy/quickstart.sh stop
EOF
}

start() {
	install_packages
	build
	prepare_local_dir
	init_pg
	make_certificate
	write_conf
	say "applying migrations"
	"$build_dir/teguctl" -c "$conf" migrate
	create_demo_user
	start_node
	show
}

# A demo domain and user to log in with, created once; the password is kept
# (mode 0600) in .tegu-local/demo-password so a second run shows the same.
demo_user=demo@example.test
demo_password_file=$local_dir/demo-password
create_demo_user() {
	local ctl=("$build_dir/teguctl" -c "$conf")
	if ! "${ctl[@]}" domain list | cut -f1 | grep -qx example.test; then
		say "creating the demo domain example.test"
		"${ctl[@]}" domain add example.test >/dev/null
	fi
	if ! "${ctl[@]}" user list example.test | cut -f1 | grep -qx "$demo_user"; then
		say "creating the demo user $demo_user"
		[ -s "$demo_password_file" ] ||
			(umask 077 && random_password >"$demo_password_file")
		"${ctl[@]}" user add "$demo_user" --password-stdin --name "Demo User" \
			<"$demo_password_file" >/dev/null
	fi
}

stop() {
	stop_node
	if pg_running; then
		say "stopping PostgreSQL"
		as_pg "$(pg_bindir)/pg_ctl" -D "$pgdata" -m fast -w -t 60 stop >/dev/null
	fi
	say "stopped"
}

status() {
	local pid
	if pid=$(node_pid); then
		if healthy; then
			echo "tegu: running (pid $pid), healthy"
		else
			echo "tegu: running (pid $pid), /health not 200"
		fi
	else
		echo "tegu: not running"
	fi
	if pg_running; then
		echo "PostgreSQL: running on 127.0.0.1:$pg_port"
	else
		echo "PostgreSQL: not running"
	fi
}

case ${1:-start} in
start) start ;;
stop) stop ;;
restart)
	stop_node
	start
	;;
status) status ;;
*)
	echo "usage: bash deploy/quickstart.sh [start|stop|restart|status]" >&2
	exit 2
	;;
esac

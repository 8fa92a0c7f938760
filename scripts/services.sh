#!/usr/bin/env bash
# Make sure the local PostgreSQL and MariaDB are set up for singerkit's
# integration tests (logical decoding, row-based binlog), without systemd.
#
# Idempotent: a service is restarted only when a running setting that needs a
# restart differs from what we want; PostgreSQL is reloaded when only
# pg_hba.conf changed; MariaDB's dynamic settings are fixed with SET GLOBAL.
# Ends with one summary line per service on stdout; progress goes to stderr.
# Called by `make services`. Needs root (re-executes itself with sudo -n).
set -euo pipefail
set -E # let the ERR trap below fire inside functions too
trap 'echo "services: ERROR: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_CLUSTER=${PG_CLUSTER:-main}
# shellcheck disable=SC2012 # version directories, e.g. 15
PG_VERSION=${PG_VERSION:-$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MARIADB_BIN=${MARIADB_BIN:-/usr/sbin/mariadbd}
MARIADB_CNF=${MARIADB_CNF:-/etc/mysql/my.cnf}
MARIADB_CONF_DIR=${MARIADB_CONF_DIR:-/etc/mysql/mariadb.conf.d}
MARIADB_DROPIN=$MARIADB_CONF_DIR/99-singerkit.cnf
WAIT_SECS=${WAIT_SECS:-60}
TEST_DB='test'

log() { echo "services: $*" >&2; }
die() {
	echo "services: ERROR: $*" >&2
	exit 1
}

# wait_for SECS CMD...: run CMD once a second until it succeeds; give up after SECS.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 1; i < secs; i++)); do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

if [[ $(id -u) -ne 0 ]]; then
	{ command -v sudo >/dev/null && sudo -n true 2>/dev/null; } ||
		die "must run as root (or with passwordless sudo)"
	exec sudo -n -E bash "$0" "$@"
fi

for cmd in pg_ctlcluster pg_isready psql runuser mariadb mariadb-admin my_print_defaults start-stop-daemon pidof; do
	command -v "$cmd" >/dev/null || die "required command not found: $cmd"
done

# ---------------------------------------------------------------- PostgreSQL

export PGCONNECT_TIMEOUT=5
PG_LOG=/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log

pg_ctl() { pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" "$@"; }
pg_running() { pg_ctl status >/dev/null 2>&1; }
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
# Admin queries go over the Unix socket as the postgres OS user, so they work
# whatever pg_hba.conf says about TCP.
pg_admin() { runuser -u postgres -- psql -X -q -w -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$1"; }
pg_fail() {
	[[ -r $PG_LOG ]] && tail -n 20 "$PG_LOG" >&2
	die "postgres: $*"
}
# pg_try CONNINFO SQL: connect over TCP without a password (retrying briefly).
pg_try() {
	local out i
	for ((i = 0; i < 10; i++)); do
		out=$(psql -X -w -At "host=$PG_HOST port=$PG_PORT dbname=$TEST_DB $1" -c "$2" 2>&1) && return 0
		sleep 1
	done
	echo "$out" >&2
	return 1
}
# satisfies VALUE WANT: numeric WANT means VALUE >= WANT, otherwise equality.
satisfies() {
	if [[ $2 =~ ^[0-9]+$ ]]; then
		[[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2))
	else
		[[ $1 == "$2" ]]
	fi
}

[[ -n $PG_VERSION && -d /etc/postgresql/$PG_VERSION/$PG_CLUSTER ]] ||
	die "postgres: no cluster /etc/postgresql/${PG_VERSION:-?}/$PG_CLUSTER"

if ! pg_running; then
	log "postgres: cluster $PG_VERSION/$PG_CLUSTER is not running; starting it"
	pg_ctl start || pg_fail "could not start cluster $PG_VERSION/$PG_CLUSTER"
fi
wait_for "$WAIT_SECS" pg_ready || pg_fail "not accepting connections on $PG_HOST:$PG_PORT after ${WAIT_SECS}s"

# pg_hba.conf: trust loopback TCP for normal and replication connections.
hba=$(pg_admin 'SHOW hba_file')
missing=()
for rule in "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust" \
	"host replication all 127.0.0.1/32 trust" "host replication all ::1/128 trust"; do
	read -r t d u a m <<<"$rule"
	awk -v t="$t" -v d="$d" -v u="$u" -v a="$a" -v m="$m" \
		'$1 == t && $2 == d && $3 == u && $4 == a && $5 == m { f = 1 } END { exit !f }' "$hba" ||
		missing+=("$rule")
done
hba_changed=0
if ((${#missing[@]})); then
	log "postgres: adding to $hba: $(IFS=,; echo "${missing[*]}")"
	[[ -e $hba.singerkit.bak ]] || cp -p "$hba" "$hba.singerkit.bak"
	# Insert before the first rule: pg_hba.conf is first-match-wins.
	tmp=$(mktemp)
	marker="# added by singerkit scripts/services.sh"
	grep -qxF "$marker" "$hba" && marker=
	BLOCK=$(printf '%s\n' ${marker:+"$marker"} "${missing[@]}") awk '
		!done && $0 !~ /^[[:space:]]*(#|$)/ { print ENVIRON["BLOCK"]; done = 1 }
		{ print }
		END { if (!done) print ENVIRON["BLOCK"] }' "$hba" >"$tmp"
	cat "$tmp" >"$hba" # keeps owner and mode
	rm -f "$tmp"
	hba_changed=1
fi

# Settings that need a restart. The configured value (last one in the config
# files, or the built-in default) is fixed with ALTER SYSTEM; the cluster is
# restarted only if the running value (SHOW) is not what we want.
restart_why=()
for kv in wal_level=logical max_replication_slots=10 max_wal_senders=10; do
	name=${kv%%=*} want=${kv#*=}
	conf=$(pg_admin "SELECT COALESCE((SELECT setting FROM pg_file_settings WHERE name = '$name' ORDER BY seqno DESC LIMIT 1), (SELECT boot_val FROM pg_settings WHERE name = '$name'))")
	if ! satisfies "$conf" "$want"; then
		log "postgres: ALTER SYSTEM SET $name = $want (configured: $conf)"
		pg_admin "ALTER SYSTEM SET $name = '$want'"
	fi
	running=$(pg_admin "SHOW $name")
	satisfies "$running" "$want" || restart_why+=("$name=$running")
done

if ((${#restart_why[@]})); then
	log "postgres: restarting $PG_VERSION/$PG_CLUSTER (running ${restart_why[*]})"
	pg_ctl restart || pg_fail "restart of $PG_VERSION/$PG_CLUSTER failed"
	wait_for "$WAIT_SECS" pg_ready || pg_fail "not accepting connections after restart"
	for kv in wal_level=logical max_replication_slots=10 max_wal_senders=10; do
		name=${kv%%=*} want=${kv#*=}
		running=$(pg_admin "SHOW $name")
		satisfies "$running" "$want" ||
			pg_fail "$name is still $running after restart (overridden on the command line?)"
	done
elif ((hba_changed)); then
	log "postgres: reloading $PG_VERSION/$PG_CLUSTER (pg_hba.conf changed)"
	pg_ctl reload || pg_fail "reload of $PG_VERSION/$PG_CLUSTER failed"
fi
[[ $(pg_admin 'SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL') == 0 ]] ||
	die "postgres: $hba has errors: $(pg_admin 'SELECT string_agg(line_number || $$: $$ || error, $$; $$) FROM pg_hba_file_rules WHERE error IS NOT NULL')"

if [[ $(pg_admin "SELECT count(*) FROM pg_roles WHERE rolname = 'root'") == 0 ]]; then
	log "postgres: creating role root"
	pg_admin 'CREATE ROLE root LOGIN SUPERUSER REPLICATION'
fi
if [[ $(pg_admin "SELECT count(*) FROM pg_database WHERE datname = '$TEST_DB'") == 0 ]]; then
	log "postgres: creating database $TEST_DB"
	pg_admin "CREATE DATABASE $TEST_DB OWNER root"
fi

for user in root postgres; do
	pg_try "user=$user" 'SELECT 1' ||
		die "postgres: user $user cannot connect to $PG_HOST:$PG_PORT/$TEST_DB without a password (see $hba)"
	pg_try "user=$user replication=database" 'IDENTIFY_SYSTEM;' ||
		die "postgres: user $user cannot open a replication connection to $PG_HOST:$PG_PORT (see $hba)"
done

pg_version=$(pg_admin 'SHOW server_version')
pg_summary="postgres: wal_level=$(pg_admin 'SHOW wal_level')"
pg_summary+=" max_replication_slots=$(pg_admin 'SHOW max_replication_slots')"
pg_summary+=" max_wal_senders=$(pg_admin 'SHOW max_wal_senders')"
pg_summary+=" version=${pg_version%% *} cluster=$PG_VERSION/$PG_CLUSTER addr=$PG_HOST:$PG_PORT db=$TEST_DB"

# ------------------------------------------------------------------- MariaDB

MARIADB_LOG=$(my_print_defaults --mysqld | sed -n 's/^--log[-_]error=//p' | tail -n1)

my() { mariadb --connect-timeout=5 -uroot -h"$MYSQL_HOST" -P"$MYSQL_PORT" -N -s -e "$1"; }
my_ping() { mariadb-admin --connect-timeout=2 -uroot -h"$MYSQL_HOST" -P"$MYSQL_PORT" ping >/dev/null 2>&1; }
my_pid() { pidof -s "$(basename "$MARIADB_BIN")" || true; }
my_gone() { [[ -z $(my_pid) ]]; }
my_fail() {
	[[ -n $MARIADB_LOG && -r $MARIADB_LOG ]] && tail -n 20 "$MARIADB_LOG" >&2
	die "mariadb: $*"
}
# my_conf OPTION: last value of OPTION as mariadbd reads it from the option
# files ("-" and "_" are the same); prints "set:VALUE", or nothing if absent.
my_conf() {
	my_print_defaults --mysqld | awk -v k="$1" '
		{ s = substr($0, 3); n = s; v = ""; i = index(s, "=")
		  if (i) { n = substr(s, 1, i - 1); v = substr(s, i + 1) }
		  gsub(/-/, "_", n); if (n == k) { r = "set:" v } }
		END { if (r != "") print r }'
}
# my_wait_up: bounded wait for connections; fails early if mariadbd died.
my_wait_up() {
	local i
	for ((i = 0; i < WAIT_SECS; i++)); do
		my_ping && return 0
		((i >= 5)) && my_gone && return 1
		sleep 1
	done
	my_ping
}

# Who mariadbd runs as: keep that (it is normally "user = mysql" in my.cnf).
run_user=mysql
pid=$(my_pid)
[[ -n $pid ]] && run_user=$(ps -o user= -p "$pid" | tr -d ' ')

my_start() {
	local args=() sock
	# mariadbd refuses to run as root unless told a user; pass the one it ran
	# as only when the option files do not already say.
	[[ -n $(my_conf user) ]] || args=(-- --user="$run_user")
	sock=$(my_conf socket)
	sock=${sock#set:}
	rundir=$(dirname "${sock:-/run/mysqld/mysqld.sock}")
	[[ -d $rundir ]] || install -d -o "$run_user" -m 755 "$rundir"
	start-stop-daemon --start --oknodo --background --exec "$MARIADB_BIN" "${args[@]}" ||
		my_fail "start-stop-daemon could not start $MARIADB_BIN"
	my_wait_up || my_fail "did not come up on $MYSQL_HOST:$MYSQL_PORT (mariadbd exited, or no answer within ${WAIT_SECS}s)"
}

my_stop() {
	local pid
	pid=$(my_pid)
	if ! mariadb-admin --connect-timeout=5 -uroot -h"$MYSQL_HOST" -P"$MYSQL_PORT" shutdown; then
		log "mariadb: mariadb-admin shutdown failed; sending SIGTERM to $pid"
		if [[ -n $pid ]]; then kill -TERM "$pid"; fi
	fi
	wait_for "$WAIT_SECS" my_gone || my_fail "mariadbd (pid $pid) still running ${WAIT_SECS}s after shutdown"
}

if ! my_ping; then
	if [[ -n $(my_pid) ]]; then
		log "mariadb: mariadbd is running but not answering yet; waiting"
		my_wait_up || my_fail "mariadbd runs but does not accept connections on $MYSQL_HOST:$MYSQL_PORT"
	else
		log "mariadb: not running; starting it"
		my_start
	fi
fi

# The drop-in file, in a directory the main option file includes.
main_cnf=$(readlink -f "$MARIADB_CNF")
if ! grep -Eqs "^[[:space:]]*!includedir[[:space:]]+${MARIADB_CONF_DIR%/}/?[[:space:]]*$" "$main_cnf"; then
	log "mariadb: adding '!includedir $MARIADB_CONF_DIR/' to $main_cnf"
	printf '\n!includedir %s/\n' "${MARIADB_CONF_DIR%/}" >>"$main_cnf"
fi
dropin='# Managed by singerkit scripts/services.sh: row-based binlog for CDC tests.
[mariadbd]
server_id        = 1
log_bin          = mysql-bin
binlog_format    = ROW
binlog_row_image = FULL
loose_binlog_row_metadata = FULL
local_infile     = ON'
if [[ ! -f $MARIADB_DROPIN || $(<"$MARIADB_DROPIN") != "$dropin" ]]; then
	log "mariadb: writing $MARIADB_DROPIN"
	install -d -m 755 "$MARIADB_CONF_DIR"
	printf '%s\n' "$dropin" >"$MARIADB_DROPIN"
	chmod 644 "$MARIADB_DROPIN"
fi
[[ -n $(my_conf log_bin) && -z $(my_conf skip_log_bin) && $(my_conf binlog_format) == set:ROW &&
	$(my_conf binlog_row_image) == set:FULL && $(my_conf server_id) != set:0 ]] ||
	die "mariadb: option files do not give log_bin, binlog_format=ROW, binlog_row_image=FULL, server_id; check: my_print_defaults --mysqld"

my_vars() { my 'SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id, @@local_infile'; }
vars=$(my_vars) || die "mariadb: cannot query $MYSQL_HOST:$MYSQL_PORT as root with an empty password"
read -r log_bin fmt img sid infile <<<"$vars"
# Column names in the binlog (MariaDB 10.5+) let tap-mysql follow ALTER
# TABLE while streaming; older servers have no such variable.
row_meta=$(my "SELECT @@binlog_row_metadata" 2>/dev/null || echo none)
if [[ $log_bin != 1 ]]; then
	# log_bin is read-only: needs a restart.
	log "mariadb: restarting (log_bin=$log_bin)"
	my_stop
	my_start
else
	sets=()
	[[ $fmt == ROW ]] || sets+=("binlog_format = 'ROW'")
	[[ $img == FULL ]] || sets+=("binlog_row_image = 'FULL'")
	[[ $sid != 0 ]] || sets+=("server_id = 1")
	[[ $infile == 1 ]] || sets+=("local_infile = ON")
	[[ $row_meta == none || $row_meta == FULL ]] || sets+=("binlog_row_metadata = 'FULL'")
	if ((${#sets[@]})); then
		log "mariadb: SET GLOBAL $(IFS=,; echo "${sets[*]}")"
		my "SET GLOBAL $(IFS=,; echo "${sets[*]}")"
	fi
fi
vars=$(my_vars)
read -r log_bin fmt img sid infile <<<"$vars"
[[ $log_bin == 1 && $fmt == ROW && $img == FULL && $sid != 0 && $infile == 1 ]] ||
	my_fail "settings not in effect: log_bin=$log_bin binlog_format=$fmt binlog_row_image=$img server_id=$sid local_infile=$infile"

if [[ $(my "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$TEST_DB'") == 0 ]]; then
	log "mariadb: creating database $TEST_DB"
	my "CREATE DATABASE IF NOT EXISTS \`$TEST_DB\`"
fi
[[ -n $(my 'SHOW MASTER STATUS') ]] || my_fail "SHOW MASTER STATUS returned nothing"

my_version=$(my 'SELECT VERSION()')
row_meta=$(my "SELECT @@binlog_row_metadata" 2>/dev/null || echo none)
my_summary="mariadb: log_bin=$log_bin binlog_format=$fmt binlog_row_image=$img binlog_row_metadata=$row_meta server_id=$sid local_infile=$infile"
my_summary+=" version=${my_version%%-*} addr=$MYSQL_HOST:$MYSQL_PORT db=$TEST_DB"

echo "$pg_summary"
echo "$my_summary"

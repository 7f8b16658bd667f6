# shellcheck shell=bash
# bench/lib.sh: the throwaway cluster that the benchmarks measure, and the
# helpers they share.
#
# Sourced, never run.  The scripts run as root, but PostgreSQL refuses to,
# so every server, psql and pgbench runs as the unprivileged "postgres"
# user, in a scratch directory under $BENCH_TMPDIR that this file creates,
# owns through postgres, and removes on exit (with every server in it
# stopped), whatever way the script ends.
#
# The cluster: a primary and two standbys cloned from it with pg_basebackup
# -R, each streaming through a physical slot named after it and with its
# name as application_name, so that the primary has two real WAL senders for
# pgrepl's monitor to sample.  Nodes are "primary", "standby1" and
# "standby2" on ports $BENCH_PORT, +1 and +2.  Clients connect through a unix
# socket in the scratch directory (mode 700, so only postgres and root can
# reach it); the standbys stream over TCP on 127.0.0.1, as a real standby
# would, which is also why the ports must be free.
#
# Whether pgrepl is loaded is the only difference between the two
# configurations bench/overhead compares, so it lives alone in each node's
# bench_preload.conf (see set_preload); everything else is in postgresql.conf
# and bench_node.conf and never changes.  pgrepl's node name is not set: it
# derives it from cluster_name, which is the node's name.
#
# The benchmarks that need pgrepl to run a cluster (fail over, switch over,
# manage synchronous replication) build it with create_member_cluster
# instead: pgrepl loaded on every node, each a member with its name and a
# connection string its peers use over TCP, in bench_preload.conf too.
#
# Every wait polls a condition with a deadline of $BENCH_TIMEOUT seconds and
# names what it waited for when it gives up; nothing waits a fixed time.
#
# Callers use "set -euo pipefail", set BENCH_PORT's default before sourcing
# (each script has its own range, so that several can run at once), and call
# bench_start first.

# Variables below are used by the scripts that source this file.
# shellcheck disable=SC2034
{
	BENCH_PG_BIN=${BENCH_PG_BIN:-/usr/lib/postgresql/15/bin}
	BENCH_PG_CONFIG=$BENCH_PG_BIN/pg_config
	BENCH_PORT=${BENCH_PORT:-6400}
	BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
	BENCH_TMPDIR=${BENCH_TMPDIR:-/tmp}
	BENCH_KEEP=${BENCH_KEEP:-0}
	# Empty: pgrepl's own default (1s), which is what the figures are for.
	BENCH_MONITOR_INTERVAL=${BENCH_MONITOR_INTERVAL:-}
	# 1: nodes running pgrepl also set pgrepl.node_conninfo, so that they
	# are members of one cluster and their monitors heartbeat each other
	# (see set_preload).  Scripts that want a cluster set it before use.
	BENCH_MEMBERS=${BENCH_MEMBERS:-0}

	BENCH_NODES=(primary standby1 standby2)
	BENCH_STANDBYS=(standby1 standby2)

	# The scratch directory, set by bench_start.
	BENCH_DIR=""
}

# Print a progress message to stderr, prefixed with the script's name, so
# that stdout carries only the figures and can be kept as the result.
msg()
{
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# Print an error and exit: for conditions the user has to fix, or a cluster
# that did not come up (the EXIT trap then shows the server logs).
die()
{
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# Check that a setting is a whole number within bounds, so that a typo in
# an environment variable fails at once rather than in the middle of a
# half-hour run.
require_int()
{
	local name=$1 value=$2 min=$3 max=$4

	if [[ ! $value =~ ^[0-9]+$ ]] || ((value < min || value > max)); then
		die "$name must be a whole number from $min to $max, not \"$value\""
	fi
}

# Stop unless running as root: servers are run through runuser as postgres.
require_root()
{
	if [[ $(id -u) -ne 0 ]]; then
		die "run me as root (I run PostgreSQL as the user postgres)"
	fi
	if ! id postgres >/dev/null 2>&1; then
		die "there is no user postgres; install postgresql-15"
	fi
	if [[ ! -x $BENCH_PG_BIN/pgbench ]]; then
		die "no pgbench in $BENCH_PG_BIN; install postgresql-15 or set BENCH_PG_BIN"
	fi
}

# The benchmarks measure the installed pgrepl; they do not build it, so that
# a run measures exactly what the lead installed.  Say how to install it.
require_pgrepl()
{
	local pkglibdir sharedir

	pkglibdir=$("$BENCH_PG_CONFIG" --pkglibdir)
	sharedir=$("$BENCH_PG_CONFIG" --sharedir)
	if [[ ! -f $pkglibdir/pgrepl.so || ! -f $sharedir/extension/pgrepl.control ]]; then
		die "pgrepl is not installed in $pkglibdir; from the source tree run:
    make PG_CONFIG=$BENCH_PG_CONFIG && make install PG_CONFIG=$BENCH_PG_CONFIG
(the build as an ordinary user, the install as root)"
	fi
	msg "using $pkglibdir/pgrepl.so ($(date -r "$pkglibdir/pgrepl.so" '+%F %T'))"
}

# Run a command as postgres from /, so that it never trips over a working
# directory it cannot enter.  runuser, not sudo: sudo may be absent.
as_postgres()
{
	(cd / && runuser -u postgres -- "$@")
}

# Write stdin to a file as postgres, so that postgres owns what it creates.
write_file()
{
	as_postgres tee "$@" >/dev/null
}

# Succeed if something accepts connections on a TCP port of 127.0.0.1.  A
# server of ours could not bind it then, and would fail with a less clear
# message deep in the setup.
port_in_use()
{
	(: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Create the scratch directory and arrange for bench_cleanup to run however
# the script ends: INT and TERM are turned into an exit so that the EXIT
# trap runs for them too.
bench_start()
{
	local node

	require_int BENCH_PORT "$BENCH_PORT" 1024 65533
	require_int BENCH_TIMEOUT "$BENCH_TIMEOUT" 1 3600
	for node in "${BENCH_NODES[@]}"; do
		if port_in_use "$(node_port "$node")"; then
			die "port $(node_port "$node") is in use; set BENCH_PORT to the first of three free ports"
		fi
	done

	BENCH_DIR=$(mktemp -d "$BENCH_TMPDIR/pgrepl-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	chown postgres: "$BENCH_DIR"
	chmod 700 "$BENCH_DIR"
	if ! as_postgres test -w "$BENCH_DIR"; then
		die "the user postgres cannot write to $BENCH_DIR; set BENCH_TMPDIR to a directory it can reach"
	fi
	# A socket path holds at most 107 bytes: DIR/.s.PGSQL.NNNNN must fit,
	# and DIR is written unquoted-safe into postgresql.conf.
	if ((${#BENCH_DIR} > 90)) || [[ ! $BENCH_DIR =~ ^/[A-Za-z0-9_./-]+$ ]]; then
		die "$BENCH_DIR cannot serve as a socket directory; set BENCH_TMPDIR to a short plain path"
	fi
	msg "scratch directory $BENCH_DIR, ports $BENCH_PORT-$((BENCH_PORT + 2))"
}

# The EXIT trap: stop every server under the scratch directory (immediate
# mode: nothing in it is worth a clean shutdown) and remove it.  After a
# failure (not an interrupt), first show the end of each server log, since
# the logs go with the directory; BENCH_KEEP=1 keeps the directory instead.
bench_cleanup()
{
	local rc=$? pidfile log

	trap - EXIT INT TERM
	[[ -n $BENCH_DIR && -d $BENCH_DIR ]] || exit "$rc"

	while IFS= read -r -d '' pidfile; do
		as_postgres "$BENCH_PG_BIN/pg_ctl" stop -m immediate -w \
			-D "$(dirname "$pidfile")" >/dev/null 2>&1 || true
	done < <(find "$BENCH_DIR" -name postmaster.pid -type f -print0 2>/dev/null)

	if ((rc == 130 || rc == 143)); then
		msg "interrupted; stopped the servers"
	elif ((rc != 0)); then
		for log in "$BENCH_DIR"/*/server.log; do
			[[ -f $log ]] || continue
			printf '\n--- last lines of %s ---\n' "$log" >&2
			tail -n 20 "$log" >&2 || true
		done
	fi
	if [[ $BENCH_KEEP == 1 ]]; then
		msg "kept $BENCH_DIR (BENCH_KEEP=1); remove it when done"
	else
		rm -rf -- "$BENCH_DIR"
	fi
	exit "$rc"
}

# The port of a node: its place in BENCH_NODES after BENCH_PORT.
node_port()
{
	local i

	for i in "${!BENCH_NODES[@]}"; do
		if [[ ${BENCH_NODES[$i]} == "$1" ]]; then
			echo $((BENCH_PORT + i))
			return 0
		fi
	done
	die "no node named $1"
}

# A node's data directory.
node_data()
{
	echo "$BENCH_DIR/$1/data"
}

# Run psql as postgres against a node, quietly, stopping at the first error.
# Extra arguments go to psql; -d after them picks another database.
node_psql()
{
	local node=$1
	shift
	as_postgres "$BENCH_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
		-h "$BENCH_DIR" -p "$(node_port "$node")" -U postgres -d postgres \
		"$@" </dev/null
}

# Print the result of one query on a node, unaligned and without headers.
node_query()
{
	node_psql "$1" -At -c "$2"
}

# Succeed when a query on a node returns true; errors (server not up yet,
# view not there yet) count as not yet, so that this can be polled.
node_true()
{
	[[ $(node_query "$1" "$2" 2>/dev/null) == t ]]
}

# Run a command until it succeeds; fail, naming what was awaited, once
# BENCH_TIMEOUT seconds have passed.  Polls: a fixed sleep would be too
# short on a loaded machine and a waste on an idle one.
wait_until()
{
	local what=$1
	local deadline=$((SECONDS + BENCH_TIMEOUT))
	shift

	until "$@"; do
		if ((SECONDS >= deadline)); then
			die "gave up after ${BENCH_TIMEOUT}s waiting for $what"
		fi
		sleep 0.2
	done
}

# Write what differs between nodes: port and name.  A clone gets the
# primary's copy, so it is rewritten after pg_basebackup.
write_node_conf()
{
	local node=$1 data=$2

	write_file "$data/bench_node.conf" <<EOF
# Written by bench/lib.sh: the settings of $node only.
port = $(node_port "$node")
cluster_name = '$node'
EOF
}

# Write the one thing the benchmark configurations differ in into the
# bench_preload.conf of the nodes named after LIBS (all nodes if none is):
# "pgrepl" loads it (and BENCH_MONITOR_INTERVAL, if set, overrides its
# sampling interval), "" leaves it out.  Takes effect at the next start.
# With BENCH_MEMBERS=1, "pgrepl" also sets pgrepl.node_conninfo (through
# the scratch directory's socket): without it a node lists no members, and
# its monitor only samples, with no heartbeats to or from the others.
set_preload()
{
	local libs=$1 node
	local nodes=("${@:2}")

	((${#nodes[@]} > 0)) || nodes=("${BENCH_NODES[@]}")
	for node in "${nodes[@]}"; do
		{
			printf '# Written by bench/lib.sh: what differs between benchmark configurations.\n'
			printf "shared_preload_libraries = '%s'\n" "$libs"
			if [[ $libs == pgrepl && -n $BENCH_MONITOR_INTERVAL ]]; then
				printf "pgrepl.monitor_interval = '%s'\n" "$BENCH_MONITOR_INTERVAL"
			fi
			if [[ $libs == pgrepl && $BENCH_MEMBERS == 1 ]]; then
				printf "pgrepl.node_conninfo = 'host=%s port=%s dbname=postgres user=postgres'\n" \
					"$BENCH_DIR" "$(node_port "$node")"
			fi
		} | write_file "$(node_data "$node")/bench_preload.conf"
	done
}

# Create the primary with initdb and configure it.  The settings are the
# same on every node (standbys copy them) and aim at repeatable figures:
# shared_buffers holds pgbench's tables at the default scale, and
# checkpoints are kept out of measured runs by a large max_wal_size and a
# long checkpoint_timeout (bench/overhead checkpoints before each run).
# BENCH_SYNCHRONOUS_COMMIT is documented in bench/overhead.
create_primary()
{
	local node=primary data

	data=$(node_data "$node")
	as_postgres mkdir -p "$BENCH_DIR/$node"
	# $1 and $@ are the inner shell's: the log file, then initdb's command.
	# shellcheck disable=SC2016
	if ! as_postgres sh -c 'log=$1; shift; "$@" >"$log" 2>&1' sh \
		"$BENCH_DIR/$node/initdb.log" "$BENCH_PG_BIN/initdb" -D "$data" \
		-U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-instructions; then
		tail -n 20 "$BENCH_DIR/$node/initdb.log" >&2 || true
		die "initdb failed"
	fi

	write_file -a "$data/postgresql.conf" <<EOF

# Added by bench/lib.sh: the same on every node.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BENCH_DIR'
wal_level = replica
hot_standby = on
hot_standby_feedback = on
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = 512MB
max_wal_size = 4GB
checkpoint_timeout = 1h
synchronous_commit = ${BENCH_SYNCHRONOUS_COMMIT:-off}
log_line_prefix = '%m [%p] %q%b '
# port and cluster_name
include 'bench_node.conf'
# shared_preload_libraries: the only setting that differs between runs
include 'bench_preload.conf'
EOF

	write_file "$data/pg_hba.conf" <<'EOF'
# Written by bench/lib.sh for a throwaway benchmark cluster.
#
# TRUST, acceptable only because nothing else can reach it: clients use a
# unix socket in a directory only postgres (and root) can enter, and TCP on
# 127.0.0.1 is for replication only.  Never copy this to a real server.
local   all           postgres                    trust
local   replication   postgres                    trust
host    replication   postgres   127.0.0.1/32     trust
EOF
	write_node_conf "$node" "$data"
}

# Clone a standby from the running primary through a physical slot named
# after it, with application_name set to its name so that pg_stat_replication
# and pgrepl.replicas name it.  -R writes primary_conninfo and
# primary_slot_name into the clone.
create_standby()
{
	local node=$1 data

	data=$(node_data "$node")
	node_query primary "SELECT pg_create_physical_replication_slot('$node')" >/dev/null
	as_postgres mkdir -p "$BENCH_DIR/$node"
	if ! as_postgres "$BENCH_PG_BIN/pg_basebackup" -D "$data" \
		-d "host=127.0.0.1 port=$(node_port primary) user=postgres application_name=$node" \
		-S "$node" -X stream -R -c fast \
		>"$BENCH_DIR/$node.basebackup.log" 2>&1 </dev/null; then
		cat "$BENCH_DIR/$node.basebackup.log" >&2
		die "pg_basebackup failed for $node"
	fi
	write_node_conf "$node" "$data"
}

# Start a node and wait until it accepts connections.
start_node()
{
	local node=$1

	if ! as_postgres "$BENCH_PG_BIN/pg_ctl" start -D "$(node_data "$node")" \
		-l "$BENCH_DIR/$node/server.log" -w -t "$BENCH_TIMEOUT" \
		>/dev/null </dev/null; then
		die "$node did not start within ${BENCH_TIMEOUT}s"
	fi
}

# Stop a node in fast mode, waiting until it is down.
stop_node()
{
	if ! as_postgres "$BENCH_PG_BIN/pg_ctl" stop -D "$(node_data "$1")" \
		-m fast -w -t "$BENCH_TIMEOUT" >/dev/null </dev/null; then
		die "$1 did not stop within ${BENCH_TIMEOUT}s"
	fi
}

# Wait until both standbys stream from the primary under their own names.
wait_streaming()
{
	wait_until "both standbys to stream from the primary" \
		node_true primary "
			SELECT count(*) = ${#BENCH_STANDBYS[@]} FROM pg_stat_replication
			WHERE state = 'streaming'
			  AND application_name IN ('standby1', 'standby2')"
}

# Wait until both standbys have replayed everything the primary has written
# so far, so that a measured run does not start with replay still busy on
# the same cores (or a run's tail of replay spill into the next one).
wait_caught_up()
{
	local lsn

	lsn=$(node_query primary 'SELECT pg_current_wal_lsn()')
	wait_until "both standbys to replay up to $lsn" \
		node_true primary "
			SELECT count(*) = ${#BENCH_STANDBYS[@]} FROM pg_stat_replication
			WHERE state = 'streaming' AND replay_lsn >= '$lsn'"
}

# Wait until every node runs the pgrepl monitor, and, once the extension
# exists on the primary, until its views show both standbys streaming: a
# run then measures pgrepl doing its real work, not starting up.
wait_pgrepl_sampling()
{
	local node

	for node in "${BENCH_NODES[@]}"; do
		wait_until "the pgrepl monitor to run on $node" \
			node_true "$node" "
				SELECT count(*) = 1 FROM pg_stat_activity
				WHERE backend_type = 'pgrepl monitor'"
	done
	if node_true primary "SELECT count(*) = 1 FROM pg_extension WHERE extname = 'pgrepl'"; then
		wait_until "pgrepl.replicas on the primary to list both standbys streaming" \
			node_true primary "
				SELECT count(*) = ${#BENCH_STANDBYS[@]} FROM pgrepl.replicas
				WHERE state = 'streaming'"
	fi
}

# Check, rather than assume, that a configuration took effect on every
# node: shared_preload_libraries is what was asked for, the monitor runs
# exactly when pgrepl is loaded, and BENCH_MONITOR_INTERVAL, if set, was
# accepted.
check_preload()
{
	local libs=$1 node want_workers=0

	[[ $libs == pgrepl ]] && want_workers=1
	for node in "${BENCH_NODES[@]}"; do
		if ! node_true "$node" "
			SELECT current_setting('shared_preload_libraries') = '$libs'
			   AND (SELECT count(*) FROM pg_stat_activity
					WHERE backend_type = 'pgrepl monitor') = $want_workers"; then
			die "$node does not run with shared_preload_libraries = '$libs' as configured"
		fi
		# An invalid value of a module's setting only draws a warning at
		# start, and the default is used: catch that here, or the figures
		# would be labelled with an interval that never applied.
		if [[ $libs == pgrepl && -n $BENCH_MONITOR_INTERVAL ]] &&
			! node_true "$node" "
				SELECT source = 'configuration file' FROM pg_settings
				WHERE name = 'pgrepl.monitor_interval'"; then
			die "$node did not accept pgrepl.monitor_interval = '$BENCH_MONITOR_INTERVAL' (see its server.log)"
		fi
	done
}

# Print the pgrepl.monitor_interval the primary runs with, as the server
# shows it, so that the figures are labelled with what applied rather than
# with what was asked for.  Only while pgrepl is loaded.
monitor_interval_in_effect()
{
	node_query primary 'SHOW pgrepl.monitor_interval'
}

# Start the cluster with the given shared_preload_libraries ("pgrepl" or
# ""), primary first so that the standbys find it, and wait until it is in
# the state the benchmarks measure: both standbys streaming, and pgrepl
# sampling when it is loaded.
start_cluster()
{
	local libs=$1 node

	set_preload "$libs"
	for node in "${BENCH_NODES[@]}"; do
		start_node "$node"
	done
	wait_streaming
	if [[ $libs == pgrepl ]]; then
		wait_pgrepl_sampling
	fi
	check_preload "$libs"
}

# Stop the cluster, primary first: its fast shutdown sends the last WAL to
# the standbys, which are still streaming, so that they stop in step.
stop_cluster()
{
	local node

	for node in "${BENCH_NODES[@]}"; do
		stop_node "$node"
	done
}

# Create the whole cluster with the given shared_preload_libraries and
# leave it running with both standbys streaming.
create_cluster()
{
	local libs=$1 node

	msg "creating the primary (port $(node_port primary))"
	create_primary
	set_preload "$libs" primary
	start_node primary
	for node in "${BENCH_STANDBYS[@]}"; do
		msg "cloning $node (port $(node_port "$node")) with pg_basebackup"
		create_standby "$node"
	done
	set_preload "$libs"
	for node in "${BENCH_STANDBYS[@]}"; do
		start_node "$node"
	done
	wait_streaming
	if [[ $libs == pgrepl ]]; then
		wait_pgrepl_sampling
	fi
	check_preload "$libs"
}

# Let pgrepl's peers and the benchmarks' clients in over TCP on 127.0.0.1,
# as they would come from other hosts: pgrepl.node_conninfo (see
# write_member_conf) names 127.0.0.1.  Appended to the primary's pg_hba.conf
# before the standbys are cloned, so that they copy it; its trust is
# acceptable for the same reason as the rest of the file: a throwaway
# cluster on loopback.
allow_tcp_clients()
{
	write_file -a "$(node_data primary)/pg_hba.conf" <<EOF
# Added by bench/lib.sh for ${0##*/}: pgrepl's peers and clients use TCP.
host    postgres      postgres   127.0.0.1/32     trust
EOF
}

# Make a node a member of a pgrepl cluster, in its bench_preload.conf:
# pgrepl loaded, the node's name, and how its peers reach it, followed by
# SETTINGS (lines of postgresql.conf, may be empty) for what the calling
# script measures.  Takes effect at the next start.  A clone gets the
# primary's copy, so this is rewritten after pg_basebackup.
write_member_conf()
{
	local node=$1 settings=${2:-}

	write_file "$(node_data "$node")/bench_preload.conf" <<EOF
# Written by bench/lib.sh for ${0##*/}: pgrepl on $node, a cluster member.
shared_preload_libraries = 'pgrepl'
pgrepl.node_name = '$node'
pgrepl.node_conninfo = 'host=127.0.0.1 port=$(node_port "$node") dbname=postgres user=postgres'
$settings
EOF
}

# Wait until pgrepl has formed the cluster: every node sees all members
# reachable and "primary" leading term 1, and the primary holds its lease
# (it is fenced until a majority answered its heartbeats).  Before that,
# a write may be refused and a failover or a synchronous standby list
# would not be pgrepl's steady state.
wait_members_formed()
{
	local node

	for node in "${BENCH_NODES[@]}"; do
		wait_until "$node to see ${#BENCH_NODES[@]} reachable members and primary lead term 1" \
			node_true "$node" "
				SELECT (SELECT count(*) = ${#BENCH_NODES[@]} AND bool_and(reachable)
						FROM pgrepl.nodes)
				   AND (SELECT term = 1 AND primary_node = 'primary'
						FROM pgrepl.status)"
	done
	wait_until "the primary to hold its lease (not fenced)" \
		node_true primary "
			SELECT role = 'primary' AND NOT fenced FROM pgrepl.status"
}

# Build and start a fresh pgrepl cluster, as an operator would set one up:
# the primary with CREATE EXTENSION pgrepl, then the standbys cloned from
# it, which join by themselves; every node a member (write_member_conf,
# with SETTINGS).  SETUP, if given, is a command run once the primary is
# up, before the standbys are cloned, so that they copy what it creates
# (the benchmark's tables).  Returns once pgrepl has formed the cluster.
create_member_cluster()
{
	local settings=$1 setup=${2:-} node

	create_primary
	allow_tcp_clients
	write_member_conf primary "$settings"
	start_node primary
	node_psql primary -c 'CREATE EXTENSION pgrepl'
	if [[ -n $setup ]]; then
		"$setup"
	fi
	for node in "${BENCH_STANDBYS[@]}"; do
		create_standby "$node"
		write_member_conf "$node" "$settings"
		start_node "$node"
	done
	wait_streaming
	wait_members_formed
}

# Create the database "bench" on the primary and fill it with pgbench -i at
# scale SCALE, once: every run of every configuration uses these tables.
pgbench_init()
{
	local scale=$1

	node_psql primary -c 'CREATE DATABASE bench'
	msg "pgbench -i at scale $scale"
	if ! as_postgres "$BENCH_PG_BIN/pgbench" -i -q -s "$scale" \
		-h "$BENCH_DIR" -p "$(node_port primary)" -U postgres bench \
		>"$BENCH_DIR/pgbench-init.log" 2>&1 </dev/null; then
		cat "$BENCH_DIR/pgbench-init.log" >&2
		die "pgbench -i failed"
	fi
}

# Run one measured pgbench run against the database "bench" on the
# primary, with pgbench's options in the arguments after OUT (where its
# output goes) and WHAT (the run's name, for errors), and print "TPS
# LATENCY": transactions per second without connection time, and the
# average latency in milliseconds, as pgbench reports them.  pgbench's own
# vacuum before the run is kept: it truncates pgbench_history, so that the
# runs stay alike.
pgbench_measure()
{
	local out=$1 what=$2 tps latency
	shift 2

	if ! as_postgres "$BENCH_PG_BIN/pgbench" -h "$BENCH_DIR" \
		-p "$(node_port primary)" -U postgres "$@" bench \
		>"$out" 2>&1 </dev/null; then
		cat "$out" >&2
		die "pgbench failed ($what)"
	fi
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
	latency=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$out")
	if [[ -z $tps || -z $latency ]]; then
		cat "$out" >&2
		die "found no TPS or latency in pgbench's output ($what)"
	fi
	echo "$tps $latency"
}

# Print the numbers of a space-separated list one a line, for median().
one_a_line()
{
	local -a values

	read -ra values <<<"$1"
	printf '%s\n' "${values[@]}"
}

# Print "min..max" of a space-separated list of numbers, with DECIMALS
# decimals (1 if not given).
spread()
{
	one_a_line "$1" | sort -g | awk -v d="${2:-1}" '
		NR == 1 { lo = $1 } { hi = $1 }
		END { printf "%.*f..%.*f", d, lo, d, hi }'
}

# Print the median of the numbers on stdin, one a line; the mean of the
# two middle ones when their count is even.  Medians, not means, so that
# one run disturbed by another engineer's build does not move the figure.
median()
{
	sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]
			else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# Print the P-th percentile (nearest rank) of the numbers on stdin.
percentile()
{
	sort -g | awk -v p="$1" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			r = int(p / 100 * NR)
			if (r < p / 100 * NR) r++
			if (r < 1) r = 1
			print v[r]
		}'
}

# Print the machine's load averages: both cores are shared, and a figure
# taken under load from elsewhere should say so.
load_average()
{
	cut -d' ' -f1-3 /proc/loadavg
}

# CPU accounting, for the scripts whose TPS ratios the shared machine's
# noise swamps: what some processes (pgrepl's) used of what the primary's
# server used in all over a run, read from /proc right before and right
# after it.  cpu_mark takes the first reading, the cpu_*_since functions
# read again and give the difference; the caller picks the processes.
CPU_T0=0
CPU_IDLE0="0 0"
CPU_TREE0=0
declare -A CPU_NS0=()

# Print the CPU time, in ticks, that a postmaster and all its processes
# have used: utime, stime, cutime and cstime of the postmaster and of each
# child.  Exited children are in the postmaster's cutime and cstime once
# reaped, so the difference of two readings is what the whole server used
# in between.  A process that exits while this reads is skipped.
tree_ticks()
{
	local postmaster=$1 f line pid
	local -a v
	local total=0

	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		pid=${line%% *}
		# After "pid (comm) ": state ppid ... utime stime cutime cstime.
		read -ra v <<<"${line##*) }"
		if [[ $pid == "$postmaster" || ${v[1]} == "$postmaster" ]]; then
			total=$((total + v[11] + v[12] + v[13] + v[14]))
		fi
	done
	echo "$total"
}

# Print the CPU time, in nanoseconds, each of the given processes has used,
# one a line, or "gone" for one that no longer exists: the first field of
# /proc/PID/task/*/schedstat, summed over the process's threads (postgres
# has one; wrk one per -t and its main one).  It is the same time as utime
# + stime, at nanosecond rather than 10 ms resolution.
pid_ns()
{
	local pid f ns rest sum found

	for pid in "$@"; do
		sum=0
		found=0
		for f in "/proc/$pid/task/"*/schedstat; do
			read -r ns rest 2>/dev/null <"$f" || continue
			sum=$((sum + ns))
			found=1
		done
		if ((found)); then
			echo "$sum"
		else
			echo gone
		fi
	done
}

# The pid of the primary's postmaster.
primary_postmaster()
{
	head -n 1 "$(node_data primary)/postmaster.pid"
}

# Take the first reading: the wall clock, the machine's idle time, the
# primary's whole server, and each of the given processes.  Find the pids
# before calling this, so that the backends of the queries that found them
# have come and gone by the reading.  Not in a command substitution: it sets
# the readings' variables.
cpu_mark()
{
	local pid

	CPU_NS0=()
	CPU_T0=$(date +%s.%N)
	CPU_IDLE0=$(idle_ticks)
	CPU_TREE0=$(tree_ticks "$(primary_postmaster)")
	for pid in "$@"; do
		CPU_NS0[$pid]=$(pid_ns "$pid")
	done
}

# Print the wall seconds since cpu_mark.
cpu_wall_since()
{
	awk -v t0="$CPU_T0" -v t1="$(date +%s.%N)" 'BEGIN { print t1 - t0 }'
}

# Print the machine's idle and busy CPU time so far, in ticks summed over
# its cores, from /proc/stat's first line (idle and iowait; user, nice,
# system, irq, softirq and steal).
idle_ticks()
{
	local -a v

	read -ra v </proc/stat
	echo "$((v[4] + v[5])) $((v[1] + v[2] + v[3] + v[6] + v[7] + v[8]))"
}

# Print the share of the machine's CPU time, all its cores, that was idle
# since cpu_mark: where it is not 0, the machine was not bound by CPU.
cpu_idle_since()
{
	awk -v a="$CPU_IDLE0" -v b="$(idle_ticks)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		idle = y[1] - x[1]; busy = y[2] - x[2]
		print (idle + busy > 0) ? idle / (idle + busy) : 0
	}'
}

# Print the CPU seconds the primary's whole server used since cpu_mark.
cpu_tree_since()
{
	awk -v a="$CPU_TREE0" -v b="$(tree_ticks "$(primary_postmaster)")" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN { print (b - a) / hz }'
}

# Print the sum, in seconds, of the CPU time the given processes (each
# read by cpu_mark) used since cpu_mark.  A process gone since is left out,
# and said so on stderr: its time went to its parent's cutime (for the
# primary's processes, into the server's total and out of pgrepl's part).
cpu_since()
{
	local pid now sum=0

	for pid in "$@"; do
		now=$(pid_ns "$pid")
		if [[ $now == gone || ${CPU_NS0[$pid]:-gone} == gone ]]; then
			msg "process $pid exited during the run; its CPU time is not counted"
			continue
		fi
		sum=$((sum + now - CPU_NS0[$pid]))
	done
	awk -v ns="$sum" 'BEGIN { printf "%.6f\n", ns / 1e9 }'
}

# Print 100 * X, for shares printed as percentages.
percent()
{
	awk -v x="$1" 'BEGIN { print 100 * x }'
}

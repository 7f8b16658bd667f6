# t/001_monitor.pl: the pgrepl monitor on a primary with two streaming
# standbys.
#
# Checks that every node reports its role, that the primary lists both
# standbys and each standby its WAL receiver, that lag shows up in
# pgrepl.replicas, pgrepl.status and pgrepl.lag_history when one standby
# stops replaying while the other keeps up, that a standby that dies leaves
# pgrepl.replicas without disturbing the primary's monitor, and that the
# postmaster restarts a monitor that was terminated.
#
# Every wait polls with PostgreSQL::Test::Utils' default timeout and is a
# test of its own; when one fails, what pgrepl shows on that node is printed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# pgbench -i at scale 1 writes some 15MB of WAL, far above this.
my $big_lag = 1024 * 1024;
# What a caught-up standby may still be behind by: a few small records.
my $small_lag = 64 * 1024;

# Print what pgrepl (and PostgreSQL itself) show on a node: the views with
# few rows record by record, the lag history one point per line.
sub show_state
{
	my ($node) = @_;

	foreach my $query (
		'SELECT * FROM pgrepl.status',
		'SELECT * FROM pgrepl.replicas',
		'SELECT * FROM pgrepl.wal_receiver',
		'SELECT * FROM pg_stat_replication',
		'SELECT * FROM pg_stat_wal_receiver',
		"SELECT pid, backend_type, backend_start FROM pg_stat_activity "
		  . "WHERE backend_type = 'pgrepl monitor'")
	{
		my ($ret, $stdout, $stderr) =
		  $node->psql('postgres', $query, extra_params => ['-x']);
		diag($node->name . ": $query\n$stdout$stderr");
	}

	my $history =
	    'SELECT * FROM (SELECT * FROM pgrepl.lag_history '
	  . 'ORDER BY sample_time DESC LIMIT 30) h '
	  . 'ORDER BY standby, sample_time';
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $history);
	diag(   $node->name
		  . ": $history\n"
		  . "standby|sample_time|flush_lag_bytes|replay_lag_bytes|flush_lag|replay_lag\n"
		  . "$stdout$stderr");
	return;
}

# Poll $query on $node until it returns true; a test named $name.
sub poll_ok
{
	my ($node, $query, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my $ok = $node->poll_query_until('postgres', $query);
	ok($ok, $name) or show_state($node);
	return $ok;
}

# A query's result on $node, with psql's unaligned "a|b" rows.
sub query
{
	my ($node, $query) = @_;

	return $node->safe_psql('postgres', $query);
}

#
# Without shared_preload_libraries, pgrepl refuses to be installed.
#
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

my ($ret, $stdout, $stderr) =
  $primary->psql('postgres', 'CREATE EXTENSION pgrepl');
isnt($ret, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like(
	$stderr,
	qr/ERROR:  pgrepl must be loaded via shared_preload_libraries/,
	'the error says pgrepl must be preloaded');
like(
	$stderr,
	qr/HINT:  .*shared_preload_libraries/,
	'the hint says how to preload it');
is(query($primary, "SELECT count(*) FROM pg_extension WHERE extname = 'pgrepl'"),
	'0', 'nothing was installed');

#
# A primary and two standbys, every node preloading pgrepl under its own
# name.  The standbys report their position every second rather than
# every ten, so that the primary learns soon when a standby catches up;
# autovacuum stays off so that the only WAL is the test's own.
#
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pgrepl'
pgrepl.node_name = 'primary'
pgrepl.monitor_interval = '200ms'
autovacuum = off
});
$primary->restart;
$primary->backup('base');

my $standby1 = PostgreSQL::Test::Cluster->new('standby1');
my $standby2 = PostgreSQL::Test::Cluster->new('standby2');
foreach my $standby ($standby1, $standby2)
{
	my $name = $standby->name;

	$standby->init_from_backup($primary, 'base', has_streaming => 1);
	$standby->append_conf(
		'postgresql.conf', qq{
pgrepl.node_name = '$name'
wal_receiver_status_interval = '1s'
});
	$standby->start;
}

# The standbys get the extension through replication.
$primary->safe_psql('postgres', 'CREATE EXTENSION pgrepl');

#
# Every node knows its role.  A node's first sample may still be due, so
# wait for it rather than assume it.
#
poll_ok(
	$primary, q{
	SELECT node_name = 'primary' AND role = 'primary' AND NOT in_recovery
		AND timeline = 1 AND worker_pid IS NOT NULL
	FROM pgrepl.status WHERE sample_time IS NOT NULL},
	'primary: pgrepl.status shows a primary');
foreach my $standby ($standby1, $standby2)
{
	my $name = $standby->name;

	poll_ok(
		$standby, qq{
		SELECT node_name = '$name' AND role = 'standby' AND in_recovery
			AND timeline = 1 AND worker_pid IS NOT NULL
		FROM pgrepl.status WHERE sample_time IS NOT NULL},
		"$name: pgrepl.status shows a standby");
}

#
# The primary lists both standbys, by application_name (cluster_name, which
# PostgreSQL::Test::Cluster sets to the node's name), and each standby shows
# its WAL receiver streaming from the primary.
#
poll_ok(
	$primary, q{
	SELECT string_agg(r.application_name || ' ' || r.state || ' '
					  || r.sync_state, ', ' ORDER BY r.application_name)
		= 'standby1 streaming async, standby2 streaming async'
		AND bool_and(r.pid = s.pid AND r.slot_name IS NULL)
	FROM pgrepl.replicas r
	JOIN pg_stat_replication s USING (application_name)},
	'primary: both standbys stream, as pgrepl.replicas shows');
is(query($primary, 'SELECT count(*) FROM pgrepl.wal_receiver'),
	'0', 'primary: pgrepl.wal_receiver has no row');

my $primary_port = $primary->port;
foreach my $standby ($standby1, $standby2)
{
	my $name = $standby->name;

	poll_ok(
		$standby, qq{
		SELECT count(*) = 1 AND bool_and(status = 'streaming')
			AND bool_and(sender_port = $primary_port)
			AND bool_and(pid = (SELECT pid FROM pg_stat_wal_receiver))
		FROM pgrepl.wal_receiver},
		"$name: pgrepl.wal_receiver streams from the primary");
	is(query($standby, 'SELECT count(*) FROM pgrepl.replicas'),
		'0', "$name: pgrepl.replicas has no row");
}

#
# Lag.  With both standbys caught up, standby1 stops replaying and pgbench
# writes WAL on the primary: standby1 falls behind in bytes and in time, as
# the primary and as standby1 itself see it, while standby2 keeps up.
#
$primary->wait_for_catchup($standby1);
$primary->wait_for_catchup($standby2);

$standby1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
is(query($standby1, 'SELECT pg_is_wal_replay_paused()'),
	't', 'standby1: replay is paused');
my $paused_at = query($primary, 'SELECT clock_timestamp()');

$primary->pgbench(
	'--initialize --scale=1 --no-vacuum --quiet',
	0, [qr{^$}], [qr{done}], 'pgbench: initialize');
$primary->pgbench(
	'--no-vacuum --client=2 --transactions=100',
	0,
	[qr{number of transactions actually processed: 200/200}],
	[qr{^$}],
	'pgbench: run');

poll_ok(
	$primary, qq{
	SELECT replay_lag_bytes > $big_lag
		AND replay_lag_bytes >= flush_lag_bytes
		AND flush_lag_bytes >= 0
	FROM pgrepl.replicas WHERE application_name = 'standby1'},
	'primary: standby1 falls behind in pgrepl.replicas');
poll_ok(
	$primary, q{
	SELECT replay_lag > interval '1 second' AND flush_lag < replay_lag
	FROM pgrepl.replicas WHERE application_name = 'standby1'},
	'primary: standby1\'s replay lag in time grows in pgrepl.replicas');
poll_ok(
	$primary, qq{
	SELECT max(replay_lag_bytes) > $big_lag
		AND max(replay_lag) > interval '1 second'
	FROM pgrepl.lag_history
	WHERE standby = 'standby1' AND sample_time > '$paused_at'},
	'primary: standby1 falls behind in pgrepl.lag_history');

poll_ok(
	$standby1, qq{
	SELECT replay_lag_bytes > $big_lag AND replay_lag > interval '1 second'
	FROM pgrepl.status},
	'standby1: pgrepl.status shows its replay lag growing');
poll_ok(
	$standby1, qq{
	SELECT replay_lag_bytes > $big_lag AND replay_lag > interval '1 second'
	FROM pgrepl.wal_receiver},
	'standby1: pgrepl.wal_receiver shows the same replay lag');
poll_ok(
	$standby1, qq{
	SELECT max(replay_lag_bytes) > $big_lag
		AND max(replay_lag) > interval '1 second'
	FROM pgrepl.lag_history WHERE standby = 'standby1'},
	'standby1: its own series in pgrepl.lag_history shows the lag');

# standby2 was not held back: once it has replayed everything, the same
# sample shows it caught up and standby1 still behind.
$primary->wait_for_catchup($standby2);
poll_ok(
	$primary, qq{
	SELECT bool_and(CASE application_name
						WHEN 'standby1' THEN replay_lag_bytes > $big_lag
							AND replay_lag > interval '1 second'
						WHEN 'standby2' THEN replay_lag_bytes < $small_lag
							AND replay_lag < interval '1 second'
					END)
		AND count(*) = 2
	FROM pgrepl.replicas},
	'primary: standby2 keeps up while standby1 lags');
poll_ok(
	$standby2, qq{
	SELECT replay_lag_bytes < $small_lag FROM pgrepl.status},
	'standby2: pgrepl.status shows no replay lag');

#
# Replay resumes: standby1 catches up, in bytes and in time, while the
# history keeps how far behind it was.
#
$standby1->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
poll_ok(
	$primary, qq{
	SELECT replay_lag_bytes < $small_lag
		AND replay_lag < interval '1 second'
	FROM pgrepl.replicas WHERE application_name = 'standby1'},
	'primary: standby1 catches up once replay resumes');
poll_ok(
	$primary, qq{
	SELECT (array_agg(replay_lag ORDER BY sample_time DESC))[1]
			< interval '1 second'
		AND max(replay_lag) > interval '1 second'
	FROM pgrepl.lag_history
	WHERE standby = 'standby1' AND sample_time > '$paused_at'},
	'primary: pgrepl.lag_history shows standby1\'s lag and its recovery');
poll_ok(
	$standby1, qq{
	SELECT replay_lag_bytes < $small_lag FROM pgrepl.status},
	'standby1: pgrepl.status shows it caught up');

#
# A standby dies: it leaves pgrepl.replicas, and the primary's monitor,
# unaffected, keeps sampling.
#
my ($worker_pid, $before_kill) = split(
	/\|/,
	query(
		$primary, 'SELECT worker_pid, clock_timestamp() FROM pgrepl.status'));
$standby2->kill9;
poll_ok(
	$primary, q{
	SELECT string_agg(application_name, ', ') = 'standby1'
	FROM pgrepl.replicas},
	'primary: standby2 leaves pgrepl.replicas after it died');
poll_ok(
	$primary, qq{
	SELECT worker_pid = $worker_pid AND sample_time > '$before_kill'
	FROM pgrepl.status},
	'primary: the same monitor keeps sampling');
is( query(
		$primary, q{
		SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'pgrepl monitor'}),
	'1',
	'primary: one monitor runs');

#
# The primary's monitor is terminated: the postmaster starts a new one,
# which takes samples of its own.
#
my $log_offset = -s $primary->logfile;
my $terminated_at = query(
	$primary, qq{
	SELECT clock_timestamp() FROM pg_terminate_backend($worker_pid) t
	WHERE t});
isnt($terminated_at, '', 'primary: the monitor was terminated');
poll_ok(
	$primary, qq{
	SELECT s.worker_pid <> $worker_pid
		AND a.backend_start > '$terminated_at'
	FROM pgrepl.status s
	JOIN pg_stat_activity a ON a.pid = s.worker_pid
	WHERE a.backend_type = 'pgrepl monitor'},
	'primary: a new monitor runs');
my $new_pid = query($primary, 'SELECT worker_pid FROM pgrepl.status');
my $new_seen_at = query($primary, 'SELECT clock_timestamp()');
poll_ok(
	$primary, qq{
	SELECT worker_pid = $new_pid AND sample_time > '$new_seen_at'
	FROM pgrepl.status},
	'primary: the new monitor takes samples');
ok( $primary->log_contains(
		qr/background worker "pgrepl monitor" \(PID $worker_pid\) exited with exit code 1/,
		$log_offset),
	'primary: the postmaster logged the old monitor\'s exit');
ok( $primary->log_contains(
		qr/pgrepl monitor started for node "primary"/, $log_offset),
	'primary: the new monitor logged its start');

# standby1 is still listed, by the new monitor too.
poll_ok(
	$primary, q{
	SELECT string_agg(application_name || ' ' || state, ', ')
		= 'standby1 streaming'
	FROM pgrepl.replicas},
	'primary: the new monitor lists standby1');

$standby1->stop;
$primary->stop;

done_testing();

# t/022_heartbeat_statement.pl: the prepared heartbeat statement.
#
# Each monitor prepares its heartbeat statement once per peer connection
# and then only executes it (src/peers.c).  Checks that the heartbeats a
# peer answers are executions of that prepared statement; that a peer on
# which the statement cannot be planned (pgrepl.heartbeat() renamed away,
# as on a node whose extension lacks it) becomes unreachable with the
# peer's own error, on connections that had it prepared and on new ones
# that fail to prepare it, and is retried once per heartbeat interval
# rather than in a loop; and that it is reachable again once the function
# is back.  A witness is the peer, since its catalog is its own: renaming
# the function there leaves the data nodes alone.  Then a second witness,
# created at extension 1.2, is reached with 1.2's statement, through its
# update to 1.3, until new connections prepare 1.3's.
#
# Every wait polls with PostgreSQL::Test::Utils' default timeout and is a
# test of its own; when one fails, what pgrepl shows is printed.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgreplTest;

my ($primary, $standby) = PgreplTest::new_cluster(1);
my $witness = PgreplTest::new_witness('witness1', $primary, $standby);

# The heartbeats the witness answers run the prepared statement.
my $log_offset = -s $witness->logfile;
$witness->safe_psql('postgres',
	"ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf()");
ok( $witness->wait_for_log(qr/execute pgrepl_heartbeat: SELECT /, $log_offset),
	'witness: heartbeats execute the prepared statement');
$witness->safe_psql('postgres',
	"ALTER SYSTEM RESET log_statement; SELECT pg_reload_conf()");

# Failures of the witness as the primary counts them.
sub witness_failures
{
	return $primary->safe_psql('postgres',
		"SELECT failures FROM pgrepl.nodes WHERE node_name = 'witness1'");
}

# Without the function, the statement prepared on the open connections can
# no longer be planned, nor prepared on new ones.
$witness->safe_psql('postgres',
	'ALTER FUNCTION pgrepl.heartbeat(text, bigint, boolean) RENAME TO heartbeat_gone'
);
PgreplTest::poll_ok(
	$primary, q{
	SELECT NOT reachable AND last_error LIKE '%pgrepl.heartbeat%does not exist%'
	FROM pgrepl.nodes WHERE node_name = 'witness1'},
	'primary: the witness is unreachable, with its error');

# Retried once per heartbeat interval (100ms), not in a loop: ten more
# failures take at least most of a second.
my $start = time();
my $failures = witness_failures();
PgreplTest::poll_ok(
	$primary, qq{
	SELECT failures >= $failures + 10
	FROM pgrepl.nodes WHERE node_name = 'witness1'},
	'primary: the witness keeps failing');
my $elapsed = time() - $start;
cmp_ok($elapsed, '>=', 0.5,
	'primary: ten failed heartbeats took at least half a second');

# Data nodes are not touched: the primary still leads, unfenced.
is( $primary->safe_psql(
		'postgres', 'SELECT role, fenced FROM pgrepl.status'),
	'primary|f',
	'primary: still the unfenced primary');

# With the function back, new connections prepare the statement again.
$witness->safe_psql('postgres',
	'ALTER FUNCTION pgrepl.heartbeat_gone(text, bigint, boolean) RENAME TO heartbeat'
);
foreach my $node ($primary, $standby, $witness)
{
	PgreplTest::poll_ok(
		$node, q{
		SELECT count(*) = 3 AND bool_and(reachable) FROM pgrepl.nodes},
		$node->name . ': every member reachable again');
}

#
# A witness whose extension is still 1.2, whose pgrepl.heartbeat() lacks
# 1.3's rejoined_term, is asked for 1.2's columns, with no failed
# heartbeat, before and after it is updated; new connections then prepare
# 1.3's statement.
#
my $old = PgreplTest::new_witness_at_version('1.2', 'witness2', $primary,
	$standby, $witness);
my $primary_offset = -s $primary->logfile;
my $standby_offset = -s $standby->logfile;
$log_offset = -s $old->logfile;
$old->safe_psql('postgres',
	"ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf()");
ok( $old->wait_for_log(
		qr/execute pgrepl_heartbeat: SELECT node_name, kind, role, timeline, wal_lsn, priority, term, leader FROM/,
		$log_offset),
	'witness2: heartbeats execute the statement of 1.2');

# Heartbeats go on through the update: each node hears witness2 for a
# second past it (ten heartbeats), without losing contact.
$old->safe_psql('postgres', 'ALTER EXTENSION pgrepl UPDATE');
is($old->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'pgrepl'"),
	'1.3', 'witness2: updated to 1.3');
foreach my $node ($primary, $standby)
{
	my $updated = $node->safe_psql('postgres', 'SELECT now()');
	PgreplTest::poll_ok(
		$node, qq{
		SELECT reachable AND last_heartbeat > '$updated'::timestamptz + interval '1s'
		FROM pgrepl.nodes WHERE node_name = 'witness2'},
		$node->name . ': hears witness2 for a second past its update');
}
ok( !$primary->log_contains(qr/lost contact with node "witness2"/,
		$primary_offset),
	'primary: never lost contact with witness2');
ok( !$standby->log_contains(qr/lost contact with node "witness2"/,
		$standby_offset),
	'standby: never lost contact with witness2');

# New connections prepare 1.3's statement.
$log_offset = -s $old->logfile;
$old->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()});
ok( $old->wait_for_log(
		qr/execute pgrepl_heartbeat: SELECT node_name, kind, role, timeline, wal_lsn, priority, term, leader, rejoined_term FROM/,
		$log_offset),
	'witness2: new connections execute the statement of 1.3');
foreach my $node ($primary, $standby, $witness, $old)
{
	PgreplTest::poll_ok(
		$node, q{
		SELECT count(*) = 4 AND bool_and(reachable) FROM pgrepl.nodes},
		$node->name . ': every member reachable');
}

done_testing();

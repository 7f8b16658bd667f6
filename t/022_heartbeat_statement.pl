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
# the function there leaves the data nodes alone.
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

done_testing();

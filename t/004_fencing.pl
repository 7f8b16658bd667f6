# t/004_fencing.pl: a frozen primary is replaced and fenced for good.
#
# The primary of a three-node cluster is frozen whole with SIGSTOP for
# longer than the failover timeout: the standbys elect a new primary.  When
# the old one thaws it learns of the later term and is fenced: a write on
# it fails, also after a restart.  Then a primary whose monitor alone is
# frozen, while clients still reach it, fences itself within its lease.
# Last, with failover off on the only standby left, losing the primary
# promotes nothing.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my @nodes = new_cluster(2);
my ($node1, $node2, $node3) = @nodes;

poll_ok($node1, q{SELECT term = 1 AND NOT fenced FROM pgrepl.status},
	'node1 leads term 1');
$node1->safe_psql('postgres',
	'CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
$node1->wait_for_catchup($node2);
$node1->wait_for_catchup($node3);

# Whatever happens below, never leave a node frozen behind.
my @frozen;
END { thaw(@frozen) if @frozen; }

#
# Freeze the primary whole: a new primary is elected in term 2.
#
@frozen = freeze($node1);
my $new_primary;
foreach my $node ($node2, $node3)
{
	poll_ok(
		$node, q{
		SELECT term = 2 AND primary_node IN ('node2', 'node3')
		FROM pgrepl.status},
		$node->name . ': a new primary leads term 2 while node1 is frozen');
}
$new_primary = query($node2, 'SELECT primary_node FROM pgrepl.status');
my ($winner, $loser) =
  $new_primary eq 'node2' ? ($node2, $node3) : ($node3, $node2);
poll_ok($winner, q{SELECT NOT pg_is_in_recovery() AND NOT fenced FROM pgrepl.status},
	$winner->name . ': promoted, may commit');

#
# Thaw the old primary: it learns of term 2 and stays fenced.
#
thaw(@frozen);
@frozen = ();
poll_ok(
	$node1, q{
	SELECT fenced AND term = 2 AND fence_reason LIKE '%later term%'
	FROM pgrepl.status},
	'node1: fenced after it learned of term 2');
my ($ret, $stdout, $stderr) =
  $node1->psql('postgres', 'INSERT INTO t VALUES (2)');
isnt($ret, 0, 'node1: a write fails');
like(
	$stderr,
	qr/cannot execute INSERT in a read-only transaction/,
	'node1: a new session is read-only, the node being fenced for good');
($ret, $stdout, $stderr) = $node1->psql('postgres',
	'SET default_transaction_read_only = off; INSERT INTO t VALUES (2)');
isnt($ret, 0, 'node1: a write fails in a session that asks to write');
like($stderr, qr/cannot commit a transaction that wrote: this node is fenced/,
	'node1: the error says the node is fenced');
is(query($node1, 'SELECT count(*) FROM t'), '1', 'node1: nothing was committed');

# Reads still work on the fenced node.
is(query($node1, 'SELECT count(*) FROM t'), '1', 'node1: still answers reads');

# The deposition is durable: after a restart node1 is still fenced.
$node1->restart;
poll_ok(
	$node1, q{
	SELECT fenced AND fence_reason LIKE '%later term%' FROM pgrepl.status},
	'node1: still fenced after a restart');
($ret, $stdout, $stderr) = $node1->psql('postgres', 'INSERT INTO t VALUES (3)');
isnt($ret, 0, 'node1: a write fails after the restart');

# The new primary writes.
$winner->safe_psql('postgres', 'INSERT INTO t VALUES (4)');
is(query($winner, 'SELECT count(*) FROM t'), '2',
	$winner->name . ': commits');

#
# Freeze only the new primary's monitor: it cannot renew its lease, so its
# backends refuse commits by themselves once the lease lapses, although
# clients still reach it.  The last standby has failover off, so that no
# election races the thaw: the point here is the lease alone.
#
$loser->append_conf('postgresql.conf', 'pgrepl.failover = off');
$loser->reload;
poll_ok($loser, q{SELECT current_setting('pgrepl.failover') = 'off'},
	$loser->name . ': failover off');
my $monitor = query($winner, 'SELECT worker_pid FROM pgrepl.status');
@frozen = ($monitor);
kill('STOP', $monitor);
poll_ok(
	$winner, q{
	SELECT fenced AND fence_reason LIKE '%majority%' FROM pgrepl.status},
	$winner->name . ': fenced when its monitor stops renewing the lease');
($ret, $stdout, $stderr) = $winner->psql('postgres', 'INSERT INTO t VALUES (5)');
like($stderr, qr/this node is fenced/,
	$winner->name . ': a write fails while it has no lease');
thaw(@frozen);
@frozen = ();
poll_ok($winner, q{SELECT NOT fenced FROM pgrepl.status},
	$winner->name . ': unfenced once its monitor confirms a majority again');
$winner->safe_psql('postgres', 'INSERT INTO t VALUES (6)');
is(query($winner, 'SELECT count(*) FROM t'), '3',
	$winner->name . ': commits again');

#
# With failover off on the last standby, losing the primary promotes
# nothing, and the standby says there is no primary.
#
ok(kill9_and_wait($winner), $winner->name . ': killed with SIGKILL');
poll_ok(
	$loser, qq{
	SELECT NOT reachable AND heartbeat_age > interval '5 seconds'
	FROM pgrepl.nodes WHERE node_name = '${\ $winner->name }'},
	$loser->name . ': has not heard the primary for over three failover timeouts');
is( query(
		$loser,
		'SELECT pg_is_in_recovery() AND primary_node IS NULL FROM pgrepl.status'
	),
	't',
	$loser->name . ': still a standby, and reports no primary');

$node1->stop;
$loser->stop;

done_testing();

# t/003_failover.pl: automatic failover of a three-node cluster.
#
# A primary and two standbys, every node a voter.  A standby killed with
# SIGKILL and restarted causes no election.  Then the primary is killed:
# exactly one standby is elected and promoted, the other follows it on the
# new timeline, the election is in pgrepl.events, no acknowledged write is
# missing, and a client with a multi-host connection string writes again.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my @nodes = new_cluster(2);
my ($node1, $node2, $node3) = @nodes;

foreach my $node (@nodes)
{
	poll_ok(
		$node, q{
		SELECT term = 1 AND primary_node = 'node1' AND NOT fenced
		FROM pgrepl.status},
		$node->name . ': node1 leads term 1');
}

#
# A standby killed and restarted causes no election.
#
ok(kill9_and_wait($node3), 'node3: killed with SIGKILL');
poll_ok(
	$node1, q{
	SELECT NOT reachable FROM pgrepl.nodes WHERE node_name = 'node3'},
	'node1: node3 unreachable after SIGKILL');
ok(start_after_kill9($node3), 'node3: restarted after SIGKILL');
poll_ok(
	$node1, q{
	SELECT reachable FROM pgrepl.nodes WHERE node_name = 'node3'},
	'node1: node3 back');
is(query($node1, 'SELECT term FROM pgrepl.status'),
	'1', 'node1: a standby crash caused no election');
is(query($node1, 'SELECT fenced FROM pgrepl.status'),
	'f', 'node1: a standby crash did not fence the primary');

#
# Writes, acknowledged and replicated; then the primary is killed.
#
$node1->safe_psql('postgres',
	'CREATE TABLE acked (id int PRIMARY KEY); INSERT INTO acked SELECT generate_series(1, 100)'
);
$node1->wait_for_catchup($node2);
$node1->wait_for_catchup($node3);
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL');

# Exactly one standby becomes primary in term 2; the other follows it.
foreach my $node ($node2, $node3)
{
	poll_ok(
		$node, q{
		SELECT term = 2 AND primary_node IS NOT NULL FROM pgrepl.status},
		$node->name . ': a new primary leads term 2');
}
my $primary_name = query($node2, 'SELECT primary_node FROM pgrepl.status');
is(query($node3, 'SELECT primary_node FROM pgrepl.status'),
	$primary_name, 'both standbys agree on the new primary');
my ($winner, $loser) =
  $primary_name eq 'node2' ? ($node2, $node3) : ($node3, $node2);
poll_ok($winner, q{SELECT NOT pg_is_in_recovery()},
	$winner->name . ': promoted');
is(query($loser, 'SELECT pg_is_in_recovery()'),
	't', $loser->name . ': still a standby');

my $winner_port = $winner->port;
poll_ok(
	$loser, qq{
	SELECT status = 'streaming' AND sender_port = $winner_port
	FROM pgrepl.wal_receiver},
	$loser->name . ': streams from the new primary');
poll_ok(
	$winner, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE event = 'elected' AND term = 2},
	$winner->name . ': the election is in pgrepl.events');

is(query($winner, 'SELECT count(*) FROM acked'),
	'100', 'every acknowledged write is on the new primary');

# Once the new primary holds its lease, a client that knows all three nodes
# writes through it.
poll_ok(
	$winner, q{
	SELECT role = 'primary' AND NOT fenced FROM pgrepl.status},
	$winner->name . ': may commit');
my $connstr = join(' ',
	'host=' . join(',', map { $_->host } @nodes),
	'port=' . join(',', map { $_->port } @nodes),
	'dbname=postgres target_session_attrs=read-write');
my ($ret, $stdout, $stderr) = $winner->psql('postgres',
	'INSERT INTO acked VALUES (101) RETURNING id',
	connstr => $connstr);
is("$ret $stdout", '0 101', 'a read-write client writes to the new primary')
  or diag($stderr);
$winner->wait_for_catchup($loser);
is(query($loser, 'SELECT count(*) FROM acked'),
	'101', $loser->name . ': has the write made after the failover');

$winner->stop;
$loser->stop;

done_testing();

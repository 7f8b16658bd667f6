# t/009_manual.pl: what operators do by hand.
#
# pgrepl.promote() on a standby runs the same election as a failover, so a
# healthy primary is not deposed by it.  pgrepl.pause() stops automatic
# failover on every node: the primary is killed and nothing is promoted,
# and every standby's status says why.  resume(), called on a standby since
# the primary is gone, lets the failover proceed.  Last, with the majority
# lost, pgrepl.promote(force => true) promotes the last node standing
# without a vote, which is logged and recorded as such.

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
# A manual promotion goes through the vote: refused while node1 is healthy.
#
my ($ret, $stdout, $stderr) =
  $node2->psql('postgres', 'SELECT pgrepl.promote()');
like(
	$stderr,
	qr/node "node2" was not promoted.*DETAIL:  The election failed: .*refused/s,
	'node2: promote() is refused while the primary is healthy');
is(query($node2, 'SELECT pg_is_in_recovery()'), 't', 'node2: still a standby');
is(query($node1, 'SELECT term::text || fenced::text FROM pgrepl.status'),
	'1false', 'node1: still the unfenced primary of term 1');

($ret, $stdout, $stderr) = $node1->psql('postgres', 'SELECT pgrepl.promote()');
like(
	$stderr,
	qr/cannot promote node "node1" because it is not a standby/,
	'node1: a primary cannot be promoted');

#
# Pause on a standby: every node learns of it.  Then lose the primary:
# nothing is promoted, and the standbys say why.
#
$node3->safe_psql('postgres', 'SELECT pgrepl.pause()');
foreach my $node (@nodes)
{
	poll_ok($node, q{SELECT failover_paused FROM pgrepl.status},
		$node->name . ': failover paused');
}

$node1->safe_psql('postgres',
	'CREATE TABLE acked (id int PRIMARY KEY); INSERT INTO acked VALUES (1)');
$node1->wait_for_catchup($node2);
$node1->wait_for_catchup($node3);
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL');

# Wait until the primary has been silent for twice the failover timeout
# (1500 ms by default): an election would have been won by then.
foreach my $node ($node2, $node3)
{
	poll_ok(
		$node, q{
		SELECT note ~ '^no primary heard for \d+ ms; failover is paused$'
		   AND substring(note FROM '(\d+) ms')::int > 3000
		FROM pgrepl.status},
		$node->name . ': no primary for 3 s, and says failover is paused');
}
is( query(
		$node2,
		q{SELECT pg_is_in_recovery()::text || term::text FROM pgrepl.status}),
	'true1',
	'node2: nothing was promoted while paused');
is( query(
		$node3,
		q{SELECT pg_is_in_recovery()::text || term::text FROM pgrepl.status}),
	'true1',
	'node3: nothing was promoted while paused');

#
# Resume on a standby: the failover proceeds.
#
$node2->safe_psql('postgres', 'SELECT pgrepl.resume()');
my $winner;
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pgrepl.nodes
	WHERE role = 'primary' AND term = 2},
	'node2: a primary was elected in term 2 after resume()');
($winner) = grep {
	query($_, 'SELECT pg_is_in_recovery()') eq 'f'
} ($node2, $node3);
ok(defined $winner, 'one standby was promoted');
poll_ok($winner, q{SELECT NOT fenced AND NOT failover_paused FROM pgrepl.status},
	$winner->name . ': unfenced, failover no longer paused');
$winner->safe_psql('postgres', 'INSERT INTO acked VALUES (2)');
is(query($winner, 'SELECT count(*) FROM acked'),
	'2', $winner->name . ': writes, and has every acknowledged row');
my ($other) = grep { $_ != $winner } ($node2, $node3);
$winner->wait_for_catchup($other);

#
# Forced promotion: kill the new primary too; the last node has no
# majority, says so, and an operator forces it.
#
ok(kill9_and_wait($winner), $winner->name . ': killed with SIGKILL');
poll_ok(
	$other, q{
	SELECT note ~ 'no majority of voters reachable \(1 of 3, 2 needed\)'
	FROM pgrepl.status},
	$other->name . ': says no majority of voters is reachable');

($ret, $stdout, $stderr) =
  $other->psql('postgres', 'SELECT pgrepl.promote()');
like(
	$stderr,
	qr/was not promoted.*The election failed: no majority of voters reachable \(1 of 3, 2 needed\)/s,
	$other->name . ': promote() without force cannot win without a majority');

my $log_offset = -s $other->logfile;
$other->safe_psql('postgres', 'SELECT pgrepl.promote(force => true)');
is(query($other, 'SELECT pg_is_in_recovery()'),
	'f', $other->name . ': promoted by force');
ok( $other->log_contains(
		qr/WARNING:  pgrepl promotes node "\w+" by force in term 3, without an election/,
		$log_offset),
	$other->name . ': the forced promotion is logged as a warning');
poll_ok(
	$other, q{
	SELECT NOT fenced AND note LIKE 'promoted by force in term 3%'
	FROM pgrepl.status},
	$other->name . ': commits without a majority, and says why');
$other->safe_psql('postgres', 'INSERT INTO acked VALUES (3)');
is(query($other, 'SELECT count(*) FROM acked'),
	'3', $other->name . ': every acknowledged row is there');
poll_ok(
	$other, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE event = 'promoted' AND term = 3 AND detail LIKE '%by force%'},
	$other->name . ': the forced promotion is in pgrepl.events');

done_testing();

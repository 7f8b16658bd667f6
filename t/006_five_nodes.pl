# t/006_five_nodes.pl: a cluster of five data nodes loses two, then three.
#
# Five voters need three for a majority.  The primary and one standby are
# killed with SIGKILL: the three nodes left are a majority, so they elect
# one of them, which commits a write, and the other two stream from it.
# Then one more standby is killed, leaving two of the five: the primary
# fences itself for lack of a majority, no write commits on either node
# left, also well after the failover timeout, and the status views say why.
# When a killed standby comes back, the primary has a majority again and
# commits.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

# pgrepl.failover_timeout at its default, in seconds.  A wait "well after
# the failover timeout" waits for three of them, polling.
my $failover_timeout = 1.5;

my @nodes = new_cluster(4);
my ($node1, $node2, $node3, $node4, $node5) = @nodes;
my %by_name = map { $_->name => $_ } @nodes;

foreach my $node (@nodes)
{
	poll_ok(
		$node, q{
		SELECT term = 1 AND primary_node = 'node1' AND NOT fenced
		FROM pgrepl.status},
		$node->name . ': node1 leads term 1');
}

$node1->safe_psql('postgres',
	'CREATE TABLE acked (id int PRIMARY KEY); INSERT INTO acked SELECT generate_series(1, 100)'
);
$node1->wait_for_catchup($_) foreach ($node2, $node3, $node4, $node5);

#
# Lose two of five: the primary and a standby.  Three are left, a majority.
#
# Both postmasters get SIGKILL before either is waited for.
my @killed = map { $_->{_pid} } ($node1, $node2);
$_->kill9 foreach ($node1, $node2);
ok(PgreplTest::wait_gone($_), "postmaster $_ killed with SIGKILL")
  foreach @killed;
my @left = ($node3, $node4, $node5);

# A primary is elected among the three, and they agree on it.
foreach my $node (@left)
{
	poll_ok(
		$node, q{
		SELECT term >= 2 AND primary_node IN ('node3', 'node4', 'node5')
		FROM pgrepl.status},
		$node->name . ': a new primary leads');
}
my $winner_name = query($node3, 'SELECT primary_node FROM pgrepl.status');
my $winner = $by_name{$winner_name};
my @followers = grep { $_ != $winner } @left;
foreach my $node (@followers)
{
	is(query($node, 'SELECT primary_node FROM pgrepl.status'),
		$winner_name, $node->name . ": agrees that $winner_name leads");
}
poll_ok(
	$winner, q{
	SELECT role = 'primary' AND NOT fenced FROM pgrepl.status},
	"$winner_name: promoted, may commit");

# It was the only one promoted, in the first election: a standby that has
# just voted for the winner does not stand for the next term while the
# winner is being promoted (see t/007_electability.pl, slow and race).  The
# rest needs a single primary.
my @promoted =
  grep { query($_, 'SELECT pg_is_in_recovery()') eq 'f' } @left;
my $single = @promoted == 1
  && query($winner, 'SELECT term FROM pgrepl.status') eq '2';
ok($single, 'exactly one node was promoted, in term 2')
  or diag('promoted: ' . join(', ', map { $_->name } @promoted));
if (!$single)
{
	diag('no single primary: the rest of the test is skipped');
	done_testing();
	exit 0;
}

is(query($winner, 'SELECT count(*) FROM acked'),
	'100', "$winner_name: has every acknowledged write");
$winner->safe_psql('postgres', 'INSERT INTO acked VALUES (101)');
pass("$winner_name: commits a write with three of five nodes");
like(
	query(
		$winner,
		q{SELECT detail FROM pgrepl.events WHERE event = 'elected' AND term = 2}),
	qr/^elected with [345] of 5 votes: /,
	"$winner_name: elected by a majority of the five");

my $winner_port = $winner->port;
foreach my $node (@followers)
{
	is(query($node, 'SELECT pg_is_in_recovery()'),
		't', $node->name . ': still a standby');
	poll_ok(
		$node, qq{
		SELECT status = 'streaming' AND sender_port = $winner_port
		FROM pgrepl.wal_receiver},
		$node->name . ": streams from $winner_name");
	$winner->wait_for_catchup($node);
	is(query($node, 'SELECT count(*) FROM acked'),
		'101', $node->name . ': has the write made after the failover');
}

#
# Lose a third: a standby.  Two of five are left, the primary and one
# standby, short of a majority: no node may accept writes.
#
my ($victim, $survivor) = @followers;
my ($victim_name, $survivor_name) = ($victim->name, $survivor->name);
ok(kill9_and_wait($victim), "$victim_name (standby): killed with SIGKILL");

poll_ok(
	$winner, q{
	SELECT fenced AND fence_reason LIKE '%majority%' FROM pgrepl.status},
	"$winner_name: fenced for lack of a majority");

# Writes fail on both nodes left, and keep failing well after any standby
# could have been elected: poll until the primary has not heard the killed
# standby for three failover timeouts, then try again.
my $wait = 3 * $failover_timeout;
my $no_majority = 'This primary has not heard from a majority of its '
  . 'cluster within the lease time.';
foreach my $round ('at once', "after ${wait}s")
{
	if ($round ne 'at once')
	{
		poll_ok(
			$winner, qq{
			SELECT NOT reachable AND heartbeat_age > interval '$wait seconds'
			FROM pgrepl.nodes WHERE node_name = '$victim_name'},
			"$winner_name: has not heard $victim_name for ${wait}s");
	}

	# A heartbeat timeout into the fence, the primary terminates the
	# sessions in a write transaction, once: a write made just then may be
	# cut off rather than refused at commit.  Later ones are refused.
	my $refused = qr/cannot commit a transaction that wrote: this node is fenced/;
	my $cut_off = qr/FATAL:  terminating connection due to administrator command/;
	my ($ret, $stdout, $stderr) =
	  $winner->psql('postgres', 'INSERT INTO acked VALUES (200)');
	isnt($ret, 0, "$winner_name: a write fails ($round)");
	like(
		$stderr,
		$round eq 'at once' ? qr/$refused|$cut_off/ : $refused,
		"$winner_name: the error says it is fenced ($round)");

	($ret, $stdout, $stderr) =
	  $survivor->psql('postgres', 'INSERT INTO acked VALUES (201)');
	isnt($ret, 0, "$survivor_name: a write fails ($round)");
	like(
		$stderr,
		qr/cannot execute INSERT in a read-only transaction/,
		"$survivor_name: the error says it is read-only ($round)");

	is( query(
			$winner, q{
			SELECT role, term, fenced, fence_reason, voters, reachable_voters, note
			FROM pgrepl.status}),
		join('|',
			'primary', '2', 't', $no_majority, '5', '2', $no_majority),
		"$winner_name: status says it is fenced for lack of a majority ($round)"
	);
	is( query(
			$survivor, q{
			SELECT pg_is_in_recovery(), term, voters, reachable_voters
			FROM pgrepl.status}),
		"t|2|5|2",
		"$survivor_name: status says it reaches 2 of 5 voters ($round)");

	# The standby still hears the primary, fenced or not, as the leader of
	# term 2; its note says why that primary takes no writes.
	like(
		query($survivor, 'SELECT note FROM pgrepl.status'),
		qr/no majority of voters reachable \(2 of 5, 3 needed\)/,
		"$survivor_name: its note says that no majority is reachable ($round)");
}
is(query($winner, 'SELECT count(*) FROM acked WHERE id >= 200'),
	'0', "$winner_name: committed nothing while fenced");

#
# The killed standby comes back: three of five again, and the primary
# unfences.
#
ok(start_after_kill9($victim), "$victim_name: restarted");
poll_ok(
	$winner, q{SELECT NOT fenced AND term = 2 FROM pgrepl.status},
	"$winner_name: unfenced once three of five answer");
$winner->safe_psql('postgres', 'INSERT INTO acked VALUES (300)');
pass("$winner_name: commits again");
$winner->wait_for_catchup($victim);
$winner->wait_for_catchup($survivor);
is(query($_, 'SELECT count(*) FROM acked'),
	'102', $_->name . ': has every committed write')
  foreach ($victim, $survivor);

$_->stop foreach ($winner, $victim, $survivor);

done_testing();

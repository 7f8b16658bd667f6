# t/014_quorum.pl: quorum commit loses no acknowledged write.
#
# With pgrepl.synchronous_mode = quorum on three data nodes, the primary
# keeps synchronous_standby_names at ANY 1 of its two standbys, so every
# acknowledged commit is on two of three nodes, and any majority that
# elects a successor holds it.  In each of several trials a client writes
# one row per transaction and records every acknowledgement; the primary is
# killed with SIGKILL at a varied moment, with commits in flight; every
# acknowledged row must be on the new primary.  Then, on one cluster:
# turned off, quorum mode takes back the synchronous_standby_names it wrote
# and leaves an operator's alone; with one standby down writes go on; with
# both down no commit is acknowledged and the primary is fenced.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $trials = $ENV{PGREPL_QUORUM_TRIALS} // 10;
my $quorum = "pgrepl.synchronous_mode = quorum\n";

# A three-node cluster in quorum mode, once the primary requires one of its
# two standbys to acknowledge every commit.
sub quorum_cluster
{
	my ($prefix) = @_;
	my @nodes = new_cluster(2,
		prefix => $prefix,
		extra => { map { ("$prefix$_" => $quorum) } 1 .. 3 });

	poll_ok(
		$nodes[0], qq{
		SELECT sync_quorum = 1
		   AND sync_standbys = '{${prefix}2,${prefix}3}'
		   AND NOT fenced
		   AND current_setting('synchronous_standby_names')
		       = 'ANY 1 (${prefix}2, ${prefix}3)'
		FROM pgrepl.status},
		"${prefix}1: requires 1 of 2 standbys to acknowledge");
	poll_ok(
		$nodes[0], q{
		SELECT count(*) = 2 FROM pg_stat_replication
		WHERE sync_state = 'quorum'},
		"${prefix}1: both standbys are quorum candidates");
	$nodes[0]->safe_psql('postgres',
		'CREATE TABLE acked (id int PRIMARY KEY)');
	return @nodes;
}

# Write rows one transaction each through psql, reading back each id the
# server acknowledged; after $before acknowledgements, send $burst more at
# once and kill the primary while they are in flight.  Returns the ids
# acknowledged, in order.
sub write_and_kill
{
	my ($primary, $before, $burst) = @_;
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[
			'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
			'-d', $primary->connstr('postgres')
		],
		'<', \$in, '>', \$out, '2>', \$err);
	my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	my $id = 0;

	foreach (1 .. $before)
	{
		$id++;
		$in .= "INSERT INTO acked VALUES ($id) RETURNING id;\n";
		$timer->start;
		$h->pump until $out =~ /^$id$/m || $timer->is_expired;
		last if $timer->is_expired;
	}
	foreach (1 .. $burst)
	{
		$id++;
		$in .= "INSERT INTO acked VALUES ($id) RETURNING id;\n";
	}
	$h->pump_nb;
	kill9_and_wait($primary);
	$h->finish;
	return grep { /^\d+$/ } split /\n/, $out;
}

#
# Zero loss across failovers.
#
foreach my $trial (1 .. $trials)
{
	my $prefix = "q${trial}_node";
	my ($primary, @standbys) = quorum_cluster($prefix);

	# Vary the moment: how long writes ran, and how many were in flight.
	my $before = 20 + int(rand(200));
	my $burst = 1 + int(rand(20));
	my @acked = write_and_kill($primary, $before, $burst);
	cmp_ok(scalar @acked, '>=', $before,
		"trial $trial: $before writes acknowledged before the kill");

	my $winner;
	poll_ok(
		$standbys[0], q{
		SELECT count(*) = 1 FROM pgrepl.nodes
		WHERE role = 'primary' AND term = 2 AND reachable},
		"trial $trial: a standby was elected in term 2");
	($winner) =
	  grep { query($_, 'SELECT pg_is_in_recovery()') eq 'f' } @standbys;
	ok(defined $winner, "trial $trial: one standby was promoted");

	my $max = $acked[-1];
	my $missing = query(
		$winner, qq{
		SELECT count(*) FROM unnest('{@{[ join ',', @acked ]}}'::int[]) AS a(id)
		WHERE NOT EXISTS (SELECT FROM acked WHERE acked.id = a.id)});
	is($missing, '0',
		"trial $trial: all "
		  . scalar(@acked)
		  . " acknowledged writes (up to $max) are on "
		  . $winner->name);

	$_->teardown_node foreach @standbys;
}

my ($node1, $node2, $node3) = quorum_cluster('w_node');

#
# Quorum mode turned off: pgrepl takes back the setting it wrote, so that
# commits no longer wait; a setting of the operator's it leaves alone.
#
sub set_mode
{
	my ($mode) = @_;
	$_->safe_psql('postgres',
		"ALTER SYSTEM SET pgrepl.synchronous_mode = $mode; SELECT pg_reload_conf()")
	  foreach ($node1, $node2, $node3);
}

# Wait until the monitor of node has sampled twice more: it has then seen
# what was in effect before.
sub two_ticks
{
	my ($node, $name) = @_;
	foreach my $tick (1 .. 2)
	{
		my $t = query($node, 'SELECT sample_time FROM pgrepl.status');
		poll_ok($node,
			"SELECT sample_time > '$t'::timestamptz FROM pgrepl.status",
			"$name (tick $tick)");
	}
}

set_mode('off');
poll_ok(
	$node1, q{
	SELECT current_setting('synchronous_standby_names') = ''
	   AND sync_quorum IS NULL
	FROM pgrepl.status},
	'w_node1: mode off resets synchronous_standby_names');
poll_ok(
	$node1, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE event = 'synchronous standbys' AND detail LIKE '%reset%mode is off'},
	'w_node1: pgrepl.events records the reset');

$node1->safe_psql('postgres',
	"ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (w_node2)'; SELECT pg_reload_conf()"
);
poll_ok($node1,
	q{SELECT current_setting('synchronous_standby_names') = 'FIRST 1 (w_node2)'},
	"w_node1: the operator's synchronous_standby_names is in effect");
two_ticks($node1, 'w_node1: the monitor has seen it');
is(query($node1, q{SELECT current_setting('synchronous_standby_names')}),
	'FIRST 1 (w_node2)',
	"w_node1: mode off leaves the operator's setting alone");
$node1->safe_psql('postgres',
	"ALTER SYSTEM RESET synchronous_standby_names; SELECT pg_reload_conf()");

set_mode('quorum');
poll_ok(
	$node1, q{
	SELECT sync_quorum = 1 AND NOT fenced
	   AND current_setting('synchronous_standby_names') = 'ANY 1 (w_node2, w_node3)'
	FROM pgrepl.status},
	'w_node1: quorum mode again');

#
# One standby down: writes go on.  Both down: nothing is acknowledged.
#

ok(kill9_and_wait($node3), 'w_node3: killed with SIGKILL');
my ($ret, $stdout, $stderr) = $node1->psql('postgres',
	'INSERT INTO acked VALUES (1) RETURNING id',
	timeout => $PostgreSQL::Test::Utils::timeout_default);
is("$ret $stdout", '0 1', 'w_node1: a write is acknowledged with one standby down');

ok(kill9_and_wait($node2), 'w_node2: killed with SIGKILL');
($ret, $stdout, $stderr) = $node1->psql('postgres',
	'INSERT INTO acked VALUES (2) RETURNING id',
	timeout => $PostgreSQL::Test::Utils::timeout_default);
isnt($stdout, '2', 'w_node1: a write is not acknowledged with both standbys down');
like(
	$stderr,
	qr/terminating connection|fenced/,
	'w_node1: the waiting session was ended, not acknowledged');
poll_ok(
	$node1, q{
	SELECT fenced AND fence_reason LIKE '%majority%' FROM pgrepl.status},
	'w_node1: fenced for lack of a majority');

done_testing();

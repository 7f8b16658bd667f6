# t/008_witness.pl: two data nodes and a witness.
#
# A witness votes and answers heartbeats but holds no data, so that two
# data nodes survive the loss of either one.  The primary copies the
# members' list to it.  Losing the witness changes nothing; losing the
# standby leaves the primary writable; losing the primary elects the
# standby with the witness's vote.  A witness is never fenced, never
# promoted, and refuses a list from a term behind its own.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my ($node1, $node2) = new_cluster(1);
my $witness = new_witness('witness', $node1, $node2);

#
# The witness has the list, from the primary, and reports itself as such.
#
is( query(
		$witness,
		q{SELECT string_agg(node_name || ':' || kind, ',' ORDER BY node_name)
		  FROM pgrepl.members}),
	'node1:data,node2:data,witness:witness',
	'witness: holds the members\' list copied from the primary');
poll_ok(
	$witness, q{
	SELECT role = 'witness' AND term = 1 AND primary_node = 'node1'
	       AND NOT fenced
	FROM pgrepl.status},
	'witness: knows node1 leads term 1');
is( query(
		$node2,
		q{SELECT kind || ' ' || role || ' ' || promotable
		  FROM pgrepl.nodes WHERE node_name = 'witness'}),
	'witness witness false',
	'node2: sees a reachable witness that cannot be promoted');

# Only a witness takes a list this way, and only from the current term.
my ($ret, $stdout, $stderr) = $node2->psql('postgres',
	q{SELECT pgrepl.copy_members('node1', 1, '{node1}', '{data}', '{x}')});
like($stderr, qr/node "node2" is not a witness/,
	'node2: a data node refuses a copied list');
($ret, $stdout, $stderr) = $witness->psql('postgres',
	q{SELECT pgrepl.copy_members('node1', 0, '{node1}', '{data}', '{x}')});
like($stderr, qr/invalid term 0/, 'witness: refuses term 0');

#
# Losing the witness changes nothing.
#
ok(kill9_and_wait($witness), 'witness: killed with SIGKILL');
poll_ok(
	$node1, q{
	SELECT NOT reachable FROM pgrepl.nodes WHERE node_name = 'witness'},
	'node1: witness unreachable');
$node1->safe_psql('postgres', 'CREATE TABLE acked (id int PRIMARY KEY)');
$node1->safe_psql('postgres', 'INSERT INTO acked VALUES (1)');
is(query($node1, 'SELECT term::text || fenced::text FROM pgrepl.status'),
	'1false', 'node1: still the unfenced primary of term 1 without the witness');
ok(start_after_kill9($witness), 'witness: restarted');
poll_ok(
	$node1, q{
	SELECT reachable FROM pgrepl.nodes WHERE node_name = 'witness'},
	'node1: witness back');

#
# Losing the standby leaves the primary writable: node1 and the witness
# are a majority.
#
ok(kill9_and_wait($node2), 'node2: killed with SIGKILL');
poll_ok(
	$node1, q{
	SELECT NOT reachable FROM pgrepl.nodes WHERE node_name = 'node2'},
	'node1: node2 unreachable');
$node1->safe_psql('postgres', 'INSERT INTO acked VALUES (2)');
poll_ok(
	$node1, q{
	SELECT NOT fenced AND term = 1 FROM pgrepl.status},
	'node1: unfenced without its standby, the witness renewing its lease');
ok(start_after_kill9($node2), 'node2: restarted');
$node1->safe_psql('postgres', 'INSERT INTO acked VALUES (3)');
$node1->wait_for_catchup($node2);

#
# Losing the primary: node2 is elected with the witness's vote.
#
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL');
poll_ok(
	$node2, q{
	SELECT NOT pg_is_in_recovery() AND NOT fenced AND term = 2
	FROM pgrepl.status},
	'node2: elected and promoted in term 2');
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE event = 'elected' AND term = 2 AND node_name = 'node2'
	  AND detail LIKE '%witness%'},
	'node2: the election, with the witness\'s vote, is in pgrepl.events');
$node2->safe_psql('postgres', 'INSERT INTO acked VALUES (4)');
is(query($node2, 'SELECT count(*) FROM acked'),
	'4', 'node2: every acknowledged write is there');
poll_ok(
	$witness, q{
	SELECT term = 2 AND primary_node = 'node2' FROM pgrepl.status},
	'witness: follows the new primary of term 2');

# A list from the deposed primary's term is refused now.
($ret, $stdout, $stderr) = $witness->psql('postgres',
	q{SELECT pgrepl.copy_members('node1', 1, '{node1}', '{data}', '{x}')});
like(
	$stderr,
	qr/term 1 of node "node1" is behind term 2 of this witness/,
	'witness: refuses a list from a term behind its own');
is(query($witness, 'SELECT count(*) FROM pgrepl.members'),
	'3', 'witness: its list is intact');

done_testing();

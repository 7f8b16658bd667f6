# t/016_quorum_available.pl: quorum_available keeps writing, and loses
# nothing, with two data nodes and a witness.
#
# In quorum mode, two data nodes and a witness need the standby to
# acknowledge every commit: losing it stops writes.  quorum_available lets
# the primary write alone once a majority (the primary and the witness)
# holds on disk that the standby is unelectable.  With the primary lost
# too, the stale standby comes back and is refused by the witness: nothing
# is promoted, nothing acknowledged is lost.  When the primary returns, the
# standby catches up, is a synchronous standby again and unmarked.  The
# same holds for a standby that opted out of being synchronous.  Last, the
# standby can be elected, and has every acknowledged row.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $mode = "pgrepl.synchronous_mode = quorum_available\n";
my ($node1, $node2) =
  new_cluster(1, extra => { node1 => $mode, node2 => $mode });
my $witness = new_witness('witness', $node1, $node2);

poll_ok(
	$node1, q{
	SELECT sync_quorum = 1 AND sync_standbys = '{node2}'
	   AND unelectable = '{}' AND NOT fenced
	FROM pgrepl.status},
	'node1: node2 acknowledges every commit');
$node1->safe_psql('postgres', 'CREATE TABLE acked (id int PRIMARY KEY)');
$node1->safe_psql('postgres', 'INSERT INTO acked VALUES (1)');

#
# The standby is lost: once the witness holds that it is unelectable, the
# primary commits alone.
#
ok(kill9_and_wait($node2), 'node2: killed with SIGKILL');
poll_ok(
	$node1, q{
	SELECT sync_quorum = 0 AND unelectable = '{node2}' AND NOT fenced
	FROM pgrepl.status},
	'node1: node2 marked unelectable, no standby to wait for');
is(query($witness, q{SELECT unelectable FROM pgrepl.status}),
	'{node2}', 'witness: holds the mark');
my ($ret, $stdout, $stderr) = $node1->psql('postgres',
	'INSERT INTO acked VALUES (2) RETURNING id',
	timeout => $PostgreSQL::Test::Utils::timeout_default);
is("$ret $stdout", '0 2', 'node1: writes go on without the standby');
ok( $node1->log_contains(qr/marked 1 standby\(s\) unelectable in term 1/),
	'node1: the marking is logged');

#
# The primary is lost too; the stale standby comes back and is refused.
#
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL');
ok(start_after_kill9($node2), 'node2: restarted, stale');
poll_ok(
	$node2, q{
	SELECT note ~ 'marked the candidate unelectable'
	   AND substring(note FROM 'for (\d+) ms')::int > 3000
	FROM pgrepl.status},
	'node2: refused by the witness for over 3 s, and says why');
is(query($node2, 'SELECT pg_is_in_recovery()::text || term::text FROM pgrepl.status'),
	'true1', 'node2: not promoted');

#
# The primary returns; the standby catches up, acknowledges again, and is
# unmarked.
#
ok(start_after_kill9($node1), 'node1: restarted');
poll_ok(
	$node1, q{
	SELECT sync_quorum = 1 AND sync_standbys = '{node2}'
	   AND unelectable = '{}' AND NOT fenced AND term = 1
	FROM pgrepl.status},
	'node1: node2 caught up, is synchronous again and unmarked');
poll_ok($witness, q{SELECT unelectable = '{}' FROM pgrepl.status},
	'witness: the mark is gone');
$node1->safe_psql('postgres', 'INSERT INTO acked VALUES (3)');

#
# node2 opts out of being synchronous; as the only standby it acknowledges
# all the same.  Lost, it is marked like any other, and writes go on.
#
$node1->safe_psql('postgres', q{SELECT pgrepl.set_synchronous('node2', false)});
poll_ok(
	$node1, q{
	SELECT sync_quorum = 1 AND sync_standbys = '{node2}'
	   AND (SELECT NOT synchronous FROM pgrepl.members WHERE node_name = 'node2')
	FROM pgrepl.status},
	'node1: node2 opted out, yet acknowledges as the only standby');
ok(kill9_and_wait($node2), 'node2: killed with SIGKILL again');
poll_ok(
	$node1, q{
	SELECT sync_quorum = 0 AND unelectable = '{node2}' AND NOT fenced
	FROM pgrepl.status},
	'node1: node2, opted out, marked unelectable; no standby to wait for');
($ret, $stdout, $stderr) = $node1->psql('postgres',
	'INSERT INTO acked VALUES (4) RETURNING id',
	timeout => $PostgreSQL::Test::Utils::timeout_default);
is("$ret $stdout", '0 4', 'node1: writes go on without it');
ok(start_after_kill9($node2), 'node2: restarted');
poll_ok(
	$node1, q{
	SELECT sync_quorum = 1 AND sync_standbys = '{node2}'
	   AND unelectable = '{}' AND NOT fenced
	FROM pgrepl.status},
	'node1: node2 caught up, acknowledges again and is unmarked');
$node1->safe_psql('postgres', q{SELECT pgrepl.set_synchronous('node2', true)});
$node1->safe_psql('postgres', 'INSERT INTO acked VALUES (5)');

# Now node2 can be elected, and holds every acknowledged row.
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL again');
poll_ok(
	$node2, q{
	SELECT NOT pg_is_in_recovery() AND NOT fenced AND term = 2
	FROM pgrepl.status},
	'node2: elected in term 2');
is(query($node2, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM acked'),
	'1,2,3,4,5', 'node2: has every acknowledged row');

done_testing();

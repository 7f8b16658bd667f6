# t/021_diverged_standby.pl: a standby whose WAL diverged is rewound.
#
# Three data nodes and two witnesses.  The WAL sender to node2 is stopped,
# so that node3 alone receives a row the primary, node1, commits next; then
# node3 is frozen and node1 killed.  node2 and the witnesses, a majority,
# elect node2, which lacks that row: its timeline forks off before the end
# of node3's WAL.  node3, thawed, cannot stream from node2; its monitor
# finds the divergence in node2's timeline history and, with
# pgrepl.rejoin_command set, rewinds it: node3 streams from node2, without
# the row only it had, and node2 records in pgrepl.events that it rejoined
# (node3's heartbeat says that pgrepl_rejoin made it a standby in term 2).
# node2, which only followed node1 before, has no such event.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# pg_rewind needs hint bits WAL-logged (or data checksums).
my $hints = "wal_log_hints = on\n";
my ($node1, $node2, $node3) = new_cluster(2,
	extra => { node1 => $hints, node2 => $hints, node3 => $hints });
my $witness1 = new_witness('witness1', $node1, $node2, $node3);
my $witness2 = new_witness('witness2', $node1, $node2, $node3, $witness1);

set_rejoin_command($node3);

poll_ok($node1, q{SELECT term = 1 AND NOT fenced FROM pgrepl.status},
	'node1 leads term 1');
$node1->safe_psql('postgres',
	"CREATE TABLE t (id int PRIMARY KEY, what text); INSERT INTO t VALUES (1, 'everywhere')"
);
$node1->wait_for_catchup($_) foreach ($node2, $node3);

#
# node3 alone receives row 2.
#
my $sender = query($node1,
	q{SELECT pid FROM pg_stat_replication WHERE application_name = 'node2'});
ok(kill('STOP', $sender), "node1: WAL sender to node2 (pid $sender) stopped");
$node1->safe_psql('postgres', "INSERT INTO t VALUES (2, 'node3 only')");
my $lsn = query($node1, 'SELECT pg_current_wal_insert_lsn()');
poll_ok($node3, qq{SELECT pg_last_wal_replay_lsn() >= '$lsn'},
	'node3: has replayed row 2');

#
# node3 frozen, node1 killed: node2 is elected without node3.
#
my @frozen = freeze($node3);
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL');
kill('KILL', $sender);
ok(wait_gone($sender), 'node1: its stopped WAL sender is gone too');
poll_ok(
	$node2, q{
	SELECT NOT pg_is_in_recovery() AND term = 2 AND NOT fenced
	FROM pgrepl.status},
	'node2: elected in term 2 by itself and the witnesses');
is(query($node2, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'1', 'node2: lacks row 2');

#
# node3 thawed: its WAL goes past the fork, and it is rewound.
#
my $log_offset = -s $node3->logfile;
thaw(@frozen);
@frozen = ();

# Until it is rewound, node3 may stream node2's WAL up to the fork for a
# moment: wait for the end of pgrepl_rejoin, then for timeline 2.
my $rejoin_log = $node3->data_dir . '.pgrepl_rejoin/rejoin.log';
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
usleep(100_000)
  until (-e $rejoin_log && slurp_file($rejoin_log) =~ /runs as a standby of node2/)
  || time() > $deadline;
my $rejoined = -e $rejoin_log ? slurp_file($rejoin_log) : '';
like($rejoined, qr/servers diverged at WAL location/,
	'node3: pg_rewind found the divergence');
like($rejoined, qr/node "node3" runs as a standby of node2/,
	'node3: pgrepl_rejoin started it as a standby of node2');
ok( $node3->log_contains(
		qr/pgrepl started pgrepl\.rejoin_command \(pid \d+\) to rejoin node "node3" as a standby of "node2"/,
		$log_offset),
	'node3: its monitor ran pgrepl.rejoin_command');
$node3->_update_pid(1);
poll_ok(
	$node3, q{
	SELECT status = 'streaming' AND received_tli = 2 FROM pg_stat_wal_receiver},
	'node3: streams timeline 2 from node2');
poll_ok(
	$node3, q{
	SELECT pg_is_in_recovery() AND term = 2 AND primary_node = 'node2'
	   AND note IS NULL
	FROM pgrepl.status},
	'node3: a standby of node2, with nothing to say');
$node2->safe_psql('postgres', "INSERT INTO t VALUES (3, 'after')");
$node2->wait_for_catchup($node3);
is(query($node3, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'1,3', 'node3: row 2 is gone, row 3 came from node2');

# The leader records the rejoin from what node3's heartbeat says, once.
is( query(
		$node3, q{
	SELECT rejoined_term FROM pgrepl.heartbeat('tap_probe', 0, false)}),
	'2',
	'node3: its heartbeat says it rejoined the leader of term 2');
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE node_name = 'node3' AND event = 'rejoined' AND term = 2
	  AND detail LIKE '%leader of term 2 by pgrepl_rejoin%'},
	'node2: pgrepl.events records that node3 rejoined');
is( query(
		$node2, q{
	SELECT count(*) FROM pgrepl.events
	WHERE event = 'rejoined' AND node_name <> 'node3'}),
	'0',
	'node2: no other node is recorded as rejoined');
is( query(
		$node2, q{
	SELECT rejoined_term IS NULL FROM pgrepl.heartbeat('tap_probe', 0, false)}),
	't',
	'node2: its own heartbeat says it never rejoined');

$_->stop foreach ($node2, $node3, $witness1, $witness2);
done_testing();

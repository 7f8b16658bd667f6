# t/017_switchover.pl: planned switchover, under write load.
#
# Three data nodes and a witness.  A client writes one row per transaction
# and records every acknowledged commit, moving to the next node whenever
# its node fails it.  pgrepl.switchover('node2') on node1: node2 becomes the
# primary in term 2 and node3 follows it, every acknowledged row is on
# node2, the old primary is fenced at once, and with pgrepl.rejoin_command
# set it rejoins as a standby of node2 by itself.  The write interruption
# the client saw is printed.
#
# Then a switchover to a node that cannot catch up (its WAL replay paused)
# fails cleanly: node2 stays the unfenced primary of term 2 and writes.
# Bad input gets clear errors: an unknown target, a witness, the primary
# itself, a call on a standby or a witness, a zero timeout, a node with
# priority 0.  Last, a switchover without a target picks the one standby
# that can take over, node1, back; and then none is left to pick.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# pg_rewind, which the rejoin needs, needs hint bits WAL-logged.  It also
# needs the old primary's WAL back to its last checkpoint before the new
# primary's timeline forked off, which pgrepl keeps: no wal_keep_size here.
my $hints = "wal_log_hints = on\n";
my @nodes = new_cluster(2,
	extra => { node1 => $hints, node2 => $hints, node3 => $hints });
my ($node1, $node2, $node3) = @nodes;
my $witness = new_witness('witness', $node1, $node2, $node3);

foreach my $node (@nodes)
{
	poll_ok(
		$node, q{
		SELECT term = 1 AND primary_node = 'node1' AND NOT fenced
		FROM pgrepl.status},
		$node->name . ': node1 leads term 1');
}
$node1->safe_psql('postgres', 'CREATE TABLE acked (id int PRIMARY KEY)');

# node1 will rejoin by itself once replaced (t/020_rejoin.pl tests how).
set_rejoin_command($node1);

#
# The client: one process, one psql session at a time, one INSERT per
# transaction.  It logs each acknowledged id with the time the
# acknowledgement arrived and the port of the server that sent it.  When
# its session fails, it connects again with the list of nodes rotated by
# one, so that it does not keep coming back to the old primary, which
# accepts connections but no writes.
#
my $writer_script = "${PostgreSQL::Test::Utils::tmp_check}/switchover_writer.pl";
open(my $fh, '>', $writer_script) or die "cannot write $writer_script: $!";
print $fh <<'EOF';
use strict;
use warnings;
use IO::Handle;
use IPC::Run;
use Time::HiRes qw(time usleep);

my ($log, $hosts, @ports) = @ARGV;
my $stop = 0;
$SIG{TERM} = sub { $stop = 1 };
open(my $ack, '>', $log) or die "cannot write $log: $!";
$ack->autoflush(1);

my ($id, $attempt) = (0, 0);
while (!$stop)
{
	my @order = map { $ports[ ($attempt + $_) % @ports ] } 0 .. $#ports;
	my $conn = "host=" . join(',', ($hosts) x @ports)
	  . " port=" . join(',', @order)
	  . " dbname=postgres target_session_attrs=read-write connect_timeout=2";
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-Atq', '-v', 'ON_ERROR_STOP=1', '-d', $conn ],
		'<', \$in, '>', \$out, '2>', \$err);
	while (!$stop)
	{
		$id++;
		$in .= "INSERT INTO acked VALUES ($id) RETURNING id, current_setting('port');\n";
		my $deadline = time + 30;
		while (time < $deadline && $out !~ /^$id\|/m && $h->pumpable)
		{
			$h->pump_nb;
			usleep(1000);
		}
		last unless $out =~ /^$id\|(\d+)$/m;
		printf $ack "%d %.6f %d\n", $id, time, $1;
	}
	$in .= "\\q\n";
	eval { $h->finish; };
	$h->kill_kill;
	$attempt++;
	usleep(5000) unless $stop;
}
EOF
close $fh;

my $ack_log = "${PostgreSQL::Test::Utils::tmp_check}/switchover_acked.log";
my $writer = IPC::Run::start(
	[
		'perl', $writer_script, $ack_log, $node1->host,
		map { $_->port } @nodes
	],
	'>', \my $writer_out, '2>', \my $writer_err);

# Acknowledged writes so far: [id, time, port] each.
sub acked
{
	open(my $in, '<', $ack_log) or return ();
	my @rows = map { [ split ' ' ] } grep { /^\d+ [\d.]+ \d+$/ } <$in>;
	close $in;
	return @rows;
}

# Wait until the writer has n acknowledgements from the node on port.
sub wait_acked
{
	my ($n, $port, $name) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;

	while (time() < $deadline)
	{
		return ok(1, $name)
		  if scalar(grep { $_->[2] == $port } acked()) >= $n;
		usleep(50_000);
	}
	diag("writer: $writer_err");
	return ok(0, $name);
}

wait_acked(100, $node1->port, 'the client writes to node1');

# Put node1's last checkpoint before the switchover in an earlier WAL
# segment than the fork: the clean shutdown of node1 before its rewind
# would then remove that segment, unless the pgrepl_rewind slot keeps it.
$node1->safe_psql('postgres', 'CHECKPOINT');
poll_ok(
	$node1, q{
	SELECT restart_lsn = (SELECT redo_lsn FROM pg_control_checkpoint())
	FROM pg_replication_slots WHERE slot_name = 'pgrepl_rewind'},
	'node1: the pgrepl_rewind slot keeps WAL from the latest checkpoint on');
$node1->safe_psql('postgres', 'SELECT pg_switch_wal()');

#
# The switchover.
#
my $log_offset = -s $node1->logfile;
is( query($node1, q{SELECT new_primary || ' ' || term FROM pgrepl.switchover('node2')}),
	'node2 2',
	'node1: switchover() returns node2, elected in term 2');
wait_acked(100, $node2->port, 'the client writes to node2');
$writer->signal('TERM');
$writer->finish;

poll_ok(
	$node2, q{
	SELECT NOT pg_is_in_recovery() AND term = 2 AND primary_node = 'node2'
	       AND NOT fenced
	FROM pgrepl.status},
	'node2: the unfenced primary of term 2');
my $node2_port = $node2->port;
poll_ok(
	$node3, qq{
	SELECT status = 'streaming' AND sender_port = $node2_port
	FROM pgrepl.wal_receiver},
	'node3: streams from node2');
poll_ok($node3, q{SELECT term = 2 AND primary_node = 'node2' FROM pgrepl.status},
	'node3: knows node2 leads term 2');
ok( $node1->log_contains(
		qr/handed this node's role over to node "node2", elected in term 2, after \d+ ms without commits/,
		$log_offset),
	'node1: logs how long commits stopped');
ok( $node1->log_contains(
		qr/fenced this primary.*\n.*DETAIL:  Another node was elected primary in a later term; this node must rejoin as a standby\./,
		$log_offset),
	'node1: was fenced as deposed');

# node1 rejoins as a standby of node2, by pgrepl.rejoin_command.
poll_ok($node1, q{SELECT pg_is_in_recovery() AND term = 2 FROM pgrepl.status},
	'node1: a standby in term 2 again');
$node1->_update_pid(1);
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pg_stat_replication
	WHERE application_name = 'node1' AND state = 'streaming'},
	'node1: streams from node2');
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE node_name = 'node1' AND event = 'rejoined'},
	'node2: pgrepl.events records that node1 rejoined');
is(query($node1, 'SELECT count(*) FROM pg_replication_slots'),
	'0', 'node1: a standby now, it keeps no slots of its time as primary');
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pg_replication_slots
	WHERE slot_name = 'pgrepl_rewind' AND NOT active},
	'node2: keeps WAL for its own rewind in the pgrepl_rewind slot');

# A slot a standby kept from a time as primary (here made by hand, as a
# node demoted without pg_rewind would have it) only holds WAL there:
# pgrepl drops it, and leaves other slots alone.
$log_offset = -s $node3->logfile;
$node3->safe_psql('postgres',
	"SELECT pg_create_physical_replication_slot(name, true) FROM unnest('{node1,pgrepl_rewind,not_pgrepls}'::text[]) AS name"
);
poll_ok(
	$node3, q{
	SELECT array_agg(slot_name) = '{not_pgrepls}' FROM pg_replication_slots},
	'node3: drops the slots named after members or pgrepl_rewind');
ok( $node3->log_contains(
		qr/dropped replication slot "pgrepl_rewind", which this node kept while it was primary/,
		$log_offset),
	'node3: logs the slots it dropped');
$node3->safe_psql('postgres', "SELECT pg_drop_replication_slot('not_pgrepls')");

# No acknowledged write is missing.
my @acked = acked();
my %port_name = map { $_->port => $_->name } @nodes;
my @ids = map { $_->[0] } @acked;
is( query(
		$node2, qq{
		SELECT count(*) FROM unnest('{@{[ join ',', @ids ]}}'::int[]) AS a(id)
		WHERE NOT EXISTS (SELECT FROM acked WHERE acked.id = a.id)}),
	'0',
	'node2: all ' . scalar(@ids) . ' acknowledged writes are there');
my @by = map { $port_name{ $_->[2] } } @acked;
ok(!(grep { $by[$_] eq 'node2' && $by[ $_ + 1 ] ne 'node2' } 0 .. $#by - 1),
	'no write was acknowledged by another node after node2');

# The interruption, as the client saw it.
my ($ret, $stdout, $stderr);
my ($last_old) = grep { $by[$_] eq 'node1' } reverse 0 .. $#by;
my ($first_new) = grep { $by[$_] eq 'node2' } 0 .. $#by;
my $gap = $acked[$first_new][1] - $acked[$last_old][1];
note(sprintf('writes interrupted for %.3f s', $gap));
cmp_ok($gap, '<', 10, sprintf('writes interrupted for %.3f s', $gap));

# The story is in pgrepl.events.
poll_ok(
	$node2, q{
	SELECT count(*) = 2 FROM pgrepl.events
	WHERE (node_name, event, term) IN (('node1', 'switchover started', 1),
	                                   ('node2', 'switchover completed', 2))},
	'node2: the switchover started in term 1 and completed in term 2');
is( query(
		$node2, q{
		SELECT detail FROM pgrepl.events
		WHERE event = 'promoted' AND term = 2}),
	'promoted by pgrepl.switchover() after winning the election',
	'node2: promoted by the switchover');

#
# A target that does not catch up: the switchover fails, and node2 is the
# unfenced primary of term 2 again.
#
$node2->wait_for_catchup($node3);
$node3->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
poll_ok($node3, q{SELECT pg_get_wal_replay_pause_state() = 'paused'},
	'node3: replay paused');
$node2->safe_psql('postgres', 'INSERT INTO acked VALUES (-2)');
($ret, $stdout, $stderr) = $node2->psql('postgres',
	q{SELECT * FROM pgrepl.switchover('node3', '2 s')});
like(
	$stderr,
	qr/switchover to node "node3" failed.*DETAIL:  Node "node3" did not replay the WAL of this node within 2000 ms: .*Node "node2" is the primary of term 2 again, unfenced\./s,
	'node2: a switchover to a node that does not catch up fails, and says why');
is( query(
		$node2,
		q{SELECT pg_is_in_recovery()::text || ' ' || term FROM pgrepl.status}),
	'false 2',
	'node2: still the primary of term 2');
poll_ok($node2, q{SELECT NOT fenced FROM pgrepl.status}, 'node2: unfenced');
$node2->safe_psql('postgres', 'INSERT INTO acked VALUES (-3)');
is(query($node2, 'SELECT count(*) FROM acked WHERE id IN (-2, -3)'),
	'2', 'node2: writes again');
poll_ok(
	$node2, q{
	SELECT count(*) = 1 FROM pgrepl.events
	WHERE node_name = 'node2' AND event = 'switchover failed' AND term = 2
	  AND detail LIKE 'to node "node3": %did not replay%'},
	'node2: the failed switchover is in pgrepl.events');
is(query($node3, 'SELECT pg_is_in_recovery()::text || term FROM pgrepl.status'),
	'true2', 'node3: still a standby in term 2');
$node3->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');

#
# Bad input.
#
my @bad = (
	[ $node2, q{SELECT pgrepl.switchover('nosuch')},
		qr/node "nosuch" is not a member of the cluster/, 'an unknown target' ],
	[ $node2, q{SELECT pgrepl.switchover('witness')},
		qr/cannot switch over to node "witness" because it is a witness/,
		'a witness' ],
	[ $node2, q{SELECT pgrepl.switchover('node2')},
		qr/node "node2" is the primary already/, 'the primary itself' ],
	[ $node3, q{SELECT pgrepl.switchover()},
		qr/cannot switch over from node "node3" because it is not the primary/,
		'a call on a standby' ],
	[ $witness, q{SELECT pgrepl.switchover()},
		qr/cannot switch over from node "witness" because it is a witness/,
		'a call on a witness' ],
	[ $node2, q{SELECT pgrepl.switchover('node3', '0 s')},
		qr/the timeout of a switchover must be more than 0 and at most 1 hour/,
		'a timeout of 0' ]);
foreach my $case (@bad)
{
	my ($node, $sql, $re, $what) = @$case;
	($ret, $stdout, $stderr) = $node->psql('postgres', $sql);
	like($stderr, $re, $node->name . ": refuses $what");
}

# node3 with priority 0: neither named nor chosen.
$node3->append_conf('postgresql.conf', "pgrepl.priority = 0\n");
$node3->reload;
poll_ok(
	$node2, q{
	SELECT priority = 0 FROM pgrepl.nodes WHERE node_name = 'node3'},
	'node2: sees priority 0 on node3');
($ret, $stdout, $stderr) =
  $node2->psql('postgres', q{SELECT pgrepl.switchover('node3')});
like(
	$stderr,
	qr/cannot switch over to node "node3".*pgrepl.priority 0/s,
	'node2: refuses a target with priority 0');
is(query($node2, 'SELECT term::text || fenced::text FROM pgrepl.status'),
	'2false', 'node2: still the unfenced primary of term 2 after the errors');

#
# Without a target: node1, the one standby that can take over, takes over
# in term 3; node2, without a rejoin_command, says what to run, and
# read-write clients pass it by.  Then no standby is left that can take
# over from node1.
#
$node2->wait_for_catchup($node1);
is( query($node2, q{SELECT new_primary || ' ' || term FROM pgrepl.switchover()}),
	'node1 3',
	'node2: switchover() without a target hands over to node1, in term 3');
poll_ok(
	$node1, q{
	SELECT NOT pg_is_in_recovery() AND term = 3 AND NOT fenced FROM pgrepl.status},
	'node1: the unfenced primary of term 3');
poll_ok(
	$node2, q{
	SELECT fenced AND term = 3 AND needs_rejoin
	   AND note LIKE 'needs rejoin as a standby of node1%'
	FROM pgrepl.status},
	'node2: fenced in term 3, and its note says how to rejoin node1');

# node2 will never commit again, yet accepts connections: its sessions
# are read-only by default, so that a client asking for a read-write
# session passes it by for the next host it lists, the primary.
is(query($node2, 'SHOW default_transaction_read_only'),
	'on', 'node2: a new session is read-only by default');
my $either = sprintf(
	'host=%s,%s port=%d,%d dbname=postgres target_session_attrs=read-write',
	$node2->host, $node1->host, $node2->port, $node1->port);
is( $node2->safe_psql(
		'postgres', q{SELECT pgrepl.status.node_name FROM pgrepl.status},
		connstr => $either),
	'node1',
	'a client asking for node2 or node1, read-write, reaches node1');
poll_ok(
	$node1, q{
	SELECT role = 'primary' FROM pgrepl.nodes WHERE node_name = 'node2'},
	'node1: sees node2 answer as a primary');
($ret, $stdout, $stderr) =
  $node1->psql('postgres', q{SELECT pgrepl.switchover()});
like(
	$stderr,
	qr/no standby can take over from node "node1"/,
	'node1: refuses when no standby can take over');

done_testing();

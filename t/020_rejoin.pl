# t/020_rejoin.pl: a replaced primary with diverged WAL rejoins as a standby.
#
# The primary of a three-node cluster commits rows that no standby
# receives (its WAL senders are frozen, the commits asynchronous), then
# crashes.  A standby is elected; the old primary, started again, is a
# primary with WAL the new one lacks.  It learns of the later term and is
# fenced; with pgrepl.rejoin_command set, its monitor runs pgrepl_rejoin,
# which stops it, rewinds it with pg_rewind from the new primary and starts
# it as a standby: the diverged rows are gone, it streams from the new
# primary, and pgrepl.events records the rejoin.  Then the same happens to
# the new primary, which has no rejoin_command: its status note says
# exactly what to run, and running that rejoins it too.  Last, that node
# is cloned again with --reclone.

use strict;
use warnings;

use FindBin;
use IPC::Run;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# pg_rewind needs hint bits WAL-logged (or data checksums).
my $hints = "wal_log_hints = on\n";
my @nodes = new_cluster(2,
	extra => { node1 => $hints, node2 => $hints, node3 => $hints });
my ($node1, $node2, $node3) = @nodes;
my %by_name = map { $_->name => $_ } @nodes;

poll_ok($node1, q{SELECT term = 1 AND NOT fenced FROM pgrepl.status},
	'node1 leads term 1');
$node1->safe_psql('postgres',
	"CREATE TABLE t (id int PRIMARY KEY, what text); INSERT INTO t VALUES (1, 'before')"
);
$node1->wait_for_catchup($_) foreach ($node2, $node3);

# node1 rejoins by itself: pgrepl_rejoin, with the server's log where the
# test looks for it.  Set by ALTER SYSTEM, which a rejoin keeps.
my $bindir = $node1->config_data('--bindir');
my $command = "$bindir/pgrepl_rejoin -D %d --server-log " . $node1->logfile;
$node1->safe_psql('postgres',
	"ALTER SYSTEM SET pgrepl.rejoin_command = '$command'; SELECT pg_reload_conf()");
poll_ok($node1, q{SELECT current_setting('pgrepl.rejoin_command') <> ''},
	'node1: pgrepl.rejoin_command is set');

# Print what pgrepl_rejoin logged, when a test fails.
sub show_rejoin_log
{
	my ($node) = @_;
	my $log = $node->data_dir . '.pgrepl_rejoin/rejoin.log';
	diag($node->name . ": $log\n"
		  . (-e $log ? slurp_file($log) : "(none)\n"));
	return;
}

# Wait until every process of a node is gone.
sub wait_all_gone
{
	my (@pids) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;

	usleep(10_000) while (grep { kill(0, $_) } @pids) && time() < $deadline;
	return !grep { kill(0, $_) } @pids;
}

# The primary commits rows no standby receives, then crashes: its WAL
# senders are frozen first, so nothing of those commits leaves the node
# (a frozen WAL receiver would still find them in its socket's buffer),
# and the commits are asynchronous, so they do not wait for a standby.
# Then the postmaster and every child are killed at once.
sub diverge_and_crash
{
	my ($primary, @rows) = @_;
	my @senders = split /\n/,
	  query($primary, 'SELECT pid FROM pg_stat_replication');
	is(scalar @senders, 2, $primary->name . ': two WAL senders to freeze');
	kill('STOP', @senders);
	$primary->safe_psql('postgres',
		"INSERT INTO t VALUES " . join(', ', map { "($_, 'diverged')" } @rows));
	my @pids = node_pids($primary);
	kill('KILL', @pids);
	ok(wait_all_gone(@pids), $primary->name . ': crashed with diverged rows');
	$primary->{_pid} = undef;	# as kill9() leaves it, for start()
	return;
}

# Start a crashed node without waiting for it: with rejoin_command set it
# may be stopped again before pg_ctl, or the test, sees it ready.
sub start_no_wait
{
	my ($node) = @_;
	return PostgreSQL::Test::Utils::system_log('pg_ctl', '-W', '-D',
		$node->data_dir, '-l', $node->logfile, '-o',
		'--cluster-name=' . $node->name, 'start') == 0;
}

# The member that the surviving nodes elect in term $term.
sub elected
{
	my ($term, @survivors) = @_;
	foreach my $node (@survivors)
	{
		poll_ok(
			$node, qq{
			SELECT term = $term AND primary_node IS NOT NULL FROM pgrepl.status},
			$node->name . ": a new primary leads term $term");
	}
	my $name = query($survivors[0], 'SELECT primary_node FROM pgrepl.status');
	my $winner = $by_name{$name};
	poll_ok($winner,
		q{SELECT NOT pg_is_in_recovery() AND NOT fenced FROM pgrepl.status},
		"$name: promoted, may commit");
	return $winner;
}

# $node streams from $primary as a standby, and holds what $primary holds.
sub streams_from
{
	my ($node, $primary, $what) = @_;
	my $name = $node->name;

	my $ok = poll_ok($node, q{SELECT pg_is_in_recovery()},
		"$name: a standby again ($what)");
	$ok &&= poll_ok(
		$primary, qq{
		SELECT count(*) = 1 FROM pg_stat_replication
		WHERE application_name = '$name' AND state = 'streaming'},
		"$name: streams from " . $primary->name);
	show_rejoin_log($node) unless $ok;
	$node->_update_pid(1);
	$primary->wait_for_catchup($node);
	is(query($node, q{SELECT count(*) FROM t WHERE what = 'diverged'}),
		'0', "$name: its diverged rows are gone");
	is( query($node, q{SELECT string_agg(id::text, ',' ORDER BY id) FROM t}),
		query($primary, q{SELECT string_agg(id::text, ',' ORDER BY id) FROM t}),
		"$name: holds what " . $primary->name . ' holds');
	poll_ok(
		$primary, qq{
		SELECT count(*) = 1 FROM pgrepl.events
		WHERE node_name = '$name' AND event = 'rejoined'},
		$primary->name . ": pgrepl.events records that $name rejoined");
	return;
}

#
# 1. node1 diverges, crashes, and is replaced in term 2.
#
diverge_and_crash($node1, 2, 3);
my $winner = elected(2, $node2, $node3);
my ($loser) = grep { $_ != $winner } ($node2, $node3);
is(query($winner, q{SELECT count(*) FROM t WHERE what = 'diverged'}),
	'0', $winner->name . ': never received the diverged rows');
$winner->safe_psql('postgres', "INSERT INTO t VALUES (4, 'after failover')");

#
# node1 comes back: a primary with WAL the new primary lacks.  It learns of
# term 2, and pgrepl.rejoin_command rewinds it into a standby.
#
ok(start_no_wait($node1), 'node1: started again after the crash');
streams_from($node1, $winner, 'rewound by pgrepl.rejoin_command');
like(slurp_file($node1->logfile),
	qr/pgrepl started pgrepl\.rejoin_command \(pid \d+\) to rejoin node "node1" as a standby of "${\ $winner->name }"/,
	'node1: its log says it started the rejoin command');
is( query(
		$node1, q{
		SELECT current_setting('pgrepl.node_name') || ' ' || term::text
		       || ' ' || coalesce(note, '')
		FROM pgrepl.status}),
	'node1 2 ',
	'node1: its own configuration and its term survived the rewind, and it has nothing to report');
ok(!-e $node1->data_dir . '/pgrepl_rejoin.failed',
	'node1: no failed rejoin is recorded');

# It follows new writes.
$winner->safe_psql('postgres', "INSERT INTO t VALUES (5, 'after rejoin')");
$winner->wait_for_catchup($node1);
is(query($node1, q{SELECT what FROM t WHERE id = 5}),
	'after rejoin', 'node1: receives new writes from ' . $winner->name);

#
# 2. The new primary diverges and crashes in turn; node1 and the other
# standby elect one of them in term 3.
#
diverge_and_crash($winner, 6);
my $old = $winner;
$winner = elected(3, $node1, $loser);
$winner->safe_psql('postgres', "INSERT INTO t VALUES (7, 'after second failover')");

#
# The old primary has no rejoin_command: its note says exactly what to run.
#
ok(start_no_wait($old), $old->name . ': started again after the crash');
my $name = $old->name;
my $wname = $winner->name;
poll_ok(
	$old, qq{
	SELECT fenced AND needs_rejoin
	   AND note ~ '^needs rejoin as a standby of $wname; it has WAL on timeline 2 up to [0-9A-F/]+, [0-9]+ bytes past [0-9A-F/]+ where node "$wname"''s timeline 3 forked off; pgrepl.rejoin_command is not set: run as the server''s owner: '
	FROM pgrepl.status},
	"$name: its note says it needs rejoin as a standby of $wname, why, and what to run"
);
my $note = query($old, 'SELECT note FROM pgrepl.status');
note("$name: $note");
my ($cmd) = $note =~ /run as the server's owner: (.*)$/;

# A rejoin_command that fails without a word is reported, and not run
# again.
$old->safe_psql('postgres',
	"ALTER SYSTEM SET pgrepl.rejoin_command = 'exit 3'; SELECT pg_reload_conf()");
poll_ok(
	$old, q{
	SELECT note ~ 'pgrepl.rejoin_command, started at .*, ended without restarting this server: see its log, then restart the server to let it try again, or run as the server''s owner: '
	FROM pgrepl.status},
	"$name: its note says that pgrepl.rejoin_command ended without restarting it"
);
is(query($old, 'SELECT pg_is_in_recovery()'), 'f',
	"$name: still the fenced primary it was");
is($cmd, "'$bindir/pgrepl_rejoin' -D '" . $old->data_dir . "'",
	"$name: the command is pgrepl_rejoin on its data directory");

# What pgrepl_rejoin reads is for the server's owner only, and holds no
# password.
my $conf = $old->data_dir . '/pgrepl_rejoin.conf';
is(sprintf('%04o', (stat $conf)[2] & 07777), '0600',
	"$name: pgrepl_rejoin.conf is readable by its owner only");
like(slurp_file($conf), qr/^leader=$wname$/m,
	"$name: pgrepl_rejoin.conf names the leader");

# Run it as an operator would.
my ($stdout, $stderr);
my $ran = IPC::Run::run([ 'bash', '-c', $cmd ], '>', \$stdout, '2>', \$stderr);
ok($ran, "$name: the command from its note succeeds") or diag($stderr);
streams_from($old, $winner, 'rewound by hand');
is(query($old, 'SELECT term FROM pgrepl.status'),
	'3', "$name: its term did not go backwards");

#
# 3. Cloning again instead of rewinding, as the note asks for when
# pg_rewind cannot do it; here on the standby just rejoined, told whom to
# follow on the command line.
#
my $old_dir = $old->data_dir;
$ran = IPC::Run::run(
	[
		"$bindir/pgrepl_rejoin", '-D', $old_dir, '--reclone',
		'--node', $name, '--source', $winner->connstr('postgres'),
		'--server-log', $old->logfile
	],
	'>', \$stdout, '2>', \$stderr);
ok($ran, "$name: pgrepl_rejoin --reclone succeeds") or diag($stderr);
my @aside = glob("$old_dir.pgrepl-old-*");
is(scalar @aside, 1, "$name: the old data directory was moved aside");
$winner->safe_psql('postgres', "INSERT INTO t VALUES (8, 'after reclone')");
streams_from($old, $winner, 'cloned again');
is( query(
		$old, q{
		SELECT current_setting('pgrepl.node_name') || ' ' || term::text
		FROM pgrepl.status}),
	"$name 3",
	"$name: its own configuration and its term survived the clone");

$_->stop foreach @nodes;

done_testing();

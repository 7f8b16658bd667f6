# t/015_rpo.pl: pgrepl.async_rpo_limit bounds what a failover may lose.
#
# In asynchronous mode, with the limit at 4 s, the WAL receivers of both
# standbys are frozen (SIGSTOP) while their monitors keep the primary's
# lease: committed data that no standby has grows older, as
# pgrepl.status.data_at_risk shows, and once it passes the limit commits
# wait and then fail, so that nothing older than the limit is at risk.
# When the receivers thaw, a waiting commit goes through.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $limit = "pgrepl.async_rpo_limit = '4s'\n";
my @nodes = new_cluster(2, extra => { map { ("node$_" => $limit) } 1 .. 3 });
my ($node1, $node2, $node3) = @nodes;

poll_ok($node1, q{SELECT NOT fenced FROM pgrepl.status}, 'node1: unfenced');
$node1->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY)');
$node1->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
$node1->wait_for_catchup($node2);
$node1->wait_for_catchup($node3);
poll_ok(
	$node1, q{SELECT data_at_risk < '1s' FROM pgrepl.status},
	'node1: little data at risk while the standbys stream');

# Freeze both WAL receivers: the standbys stay reachable and keep voting.
my @receivers = map {
	query($_, 'SELECT pid FROM pg_stat_wal_receiver')
} ($node2, $node3);
like($_, qr/^\d+$/, "a WAL receiver pid: $_") foreach @receivers;
kill 'STOP', @receivers;

# A commit now is the oldest WAL no standby has.
$node1->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
poll_ok(
	$node1, q{SELECT data_at_risk > '4s' AND NOT fenced FROM pgrepl.status},
	'node1: data at risk passes the limit, the primary keeps its lease');

my ($ret, $stdout, $stderr) = $node1->psql('postgres',
	'INSERT INTO t VALUES (3)',
	timeout => $PostgreSQL::Test::Utils::timeout_default);
isnt($ret, 0, 'node1: a commit beyond the limit fails');
like(
	$stderr,
	qr/cannot commit: no electable standby is within pgrepl.async_rpo_limit/,
	'node1: and says why');
is(query($node1, 'SELECT count(*) FROM t WHERE id = 3'),
	'0', 'node1: the row was not committed');

# A commit that waits goes through once a standby catches up.
my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start(
	[
		'psql', '-X', '-At', '-q', '-d', $node1->connstr('postgres'),
		'-c', 'INSERT INTO t VALUES (4) RETURNING id'
	],
	'<', \$in, '>', \$out, '2>', \$err);
poll_ok(
	$node1, q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query LIKE 'INSERT INTO t VALUES (4)%' AND wait_event = 'Extension'},
	'node1: the commit waits');
kill 'CONT', @receivers;
$h->finish;
is($out, "4\n", 'node1: the waiting commit went through once the standbys caught up');
poll_ok(
	$node1, q{SELECT data_at_risk < '4s' FROM pgrepl.status},
	'node1: data at risk back under the limit');

done_testing();

# t/005_network_cut.pl: a primary cut off from its peers at the TCP level.
#
# Peers reach each other through the test's TCP proxies; clients reach the
# primary directly.  The primary is cut off from both standbys while a
# client keeps writing to it: the primary fences itself within its lease,
# one standby is elected, and the old primary's last commit comes before
# the new primary may commit, so that at no moment did two nodes accept
# writes.  When the cut heals, the old primary learns of the later term and
# stays fenced.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

my @nodes = new_cluster(
	2,
	proxies => 1,
	extra => { node1 => "track_commit_timestamp = on\n" });
my ($node1, $node2, $node3) = @nodes;

poll_ok($node1, q{SELECT term = 1 AND NOT fenced FROM pgrepl.status},
	'node1 leads term 1');
$node1->safe_psql('postgres', 'CREATE TABLE probe (id serial PRIMARY KEY)');

# A client writing to node1 as fast as it can, directly, not through the
# proxies: the cut does not touch it.
my $script = "${PostgreSQL::Test::Utils::tmp_check}/probe.sql";
open(my $fh, '>', $script) or die "cannot write $script: $!";
print $fh "INSERT INTO probe DEFAULT VALUES;\n";
close $fh;
my ($out, $err) = ('', '');
my $writer = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '1', '-T', '60', '-f', $script,
		'-h', $node1->host, '-p', $node1->port, 'postgres'
	],
	'>', \$out, '2>', \$err);
poll_ok($node1, q{SELECT count(*) > 100 FROM probe},
	'node1: the client writes');

#
# Cut node1 off from its peers.
#
my $cut_at = query($node1, 'SELECT clock_timestamp()');
cut_off('node1');

poll_ok(
	$node1, q{
	SELECT fenced AND fence_reason LIKE '%majority%' FROM pgrepl.status},
	'node1: fenced for lack of a majority');
my ($ret, $stdout, $stderr) = $node1->psql('postgres', 'INSERT INTO probe DEFAULT VALUES');
like($stderr, qr/this node is fenced/, 'node1: a write fails');

# The client's writes stopped within the lease (1 s), well before the
# failover timeout (1.5 s) after which the standbys may elect.
my $last_commit = query($node1,
	'SELECT max(pg_xact_commit_timestamp(xmin)) FROM probe');
is( query(
		$node1,
		"SELECT '$last_commit'::timestamptz < '$cut_at'::timestamptz + interval '1.5 seconds'"
	),
	't',
	'node1: its last commit came within the lease after the cut');

# One of the standbys is elected.
foreach my $node ($node2, $node3)
{
	poll_ok(
		$node, q{
		SELECT term = 2 AND primary_node IN ('node2', 'node3')
		FROM pgrepl.status},
		$node->name . ': a new primary leads term 2');
}
my $winner_name = query($node2, 'SELECT primary_node FROM pgrepl.status');
my $winner = $winner_name eq 'node2' ? $node2 : $node3;
poll_ok($winner, q{SELECT NOT fenced AND NOT pg_is_in_recovery() FROM pgrepl.status},
	"$winner_name: may commit");

# The new primary could commit only once it held a lease, which its log
# says; the old primary's last commit came before that.
my $log = PostgreSQL::Test::Utils::slurp_file($winner->logfile);
my ($unfenced_at) =
  $log =~ /^(\S+ \S+ \S+) \[\d+\] LOG:  pgrepl unfenced this primary: it leads term 2/m;
ok(defined $unfenced_at, "$winner_name: logged when it could first commit");
is( query(
		$node1,
		"SELECT '$last_commit'::timestamptz < '$unfenced_at'::timestamptz"),
	't',
	'the old primary\'s last commit came before the new primary could commit');

$winner->safe_psql('postgres', 'INSERT INTO probe DEFAULT VALUES');
pass("$winner_name: commits");

IPC::Run::kill_kill($writer);

#
# The cut heals: node1 learns of term 2 and stays fenced.
#
heal();
poll_ok(
	$node1, q{
	SELECT fenced AND term = 2 AND fence_reason LIKE '%later term%'
	FROM pgrepl.status},
	'node1: fenced for good once it learns of term 2');
($ret, $stdout, $stderr) = $node1->psql('postgres',
	'SET default_transaction_read_only = off; INSERT INTO probe DEFAULT VALUES');
like($stderr, qr/this node is fenced/, 'node1: a write still fails');

$_->stop foreach @nodes;

done_testing();

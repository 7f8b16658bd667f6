# t/011_haproxy.pl: the shipped HAProxy configuration, live.
#
# monitoring/haproxy.cfg is run by a real HAProxy with only the nodes'
# addresses and ports replaced by a test cluster's: a primary and two
# standbys, each serving pgrepl's HTTP endpoint and accepting TCP
# connections.  A client on the write port reaches the primary, one on the
# read port only the standbys, round-robin; then the primary is killed,
# and the write port reaches the new primary while the read port reaches
# only the standby left.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use PgreplHttp;
use PgreplTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

if (!grep { -x "$_/haproxy" } (split(/:/, $ENV{PATH}), '/usr/sbin'))
{
	plan skip_all => 'haproxy is not installed (Debian package haproxy)';
}
my ($haproxy) = grep { -x $_ } map { "$_/haproxy" } (split(/:/, $ENV{PATH}), '/usr/sbin');

my (%http_port, %conf);
foreach my $name (qw(node1 node2 node3))
{
	($http_port{$name}, $conf{$name}) = http_port_conf();
	$conf{$name} .= "listen_addresses = '127.0.0.1'\n";
}
my @nodes = new_cluster(2, extra => \%conf);
my ($node1, $node2, $node3) = @nodes;
my %by_port = map { $_->port => $_->name } @nodes;

#
# The shipped configuration, with the test cluster's addresses and ports.
#
my $write_port = PostgreSQL::Test::Cluster::get_free_port();
my $read_port = PostgreSQL::Test::Cluster::get_free_port();
my $cfg = slurp_file("$FindBin::RealBin/../monitoring/haproxy.cfg");
my $replaced = 0;
$replaced += ($cfg =~ s/^(\s*bind )\*:5000$/${1}127.0.0.1:$write_port/m);
$replaced += ($cfg =~ s/^(\s*bind )\*:5001$/${1}127.0.0.1:$read_port/m);
foreach my $node (@nodes)
{
	my ($name, $port) = ($node->name, $node->port);
	$replaced += ($cfg =~
		  s/^(\s*server $name )$name\.example\.net:5432 check port 8008$/${1}127.0.0.1:$port check port $http_port{$name}/mg);
}
is($replaced, 8, 'every address of the shipped configuration was replaced');
my $cfg_file = "${PostgreSQL::Test::Utils::tmp_check}/haproxy.cfg";
open(my $fh, '>', $cfg_file) or die "cannot write $cfg_file: $!";
print $fh $cfg;
close $fh;

my $haproxy_log = "${PostgreSQL::Test::Utils::log_path}/haproxy.log";
my $h = IPC::Run::start([ $haproxy, '-db', '-f', $cfg_file ],
	'<', \undef, '>', $haproxy_log, '2>&1');
END { $h->kill_kill if $h; }

# Through HAProxy: the port and recovery state of the server reached, or
# undef if the connection failed.
sub through
{
	my ($via, $port, $sql) = @_;
	my ($ret, $stdout, $stderr) = $via->psql(
		'postgres',
		$sql // 'SELECT inet_server_port(), pg_is_in_recovery()',
		connstr => "host=127.0.0.1 port=$port dbname=postgres connect_timeout=5");
	note("through port $port: $stderr") if $ret != 0;
	return $ret == 0 ? $stdout : undef;
}

# Poll until $n connections in a row on $port reach servers for which
# $want->($out) is true; a test named $name.  HAProxy takes every server
# for up until its first checks, so a single lucky connection proves
# nothing.
sub poll_through
{
	my ($via, $port, $want, $name, $n) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my ($out, $good) = (undef, 0);
	$n //= 4;

	while (time() < $deadline && $good < $n)
	{
		$out = through($via, $port);
		if (defined $out && $want->($out))
		{
			$good++;
			next;
		}
		$good = 0;
		usleep(100_000);
	}
	ok($good >= $n, $name)
	  or diag("last answer: " . ($out // 'none') . "\n" . slurp_file($haproxy_log));
	return $out;
}

# Who the read port reaches over $n connections: a hash of node names.
sub read_targets
{
	my ($via, $n) = @_;
	my %seen;
	for (1 .. $n)
	{
		my $out = through($via, $read_port);
		next unless defined $out;
		my ($port, $standby) = split /\|/, $out;
		$seen{ $by_port{$port} // "port $port" } = $standby;
	}
	return \%seen;
}

#
# Before the failover.
#
my $n1port = $node1->port;
poll_through($node1, $write_port, sub { $_[0] eq "$n1port|f" },
	'write port reaches node1, the primary');
is(through($node1, $write_port, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1) RETURNING id'),
	'1', 'a write through the write port commits');

poll_through($node1, $read_port, sub { $_[0] =~ /\|t$/ },
	'read port reaches a standby');
# Both standbys are in rotation once HAProxy has seen them up twice.
my $seen;
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
do
{
	$seen = read_targets($node1, 6);
} until (keys %$seen == 2 || time() > $deadline);
is(join(',', sort keys %$seen), 'node2,node3',
	'read port reaches both standbys, round-robin');
ok(!grep({ $_ ne 't' } values %$seen), 'read port reaches standbys only');

#
# Failover: the write port follows the new primary; the read port keeps
# to the standby left.
#
$node1->wait_for_catchup($node2);
$node1->wait_for_catchup($node3);
ok(kill9_and_wait($node1), 'node1: killed with SIGKILL');
foreach my $node ($node2, $node3)
{
	poll_ok(
		$node, q{
		SELECT term = 2 AND primary_node IS NOT NULL FROM pgrepl.status},
		$node->name . ': a new primary leads term 2');
}
my $winner_name = query($node2, 'SELECT primary_node FROM pgrepl.status');
my ($winner, $loser) =
  $winner_name eq 'node2' ? ($node2, $node3) : ($node3, $node2);
my $wport = $winner->port;
poll_through($loser, $write_port, sub { $_[0] eq "$wport|f" },
	'write port reaches ' . $winner->name . ', the new primary');
is(through($loser, $write_port, 'INSERT INTO t VALUES (2) RETURNING id'),
	'2', 'a write through the write port commits on the new primary');

my $lport = $loser->port;
poll_through($loser, $read_port, sub { $_[0] eq "$lport|t" },
	'read port reaches ' . $loser->name . ', the standby left');
$seen = read_targets($loser, 6);
is(join(',', sort keys %$seen), $loser->name,
	'read port reaches only the standby left');

$h->kill_kill;
undef $h;
$winner->stop;
$loser->stop;

done_testing();

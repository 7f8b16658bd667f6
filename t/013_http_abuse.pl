# t/013_http_abuse.pl: bad clients leave the HTTP endpoint answering.
#
# One node serving the endpoint is sent garbage, an oversized header, too
# many headers, a request a byte at a time, pipelined requests, a
# slowloris attack (many connections sending a byte now and then), and
# thousands of connections opened and dropped.  Throughout, good requests
# are answered promptly; afterwards the worker is the same process (it
# neither crashed nor was restarted), holds no more file descriptors than
# before, and the monitor still samples on time.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IO::Select;
use IO::Socket::INET;
use PgreplHttp;
use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# Writing to a connection the server closed must not kill the test.
local $SIG{PIPE} = 'IGNORE';

my ($port, $conf) = http_port_conf();
my ($node) = new_cluster(0, extra => { node1 => $conf });
poll_http($port, '/primary', 200, 'the endpoint answers');

my $worker = query($node,
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgrepl http'});
like($worker, qr/^\d+$/, 'the HTTP worker runs');

# Open file descriptors of the worker.
sub worker_fds
{
	opendir(my $d, "/proc/$worker/fd") or return -1;
	my $n = grep { /^\d+$/ } readdir($d);
	closedir($d);
	return $n;
}
my $fds_before = worker_fds();

my ($code, $body);

# Garbage, with a fixed seed so that a failure can be replayed.
srand(42);
my $garbage = join('', map { chr(int(rand(256))) } 1 .. 4096);
($code) = http_raw($port, $garbage);
is($code, 400, 'random bytes: 400');
($code) = http_raw($port, "\0\0\0\0GET / HTTP/1.1\r\n\r\n");
is($code, 400, 'NUL bytes: 400');

# Oversized and overlong requests.
($code) = http_raw($port,
	"GET /health HTTP/1.1\r\nX-Big: " . ('a' x 100_000) . "\r\n\r\n");
is($code, 400, 'a 100 kB header: 400');
($code) = http_raw($port,
	"GET /health HTTP/1.1\r\n" . ("A: b\r\n" x 100) . "\r\n");
is($code, 400, '100 headers: 400');
($code) = http_raw($port, 'GET /' . ('a' x 20_000) . " HTTP/1.1\r\n\r\n");
is($code, 400, 'a 20 kB path: 400');

# A request a byte at a time, and requests pipelined after a first one.
{
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
	  or die "cannot connect: $!";
	foreach my $c (split //, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	{
		syswrite($sock, $c);
		usleep(2_000);
	}
	my $raw = '';
	while (sysread($sock, my $buf, 4096)) { $raw .= $buf; }
	like($raw, qr{^HTTP/1\.1 200 }, 'a request sent a byte at a time: 200');
}
($code, $body, undef, my $raw) = http_raw($port,
	"GET /health HTTP/1.1\r\n\r\nGET /primary HTTP/1.1\r\n\r\nGET /status HTTP/1.1\r\nConnection: close\r\n\r\n");
is($code, 200, 'pipelined requests: the first is answered');
is(() = $raw =~ m{HTTP/1\.1 200 }g, 3, 'pipelined requests on a kept-alive connection: all three');
like($raw, qr/Connection: keep-alive.*Connection: keep-alive.*Connection: close/s,
	'pipelined requests: the connection is kept until the last asks to close');
($code, $body, undef, $raw) = http_raw($port,
	"GET /health HTTP/1.0\r\n\r\nGET /primary HTTP/1.0\r\n\r\n");
is(() = $raw =~ m{HTTP/1\.1 200 }g, 1, 'pipelined HTTP/1.0 requests: only the first');

# A kept-alive connection carries requests one after another, and is
# closed once it has been idle too long.
{
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
	  or die "cannot connect: $!";
	my $sel = IO::Select->new($sock);
	my $answered = 0;
	foreach my $i (1 .. 5)
	{
		syswrite($sock, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
		# One whole answer: its headers, then Content-Length bytes.
		my $got = '';
		while ($sel->can_read(10))
		{
			sysread($sock, my $buf, 4096) or last;
			$got .= $buf;
			last
			  if $got =~ /\r\nContent-Length: (\d+)\r\n.*?\r\n\r\n(.*)\z/s
			  && length($2) >= $1;
		}
		$answered++ if $got =~ m{\AHTTP/1\.1 200 };
	}
	is($answered, 5, 'five requests in turn on one kept-alive connection');
	my $closed = $sel->can_read(30) && !sysread($sock, my $buf, 4096);
	ok($closed, 'an idle kept-alive connection is closed by the server');
}

# Many requests in a row: each gets its answer and its socket closed.
my $good = 0;
foreach (1 .. 500)
{
	($code) = http_get($port, '/primary');
	$good++ if defined $code && $code == 200;
}
is($good, 500, '500 requests in a row: all answered 200');

#
# Slowloris: 150 connections (more than the worker keeps) each send the
# start of a request and then a byte every 200 ms.  Good requests meanwhile
# are answered at once, and the slow ones are closed by their deadline.
#
my @slow;
foreach (1 .. 150)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
	  or last;
	syswrite($s, "GET /health HTTP/1.1\r\nX-Slow: ");
	push @slow, $s;
}
is(scalar @slow, 150, 'slowloris: 150 connections opened');
my ($served, $tries, $slowest) = (0, 0, 0);
my $until = time() + 3;
while (time() < $until)
{
	syswrite($_, 'a') foreach @slow;
	my $t0 = time();
	($code) = http_get($port, '/health');
	my $took = time() - $t0;
	$slowest = $took if $took > $slowest;
	$tries++;
	$served++ if defined $code && $code == 200;
	usleep(200_000);
}
is($served, $tries, "slowloris: all $tries good requests answered 200");
cmp_ok($slowest, '<', 2, 'slowloris: no good request waited 2 s or more');

# Every slow connection is closed, at the latest by its 5 s deadline.
my $closed = 0;
my $deadline = time() + 15;
foreach my $s (@slow)
{
	$s->blocking(0);
	while (time() < $deadline)
	{
		my $n = sysread($s, my $buf, 4096);
		if (defined $n && $n == 0 || (!defined $n && !$!{EAGAIN} && !$!{EWOULDBLOCK}))
		{
			$closed++;
			last;
		}
		usleep(50_000);
	}
	close $s;
}
is($closed, 150, 'slowloris: the server closed every slow connection');

#
# Thousands of connections, opened without waiting and dropped, some after
# sending a request: in rounds of 500, within the test's own file limit.
#
my $opened = 0;
foreach my $round (1 .. 4)
{
	my @conns;
	foreach my $i (1 .. 500)
	{
		my $s = IO::Socket::INET->new(
			PeerAddr => '127.0.0.1',
			PeerPort => $port,
			Blocking => 0) or next;
		push @conns, $s;
		$opened++;
	}
	# Some finish connecting and send a request they never read.
	usleep(100_000);
	syswrite($_, "GET /metrics HTTP/1.1\r\n\r\n") foreach @conns[ 0 .. 99 ];
	close $_ foreach @conns;
	($code) = http_get($port, '/health');
	is($code, 200, "round $round of 500 connections: the endpoint answers");
}
cmp_ok($opened, '>=', 1900, "thousands of connections opened ($opened)");

#
# Afterwards: the same worker, no descriptor leaked, the monitor on time.
#
poll_http($port, '/primary', 200, 'after the abuse: /primary answers');
is( query($node,
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgrepl http'}),
	$worker, 'the HTTP worker is the same process');
# Lingering connections close within a second of their answer.
$deadline = time() + 10;
usleep(100_000) while worker_fds() > $fds_before && time() < $deadline;
cmp_ok(worker_fds(), '<=', $fds_before, 'the HTTP worker holds no more descriptors than before');
is(query($node, q{SELECT sample_age < interval '2 seconds' FROM pgrepl.status}),
	't', 'the monitor samples on time');
ok(!grep(/pgrepl HTTP endpoint could not answer|TRAP|terminated by signal/,
		slurp_file($node->logfile)),
	'the server log has no error from the endpoint');

$node->stop;

done_testing();

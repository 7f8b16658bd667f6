# t/PgreplHttp.pm: what the tests of pgrepl's HTTP endpoint share.
#
# A minimal HTTP client over a raw socket, so that a test controls every
# byte it sends (the abuse tests send malformed requests on purpose) and
# needs no module beyond Perl's own; a polling assertion on a status code;
# and free ports for the endpoint.  Every read has a deadline.

package PgreplHttp;

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(http_port_conf http_raw http_get poll_http);

# Settings that turn the endpoint on at a free port; returns the port too.
sub http_port_conf
{
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	return ($port,
		"pgrepl.http_port = $port\npgrepl.http_listen_addresses = '127.0.0.1'\n");
}

# Send $request as is to 127.0.0.1:$port and read until the server closes
# or $timeout seconds pass.  Returns (status, body, headers, raw): status
# is undef if no status line came back (connection refused, timeout).
sub http_raw
{
	my ($port, $request, $timeout) = @_;
	$timeout //= 10;

	my $sock = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $port,
		Proto => 'tcp',
		Timeout => $timeout);
	return (undef, '', '', '') unless $sock;
	$sock->autoflush(1);
	syswrite($sock, $request) if length $request;

	my $sel = IO::Select->new($sock);
	my $raw = '';
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		last unless $sel->can_read($deadline - time());
		my $n = sysread($sock, my $buf, 65536);
		last unless $n;
		$raw .= $buf;
	}
	close $sock;

	return (undef, '', '', $raw)
	  unless $raw =~ m{\AHTTP/1\.1 (\d{3}) [^\r\n]*\r\n(.*?)\r\n\r\n(.*)\z}s;
	return ($1, $3, $2, $raw);
}

# GET $path, on a connection of its own that the server closes after the
# answer; returns (status, body) like http_raw.
sub http_get
{
	my ($port, $path) = @_;
	my ($status, $body) = http_raw($port,
		"GET $path HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pgrepl-test\r\nConnection: close\r\n\r\n");
	return ($status, $body);
}

# Poll GET $path until it answers $status (and the body matches $like, a
# regex, if given), at most the test suite's default timeout; a test named
# $name.  Returns the body.
sub poll_http
{
	my ($port, $path, $status, $name, $like) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my ($got, $body);

	while (1)
	{
		($got, $body) = http_get($port, $path);
		last
		  if defined $got
		  && $got eq $status
		  && (!defined $like || $body =~ $like);
		last if time() > $deadline;
		usleep(100_000);
	}
	is($got // 'no answer', $status, $name)
	  or diag("GET $path on port $port: " . ($body // ''));
	like($body, $like, "$name: body") if defined $like;
	return $body;
}

1;

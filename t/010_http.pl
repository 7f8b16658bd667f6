# t/010_http.pl: the HTTP endpoint on a primary, standbys, a witness, a
# fenced primary, and across a failover.
#
# Three data nodes and a witness, each serving the endpoint.  Every
# endpoint's status code and body is checked on each kind of node; then
# /replica?max_lag= on a standby whose replay is paused while the primary
# writes, and again once replay resumes; then the primary is killed and
# /primary answers 200 on the new primary only; last, the new primary
# loses the last standby and, without a majority, fences itself, which
# /primary, /status and /metrics report.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run qw(run);
use JSON::PP;
use PgreplHttp;
use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;

# Whether promtool (Debian package prometheus) can be run.
sub promtool_found
{
	return scalar grep { -x "$_/promtool" } split(/:/, $ENV{PATH});
}

my (%port, %conf);
foreach my $name (qw(node1 node2 node3 witness))
{
	($port{$name}, $conf{$name}) = http_port_conf();
}

my @nodes = new_cluster(2, extra => { map { $_ => $conf{$_} } qw(node1 node2 node3) });
my ($node1, $node2, $node3) = @nodes;
my $witness = new_witness('witness', $node1, $node2, $node3);
$witness->append_conf('postgresql.conf', $conf{witness});
$witness->reload;

poll_ok($node1, q{SELECT term = 1 AND NOT fenced FROM pgrepl.status},
	'node1 leads term 1, unfenced');

# The check hook refuses a list with an empty address.
my ($ret, $stdout, $stderr) = $node1->psql('postgres',
	q{ALTER SYSTEM SET pgrepl.http_listen_addresses = '127.0.0.1,,::1'});
like($stderr, qr/invalid value for parameter "pgrepl.http_listen_addresses"/,
	'node1: an empty listen address is refused');

#
# The primary.
#
my $p1 = $port{node1};
poll_http($p1, '/primary', 200, 'node1: /primary', qr/^primary of term 1$/m);
poll_http($p1, '/read-write', 200, 'node1: /read-write');
poll_http($p1, '/replica', 503, 'node1: /replica',
	qr/^this node is not a standby$/m);
poll_http($p1, '/read-only', 503, 'node1: /read-only');
poll_http($p1, '/health', 200, 'node1: /health', qr/^ok$/m);

my $status = decode_json(poll_http($p1, '/status', 200, 'node1: /status'));
is_deeply(
	[ @$status{qw(node_name kind role term primary leads_term)} ],
	[ 'node1', 'data', 'primary', 1, 'node1', JSON::PP::true ],
	'node1: /status names it the primary of term 1');
ok(!$status->{fenced} && $status->{writable_primary},
	'node1: /status says it is writable and not fenced');
is(scalar @{ $status->{nodes} }, 4, 'node1: /status lists the four members');
is( join(',', sort map { $_->{name} } @{ $status->{standbys} }),
	'node2,node3', 'node1: /status lists both standbys');

my $metrics = poll_http($p1, '/metrics', 200, 'node1: /metrics');
like($metrics, qr/^pgrepl_writable_primary 1$/m,
	'node1: /metrics says writable primary');
like($metrics, qr/^pgrepl_role\{role="primary"\} 1$/m,
	'node1: /metrics role primary');
like($metrics, qr/^pgrepl_term 1$/m, 'node1: /metrics term');
like($metrics, qr/^pgrepl_needs_rejoin 0$/m, 'node1: /metrics says no rejoin needed');
like($metrics, qr/^pgrepl_standby_lag_bytes\{standby="node2",stage="replay"\} \d+$/m,
	'node1: /metrics has replay lag bytes of node2');
like($metrics, qr/^pgrepl_peer_up\{peer="witness"\} 1$/m,
	'node1: /metrics sees the witness up');
like($metrics, qr/^pgrepl_elections_total 0$/m, 'node1: no election yet');

# What is not a known endpoint, or not a GET, or not HTTP.
my ($code, $body) = http_get($p1, '/nope');
is($code, 404, 'node1: unknown path is 404');
($code, $body) = http_get($p1, '/primary?x=1');
is($code, 400, 'node1: a parameter /primary does not take is 400');
my $headers;
($code, $body, $headers) = http_raw($p1, "POST /primary HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
is($code, 405, 'node1: POST is 405');
like($headers, qr/^Allow: GET, HEAD$/m, 'node1: the 405 says which methods are');

# HEAD answers as GET does, without the body, also on a kept-alive
# connection: a HEAD, a HEAD that is refused, then a GET.  Were a body sent,
# the GET's answer would not begin where the headers end.
(undef, undef, undef, my $raw) = http_raw($p1,
	"HEAD /primary HTTP/1.1\r\nHost: x\r\n\r\n"
	  . "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"
	  . "GET /primary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
my ($head_length) = $raw =~
  m{\AHTTP/1\.1\ 200\ OK\r\n(?:[^\r\n]+\r\n)*?Content-Length:\ (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n
	   HTTP/1\.1\ 404\ [^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n
	   HTTP/1\.1\ 200\ OK\r\n(?:[^\r\n]+\r\n)*\r\nprimary\ of\ term\ 1\n\z}x;
ok(defined $head_length,
	'node1: HEAD answers headers only, then the next request is answered')
  or diag($raw);
is($head_length, length("primary of term 1\n"),
	"node1: HEAD's Content-Length is that of GET's body");
($code, $body) = http_raw($p1, "this is no HTTP\r\n\r\n");
is($code, 400, 'node1: garbage is 400');

#
# A standby.
#
my $p2 = $port{node2};
poll_http($p2, '/replica', 200, 'node2: /replica', qr/^streaming standby$/m);
poll_http($p2, '/read-only', 200, 'node2: /read-only');
poll_http($p2, '/replica?max_lag=10MB', 200, 'node2: /replica within 10MB');
poll_http($p2, '/replica?max_lag=5s', 200, 'node2: /replica within 5s');
poll_http($p2, '/primary', 503, 'node2: /primary', qr/^this node is a standby$/m);
poll_http($p2, '/health', 200, 'node2: /health');
($code, $body) = http_get($p2, '/replica?max_lag=10parsecs');
is($code, 400, 'node2: a bad max_lag is 400');
$status = decode_json(poll_http($p2, '/status', 200, 'node2: /status'));
is_deeply(
	[ @$status{qw(role term primary)} ],
	[ 'standby', 1, 'node1' ],
	'node2: /status names node1 the primary');
ok($status->{streaming_standby} && !$status->{writable_primary},
	'node2: /status says streaming standby');
$metrics = poll_http($p2, '/metrics', 200, 'node2: /metrics');
like($metrics, qr/^pgrepl_streaming_standby 1$/m, 'node2: /metrics streaming');
like($metrics, qr/^pgrepl_replay_lag_bytes \d+$/m,
	'node2: /metrics has its replay lag');
like($metrics,
	qr/^pgrepl_hot_standby_conflicts_total\{datname="postgres",reason="snapshot"\} 0$/m,
	'node2: /metrics counts hot standby conflicts');

#
# The witness.
#
my $pw = $port{witness};
poll_http($pw, '/primary', 503, 'witness: /primary', qr/^this node is a witness$/m);
poll_http($pw, '/replica', 503, 'witness: /replica', qr/^this node is a witness$/m);
poll_http($pw, '/health', 200, 'witness: /health');
$status = decode_json(poll_http($pw, '/status', 200, 'witness: /status'));
is_deeply([ @$status{qw(kind role primary)} ],
	[ 'witness', 'witness', 'node1' ], 'witness: /status');
$metrics = poll_http($pw, '/metrics', 200, 'witness: /metrics');
like($metrics, qr/^pgrepl_role\{role="witness"\} 1$/m, 'witness: /metrics role');

#
# The metrics pass promtool's lint, live on each kind of node, and the
# shipped Prometheus configuration, alert rules (with their unit tests)
# and Grafana dashboard are valid and use only metrics the endpoint
# exports.
#
my $monitoring = "$FindBin::RealBin/../monitoring";
my %exported;
foreach my $name (qw(node1 node2 witness))
{
	my $scrape = poll_http($port{$name}, '/metrics', 200, "$name: scrape");
	$exported{$1} = 1 while $scrape =~ /^# TYPE (\w+) /mg;
	SKIP:
	{
		skip 'promtool is not installed (Debian package prometheus)', 1
		  unless promtool_found();
		my ($out, $err);
		my $ok = run([ 'promtool', 'check', 'metrics' ], '<', \$scrape, '>', \$out, '2>', \$err);
		ok($ok, "$name: promtool check metrics on a live scrape") or diag("$out$err");
	}
}
SKIP:
{
	skip 'promtool is not installed (Debian package prometheus)', 3
	  unless promtool_found();
	foreach my $cmd (
		[ 'check', 'rules', "$monitoring/pgrepl-alerts.yml" ],
		[ 'test', 'rules', "$monitoring/pgrepl-alerts-test.yml" ],
		[ 'check', 'config', "$monitoring/prometheus.yml" ])
	{
		my ($out, $err);
		my $ok = run([ 'promtool', @$cmd ], '>', \$out, '2>', \$err);
		ok($ok, "promtool @$cmd[0..1] on the shipped $cmd->[2]") or diag("$out$err");
	}
}
foreach my $file ('pgrepl-alerts.yml', 'grafana-dashboard.json')
{
	my $text = slurp_file("$monitoring/$file");
	my %used = map { $_ => 1 } ($text =~ /\b(pgrepl_[a-z_]+)\b/g);
	my @unknown = grep { !$exported{$_} } sort keys %used;
	ok(%used && !@unknown, "$file uses only exported metrics")
	  or diag("not exported: @unknown");
}
ok(decode_json(slurp_file("$monitoring/grafana-dashboard.json"))->{panels},
	'the Grafana dashboard is JSON with panels');

#
# /replica?max_lag= flips while replay is paused and the primary writes.
#
$node2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
poll_ok($node2, q{SELECT pg_get_wal_replay_pause_state() = 'paused'},
	'node2: replay paused');
$node1->safe_psql('postgres',
	q{CREATE TABLE filler AS SELECT repeat('x', 1000) AS t FROM generate_series(1, 20000)});
poll_http($p2, '/replica?max_lag=10MB', 503, 'node2: paused, over 10MB behind',
	qr/^lag \d+ bytes over 10485760 bytes$/m);
poll_http($p2, '/replica?max_lag=1s', 503, 'node2: paused, over 1s behind',
	qr/^replay lag [\d.]+ s over 1.000 s$/m);
poll_http($p2, '/replica', 200, 'node2: paused, still a streaming standby');
like(poll_http($p2, '/metrics', 200, 'node2: /metrics while paused'),
	qr/^pgrepl_replay_paused 1$/m, 'node2: /metrics says replay is paused');
$node2->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
poll_http($p2, '/replica?max_lag=10MB', 200, 'node2: resumed, within 10MB');
poll_http($p2, '/replica?max_lag=1s&max_lag=10MB', 200,
	'node2: resumed, within 1s and 10MB');

#
# Failover: /primary answers 200 on the new primary only.
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
my $pwin = $port{ $winner->name };
my $plose = $port{ $loser->name };
poll_http($pwin, '/primary', 200, $winner->name . ': /primary after the failover',
	qr/^primary of term 2$/m);
poll_http($plose, '/primary', 503, $loser->name . ': /primary after the failover');
poll_http($plose, '/replica', 200,
	$loser->name . ': streams from the new primary');
poll_http($pw, '/primary', 503, 'witness: /primary after the failover');
($code) = http_get($p1, '/primary');
ok(!defined $code, 'node1: down, no answer');
$metrics = poll_http($pwin, '/metrics', 200, $winner->name . ': /metrics');
like($metrics, qr/^pgrepl_failovers_total 1$/m,
	$winner->name . ': /metrics counts the failover it won');
like($metrics, qr/^pgrepl_elections_total [1-9]\d*$/m,
	$winner->name . ': /metrics counts the election it stood in');

#
# Fencing: without the last standby, the new primary has two voters of
# four and fences itself.
#
$loser->stop;
poll_http($pwin, '/primary', 503, $winner->name . ': /primary once fenced',
	qr/^this primary is fenced: .*majority/m);
poll_http($pwin, '/health', 200, $winner->name . ': /health while fenced');
$status = decode_json(poll_http($pwin, '/status', 200,
		$winner->name . ': /status while fenced'));
ok($status->{fenced} && !$status->{writable_primary} && $status->{role} eq 'primary',
	$winner->name . ': /status says fenced');
like(poll_http($pwin, '/metrics', 200, $winner->name . ': /metrics while fenced'),
	qr/^pgrepl_fenced 1$/m, $winner->name . ': /metrics says fenced');

$winner->stop;
$witness->stop;

done_testing();

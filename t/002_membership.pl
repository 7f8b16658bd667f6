# t/002_membership.pl: membership and heartbeats of a primary and two
# streaming standbys.
#
# Checks that the primary lists itself in pgrepl.members, and leads term 1
# as the first primary of the cluster; that the standbys, cloned from it,
# join by themselves through the primary, logging in as the documented peer
# role with only the documented grants; that every node then sees every
# member reachable in pgrepl.nodes, in term 1, and the primary as the one
# that leads it, unfenced; that a standby that dies, and one that is frozen
# (postmaster and every child stopped), become unreachable with a reason
# while the primary's monitor keeps sampling and the primary, still heard
# by a majority, keeps committing, and reachable again when they come back,
# without any election; that the peer role can send heartbeats and ask for
# votes (which a healthy cluster refuses) but not read the cluster's
# tables; and that an unregistered member disappears from every node.
#
# Every wait polls with PostgreSQL::Test::Utils' default timeout and is a
# test of its own; when one fails, what pgrepl shows on that node is printed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# With heartbeats every 100ms a peer that does not answer counts as
# unreachable after pgrepl_heartbeat_timeout(), 500ms.  A monitor that
# samples every 200ms has a sample older than this only if a tick stalled.
my $max_sample_age_ms = 1000;

# Processes stopped with SIGSTOP; whatever happens, they are continued
# before PostgreSQL::Test::Cluster shuts the nodes down (this END block runs
# before the one of Cluster.pm, which was compiled first).
my @frozen;

sub thaw
{
	kill 'CONT', @frozen if @frozen;
	@frozen = ();
	return;
}

END { thaw(); }

# Print what pgrepl shows on a node.
sub show_state
{
	my ($node) = @_;

	foreach my $query (
		'SELECT * FROM pgrepl.status',
		'SELECT * FROM pgrepl.nodes',
		'SELECT * FROM pgrepl.members ORDER BY node_name',
		'SELECT * FROM pgrepl.events ORDER BY event_id')
	{
		my ($ret, $stdout, $stderr) =
		  $node->psql('postgres', $query, extra_params => ['-x']);
		diag($node->name . ": $query\n$stdout$stderr");
	}
	return;
}

# Poll $query on $node until it returns true; a test named $name.
sub poll_ok
{
	my ($node, $query, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my $ok = $node->poll_query_until('postgres', $query);
	ok($ok, $name) or show_state($node);
	return $ok;
}

# Poll the Perl condition $cond every 100ms until it holds, for as long as
# poll_query_until would; a test named $name.
sub wait_ok
{
	my ($cond, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my $ok;

	while (!($ok = $cond->()) && time() < $deadline)
	{
		usleep(100_000);
	}
	return ok($ok, $name);
}

# A query's result on $node, with psql's unaligned "a|b" rows.
sub query
{
	my ($node, $query) = @_;

	return $node->safe_psql('postgres', $query);
}

# How peers reach $node: its socket directory and port, as the peer role.
sub conninfo
{
	my ($node) = @_;

	return
	    'host=' . $node->host
	  . ' port=' . $node->port
	  . ' dbname=postgres user=pgrepl_peer';
}

# The state and parent of process $pid from /proc/$pid/stat, or () if it
# is gone.
sub proc_stat
{
	my ($pid) = @_;

	open(my $fh, '<', "/proc/$pid/stat") or return ();
	my $stat = <$fh>;
	close($fh);
	return () unless defined $stat;

	# pid (comm) state ppid ...: comm may hold spaces and parentheses.
	my ($state, $ppid) = $stat =~ /\)\s+(\S+)\s+(\d+)/;
	return defined $ppid ? ($state, $ppid) : ();
}

# The pids of the live children of process $ppid.
sub children_of
{
	my ($ppid) = @_;

	opendir(my $proc, '/proc') or die "could not open /proc: $!";
	my @pids = grep { /^\d+$/ } readdir($proc);
	closedir($proc);

	return grep {
		my ($state, $parent) = proc_stat($_);
		defined $parent && $parent == $ppid && $state ne 'Z'
	} @pids;
}

# Those of @pids that still exist, zombies included: a new postmaster
# refuses to start while the pid in its lock file does.
sub existing
{
	my @pids = @_;

	return grep { kill(0, $_) } @pids;
}

# Those of @pids that are neither stopped by a signal nor gone.
sub running
{
	my @pids = @_;

	return grep {
		my ($state) = proc_stat($_);
		defined $state && $state ne 'T' && $state ne 'Z'
	} @pids;
}

# What pgrepl.nodes on $self_node should say when all of @nodes are
# reachable and answer in their role: itself first, then the others by
# name; "*" marks the row that is_self.
sub expected_nodes
{
	my ($self_node, $primary_node, @nodes) = @_;
	my @others = sort map { $_->name }
	  grep { $_->name ne $self_node->name } @nodes;

	return join(', ',
		map { $_ . ($_ eq $self_node->name ? '*' : '') . ' '
			  . ($_ eq $primary_node->name ? 'primary' : 'standby') }
		  ($self_node->name, @others));
}

# A query true when pgrepl.nodes on a node reads $expected (see
# expected_nodes) and every member is reachable, on timeline 1, with a
# fresh heartbeat and no failure.
sub all_reachable_query
{
	my ($expected) = @_;

	return qq{
	SELECT string_agg(node_name || CASE WHEN is_self THEN '*' ELSE '' END
					  || ' ' || role, ', ' ORDER BY ordinality)
			= '$expected'
		AND bool_and(reachable AND failures = 0 AND last_error IS NULL)
		AND bool_and(timeline = 1 AND wal_lsn IS NOT NULL)
		AND bool_and(heartbeat_age < interval '2 seconds')
	FROM pgrepl.nodes() WITH ORDINALITY};
}

# A query true when pgrepl.nodes shows $name unreachable, with a reason.
sub unreachable_query
{
	my ($name, $extra) = @_;

	$extra = defined $extra ? "AND $extra" : '';
	return qq{
	SELECT coalesce(bool_and(NOT reachable AND failures > 0
							 AND last_error IS NOT NULL $extra), false)
	FROM pgrepl.nodes WHERE node_name = '$name'};
}

#
# A primary with the documented peer role, and two standbys cloned from it.
# Heartbeats every 100ms and samples every 200ms keep the test short.
#
my $primary  = PostgreSQL::Test::Cluster->new('primary');
my $standby1 = PostgreSQL::Test::Cluster->new('standby1');
my $standby2 = PostgreSQL::Test::Cluster->new('standby2');
my @nodes    = ($primary, $standby1, $standby2);

$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pgrepl'
pgrepl.node_name = 'primary'
pgrepl.node_conninfo = '@{[ conninfo($primary) ]}'
pgrepl.heartbeat_interval = '100ms'
pgrepl.monitor_interval = '200ms'
autovacuum = off
});
$primary->start;

$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION pgrepl;
CREATE ROLE pgrepl_peer LOGIN;
GRANT USAGE ON SCHEMA pgrepl TO pgrepl_peer;
GRANT EXECUTE ON FUNCTION pgrepl.heartbeat(text, bigint, boolean), pgrepl.register_node(text, text, text), pgrepl.request_vote(text, bigint, integer, pg_lsn, boolean) TO pgrepl_peer;
CREATE TABLE write_probe (n int);
});

# Nobody else can list the primary: its monitor does.
poll_ok(
	$primary, qq{
	SELECT string_agg(node_name || ' ' || kind || ' ' || conninfo, ', ')
		= 'primary data @{[ conninfo($primary) ]}'
	FROM pgrepl.members},
	'primary: its monitor lists it in pgrepl.members');

# Alone, it needs no majority: it leads term 1 and may commit.
poll_ok(
	$primary, q{
	SELECT term = 1 AND primary_node = 'primary' AND NOT fenced
	FROM pgrepl.status},
	'primary: it leads term 1, unfenced');

$primary->backup('base');
foreach my $standby ($standby1, $standby2)
{
	my $name = $standby->name;

	$standby->init_from_backup($primary, 'base', has_streaming => 1);
	$standby->append_conf(
		'postgresql.conf', qq{
pgrepl.node_name = '$name'
pgrepl.node_conninfo = '@{[ conninfo($standby) ]}'
});
	$standby->start;
}

#
# The standbys join by themselves.  Every node reads the same members and
# the same history: the primary registered by its monitor, each standby
# through the primary, logged in as pgrepl_peer.
#
my $members = join(', ',
	map { $_->name . ' data ' . conninfo($_) } @nodes);
my $registrations =
    'primary: data node, registered by its own monitor, '
  . 'standby1: data node, registered by pgrepl_peer, '
  . 'standby2: data node, registered by pgrepl_peer';
foreach my $node (@nodes)
{
	my $name = $node->name;

	poll_ok(
		$node, qq{
		SELECT string_agg(node_name || ' ' || kind || ' ' || conninfo, ', '
						  ORDER BY node_name) = '$members'
		FROM pgrepl.members},
		"$name: pgrepl.members lists the three nodes");
	poll_ok(
		$node, qq{
		SELECT string_agg(node_name || ': ' || detail, ', '
						  ORDER BY node_name) = '$registrations'
			AND count(DISTINCT event_id) = 3
		FROM pgrepl.events WHERE event = 'node registered'},
		"$name: pgrepl.events has one registration per node");
}
foreach my $standby ($standby1, $standby2)
{
	my $name = $standby->name;

	ok( $standby->log_contains(
			qr/pgrepl registered node "$name" with primary "primary"/),
		"$name: its monitor logged that it registered through the primary");
}

#
# Every node sees the three, itself first, reachable in their roles on one
# timeline.
#
foreach my $node (@nodes)
{
	poll_ok(
		$node,
		all_reachable_query(expected_nodes($node, $primary, @nodes)),
		$node->name . ': pgrepl.nodes shows every member reachable');
}

#
# All in term 1, which the primary leads: every node names it and none is
# fenced.  The primary recorded once that it leads, and the standbys have
# that history too.
#
foreach my $node (@nodes)
{
	my $name = $node->name;

	poll_ok(
		$node, q{
		SELECT term = 1 AND primary_node = 'primary' AND NOT fenced
			AND fence_reason IS NULL
			AND (SELECT bool_and(term = 1) FROM pgrepl.nodes)
		FROM pgrepl.status},
		"$name: every member is in term 1, led by the primary, unfenced");
	poll_ok(
		$node, q{
		SELECT string_agg(node_name || ' ' || event || ' ' || term || ': '
						  || detail, ', ')
			= 'primary leading 1: first primary of the cluster'
		FROM pgrepl.events WHERE term IS NOT NULL},
		"$name: pgrepl.events records once that the primary leads term 1");
}

# A query true once the primary, unfenced, committed a write; each call
# writes another number.  (A fenced primary would fail the commit, and
# psql print nothing but the error.)
my $writes = 0;

sub primary_writes_query
{
	$writes++;
	return qq{
	WITH w AS (INSERT INTO write_probe VALUES ($writes) RETURNING n)
	SELECT count(*) = 1 AND (SELECT NOT fenced FROM pgrepl.status)
	FROM w};
}

#
# standby1 dies: the primary and standby2 count it as unreachable, and say
# why, while the primary's monitor goes on sampling.  With two of three
# voters the primary keeps its majority, so it goes on committing.
#
my ($worker_pid) = query($primary, 'SELECT worker_pid FROM pgrepl.status');
my @standby1_pids = ($standby1->{_pid}, children_of($standby1->{_pid}));
$standby1->kill9;

foreach my $node ($primary, $standby2)
{
	poll_ok(
		$node,
		unreachable_query('standby1'),
		$node->name . ': standby1 becomes unreachable after it died');
}
my $seen_at = query($primary, 'SELECT clock_timestamp()');
poll_ok(
	$primary, qq{
	SELECT worker_pid = $worker_pid AND sample_time > '$seen_at'
	FROM pgrepl.status},
	'primary: the same monitor keeps sampling with standby1 dead');
poll_ok($primary, primary_writes_query(),
	'primary: it commits writes with standby1 dead');

# Its processes exit with the postmaster, and once they are reaped it can
# start again.
wait_ok(sub { !existing(@standby1_pids) },
	'standby1: every process of the killed postmaster is gone')
  or diag('standby1: still there: ' . join(' ', existing(@standby1_pids)));
$standby1->start;

foreach my $node (@nodes)
{
	poll_ok(
		$node,
		all_reachable_query(expected_nodes($node, $primary, @nodes)),
		$node->name . ': every member is reachable after standby1 restarted');
}

#
# standby2 freezes: its postmaster and every child stop, so that even the
# backends serving the peers' connections are silent.  The heartbeat in
# flight times out, then so do the attempts to connect again, and the
# primary's monitor never stalls on any of them: its sample stays fresh
# all along.
#
my $log_offset = -s $primary->logfile;
my $frozen_at  = query($primary, 'SELECT clock_timestamp()');
my $postmaster = $standby2->{_pid};

# The postmaster first, so that it starts no child while we look.
@frozen = ($postmaster);
kill 'STOP', $postmaster;
my @children = children_of($postmaster);
push @frozen, @children;
kill 'STOP', @children;
ok(scalar(@children) > 0, 'standby2: its postmaster has children');
wait_ok(sub { !running(@frozen) },
	'standby2: its postmaster and all its children are stopped')
  or diag('standby2: still running: ' . join(' ', running(@frozen)));

# Poll on the primary until standby2 failed at least three times, the last
# one connecting, watching how old the primary's sample gets meanwhile.
my $frozen_query = unreachable_query('standby2',
	q{failures >= 3 AND last_error = 'timed out connecting'});
my $age_query = qq{
	SELECT ($frozen_query),
		(SELECT (extract(epoch FROM sample_age) * 1000)::int
		 FROM pgrepl.status)};
my $max_age = 0;
my $seen_frozen = 0;
wait_ok(
	sub {
		my ($done, $age) = split(/\|/, query($primary, $age_query));
		$max_age = $age if $age > $max_age;
		$seen_frozen = ($done eq 't');
		return $seen_frozen;
	},
	'primary: standby2 becomes unreachable, connecting to it times out')
  or show_state($primary);
cmp_ok($max_age, '<', $max_sample_age_ms,
	'primary: its sample stayed fresh while standby2 was frozen');
poll_ok(
	$primary, qq{
	SELECT worker_pid = $worker_pid
		AND sample_time > '$frozen_at'::timestamptz + interval '1 second'
		AND sample_age < interval '$max_sample_age_ms ms'
	FROM pgrepl.status},
	'primary: the same monitor keeps sampling with standby2 frozen');
poll_ok($primary, primary_writes_query(),
	'primary: it commits writes with standby2 frozen');
ok( $primary->log_contains(
		qr/pgrepl lost contact with node "standby2": timed out waiting for an answer/,
		$log_offset),
	'primary: it logged that standby2 stopped answering');
poll_ok(
	$standby1,
	unreachable_query('standby2', q{last_error LIKE 'timed out%'}),
	'standby1: standby2 becomes unreachable too');

# Thawed, standby2 answers again, to everybody.
thaw();
foreach my $node (@nodes)
{
	poll_ok(
		$node,
		all_reachable_query(expected_nodes($node, $primary, @nodes)),
		$node->name . ': every member is reachable after standby2 resumed');
}
ok( $primary->log_contains(
		qr/pgrepl regained contact with node "standby2"/, $log_offset),
	'primary: it logged that standby2 answers again');

# A standby that died or froze caused no election: every node is still in
# term 1, led by the primary, and the history records no other leader.
foreach my $node (@nodes)
{
	my $name = $node->name;

	poll_ok(
		$node, q{
		SELECT term = 1 AND primary_node = 'primary' AND NOT fenced
			AND (SELECT bool_and(term = 1) FROM pgrepl.nodes)
			AND (SELECT count(*) = 1 FROM pgrepl.events
				 WHERE term IS NOT NULL)
		FROM pgrepl.status},
		"$name: still in term 1 under the primary, with no election");
}

#
# The peer role can send heartbeats and ask for votes, and nothing more:
# not read the cluster's tables, not change the membership.  In a healthy
# cluster every node refuses its vote, since each still hears the primary:
# the primary itself, and a standby (asked for a pre-vote, a dry run).
#
my $peer_connstr = $primary->connstr('postgres') . ' user=pgrepl_peer';
my ($ret, $stdout, $stderr) = $primary->psql(
	'postgres',
	q{SELECT node_name, role, term, leader FROM pgrepl.heartbeat('x', 0, false)},
	connstr => $peer_connstr);
is($ret, 0, 'pgrepl_peer: pgrepl.heartbeat() succeeds');
is($stdout, 'primary|primary|1|t',
	'pgrepl_peer: the primary answers as such, leading term 1');

# The primary votes for no successor; a standby refuses while it hears the
# primary.
foreach my $case ([ $primary, 'this node is the primary of term 1' ],
	[ $standby2, 'this node still hears a primary' ])
{
	my ($node, $reason) = @$case;
	my $name = $node->name;

	($ret, $stdout, $stderr) = $node->psql(
		'postgres', q{
		SELECT voter_term, granted, reason
		FROM pgrepl.request_vote('x', 2, 1, 'FFFFFFFF/FFFFFFFF', true)},
		connstr => $node->connstr('postgres') . ' user=pgrepl_peer');
	is($ret, 0, "pgrepl_peer: pgrepl.request_vote() succeeds on $name");
	is($stdout, "1|f|$reason", "$name: refuses its vote: $reason");
}

($ret, $stdout, $stderr) = $primary->psql(
	'postgres', 'SELECT * FROM pgrepl.members',
	connstr => $peer_connstr);
isnt($ret, 0, 'pgrepl_peer: reading pgrepl.members fails');
like(
	$stderr,
	qr/ERROR:  permission denied for table members/,
	'pgrepl_peer: permission denied for pgrepl.members');

($ret, $stdout, $stderr) = $primary->psql(
	'postgres', q{SELECT pgrepl.unregister_node('standby1')},
	connstr => $peer_connstr);
like(
	$stderr,
	qr/ERROR:  permission denied for function unregister_node/,
	'pgrepl_peer: permission denied for pgrepl.unregister_node()');

#
# standby1 stops and is unregistered: it leaves pgrepl.nodes on the primary
# and on standby2, and the history says so.  (A member that still runs
# would register itself again through the primary.)
#
$standby1->stop;
query($primary, q{SELECT pgrepl.unregister_node('standby1')});

foreach my $node ($primary, $standby2)
{
	my $name = $node->name;

	poll_ok(
		$node,
		all_reachable_query(expected_nodes($node, $primary, $primary, $standby2)),
		"$name: pgrepl.nodes no longer lists standby1");
	poll_ok(
		$node, q{
		SELECT count(*) = 1 FROM pgrepl.events
		WHERE node_name = 'standby1' AND event = 'node unregistered'},
		"$name: pgrepl.events records that standby1 was unregistered");
	is( query(
			$node, q{
			SELECT string_agg(node_name, ', ' ORDER BY node_name)
			FROM pgrepl.members}),
		'primary, standby2',
		"$name: pgrepl.members lists primary and standby2");
}

$standby2->stop;
$primary->stop;

done_testing();

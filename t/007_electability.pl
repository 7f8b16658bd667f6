# t/007_electability.pl: who may win an election, and who may not.
#
# Five three-node clusters, each losing its primary:
#
# - tie: the two standbys hold identical WAL.  Exactly one wins, the other
#   votes for it and follows it; the tie goes to the higher priority, even
#   when the other refuses its first rounds.
# - slow: the standby that wins takes long to be promoted.  The other,
#   which voted for it, does not depose it meanwhile by winning a later
#   term.
# - race: long after the primary was lost, the standbys become electable
#   one right after the other.  Exactly one is promoted.
# - lag: both standbys lack more WAL than pgrepl.maximum_lag_on_failover.
#   Neither stands for election, and each logs and shows why; once the
#   limit is raised on one, it is elected, so that nothing else kept it
#   from it.
# - prio: the only standby with all the WAL has pgrepl.priority = 0, the
#   other lacks too much: nothing is promoted.  Once the priority is
#   raised, the first is elected, so that nothing else kept it from it.
#
# slow and race check that a standby that granted its vote does not stand
# for the next term at once, and that a winner still in recovery does not
# grant it: either would depose the winner as soon as it is promoted.
#
# A standby is made to lack WAL by freezing, with SIGSTOP, the WAL sender
# that feeds it, and killing it with its primary: what the standby received
# is then exactly what it had before the freeze, whatever TCP buffered.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PgreplTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

# pgrepl.failover_timeout at its default, in seconds.
my $failover_timeout = 1.5;

# Whatever happens, no process is left frozen behind: the nodes could not
# be shut down.
my @frozen;
END { thaw(@frozen) if @frozen; }

# Poll $query on $node until it returns true, for at most $seconds; no
# test of its own, for checks that, should a winner be deposed, must not
# hold the run up for the whole default timeout.
sub poll_within
{
	my ($node, $query, $seconds) = @_;
	my $deadline = time() + $seconds;

	do
	{
		my ($ret, $stdout) = $node->psql('postgres', $query);
		return 1 if $ret == 0 && $stdout eq 't';
		Time::HiRes::usleep(100_000);
	} while (time() < $deadline);
	return 0;
}

# Wait until $regexp matches $node's log after $offset; a test named $name.
# Returns the log's size then, as an offset for the next wait.
sub log_ok
{
	my ($node, $regexp, $offset, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my $end = eval { $node->wait_for_log($regexp, $offset) };
	ok(defined $end, $name) or show_state($node);
	return $end // -s $node->logfile;
}

# The part of $node's log after $offset.
sub log_since
{
	my ($node, $offset) = @_;

	return PostgreSQL::Test::Utils::slurp_file($node->logfile, $offset);
}

# Poll, on $node, until pgrepl.nodes shows that $dead has not answered for
# three failover timeouts: by then any standby that could stand for
# election would have.
sub wait_three_timeouts
{
	my ($node, $dead) = @_;
	my $wait = 3 * $failover_timeout;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	return poll_ok(
		$node, qq{
		SELECT NOT reachable AND heartbeat_age > interval '$wait seconds'
		FROM pgrepl.nodes WHERE node_name = '${\ $dead->name }'},
		$node->name . ': has not heard ' . $dead->name . " for ${wait}s");
}

# Wait until every node of @standbys agrees that $term is led by one of
# them, and return that one (undef if they do not agree).
sub elected
{
	my ($term, @standbys) = @_;
	my $names = join(', ', map { "'" . $_->name . "'" } @standbys);
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	foreach my $node (@standbys)
	{
		poll_ok(
			$node, qq{
			SELECT term = $term AND primary_node IN ($names)
			FROM pgrepl.status},
			$node->name . ": a new primary leads term $term");
	}
	my %named = map { query($_, 'SELECT primary_node FROM pgrepl.status') => 1 }
	  @standbys;
	my @names = keys %named;
	is(scalar @names, 1, 'the standbys agree on the new primary')
	  or return undef;
	my ($winner) = grep { $_->name eq $names[0] } @standbys;
	return $winner;
}

# $winner is a primary that may commit, and every node of @followers a
# standby streaming from it.
sub check_followed
{
	my ($winner, @followers) = @_;
	my $port = $winner->port;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	poll_ok(
		$winner, q{
		SELECT role = 'primary' AND NOT fenced FROM pgrepl.status},
		$winner->name . ': promoted, may commit');
	foreach my $node (@followers)
	{
		is(query($node, 'SELECT pg_is_in_recovery()'),
			't', $node->name . ': still a standby');
		poll_ok(
			$node, qq{
			SELECT status = 'streaming' AND sender_port = $port
			FROM pgrepl.wal_receiver},
			$node->name . ': streams from ' . $winner->name);
	}
	return;
}

# Freeze the WAL senders of $primary that feed @standbys: from now on they
# receive nothing.  Returns the senders' pids.
sub freeze_senders
{
	my ($primary, @standbys) = @_;
	my $names = join(', ', map { "'" . $_->name . "'" } @standbys);
	my @pids = split(
		/\n/,
		query(
			$primary, qq{
			SELECT pid FROM pg_stat_replication
			WHERE application_name IN ($names) AND state = 'streaming'}));
	is(scalar @pids, scalar @standbys,
		$primary->name . ': one WAL sender per standby to freeze');
	push @frozen, @pids;
	kill('STOP', @pids);
	return @pids;
}

# Kill $primary with SIGKILL, then its frozen WAL senders, which would
# otherwise send what they hold when continued.
sub kill_primary_and_senders
{
	my ($primary, @senders) = @_;

	ok(kill9_and_wait($primary), $primary->name . ': killed with SIGKILL');
	kill('KILL', @senders);
	my %gone = map { $_ => 1 } @senders;
	@frozen = grep { !$gone{$_} } @frozen;
	return;
}

# Write $mb megabytes of WAL on $node in one transaction.
sub write_wal_mb
{
	my ($node, $mb) = @_;

	$node->safe_psql('postgres',
		"SELECT count(pg_logical_emit_message(true, 'pgrepl', repeat('x', 1024 * 1024))) FROM generate_series(1, $mb)"
	);
	return;
}

#
# tie: two standbys with identical WAL.  The primary is shut down cleanly,
# so that its WAL senders send all of it, to the last record, before they
# exit.  tie3 has the higher priority, so it should win although its name
# comes second.  tie2 gives up on tie1 half a second later than tie3 does,
# so it refuses tie3's first rounds, as a voter that heard the primary last
# does: tie3 must still win within the head start tie2 gives it.
# Heartbeats every 250 ms make that head start (a heartbeat timeout) a
# second, twice the longest pause between tie3's rounds then.
#
{
	my $heartbeats = "pgrepl.heartbeat_interval = '250ms'\n";
	my ($tie1, $tie2, $tie3) = new_cluster(
		2,
		prefix => 'tie',
		extra => {
			tie1 => $heartbeats,
			tie2 => $heartbeats
			  . "pgrepl.failover_timeout = '"
			  . 1000 * ($failover_timeout + 0.5) . "ms'\n",
			tie3 => $heartbeats . "pgrepl.priority = 200\n"
		});

	$tie1->safe_psql('postgres',
		'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
	$tie1->wait_for_catchup($_) foreach ($tie2, $tie3);
	my %offset = map { $_->name => -s $_->logfile } ($tie2, $tie3);

	$tie1->stop('fast');
	my ($controldata) = run_command([ 'pg_controldata', $tie1->data_dir ]);
	my ($checkpoint) =
	  $controldata =~ /^Latest checkpoint location:\s+(\S+)$/m;
	ok(defined $checkpoint, "tie1: stopped, shutdown checkpoint at $checkpoint");
	foreach my $node ($tie2, $tie3)
	{
		poll_ok($node, qq{SELECT pg_last_wal_receive_lsn() > '$checkpoint'},
			$node->name . ': received the shutdown checkpoint');
	}
	my $lsn2 = query($tie2, 'SELECT pg_last_wal_receive_lsn()');
	is(query($tie3, 'SELECT pg_last_wal_receive_lsn()'),
		$lsn2, "tie2 and tie3 hold identical WAL, up to $lsn2");

	my $winner = elected(2, $tie2, $tie3);
	my $loser = $winner == $tie2 ? $tie3 : $tie2;
	my ($wname, $lname) = ($winner->name, $loser->name);

	like(log_since($tie3, $offset{tie3}),
		qr/pgrepl node "tie2" refused its vote in term 2 \(pre-vote\)/,
		'tie3: tie2 refused its first round');

	log_ok(
		$loser,
		qr/pgrepl granted its vote for node "$wname" in term 2/,
		$offset{$lname}, "$lname: voted for $wname in term 2");
	check_followed($winner, $loser);
	like(
		query(
			$winner, q{
			SELECT string_agg(detail, '; ') FROM pgrepl.events
			WHERE event = 'elected'}),
		qr/^elected with 2 of 3 votes: $wname, $lname$/,
		"$wname: pgrepl.events records one election, won with both votes");
	unlike(log_since($loser, $offset{$lname}),
		qr/won the election/, "$lname: never won an election");
	is(query($_, 'SELECT term FROM pgrepl.status'),
		'2', $_->name . ': still in term 2')
	  foreach ($winner, $loser);

	# A round that can no longer be won (tie2 refused, tie1 never answers)
	# is tried again at once, not after its deadline and a backoff.
	is($wname, 'tie3',
		'the tie went to the higher priority (tie3 at 200, tie2 at 100)');

	$_->stop foreach ($winner, $loser);
}

#
# slow: the standby that wins takes long to be promoted (its startup
# process is frozen, as when it has much WAL to replay first).  The other
# voted for it; it must not depose it by winning term 3 meanwhile.
#
{
	# slow3 starts with failover off, so that slow2 wins term 2 whatever
	# the timing; it is turned on once slow3 has voted for slow2.
	my ($slow1, $slow2, $slow3) = new_cluster(2,
		prefix => 'slow',
		extra => { slow3 => "pgrepl.failover = off\n" });

	$slow1->safe_psql('postgres',
		'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
	$slow1->wait_for_catchup($_) foreach ($slow2, $slow3);
	my %offset = map { $_->name => -s $_->logfile } ($slow2, $slow3);

	my $startup = query($slow2,
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'});
	like($startup, qr/^\d+$/, 'slow2: found its startup process');
	push @frozen, $startup;
	kill('STOP', $startup);

	ok(kill9_and_wait($slow1), 'slow1: killed with SIGKILL');
	log_ok(
		$slow2,
		qr/pgrepl node "slow2" won the election for term 2/,
		$offset{slow2}, 'slow2: won term 2');
	log_ok(
		$slow3,
		qr/pgrepl granted its vote for node "slow2" in term 2/,
		$offset{slow3}, 'slow3: voted for slow2 in term 2');
	$slow3->safe_psql('postgres', 'ALTER SYSTEM SET pgrepl.failover = on');
	$slow3->reload;

	# slow3 hears no primary: slow2 cannot finish its promotion.  Poll
	# until long after slow3 stood for term 3 (once slow2's head start as
	# the better candidate is over).
	wait_three_timeouts($slow3, $slow1);
	is(query($slow2, 'SELECT pg_is_in_recovery()'),
		't', 'slow2: still being promoted');
	my $kept = query($slow3, 'SELECT pg_is_in_recovery()') eq 't'
	  && query($slow2, 'SELECT term FROM pgrepl.status') eq '2'
	  && query($slow3, 'SELECT term FROM pgrepl.status') eq '2';
	ok($kept, 'slow3 neither promoted nor past term 2 while slow2 is being promoted')
	  or diag(log_since($slow3, $offset{slow3}));

	thaw($startup);
	@frozen = grep { $_ != $startup } @frozen;
  SKIP:
	{
		skip 'slow3 took term 3 from slow2', 5 unless $kept;
		check_followed($slow2, $slow3);
		is(query($_, 'SELECT term FROM pgrepl.status'),
			'2', $_->name . ': term 2 after the promotion')
		  foreach ($slow2, $slow3);
		unlike(log_since($slow3, $offset{slow3}),
			qr/won the election/, 'slow3: never won an election');
	}

	$_->stop foreach ($slow2, $slow3);
}

#
# race: both standbys have failover off when the primary is lost, and turn
# it on one right after the other, long after: the first stands for
# election and wins with the vote of the second, which then stands at once,
# since nobody gets a head start this long after the primary was heard.
# Exactly one must be promoted.
#
{
	my ($race1, $race2, $race3) = new_cluster(
		2,
		prefix => 'race',
		extra => {
			race2 => "pgrepl.failover = off\n",
			race3 => "pgrepl.failover = off\n"
		});

	$race1->safe_psql('postgres',
		'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
	$race1->wait_for_catchup($_) foreach ($race2, $race3);
	my %offset = map { $_->name => -s $_->logfile } ($race2, $race3);

	ok(kill9_and_wait($race1), 'race1: killed with SIGKILL');
	wait_three_timeouts($race2, $race1);
	wait_three_timeouts($race3, $race1);
	is(query($_, 'SELECT pg_is_in_recovery() AND term = 1 FROM pgrepl.status'),
		't', $_->name . ': still a standby in term 1, with failover off')
	  foreach ($race2, $race3);

	# Failover on, on race2 and then on race3.
	foreach my $node ($race2, $race3)
	{
		$node->append_conf('postgresql.conf', "pgrepl.failover = on\n");
		$node->reload;
	}

	# Some node is elected and may commit; then exactly one of them left
	# recovery, and the other follows it.  The wait is bounded by a minute,
	# not the default timeout: were the winner deposed, both nodes could end
	# up fenced for good, and this would wait in vain.
	my $done = q{
		SELECT primary_node IS NOT NULL AND NOT fenced FROM pgrepl.status};
	my $settled = poll_within($race2, $done, 60) && poll_within($race3, $done, 60);
	my @promoted =
	  grep { query($_, 'SELECT pg_is_in_recovery()') eq 'f' } ($race2, $race3);
	ok($settled, 'race2 and race3 name a primary, unfenced');
	is(join(',', map { $_->name } @promoted),
		query($race2, 'SELECT primary_node FROM pgrepl.status'),
		'exactly one standby was promoted: the one both name')
	  or diag(log_since($race2, $offset{race2}),
		log_since($race3, $offset{race3}));
  SKIP:
	{
		skip 'no single primary was elected', 3
		  unless $settled && @promoted == 1;
		my ($winner) = @promoted;
		check_followed($winner, $winner == $race2 ? $race3 : $race2);
	}

	$_->stop foreach ($race2, $race3);
}

#
# lag: both standbys lack more WAL than the limit.  Neither is electable,
# though each would get the other's vote: only the limit keeps them from
# being promoted.
#
{
	my $limit = "pgrepl.maximum_lag_on_failover = '1MB'\n";
	my ($lag1, $lag2, $lag3) = new_cluster(
		2,
		prefix => 'lag',
		extra => { lag1 => $limit, lag2 => $limit, lag3 => $limit });

	$lag1->safe_psql('postgres',
		'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
	$lag1->wait_for_catchup($_) foreach ($lag2, $lag3);
	my %offset = map { $_->name => -s $_->logfile } ($lag2, $lag3);

	my @senders = freeze_senders($lag1, $lag2, $lag3);
	write_wal_mb($lag1, 8);
	foreach my $node ($lag2, $lag3)
	{
		poll_ok(
			$node, q{
			SELECT lag_bytes > 4 * 1024 * 1024 FROM pgrepl.nodes WHERE is_self},
			$node->name . ': knows that it lacks over 4MB of the primary\'s WAL');
	}
	kill_primary_and_senders($lag1, @senders);

	foreach my $node ($lag2, $lag3)
	{
		my $name = $node->name;

		log_ok(
			$node,
			qr/pgrepl node "$name" is not electable: \d+ bytes behind the primary's last known position/,
			$offset{$name}, "$name: logged that it is not electable");
		my ($behind) = log_since($node, $offset{$name}) =~ /is not electable: (\d+) bytes behind/;
		cmp_ok($behind, '>', 4 * 1024 * 1024,
			"$name: more than 4MB behind, over the 1MB limit");
	}
	wait_three_timeouts($lag2, $lag1);
	foreach my $node ($lag2, $lag3)
	{
		is( query(
				$node,
				'SELECT pg_is_in_recovery(), term, primary_node IS NULL FROM pgrepl.status'
			),
			't|1|t',
			$node->name . ': still a standby in term 1, with no primary');
		like(
			query($node, 'SELECT note FROM pgrepl.status'),
			qr/^no primary heard for \d+ ms; not electable: \d+ bytes behind the primary's last known position$/,
			$node->name . ': its note says it is not electable, and why');
		unlike(log_since($node, $offset{ $node->name }),
			qr/stands for election/,
			$node->name . ': never stood for election');
	}

	# With the limit raised on lag2, it is elected, with lag3's vote, and
	# lag3 follows it.  (Raised on both, both would stand at once: see
	# race.)
	$lag2->append_conf('postgresql.conf',
		"pgrepl.maximum_lag_on_failover = '1GB'\n");
	$lag2->reload;
	my $winner = elected(2, $lag2, $lag3);
	is($winner && $winner->name, 'lag2', 'lag2 is elected once its limit is 1GB');
	check_followed($lag2, $lag3);

	$_->stop foreach ($lag2, $lag3);
}

#
# prio: prio3 has all the WAL but priority 0; prio2 lacks more than the
# limit.  prio2 would get prio3's vote only if it had all the WAL, and
# prio3 would get prio2's: only priority 0 keeps prio3 from being
# promoted.
#
{
	my $limit = "pgrepl.maximum_lag_on_failover = '1MB'\n";
	my ($prio1, $prio2, $prio3) = new_cluster(
		2,
		prefix => 'prio',
		extra => {
			prio1 => $limit,
			prio2 => $limit,
			prio3 => $limit . "pgrepl.priority = 0\n"
		});

	$prio1->safe_psql('postgres',
		'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
	$prio1->wait_for_catchup($_) foreach ($prio2, $prio3);
	my %offset = map { $_->name => -s $_->logfile } ($prio2, $prio3);

	my @senders = freeze_senders($prio1, $prio2);
	write_wal_mb($prio1, 8);
	$prio1->safe_psql('postgres', 'INSERT INTO t VALUES (101)');
	$prio1->wait_for_catchup($prio3);
	poll_ok(
		$prio2, q{
		SELECT lag_bytes > 4 * 1024 * 1024 FROM pgrepl.nodes WHERE is_self},
		'prio2: knows that it lacks over 4MB of the primary\'s WAL');
	kill_primary_and_senders($prio1, @senders);

	log_ok(
		$prio2,
		qr/pgrepl node "prio2" is not electable: \d+ bytes behind/,
		$offset{prio2}, 'prio2: logged that it is not electable');
	wait_three_timeouts($prio3, $prio1);
	foreach my $node ($prio2, $prio3)
	{
		is( query(
				$node,
				'SELECT pg_is_in_recovery(), term, primary_node IS NULL FROM pgrepl.status'
			),
			't|1|t',
			$node->name . ': still a standby in term 1, with no primary');
		unlike(log_since($node, $offset{ $node->name }),
			qr/stands for election/,
			$node->name . ': never stood for election');
		is( query(
				$node, q{
				SELECT string_agg(node_name || ' ' || promotable, ', ' ORDER BY node_name)
				FROM pgrepl.nodes}),
			'prio1 true, prio2 true, prio3 false',
			$node->name . ': pgrepl.nodes shows prio3 not promotable');
	}
	like(
		query($prio2, 'SELECT note FROM pgrepl.status'),
		qr/; not electable: \d+ bytes behind the primary's last known position$/,
		'prio2: its note says it is not electable, and why');
	like(
		query($prio3, 'SELECT note FROM pgrepl.status'),
		qr/; this node is never promoted \(pgrepl\.priority is 0\)$/,
		'prio3: its note says it is never promoted');

	# With a priority above 0, prio3 is elected, and prio2 follows it.
	$prio3->append_conf('postgresql.conf', "pgrepl.priority = 100\n");
	$prio3->reload;
	my $winner = elected(2, $prio2, $prio3);
	is($winner && $winner->name, 'prio3', 'prio3 is elected once its priority is 100');
	check_followed($prio3, $prio2);
	$prio3->wait_for_catchup($prio2);
	is(query($prio2, 'SELECT count(*) FROM t'),
		'101', 'prio2: caught up with prio3');

	$_->stop foreach ($prio2, $prio3);
}

done_testing();

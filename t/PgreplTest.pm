# t/PgreplTest.pm: what the multi-node pgrepl tests share.
#
# A cluster of nodes that all preload pgrepl and know how to reach each
# other, a polling assertion that prints pgrepl's view of the node when it
# fails, and the process control that crash and freeze tests need (a
# postmaster killed and restarted, a node frozen whole with SIGSTOP).
# Every wait polls a condition with PostgreSQL::Test::Utils' timeout.

package PgreplTest;

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(new_cluster new_witness show_state poll_ok query kill9_and_wait
  start_after_kill9 wait_gone set_rejoin_command node_pids freeze thaw start_proxies cut_off heal);

# Peers reach each node through a proxy of the test's (see start_proxies)
# when %proxy_port maps its name to the proxy's port.
my %proxy_port;

# The TCP port each node's server listens on, for the proxies.
our %backend_port;

# How peers reach a node: directly, or through its proxy if it has one.
sub node_conninfo
{
	my ($node) = @_;
	my $name = $node->name;
	my $host = $node->host;
	my $port = $node->port;

	return
	  "host=127.0.0.1 port=$proxy_port{$name} dbname=postgres sslmode=disable gssencmode=disable"
	  if $proxy_port{$name};
	return "host=$host port=$port dbname=postgres";
}

# pgrepl settings of a node: its name, how peers reach it, and quick
# sampling and heartbeats, plus whatever extra settings the test wants.
sub pgrepl_conf
{
	my ($node, $extra) = @_;
	my $name = $node->name;
	my $conninfo = node_conninfo($node);

	return qq{
shared_preload_libraries = 'pgrepl'
pgrepl.node_name = '$name'
pgrepl.node_conninfo = '$conninfo'
pgrepl.monitor_interval = '200ms'
pgrepl.heartbeat_interval = '100ms'
wal_receiver_status_interval = '1s'
wal_retrieve_retry_interval = '200ms'
log_statement = 'none'
} . ($extra // '');
}

# A primary and $nstandbys streaming standbys from it, named node1 (the
# primary), node2, ...  Options: extra => { node2 => "settings", ... } for
# settings of single nodes; proxies => 1 to have peers reach each other
# through the test's proxies (see start_proxies); prefix => "name" to name
# the nodes name1, name2, ... instead of node1, node2, ..., for a test that
# builds more than one cluster (a node's name also names its data
# directory and log file).  The extension is created on the primary;
# returns the nodes, primary first, once every node lists every member as
# reachable.
sub new_cluster
{
	my ($nstandbys, %opt) = @_;
	my $prefix = $opt{prefix} // 'node';
	my @nodes =
	  map { PostgreSQL::Test::Cluster->new("$prefix$_") } 1 .. $nstandbys + 1;
	my ($primary, @standbys) = @nodes;
	my %extra = %{ $opt{extra} // {} };

	if ($opt{proxies})
	{
		%backend_port = map { $_->name => $_->port } @nodes;
		start_proxies(map { $_->name } @nodes);
		$extra{$_->name} = "listen_addresses = '127.0.0.1'\n" . ($extra{$_->name} // '')
		  foreach @nodes;
	}

	$primary->init(allows_streaming => 1);
	$primary->append_conf('postgresql.conf',
		pgrepl_conf($primary, $extra{ $primary->name }));
	$primary->start;
	$primary->safe_psql('postgres', 'CREATE EXTENSION pgrepl');
	$primary->backup('base');

	foreach my $standby (@standbys)
	{
		$standby->init_from_backup($primary, 'base', has_streaming => 1);
		$standby->append_conf('postgresql.conf',
			pgrepl_conf($standby, $extra{ $standby->name }));
		$standby->start;
	}

	my $n = scalar @nodes;
	foreach my $node (@nodes)
	{
		poll_ok(
			$node, qq{
			SELECT count(*) = $n AND bool_and(reachable) FROM pgrepl.nodes},
			$node->name . ": $n reachable members");
	}
	return @nodes;
}

# A witness named $name, a PostgreSQL instance of its own with pgrepl in
# witness mode, registered through $primary; returns it once every member
# of the cluster, the witness included, lists all of them as reachable.
sub new_witness
{
	return new_witness_at_version(undef, @_);
}

# The same, with pgrepl created at extension version $version (undef: the
# default), as on a witness not updated yet.
sub new_witness_at_version
{
	my ($version, $name, $primary, @others) = @_;
	my $witness = PostgreSQL::Test::Cluster->new($name);

	$witness->init;
	$witness->append_conf('postgresql.conf',
		pgrepl_conf($witness, "pgrepl.node_kind = 'witness'\n"));
	$witness->start;
	$witness->safe_psql('postgres',
		'CREATE EXTENSION pgrepl'
		  . (defined $version ? " VERSION '$version'" : ''));
	$primary->safe_psql('postgres',
		    "SELECT pgrepl.register_node('$name', '"
		  . node_conninfo($witness)
		  . "', 'witness')");

	my @all = ($primary, @others, $witness);
	my $n = scalar @all;
	foreach my $node (@all)
	{
		poll_ok(
			$node, qq{
			SELECT count(*) = $n AND bool_and(reachable) FROM pgrepl.nodes},
			$node->name . ": $n reachable members");
	}
	return $witness;
}

# Have a node rejoin by itself once it must: pgrepl.rejoin_command runs
# pgrepl_rejoin, whose server log is the node's own; returns once the
# setting is in effect.
sub set_rejoin_command
{
	my ($node) = @_;
	my $bindir = $node->config_data('--bindir');

	$node->safe_psql('postgres',
		"ALTER SYSTEM SET pgrepl.rejoin_command = '$bindir/pgrepl_rejoin -D %d --server-log "
		  . $node->logfile
		  . "'; SELECT pg_reload_conf()");
	poll_ok($node, q{SELECT current_setting('pgrepl.rejoin_command') <> ''},
		$node->name . ': pgrepl.rejoin_command is set');
	return;
}

# Print what pgrepl shows on a node.
sub show_state
{
	my ($node) = @_;

	foreach my $query (
		'SELECT * FROM pgrepl.status',
		'SELECT node_name, reachable, role, term, timeline, wal_lsn, failures, last_error FROM pgrepl.nodes',
		'SELECT * FROM pgrepl.wal_receiver',
		'SELECT event_time, node_name, event, term, detail FROM pgrepl.events ORDER BY event_id')
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
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my $ok;

	# A server that is starting, or being restarted by a rejoin, may refuse
	# psql, which then exits before reading its query: IPC::Run reports
	# that as a broken pipe and dies.  Poll again until the deadline.
	for (;;)
	{
		$ok = eval { $node->poll_query_until('postgres', $query) };
		last if defined $ok;
		die $@ unless $@ =~ /Broken pipe/ && time() < $deadline;
		usleep(100_000);
	}
	ok($ok, $name) or show_state($node);
	return $ok;
}

# A query's result on $node.
sub query
{
	my ($node, $query) = @_;
	return $node->safe_psql('postgres', $query);
}

# Wait until a process is gone, not merely signalled; false at the deadline.
sub wait_gone
{
	my ($pid) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;

	usleep(10_000) while kill(0, $pid) && time() < $deadline;
	return !kill(0, $pid);
}

# Kill a node's postmaster with SIGKILL and wait until it is gone, so that
# its pid cannot pass for a live one when the node is started again.
sub kill9_and_wait
{
	my ($node) = @_;
	my $pid = $node->{_pid};

	$node->kill9;
	return wait_gone($pid);
}

# Start a node whose postmaster was killed.  Its other processes exit when
# they notice, which takes a moment; until then the old shared memory is in
# use and a start fails, so retry until a deadline.
sub start_after_kill9
{
	my ($node) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;

	while (time() < $deadline)
	{
		return 1 if $node->start(fail_ok => 1);
		usleep(100_000);
	}
	return 0;
}

# The postmaster of a node and all its children.
sub node_pids
{
	my ($node) = @_;
	my $postmaster = $node->{_pid};
	my @pids = ($postmaster);

	opendir(my $proc, '/proc') or die "cannot read /proc: $!";
	foreach my $pid (grep { /^\d+$/ } readdir($proc))
	{
		open(my $stat, '<', "/proc/$pid/stat") or next;
		my $line = <$stat>;
		close $stat;
		# pid (comm) state ppid ...; comm may hold spaces or parentheses
		push @pids, $pid
		  if defined $line && $line =~ /\)\s+\S+\s+(\d+)/ && $1 == $postmaster;
	}
	closedir($proc);
	return @pids;
}

# Freeze a node whole: the postmaster first, so that it starts no new
# process, then every child.  Returns the pids, for thaw().
sub freeze
{
	my ($node) = @_;

	kill('STOP', $node->{_pid});
	my @pids = node_pids($node);
	kill('STOP', @pids);
	return @pids;
}

sub thaw
{
	my (@pids) = @_;
	kill('CONT', @pids);
	return;
}

#
# A TCP proxy in front of every node, through which peers reach each other,
# so that a test can cut a node off from its peers at the TCP level while
# its clients (on the Unix socket) still reach it.
#
# One child process serves all proxies.  When node N is cut off, the proxy
# in front of N, and every connection that N's monitor opens to the others
# (known by the application_name "pgrepl N" of its startup packet), go
# silent: established connections are dropped, and new ones are accepted
# and then never answered, as through a black hole, so that peers see
# timeouts rather than refusals.  SIGUSR1 reads the node to cut off from a
# file; an empty file heals the cut.
#
my ($proxy_pid, $cut_file);

# Start the proxies for the named nodes, before the nodes are created, so
# that their node_conninfo points at them.
sub start_proxies
{
	my (@names) = @_;
	my %listen;

	$cut_file = "${PostgreSQL::Test::Utils::tmp_check}/pgrepl_cut";
	open(my $fh, '>', $cut_file) or die "cannot write $cut_file: $!";
	close $fh;

	foreach my $name (@names)
	{
		my $sock = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => 0,
			Listen => 64,
			ReuseAddr => 1) or die "cannot listen: $!";
		$proxy_port{$name} = $sock->sockport;
		$listen{$name} = $sock;
	}

	$proxy_pid = fork();
	die "cannot fork: $!" unless defined $proxy_pid;
	if ($proxy_pid == 0)
	{
		# The child must not run the test's END blocks: it leaves by _exit.
		run_proxies(\%listen);
		POSIX::_exit(0);
	}
	return;
}

# The name of the node that sent this startup packet, if it is a monitor.
sub startup_sender
{
	my ($packet) = @_;

	return undef if length($packet) < 8;
	my ($len, $proto) = unpack('NN', $packet);
	return undef if $proto != 196608 || length($packet) < $len;
	my %params = split(/\0/, substr($packet, 8, $len - 8));
	my $app = $params{application_name} // '';
	return $app =~ /^pgrepl (\S+)$/ ? $1 : undef;
}

# The proxies' loop, in the child: relay bytes both ways, and keep a
# black hole around the node that is cut off.
sub run_proxies
{
	my ($listen) = @_;
	my $select = IO::Select->new(values %$listen);
	my (%peer, %conn, %to, $cut);
	my $reread = 1;

	local $SIG{USR1} = sub { $reread = 1; };
	local $SIG{TERM} = sub { POSIX::_exit(0); };

	for (;;)
	{
		if ($reread)
		{
			$reread = 0;
			open(my $fh, '<', $cut_file) or die "cannot read $cut_file: $!";
			$cut = <$fh>;
			close $fh;
			chomp $cut if defined $cut;
			$cut = undef if defined $cut && $cut eq '';
			# Drop what the cut node had open; they will reconnect into
			# the black hole.
			foreach my $c (values %conn)
			{
				next unless defined $cut;
				next unless $c->{target} eq $cut
				  || (defined $c->{sender} && $c->{sender} eq $cut);
				foreach my $s ($c->{client}, $c->{server})
				{
					next unless $s;
					$select->remove($s);
					close $s;
				}
				delete $conn{ $c->{client} };
			}
		}

		my @ready = $select->can_read(0.1);
		foreach my $s (@ready)
		{
			my ($name) = grep { $listen->{$_} == $s } keys %$listen;
			if (defined $name)
			{
				my $client = $s->accept or next;
				$conn{$client} = {
					client => $client,
					target => $name,
					startup => '',
					sender => undef,
					server => undef
				};
				$select->add($client);
				next;
			}

			my ($c) = grep { $_->{client} == $s || ($_->{server} && $_->{server} == $s) }
			  values %conn;
			next unless $c;
			my $buf;
			my $n = sysread($s, $buf, 65536);
			if (!$n)
			{
				foreach my $x ($c->{client}, $c->{server})
				{
					next unless $x;
					$select->remove($x);
					close $x;
				}
				delete $conn{ $c->{client} };
				next;
			}

			if (!$c->{server})
			{
				# Hold the startup packet until we know who sends it.
				$c->{startup} .= $buf;
				my $sender = startup_sender($c->{startup});
				my ($len) = length($c->{startup}) >= 4 ? unpack('N', $c->{startup}) : (0);
				next if length($c->{startup}) < 8 || length($c->{startup}) < $len;
				$c->{sender} = $sender;
				# Into the black hole: keep the connection, answer nothing.
				next if defined $cut && ($c->{target} eq $cut
					|| (defined $sender && $sender eq $cut));
				$c->{server} = IO::Socket::INET->new(
					PeerAddr => '127.0.0.1',
					PeerPort => $PgreplTest::backend_port{ $c->{target} }) or next;
				$select->add($c->{server});
				syswrite($c->{server}, $c->{startup});
				next;
			}

			next if defined $cut && ($c->{target} eq $cut
				|| (defined $c->{sender} && $c->{sender} eq $cut));
			my $other = ($s == $c->{client}) ? $c->{server} : $c->{client};
			syswrite($other, $buf);
		}
	}
}

# Cut the named node off from its peers, or heal the cut with undef.
sub cut_off
{
	my ($name) = @_;

	open(my $fh, '>', $cut_file) or die "cannot write $cut_file: $!";
	print $fh ($name // '');
	close $fh;
	kill('USR1', $proxy_pid);
	return;
}

sub heal
{
	cut_off(undef);
	return;
}

END
{
	kill('TERM', $proxy_pid) if $proxy_pid && $proxy_pid > 0;
}

1;

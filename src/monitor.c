/*-------------------------------------------------------------------------
 *
 * monitor.c
 *	  The "pgrepl monitor" background worker, one per node.
 *
 * Every pgrepl.monitor_interval it samples this node's replication state
 * and publishes it to shared memory.  Ticks are scheduled against a
 * deadline rather than by sleeping a fixed time after each one, so the
 * sampling period does not stretch with the work done in a tick, and a
 * reload that shortens the interval takes effect at once.
 *
 * Between ticks it keeps up heartbeats with the other members of the
 * cluster (peers.c), waiting on their sockets and its latch at once; the
 * membership list is read again every tick.
 *
 * The worker starts once the node accepts read-only connections, so that it
 * runs on hot standbys as well as on a primary, and it stays through
 * promotion: the role is sampled, not assumed.  It exits on SIGTERM and when
 * the postmaster dies, and the postmaster restarts it after a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "election.h"
#include "members.h"
#include "monitor.h"
#include "peers.h"
#include "rpo.h"
#include "sample.h"
#include "settings.h"
#include "state.h"
#include "switchover.h"
#include "vote.h"

/* Seconds before the postmaster restarts a monitor that exited abnormally. */
#define MONITOR_RESTART_SECONDS		1

/* Bounds on the monitor's own transactions (membership, events). */
#define MONITOR_LOCK_TIMEOUT		"100ms"
#define MONITOR_STATEMENT_TIMEOUT	"1s"

/* Register the monitor; called from _PG_init while preloading. */
void
pgrepl_monitor_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = MONITOR_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "pgrepl", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgrepl_monitor_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pgrepl monitor", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pgrepl monitor", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * When the next tick is due after one that was due at "due" ran at "now":
 * one interval after it was due, unless the tick ran so late that this is
 * already past, in which case the schedule restarts from now rather than
 * catching up with a burst of ticks.
 */
static TimestampTz
next_due(TimestampTz due, TimestampTz now)
{
	TimestampTz next = TimestampTzPlusMilliseconds(due, pgrepl_monitor_interval);

	return (next > now) ? next : TimestampTzPlusMilliseconds(now, pgrepl_monitor_interval);
}

/*
 * This node's term, and whether it leads it: a primary that was elected in
 * it (or is its first primary) and was not deposed since; with or without
 * a lease, which heartbeats sent as leader are what renews.
 */
static void
self_term(PgreplPeerView *self)
{
	PgreplTermState ts;

	pgrepl_term_state(&ts);
	self->term = ts.term;
	self->leader = self->role == PGREPL_ROLE_PRIMARY && pgrepl_term_led(&ts);
}

/* What this node is, as the members' list shows it, from the last sample. */
static void
self_view(const PgreplSample *sample, PgreplPeerView *self)
{
	memset(self, 0, sizeof(*self));
	strlcpy(self->name, pgrepl_state_node_name(), sizeof(self->name));
	self->kind = (PgreplNodeKind) pgrepl_node_kind;
	self->is_self = true;
	self->reachable = true;
	self->has_reply = true;
	self->last_reply = sample->node.sample_time;
	if (self->kind == PGREPL_KIND_WITNESS)
		self->role = PGREPL_ROLE_WITNESS;
	else if (sample->node.in_recovery)
		self->role = PGREPL_ROLE_STANDBY;
	else
		self->role = PGREPL_ROLE_PRIMARY;
	self->timeline = sample->node.timeline;
	self->wal_lsn = sample->node.in_recovery ?
		Max(sample->node.receive_lsn, sample->node.replay_lsn) :
		sample->node.flush_lsn;
	self->priority = pgrepl_priority;
	self_term(self);
}

typedef struct RegisterArgs
{
	const PgreplPeerView *self;
} RegisterArgs;

static void
register_self(void *arg)
{
	RegisterArgs *args = arg;

	if (pgrepl_members_upsert(args->self->name, args->self->kind,
							  pgrepl_node_conninfo, "its own monitor"))
		ereport(LOG,
				(errmsg("pgrepl registered node \"%s\" as a member",
						args->self->name)));
}

/*
 * Read the members' list again and hand it to the peers.  The primary
 * lists itself, since nobody else can write the list for it.
 */
static void
refresh_members(const PgreplSample *sample, PgreplPeerView *self)
{
	PgreplMember *members;
	bool		installed;
	int			n;

	members = palloc(sizeof(PgreplMember) * PGREPL_MAX_NODES);
	n = pgrepl_members_load(members, PGREPL_MAX_NODES, &installed);
	if (n < 0)
		return;
	if (!installed)
		n = 0;					/* the extension was dropped: no cluster */

	peers_set_members(members, n, self);

	if (!peers_self_listed() && self->role == PGREPL_ROLE_PRIMARY &&
		pgrepl_node_conninfo[0] != '\0')
	{
		RegisterArgs args = {self};

		if (pgrepl_in_transaction("register this node", register_self, &args))
		{
			n = pgrepl_members_load(members, PGREPL_MAX_NODES, &installed);
			if (n >= 0 && installed)
				peers_set_members(members, n, self);
		}
	}
}

/*
 * Take stock of every member, itself first: publish it, then run the
 * election logic on it.  Unless the monitor has not read the members yet, or
 * this node is not one of them: then there is no cluster to lead or follow.
 */
static void
cluster_step(PgreplPeerView *self, bool tick)
{
	PgreplPeerView views[PGREPL_MAX_NODES + 1];
	int			n;

	/*
	 * Role and WAL position change with a promotion, and with every record
	 * received: an election must not act on a sample up to a tick old.
	 */
	if (self->kind == PGREPL_KIND_DATA && self->name[0] != '\0')
	{
		self->role = RecoveryInProgress() ? PGREPL_ROLE_STANDBY :
			PGREPL_ROLE_PRIMARY;
		self->wal_lsn = pgrepl_current_wal(&self->timeline);
	}
	self_term(self);
	peers_set_self(self);
	n = peers_views(self, views);

	/* Published first: what the election acts on is visible no later. */
	pgrepl_state_publish_views(views, n);
	if (self->name[0] != '\0' && peers_self_listed())
	{
		election_step(views, n, GetCurrentTimestamp(), tick);
		switchover_step(views, n, GetCurrentTimestamp());
	}
	else
		election_not_member();
}

/*
 * One tick: sample, publish, read the members again, and forget what all
 * that allocated.
 */
static void
monitor_tick(PgreplSample *sample, PgreplPeerView *self,
			 MemoryContext tick_context)
{
	MemoryContext old = MemoryContextSwitchTo(tick_context);

	pgrepl_take_sample(sample);
	pgrepl_state_publish(sample);
	self_view(sample, self);
	refresh_members(sample, self);
	{
		PgreplPeerView *views = palloc(sizeof(PgreplPeerView) *
									   (PGREPL_MAX_NODES + 1));
		int			n = peers_views(self, views);

		rpo_step(sample, views, n);
	}

	MemoryContextSwitchTo(old);
	MemoryContextReset(tick_context);
}

/*
 * Sleep until the latch is set, a peer's socket is ready or "until" comes,
 * whichever is first, and hand ready sockets to the peers.
 */
static void
wait_for_events(TimestampTz until)
{
	WaitEventSet *set;
	WaitEvent	events[PGREPL_MAX_NODES + 2];
	long		timeout;
	int			n;
	int			i;

	timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

	set = pgrepl_create_wait_event_set(peers_max_wait_events() + 2);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	peers_add_wait_events(set);

	n = WaitEventSetWait(set, timeout, events, lengthof(events),
						 PG_WAIT_EXTENSION);
	for (i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
			ResetLatch(MyLatch);
		else if (events[i].user_data)
			peers_socket_ready(events[i].user_data, events[i].events,
							   GetCurrentTimestamp());
	}
	FreeWaitEventSet(set);
}

void
pgrepl_monitor_main(Datum main_arg)
{
	MemoryContext tick_context;
	PgreplSample *sample;
	PgreplPeerView self;
	TimestampTz last_due;
	TimestampTz due;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(pgrepl_database, NULL, 0);
	pgstat_report_activity(STATE_IDLE, NULL);

	/*
	 * The worker's own transactions must not wait long for a user's lock:
	 * better to skip a membership read than to stall the heartbeats.
	 */
	SetConfigOption("lock_timeout", MONITOR_LOCK_TIMEOUT, PGC_SUSET,
					PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", MONITOR_STATEMENT_TIMEOUT, PGC_SUSET,
					PGC_S_OVERRIDE);

	pgrepl_state_set_worker(MyProcPid);
	on_shmem_exit(peers_shutdown, (Datum) 0);
	election_init();
	switchover_init();

	tick_context = AllocSetContextCreate(TopMemoryContext,
										 "pgrepl monitor tick",
										 ALLOCSET_DEFAULT_SIZES);
	sample = MemoryContextAlloc(TopMemoryContext, pgrepl_sample_size());
	memset(&self, 0, sizeof(self));

	ereport(LOG,
			(errmsg("pgrepl monitor started for node \"%s\"",
					pgrepl_state_node_name())));

	/* The first tick is due at once. */
	due = last_due = GetCurrentTimestamp();

	for (;;)
	{
		TimestampTz now;
		bool		ticked;

		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* A shorter interval applies to the tick already scheduled. */
			due = Min(due, TimestampTzPlusMilliseconds(last_due,
													   pgrepl_monitor_interval));
		}

		now = GetCurrentTimestamp();
		ticked = (now >= due);
		if (ticked)
		{
			monitor_tick(sample, &self, tick_context);
			last_due = due;
			due = next_due(due, now);
		}

		cluster_step(&self, ticked);
		peers_step(GetCurrentTimestamp());

		wait_for_events(Min(Min(due, peers_next_wakeup()),
							switchover_next_wakeup()));
	}
}

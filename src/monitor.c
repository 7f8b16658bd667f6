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
 * The worker starts once the node accepts read-only connections, so that it
 * runs on hot standbys as well as on a primary, and it stays through
 * promotion: the role is sampled, not assumed.  It exits on SIGTERM and when
 * the postmaster dies, and the postmaster restarts it after a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "monitor.h"
#include "sample.h"
#include "settings.h"
#include "state.h"

/* Seconds before the postmaster restarts a monitor that exited abnormally. */
#define MONITOR_RESTART_SECONDS		1

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

/* One tick: sample, publish, and forget what the sampling allocated. */
static void
monitor_tick(PgreplSample *sample, MemoryContext tick_context)
{
	MemoryContext old = MemoryContextSwitchTo(tick_context);

	pgrepl_take_sample(sample);
	pgrepl_state_publish(sample);

	MemoryContextSwitchTo(old);
	MemoryContextReset(tick_context);
}

void
pgrepl_monitor_main(Datum main_arg)
{
	MemoryContext tick_context;
	PgreplSample *sample;
	TimestampTz last_due;
	TimestampTz due;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * Sampling reads shared memory only, but the connection gives the worker
	 * a row in pg_stat_activity and is what later work needs.
	 */
	BackgroundWorkerInitializeConnection(pgrepl_database, NULL, 0);
	pgstat_report_activity(STATE_RUNNING, "sampling replication state");

	pgrepl_state_set_worker(MyProcPid);

	tick_context = AllocSetContextCreate(TopMemoryContext,
										 "pgrepl monitor tick",
										 ALLOCSET_DEFAULT_SIZES);
	sample = MemoryContextAlloc(TopMemoryContext, pgrepl_sample_size());

	ereport(LOG,
			(errmsg("pgrepl monitor started for node \"%s\"",
					pgrepl_state_node_name())));

	/* The first tick is due at once. */
	due = last_due = GetCurrentTimestamp();

	for (;;)
	{
		TimestampTz now;

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
		if (now >= due)
		{
			monitor_tick(sample, tick_context);
			last_due = due;
			due = next_due(due, now);
		}

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 due),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

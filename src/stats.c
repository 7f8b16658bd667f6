/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters of what pgrepl did on this node: elections it stood in,
 *	  failovers and switchovers, as /metrics shows them.
 *
 * Each counter is an atomic in shared memory, bumped by the monitor (the
 * only writer) and read lock-free by the HTTP worker, so counting never
 * makes the monitor wait.  They count since the server started, as
 * Prometheus counters may: a restart resets them, which rate() and
 * increase() take as a counter reset.  Cluster-wide history is in
 * pgrepl.events; these are for rates and alerts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/shmem.h"

#include "state.h"
#include "stats.h"

typedef struct StatsShared
{
	pg_atomic_uint64 counters[PGREPL_NSTATS];
} StatsShared;

static StatsShared *stats_shared = NULL;

Size
pgrepl_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(StatsShared));
}

/* Create or attach; called from the shared memory startup hook. */
void
pgrepl_stats_shmem_init(void)
{
	bool		found;
	int			i;

	stats_shared = ShmemInitStruct("pgrepl stats", pgrepl_stats_shmem_size(),
								   &found);
	if (!found)
	{
		for (i = 0; i < PGREPL_NSTATS; i++)
			pg_atomic_init_u64(&stats_shared->counters[i], 0);
	}
}

/* Count one more of stat. */
void
pgrepl_stats_bump(PgreplStat stat)
{
	Assert(stat >= 0 && stat < PGREPL_NSTATS);
	pgrepl_check_loaded(stats_shared);
	pg_atomic_fetch_add_u64(&stats_shared->counters[stat], 1);
}

/* How many of stat were counted since the server started. */
uint64
pgrepl_stats_read(PgreplStat stat)
{
	Assert(stat >= 0 && stat < PGREPL_NSTATS);
	pgrepl_check_loaded(stats_shared);
	return pg_atomic_read_u64(&stats_shared->counters[stat]);
}

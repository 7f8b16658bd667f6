/*-------------------------------------------------------------------------
 *
 * rpo.c
 *	  pgrepl.async_rpo_limit: a bound on the committed data a failover may
 *	  lose in asynchronous mode.
 *
 * In asynchronous mode, what a failover loses is what the new primary had
 * not received: at most the WAL no electable standby has flushed.  The
 * monitor of the primary measures, every tick, how old the oldest such WAL
 * is (the "exposure"): for each electable standby (a data member with a
 * priority above 0), the age of the oldest WAL beyond the position it
 * flushed, from the WAL sender if it streams and else from the slot the
 * primary keeps for it; the exposure is the smallest of these.  The ages
 * come from the monitor's own WAL clock (walclock.c), so a standby that
 * stops answering keeps ageing.
 *
 * While the exposure exceeds the limit, committing backends wait, before
 * their commit record is written, for it to come back under the limit:
 * at most as long again as the limit, then the transaction fails with an
 * error that says why.  So the data at risk never grows past the limit,
 * give or take one monitor tick, which is the precision of the measure.
 * Transactions that wrote nothing never wait.
 *
 * A cluster with no other data member has nothing to fail over to, and the
 * limit does not apply.
 *
 * The exposure is measured whether or not a limit is set, for
 * pgrepl.status.data_at_risk.  Shared state is two atomics that the monitor
 * writes and backends read without a lock: whether the limit is exceeded,
 * and the exposure.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "members.h"
#include "rpo.h"
#include "settings.h"
#include "state.h"
#include "walclock.h"

typedef struct RpoShared
{
	pg_atomic_uint32 exceeded;	/* bool */
	pg_atomic_uint32 has_exposure;	/* bool: a standby position is known */
	pg_atomic_uint64 exposure;	/* microseconds, if has_exposure */
} RpoShared;

static RpoShared *rpo_shared = NULL;

/* How often a waiting commit looks again. */
#define RPO_POLL_MS		10

Size
pgrepl_rpo_shmem_size(void)
{
	return MAXALIGN(sizeof(RpoShared));
}

void
pgrepl_rpo_shmem_init(void)
{
	bool		found;

	rpo_shared = ShmemInitStruct("pgrepl rpo", pgrepl_rpo_shmem_size(),
								 &found);
	if (!found)
	{
		pg_atomic_init_u32(&rpo_shared->exceeded, 0);
		pg_atomic_init_u32(&rpo_shared->has_exposure, 0);
		pg_atomic_init_u64(&rpo_shared->exposure, 0);
	}
}

/*
 * The exposure of one standby: the age of the oldest WAL it has not
 * flushed, as its WAL sender or else its slot tells; false if neither does.
 */
static bool
standby_exposure(const PgreplSample *sample, const char *name,
				 TimestampTz now, TimeOffset *exposure)
{
	XLogRecPtr	lsn = InvalidXLogRecPtr;
	int			i;

	for (i = 0; i < sample->nreplicas; i++)
	{
		const PgreplReplicaSample *r = &sample->replicas[i];

		if (strcmp(r->application_name, name) == 0 &&
			!XLogRecPtrIsInvalid(r->flush_lsn))
			lsn = Max(lsn, r->flush_lsn);
	}
	if (XLogRecPtrIsInvalid(lsn) && !pgrepl_slot_position(name, &lsn, NULL))
		return false;
	*exposure = (lsn >= sample->node.write_lsn) ? 0 : walclock_age(lsn, now);
	return true;
}

/*
 * On the primary, every tick: measure the exposure over the electable
 * standbys among the members (views, this node first) and publish whether
 * it exceeds pgrepl.async_rpo_limit.
 */
void
rpo_step(const PgreplSample *sample, const PgreplPeerView *views, int nviews)
{
	TimestampTz now = sample->node.sample_time;
	TimeOffset	best = -1;
	bool		others = false;
	bool		exceeded;
	int			i;

	if (!sample->node.in_recovery)
	{
		for (i = 1; i < nviews; i++)
		{
			const PgreplPeerView *v = &views[i];
			TimeOffset	exposure;

			if (v->kind != PGREPL_KIND_DATA)
				continue;
			others = true;
			if (v->has_reply && v->priority == 0)
				continue;
			if (standby_exposure(sample, v->name, now, &exposure) &&
				(best < 0 || exposure < best))
				best = exposure;
		}
	}

	/*
	 * No standby with a known position: everything is at risk, and the limit
	 * is exceeded.  No other data member: nothing to fail over to.
	 */
	exceeded = others && pgrepl_async_rpo_limit > 0 &&
		(best < 0 || best > (TimeOffset) pgrepl_async_rpo_limit * 1000);

	pg_atomic_write_u64(&rpo_shared->exposure, (uint64) Max(best, 0));
	pg_atomic_write_u32(&rpo_shared->has_exposure, best >= 0 ? 1 : 0);
	if (exceeded != (pg_atomic_read_u32(&rpo_shared->exceeded) != 0))
	{
		if (exceeded)
			ereport(LOG,
					(errmsg("pgrepl holds commits back: no electable standby has flushed WAL written in the last %d ms",
							pgrepl_async_rpo_limit)));
		else
			ereport(LOG,
					(errmsg("pgrepl lets commits through again: a standby is within pgrepl.async_rpo_limit")));
		pg_atomic_write_u32(&rpo_shared->exceeded, exceeded ? 1 : 0);
	}
}

/*
 * The exposure the monitor last measured: false if it knows of no standby
 * position to measure it from (or this node is no primary).
 */
bool
pgrepl_rpo_exposure(TimeOffset *exposure)
{
	*exposure = (TimeOffset) pg_atomic_read_u64(&rpo_shared->exposure);
	return pg_atomic_read_u32(&rpo_shared->has_exposure) != 0;
}

/*
 * In a backend about to commit a transaction that wrote: wait while the
 * data at risk exceeds the limit, at most as long again as the limit, then
 * fail.  Cheap when the limit holds: one atomic read.
 */
void
pgrepl_rpo_wait_to_commit(void)
{
	TimestampTz deadline;

	if (rpo_shared == NULL || pg_atomic_read_u32(&rpo_shared->exceeded) == 0)
		return;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   pgrepl_async_rpo_limit);
	while (pg_atomic_read_u32(&rpo_shared->exceeded) != 0 &&
		   GetCurrentTimestamp() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 RPO_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	if (pg_atomic_read_u32(&rpo_shared->exceeded) != 0)
	{
		TimeOffset	exposure;
		bool		known = pgrepl_rpo_exposure(&exposure);

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot commit: no electable standby is within pgrepl.async_rpo_limit"),
				 known ?
				 errdetail("The oldest WAL no electable standby has flushed is %.1f s old; the limit is %.1f s.",
						   exposure / 1000000.0, pgrepl_async_rpo_limit / 1000.0) :
				 errdetail("No electable standby has reported a WAL position."),
				 errhint("Check the standbys' replication in pgrepl.replicas; the transaction can be retried.")));
	}
}

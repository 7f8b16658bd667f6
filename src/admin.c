/*-------------------------------------------------------------------------
 *
 * admin.c
 *	  What operators call: promote a standby, pause and resume failover.
 *
 * pgrepl.promote() hands the request to the monitor (state.c holds it),
 * which runs the same election an automatic failover runs, or with force,
 * promotes without one; the caller waits for the outcome and gets an error
 * saying why if the node was not promoted.  The wait is bounded, and polls
 * shared memory on the caller's latch, so a cancel or a dying postmaster
 * ends it.
 *
 * pgrepl.pause() and pgrepl.resume() work on any node, also when the
 * primary is gone (that is when resume() is most wanted): the setting is
 * kept with the node's term (vote.c) and gossiped by the monitors, newest
 * version first, to every member (peers.c).  None of these functions is
 * executable by PUBLIC.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "settings.h"
#include "state.h"
#include "vote.h"

PG_FUNCTION_INFO_V1(pgrepl_promote);
PG_FUNCTION_INFO_V1(pgrepl_pause);
PG_FUNCTION_INFO_V1(pgrepl_resume);

/* How long promote() waits for the election, then for the promotion. */
#define ELECTION_WAIT_MS	(30 * 1000)
#define PROMOTION_WAIT_MS	(60 * 1000)

/* How often a waiting promote() looks again. */
#define POLL_MS				10

/* Sleep a poll interval, or less if interrupted; the caller loops. */
static void
wait_a_little(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 POLL_MS, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * pgrepl.promote(force): promote this standby through an election, or
 * without one when force is true.  Returns once the node is a primary.
 */
Datum
pgrepl_promote(PG_FUNCTION_ARGS)
{
	bool		force = PG_GETARG_BOOL(0);
	const char *name = pgrepl_state_node_name();
	TimestampTz deadline;
	uint64		request;
	bool		done = false;
	bool		ok = false;
	char		message[PGREPL_NOTE_LEN];

	if (pgrepl_node_kind != PGREPL_KIND_DATA)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot promote node \"%s\" because it is a witness", name)));
	if (!RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot promote node \"%s\" because it is not a standby",
						name)));
	if (!pgrepl_state_is_member(name))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a member of a pgrepl cluster", name),
				 errhint("Set pgrepl.node_conninfo, so that the standby joins the cluster of its primary.")));

	request = pgrepl_state_post_request(force ? PGREPL_REQUEST_PROMOTE_FORCE :
										PGREPL_REQUEST_PROMOTE);
	if (request == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the pgrepl monitor is not running")));

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   ELECTION_WAIT_MS);
	while (!(done = pgrepl_state_request_outcome(request, &ok, message)) &&
		   GetCurrentTimestamp() < deadline)
		wait_a_little();

	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("the election of node \"%s\" did not end within %d seconds",
						name, ELECTION_WAIT_MS / 1000)));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" was not promoted", name),
				 errdetail("The election failed: %s.", message),
				 errhint("Voters refuse while they hear a healthy primary: move it with pgrepl.switchover() on the primary. If the rest of the cluster is lost for good, pgrepl.promote(force => true) promotes without a vote.")));

	/* Elected (or forced): wait for the end of recovery, as pg_promote does. */
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   PROMOTION_WAIT_MS);
	while (RecoveryInProgress() && GetCurrentTimestamp() < deadline)
		wait_a_little();
	if (RecoveryInProgress())
		ereport(WARNING,
				(errmsg("node \"%s\" was elected but is still in recovery after %d seconds",
						name, PROMOTION_WAIT_MS / 1000)));

	PG_RETURN_VOID();
}

/*
 * Pause or resume failover cluster-wide: a new version of the setting here,
 * on disk at once, which the monitor passes on to every peer (and they to
 * theirs).  Like pg_promote(), it takes effect whatever becomes of the
 * calling transaction.
 */
static void
set_failover_paused(bool paused)
{
	PgreplTermState ts;

	pgrepl_term_state(&ts);
	if (ts.failover_paused == paused && ts.pause_version != 0)
	{
		ereport(NOTICE,
				(errmsg(paused ? "failover is already paused" :
						"failover is not paused")));
		return;
	}
	(void) pgrepl_set_pause(paused);
	pgrepl_state_wake_worker();
	ereport(LOG,
			(errmsg("pgrepl failover %s by %s on node \"%s\"",
					paused ? "paused" : "resumed",
					GetUserNameFromId(GetUserId(), false),
					pgrepl_state_node_name())));
}

/* pgrepl.pause(): no automatic failover anywhere until resume(). */
Datum
pgrepl_pause(PG_FUNCTION_ARGS)
{
	set_failover_paused(true);
	PG_RETURN_VOID();
}

/* pgrepl.resume(): automatic failover again. */
Datum
pgrepl_resume(PG_FUNCTION_ARGS)
{
	set_failover_paused(false);
	PG_RETURN_VOID();
}

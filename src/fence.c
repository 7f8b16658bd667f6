/*-------------------------------------------------------------------------
 *
 * fence.c
 *	  Keeping a primary that may have been replaced from committing.
 *
 * A primary may commit only while it leads the current term and a majority
 * of voters confirmed it within the lease time (PROTOCOL.md, rule 5).  The
 * monitor of the primary renews the lease with every heartbeat round that a
 * majority answers, and publishes when it lapses; backends enforce it
 * themselves at commit, so that a primary whose monitor is stuck or frozen
 * fences itself all the same.
 *
 * Every backend checks twice, in a transaction callback, and only for
 * transactions that wrote (have an xid):
 *
 *	- before commit: a fenced node raises an error, so the transaction
 *	  aborts and nothing is committed (after waiting up to a heartbeat
 *	  timeout for a fence that may be transient to lift: a lease about to
 *	  be renewed, quorum commit about to be in effect);
 *	- after commit, before the client is told: if the node became fenced
 *	  meanwhile, or the postmaster died, the backend stops sending to its
 *	  client and exits, so that the client never receives an
 *	  acknowledgement for a commit that a failover may lose.  (A backend orphaned by a killed postmaster would
 *	  otherwise acknowledge commits that no standby will ever receive.)
 *
 * When the node becomes fenced, the monitor also terminates the sessions
 * that are in the middle of a write transaction.
 *
 * A primary fenced for good (deposed, or promoted without an election)
 * will never commit again, yet accepts connections.  A session that starts
 * there is read-only by default: the server then reports
 * default_transaction_read_only = on, so that a client connecting with
 * target_session_attrs=read-write passes it by for the next host in its
 * list, the new primary, instead of sticking to a node that fails every
 * write.  A session may still SET it off; its commits are refused anyway.
 *
 * A primary handing its role over to a standby (switchover.c) is fenced
 * from the moment it starts to, and stops even the writing: a statement
 * that would write (INSERT, UPDATE, DELETE, MERGE, a data-modifying WITH,
 * SELECT ... FOR UPDATE) fails at executor start, before it writes WAL.
 * Whatever it writes while fenced the target must receive before it
 * stands, and the old primary must undo with pg_rewind to rejoin: clients
 * retrying their writes on it should not add to that.
 *
 * Shared state is four atomics, read lock-free on the commit path:
 * whether the lease applies at all (a cluster of one voter needs none),
 * when it lapses, a reason that once set stays set (the node was deposed,
 * or promoted without a vote), and whether the node is handing over.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "replication/walsender.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "fence.h"
#include "rpo.h"
#include "settings.h"

typedef struct FenceShared
{
	pg_atomic_uint32 sticky_reason;	/* a PgreplFenceReason */
	pg_atomic_uint32 lease_applies;	/* bool */
	pg_atomic_uint64 lease_expires;	/* a TimestampTz */
	pg_atomic_uint32 handing_over;	/* bool: switchover in progress */
} FenceShared;

static FenceShared *fence_shared = NULL;

/* How often a commit waiting out a transient fence looks again. */
#define FENCE_POLL_MS	2

/* The xid of the write transaction being committed by this backend. */
static TransactionId committing_xid = InvalidTransactionId;

static ExecutorStart_hook_type prev_executor_start = NULL;
static client_auth_hook_type prev_client_auth = NULL;

Size
pgrepl_fence_shmem_size(void)
{
	return MAXALIGN(sizeof(FenceShared));
}

void
pgrepl_fence_shmem_init(void)
{
	bool		found;

	fence_shared = ShmemInitStruct("pgrepl fence", pgrepl_fence_shmem_size(),
								   &found);
	if (!found)
	{
		pg_atomic_init_u32(&fence_shared->sticky_reason, PGREPL_FENCE_NONE);
		pg_atomic_init_u32(&fence_shared->lease_applies, 0);
		pg_atomic_init_u64(&fence_shared->lease_expires, 0);
		pg_atomic_init_u32(&fence_shared->handing_over, 0);
	}
}

/*
 * Publish the fencing state: a reason that holds whatever the lease (or
 * NONE), whether the lease applies, and when it lapses.
 */
void
pgrepl_fence_set(PgreplFenceReason sticky_reason, bool lease_applies,
				 TimestampTz lease_expires)
{
	pg_atomic_write_u64(&fence_shared->lease_expires, (uint64) lease_expires);
	pg_atomic_write_u32(&fence_shared->lease_applies, lease_applies ? 1 : 0);
	pg_atomic_write_u32(&fence_shared->sticky_reason, (uint32) sticky_reason);
}

/*
 * Fence this primary for a hand-over of its role, or lift that fence.  The
 * barrier orders it before whatever the caller reads next (the end of WAL):
 * a commit acknowledged after this cannot be.
 */
void
pgrepl_fence_set_handover(bool on)
{
	pg_atomic_write_u32(&fence_shared->handing_over, on ? 1 : 0);
	pg_memory_barrier();
}

/* Whether this primary is fenced for a hand-over of its role. */
bool
pgrepl_fence_handing_over(void)
{
	return fence_shared != NULL && !RecoveryInProgress() &&
		pg_atomic_read_u32(&fence_shared->handing_over) != 0;
}

/* Whether this node may not commit writes now, and why. */
PgreplFenceReason
pgrepl_fence_reason(void)
{
	PgreplFenceReason reason;

	if (fence_shared == NULL || RecoveryInProgress())
		return PGREPL_FENCE_NONE;

	reason = (PgreplFenceReason) pg_atomic_read_u32(&fence_shared->sticky_reason);
	if (reason != PGREPL_FENCE_NONE)
		return reason;
	if (pg_atomic_read_u32(&fence_shared->handing_over))
		return PGREPL_FENCE_SWITCHOVER;
	if (pg_atomic_read_u32(&fence_shared->lease_applies) &&
		GetCurrentTimestamp() >
		(TimestampTz) pg_atomic_read_u64(&fence_shared->lease_expires))
		return PGREPL_FENCE_NO_QUORUM;
	return PGREPL_FENCE_NONE;
}

/* A sentence saying why, for errdetail and the status view. */
const char *
pgrepl_fence_reason_text(PgreplFenceReason reason)
{
	switch (reason)
	{
		case PGREPL_FENCE_NONE:
			return "This node is not fenced.";
		case PGREPL_FENCE_NO_QUORUM:
			return "This primary has not heard from a majority of its cluster within the lease time.";
		case PGREPL_FENCE_DEPOSED:
			return "Another node was elected primary in a later term; this node must rejoin as a standby.";
		case PGREPL_FENCE_NOT_ELECTED:
			return "This node was promoted without an election; only pgrepl promotes nodes of its cluster.";
		case PGREPL_FENCE_SYNC_PENDING:
			return "Synchronous replication to a quorum of standbys is not in effect yet.";
		case PGREPL_FENCE_SWITCHOVER:
			return "This primary is handing its role over to a standby (pgrepl.switchover()).";
	}
	return "unknown";
}

/*
 * The commit was made but may be lost in a failover: make sure the client
 * does not hear that it succeeded.  Nothing more is sent to the client
 * (not the CommandComplete, not the error that ends the session), and the
 * backend is told to die, which it does as soon as the commit has finished
 * and interrupts are allowed again; the client sees its connection close.
 */
static void
withhold_acknowledgement(TransactionId xid, const char *why)
{
	if (whereToSendOutput != DestRemote)
		return;
	whereToSendOutput = DestNone;
	ereport(LOG,
			(errmsg("closing the connection without acknowledging the commit of transaction %u",
					xid),
			 errdetail_internal("%s", why)));
	ProcDiePending = true;
	InterruptPending = true;
}

/*
 * A lease that lapsed may come back a heartbeat later (a member joining, a
 * new primary's first round of heartbeats, a slow answer), and quorum
 * commit may be a reload away from being in effect: a commit that finds
 * the node fenced for such a reason waits for it to clear rather than
 * failing at once.  It waits at most half a heartbeat timeout from when the
 * fence began (for a lease that lapsed, its expiry; else from now), so that a
 * fence that lasts fails the commit with an error before the monitor
 * terminates the sessions still writing.  Waiting commits nothing: the
 * caller checks again.  Returns the reason that holds now.
 */
static PgreplFenceReason
wait_out_transient_fence(PgreplFenceReason reason)
{
	TimestampTz since = GetCurrentTimestamp();
	TimestampTz deadline;

	if (reason != PGREPL_FENCE_NO_QUORUM && reason != PGREPL_FENCE_SYNC_PENDING)
		return reason;
	if (reason == PGREPL_FENCE_NO_QUORUM)
	{
		TimestampTz expired = (TimestampTz)
			pg_atomic_read_u64(&fence_shared->lease_expires);

		/* A primary that never had a lease (just elected) waits from now. */
		if (expired != 0)
			since = Min(since, expired);
	}
	deadline = TimestampTzPlusMilliseconds(since,
										   pgrepl_heartbeat_timeout() / 2);
	while ((reason == PGREPL_FENCE_NO_QUORUM ||
			reason == PGREPL_FENCE_SYNC_PENDING) &&
		   GetCurrentTimestamp() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 FENCE_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reason = pgrepl_fence_reason();
	}
	return reason;
}

static void
fence_xact_callback(XactEvent event, void *arg)
{
	PgreplFenceReason reason;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			committing_xid = GetTopTransactionIdIfAny();
			if (!TransactionIdIsValid(committing_xid))
				break;
			reason = pgrepl_fence_reason();
			if (reason != PGREPL_FENCE_NONE)
				reason = wait_out_transient_fence(reason);
			if (reason != PGREPL_FENCE_NONE)
				ereport(ERROR,
						(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
						 errmsg("cannot commit a transaction that wrote: this node is fenced"),
						 errdetail_internal("%s", pgrepl_fence_reason_text(reason)),
						 errhint("Connect to the current primary: see pgrepl.nodes.")));
			pgrepl_rpo_wait_to_commit();
			break;

		case XACT_EVENT_COMMIT:
			if (!TransactionIdIsValid(committing_xid))
				break;
			if (!PostmasterIsAlive())
				withhold_acknowledgement(committing_xid,
										 "The postmaster has died.");
			else if ((reason = pgrepl_fence_reason()) != PGREPL_FENCE_NONE)
				withhold_acknowledgement(committing_xid,
										 pgrepl_fence_reason_text(reason));
			committing_xid = InvalidTransactionId;
			break;

		default:
			committing_xid = InvalidTransactionId;
			break;
	}
}

/*
 * On a primary handing over: refuse a statement that would write, before
 * it writes anything (see the file header).  EXPLAIN without ANALYZE
 * writes nothing and passes.
 */
static void
fence_executor_start(QueryDesc *queryDesc, int eflags)
{
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		(queryDesc->operation != CMD_SELECT ||
		 queryDesc->plannedstmt->hasModifyingCTE ||
		 queryDesc->plannedstmt->rowMarks != NIL) &&
		pgrepl_fence_handing_over())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot write: this node is fenced"),
				 errdetail_internal("%s", pgrepl_fence_reason_text(pgrepl_fence_reason())),
				 errhint("Connect to the current primary: see pgrepl.nodes.")));

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * A session starting on a primary fenced for good is read-only by default
 * (see the file header).  The override source outranks the configuration
 * files, per-role settings and the client's startup options.
 */
static void
fence_client_auth(struct Port *port, int status)
{
	PgreplFenceReason reason;

	if (prev_client_auth)
		prev_client_auth(port, status);
	if (status != STATUS_OK || am_walsender || fence_shared == NULL ||
		RecoveryInProgress())
		return;
	reason = (PgreplFenceReason) pg_atomic_read_u32(&fence_shared->sticky_reason);
	if (reason == PGREPL_FENCE_DEPOSED || reason == PGREPL_FENCE_NOT_ELECTED)
		SetConfigOption("default_transaction_read_only", "on",
						PGC_SUSET, PGC_S_OVERRIDE);
}

/* Called from _PG_init, so that every backend checks its commits. */
void
pgrepl_fence_install_hooks(void)
{
	RegisterXactCallback(fence_xact_callback, NULL);
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = fence_executor_start;
	prev_client_auth = ClientAuthentication_hook;
	ClientAuthentication_hook = fence_client_auth;
}

/*
 * Terminate the client sessions that are in a write transaction, as
 * pg_terminate_backend() would: they could not commit anyway, and their
 * clients learn at once to look for the new primary.
 */
int
pgrepl_fence_terminate_writers(void)
{
	int			nbackends = pgstat_fetch_stat_numbackends();
	int			terminated = 0;
	int			i;

	for (i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *local = pgrepl_local_beentry(i);

		PGPROC	   *proc;

		if (local == NULL ||
			local->backendStatus.st_backendType != B_BACKEND ||
			!TransactionIdIsValid(local->backend_xid) ||
			local->backendStatus.st_procpid == MyProcPid)
			continue;

		/*
		 * A session waiting at commit in pgrepl (for a fence to lift, or for
		 * a standby within the RPO limit) ends its wait by itself, with an
		 * error rather than a lost connection.
		 */
		proc = BackendPidGetProc(local->backendStatus.st_procpid);
		if (proc != NULL && proc->wait_event_info == PG_WAIT_EXTENSION)
			continue;
		if (kill(local->backendStatus.st_procpid, SIGTERM) == 0)
			terminated++;
	}
	pgstat_clear_backend_activity_snapshot();
	return terminated;
}

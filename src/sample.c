/*-------------------------------------------------------------------------
 *
 * sample.c
 *	  Observe this node's replication state straight from shared memory.
 *
 * The monitor calls pgrepl_take_sample() once a tick.  It reads the same
 * shared structures that pg_stat_replication and pg_stat_wal_receiver read
 * (the WAL senders' and the WAL receiver's slots, the backend status array,
 * the replication slots), each under the spinlock or shared LWLock that
 * PostgreSQL itself uses for them and for no longer than a copy.  It runs no
 * query and takes no heavyweight lock, so a tick can never wait behind a
 * user's transaction, and it works the same on a standby before any
 * database is consistent enough to be queried.
 *
 * Only physical WAL senders are standbys; logical ones (connected to a
 * database) are left out.  The lag times of standbys come from the
 * monitor's own WAL clock (walclock.c) rather than from the WAL senders'
 * measurements, which stand still while a standby is stuck.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/xlog.h"
#include "common/ip.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "replication/syncrep.h"
#include "replication/walreceiver.h"
#include "replication/walsender_private.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "sample.h"
#include "walclock.h"

/* Bytes needed for a sample that can hold every WAL sender. */
Size
pgrepl_sample_size(void)
{
	return add_size(offsetof(PgreplSample, replicas),
					mul_size(max_wal_senders, sizeof(PgreplReplicaSample)));
}

/* Distance in bytes from behind to ahead; never negative. */
static int64
lsn_distance(XLogRecPtr ahead, XLogRecPtr behind)
{
	return ahead > behind ? (int64) (ahead - behind) : 0;
}

/*
 * Commit time of the last transaction replayed, through the SQL function
 * behind pg_last_xact_replay_timestamp(): the variable it reads is private
 * to the recovery code.
 */
static bool
last_replay_time(TimestampTz *result)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	d = pg_last_xact_replay_timestamp(fcinfo);
	if (fcinfo->isnull)
		return false;
	*result = DatumGetTimestampTz(d);
	return true;
}

/* Role, timeline and WAL positions of this node. */
static void
sample_node(PgreplNodeSample *node)
{
	memset(node, 0, sizeof(*node));
	node->in_recovery = RecoveryInProgress();

	if (node->in_recovery)
	{
		TimeLineID	receive_tli;

		node->replay_lsn = GetXLogReplayRecPtr(&node->timeline);
		node->receive_lsn = GetWalRcvFlushRecPtr(NULL, &receive_tli);
		node->has_last_replay_time = last_replay_time(&node->last_replay_time);
	}
	else
	{
		node->flush_lsn = pgrepl_flush_lsn(&node->timeline);
		node->write_lsn = GetXLogWriteRecPtr();
		node->insert_lsn = GetXLogInsertRecPtr();
	}
}

/* The WAL receiver's state, as pg_stat_get_wal_receiver() reads it. */
static void
sample_receiver(PgreplReceiverSample *rcv)
{
	WalRcvData *walrcv = WalRcv;

	memset(rcv, 0, sizeof(*rcv));

	SpinLockAcquire(&walrcv->mutex);
	rcv->pid = walrcv->pid;
	rcv->state = walrcv->walRcvState;
	rcv->receive_start_lsn = walrcv->receiveStart;
	rcv->receive_start_tli = walrcv->receiveStartTLI;
	rcv->flushed_lsn = walrcv->flushedUpto;
	rcv->received_tli = walrcv->receivedTLI;
	rcv->latest_end_lsn = walrcv->latestWalEnd;
	rcv->latest_end_time = walrcv->latestWalEndTime;
	rcv->last_msg_send_time = walrcv->lastMsgSendTime;
	rcv->last_msg_receipt_time = walrcv->lastMsgReceiptTime;
	strlcpy(rcv->sender_host, walrcv->sender_host, sizeof(rcv->sender_host));
	rcv->sender_port = walrcv->sender_port;
	strlcpy(rcv->slot_name, walrcv->slotname, sizeof(rcv->slot_name));
	SpinLockRelease(&walrcv->mutex);

	rcv->written_lsn = pg_atomic_read_u64(&walrcv->writtenUpto);
	rcv->running = (rcv->pid != 0);
}

/*
 * Fill in what the WAL sender slot does not know: the standby's
 * application_name, from the backend status array, and whether it is a
 * physical sender at all.  Returns false for a logical WAL sender.
 */
static bool
describe_sender(PgreplReplicaSample *r)
{
	int			nbackends = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *local = pgrepl_local_beentry(i);
		PgBackendStatus *be;
		int			family;

		if (local == NULL || local->backendStatus.st_procpid != r->pid)
			continue;
		be = &local->backendStatus;

		if (OidIsValid(be->st_databaseid))
			return false;

		strlcpy(r->application_name, be->st_appname,
				sizeof(r->application_name));

		family = be->st_clientaddr.addr.ss_family;
		if ((family == AF_INET || family == AF_INET6) &&
			pg_getnameinfo_all(&be->st_clientaddr.addr,
							   be->st_clientaddr.salen,
							   r->client_addr, sizeof(r->client_addr),
							   NULL, 0,
							   NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		{
			/* inet has no room for an IPv6 zone: drop it, as PostgreSQL does */
			char	   *zone = strchr(r->client_addr, '%');

			if (zone)
				*zone = '\0';
			r->has_client_addr = true;
		}
		return true;
	}

	/* Gone, or not yet in the status array: report it without a name. */
	return true;
}

/* The physical slot, if any, that the WAL sender with this pid holds. */
static void
find_slot(PgreplReplicaSample *r)
{
	int			i;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *slot = &ReplicationSlotCtl->replication_slots[i];
		bool		mine;

		if (!slot->in_use)
			continue;
		SpinLockAcquire(&slot->mutex);
		mine = (slot->active_pid == r->pid);
		if (mine)
			strlcpy(r->slot_name, NameStr(slot->data.name),
					sizeof(r->slot_name));
		SpinLockRelease(&slot->mutex);
		if (mine)
		{
			r->has_slot = true;
			break;
		}
	}
	LWLockRelease(ReplicationSlotControlLock);
}

/*
 * How the sync standby machinery sees this sender, with the same wording as
 * pg_stat_replication.sync_state.
 */
static PgreplSyncState
sync_state(const PgreplReplicaSample *r, int index,
		   const SyncRepStandbyData *candidates, int ncandidates)
{
	int			i;

	if (r->sync_priority == 0)
		return PGREPL_SYNC_ASYNC;
	for (i = 0; i < ncandidates; i++)
	{
		if (candidates[i].walsnd_index == index && candidates[i].pid == r->pid)
			return SyncRepConfig->syncrep_method == SYNC_REP_PRIORITY ?
				PGREPL_SYNC_SYNC : PGREPL_SYNC_QUORUM;
	}
	return PGREPL_SYNC_POTENTIAL;
}

/* Every physical WAL sender, i.e. every standby streaming from us. */
static void
sample_replicas(PgreplSample *sample)
{
	SyncRepStandbyData *candidates;
	int			ncandidates;
	int			i;

	sample->nreplicas = 0;
	ncandidates = SyncRepGetCandidateStandbys(&candidates);

	for (i = 0; i < max_wal_senders; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		PgreplReplicaSample *r = &sample->replicas[sample->nreplicas];

		memset(r, 0, sizeof(*r));

		SpinLockAcquire(&walsnd->mutex);
		r->pid = walsnd->pid;
		r->state = walsnd->state;
		r->sent_lsn = walsnd->sentPtr;
		r->write_lsn = walsnd->write;
		r->flush_lsn = walsnd->flush;
		r->replay_lsn = walsnd->apply;
		r->sync_priority = walsnd->sync_standby_priority;
		r->reply_time = walsnd->replyTime;
		SpinLockRelease(&walsnd->mutex);

		if (r->pid == 0 || !describe_sender(r))
			continue;

		r->sync_state = sync_state(r, i, candidates, ncandidates);
		find_slot(r);
		sample->nreplicas++;
	}
}

/*
 * The WAL position standbys streaming from this node are measured against:
 * the WAL write position on a primary (what pg_current_wal_lsn() says),
 * and on a cascading standby the WAL it has, as its WAL senders see it.
 */
static XLogRecPtr
wal_position(const PgreplNodeSample *node)
{
	if (node->in_recovery)
		return Max(node->receive_lsn, node->replay_lsn);
	return node->write_lsn;
}

/* Age of the oldest WAL beyond lsn, if the standby reported an lsn. */
static void
lag_time(XLogRecPtr lsn, TimestampTz now, bool *has_lag, TimeOffset *lag)
{
	*has_lag = !XLogRecPtrIsInvalid(lsn);
	*lag = *has_lag ? walclock_age(lsn, now) : 0;
}

/*
 * Take one sample of this node's replication state.  Allocates only in the
 * current memory context, which the caller resets every tick.
 */
void
pgrepl_take_sample(PgreplSample *sample)
{
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	sample_node(&sample->node);
	sample->node.sample_time = now;

	/*
	 * A standby can have WAL senders too (cascading), and a primary that
	 * was just promoted may still show a stopping WAL receiver.
	 */
	sample_receiver(&sample->receiver);
	sample_replicas(sample);

	/* The backend status snapshot is kept until explicitly discarded. */
	pgstat_clear_backend_activity_snapshot();

	walclock_record(sample->node.timeline, wal_position(&sample->node), now);
	for (i = 0; i < sample->nreplicas; i++)
	{
		PgreplReplicaSample *r = &sample->replicas[i];

		lag_time(r->write_lsn, now, &r->has_write_lag, &r->write_lag);
		lag_time(r->flush_lsn, now, &r->has_flush_lag, &r->flush_lag);
		lag_time(r->replay_lsn, now, &r->has_replay_lag, &r->replay_lag);
	}
}

/*
 * This node's role, WAL positions and WAL receiver, read live, without its
 * WAL senders and without touching the monitor's WAL clock: what a reader
 * other than the monitor needs to judge the node as it is now (the HTTP
 * endpoint, for a load balancer's check).  Lags follow from it with
 * pgrepl_standby_lags(), as for a published sample.
 */
void
pgrepl_sample_self(PgreplSample *sample)
{
	sample_node(&sample->node);
	sample->node.sample_time = GetCurrentTimestamp();
	sample_receiver(&sample->receiver);
	sample->nreplicas = 0;
}

/*
 * Lags of a standby streaming from this node: bytes of WAL behind our
 * current position at each stage, and the age of the oldest WAL it has
 * not written, flushed, replayed.  A position the standby has not reported
 * yet is unknown.
 */
void
pgrepl_replica_lags(const PgreplNodeSample *node,
					const PgreplReplicaSample *r, PgreplLags *lags)
{
	XLogRecPtr	current = wal_position(node);

	memset(lags, 0, sizeof(*lags));

	lags->has_sent_bytes = !XLogRecPtrIsInvalid(r->sent_lsn);
	lags->sent_bytes = lsn_distance(current, r->sent_lsn);
	lags->has_write_bytes = !XLogRecPtrIsInvalid(r->write_lsn);
	lags->write_bytes = lsn_distance(current, r->write_lsn);
	lags->has_flush_bytes = !XLogRecPtrIsInvalid(r->flush_lsn);
	lags->flush_bytes = lsn_distance(current, r->flush_lsn);
	lags->has_replay_bytes = !XLogRecPtrIsInvalid(r->replay_lsn);
	lags->replay_bytes = lsn_distance(current, r->replay_lsn);

	lags->has_write_time = r->has_write_lag;
	lags->write_time = r->write_lag;
	lags->has_flush_time = r->has_flush_lag;
	lags->flush_time = r->flush_lag;
	lags->has_replay_time = r->has_replay_lag;
	lags->replay_time = r->replay_lag;
}

/*
 * Lags of this standby as it sees them itself.  Flush lag is how far the
 * received WAL is behind the end of WAL the primary last reported; replay
 * lag is how far replay is behind what was received, in bytes and as the
 * age of the last replayed commit while replay is behind.
 */
void
pgrepl_standby_lags(const PgreplSample *sample, PgreplLags *lags)
{
	const PgreplNodeSample *node = &sample->node;
	const PgreplReceiverSample *rcv = &sample->receiver;

	memset(lags, 0, sizeof(*lags));

	if (rcv->running && !XLogRecPtrIsInvalid(rcv->latest_end_lsn))
	{
		lags->has_flush_bytes = true;
		lags->flush_bytes = lsn_distance(rcv->latest_end_lsn, rcv->flushed_lsn);
	}

	if (!XLogRecPtrIsInvalid(node->receive_lsn))
	{
		lags->has_replay_bytes = true;
		lags->replay_bytes = lsn_distance(node->receive_lsn, node->replay_lsn);
	}

	if (lags->has_replay_bytes && lags->replay_bytes == 0)
	{
		lags->has_replay_time = true;
		lags->replay_time = 0;
	}
	else if (node->has_last_replay_time)
	{
		lags->has_replay_time = true;
		lags->replay_time = Max(node->sample_time - node->last_replay_time, 0);
	}
}

/*
 * This node's WAL position as an election compares it, read live: what is
 * flushed on a primary; on a standby, what it received or replayed,
 * whichever is further, with the timeline it is on.
 */
XLogRecPtr
pgrepl_current_wal(TimeLineID *tli)
{
	XLogRecPtr	replay;
	XLogRecPtr	received;
	TimeLineID	received_tli;

	if (!RecoveryInProgress())
		return pgrepl_flush_lsn(tli);

	replay = GetXLogReplayRecPtr(tli);
	received = GetWalRcvFlushRecPtr(NULL, &received_tli);
	if (received > replay && received_tli >= *tli)
	{
		*tli = received_tli;
		return received;
	}
	return replay;
}

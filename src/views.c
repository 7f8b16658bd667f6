/*-------------------------------------------------------------------------
 *
 * views.c
 *	  SQL functions behind the status views.
 *
 * They read only what the monitor published in shared memory (state.c):
 * the latest sample and the lag history.  Each copies what it needs under a
 * shared lock and builds its rows afterwards, so that a slow client never
 * holds up the monitor.  Who may call them is decided in the install
 * script (pg_monitor), as for pg_stat_replication's details.
 *
 * A value that is not known is NULL, never a magic number: an LSN a standby
 * has not reported, a lag before the first reply, a worker that is not
 * running.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "replication/walreceiver.h"
#include "replication/walsender_private.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "fence.h"
#include "settings.h"
#include "rpo.h"
#include "state.h"
#include "syncrep.h"
#include "vote.h"

PG_FUNCTION_INFO_V1(pgrepl_status);
PG_FUNCTION_INFO_V1(pgrepl_replicas);
PG_FUNCTION_INFO_V1(pgrepl_wal_receiver);
PG_FUNCTION_INFO_V1(pgrepl_lag_history);
PG_FUNCTION_INFO_V1(pgrepl_nodes);

#define STATUS_COLS			29
#define STATUS_COLS_1_1	28
#define STATUS_COLS_1_0	19
#define REPLICAS_COLS		21
#define WAL_RECEIVER_COLS	20
#define LAG_HISTORY_COLS	6
#define NODES_COLS			16
#define NODES_COLS_1_0		15

/* Builds one row, column by column, NULL unless set. */
typedef struct RowBuilder
{
	Datum	   *values;
	bool	   *nulls;
	int			ncols;
	int			next;
} RowBuilder;

static void
row_start(RowBuilder *row, Datum *values, bool *nulls, int ncols)
{
	row->values = values;
	row->nulls = nulls;
	row->ncols = ncols;
	row->next = 0;
}

/* Set the next column to d, or to NULL when !known. */
static void
row_add(RowBuilder *row, bool known, Datum d)
{
	Assert(row->next < row->ncols);
	row->values[row->next] = known ? d : (Datum) 0;
	row->nulls[row->next] = !known;
	row->next++;
}

static Datum
text_datum(const char *s)
{
	return CStringGetTextDatum(s);
}

/* An interval of the given number of microseconds. */
static Datum
interval_datum(TimeOffset usecs)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = usecs;
	return IntervalPGetDatum(result);
}

/* How long ago the sample was taken. */
static Datum
sample_age_datum(TimestampTz sample_time)
{
	return interval_datum(Max(GetCurrentTimestamp() - sample_time, 0));
}

static Datum
lsn_datum(XLogRecPtr lsn)
{
	return LSNGetDatum(lsn);
}

/* A sample, in memory of the caller's, large enough for every WAL sender. */
static PgreplSample *
read_sample(bool *has_sample, pid_t *worker_pid)
{
	PgreplSample *sample = palloc0(pgrepl_sample_size());

	*has_sample = pgrepl_state_read_sample(sample, worker_pid);
	return sample;
}

static const char *
walsnd_state_name(WalSndState state)
{
	switch (state)
	{
		case WALSNDSTATE_STARTUP:
			return "startup";
		case WALSNDSTATE_BACKUP:
			return "backup";
		case WALSNDSTATE_CATCHUP:
			return "catchup";
		case WALSNDSTATE_STREAMING:
			return "streaming";
		case WALSNDSTATE_STOPPING:
			return "stopping";
	}
	return "unknown";
}

static const char *
walrcv_state_name(WalRcvState state)
{
	switch (state)
	{
		case WALRCV_STOPPED:
			return "stopped";
		case WALRCV_STARTING:
			return "starting";
		case WALRCV_STREAMING:
			return "streaming";
		case WALRCV_WAITING:
			return "waiting";
		case WALRCV_RESTARTING:
			return "restarting";
		case WALRCV_STOPPING:
			return "stopping";
	}
	return "unknown";
}

static const char *
sync_state_name(PgreplSyncState state)
{
	switch (state)
	{
		case PGREPL_SYNC_ASYNC:
			return "async";
		case PGREPL_SYNC_POTENTIAL:
			return "potential";
		case PGREPL_SYNC_SYNC:
			return "sync";
		case PGREPL_SYNC_QUORUM:
			return "quorum";
	}
	return "unknown";
}

/*
 * pgrepl.status(): one row describing this node.  Before the monitor's
 * first sample only the name and the worker pid are known.  Versions 1.0
 * and 1.1 of the SQL declare the first STATUS_COLS_1_0 and STATUS_COLS_1_1
 * columns only: the row is cut to what the installed version declares, so
 * that this library works before ALTER EXTENSION pgrepl UPDATE too.
 */
Datum
pgrepl_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	RowBuilder	row;
	PgreplSample *sample;
	const PgreplNodeSample *node;
	bool		has;
	bool		standby;
	pid_t		worker_pid;
	PgreplLags	lags;
	PgreplTermState ts;
	PgreplFenceReason fence = pgrepl_fence_reason();
	char		primary[NAMEDATALEN];
	bool		has_primary;
	PgreplPeerView *views;
	int			nviews;
	int			reachable = 0;
	char		note[PGREPL_NOTE_LEN];
	bool		needs_rejoin;
	int			sync_k;
	int			nsync;
	char		sync_names[PGREPL_MAX_NODES][NAMEDATALEN];
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != STATUS_COLS && tupdesc->natts != STATUS_COLS_1_1 &&
		tupdesc->natts != STATUS_COLS_1_0)
		elog(ERROR, "unexpected number of columns of pgrepl.status(): %d",
			 tupdesc->natts);

	pgrepl_term_state(&ts);
	has_primary = pgrepl_state_known_primary(ts.term, primary);
	views = palloc(sizeof(PgreplPeerView) * (PGREPL_MAX_NODES + 1));
	nviews = pgrepl_state_read_views(views);
	for (i = 0; i < nviews; i++)
	{
		if (views[i].is_self || views[i].reachable)
			reachable++;
	}
	pgrepl_state_read_note(note, &needs_rejoin);
	sample = read_sample(&has, &worker_pid);
	node = &sample->node;
	standby = has && node->in_recovery;
	memset(&lags, 0, sizeof(lags));
	if (standby)
		pgrepl_standby_lags(sample, &lags);

	row_start(&row, values, nulls, STATUS_COLS);
	row_add(&row, true, text_datum(pgrepl_state_node_name()));
	row_add(&row, has, text_datum(pgrepl_node_kind == PGREPL_KIND_WITNESS ?
								  "witness" : standby ? "standby" : "primary"));
	row_add(&row, has, BoolGetDatum(node->in_recovery));
	row_add(&row, has, Int32GetDatum((int32) node->timeline));
	row_add(&row, has && !standby, lsn_datum(node->write_lsn));
	row_add(&row, has && !standby, lsn_datum(node->insert_lsn));
	row_add(&row, has && !standby, lsn_datum(node->flush_lsn));
	row_add(&row, standby && !XLogRecPtrIsInvalid(node->receive_lsn),
			lsn_datum(node->receive_lsn));
	row_add(&row, standby, lsn_datum(node->replay_lsn));
	row_add(&row, standby && node->has_last_replay_time,
			TimestampTzGetDatum(node->last_replay_time));
	row_add(&row, standby && lags.has_replay_bytes,
			Int64GetDatum(lags.replay_bytes));
	row_add(&row, standby && lags.has_replay_time,
			interval_datum(lags.replay_time));
	row_add(&row, has, TimestampTzGetDatum(node->sample_time));
	row_add(&row, has, has ? sample_age_datum(node->sample_time) : (Datum) 0);
	row_add(&row, worker_pid != 0, Int32GetDatum(worker_pid));
	row_add(&row, true, Int64GetDatum((int64) ts.term));
	row_add(&row, has_primary, text_datum(primary));
	row_add(&row, true, BoolGetDatum(fence != PGREPL_FENCE_NONE));
	row_add(&row, fence != PGREPL_FENCE_NONE,
			text_datum(pgrepl_fence_reason_text(fence)));
	row_add(&row, true, BoolGetDatum(ts.failover_paused));
	row_add(&row, nviews > 0, Int32GetDatum(nviews));
	row_add(&row, nviews > 0, Int32GetDatum(reachable));
	row_add(&row, note[0] != '\0', text_datum(note));
	row_add(&row, true,
			text_datum(pgrepl_synchronous_mode_name(pgrepl_synchronous_mode)));
	if (pgrepl_state_read_sync(&sync_k, sync_names, &nsync))
	{
		Datum	   *elems = palloc(sizeof(Datum) * Max(nsync, 1));

		for (i = 0; i < nsync; i++)
			elems[i] = text_datum(sync_names[i]);
		row_add(&row, true, Int32GetDatum(sync_k));
		row_add(&row, true,
				PointerGetDatum(construct_array(elems, nsync, TEXTOID, -1,
												false, TYPALIGN_INT)));
	}
	else
	{
		row_add(&row, false, (Datum) 0);
		row_add(&row, false, (Datum) 0);
	}
	{
		TimeOffset	exposure;
		bool		known = has && !standby &&
			pgrepl_node_kind == PGREPL_KIND_DATA &&
			pgrepl_rpo_exposure(&exposure);

		row_add(&row, known, known ? interval_datum(exposure) : (Datum) 0);
	}
	{
		Datum	   *elems = palloc(sizeof(Datum) * Max(ts.nmarks, 1));

		for (i = 0; i < ts.nmarks; i++)
			elems[i] = text_datum(ts.marks[i]);
		row_add(&row, true,
				PointerGetDatum(construct_array(elems, ts.nmarks, TEXTOID, -1,
												false, TYPALIGN_INT)));
	}
	row_add(&row, true, BoolGetDatum(needs_rejoin));
	Assert(row.next == STATUS_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* pgrepl.replicas(): one row per standby streaming from this node. */
Datum
pgrepl_replicas(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgreplSample *sample;
	bool		has;
	pid_t		worker_pid;
	Datum		age;
	int			i;

	pgrepl_init_materialized_srf(fcinfo);

	sample = read_sample(&has, &worker_pid);
	if (!has)
		PG_RETURN_VOID();
	age = sample_age_datum(sample->node.sample_time);

	for (i = 0; i < sample->nreplicas; i++)
	{
		const PgreplReplicaSample *r = &sample->replicas[i];
		Datum		values[REPLICAS_COLS];
		bool		nulls[REPLICAS_COLS];
		RowBuilder	row;
		PgreplLags	lags;

		pgrepl_replica_lags(&sample->node, r, &lags);

		row_start(&row, values, nulls, REPLICAS_COLS);
		row_add(&row, true, text_datum(r->application_name));
		row_add(&row, true, Int32GetDatum(r->pid));
		row_add(&row, r->has_client_addr,
				r->has_client_addr ?
				DirectFunctionCall1(inet_in, CStringGetDatum(r->client_addr)) :
				(Datum) 0);
		row_add(&row, true, text_datum(walsnd_state_name(r->state)));
		row_add(&row, lags.has_sent_bytes, lsn_datum(r->sent_lsn));
		row_add(&row, lags.has_write_bytes, lsn_datum(r->write_lsn));
		row_add(&row, lags.has_flush_bytes, lsn_datum(r->flush_lsn));
		row_add(&row, lags.has_replay_bytes, lsn_datum(r->replay_lsn));
		row_add(&row, lags.has_sent_bytes, Int64GetDatum(lags.sent_bytes));
		row_add(&row, lags.has_write_bytes, Int64GetDatum(lags.write_bytes));
		row_add(&row, lags.has_flush_bytes, Int64GetDatum(lags.flush_bytes));
		row_add(&row, lags.has_replay_bytes, Int64GetDatum(lags.replay_bytes));
		row_add(&row, lags.has_write_time, interval_datum(lags.write_time));
		row_add(&row, lags.has_flush_time, interval_datum(lags.flush_time));
		row_add(&row, lags.has_replay_time, interval_datum(lags.replay_time));
		row_add(&row, true, Int32GetDatum(r->sync_priority));
		row_add(&row, true, text_datum(sync_state_name(r->sync_state)));
		row_add(&row, r->has_slot, text_datum(r->slot_name));
		row_add(&row, r->reply_time != 0, TimestampTzGetDatum(r->reply_time));
		row_add(&row, true, TimestampTzGetDatum(sample->node.sample_time));
		row_add(&row, true, age);
		Assert(row.next == REPLICAS_COLS);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	PG_RETURN_VOID();
}

/*
 * pgrepl.wal_receiver(): on a standby, one row for its WAL receiver, also
 * when none runs (status "stopped"), which is exactly when it matters.
 */
Datum
pgrepl_wal_receiver(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgreplSample *sample;
	const PgreplReceiverSample *rcv;
	bool		has;
	bool		on;
	pid_t		worker_pid;
	Datum		values[WAL_RECEIVER_COLS];
	bool		nulls[WAL_RECEIVER_COLS];
	RowBuilder	row;
	PgreplLags	lags;

	pgrepl_init_materialized_srf(fcinfo);

	sample = read_sample(&has, &worker_pid);
	if (!has || !sample->node.in_recovery)
		PG_RETURN_VOID();
	rcv = &sample->receiver;
	on = rcv->running;
	pgrepl_standby_lags(sample, &lags);

	row_start(&row, values, nulls, WAL_RECEIVER_COLS);
	row_add(&row, on, Int32GetDatum(rcv->pid));
	row_add(&row, true, text_datum(on ? walrcv_state_name(rcv->state) : "stopped"));
	row_add(&row, on, lsn_datum(rcv->receive_start_lsn));
	row_add(&row, on, Int32GetDatum((int32) rcv->receive_start_tli));
	row_add(&row, on && !XLogRecPtrIsInvalid(rcv->written_lsn),
			lsn_datum(rcv->written_lsn));
	row_add(&row, on && !XLogRecPtrIsInvalid(rcv->flushed_lsn),
			lsn_datum(rcv->flushed_lsn));
	row_add(&row, on && rcv->received_tli != 0,
			Int32GetDatum((int32) rcv->received_tli));
	row_add(&row, true, lsn_datum(sample->node.replay_lsn));
	row_add(&row, on && !XLogRecPtrIsInvalid(rcv->latest_end_lsn),
			lsn_datum(rcv->latest_end_lsn));
	row_add(&row, on && rcv->latest_end_time != 0,
			TimestampTzGetDatum(rcv->latest_end_time));
	row_add(&row, on && rcv->last_msg_send_time != 0,
			TimestampTzGetDatum(rcv->last_msg_send_time));
	row_add(&row, on && rcv->last_msg_receipt_time != 0,
			TimestampTzGetDatum(rcv->last_msg_receipt_time));
	row_add(&row, on && rcv->sender_host[0] != '\0',
			text_datum(rcv->sender_host));
	row_add(&row, on && rcv->sender_port != 0, Int32GetDatum(rcv->sender_port));
	row_add(&row, on && rcv->slot_name[0] != '\0', text_datum(rcv->slot_name));
	row_add(&row, lags.has_flush_bytes, Int64GetDatum(lags.flush_bytes));
	row_add(&row, lags.has_replay_bytes, Int64GetDatum(lags.replay_bytes));
	row_add(&row, lags.has_replay_time, interval_datum(lags.replay_time));
	row_add(&row, true, TimestampTzGetDatum(sample->node.sample_time));
	row_add(&row, true, sample_age_datum(sample->node.sample_time));
	Assert(row.next == WAL_RECEIVER_COLS);

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	PG_RETURN_VOID();
}

/*
 * pgrepl.lag_history(): every stored lag point, standby by standby, each
 * standby's oldest first.
 */
Datum
pgrepl_lag_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			nseries;
	PgreplLagPoint *points;
	int			s;

	pgrepl_init_materialized_srf(fcinfo);

	nseries = pgrepl_state_nseries();
	points = palloc(sizeof(PgreplLagPoint) * pgrepl_lag_history_size);

	for (s = 0; s < nseries; s++)
	{
		PgreplLagSeries hdr;
		int			npoints = pgrepl_state_read_series(s, &hdr, points);
		Datum		standby;
		int			i;

		if (npoints == 0)
			continue;
		standby = text_datum(hdr.standby);

		for (i = 0; i < npoints; i++)
		{
			const PgreplLagPoint *p = &points[i];
			Datum		values[LAG_HISTORY_COLS];
			bool		nulls[LAG_HISTORY_COLS];
			RowBuilder	row;

			row_start(&row, values, nulls, LAG_HISTORY_COLS);
			row_add(&row, true, standby);
			row_add(&row, true, TimestampTzGetDatum(p->sample_time));
			row_add(&row, p->has_flush_lag_bytes, Int64GetDatum(p->flush_lag_bytes));
			row_add(&row, p->has_replay_lag_bytes, Int64GetDatum(p->replay_lag_bytes));
			row_add(&row, p->has_flush_lag, interval_datum(p->flush_lag));
			row_add(&row, p->has_replay_lag, interval_datum(p->replay_lag));
			Assert(row.next == LAG_HISTORY_COLS);

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
								 values, nulls);
		}
	}

	PG_RETURN_VOID();
}

/*
 * pgrepl.nodes(): every member as this node's monitor knows it from
 * heartbeats, this node first.  Lag is measured against the WAL position
 * of the member that answered as primary, when one did.
 */
Datum
pgrepl_nodes(PG_FUNCTION_ARGS)
{
	PgreplTermState ts;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgreplPeerView *views;
	XLogRecPtr	primary_lsn = InvalidXLogRecPtr;
	TimestampTz now = GetCurrentTimestamp();
	int			n;
	int			i;

	pgrepl_init_materialized_srf(fcinfo);
	if (rsinfo->setDesc->natts != NODES_COLS &&
		rsinfo->setDesc->natts != NODES_COLS_1_0)
		elog(ERROR, "unexpected number of columns of pgrepl.nodes(): %d",
			 rsinfo->setDesc->natts);
	pgrepl_term_state(&ts);

	views = palloc(sizeof(PgreplPeerView) * (PGREPL_MAX_NODES + 1));
	n = pgrepl_state_read_views(views);

	for (i = 0; i < n; i++)
	{
		if (views[i].has_reply && views[i].role == PGREPL_ROLE_PRIMARY)
			primary_lsn = Max(primary_lsn, views[i].wal_lsn);
	}

	for (i = 0; i < n; i++)
	{
		const PgreplPeerView *v = &views[i];
		Datum		values[NODES_COLS];
		bool		nulls[NODES_COLS];
		RowBuilder	row;
		bool		has = v->has_reply;
		bool		has_lsn = has && v->role != PGREPL_ROLE_WITNESS &&
			!XLogRecPtrIsInvalid(v->wal_lsn);
		bool		has_lag = has_lsn && !XLogRecPtrIsInvalid(primary_lsn);

		row_start(&row, values, nulls, NODES_COLS);
		row_add(&row, true, text_datum(v->name));
		row_add(&row, true, text_datum(pgrepl_kind_name(v->kind)));
		row_add(&row, true, BoolGetDatum(v->is_self));
		row_add(&row, true, BoolGetDatum(v->reachable));
		row_add(&row, has, TimestampTzGetDatum(v->last_reply));
		row_add(&row, has, interval_datum(Max(now - v->last_reply, 0)));
		row_add(&row, has, text_datum(has ? pgrepl_role_name(v->role) : ""));
		row_add(&row, has, Int32GetDatum(v->priority));
		row_add(&row, has, BoolGetDatum(v->kind == PGREPL_KIND_DATA &&
										v->priority > 0 &&
										!pgrepl_is_marked(&ts, v->name)));
		row_add(&row, has, Int64GetDatum((int64) v->term));
		row_add(&row, has_lsn, Int32GetDatum((int32) v->timeline));
		row_add(&row, has_lsn, lsn_datum(v->wal_lsn));
		row_add(&row, has_lag,
				Int64GetDatum(primary_lsn > v->wal_lsn ?
							  (int64) (primary_lsn - v->wal_lsn) : 0));
		row_add(&row, true, Int32GetDatum(v->failures));
		row_add(&row, v->has_error, text_datum(v->last_error));
		row_add(&row, true, BoolGetDatum(v->kind == PGREPL_KIND_DATA &&
										 v->synchronous));
		Assert(row.next == NODES_COLS);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	PG_RETURN_VOID();
}

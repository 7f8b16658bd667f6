/*-------------------------------------------------------------------------
 *
 * sample.h
 *	  One observation of this node's replication state, in plain structs.
 *
 * A sample is taken by the monitor in local memory (sample.c) and then
 * published into shared memory whole (state.c), so readers always see the
 * fields of one sample together.  Nothing here holds a pointer, so samples
 * can be copied with memcpy into and out of shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_SAMPLE_H
#define PGREPL_SAMPLE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "replication/walreceiver.h"
#include "replication/walsender_private.h"

/* Longest textual client address we keep (an IPv6 address with scope). */
#define PGREPL_ADDR_LEN		64

/* How a standby takes part in synchronous replication, as PostgreSQL says. */
typedef enum PgreplSyncState
{
	PGREPL_SYNC_ASYNC,
	PGREPL_SYNC_POTENTIAL,
	PGREPL_SYNC_SYNC,
	PGREPL_SYNC_QUORUM
} PgreplSyncState;

/* This node, as a primary or as a standby. */
typedef struct PgreplNodeSample
{
	TimestampTz sample_time;
	bool		in_recovery;
	TimeLineID	timeline;

	/* Set on a primary only. */
	XLogRecPtr	write_lsn;		/* what pg_current_wal_lsn() returns */
	XLogRecPtr	insert_lsn;
	XLogRecPtr	flush_lsn;

	/* Set on a standby only. */
	XLogRecPtr	receive_lsn;	/* flushed by the WAL receiver */
	XLogRecPtr	replay_lsn;
	bool		has_last_replay_time;
	TimestampTz last_replay_time;	/* commit time of the last replayed xact */
} PgreplNodeSample;

/* One WAL sender of a primary, i.e. one streaming standby. */
typedef struct PgreplReplicaSample
{
	pid_t		pid;
	char		application_name[NAMEDATALEN];
	bool		has_client_addr;
	char		client_addr[PGREPL_ADDR_LEN];
	WalSndState state;
	XLogRecPtr	sent_lsn;
	XLogRecPtr	write_lsn;
	XLogRecPtr	flush_lsn;
	XLogRecPtr	replay_lsn;
	/* Age of the oldest WAL not yet written, flushed, replayed there */
	bool		has_write_lag;
	bool		has_flush_lag;
	bool		has_replay_lag;
	TimeOffset	write_lag;
	TimeOffset	flush_lag;
	TimeOffset	replay_lag;
	int			sync_priority;
	PgreplSyncState sync_state;
	bool		has_slot;
	char		slot_name[NAMEDATALEN];
	TimestampTz reply_time;
} PgreplReplicaSample;

/* The WAL receiver of a standby. */
typedef struct PgreplReceiverSample
{
	bool		running;		/* false: the other fields are not set */
	pid_t		pid;
	WalRcvState state;
	XLogRecPtr	receive_start_lsn;
	TimeLineID	receive_start_tli;
	XLogRecPtr	written_lsn;
	XLogRecPtr	flushed_lsn;
	TimeLineID	received_tli;
	XLogRecPtr	latest_end_lsn;
	TimestampTz latest_end_time;
	TimestampTz last_msg_send_time;
	TimestampTz last_msg_receipt_time;
	char		sender_host[NI_MAXHOST];
	int			sender_port;
	char		slot_name[NAMEDATALEN];
} PgreplReceiverSample;

/* Everything one monitor tick observes. */
typedef struct PgreplSample
{
	PgreplNodeSample node;
	PgreplReceiverSample receiver;
	int			nreplicas;
	PgreplReplicaSample replicas[FLEXIBLE_ARRAY_MEMBER];	/* max_wal_senders */
} PgreplSample;

/*
 * Lags derived from a sample, in bytes of WAL and in time.  A has_* flag is
 * false where the lag is unknown, e.g. before a standby's first reply.
 */
typedef struct PgreplLags
{
	bool		has_sent_bytes;
	bool		has_write_bytes;
	bool		has_flush_bytes;
	bool		has_replay_bytes;
	int64		sent_bytes;
	int64		write_bytes;
	int64		flush_bytes;
	int64		replay_bytes;
	bool		has_write_time;
	bool		has_flush_time;
	bool		has_replay_time;
	TimeOffset	write_time;
	TimeOffset	flush_time;
	TimeOffset	replay_time;
} PgreplLags;

extern Size pgrepl_sample_size(void);
extern void pgrepl_take_sample(PgreplSample *sample);
extern void pgrepl_sample_self(PgreplSample *sample);
extern void pgrepl_replica_lags(const PgreplNodeSample *node,
								const PgreplReplicaSample *replica,
								PgreplLags *lags);
extern void pgrepl_standby_lags(const PgreplSample *sample, PgreplLags *lags);
extern XLogRecPtr pgrepl_current_wal(TimeLineID *tli);

#endif							/* PGREPL_SAMPLE_H */

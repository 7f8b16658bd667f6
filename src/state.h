/*-------------------------------------------------------------------------
 *
 * state.h
 *	  pgrepl's shared memory: the latest sample and the lag history.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_STATE_H
#define PGREPL_STATE_H

#include "cluster.h"
#include "sample.h"

/* One point of a standby's lag history. */
typedef struct PgreplLagPoint
{
	TimestampTz sample_time;
	bool		has_flush_lag_bytes;
	bool		has_replay_lag_bytes;
	bool		has_flush_lag;
	bool		has_replay_lag;
	int64		flush_lag_bytes;
	int64		replay_lag_bytes;
	TimeOffset	flush_lag;
	TimeOffset	replay_lag;
} PgreplLagPoint;

/* The header of one standby's ring of lag points. */
typedef struct PgreplLagSeries
{
	bool		in_use;
	char		standby[NAMEDATALEN];
	TimestampTz last_seen;		/* sample_time of its newest point */
	int			next;			/* ring index the next point goes to */
	int			count;			/* points stored, at most history_size */
} PgreplLagSeries;

extern void pgrepl_state_install_hooks(void);
extern void pgrepl_check_loaded(const void *shmem);
extern const char *pgrepl_state_node_name(void);

/* For the monitor. */
extern void pgrepl_state_set_worker(pid_t pid);
extern void pgrepl_state_publish(const PgreplSample *sample);
extern void pgrepl_state_publish_views(const PgreplPeerView *views, int n);

/* Longest note the monitor leaves for pgrepl.status. */
#define PGREPL_NOTE_LEN		1024

/* What an operator's request asks of the monitor. */
typedef enum PgreplRequestKind
{
	PGREPL_REQUEST_PROMOTE,		/* pgrepl.promote(): stand for election now */
	PGREPL_REQUEST_PROMOTE_FORCE,	/* pgrepl.promote(force => true) */
	PGREPL_REQUEST_TAKE_OVER,	/* stand now: the primary hands over to us */
	PGREPL_REQUEST_SWITCHOVER	/* pgrepl.switchover(), on the primary */
} PgreplRequestKind;

extern void pgrepl_state_set_note(const char *note, bool needs_rejoin);
extern void pgrepl_state_set_sync(bool has_sync, int k,
								  const char *const *names, int n);
extern bool pgrepl_state_take_request(uint64 *id, PgreplRequestKind *kind);
extern void pgrepl_state_finish_request(uint64 id, bool ok,
										const char *message);

/* For readers. */
extern void pgrepl_state_read_note(char *note, bool *needs_rejoin);
extern bool pgrepl_state_read_sync(int *k, char names[][NAMEDATALEN], int *n);
extern uint64 pgrepl_state_post_request(PgreplRequestKind kind);
extern void pgrepl_state_wake_worker(void);
extern bool pgrepl_state_request_outcome(uint64 id, bool *ok, char *message);
extern bool pgrepl_state_read_sample(PgreplSample *dst, pid_t *worker_pid);
extern int	pgrepl_state_read_views(PgreplPeerView *views);
extern bool pgrepl_state_is_member(const char *name);
extern bool pgrepl_state_known_primary(uint64 term, char *name);
extern int	pgrepl_state_nseries(void);
extern int	pgrepl_state_read_series(int i, PgreplLagSeries *hdr,
									 PgreplLagPoint *points);

#endif							/* PGREPL_STATE_H */

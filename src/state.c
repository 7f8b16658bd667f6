/*-------------------------------------------------------------------------
 *
 * state.c
 *	  pgrepl's shared memory: the monitor's latest sample and a ring of lag
 *	  points per standby.
 *
 * There is one writer, the monitor, and any number of readers, the SQL
 * functions behind the views.  Everything lives in one segment allocated at
 * server start and sized from settings fixed until restart
 * (max_wal_senders, pgrepl.lag_history_size):
 *
 *	 PgreplShared | PgreplSample (one slot per WAL sender) |
 *	 PgreplLagSeries[nseries] | PgreplLagPoint[nseries][history_size]
 *
 * Locking: node_name, nseries, history_size and the three pointers are set
 * once while the segment is created and never change, so they are read
 * without a lock.  Every other field, and all of the sample, the series and
 * the points, are protected by "lock": the monitor holds it exclusively
 * while it publishes a tick, readers hold it shared while they copy what
 * they need.  Neither side does anything under it but copy, so neither
 * can keep the other waiting for long, and a reader never waits for I/O or
 * for another transaction while it holds it.
 *
 * The members' views are what the monitor last knew of every member of the
 * cluster, this node first; they too are protected by "lock".
 *
 * A lag series belongs to one standby, by name.  There is one series per
 * possible WAL sender plus one for this node itself (on a standby, its own
 * lag); when a new standby appears and all are taken, the series that was
 * updated least recently is reused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/latch.h"
#include "storage/shmem.h"

#include "fence.h"
#include "handover.h"
#include "rpo.h"
#include "settings.h"
#include "state.h"
#include "stats.h"
#include "vote.h"

typedef struct PgreplShared
{
	/* Fixed at creation. */
	LWLock	   *lock;
	char		node_name[NAMEDATALEN];
	int			nseries;
	int			history_size;
	PgreplSample *sample;
	PgreplLagSeries *series;
	PgreplLagPoint *points;		/* nseries * history_size */

	/* Protected by lock. */
	bool		worker_running;
	pid_t		worker_pid;
	Latch	   *worker_latch;	/* to wake the monitor for a request */

	/* What the monitor last said of this node's state, "" if all is well. */
	char		note[PGREPL_NOTE_LEN];
	bool		needs_rejoin;	/* the note says how this node rejoins */

	/* The synchronous standbys in effect on this primary, if pgrepl sets them. */
	bool		has_sync;
	int			sync_k;
	int			nsync;
	char		sync_names[PGREPL_MAX_NODES][NAMEDATALEN];

	/*
	 * An operator's request for the monitor (a promotion, a switchover) and
	 * its outcome.  Requests are numbered; request is the one waiting to be
	 * taken, 0 if none; done is the last one finished.
	 */
	uint64		last_request;
	uint64		request;
	PgreplRequestKind request_kind;
	uint64		done;
	bool		done_ok;
	char		done_message[PGREPL_NOTE_LEN];
	bool		has_sample;
	int			nviews;			/* this node's view of the members */
	PgreplPeerView views[PGREPL_MAX_NODES + 1];
} PgreplShared;

static PgreplShared *pgrepl_shared = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static int
state_nseries(void)
{
	return max_wal_senders + 1;
}

static Size
state_size(void)
{
	Size		size;

	size = MAXALIGN(sizeof(PgreplShared));
	size = add_size(size, MAXALIGN(pgrepl_sample_size()));
	size = add_size(size, MAXALIGN(mul_size(state_nseries(),
											sizeof(PgreplLagSeries))));
	size = add_size(size, mul_size(mul_size(state_nseries(),
											pgrepl_lag_history_size),
								   sizeof(PgreplLagPoint)));
	return size;
}

static void
state_request(void)
{
	RequestAddinShmemSpace(state_size());
	RequestAddinShmemSpace(pgrepl_vote_shmem_size());
	RequestAddinShmemSpace(pgrepl_fence_shmem_size());
	RequestAddinShmemSpace(pgrepl_rpo_shmem_size());
	RequestAddinShmemSpace(pgrepl_stats_shmem_size());
	RequestAddinShmemSpace(pgrepl_handover_shmem_size());
	RequestNamedLWLockTranche("pgrepl", 1);
	RequestNamedLWLockTranche("pgrepl vote", 1);
	RequestNamedLWLockTranche("pgrepl switchover", 1);
}

#if PG_VERSION_NUM >= 150000
static void
pgrepl_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	state_request();
}
#endif

/*
 * Create the segment, or attach to it in a process that does not inherit
 * it.  Runs in the postmaster at startup and after every crash restart, so
 * state never survives a crash of the server: after one, the views show no
 * sample until the monitor has taken one.
 */
static void
pgrepl_shmem_startup(void)
{
	bool		found;
	char	   *p;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgrepl_shared = ShmemInitStruct("pgrepl", state_size(), &found);
	if (!found)
	{
		PgreplShared *s = pgrepl_shared;

		memset(s, 0, state_size());
		s->lock = &(GetNamedLWLockTranche("pgrepl"))->lock;
		pgrepl_effective_node_name(s->node_name, sizeof(s->node_name));
		s->nseries = state_nseries();
		s->history_size = pgrepl_lag_history_size;

		p = (char *) s + MAXALIGN(sizeof(PgreplShared));
		s->sample = (PgreplSample *) p;
		p += MAXALIGN(pgrepl_sample_size());
		s->series = (PgreplLagSeries *) p;
		p += MAXALIGN(mul_size(s->nseries, sizeof(PgreplLagSeries)));
		s->points = (PgreplLagPoint *) p;
	}
	pgrepl_vote_shmem_init();
	pgrepl_fence_shmem_init();
	pgrepl_rpo_shmem_init();
	pgrepl_stats_shmem_init();
	/* After fence.c's: a hand-over in progress fences from the start. */
	pgrepl_handover_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init while shared_preload_libraries is being loaded. */
void
pgrepl_state_install_hooks(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgrepl_shmem_request;
#else
	state_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgrepl_shmem_startup;
}

/*
 * Raise an error if a piece of pgrepl's shared memory is missing: that
 * happens only when the library was loaded some other way than
 * shared_preload_libraries.
 */
void
pgrepl_check_loaded(const void *shmem)
{
	if (shmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgrepl must be loaded via shared_preload_libraries"),
				 errhint("Add pgrepl to shared_preload_libraries and restart the server.")));
}

static PgreplShared *
state(void)
{
	pgrepl_check_loaded(pgrepl_shared);
	return pgrepl_shared;
}

/* This node's name, fixed at server start. */
const char *
pgrepl_state_node_name(void)
{
	return state()->node_name;
}

/* Forget the monitor when it exits, so the views do not show a stale pid. */
static void
clear_worker(int code, Datum arg)
{
	PgreplShared *s = state();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->worker_running = false;
	s->worker_pid = 0;
	s->worker_latch = NULL;
	LWLockRelease(s->lock);
}

/* The monitor announces itself once it runs. */
void
pgrepl_state_set_worker(pid_t pid)
{
	PgreplShared *s = state();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->worker_running = true;
	s->worker_pid = pid;
	s->worker_latch = MyLatch;
	LWLockRelease(s->lock);

	on_shmem_exit(clear_worker, (Datum) 0);
}

/*
 * The series of the named standby, taking a free one or the least recently
 * updated one if it has none yet.  Caller holds the lock exclusively.
 */
static int
series_for(PgreplShared *s, const char *standby)
{
	int			free_slot = -1;
	int			oldest = 0;
	int			i;

	for (i = 0; i < s->nseries; i++)
	{
		PgreplLagSeries *series = &s->series[i];

		if (!series->in_use)
		{
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (strcmp(series->standby, standby) == 0)
			return i;
		if (series->last_seen < s->series[oldest].last_seen ||
			!s->series[oldest].in_use)
			oldest = i;
	}

	i = (free_slot >= 0) ? free_slot : oldest;
	memset(&s->series[i], 0, sizeof(PgreplLagSeries));
	s->series[i].in_use = true;
	strlcpy(s->series[i].standby, standby, NAMEDATALEN);
	return i;
}

/* Append one point to the named standby's ring.  Lock held exclusively. */
static void
append_point(PgreplShared *s, const char *standby, TimestampTz when,
			 const PgreplLags *lags)
{
	int			i = series_for(s, standby);
	PgreplLagSeries *series = &s->series[i];
	PgreplLagPoint *point;

	point = &s->points[(Size) i * s->history_size + series->next];
	point->sample_time = when;
	point->has_flush_lag_bytes = lags->has_flush_bytes;
	point->flush_lag_bytes = lags->flush_bytes;
	point->has_replay_lag_bytes = lags->has_replay_bytes;
	point->replay_lag_bytes = lags->replay_bytes;
	point->has_flush_lag = lags->has_flush_time;
	point->flush_lag = lags->flush_time;
	point->has_replay_lag = lags->has_replay_time;
	point->replay_lag = lags->replay_time;

	series->next = (series->next + 1) % s->history_size;
	if (series->count < s->history_size)
		series->count++;
	series->last_seen = when;
}

/*
 * Publish one tick: the sample becomes the one the views show, and every
 * standby that streams (or catches up) gets a point in its history; on a
 * standby, so does this node itself.  The lags are computed before the
 * lock is taken, so that it is held only to copy.
 */
void
pgrepl_state_publish(const PgreplSample *sample)
{
	PgreplShared *s = state();
	PgreplLags *lags;
	PgreplLags self;
	int			i;

	lags = palloc(sizeof(PgreplLags) * Max(sample->nreplicas, 1));
	for (i = 0; i < sample->nreplicas; i++)
		pgrepl_replica_lags(&sample->node, &sample->replicas[i], &lags[i]);
	if (sample->node.in_recovery)
		pgrepl_standby_lags(sample, &self);

	LWLockAcquire(s->lock, LW_EXCLUSIVE);

	memcpy(s->sample, sample, offsetof(PgreplSample, replicas) +
		   sample->nreplicas * sizeof(PgreplReplicaSample));
	s->has_sample = true;

	for (i = 0; i < sample->nreplicas; i++)
	{
		const PgreplReplicaSample *r = &sample->replicas[i];

		if (r->application_name[0] == '\0' ||
			(r->state != WALSNDSTATE_STREAMING &&
			 r->state != WALSNDSTATE_CATCHUP))
			continue;
		append_point(s, r->application_name, sample->node.sample_time,
					 &lags[i]);
	}
	if (sample->node.in_recovery)
		append_point(s, s->node_name, sample->node.sample_time, &self);

	LWLockRelease(s->lock);

	pfree(lags);
}

/* Publish what this node knows of the members, itself first. */
void
pgrepl_state_publish_views(const PgreplPeerView *views, int n)
{
	PgreplShared *s = state();

	Assert(n <= PGREPL_MAX_NODES + 1);
	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	memcpy(s->views, views, sizeof(PgreplPeerView) * n);
	s->nviews = n;
	LWLockRelease(s->lock);
}

/*
 * Copy what this node knows of the members into views (room for
 * PGREPL_MAX_NODES + 1), this node first.  Returns how many there are: 0
 * until the monitor has read the membership.
 */
int
pgrepl_state_read_views(PgreplPeerView *views)
{
	PgreplShared *s = state();
	int			n;

	LWLockAcquire(s->lock, LW_SHARED);
	n = s->nviews;
	memcpy(views, s->views, sizeof(PgreplPeerView) * n);
	LWLockRelease(s->lock);
	return n;
}

/*
 * The member that heartbeats name as the primary leading term (or a later
 * one), this node included: reachable, answering as a primary that leads
 * its term.  Copies its name into name (NAMEDATALEN bytes); false if no
 * member does.  pgrepl.status and the HTTP endpoint both report this.
 */
bool
pgrepl_state_known_primary(uint64 term, char *name)
{
	PgreplShared *s = state();
	bool		found = false;
	int			i;

	LWLockAcquire(s->lock, LW_SHARED);
	for (i = 0; i < s->nviews && !found; i++)
	{
		const PgreplPeerView *v = &s->views[i];

		if (v->has_reply && v->reachable && v->role == PGREPL_ROLE_PRIMARY &&
			v->leader && v->term >= term)
		{
			strlcpy(name, v->name, NAMEDATALEN);
			found = true;
		}
	}
	LWLockRelease(s->lock);
	return found;
}

/* Whether the monitor last knew name as a member of the cluster. */
bool
pgrepl_state_is_member(const char *name)
{
	PgreplShared *s = state();
	bool		found = false;
	int			i;

	LWLockAcquire(s->lock, LW_SHARED);
	for (i = 0; i < s->nviews && !found; i++)
		found = (strcmp(s->views[i].name, name) == 0);
	LWLockRelease(s->lock);
	return found;
}

/*
 * Copy the latest sample into dst (which must hold pgrepl_sample_size()
 * bytes).  Returns false if the monitor has not taken one since the server
 * started.  *worker_pid is the monitor's pid, or 0 if it is not running.
 */
bool
pgrepl_state_read_sample(PgreplSample *dst, pid_t *worker_pid)
{
	PgreplShared *s = state();
	bool		has_sample;

	LWLockAcquire(s->lock, LW_SHARED);
	has_sample = s->has_sample;
	if (has_sample)
		memcpy(dst, s->sample, offsetof(PgreplSample, replicas) +
			   s->sample->nreplicas * sizeof(PgreplReplicaSample));
	*worker_pid = s->worker_running ? s->worker_pid : 0;
	LWLockRelease(s->lock);

	return has_sample;
}

/* How many lag series there are; read each with pgrepl_state_read_series. */
int
pgrepl_state_nseries(void)
{
	return state()->nseries;
}

/*
 * Copy series i, header and points, oldest point first, into hdr and
 * points (room for pgrepl.lag_history_size points).  Returns the number of
 * points; 0 for a series not in use.
 */
int
pgrepl_state_read_series(int i, PgreplLagSeries *hdr, PgreplLagPoint *points)
{
	PgreplShared *s = state();
	const PgreplLagPoint *ring;
	int			first;
	int			tail;

	Assert(i >= 0 && i < s->nseries);
	ring = &s->points[(Size) i * s->history_size];

	LWLockAcquire(s->lock, LW_SHARED);
	*hdr = s->series[i];
	if (hdr->in_use)
	{
		/* The oldest point is at next once the ring has wrapped, else at 0 */
		first = (hdr->count == s->history_size) ? hdr->next : 0;
		tail = Min(hdr->count, s->history_size - first);
		memcpy(points, ring + first, tail * sizeof(PgreplLagPoint));
		memcpy(points + tail, ring, (hdr->count - tail) * sizeof(PgreplLagPoint));
	}
	LWLockRelease(s->lock);

	return hdr->in_use ? hdr->count : 0;
}

/*
 * The monitor says why this node is in the state it is in (a fence, no
 * majority, not electable), or "" if all is well, and whether it must
 * rejoin as a standby of the leader.
 */
void
pgrepl_state_set_note(const char *note, bool needs_rejoin)
{
	PgreplShared *s = state();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	strlcpy(s->note, note, sizeof(s->note));
	s->needs_rejoin = needs_rejoin;
	LWLockRelease(s->lock);
}

/*
 * The monitor of a primary in quorum mode says which standbys, k of which
 * acknowledge each commit, are in effect; has_sync false when it manages
 * none.
 */
void
pgrepl_state_set_sync(bool has_sync, int k, const char *const *names, int n)
{
	PgreplShared *s = state();
	int			i;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->has_sync = has_sync;
	s->sync_k = k;
	s->nsync = Min(n, PGREPL_MAX_NODES);
	for (i = 0; i < s->nsync; i++)
		strlcpy(s->sync_names[i], names[i], NAMEDATALEN);
	LWLockRelease(s->lock);
}

/*
 * What pgrepl_state_set_sync last said: false if nothing; names has room
 * for PGREPL_MAX_NODES.
 */
bool
pgrepl_state_read_sync(int *k, char names[][NAMEDATALEN], int *n)
{
	PgreplShared *s = state();
	bool		has_sync;
	int			i;

	LWLockAcquire(s->lock, LW_SHARED);
	has_sync = s->has_sync && !s->sample->node.in_recovery;
	*k = s->sync_k;
	*n = s->nsync;
	for (i = 0; i < s->nsync; i++)
		strlcpy(names[i], s->sync_names[i], NAMEDATALEN);
	LWLockRelease(s->lock);
	return has_sync;
}

/*
 * What pgrepl_state_set_note last said: the note into note (room for
 * PGREPL_NOTE_LEN), whether this node must rejoin into needs_rejoin;
 * either may be NULL.
 */
void
pgrepl_state_read_note(char *note, bool *needs_rejoin)
{
	PgreplShared *s = state();

	LWLockAcquire(s->lock, LW_SHARED);
	if (note)
		strlcpy(note, s->note, PGREPL_NOTE_LEN);
	if (needs_rejoin)
		*needs_rejoin = s->needs_rejoin;
	LWLockRelease(s->lock);
}

/*
 * Hand the monitor a request, replacing any request it has not taken yet,
 * and wake it.  Returns the request's number, for
 * pgrepl_state_request_outcome(); 0 if no monitor runs.
 */
uint64
pgrepl_state_post_request(PgreplRequestKind kind)
{
	PgreplShared *s = state();
	uint64		id = 0;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	if (s->worker_running)
	{
		id = ++s->last_request;
		s->request = id;
		s->request_kind = kind;
		SetLatch(s->worker_latch);
	}
	LWLockRelease(s->lock);
	return id;
}

/* Wake the monitor, for it to act on something new at once. */
void
pgrepl_state_wake_worker(void)
{
	PgreplShared *s = state();

	LWLockAcquire(s->lock, LW_SHARED);
	if (s->worker_running)
		SetLatch(s->worker_latch);
	LWLockRelease(s->lock);
}

/* For the monitor: take the request waiting, if any. */
bool
pgrepl_state_take_request(uint64 *id, PgreplRequestKind *kind)
{
	PgreplShared *s = state();
	bool		found;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	found = (s->request != 0);
	if (found)
	{
		*id = s->request;
		*kind = s->request_kind;
		s->request = 0;
	}
	LWLockRelease(s->lock);
	return found;
}

/* For the monitor: a request is done, well or not, and why. */
void
pgrepl_state_finish_request(uint64 id, bool ok, const char *message)
{
	PgreplShared *s = state();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->done = id;
	s->done_ok = ok;
	strlcpy(s->done_message, message, sizeof(s->done_message));
	LWLockRelease(s->lock);
}

/*
 * Whether request id is done, and if so how: false while it waits or runs.
 * A request that a later one replaced, or that a monitor that exited never
 * finished, counts as done and failed.
 */
bool
pgrepl_state_request_outcome(uint64 id, bool *ok, char *message)
{
	PgreplShared *s = state();
	bool		done;

	LWLockAcquire(s->lock, LW_SHARED);
	done = (s->done >= id || s->last_request > id || !s->worker_running);
	if (done)
	{
		*ok = (s->done == id && s->done_ok);
		if (s->done == id)
			strlcpy(message, s->done_message, PGREPL_NOTE_LEN);
		else
			strlcpy(message, s->worker_running ?
					"another request replaced it" :
					"the pgrepl monitor exited", PGREPL_NOTE_LEN);
	}
	LWLockRelease(s->lock);
	return done;
}

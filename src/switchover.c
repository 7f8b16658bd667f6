/*-------------------------------------------------------------------------
 *
 * switchover.c
 *	  Planned switchover: the primary hands its role over to a standby.
 *
 * pgrepl.switchover(target, timeout), called on the primary, moves the
 * primary to the target standby (or, without one, to the most caught-up
 * standby that can take over) without losing an acknowledged commit, and
 * with writes interrupted only for as long as the target needs to replay
 * the last WAL and win an election.  The monitor of the primary does the
 * work, in this order:
 *
 *	1. It records "switchover started" in pgrepl.events, fences the node
 *	   (fence.c: no commit is acknowledged from now on, and statements that
 *	   would write fail at once), terminates the sessions in a write
 *	   transaction and waits for them to end: every acknowledged commit is
 *	   in WAL then.
 *	2. It stops streaming to every standby but the target, and takes the
 *	   end of its WAL, once those WAL senders are gone, as the "final"
 *	   position.  A fenced primary still writes a little WAL (pruning and
 *	   hint bits as it reads, for one); the target goes on receiving it,
 *	   the others do not, so the target ends up with all the WAL any other
 *	   standby has: every voter's rule 3 lets it win, and every standby can
 *	   follow its new timeline.
 *	3. It asks the target (pgrepl.take_over(..., stand => false), every
 *	   few milliseconds) until the target has replayed up to the final
 *	   position, within the timeout.  If it does not, the switchover fails
 *	   here: nobody was told anything yet, so the node unfences at once.
 *	4. It writes its marker file, gives every other voter a hand-over note
 *	   (pgrepl.hand_over(), see handover.c) and takes one itself, waiting
 *	   for every voter that was reachable.
 *	5. If enough voters took it for the target to win, it asks the target
 *	   to stand (pgrepl.take_over(..., stand => true)); the target runs the
 *	   usual election (election.c) at once, without waiting out the failover
 *	   timeout, and the old primary asks it how that goes.  The target's
 *	   entering the next term, once its pre-vote passed, is the point of no
 *	   return.  Once the target won, the old primary is deposed for good
 *	   (it adopts the new term), stops streaming WAL altogether, and must
 *	   rejoin as a standby.
 *
 * A switchover that fails after notes were sent takes them back, and the
 * node unfences only once a majority of voters confirmed it (handover.c
 * says why that is safe); a later term learnt meanwhile deposes it instead.
 *
 * The target records "switchover completed" in pgrepl.events once it may
 * commit; a failed switchover is recorded by the old primary once it is
 * unfenced.
 *
 * The old primary's state lives in its monitor's memory; only the marker
 * file outlives a restart, and a monitor that finds one revokes the notes
 * first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "fence.h"
#include "handover.h"
#include "members.h"
#include "peers.h"
#include "settings.h"
#include "state.h"
#include "stats.h"
#include "switchover.h"
#include "vote.h"

PG_FUNCTION_INFO_V1(pgrepl_switchover);

/* Longest timeout pgrepl.switchover() takes: writes are fenced meanwhile. */
#define MAX_TIMEOUT_MS		(3600 * 1000)

/* How long the old primary waits for write transactions, WAL senders, to end. */
#define DRAIN_MS			1000

/* How often the old primary asks the target how far it is. */
#define PROBE_MS			2

/* How often a waiting pgrepl.switchover() looks at the outcome. */
#define POLL_MS				10

/*
 * The old primary's side, in its monitor.
 */
typedef enum Phase
{
	PHASE_IDLE,
	PHASE_DRAIN,				/* fenced: write transactions are ending */
	PHASE_FREEZE,				/* streaming to the other standbys stops */
	PHASE_CATCH_UP,				/* the target replays the last WAL */
	PHASE_HAND_OVER,			/* the voters take the note */
	PHASE_STAND,				/* the target is asked to stand */
	PHASE_ELECTION,				/* the target's election */
	PHASE_REVOKE				/* failed: the notes are taken back */
} Phase;

typedef enum ErrandKind
{
	ERRAND_PROBE,
	ERRAND_STAND,
	ERRAND_HAND_OVER,
	ERRAND_REVOKE
} ErrandKind;

/* One call on a peer, and whether it was answered. */
typedef struct Errand
{
	char		peer[NAMEDATALEN];
	uint64		tag;
	ErrandKind	kind;
	bool		answered;
	bool		awaited;		/* reachable when sent: wait for its answer */
} Errand;

static struct
{
	Phase		phase;
	uint64		request;		/* pgrepl.switchover()'s, 0 after a restart */
	char		target[NAMEDATALEN];
	int			timeout_ms;
	uint64		term;			/* the term this node hands over */
	uint64		handover;		/* this hand-over's number */
	int			valid_ms;		/* how long voters keep the note */
	XLogRecPtr	final_lsn;

	TimestampTz fenced_at;
	TimestampTz drained_at;
	TimestampTz caught_up_at;
	TimestampTz stood_at;
	TimestampTz catch_up_deadline;
	TimestampTz round_deadline;
	TimestampTz next_probe;

	bool		no_return;		/* a later term exists */
	bool		marker_written; /* and not removed yet */
	pid_t		target_walsender;	/* streams to the target */
	bool		streaming_stopped;	/* every WAL sender, for good */

	/* The calls of the current round, to the voters or to the target. */
	Errand		round[PGREPL_MAX_NODES];
	int			nround;
	int			nanswered;
	int			nawaited;		/* calls to reachable peers not answered */
	int			nconfirmed;		/* notes taken, or dropped */
	char		refusal[PGREPL_NOTE_LEN];	/* the first refusal */

	/* The probe of the target, apart from the rounds. */
	Errand		probe;
	bool		probing;
	XLogRecPtr	target_replay;
	bool		has_target_replay;
	char		target_election[16];
	char		target_detail[PGREPL_NOTE_LEN];

	char		failure[PGREPL_NOTE_LEN];	/* why it failed, a sentence */
} so;

/* Tags of errands, never reused. */
static uint64 last_tag = 0;

/* "switchover failed", to record once this node may commit again. */
static struct
{
	bool		pending;
	uint64		term;
	char		detail[PGREPL_NOTE_LEN];
	TimestampTz at;
} failed_event;

/*
 * Whether v can take over: a data standby that answers heartbeats and may
 * be promoted.  If not, why, as a sentence.
 */
static bool
can_take_over(const PgreplPeerView *v, char *why, Size len)
{
	if (v->kind != PGREPL_KIND_DATA)
		snprintf(why, len, "Node \"%s\" is a witness: it holds no data.", v->name);
	else if (!v->reachable || !v->has_reply)
		snprintf(why, len, "Node \"%s\" does not answer heartbeats.", v->name);
	else if (v->role != PGREPL_ROLE_STANDBY)
		snprintf(why, len, "Node \"%s\" is not a standby.", v->name);
	else if (v->priority <= 0)
		snprintf(why, len, "Node \"%s\" has pgrepl.priority 0: it is never promoted.",
				 v->name);
	else
		return true;
	return false;
}

/*
 * The most caught-up standby that can take over: the most WAL as its
 * heartbeats report it, then the highest priority, then the lowest name.
 * NULL if there is none.
 */
static const PgreplPeerView *
best_standby(const PgreplPeerView *views, int nviews)
{
	const PgreplPeerView *best = NULL;
	char		why[PGREPL_NOTE_LEN];
	int			i;

	for (i = 0; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (v->is_self || !can_take_over(v, why, sizeof(why)))
			continue;
		if (best == NULL ||
			v->timeline > best->timeline ||
			(v->timeline == best->timeline &&
			 (v->wal_lsn > best->wal_lsn ||
			  (v->wal_lsn == best->wal_lsn &&
			   (v->priority > best->priority ||
				(v->priority == best->priority &&
				 strcmp(v->name, best->name) < 0))))))
			best = v;
	}
	return best;
}

/*
 * The switchover's timeout in milliseconds, or an error if it is not more
 * than 0 and at most MAX_TIMEOUT_MS.
 */
static int
switchover_timeout_ms(const Interval *timeout)
{
	int64		days;
	int64		timeout_ms;

	/* Days and microseconds apart first, so that nothing overflows. */
	days = (int64) timeout->month * DAYS_PER_MONTH + timeout->day;
	if (days > 1 || days < -1 ||
		timeout->time > (int64) 2 * MAX_TIMEOUT_MS * 1000 ||
		timeout->time < (int64) -2 * MAX_TIMEOUT_MS * 1000)
		timeout_ms = -1;
	else
		timeout_ms = (timeout->time + days * USECS_PER_DAY) / 1000;
	if (timeout_ms <= 0 || timeout_ms > MAX_TIMEOUT_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the timeout of a switchover must be more than 0 and at most 1 hour"),
				 errdetail("Writes are fenced for as long as the target needs to catch up.")));
	return (int) timeout_ms;
}

/*
 * The member an operator named as the switchover's target, or an error
 * saying why it cannot be one: checked before this node is fenced, so that
 * a typo costs no write.
 */
static const PgreplPeerView *
checked_target(const PgreplPeerView *views, int nviews, const char *name)
{
	const PgreplPeerView *target;
	char		why[PGREPL_NOTE_LEN];

	pgrepl_check_node_name(name);
	if (strcmp(name, pgrepl_state_node_name()) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node \"%s\" is the primary already", name)));
	target = handover_find_view(views, nviews, name);
	if (target == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("node \"%s\" is not a member of the cluster", name)));
	if (target->kind != PGREPL_KIND_DATA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot switch over to node \"%s\" because it is a witness",
						name),
				 errdetail("A witness holds no data.")));
	if (!can_take_over(target, why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot switch over to node \"%s\"", name),
				 errdetail_internal("%s", why)));
	return target;
}

/*
 * pgrepl.switchover(target, timeout): on the primary, hand its role over to
 * target, or to the most caught-up standby that can take over, and return
 * the new primary and its term.  Raises an error saying why if the
 * switchover failed; then this node is the unfenced primary of its term
 * again, unless the error says otherwise.
 */
Datum
pgrepl_switchover(PG_FUNCTION_ARGS)
{
	const char *self = pgrepl_state_node_name();
	PgreplPeerView *views;
	int			nviews;
	const PgreplPeerView *target = NULL;
	int			timeout_ms;
	PgreplFenceReason fence;
	uint64		request;
	bool		busy;
	TimestampTz deadline;
	bool		done = false;
	bool		ok = false;
	char		message[PGREPL_NOTE_LEN];
	char		result_target[NAMEDATALEN];
	uint64		result_term;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the timeout of a switchover must not be null")));
	timeout_ms = switchover_timeout_ms(PG_GETARG_INTERVAL_P(1));

	if (pgrepl_node_kind != PGREPL_KIND_DATA)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot switch over from node \"%s\" because it is a witness",
						self),
				 errhint("Call pgrepl.switchover() on the primary.")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot switch over from node \"%s\" because it is not the primary",
						self),
				 errhint("Call pgrepl.switchover() on the primary.")));
	views = palloc(sizeof(PgreplPeerView) * (PGREPL_MAX_NODES + 1));
	nviews = pgrepl_state_read_views(views);
	if (nviews < 2)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a member of a pgrepl cluster with other members",
						self),
				 errhint("Set pgrepl.node_conninfo, so that the node lists itself as a member, and add standbys.")));
	fence = pgrepl_fence_reason();
	if (fence != PGREPL_FENCE_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot switch over from node \"%s\" because it is fenced",
						self),
				 errdetail_internal("%s", pgrepl_fence_reason_text(fence))));
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("cannot switch over in a transaction that wrote"),
				 errdetail("The switchover fences this node: the transaction could not commit."),
				 errhint("Call pgrepl.switchover() in a transaction of its own.")));

	if (!PG_ARGISNULL(0))
		target = checked_target(views, nviews, NameStr(*PG_GETARG_NAME(0)));
	else if (best_standby(views, nviews) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no standby can take over from node \"%s\"", self),
				 errdetail("A standby must be a data member that answers heartbeats and has a pgrepl.priority above 0.")));

	/* The monitor takes it from here. */
	request = handover_post_switchover(target ? target->name : NULL,
									   timeout_ms,
									   GetUserNameFromId(GetUserId(), false),
									   &busy);
	if (busy)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("a switchover is in progress on node \"%s\"", self)));
	if (request == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the pgrepl monitor is not running")));

	/*
	 * The catch-up is bounded by the timeout, the hand-over by three
	 * heartbeat timeouts, a revocation by a majority's answers: wait for all
	 * of that, with room to spare.
	 */
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   timeout_ms + DRAIN_MS +
										   6 * pgrepl_heartbeat_timeout() +
										   30 * 1000);
	while (!(done = pgrepl_state_request_outcome(request, &ok, message)) &&
		   GetCurrentTimestamp() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	handover_read_result(result_target, &result_term);

	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("the switchover did not end in time"),
				 errhint("pgrepl.status and the server log say how it is going.")));
	if (!ok)
	{
		if (result_target[0] != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("switchover to node \"%s\" failed", result_target),
					 errdetail_internal("%s", message)));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("switchover failed"),
				 errdetail_internal("%s", message)));
	}

	values[0] = CStringGetTextDatum(result_target);
	values[1] = Int64GetDatum((int64) result_term);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The monitor's side.
 */

typedef struct EventArgs
{
	const char *event;
	uint64		term;
	const char *detail;
	TimestampTz at;
} EventArgs;

static void
insert_event(void *arg)
{
	EventArgs  *args = arg;

	pgrepl_event_insert(pgrepl_state_node_name(), args->event, &args->term,
						args->detail, args->at);
}

/* Record an event in pgrepl.events now; false if that failed. */
static bool
record_event(const char *event, uint64 term, const char *detail,
			 TimestampTz at)
{
	EventArgs	args = {event, term, detail, at};

	return pgrepl_in_transaction("record a switchover event", insert_event,
								 &args);
}

/* The request of pgrepl.switchover() is done: say how, and forget it. */
static void
finish(bool ok, const char *message)
{
	if (so.request == 0)
		return;
	handover_set_result(so.request, so.target, ok ? so.term + 1 : so.term);
	pgrepl_state_finish_request(so.request, ok, message);
	so.request = 0;
}

/* Milliseconds from a to b, or 0 if either is unknown. */
static long
ms_between(TimestampTz a, TimestampTz b)
{
	if (a == 0 || b == 0)
		return 0;
	return TimestampDifferenceMilliseconds(a, b);
}

/* Send one errand, as part of the current round or as the probe. */
static void
send_errand(Errand *e, const char *peer, ErrandKind kind)
{
	char		term[32];
	char		handover[32];
	char		valid[16];
	char		lsn[32];
	const char *self = pgrepl_state_node_name();

	strlcpy(e->peer, peer, sizeof(e->peer));
	e->kind = kind;
	e->tag = ++last_tag;
	e->answered = false;
	e->awaited = false;
	snprintf(term, sizeof(term), UINT64_FORMAT, so.term);
	snprintf(handover, sizeof(handover), UINT64_FORMAT, so.handover);
	snprintf(valid, sizeof(valid), "%d", so.valid_ms);
	snprintf(lsn, sizeof(lsn), "%X/%X", LSN_FORMAT_ARGS(so.final_lsn));

	switch (kind)
	{
		case ERRAND_PROBE:
		case ERRAND_STAND:
			{
				const char *params[5] = {self, term, handover, lsn,
				kind == ERRAND_STAND ? "true" : "false"};

				(void) peers_send_errand(peer, e->tag,
										 "SELECT current_term, replay_lsn, election, detail "
										 "FROM pgrepl.take_over($1, $2, $3, $4, $5)",
										 5, params);
				break;
			}
		case ERRAND_HAND_OVER:
			{
				const char *params[5] = {self, term, so.target, handover, valid};

				(void) peers_send_errand(peer, e->tag,
										 "SELECT pgrepl.hand_over($1, $2, $3, $4, $5)",
										 5, params);
				break;
			}
		case ERRAND_REVOKE:
			{
				const char *params[3] = {self, term, handover};

				(void) peers_send_errand(peer, e->tag,
										 "SELECT pgrepl.revoke_hand_over($1, $2, $3)",
										 3, params);
				break;
			}
	}
}

/* Start a round of errands of one kind: to every other voter but the target. */
static void
start_round(const PgreplPeerView *views, int nviews, ErrandKind kind,
			bool with_target, TimestampTz now)
{
	int			i;

	so.nround = 0;
	so.nanswered = 0;
	so.nawaited = 0;
	so.nconfirmed = 0;
	so.refusal[0] = '\0';
	for (i = 0; i < nviews && so.nround < PGREPL_MAX_NODES; i++)
	{
		Errand	   *e = &so.round[so.nround];

		if (views[i].is_self ||
			(!with_target && strcmp(views[i].name, so.target) == 0))
			continue;
		send_errand(e, views[i].name, kind);
		e->awaited = views[i].reachable;
		if (e->awaited)
			so.nawaited++;
		so.nround++;
	}
	so.round_deadline = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_timeout());
}

/* Whether every call of the round was answered, or its time is up. */
static bool
round_over(TimestampTz now)
{
	return so.nanswered >= so.nround || now >= so.round_deadline;
}

/* Ask the target again, unless a question is on its way. */
static void
probe(TimestampTz now)
{
	if (so.probing || now < so.next_probe)
		return;
	send_errand(&so.probe, so.target, ERRAND_PROBE);
	so.probing = true;
}

/* The pid of WAL sender i, or 0. */
static pid_t
walsender_pid(int i)
{
	WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
	pid_t		pid;

	SpinLockAcquire(&walsnd->mutex);
	pid = walsnd->pid;
	SpinLockRelease(&walsnd->mutex);
	return pid;
}

/*
 * The pid of the WAL sender that streams to the named standby (by its
 * application_name, which pgrepl keeps equal to the node's name), or 0.
 */
static pid_t
walsender_of(const char *name)
{
	int			nbackends;
	pid_t		found = 0;
	int			i;

	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();
	for (i = 1; i <= nbackends && found == 0; i++)
	{
		LocalPgBackendStatus *local = pgrepl_local_beentry(i);

		if (local != NULL &&
			local->backendStatus.st_backendType == B_WAL_SENDER &&
			strcmp(local->backendStatus.st_appname, name) == 0)
			found = local->backendStatus.st_procpid;
	}
	pgstat_clear_backend_activity_snapshot();
	return found;
}

/*
 * Terminate every WAL sender but the one whose pid is spare (0: all), and
 * refuse new ones (see switchover_client_auth).  Returns how many are
 * still running, spare excluded.
 */
static int
stop_walsenders(pid_t spare)
{
	int			running = 0;
	int			i;

	handover_refuse_streaming(true);
	for (i = 0; i < max_wal_senders; i++)
	{
		pid_t		pid = walsender_pid(i);

		if (pid == 0 || pid == spare)
			continue;
		(void) kill(pid, SIGTERM);
		running++;
	}
	return running;
}

/*
 * Deposed: stop streaming WAL from this node for good (until it restarts):
 * what it writes from now on, no other node should have.  But for the
 * target's: its promotion ends it soon enough, and ended sooner, it would
 * keep its startup process waiting to retry (wal_retrieve_retry_interval,
 * 5 s by default) before that noticed the promotion.
 */
static void
stop_streaming(void)
{
	if (so.streaming_stopped)
		return;
	so.streaming_stopped = true;
	(void) stop_walsenders(so.target_walsender);
	ereport(LOG,
			(errmsg("pgrepl stopped streaming WAL from this node: it handed its role over")));
}

/*
 * The switchover failed before any note was sent, or the notes are
 * revoked: unfence, record it, and say so.
 */
static void
unfence(TimestampTz now)
{
	char		message[PGREPL_NOTE_LEN];

	pgrepl_fence_set_handover(false);
	handover_refuse_streaming(false);
	handover_remove_marker();
	ereport(LOG,
			(errmsg("pgrepl switchover to node \"%s\" failed; this node is the primary of term " UINT64_FORMAT " again",
					so.target, so.term),
			 errdetail_internal("%s", so.failure)));
	failed_event.pending = true;
	failed_event.term = so.term;
	snprintf(failed_event.detail, sizeof(failed_event.detail),
			 "to node \"%s\": %s", so.target, so.failure);
	failed_event.at = now;
	snprintf(message, sizeof(message),
			 "%s Node \"%s\" is the primary of term " UINT64_FORMAT " again, unfenced.",
			 so.failure, pgrepl_state_node_name(), so.term);
	finish(false, message);
	so.phase = PHASE_IDLE;
}

/*
 * A later term exists, and the target did not win it: this node is
 * deposed, and the cluster elects a primary as after a failure.
 */
static void
fail_past_return(void)
{
	char		message[PGREPL_NOTE_LEN];

	stop_streaming();
	handover_remove_marker();
	ereport(LOG,
			(errmsg("pgrepl switchover to node \"%s\" failed after the point of no return",
					so.target),
			 errdetail_internal("%s", so.failure)));
	snprintf(message, sizeof(message),
			 "%s A later term began meanwhile: node \"%s\" is deposed, and the cluster elects a new primary as after a failure.",
			 so.failure, pgrepl_state_node_name());
	finish(false, message);
	so.phase = PHASE_IDLE;
}

/*
 * Fail after notes were sent: take them back (PHASE_REVOKE), and unfence
 * once a majority answered.  failure says why, as a sentence.
 */
static void
start_revoke(const PgreplPeerView *views, int nviews, TimestampTz now,
			 const char *failure)
{
	uint64		term;

	if (so.failure[0] == '\0')
		strlcpy(so.failure, failure, sizeof(so.failure));
	ereport(LOG,
			(errmsg("pgrepl revokes its hand-over to node \"%s\"", so.target),
			 errdetail_internal("%s", so.failure)));
	term = handover_drop_notes(so.term, so.handover);
	if (term > so.term)
	{
		fail_past_return();
		return;
	}
	so.phase = PHASE_REVOKE;
	start_round(views, nviews, ERRAND_REVOKE, true, now);
}

/* Whether the target answers heartbeats as the primary of the next term. */
static bool
target_leads(const PgreplPeerView *views, int nviews)
{
	const PgreplPeerView *v = handover_find_view(views, nviews, so.target);

	return v != NULL && v->has_reply && v->reachable &&
		v->role == PGREPL_ROLE_PRIMARY && v->leader && v->term > so.term;
}

/* The target won: the switchover is done. */
static void
succeed(TimestampTz now)
{
	char		message[PGREPL_NOTE_LEN];

	stop_streaming();
	pgrepl_stats_bump(PGREPL_STAT_SWITCHOVERS);
	ereport(LOG,
			(errmsg("pgrepl handed this node's role over to node \"%s\", elected in term " UINT64_FORMAT ", after %ld ms without commits",
					so.target, so.term + 1, ms_between(so.fenced_at, now)),
			 errdetail("Write transactions ended in %ld ms, the target replayed the last WAL in %ld ms more, the voters took the hand-over in %ld ms more, and the target won its election in %ld ms more.",
					   ms_between(so.fenced_at, so.drained_at),
					   ms_between(so.drained_at, so.caught_up_at),
					   ms_between(so.caught_up_at, so.stood_at),
					   ms_between(so.stood_at, now))));
	snprintf(message, sizeof(message),
			 "Node \"%s\" was elected in term " UINT64_FORMAT ".",
			 so.target, so.term + 1);
	finish(true, message);
	so.phase = PHASE_IDLE;
}

/*
 * Take pgrepl.switchover()'s request, check it once more against what the
 * monitor knows now, record it, and fence.
 */
static void
start(const PgreplPeerView *views, int nviews, TimestampTz now,
	  uint64 request)
{
	PgreplTermState ts;
	const PgreplPeerView *target;
	bool		has_target;
	char		by[NAMEDATALEN];
	char		why[PGREPL_NOTE_LEN];
	char		detail[PGREPL_NOTE_LEN];

	memset(&so, 0, sizeof(so));
	so.request = request;

	if (!handover_read_switchover(request, &has_target, so.target,
								  &so.timeout_ms, by))
	{
		finish(false, "The request was replaced.");
		return;
	}
	pgrepl_term_state(&ts);
	if (!pgrepl_term_led(&ts) || pgrepl_fence_reason() != PGREPL_FENCE_NONE)
	{
		finish(false, "This node is fenced, or no longer leads its term.");
		return;
	}
	target = has_target ? handover_find_view(views, nviews, so.target) :
		best_standby(views, nviews);
	if (target == NULL)
	{
		finish(false, has_target ? "The target is no longer a member." :
			   "No standby can take over.");
		return;
	}
	if (!can_take_over(target, why, sizeof(why)))
	{
		strlcpy(so.target, target->name, sizeof(so.target));
		finish(false, why);
		return;
	}
	strlcpy(so.target, target->name, sizeof(so.target));
	so.term = ts.term;
	so.handover = (uint64) now;
	so.valid_ms = 3 * pgrepl_heartbeat_timeout();

	snprintf(detail, sizeof(detail), "to node \"%s\", by %s, with a timeout of %d ms",
			 so.target, by, so.timeout_ms);
	if (!record_event("switchover started", so.term, detail, now))
	{
		finish(false, "This node could not record the switchover in pgrepl.events.");
		return;
	}

	ereport(LOG,
			(errmsg("pgrepl hands this node's role over to node \"%s\": fencing writes",
					so.target)));
	pgrepl_fence_set_handover(true);
	so.fenced_at = GetCurrentTimestamp();
	(void) pgrepl_fence_terminate_writers();
	so.round_deadline = TimestampTzPlusMilliseconds(so.fenced_at, DRAIN_MS);
	so.catch_up_deadline = TimestampTzPlusMilliseconds(so.fenced_at,
													   so.timeout_ms);
	so.phase = PHASE_DRAIN;
}

static void freeze_step(TimestampTz now);

/*
 * Fenced: wait until no session holds a write transaction (they were told
 * to terminate): then every acknowledged commit is in WAL.  Find the WAL
 * sender of the target, which must stream from this node.
 */
static void
drain_step(TimestampTz now)
{
	if (pgrepl_fence_terminate_writers() > 0 && now < so.round_deadline)
		return;
	so.drained_at = GetCurrentTimestamp();
	so.target_walsender = walsender_of(so.target);
	if (so.target_walsender == 0)
	{
		snprintf(so.failure, sizeof(so.failure),
				 "Node \"%s\" does not stream WAL from this node (no WAL sender has application_name \"%s\").",
				 so.target, so.target);
		unfence(now);
		return;
	}
	so.phase = PHASE_FREEZE;
	so.round_deadline = TimestampTzPlusMilliseconds(now, DRAIN_MS);
	freeze_step(now);
}

/*
 * Stop streaming to every standby but the target, and once their WAL
 * senders are gone, take the end of WAL as the position the target must
 * replay.  This node goes on writing a little WAL even fenced (pruning and
 * hints as it reads, for one), which the target goes on receiving: so the
 * target ends up with all the WAL any other standby has, every voter's
 * rule 3 lets it win, and every standby can follow its new timeline.
 */
static void
freeze_step(TimestampTz now)
{
	TimeLineID	tli;

	if (stop_walsenders(so.target_walsender) > 0 && now < so.round_deadline)
		return;
	XLogFlush(GetXLogInsertRecPtr());
	so.final_lsn = pgrepl_flush_lsn(&tli);
	so.phase = PHASE_CATCH_UP;
	so.next_probe = 0;
	probe(now);
}

/* Wait for the target to replay up to the final position, or time out. */
static void
catch_up_step(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	if (so.has_target_replay && so.target_replay >= so.final_lsn)
	{
		int			majority = nviews / 2 + 1;

		so.caught_up_at = now;
		so.probing = false;		/* answers of the last probe are ignored */
		PG_TRY();
		{
			handover_write_marker(so.term, so.handover, so.target);
			so.marker_written = true;
		}
		PG_CATCH();
		{
			EmitErrorReport();
			FlushErrorState();
			strlcpy(so.failure, "This node could not write its hand-over marker file.",
					sizeof(so.failure));
			unfence(now);
			return;
		}
		PG_END_TRY();

		/* This node takes the note too: it may vote for the target. */
		handover_hold_own_note(so.term, so.target, so.handover, so.valid_ms,
							   so.final_lsn);
		so.phase = PHASE_HAND_OVER;
		start_round(views, nviews, ERRAND_HAND_OVER, false, now);
		if (so.nround == 0 && 2 < majority)
			start_revoke(views, nviews, now, "No voter could take the hand-over.");
		return;
	}
	if (now >= so.catch_up_deadline)
	{
		if (so.has_target_replay)
			snprintf(so.failure, sizeof(so.failure),
					 "Node \"%s\" did not replay the WAL of this node within %d ms: it replayed up to %X/%X, the WAL ends at %X/%X.",
					 so.target, so.timeout_ms, LSN_FORMAT_ARGS(so.target_replay),
					 LSN_FORMAT_ARGS(so.final_lsn));
		else
			snprintf(so.failure, sizeof(so.failure),
					 "Node \"%s\" did not say within %d ms how far it replayed%s%s.",
					 so.target, so.timeout_ms,
					 so.target_detail[0] ? ": " : "", so.target_detail);
		so.probing = false;
		unfence(now);
		return;
	}
	probe(now);
}

/* The voters were told: ask the target to stand if enough of them took it. */
static void
hand_over_step(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	int			majority = nviews / 2 + 1;
	char		failure[PGREPL_NOTE_LEN];

	/*
	 * Wait for every voter that was reachable: the target's vote requests
	 * must not overtake a note on its way, or that voter refuses.
	 */
	if (so.nawaited > 0 && now < so.round_deadline)
		return;
	if (2 + so.nconfirmed < majority)
	{
		snprintf(failure, sizeof(failure),
				 "Only %d of %d voters took the hand-over, %d needed%s%s.",
				 so.nconfirmed + 2, nviews, majority,
				 so.refusal[0] ? "; " : "", so.refusal);
		start_revoke(views, nviews, now, failure);
		return;
	}
	so.phase = PHASE_STAND;
	so.nround = 1;
	so.nanswered = 0;
	so.nconfirmed = 0;
	so.refusal[0] = '\0';
	send_errand(&so.round[0], so.target, ERRAND_STAND);
	so.round[0].awaited = false;
	so.nawaited = 0;
	so.round_deadline = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_timeout());
}

/* The target was asked to stand. */
static void
stand_step(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	char		failure[PGREPL_NOTE_LEN];

	if (!round_over(now))
		return;
	if (so.nconfirmed == 0)
	{
		snprintf(failure, sizeof(failure), "Node \"%s\" did not stand for election: %s.",
				 so.target, so.refusal[0] ? so.refusal : "it did not answer in time");
		start_revoke(views, nviews, now, failure);
		return;
	}
	so.stood_at = now;
	so.phase = PHASE_ELECTION;
	so.round_deadline = TimestampTzPlusMilliseconds(now, so.valid_ms);
	so.next_probe = 0;
	so.target_election[0] = '\0';
	probe(now);
}

/* The target's election: won, lost, or not over in time. */
static void
election_step_(const PgreplPeerView *views, int nviews, TimestampTz now,
			   const PgreplTermState *ts)
{
	char		failure[PGREPL_NOTE_LEN];

	if (strcmp(so.target_election, "won") == 0 || target_leads(views, nviews))
	{
		succeed(now);
		return;
	}
	if (ts->term > so.term && !so.no_return)
	{
		/* The target's term began: no way back; its WAL stays its own. */
		so.no_return = true;
		stop_streaming();
	}
	if (strcmp(so.target_election, "lost") == 0 || now >= so.round_deadline)
	{
		if (strcmp(so.target_election, "lost") == 0)
			snprintf(failure, sizeof(failure), "Node \"%s\" lost the election for term " UINT64_FORMAT ": %s.",
					 so.target, so.term + 1, so.target_detail);
		else
			snprintf(failure, sizeof(failure), "Node \"%s\" did not win the election for term " UINT64_FORMAT " within %d ms.",
					 so.target, so.term + 1, so.valid_ms);
		so.probing = false;
		if (so.no_return)
		{
			strlcpy(so.failure, failure, sizeof(so.failure));
			fail_past_return();
		}
		else
			start_revoke(views, nviews, now, failure);
		return;
	}
	probe(now);
}

/*
 * Revoking: unfence once a majority of voters (this node one of them, the
 * target not) dropped the note in this term; try again every heartbeat
 * timeout until then.  A voter that answers with a later term deposes this
 * node instead.
 */
static void
revoke_step(const PgreplPeerView *views, int nviews, TimestampTz now,
			const PgreplTermState *ts)
{
	int			majority = nviews / 2 + 1;

	if (ts->term > so.term)
	{
		fail_past_return();
		return;
	}
	if (so.nconfirmed + 1 >= majority)
	{
		unfence(now);
		return;
	}
	if (!round_over(now))
		return;
	ereport(LOG,
			(errmsg("pgrepl could not revoke its hand-over from a majority yet (%d of %d voters, %d needed); this node stays fenced",
					so.nconfirmed + 1, nviews, majority)));
	start_round(views, nviews, ERRAND_REVOKE, true, now);
}

/* Parse a bigint answer (one row, one column). */
static bool
answer_term(PGresult *res, int col, uint64 *term)
{
	if (res == NULL || PQntuples(res) != 1 || PQnfields(res) <= col ||
		PQgetisnull(res, 0, col))
		return false;
	*term = strtou64(PQgetvalue(res, 0, col), NULL, 10);
	return true;
}

/* Note the first refusal of a round, for the error message. */
static void
note_refusal(const char *peer, const char *error)
{
	if (so.refusal[0] == '\0')
		snprintf(so.refusal, sizeof(so.refusal), "node \"%s\": %s", peer,
				 error ? error : "unexpected answer");
}

/* The target answered a probe. */
static void
probe_answered(PGresult *res, const char *error)
{
	uint64		term;

	so.probing = false;
	so.next_probe = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												error ? pgrepl_heartbeat_interval : PROBE_MS);
	if (res == NULL || !answer_term(res, 0, &term) || PQnfields(res) != 4)
	{
		snprintf(so.target_detail, sizeof(so.target_detail), "%s",
				 error ? error : "unexpected answer");
		return;
	}
	pgrepl_observe_term(term);
	if (!PQgetisnull(res, 0, 1))
	{
		so.target_replay = DatumGetLSN(DirectFunctionCall1(pg_lsn_in,
														   CStringGetDatum(PQgetvalue(res, 0, 1))));
		so.has_target_replay = true;
	}
	strlcpy(so.target_election, PQgetvalue(res, 0, 2),
			sizeof(so.target_election));
	strlcpy(so.target_detail, PQgetisnull(res, 0, 3) ? "" : PQgetvalue(res, 0, 3),
			sizeof(so.target_detail));
}

/*
 * A peer answered an errand of ours (res), or could not (error): see what
 * it says for the phase that sent it.  Answers to errands of an earlier
 * round are ignored.
 */
void
switchover_errand_answered(const char *peer, uint64 tag, PGresult *res,
						   const char *error)
{
	Errand	   *e = NULL;
	uint64		term;
	int			i;

	if (so.probing && tag == so.probe.tag)
	{
		probe_answered(res, error);
		return;
	}
	for (i = 0; i < so.nround; i++)
	{
		if (so.round[i].tag == tag && !so.round[i].answered)
			e = &so.round[i];
	}
	if (e == NULL)
		return;
	e->answered = true;
	so.nanswered++;
	if (e->awaited)
		so.nawaited--;

	if (res == NULL)
	{
		note_refusal(peer, error);
		return;
	}
	switch (e->kind)
	{
		case ERRAND_HAND_OVER:
			if (answer_term(res, 0, &term) && term == so.term)
				so.nconfirmed++;
			else
				note_refusal(peer, "its term moved on");
			break;
		case ERRAND_STAND:
			if (answer_term(res, 0, &term) && PQnfields(res) == 4)
			{
				const char *election = PQgetvalue(res, 0, 2);

				pgrepl_observe_term(term);
				if (strcmp(election, "running") == 0 ||
					strcmp(election, "won") == 0)
					so.nconfirmed++;
				else
					note_refusal(peer, PQgetisnull(res, 0, 3) ?
								 election : PQgetvalue(res, 0, 3));
			}
			else
				note_refusal(peer, NULL);
			break;
		case ERRAND_REVOKE:
			if (answer_term(res, 0, &term))
			{
				if (term > so.term)
					pgrepl_observe_term(term);
				else if (term == so.term && strcmp(peer, so.target) != 0)
					so.nconfirmed++;
			}
			break;
		case ERRAND_PROBE:
			break;
	}
}

/*
 * On the target of a hand-over: once it won and may commit, record that
 * the switchover completed.
 */
static void
target_step(const PgreplPeerView *self)
{
	PgreplTermState ts;
	uint64		request;
	uint64		stand_term;
	char		leader[NAMEDATALEN];
	char		detail[PGREPL_NOTE_LEN];
	char		message[PGREPL_NOTE_LEN];
	bool		ok;

	if (!handover_standing(leader, &stand_term, &request))
		return;

	if (!pgrepl_state_request_outcome(request, &ok, message))
		return;
	pgrepl_term_state(&ts);
	if (ok)
	{
		/* Won: wait until promoted, and able to commit. */
		if (ts.term != stand_term + 1 || ts.leader_term != ts.term)
			ok = false;
		else if (self->role != PGREPL_ROLE_PRIMARY ||
				 pgrepl_fence_reason() != PGREPL_FENCE_NONE)
			return;
		else
		{
			snprintf(detail, sizeof(detail),
					 "from node \"%s\", which handed its role over in term " UINT64_FORMAT,
					 leader, stand_term);
			if (!record_event("switchover completed", ts.term, detail, 0))
				return;
			pgrepl_stats_bump(PGREPL_STAT_SWITCHOVERS);
		}
	}
	handover_stand_recorded();
}

/* Record that the switchover failed, once this node may commit again. */
static void
write_failed_event(void)
{
	PgreplTermState ts;

	if (!failed_event.pending)
		return;
	pgrepl_term_state(&ts);
	if (ts.term != failed_event.term || !pgrepl_term_led(&ts))
	{
		failed_event.pending = false;
		return;
	}
	if (pgrepl_fence_reason() != PGREPL_FENCE_NONE)
		return;
	if (record_event("switchover failed", failed_event.term,
					 failed_event.detail, failed_event.at))
		failed_event.pending = false;
}

/*
 * At the monitor's start: a hand-over this node did not revoke before it
 * restarted is revoked first.
 */
void
switchover_init(void)
{
	PgreplTermState ts;

	memset(&so, 0, sizeof(so));
	memset(&failed_event, 0, sizeof(failed_event));

	if (handover_take_unrevoked(&so.term, &so.handover, so.target))
	{
		pgrepl_term_state(&ts);
		if (so.term == 0)
			so.term = ts.term;
		so.phase = PHASE_REVOKE;
		so.round_deadline = 0;	/* a round at once */
		strlcpy(so.failure, "The server restarted during a switchover.",
				sizeof(so.failure));
	}
	/* A request the previous monitor did not finish is failed by state.c. */
	handover_forget_switchover();
}

/*
 * Every pass of the monitor loop, with what this node knows of every
 * member (itself first): drive a switchover of this primary, and on the
 * target of one, record its completion.
 */
void
switchover_step(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	const PgreplPeerView *self = &views[0];
	PgreplTermState ts;
	uint64		request;
	PgreplRequestKind kind;

	if (self->kind != PGREPL_KIND_DATA)
		return;
	target_step(self);
	if (self->role != PGREPL_ROLE_PRIMARY)
	{
		/* A marker file that came with a base backup means nothing here. */
		if (so.phase != PHASE_IDLE)
		{
			handover_remove_marker();
			pgrepl_fence_set_handover(false);
			finish(false, "This node is not the primary.");
			so.phase = PHASE_IDLE;
		}
		return;
	}
	write_failed_event();

	pgrepl_term_state(&ts);
	switch (so.phase)
	{
		case PHASE_IDLE:
			/* Handed over, and deposed: no note can be revoked any more. */
			if (so.marker_written && ts.term > so.term)
			{
				handover_remove_marker();
				so.marker_written = false;
			}
			if (!pgrepl_state_take_request(&request, &kind))
				break;
			if (kind != PGREPL_REQUEST_SWITCHOVER)
				pgrepl_state_finish_request(request, false,
											"this node is not a standby");
			else
				start(views, nviews, now, request);
			break;
		case PHASE_DRAIN:
			drain_step(now);
			break;
		case PHASE_FREEZE:
			freeze_step(now);
			break;
		case PHASE_CATCH_UP:
			if (ts.term != so.term)
			{
				strlcpy(so.failure, "A later term began.", sizeof(so.failure));
				fail_past_return();
			}
			else
				catch_up_step(views, nviews, now);
			break;
		case PHASE_HAND_OVER:
			hand_over_step(views, nviews, now);
			break;
		case PHASE_STAND:
			stand_step(views, nviews, now);
			break;
		case PHASE_ELECTION:
			election_step_(views, nviews, now, &ts);
			break;
		case PHASE_REVOKE:
			if (so.nround == 0 && so.round_deadline == 0)
			{
				/* After a restart: nothing was sent yet. */
				if (handover_drop_notes(so.term, so.handover) > so.term)
				{
					fail_past_return();
					break;
				}
				start_round(views, nviews, ERRAND_REVOKE, true, now);
			}
			revoke_step(views, nviews, now, &ts);
			break;
	}
}

/* When switchover_step next has something to do, if nothing wakes it. */
TimestampTz
switchover_next_wakeup(void)
{
	TimestampTz now = GetCurrentTimestamp();
	PgreplTermState ts;

	switch (so.phase)
	{
		case PHASE_DRAIN:
		case PHASE_FREEZE:
			return TimestampTzPlusMilliseconds(now, 1);
		case PHASE_CATCH_UP:
			/* An answer to the probe wakes the monitor through its socket. */
			return so.probing ? so.catch_up_deadline :
				Min(so.next_probe, so.catch_up_deadline);
		case PHASE_ELECTION:
			return so.probing ? so.round_deadline :
				Min(so.next_probe, so.round_deadline);
		case PHASE_HAND_OVER:
		case PHASE_STAND:
		case PHASE_REVOKE:
			return so.round_deadline;
		case PHASE_IDLE:
			break;
	}

	/*
	 * A node that won an election and is being promoted looks often, so
	 * that it starts to lead (and to renew its lease) as soon as it may.
	 */
	pgrepl_term_state(&ts);
	if (pgrepl_term_led(&ts) && RecoveryInProgress())
		return TimestampTzPlusMilliseconds(now, 5);
	return DT_NOEND;
}

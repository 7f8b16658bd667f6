/*-------------------------------------------------------------------------
 *
 * handover.c
 *	  The hand-over of a switchover, as voters, the target and the old
 *	  primary keep it: notes, the marker file, and the peer functions.
 *
 * A switchover (switchover.c) hands the primary's role over to a standby
 * without waiting out the failover timeout.  What makes that possible is
 * a note the fenced primary of term T gives every voter
 * (pgrepl.hand_over()): "I step down in favour of this target".  A voter
 * that holds one lets a vote request from exactly that target, in exactly
 * term T + 1, skip the stickiness rule (PROTOCOL.md rule 4: it hears a
 * healthy primary); rules 1 to 3 apply as ever (pgrepl_decide_vote()), and
 * nobody else is exempted.  A note lapses after the time the primary gave
 * it, a few heartbeat timeouts.
 *
 * Safety.  The stickiness rule is what normally keeps a successor from
 * being elected while the primary may still commit (its lease is shorter
 * than the voters' failover timeout).  A note lets voters vote while they
 * still hear the primary, so from the first note sent until no note can be
 * used any more, the primary must not commit: it stays fenced.  When the
 * switchover fails after notes were sent, the primary takes them back
 * (pgrepl.revoke_hand_over()), and unfences only once a majority of voters,
 * itself counted and the target not, answered that they dropped the note
 * while still in its term.  A voter drops it, and answers with its term,
 * holding the vote lock, so no vote it decides afterwards relies on it;
 * and every majority that could elect the target contains one of them,
 * since the target needs a majority less one besides itself, and those
 * and the revoking majority, both among the voters but the target, must
 * overlap.  A voter that had voted in T + 1 already answers with that
 * term, and the primary, learning of it, is deposed instead.  Timing plays
 * no part in this: message delays and clock rates cannot break it.  A note
 * that arrives after its revocation is refused (they are numbered).
 *
 * The marker file (pgrepl_handover) is written by the old primary before
 * its first note leaves, and removed once the notes are revoked or it is
 * deposed.  Read when shared memory is made, it fences the node from the
 * start: a restarted primary would otherwise commit before its monitor even
 * runs, while a note may still elect the target.
 *
 * The target is asked, by pgrepl.take_over(), how far it replayed, and
 * then to stand for election at once; it does so through the request that
 * pgrepl.promote() uses (state.c), so the election is the usual one
 * (election.c).  The same call tells how that election goes.
 *
 * An old primary past the point of no return streams no WAL any more: a
 * hook refuses new WAL senders, since what it writes from then on no other
 * node should receive.
 *
 * Shared memory also carries pgrepl.switchover()'s request to the monitor,
 * and the target's record of the election it stands in.
 *
 * Locking: "lock" (tranche "pgrepl switchover") protects every field of
 * HandoverShared but no_streaming, an atomic.  A voter reads its note in
 * pgrepl_decide_vote() with the vote lock held, and the revocation drops
 * it with the vote lock held too: always the vote lock first, then this
 * one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/htup_details.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "replication/walsender.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "fence.h"
#include "handover.h"
#include "settings.h"
#include "state.h"
#include "vote.h"

PG_FUNCTION_INFO_V1(pgrepl_hand_over);
PG_FUNCTION_INFO_V1(pgrepl_revoke_hand_over);
PG_FUNCTION_INFO_V1(pgrepl_take_over);

#define MARKER_FILE			"pgrepl_handover"
#define MARKER_TMP_FILE		"pgrepl_handover.tmp"
#define MARKER_HEADER		"pgrepl handover 1"

typedef struct HandoverShared
{
	LWLock	   *lock;

	/* Set while a new backend may not stream WAL from this node. */
	pg_atomic_uint32 no_streaming;

	/*
	 * pgrepl.switchover()'s request to the monitor, under state.c's request
	 * number, and what came of it.
	 */
	uint64		request;
	bool		has_target;
	char		target[NAMEDATALEN];
	int			timeout_ms;
	char		by[NAMEDATALEN];
	char		result_target[NAMEDATALEN];
	uint64		result_term;

	/*
	 * On a voter: the hand-over note it holds (the leader of term steps
	 * down in favour of heir, in hand-over number handover), and the latest
	 * hand-over of a term it dropped when asked to.
	 */
	bool		holds;
	char		leader[NAMEDATALEN];
	uint64		term;
	char		heir[NAMEDATALEN];
	uint64		handover;
	TimestampTz until;
	bool		own;			/* this node's own note, as the leader */
	XLogRecPtr	final_lsn;		/* ... and where its WAL ended, fenced */
	uint64		revoked_term;
	uint64		revoked_handover;

	/* On the target: the election it stands in for a leader. */
	bool		standing;
	char		stand_leader[NAMEDATALEN];
	uint64		stand_term;		/* the leader's; it stands in the next */
	uint64		stand_handover;
	uint64		stand_request;	/* state.c's number */
	bool		stand_recorded; /* "switchover completed" is written */

	/* On an old primary that restarted: a hand-over not revoked yet. */
	bool		unrevoked;
	uint64		unrevoked_term;
	uint64		unrevoked_handover;
	char		unrevoked_heir[NAMEDATALEN];
} HandoverShared;

static HandoverShared *handover_shared = NULL;

static client_auth_hook_type prev_client_auth = NULL;

static HandoverShared *
shared(void)
{
	pgrepl_check_loaded(handover_shared);
	return handover_shared;
}

/*
 * The marker file: the old primary writes it before the first note leaves,
 * and removes it once the notes are revoked or it is deposed.
 */
void
handover_write_marker(uint64 term, uint64 handover, const char *heir)
{
	char		buf[256];
	int			len;
	int			fd;

	len = snprintf(buf, sizeof(buf),
				   MARKER_HEADER "\nterm " UINT64_FORMAT "\nhandover " UINT64_FORMAT "\nheir %s\n",
				   term, handover, heir);
	fd = OpenTransientFile(MARKER_TMP_FILE, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", MARKER_TMP_FILE)));
	errno = 0;
	if (write(fd, buf, len) != len)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", MARKER_TMP_FILE)));
	}
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", MARKER_TMP_FILE)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", MARKER_TMP_FILE)));
	durable_rename(MARKER_TMP_FILE, MARKER_FILE, ERROR);
}

/* The old primary is done with its marker file. */
void
handover_remove_marker(void)
{
	if (access(MARKER_FILE, F_OK) == 0)
		(void) durable_unlink(MARKER_FILE, LOG);
}

/*
 * Read the marker file, if there is one.  One that does not parse (a disk
 * error) still fences: the revocation then drops every note of the node's
 * term.
 */
static void
read_marker(HandoverShared *s)
{
	FILE	   *f;
	char		header[64];
	unsigned long long term;
	unsigned long long handover;
	char		heir[NAMEDATALEN];

	f = AllocateFile(MARKER_FILE, "r");
	if (f == NULL)
		return;
	s->unrevoked = true;
	if (fgets(header, sizeof(header), f) != NULL &&
		strcmp(header, MARKER_HEADER "\n") == 0 &&
		fscanf(f, "term %llu\nhandover %llu\nheir %63s\n",
			   &term, &handover, heir) == 3)
	{
		s->unrevoked_term = term;
		s->unrevoked_handover = handover;
		strlcpy(s->unrevoked_heir, heir, sizeof(s->unrevoked_heir));
	}
	else
	{
		ereport(LOG,
				(errmsg("file \"%s\" is corrupt; revoking every hand-over of this node's term",
						MARKER_FILE)));
		s->unrevoked_term = 0;	/* this node's term, when revoking */
		s->unrevoked_handover = PG_UINT64_MAX;
		s->unrevoked_heir[0] = '\0';
	}
	FreeFile(f);
}

Size
pgrepl_handover_shmem_size(void)
{
	return MAXALIGN(sizeof(HandoverShared));
}

/*
 * Create or attach; from the shared memory startup hook, after fence.c's.
 * A marker file left by a hand-over that was never revoked fences the node
 * before any backend can commit.
 */
void
pgrepl_handover_shmem_init(void)
{
	bool		found;

	handover_shared = ShmemInitStruct("pgrepl switchover",
										pgrepl_handover_shmem_size(),
										&found);
	if (!found)
	{
		memset(handover_shared, 0, sizeof(HandoverShared));
		handover_shared->lock =
			&(GetNamedLWLockTranche("pgrepl switchover"))->lock;
		pg_atomic_init_u32(&handover_shared->no_streaming, 0);
		read_marker(handover_shared);
		if (handover_shared->unrevoked)
			pgrepl_fence_set_handover(true);
	}
}

/*
 * An old primary that handed its role over serves no WAL any more: refuse
 * WAL senders before they start.
 */
static void
handover_client_auth(struct Port *port, int status)
{
	if (prev_client_auth)
		prev_client_auth(port, status);
	if (am_walsender && handover_shared != NULL &&
		pg_atomic_read_u32(&handover_shared->no_streaming) != 0)
		ereport(FATAL,
				(errcode(ERRCODE_CANNOT_CONNECT_NOW),
				 errmsg("node \"%s\" does not stream WAL: it handed its role over to another node",
						pgrepl_state_node_name()),
				 errhint("Stream from the current primary: see pgrepl.nodes.")));
}

/* Called from _PG_init. */
void
pgrepl_handover_install_hooks(void)
{
	prev_client_auth = ClientAuthentication_hook;
	ClientAuthentication_hook = handover_client_auth;
}

/*
 * Whether this voter holds a hand-over note that lets candidate skip the
 * stickiness rule in term: the leader of the term before named it, and the
 * note has not lapsed.  Called by pgrepl_decide_vote() with the vote lock
 * held.
 *
 * The old primary itself judges the candidate, under rule 3, against the
 * position where its WAL ended once it was fenced and had stopped
 * streaming to everyone else, rather than its live one: what it wrote
 * since (pruning and hints as it read, mostly) holds no acknowledged
 * commit, and no other node but the target received it, so no successor
 * needs it.  *my_lsn is lowered to that position.
 */
bool
pgrepl_handover_permits(const char *candidate, uint64 term,
						XLogRecPtr *my_lsn)
{
	HandoverShared *s = handover_shared;
	bool		ok;

	if (s == NULL)
		return false;
	LWLockAcquire(s->lock, LW_SHARED);
	ok = s->holds && term == s->term + 1 &&
		strcmp(candidate, s->heir) == 0 &&
		GetCurrentTimestamp() < s->until;
	if (ok && s->own && *my_lsn > s->final_lsn)
		*my_lsn = s->final_lsn;
	LWLockRelease(s->lock);
	return ok;
}

/*
 * Take a hand-over note; own for the old primary's own, with the final
 * position of its WAL.
 */
static void
hold_note(const char *leader, uint64 term, const char *heir, uint64 handover,
		  int valid_ms, bool own, XLogRecPtr final_lsn)
{
	HandoverShared *s = shared();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->holds = true;
	s->own = own;
	s->final_lsn = final_lsn;
	strlcpy(s->leader, leader, sizeof(s->leader));
	s->term = term;
	strlcpy(s->heir, heir, sizeof(s->heir));
	s->handover = handover;
	s->until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), valid_ms);
	LWLockRelease(s->lock);
}

typedef struct RevokeArgs
{
	uint64		term;
	uint64		handover;
} RevokeArgs;

/*
 * Drop the notes of term up to hand-over number handover, and remember
 * that they were dropped, so that a note of theirs arriving late is not
 * taken.  Run with the vote lock held (pgrepl_with_vote_lock).
 */
static void
drop_note(void *arg)
{
	RevokeArgs *args = arg;
	HandoverShared *s = shared();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	if (s->holds && s->term == args->term && s->handover <= args->handover)
		s->holds = false;
	if (args->term > s->revoked_term ||
		(args->term == s->revoked_term && args->handover > s->revoked_handover))
	{
		s->revoked_term = args->term;
		s->revoked_handover = args->handover;
	}
	LWLockRelease(s->lock);
}

/* The view of the named member among views, or NULL. */
const PgreplPeerView *
handover_find_view(const PgreplPeerView *views, int nviews, const char *name)
{
	int			i;

	for (i = 0; i < nviews; i++)
	{
		if (strcmp(views[i].name, name) == 0)
			return &views[i];
	}
	return NULL;
}

/*
 * Check what a hand-over call says of its sender: a member, the primary
 * leading term as far as this node knows, in this node's term.  The term
 * is adopted first if it is higher.
 */
static void
check_leader(const char *leader, int64 term)
{
	PgreplTermState ts;
	char		known[NAMEDATALEN];

	pgrepl_check_node_name(leader);
	if (term <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid term " INT64_FORMAT, term)));
	if (!pgrepl_state_is_member(leader))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a member of the cluster", leader)));
	pgrepl_observe_term((uint64) term);
	pgrepl_term_state(&ts);
	if (ts.term != (uint64) term)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("term " INT64_FORMAT " of node \"%s\" is behind term " UINT64_FORMAT " of node \"%s\"",
						term, leader, ts.term, pgrepl_state_node_name())));
	if (!pgrepl_state_known_primary((uint64) term, known) ||
		strcmp(known, leader) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" does not know node \"%s\" as the primary of term " INT64_FORMAT,
						pgrepl_state_node_name(), leader, term)));
}

/*
 * pgrepl.hand_over(leader, term, target, handover, valid_for_ms): the
 * primary leading term, fenced, steps down in favour of target.  This voter
 * takes note: for valid_for_ms, unless revoked, it may vote for target in
 * the next term although it still hears the primary.  Returns this node's
 * term.  What the old primary's monitor calls on every other voter.
 */
Datum
pgrepl_hand_over(PG_FUNCTION_ARGS)
{
	char	   *leader = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		term = PG_GETARG_INT64(1);
	char	   *heir = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int64		handover = PG_GETARG_INT64(3);
	int32		valid_ms = PG_GETARG_INT32(4);
	HandoverShared *s = shared();
	PgreplPeerView *views;
	const PgreplPeerView *v;
	int			nviews;
	bool		revoked;
	PgreplTermState ts;

	pgrepl_check_node_name(leader);
	pgrepl_check_node_name(heir);
	if (handover <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid hand-over number " INT64_FORMAT, handover)));
	if (valid_ms <= 0 || valid_ms > 600 * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hand-over must be valid for more than 0 and at most 600000 ms")));
	if (strcmp(heir, leader) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node \"%s\" cannot hand over to itself", leader)));
	views = palloc(sizeof(PgreplPeerView) * (PGREPL_MAX_NODES + 1));
	nviews = pgrepl_state_read_views(views);
	v = handover_find_view(views, nviews, heir);
	if (v == NULL || v->kind != PGREPL_KIND_DATA)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a data member of the cluster", heir)));
	check_leader(leader, term);

	LWLockAcquire(s->lock, LW_SHARED);
	revoked = ((uint64) term == s->revoked_term &&
			   (uint64) handover <= s->revoked_handover);
	LWLockRelease(s->lock);
	if (revoked)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hand-over " INT64_FORMAT " of node \"%s\" was revoked",
						handover, leader)));

	hold_note(leader, (uint64) term, heir, (uint64) handover, valid_ms,
			  false, InvalidXLogRecPtr);
	ereport(LOG,
			(errmsg("pgrepl node \"%s\" hands its role over to node \"%s\": this node may vote for it in term " INT64_FORMAT " although it hears the primary",
					leader, heir, term + 1)));
	pgrepl_term_state(&ts);
	PG_RETURN_INT64((int64) ts.term);
}

/*
 * pgrepl.revoke_hand_over(leader, term, handover): the old primary takes
 * its hand-over notes of term back, up to number handover.  This node
 * drops its note, and no vote it decides afterwards relies on it; it
 * returns its term as of then, so that the old primary knows whether it
 * had voted in a later term already.
 */
Datum
pgrepl_revoke_hand_over(PG_FUNCTION_ARGS)
{
	char	   *leader = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		term = PG_GETARG_INT64(1);
	int64		handover = PG_GETARG_INT64(2);
	RevokeArgs	args;
	uint64		my_term;

	pgrepl_check_node_name(leader);
	if (term <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid term " INT64_FORMAT, term)));
	if (handover <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid hand-over number " INT64_FORMAT, handover)));
	if (!pgrepl_state_is_member(leader))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a member of the cluster", leader)));

	args.term = (uint64) term;
	args.handover = (uint64) handover;
	my_term = pgrepl_with_vote_lock(drop_note, &args);
	ereport(LOG,
			(errmsg("pgrepl node \"%s\" revoked its hand-over of term " INT64_FORMAT,
					leader, term)));
	PG_RETURN_INT64((int64) my_term);
}

/*
 * How the election this node stands in for the hand-over numbered
 * handover went: "none" if it does not stand for it, "running", "won", or
 * "lost", and the outcome's message.
 */
static const char *
stand_outcome(const char *leader, uint64 handover, char *detail)
{
	HandoverShared *s = shared();
	uint64		request = 0;
	bool		ok;

	detail[0] = '\0';
	LWLockAcquire(s->lock, LW_SHARED);
	if (s->standing && s->stand_handover == handover &&
		strcmp(s->stand_leader, leader) == 0)
		request = s->stand_request;
	LWLockRelease(s->lock);
	if (request == 0)
		return "none";
	if (!pgrepl_state_request_outcome(request, &ok, detail))
		return "running";
	return ok ? "won" : "lost";
}

/*
 * pgrepl.take_over(leader, term, handover, lsn, stand): on the target of a
 * switchover, say how far it replayed, and with stand, stand for election
 * in the next term at once, if it replayed up to lsn: the voters hold the
 * hand-over note already.  Returns this node's term, its replay position,
 * and how the election it stands in for this hand-over goes ("none",
 * "running", "won", "lost", and a detail).  What the old primary's monitor
 * calls, over and over, on the target.
 */
Datum
pgrepl_take_over(PG_FUNCTION_ARGS)
{
	char	   *leader = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		term = PG_GETARG_INT64(1);
	int64		handover = PG_GETARG_INT64(2);
	XLogRecPtr	lsn = PG_GETARG_LSN(3);
	bool		stand = PG_GETARG_BOOL(4);
	const char *self = pgrepl_state_node_name();
	HandoverShared *s = shared();
	PgreplTermState ts;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};
	XLogRecPtr	replay = InvalidXLogRecPtr;
	TimeLineID	tli;
	const char *election;
	char		detail[PGREPL_NOTE_LEN];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (handover <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid hand-over number " INT64_FORMAT, handover)));
	if (pgrepl_node_kind != PGREPL_KIND_DATA || !RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a standby", self)));

	/* A question changes nothing: anyone of the cluster may ask it. */
	if (stand)
		check_leader(leader, term);
	else
	{
		pgrepl_check_node_name(leader);
		if (!pgrepl_state_is_member(leader))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("node \"%s\" is not a member of the cluster", leader)));
	}

	replay = GetXLogReplayRecPtr(&tli);
	if (stand)
	{
		bool		already;
		uint64		request;

		if (replay < lsn)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("node \"%s\" replayed WAL up to %X/%X, not up to %X/%X",
							self, LSN_FORMAT_ARGS(replay), LSN_FORMAT_ARGS(lsn))));

		LWLockAcquire(s->lock, LW_EXCLUSIVE);
		already = s->standing && s->stand_handover == (uint64) handover &&
			strcmp(s->stand_leader, leader) == 0;
		if (!already)
		{
			request = pgrepl_state_post_request(PGREPL_REQUEST_TAKE_OVER);
			if (request != 0)
			{
				s->standing = true;
				strlcpy(s->stand_leader, leader, sizeof(s->stand_leader));
				s->stand_term = (uint64) term;
				s->stand_handover = (uint64) handover;
				s->stand_request = request;
				s->stand_recorded = false;
			}
		}
		else
			request = s->stand_request;
		LWLockRelease(s->lock);
		if (request == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the pgrepl monitor is not running")));
		if (!already)
			ereport(LOG,
					(errmsg("pgrepl node \"%s\" hands its role over to this node: standing for election in term " INT64_FORMAT,
							leader, term + 1)));
	}

	election = stand_outcome(leader, (uint64) handover, detail);
	pgrepl_term_state(&ts);
	values[0] = Int64GetDatum((int64) ts.term);
	values[1] = LSNGetDatum(replay);
	values[2] = CStringGetTextDatum(election);
	values[3] = CStringGetTextDatum(detail);
	nulls[3] = (detail[0] == '\0');
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}


/*
 * For the old primary's monitor (switchover.c).
 */

/* Take this node's own note, as the leader, with where its WAL ended. */
void
handover_hold_own_note(uint64 term, const char *heir, uint64 handover,
					   int valid_ms, XLogRecPtr final_lsn)
{
	hold_note(pgrepl_state_node_name(), term, heir, handover, valid_ms, true,
			  final_lsn);
}

/*
 * Drop this node's notes of term up to number handover, with the vote lock
 * held, and return this node's term as of then.
 */
uint64
handover_drop_notes(uint64 term, uint64 handover)
{
	RevokeArgs	args;

	args.term = term;
	args.handover = handover;
	return pgrepl_with_vote_lock(drop_note, &args);
}

/* Refuse new WAL senders (see handover_client_auth), or let them in again. */
void
handover_refuse_streaming(bool refuse)
{
	pg_atomic_write_u32(&shared()->no_streaming, refuse ? 1 : 0);
}

/*
 * A hand-over this node had not revoked when it restarted, as its marker
 * file says: take it, once.  term is 0 if the file did not say.
 */
bool
handover_take_unrevoked(uint64 *term, uint64 *handover, char *heir)
{
	HandoverShared *s = shared();
	bool		found;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	found = s->unrevoked;
	if (found)
	{
		*term = s->unrevoked_term;
		*handover = s->unrevoked_handover;
		strlcpy(heir, s->unrevoked_heir, NAMEDATALEN);
		s->unrevoked = false;
	}
	LWLockRelease(s->lock);
	return found;
}

/*
 * pgrepl.switchover() hands its request to the monitor: posted through
 * state.c, with what it asks for kept here.  Returns the request's number;
 * 0 with *busy if another switchover is in progress, 0 alone if no
 * monitor runs.
 */
uint64
handover_post_switchover(const char *target, int timeout_ms, const char *by,
						 bool *busy)
{
	HandoverShared *s = shared();
	uint64		request = 0;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	*busy = (s->request != 0);
	if (!*busy)
	{
		request = pgrepl_state_post_request(PGREPL_REQUEST_SWITCHOVER);
		if (request != 0)
		{
			s->request = request;
			s->has_target = (target != NULL);
			strlcpy(s->target, target ? target : "", sizeof(s->target));
			s->timeout_ms = timeout_ms;
			strlcpy(s->by, by, sizeof(s->by));
			s->result_target[0] = '\0';
			s->result_term = 0;
		}
	}
	LWLockRelease(s->lock);
	return request;
}

/*
 * For the monitor: what switchover request number request asks for; false
 * if it is not the one posted (another replaced it).
 */
bool
handover_read_switchover(uint64 request, bool *has_target, char *target,
						 int *timeout_ms, char *by)
{
	HandoverShared *s = shared();
	bool		found;

	LWLockAcquire(s->lock, LW_SHARED);
	found = (s->request == request);
	if (found)
	{
		*has_target = s->has_target;
		strlcpy(target, s->target, NAMEDATALEN);
		*timeout_ms = s->timeout_ms;
		strlcpy(by, s->by, NAMEDATALEN);
	}
	LWLockRelease(s->lock);
	return found;
}

/*
 * For the monitor, once the request is done: its target, and the term that
 * target leads if it won, for pgrepl.switchover() to return.  Another
 * switchover may be asked for from now on, also if the caller of this one
 * was cancelled meanwhile.
 */
void
handover_set_result(uint64 request, const char *target, uint64 term)
{
	HandoverShared *s = shared();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	if (s->request == request)
	{
		strlcpy(s->result_target, target, sizeof(s->result_target));
		s->result_term = term;
		s->request = 0;
	}
	LWLockRelease(s->lock);
}

/* For pgrepl.switchover(): the result of its request, once done. */
void
handover_read_result(char *target, uint64 *term)
{
	HandoverShared *s = shared();

	LWLockAcquire(s->lock, LW_SHARED);
	strlcpy(target, s->result_target, NAMEDATALEN);
	*term = s->result_term;
	LWLockRelease(s->lock);
}

/* At the monitor's start: a request the previous one left is failed. */
void
handover_forget_switchover(void)
{
	HandoverShared *s = shared();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->request = 0;
	LWLockRelease(s->lock);
}

/*
 * For the target's monitor: whether it stands, or stood, for election for
 * a leader and has not recorded the outcome yet; if so, for whom, in the
 * term after which, and under which request number.
 */
bool
handover_standing(char *leader, uint64 *term, uint64 *request)
{
	HandoverShared *s = shared();
	bool		standing;

	LWLockAcquire(s->lock, LW_SHARED);
	standing = s->standing && !s->stand_recorded;
	if (standing)
	{
		strlcpy(leader, s->stand_leader, NAMEDATALEN);
		*term = s->stand_term;
		*request = s->stand_request;
	}
	LWLockRelease(s->lock);
	return standing;
}

/* The outcome of that election is recorded (or nothing is to be). */
void
handover_stand_recorded(void)
{
	HandoverShared *s = shared();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->stand_recorded = true;
	LWLockRelease(s->lock);
}

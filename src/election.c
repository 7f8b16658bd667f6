/*-------------------------------------------------------------------------
 *
 * election.c
 *	  Leadership, elections, promotion and following, as the monitor runs
 *	  them, under the rules of ../shared/PROTOCOL.md (see docs/protocol.md).
 *
 * On a primary, every pass of the monitor loop decides whether the node may
 * commit: it must lead the current term (leader_term == term: it was
 * elected, or it is the cluster's first primary) and hold a lease, renewed
 * whenever a majority of voters answered a heartbeat sent within the lease
 * time.  The verdict goes to fence.c, which backends consult at commit.
 *
 * On a data standby, when no healthy primary has been heard for
 * pgrepl.failover_timeout, the monitor stands for election if it is
 * electable (failover on, priority above 0, within
 * pgrepl.maximum_lag_on_failover of the primary's last known WAL position)
 * and no reachable standby is a better candidate (more WAL, then higher
 * priority, then lower name).  An election is a pre-vote, which changes no
 * term and so cannot disturb a healthy cluster, then the vote itself in a
 * new term; each round must be won by a majority of the members within a
 * heartbeat timeout, else the candidate backs off for a random time.  The
 * winner records its leadership durably and promotes itself.
 *
 * Every standby follows the primary that leads the current term: when that
 * primary is not the one primary_conninfo points to, the monitor points it
 * there (ALTER SYSTEM and a reload), keeping the rest of the connection
 * string (user, SSL settings) as it was, and streams through the slot the
 * new primary keeps for it.  A primary creates a physical slot for every
 * other data member, named after it, as soon as it leads; a standby drops
 * those it kept as a primary (rewind_wal.c).
 *
 * An operator may ask a standby to stand for election at once
 * (pgrepl.promote()): the same election, without waiting for the failover
 * timeout, and whether or not failover is on or paused; voters apply the
 * same rules, so a healthy primary is not deposed this way.  With force,
 * the standby promotes itself in a new term without any vote, and commits
 * without a lease until a majority answers it again: that is for disaster
 * recovery only, and logged as such.
 *
 * Events of an election, and the fencing and unfencing of a primary, are
 * written to pgrepl.events, with the time they happened, once this node is
 * a primary that may commit.
 *
 * Every pass also leaves a note for pgrepl.status saying why the node is
 * not in the state one would hope for (fenced, no primary and no election,
 * not electable, no majority reachable), so that an operator need not read
 * the logs to know.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "postmaster/postmaster.h"
#include "replication/walreceiver.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "election.h"
#include "fence.h"
#include "members.h"
#include "peers.h"
#include "rejoin.h"
#include "rewind_wal.h"
#include "settings.h"
#include "state.h"
#include "stats.h"
#include "syncrep.h"
#include "vote.h"

typedef enum ElectionPhase
{
	ELECTION_IDLE,
	ELECTION_PREVOTE,
	ELECTION_VOTE
} ElectionPhase;

/* The election this node runs as a candidate, if any. */
static struct
{
	ElectionPhase phase;
	uint64		term;
	TimestampTz deadline;
	int			nvoters;
	int			ngranted;		/* this node's own vote included */
	char		granted_by[PGREPL_MAX_NODES][NAMEDATALEN];
	int			nrefused;
	char		refused_by[PGREPL_MAX_NODES][NAMEDATALEN];
	TimestampTz next_try;		/* backoff after a lost election */
	bool		lag_reported;	/* "too far behind" logged this outage */
	uint64		request;		/* the operator's request it serves, or 0 */
	bool		take_over;		/* ... which is a switchover's hand-over */
	char		refusal[PGREPL_NOTE_LEN];	/* first refusal of this round */
	char		lost[PGREPL_NOTE_LEN];	/* why the last one was lost */
} election;

/* Whether failover is paused cluster-wide (pgrepl.pause()). */
static bool failover_paused = false;

/* The note for pgrepl.status, as built this pass and as last published. */
static char note[PGREPL_NOTE_LEN];
static char published_note[PGREPL_NOTE_LEN];

/* Whether this node must rejoin as a standby (rejoin.c), and as published. */
static bool needs_rejoin = false;
static bool published_rejoin = false;

/* Events to write once this node is a primary that may commit. */
#define MAX_PENDING_EVENTS	8
typedef struct PendingEvent
{
	char		event[32];
	uint64		term;
	char		detail[256];
	TimestampTz at;
} PendingEvent;
static PendingEvent pending_events[MAX_PENDING_EVENTS];
static int	npending_events = 0;

/*
 * The fencing verdict last published, to act on its changes.  A primary
 * starts without a lease.
 */
static PgreplFenceReason last_fence = PGREPL_FENCE_NO_QUORUM;
static TimestampTz fenced_since = 0;
static bool writers_terminated = true;
static bool fence_recorded = false; /* a "fenced" event is queued */

/* The term slots were first made for, on a primary. */
static uint64 slots_term = 0;

/* The member that leads the current term, as heartbeats tell. */
static bool has_leader = false;
static char leader_name[NAMEDATALEN];

static void
queue_event(const char *event, uint64 term, const char *detail)
{
	PendingEvent *e;

	if (npending_events == MAX_PENDING_EVENTS)
		return;
	e = &pending_events[npending_events++];
	strlcpy(e->event, event, sizeof(e->event));
	e->term = term;
	strlcpy(e->detail, detail, sizeof(e->detail));
	e->at = GetCurrentTimestamp();
}

/* For other parts of the monitor: an event to record, in the current term. */
void
election_record_event(const char *event, const char *detail)
{
	PgreplTermState ts;

	pgrepl_term_state(&ts);
	queue_event(event, ts.term, detail);
}

/* Say why this node is as it is, for pgrepl.status; "" for nothing. */
static void set_note(const char *fmt,...) pg_attribute_printf(1, 2);

static void
set_note(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(note, sizeof(note), fmt, args);
	va_end(args);
}

/* Nothing to say: all is as it should be. */
static void
clear_note(void)
{
	note[0] = '\0';
	needs_rejoin = false;
}

/* Publish the note, and whether this node must rejoin, when they changed. */
static void
publish_note(void)
{
	if (strcmp(note, published_note) == 0 && needs_rejoin == published_rejoin)
		return;
	pgrepl_state_set_note(note, needs_rejoin);
	strlcpy(published_note, note, sizeof(published_note));
	published_rejoin = needs_rejoin;
}

/* Whether failover is paused cluster-wide, as this node last heard. */
static void
read_paused(void)
{
	PgreplTermState ts;

	pgrepl_term_state(&ts);
	if (ts.failover_paused != failover_paused)
		ereport(LOG,
				(errmsg(ts.failover_paused ?
						"pgrepl failover is paused cluster-wide" :
						"pgrepl failover is no longer paused")));
	failover_paused = ts.failover_paused;
}

/*
 * At the monitor's start.  A standby drops any leadership its state file
 * claims: the file may have come with a base backup of the primary, or the
 * node may have been demoted.  Only a standby whose promotion pgrepl
 * already requested keeps it.
 */
void
election_init(void)
{
	PgreplTermState ts;

	memset(&election, 0, sizeof(election));
	pgrepl_term_state(&ts);
	if (RecoveryInProgress() && ts.leader_term != 0 && !CheckPromoteSignal())
		pgrepl_set_leader_term(0);

	/*
	 * A node that just started has had no chance to hear the primary yet:
	 * count from now, so that it neither stands for election nor votes for
	 * anyone before a whole failover timeout has passed.
	 */
	pgrepl_note_primary_contact(GetCurrentTimestamp());
}

/* Name of the member leading the current term, if heartbeats name one. */
bool
election_leader_name(char *name, Size len)
{
	if (has_leader)
		strlcpy(name, leader_name, len);
	return has_leader;
}

/*
 * Why a primary must not commit whatever its lease: it was promoted without
 * an election, or a later term has deposed it.
 */
static PgreplFenceReason
sticky_fence(const PgreplTermState *ts)
{
	if (ts->term == 0)
		return PGREPL_FENCE_NONE;
	if (ts->leader_term == 0)
		return PGREPL_FENCE_NOT_ELECTED;
	if (ts->term > ts->leader_term)
		return PGREPL_FENCE_DEPOSED;
	return PGREPL_FENCE_NONE;
}

/*
 * When the lease of this primary lapses: the send time of the heartbeat,
 * sent as the leader of term, through which the k-th voter most recently
 * answered (k a majority, this node counting as one answering now), plus
 * the lease time.  Only heartbeats sent as leader count: they are what
 * voters take as contact with a primary, which keeps them from electing
 * another.  Zero, long
 * past, if fewer than a majority ever answered.
 */
static TimestampTz
lease_expiry(const PgreplPeerView *views, int nviews, uint64 term,
			 TimestampTz now)
{
	TimestampTz acks[PGREPL_MAX_NODES + 1];
	int			nacks = 0;
	int			majority = nviews / 2 + 1;
	int			i;
	int			j;

	for (i = 0; i < nviews; i++)
	{
		if (views[i].is_self)
			acks[nacks++] = now;
		else if (views[i].has_ack && views[i].ack_term == term)
			acks[nacks++] = views[i].last_ack_sent;
	}
	if (nacks < majority)
		return 0;

	/* Sort newest first; there are at most a few dozen. */
	for (i = 1; i < nacks; i++)
	{
		TimestampTz t = acks[i];

		for (j = i; j > 0 && acks[j - 1] < t; j--)
			acks[j] = acks[j - 1];
		acks[j] = t;
	}
	return TimestampTzPlusMilliseconds(acks[majority - 1], pgrepl_lease_time());
}

/*
 * On a primary: decide whether it may commit, publish that, and act on a
 * change (log it; terminate the write sessions of a newly fenced node).
 */
static void
primary_step(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	PgreplTermState ts;
	PgreplFenceReason sticky;
	const char *sync_why;
	bool		lease_applies = (nviews >= 2);
	TimestampTz expires = 0;
	PgreplFenceReason verdict;

	pgrepl_term_state(&ts);

	/*
	 * A node promoted by force commits without a lease until a majority
	 * answers it again; from then on it is a primary like any other.
	 */
	if (ts.forced_term != 0 && ts.forced_term == ts.term && lease_applies)
	{
		if (lease_expiry(views, nviews, ts.term, now) > now)
		{
			pgrepl_end_forced_lead();
			ereport(LOG,
					(errmsg("pgrepl node \"%s\", promoted by force, is answered by a majority again",
							pgrepl_state_node_name())));
		}
		else
			lease_applies = false;
	}

	/* The first primary of a cluster leads term 1 without an election. */
	if (ts.term == 0)
	{
		pgrepl_set_leader_term(1);
		pgrepl_term_state(&ts);
		queue_event("leading", 1, "first primary of the cluster");
		ereport(LOG,
				(errmsg("pgrepl node \"%s\" leads term 1 as the first primary of its cluster",
						pgrepl_state_node_name())));
	}

	sticky = sticky_fence(&ts);
	if (sticky == PGREPL_FENCE_NONE && !syncrep_step(views, nviews, &sync_why))
		sticky = PGREPL_FENCE_SYNC_PENDING;
	if (lease_applies)
		expires = lease_expiry(views, nviews, ts.term, now);
	pgrepl_fence_set(sticky, lease_applies, expires);

	verdict = pgrepl_fence_reason();
	if (verdict != last_fence)
	{
		if (verdict != PGREPL_FENCE_NONE)
		{
			ereport(LOG,
					(errmsg("pgrepl fenced this primary: it no longer commits writes"),
					 errdetail_internal("%s", pgrepl_fence_reason_text(verdict))));
			fenced_since = now;
			writers_terminated = false;
		}
		else
		{
			ereport(LOG,
					(errmsg("pgrepl unfenced this primary: it leads term " UINT64_FORMAT " with a majority",
							ts.term)));
			if (fence_recorded)
				queue_event("unfenced", ts.term, "a majority of voters answered again");
			fence_recorded = false;
		}
		last_fence = verdict;
	}

	if (verdict != PGREPL_FENCE_NONE)
		set_note("%s", pgrepl_fence_reason_text(verdict));
	else if (!lease_applies && ts.forced_term == ts.term && ts.term != 0)
		set_note("promoted by force in term " UINT64_FORMAT ": commits without a majority until one answers",
				 ts.term);
	else
		clear_note();

	/*
	 * Sessions in a write transaction could not commit: terminate them, so
	 * that their clients look for the new primary.  A lease that lapsed may
	 * come back a heartbeat later (a member joining, a slow answer), so for
	 * that the fence must last a heartbeat timeout first.
	 */
	if (verdict != PGREPL_FENCE_NONE && !writers_terminated &&
		((verdict != PGREPL_FENCE_NO_QUORUM &&
		  verdict != PGREPL_FENCE_SYNC_PENDING) ||
		 TimestampDifferenceExceeds(fenced_since, now, pgrepl_heartbeat_timeout())))
	{
		int			n = pgrepl_fence_terminate_writers();

		if (n > 0)
			ereport(LOG,
					(errmsg("pgrepl terminated %d write session(s) of this fenced primary", n)));
		writers_terminated = true;
		queue_event("fenced", ts.term, pgrepl_fence_reason_text(verdict));
		fence_recorded = true;
	}

	/* A healthy primary hears itself: it votes for no successor. */
	if (verdict == PGREPL_FENCE_NONE)
		pgrepl_note_primary_contact(now);
}

/* Whether candidate a is better than b: more WAL, priority, lower name. */
static bool
better_candidate(const PgreplPeerView *a, const PgreplPeerView *b)
{
	if (a->timeline != b->timeline)
		return a->timeline > b->timeline;
	if (a->wal_lsn != b->wal_lsn)
		return a->wal_lsn > b->wal_lsn;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return strcmp(a->name, b->name) < 0;
}

static void
end_election(TimestampTz now, const char *why, int backoff_ms)
{
	if (election.phase != ELECTION_IDLE)
	{
		ereport(LOG,
				(errmsg("pgrepl gave up the election for term " UINT64_FORMAT ": %s",
						election.term, why)));
		peers_cancel_votes();
		if (election.refusal[0] != '\0')
			snprintf(election.lost, sizeof(election.lost), "%s (%s)", why,
					 election.refusal);
		else
			strlcpy(election.lost, why, sizeof(election.lost));
		if (election.request != 0)
			pgrepl_state_finish_request(election.request, false, election.lost);
		election.request = 0;
	}
	election.phase = ELECTION_IDLE;
	/* Back off for one to two times backoff_ms, so candidates spread. */
	election.next_try = TimestampTzPlusMilliseconds(now, backoff_ms +
													(int) pg_prng_uint64_range(&pg_global_prng_state, 0,
																			   backoff_ms));
}

/* Ask every member for its vote in this election's current round. */
static void
start_round(ElectionPhase phase, const PgreplPeerView *self, TimestampTz now)
{
	PgreplVoteRequest req;

	election.phase = phase;
	election.ngranted = 1;		/* our own */
	election.nrefused = 0;
	election.refusal[0] = '\0';
	strlcpy(election.granted_by[0], self->name, NAMEDATALEN);
	election.deadline = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_timeout());

	req.candidate = self->name;
	req.term = election.term;
	req.timeline = self->timeline;
	req.lsn = self->wal_lsn;
	req.dry_run = (phase == ELECTION_PREVOTE);
	peers_request_votes(&req);
}

/* Whether peer has answered this round, granting or refusing. */
static bool
has_answered(const char *peer)
{
	int			i;

	for (i = 0; i < election.ngranted; i++)
	{
		if (strcmp(election.granted_by[i], peer) == 0)
			return true;
	}
	for (i = 0; i < election.nrefused; i++)
	{
		if (strcmp(election.refused_by[i], peer) == 0)
			return true;
	}
	return false;
}

/*
 * Whether this round can still be won: the votes granted, and those of the
 * reachable voters that have not answered yet, make a majority.  A voter
 * that cannot be reached now may answer once it is back, but waiting for
 * that is no better than asking again soon, when it will be counted.
 */
static bool
round_winnable(const PgreplPeerView *views, int nviews, int majority)
{
	int			possible = election.ngranted;
	int			i;

	for (i = 0; i < nviews; i++)
	{
		if (!views[i].is_self && views[i].reachable &&
			!has_answered(views[i].name))
			possible++;
	}
	return possible >= majority;
}

/*
 * A peer answered a vote request of ours.  Only answers to this round
 * count: a pre-vote granted late must never pass for a vote, which the
 * voter did not record and may give to another candidate.
 */
void
election_vote_answered(const char *peer, uint64 term, bool dry_run,
					   bool granted, const char *reason)
{
	if (election.phase == ELECTION_IDLE || term != election.term ||
		dry_run != (election.phase == ELECTION_PREVOTE) ||
		has_answered(peer))
		return;
	if (!granted)
	{
		if (election.nrefused < PGREPL_MAX_NODES)
			strlcpy(election.refused_by[election.nrefused++], peer, NAMEDATALEN);
		if (election.refusal[0] == '\0')
			snprintf(election.refusal, sizeof(election.refusal),
					 "node \"%s\" refused: %s", peer, reason ? reason : "no reason given");
		ereport(LOG,
				(errmsg("pgrepl node \"%s\" refused its vote in term " UINT64_FORMAT "%s: %s",
						peer, term,
						election.phase == ELECTION_PREVOTE ? " (pre-vote)" : "",
						reason ? reason : "no reason given")));
		return;
	}
	if (election.ngranted < PGREPL_MAX_NODES)
		strlcpy(election.granted_by[election.ngranted++], peer, NAMEDATALEN);
}

/* Ask the startup process to promote this standby, and return at once. */
static void
promote(void)
{
	LOCAL_FCINFO(fcinfo, 2);

	/* pg_promote(wait => false): signal the startup process and return */
	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = BoolGetDatum(false);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = Int32GetDatum(60);	/* unused without wait */
	fcinfo->args[1].isnull = false;
	(void) pg_promote(fcinfo);
}

/* The candidate won: lead the term, then promote. */
static void
win(void)
{
	char		voters[256] = "";
	int			i;

	for (i = 0; i < election.ngranted; i++)
	{
		if (i > 0)
			strlcat(voters, ", ", sizeof(voters));
		strlcat(voters, election.granted_by[i], sizeof(voters));
	}

	pgrepl_set_leader_term(election.term);
	pgrepl_stats_bump(PGREPL_STAT_FAILOVERS);

	/* The new primary starts without a lease, fenced until it has one. */
	pgrepl_fence_set(PGREPL_FENCE_NONE, true, 0);

	/*
	 * It hears a healthy primary: itself.  While it is being promoted it is
	 * still in recovery, and would otherwise vote for a successor (rule 4
	 * keeps it from doing so for a failover timeout, after which a
	 * promotion that hangs may be replaced).
	 */
	pgrepl_note_primary_contact(GetCurrentTimestamp());
	ereport(LOG,
			(errmsg("pgrepl node \"%s\" won the election for term " UINT64_FORMAT " with the votes of %s; promoting",
					pgrepl_state_node_name(), election.term, voters)));
	{
		char		detail[300];

		snprintf(detail, sizeof(detail), "elected with %d of %d votes: %s",
				 election.ngranted, election.nvoters, voters);
		queue_event("elected", election.term, detail);
		queue_event("promoted", election.term,
					election.request == 0 ?
					"promoted by pgrepl after winning the election" :
					election.take_over ?
					"promoted by pgrepl.switchover() after winning the election" :
					"promoted by pgrepl.promote() after winning the election");
		if (election.request != 0)
			pgrepl_state_finish_request(election.request, true, detail);
	}
	election.phase = ELECTION_IDLE;
	election.request = 0;
	promote();
}

/*
 * An operator asked for this standby to be promoted by force: take a new
 * term without an election and promote.  Logged as a warning and recorded:
 * rule 7 of PROTOCOL.md allows it only when asked for explicitly.
 */
static void
promote_by_force(uint64 request)
{
	PgreplTermState ts;
	uint64		term;

	pgrepl_term_state(&ts);
	term = ts.term + 1;
	if (!pgrepl_lead_by_force(term))
	{
		pgrepl_state_finish_request(request, false,
									"the term moved on meanwhile");
		return;
	}
	pgrepl_fence_set(PGREPL_FENCE_NONE, false, 0);
	pgrepl_stats_bump(PGREPL_STAT_FAILOVERS);
	ereport(WARNING,
			(errmsg("pgrepl promotes node \"%s\" by force in term " UINT64_FORMAT ", without an election",
					pgrepl_state_node_name(), term),
			 errdetail("An operator called pgrepl.promote(force => true). The node commits without a majority until one answers it.")));
	queue_event("promoted", term,
				"promoted by force, without an election, by pgrepl.promote(force => true)");
	pgrepl_state_finish_request(request, true, "promoted by force");
	promote();
}

/*
 * Whether this standby is too far behind the primary's last known WAL
 * position to be elected (pgrepl.maximum_lag_on_failover); if so, why.
 */
static bool
too_far_behind(const PgreplPeerView *views, int nviews, char *why, Size len)
{
	const PgreplPeerView *self = &views[0];
	XLogRecPtr	primary_lsn = InvalidXLogRecPtr;
	uint64		lag;
	int			i;

	for (i = 0; i < nviews; i++)
	{
		if (views[i].has_reply && views[i].role == PGREPL_ROLE_PRIMARY)
			primary_lsn = Max(primary_lsn, views[i].wal_lsn);
	}
	lag = (primary_lsn > self->wal_lsn) ? primary_lsn - self->wal_lsn : 0;
	if (lag <= (uint64) pgrepl_maximum_lag_on_failover * 1024 * 1024)
		return false;
	snprintf(why, len, "not electable: " UINT64_FORMAT " bytes behind the primary's last known position",
			 lag);
	return true;
}

/* Stand for election in the term after ours, starting with the pre-vote. */
static void
stand(const PgreplPeerView *self, int nviews, TimestampTz now, const char *why)
{
	PgreplTermState ts;

	pgrepl_term_state(&ts);
	election.term = ts.term + 1;
	election.nvoters = nviews;
	ereport(LOG,
			(errmsg("pgrepl node \"%s\" stands for election in term " UINT64_FORMAT ": %s",
					self->name, election.term, why)));
	start_round(ELECTION_PREVOTE, self, now);
}

/*
 * An operator asked to promote this standby (pgrepl.promote()): by force at
 * once, or by an election started now, which voters judge as any other; or
 * the primary hands its role over to it (switchover.c): an election now.
 */
static void
serve_request(const PgreplPeerView *views, int nviews, TimestampTz now,
			  uint64 request, PgreplRequestKind kind)
{
	char		why[PGREPL_NOTE_LEN];

	if (kind == PGREPL_REQUEST_SWITCHOVER)
	{
		pgrepl_state_finish_request(request, false, "this node is not the primary");
		return;
	}
	if (kind == PGREPL_REQUEST_PROMOTE_FORCE)
	{
		promote_by_force(request);
		return;
	}
	if (too_far_behind(views, nviews, why, sizeof(why)))
	{
		pgrepl_state_finish_request(request, false, why);
		return;
	}
	election.request = request;
	election.take_over = (kind == PGREPL_REQUEST_TAKE_OVER);
	stand(&views[0], nviews, now, election.take_over ?
		  "the primary hands its role over to this node (pgrepl.switchover())" :
		  "an operator called pgrepl.promote()");
}

/* How many members this node reaches, itself included. */
static int
reachable_voters(const PgreplPeerView *views, int nviews)
{
	int			n = 0;
	int			i;

	for (i = 0; i < nviews; i++)
	{
		if (views[i].is_self || views[i].reachable)
			n++;
	}
	return n;
}

/*
 * On a standby standing for election: move on from the pre-vote to the
 * vote, win, or give up, as the answers counted so far allow.
 */
static void
count_round(const PgreplPeerView *views, int nviews, TimestampTz now,
			long silence)
{
	int			majority = nviews / 2 + 1;
	char		why[PGREPL_NOTE_LEN];

	set_note("standing for election in term " UINT64_FORMAT ": %d of %d votes so far, %d needed",
			 election.term, election.ngranted, election.nvoters, majority);
	if (election.ngranted >= majority)
	{
		if (election.phase == ELECTION_PREVOTE)
		{
			if (!pgrepl_vote_for_self(election.term))
			{
				end_election(now, "the term was taken meanwhile",
							 pgrepl_heartbeat_timeout());
				return;
			}
			pgrepl_stats_bump(PGREPL_STAT_ELECTIONS);
			start_round(ELECTION_VOTE, &views[0], now);
		}
		else
			win();
	}
	else if (!round_winnable(views, nviews, majority))
	{
		/*
		 * Too many refused, typically voters that heard the primary a
		 * moment later than we did, or too few can answer (a dead
		 * primary never will): give up now rather than at the round's
		 * deadline.  Within the head start a worse candidate gives us,
		 * try again after a heartbeat interval, so that the refusals of
		 * a moment do not cost us the election; after it, back off as
		 * from any lost round, so that a standby cut off from the
		 * primary alone does not ask the others every heartbeat for as
		 * long as that lasts.
		 */
		int			backoff = silence < pgrepl_failover_timeout +
			pgrepl_heartbeat_timeout() ?
			pgrepl_heartbeat_interval : pgrepl_heartbeat_timeout();

		if (election.nrefused > 0)
			end_election(now, "too many votes were refused", backoff);
		else
		{
			/* No one refused: too few voters can be reached */
			snprintf(why, sizeof(why),
					 "no majority of voters reachable (%d of %d, %d needed)",
					 reachable_voters(views, nviews), nviews, majority);
			end_election(now, why, backoff);
		}
	}
	else if (now >= election.deadline)
		end_election(now, "no majority answered in time",
					 pgrepl_heartbeat_timeout());
}

/*
 * On a standby that hears no primary: whether it may stand for election
 * now.  If not, the note says why.
 */
static bool
may_stand(const PgreplPeerView *views, int nviews, TimestampTz now,
		  long silence, const PgreplTermState *ts)
{
	const PgreplPeerView *self = &views[0];
	int			majority = nviews / 2 + 1;
	int			reachable = reachable_voters(views, nviews);
	char		why[PGREPL_NOTE_LEN];
	int			i;

	if (!pgrepl_failover)
	{
		set_note("no primary heard for %ld ms; pgrepl.failover is off", silence);
		return false;
	}
	if (failover_paused)
	{
		set_note("no primary heard for %ld ms; failover is paused", silence);
		return false;
	}
	if (pgrepl_priority == 0)
	{
		set_note("no primary heard for %ld ms; this node is never promoted (pgrepl.priority is 0)",
				 silence);
		return false;
	}
	if (!peers_self_listed())
	{
		set_note("no primary heard for %ld ms; this node is not listed as a member",
				 silence);
		return false;
	}
	if (pgrepl_is_marked(ts, self->name))
	{
		set_note("no primary heard for %ld ms; not electable: the primary of term " UINT64_FORMAT " marked this node, which may lack acknowledged commits",
				 silence, ts->marks_term);
		return false;
	}
	if (reachable < majority)
	{
		set_note("no primary heard for %ld ms; no majority of voters reachable (%d of %d, %d needed)",
				 silence, reachable, nviews, majority);
		return false;
	}
	if (too_far_behind(views, nviews, why, sizeof(why)))
	{
		if (!election.lag_reported)
			ereport(LOG,
					(errmsg("pgrepl node \"%s\" is %s", self->name, why),
					 errhint("pgrepl.maximum_lag_on_failover is %d MB.",
							 pgrepl_maximum_lag_on_failover)));
		election.lag_reported = true;
		set_note("no primary heard for %ld ms; %s", silence, why);
		return false;
	}
	if (now < election.next_try)
	{
		set_note("no primary heard for %ld ms; lost the election for term " UINT64_FORMAT ": %s",
				 silence, election.term, election.lost);
		return false;
	}

	/* A better candidate that we can reach gets a head start. */
	for (i = 1; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (v->reachable && v->kind == PGREPL_KIND_DATA &&
			v->role == PGREPL_ROLE_STANDBY && v->priority > 0 &&
			better_candidate(v, self) &&
			silence < pgrepl_failover_timeout + pgrepl_heartbeat_timeout())
		{
			set_note("no primary heard for %ld ms; node \"%s\" is a better candidate",
					 silence, v->name);
			return false;
		}
	}
	return true;
}

/*
 * On a data standby: stand for election when the primary has been silent
 * for the failover timeout, or when an operator asks, and carry an election
 * on.  The note says why nothing happens when nothing does.
 */
static void
standby_step(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	const PgreplPeerView *self = &views[0];
	TimestampTz contact = pgrepl_last_primary_contact();
	long		silence = TimestampDifferenceMilliseconds(contact, now);
	PgreplTermState ts;
	int			majority = nviews / 2 + 1;
	int			reachable = reachable_voters(views, nviews);
	char		why[PGREPL_NOTE_LEN];
	uint64		request;
	PgreplRequestKind kind;

	/* Won already, and promoting: nothing to stand for. */
	pgrepl_term_state(&ts);
	if (pgrepl_term_led(&ts))
	{
		set_note("promoting in term " UINT64_FORMAT, ts.term);
		return;
	}

	if (election.phase == ELECTION_IDLE &&
		pgrepl_state_take_request(&request, &kind))
	{
		serve_request(views, nviews, now, request, kind);
		if (election.phase == ELECTION_IDLE)
			return;
	}

	/* A primary is heard: all is well, unless an operator asked for more. */
	if (silence < pgrepl_failover_timeout && election.request == 0)
	{
		if (election.phase != ELECTION_IDLE)
			end_election(now, "a primary was heard", pgrepl_heartbeat_timeout());
		election.lag_reported = false;
		election.lost[0] = '\0';
		if (reachable < majority)
			set_note("a primary is heard, but no majority of voters reachable (%d of %d, %d needed): it cannot commit",
					 reachable, nviews, majority);
		else
			clear_note();
		return;
	}

	/* An election in progress: won, lost, or still counting. */
	if (election.phase != ELECTION_IDLE)
	{
		count_round(views, nviews, now, silence);
		return;
	}

	/* No primary: stand, unless this node may not. */
	if (may_stand(views, nviews, now, silence, &ts))
	{
		snprintf(why, sizeof(why), "no healthy primary heard for %ld ms",
				 silence);
		stand(self, nviews, now, why);
	}
}

/*
 * Replace host, hostaddr and port of the connection string "current" with
 * those of "target", and set application_name to appname, keeping
 * everything else.  The primary knows its standbys by application_name, in
 * synchronous_standby_names too.  Returns NULL if either does not parse,
 * or if nothing would change.
 */
static char *
retarget_conninfo(const char *current, const char *target, const char *appname)
{
	static const char *const where[] = {"host", "hostaddr", "port"};
	PQconninfoOption *cur = PQconninfoParse(current, NULL);
	PQconninfoOption *tgt = PQconninfoParse(target, NULL);
	PQconninfoOption *o;
	StringInfoData buf;
	bool		changed = false;

	if (cur == NULL || tgt == NULL)
	{
		if (cur)
			PQconninfoFree(cur);
		if (tgt)
			PQconninfoFree(tgt);
		return NULL;
	}

	initStringInfo(&buf);
	for (o = cur; o->keyword; o++)
	{
		const char *value = o->val;
		int			i;

		for (i = 0; i < lengthof(where); i++)
		{
			if (strcmp(o->keyword, where[i]) == 0)
			{
				PQconninfoOption *t;

				for (t = tgt; t->keyword; t++)
				{
					if (strcmp(t->keyword, o->keyword) == 0)
						break;
				}
				if ((value == NULL) != (t->val == NULL) ||
					(value && strcmp(value, t->val) != 0))
					changed = true;
				value = t->val;
			}
		}
		if (strcmp(o->keyword, "application_name") == 0)
		{
			if (value == NULL || strcmp(value, appname) != 0)
				changed = true;
			value = appname;
		}
		if (value == NULL || value[0] == '\0')
			continue;
		appendStringInfo(&buf, "%s%s='", buf.len > 0 ? " " : "", o->keyword);
		for (; *value; value++)
		{
			if (*value == '\'' || *value == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *value);
		}
		appendStringInfoChar(&buf, '\'');
	}
	PQconninfoFree(cur);
	PQconninfoFree(tgt);

	if (!changed)
	{
		pfree(buf.data);
		return NULL;
	}
	return buf.data;
}

typedef struct FollowArgs
{
	const char *conninfo;
	const char *slot;
} FollowArgs;

/*
 * ALTER SYSTEM SET name = value, or ALTER SYSTEM RESET name if value is
 * NULL, in a transaction of the caller's.
 */
void
pgrepl_alter_system(const char *name, const char *value)
{
	AlterSystemStmt *stmt = makeNode(AlterSystemStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);

	set->name = pstrdup(name);
	if (value == NULL)
		set->kind = VAR_RESET;
	else
	{
		set->kind = VAR_SET_VALUE;
		set->args = list_make1(pgrepl_string_const(value));
	}
	stmt->setstmt = set;
	AlterSystemSetConfigFile(stmt);
}

static void
write_follow_settings(void *arg)
{
	FollowArgs *args = arg;

	pgrepl_alter_system("primary_conninfo", args->conninfo);
	pgrepl_alter_system("primary_slot_name", args->slot);
}

/*
 * On a standby: point primary_conninfo at the primary that leads the
 * current term, if it points elsewhere.
 */
static void
follow_leader(const PgreplPeerView *self)
{
	const char *target;
	char	   *conninfo;
	FollowArgs	args;

	if (!has_leader || strcmp(leader_name, self->name) == 0)
		return;
	target = peers_conninfo(leader_name);
	if (target == NULL)
		return;
	conninfo = retarget_conninfo(PrimaryConnInfo, target, self->name);
	if (conninfo == NULL)
		return;

	args.conninfo = conninfo;
	args.slot = self->name;
	if (pgrepl_in_transaction("point primary_conninfo at the new primary",
							  write_follow_settings, &args))
	{
		ereport(LOG,
				(errmsg("pgrepl points this standby at primary \"%s\"",
						leader_name)));
		kill(PostmasterPid, SIGHUP);
	}
}

/*
 * On a standby with a leader to stream from: a WAL receiver that lost its
 * upstream (the old primary, or the new one tried a moment too early) is
 * started again only after wal_retrieve_retry_interval, 5 s by default,
 * which in quorum mode is how long the new primary cannot commit.  While
 * none streams, wake the startup process once a heartbeat interval, which
 * ends that wait, so that it tries the leader again at once.
 */
static void
nudge_wal_receiver(TimestampTz now)
{
	static TimestampTz last_nudge = 0;
	WalRcvState state;

	SpinLockAcquire(&WalRcv->mutex);
	state = WalRcv->walRcvState;
	SpinLockRelease(&WalRcv->mutex);
	if (state == WALRCV_STREAMING || state == WALRCV_STARTING ||
		!TimestampDifferenceExceeds(last_nudge, now, pgrepl_heartbeat_interval))
		return;
	last_nudge = now;
	WakeupRecovery();
}

/* Find the member leading the current term among the views. */
static void
find_leader(const PgreplPeerView *views, int nviews)
{
	PgreplTermState ts;
	int			i;

	pgrepl_term_state(&ts);
	has_leader = false;
	for (i = 0; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (v->has_reply && v->reachable && v->role == PGREPL_ROLE_PRIMARY &&
			v->leader && v->term >= ts.term)
		{
			has_leader = true;
			strlcpy(leader_name, v->name, sizeof(leader_name));
		}
	}
}

typedef struct SlotArgs
{
	const PgreplPeerView *views;
	int			nviews;
} SlotArgs;

/* Create a physical slot for every other data member that has none. */
static void
make_slots(void *arg)
{
	SlotArgs   *args = arg;
	int			i;

	for (i = 0; i < args->nviews; i++)
	{
		const PgreplPeerView *v = &args->views[i];

		if (!v->is_self && v->kind == PGREPL_KIND_DATA)
			pgrepl_ensure_slot(v->name);
	}
}

static void
write_events(void *arg)
{
	int			i;

	for (i = 0; i < npending_events; i++)
		pgrepl_event_insert(pgrepl_state_node_name(), pending_events[i].event,
							&pending_events[i].term, pending_events[i].detail,
							pending_events[i].at);
}

/*
 * On a primary that leads: make the slots its standbys will stream
 * through, at once when it starts to lead, since they follow it within a
 * heartbeat, and then every tick, for members that joined since, and keep
 * the WAL its own rewind would need (rewind_wal.c); and write the events
 * it owes, once it may commit.
 */
static void
leader_duties(const PgreplPeerView *views, int nviews, bool tick)
{
	PgreplTermState ts;

	pgrepl_term_state(&ts);
	if (ts.leader_term != ts.term)
		return;

	if (slots_term != ts.term || tick)
	{
		SlotArgs	args = {views, nviews};

		if (pgrepl_in_transaction("create replication slots", make_slots, &args))
			slots_term = ts.term;
		rewind_wal_keep(views, nviews);
	}
	if (npending_events > 0 && pgrepl_fence_reason() == PGREPL_FENCE_NONE &&
		pgrepl_in_transaction("record events", write_events, NULL))
		npending_events = 0;
}

/*
 * This node is no member (any more): no lease applies, but a deposed or
 * unelected primary stays fenced, since that follows from its term alone.
 */
void
election_not_member(void)
{
	PgreplTermState ts;
	PgreplFenceReason sticky = PGREPL_FENCE_NONE;

	pgrepl_term_state(&ts);
	if (pgrepl_node_kind == PGREPL_KIND_DATA && !RecoveryInProgress())
		sticky = sticky_fence(&ts);
	pgrepl_fence_set(sticky, false, 0);
	last_fence = sticky == PGREPL_FENCE_NONE ? PGREPL_FENCE_NO_QUORUM : sticky;
	if (sticky != PGREPL_FENCE_NONE)
		set_note("%s", pgrepl_fence_reason_text(sticky));
	else
		set_note("this node is not a member of the cluster, as it is configured");
	needs_rejoin = false;
	publish_note();
}

/*
 * Every pass of the monitor loop, with what this node knows of every
 * member (itself first).  A standby follows a new leader at once;
 * otherwise it re-checks whom it follows every tick.
 */
void
election_step(const PgreplPeerView *views, int nviews, TimestampTz now,
			  bool tick)
{
	const PgreplPeerView *self = &views[0];
	char		previous[NAMEDATALEN];
	bool		had_leader = has_leader;

	read_paused();
	if (nviews == 0 || pgrepl_node_kind != PGREPL_KIND_DATA)
	{
		clear_note();
		publish_note();
		return;
	}

	strlcpy(previous, leader_name, sizeof(previous));
	find_leader(views, nviews);

	if (self->role == PGREPL_ROLE_PRIMARY)
	{
		election.phase = ELECTION_IDLE;
		primary_step(views, nviews, now);
		leader_duties(views, nviews, tick);
	}
	else
	{
		PgreplTermState ts;

		/* A standby has no lease, unless it won and is being promoted. */
		pgrepl_term_state(&ts);
		pgrepl_fence_set(PGREPL_FENCE_NONE,
						 pgrepl_term_led(&ts) && ts.forced_term != ts.term, 0);
		last_fence = PGREPL_FENCE_NO_QUORUM;
		fenced_since = 0;
		standby_step(views, nviews, now);
		if (has_leader &&
			(tick || !had_leader || strcmp(previous, leader_name) != 0))
			follow_leader(self);
		if (has_leader)
			nudge_wal_receiver(now);
		if (tick)
			rewind_wal_release(views, nviews);
	}
	needs_rejoin = rejoin_step(views, nviews, now, tick, note, sizeof(note));
	publish_note();
}

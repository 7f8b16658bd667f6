/*-------------------------------------------------------------------------
 *
 * vote.c
 *	  Terms, votes and leadership: the durable state of the election, and
 *	  the rules a voter applies to a candidate.
 *
 * Every node keeps the highest term it has seen, whom it voted for in that
 * term, and the term it leads as primary (if any, and whether it was
 * promoted by force in it rather than elected), and whether failover is
 * paused cluster-wide (a setting gossiped between peers, newest version
 * wins), and which standbys a primary marked unelectable (in quorum_available
 * mode, see syncrep.c), in a small file in the
 * data directory and in shared memory.  The file is written, and fsync'ed,
 * before any answer that depends on it leaves the node: a vote granted and
 * then forgotten by a crash could elect two primaries in one term
 * (PROTOCOL.md, rules 1 and 2).  It is a file, not a table, because a
 * standby cannot write tables.
 *
 * Locking: "lock" serializes every read-modify-write of the state, and is
 * held across the file write, so that two vote requests for one term (in
 * two backends) cannot both be granted.  last_primary_contact is an atomic
 * that the monitor advances and voters read without the lock.
 *
 * The file is copied by pg_basebackup and pg_rewind like any other.  That
 * is harmless: terms only grow, and a node that finds itself a standby
 * drops any leadership it inherited (see the monitor).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "handover.h"
#include "sample.h"
#include "settings.h"
#include "state.h"
#include "vote.h"

#define STATE_FILE		"pgrepl_state"
#define STATE_TMP_FILE	"pgrepl_state.tmp"
#define STATE_HEADER	"pgrepl state 1"

typedef struct VoteShared
{
	LWLock	   *lock;
	PgreplTermState state;		/* protected by lock */
	pg_atomic_uint64 last_primary_contact;	/* a TimestampTz */
} VoteShared;

static VoteShared *vote_shared = NULL;

Size
pgrepl_vote_shmem_size(void)
{
	return MAXALIGN(sizeof(VoteShared));
}

/* Read the state file; a missing file is a node that never voted. */
static void
read_state(PgreplTermState *st)
{
	FILE	   *f;
	char		header[64];
	unsigned long long term;
	unsigned long long leader_term;
	unsigned long long forced_term = 0;
	unsigned long long pause_version = 0;
	int			paused = 0;
	char		line[128 + PGREPL_MAX_NODES * NAMEDATALEN];
	unsigned long long marks_term = 0;
	unsigned long long marks_seq = 0;
	int			marks_at;
	char		voted_for[NAMEDATALEN];

	memset(st, 0, sizeof(*st));
	f = AllocateFile(STATE_FILE, "r");
	if (f == NULL)
	{
		if (errno == ENOENT)
			return;
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", STATE_FILE)));
	}

	if (fgets(header, sizeof(header), f) == NULL ||
		strncmp(header, STATE_HEADER "\n", sizeof(header)) != 0 ||
		fscanf(f, "term %llu\nvoted_for %63s\nleader_term %llu\n",
			   &term, voted_for, &leader_term) != 3)
		ereport(FATAL,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("file \"%s\" is corrupt", STATE_FILE),
				 errdetail("It holds the term and vote of this node in its pgrepl cluster."),
				 errhint("If this node must rejoin its cluster, remove the file and start the server as a standby.")));
	/* Lines written only when they say something. */
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (sscanf(line, "unelectable %llu %llu %n",
				   &marks_term, &marks_seq, &marks_at) == 2)
		{
			char	   *name;
			char	   *save;

			line[strcspn(line, "\n")] = '\0';
			for (name = strtok_r(line + marks_at, ",", &save);
				 name != NULL && st->nmarks < PGREPL_MAX_NODES;
				 name = strtok_r(NULL, ",", &save))
				strlcpy(st->marks[st->nmarks++], name, NAMEDATALEN);
		}
		else if (sscanf(line, "forced_term %llu", &forced_term) != 1 &&
				 sscanf(line, "pause %d %llu", &paused, &pause_version) != 2)
			ereport(FATAL,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("file \"%s\" is corrupt", STATE_FILE),
					 errdetail("It holds the term and vote of this node in its pgrepl cluster.")));
	}
	FreeFile(f);

	st->term = term;
	st->leader_term = leader_term;
	st->forced_term = forced_term;
	st->failover_paused = (paused != 0);
	st->pause_version = pause_version;
	st->marks_term = marks_term;
	st->marks_seq = marks_seq;
	st->has_vote = (strcmp(voted_for, "-") != 0);
	if (st->has_vote)
		strlcpy(st->voted_for, voted_for, sizeof(st->voted_for));
}

/*
 * Write the state file durably: a new file, fsync'ed, renamed over the
 * old one, and the directory fsync'ed, so that a crash leaves either the
 * old state or the new one.
 */
static void
write_state(const PgreplTermState *st)
{
	char		buf[256 + PGREPL_MAX_NODES * NAMEDATALEN];
	int			i;
	int			len;
	int			fd;

	len = snprintf(buf, sizeof(buf),
				   STATE_HEADER "\nterm " UINT64_FORMAT "\nvoted_for %s\nleader_term " UINT64_FORMAT "\n",
				   st->term, st->has_vote ? st->voted_for : "-", st->leader_term);
	if (st->forced_term != 0)
		len += snprintf(buf + len, sizeof(buf) - len,
						"forced_term " UINT64_FORMAT "\n", st->forced_term);
	if (st->pause_version != 0)
		len += snprintf(buf + len, sizeof(buf) - len,
						"pause %d " UINT64_FORMAT "\n",
						st->failover_paused ? 1 : 0, st->pause_version);
	if (st->marks_seq != 0)
	{
		len += snprintf(buf + len, sizeof(buf) - len,
						"unelectable " UINT64_FORMAT " " UINT64_FORMAT " ",
						st->marks_term, st->marks_seq);
		for (i = 0; i < st->nmarks; i++)
			len += snprintf(buf + len, sizeof(buf) - len, "%s%s",
							i > 0 ? "," : "", st->marks[i]);
		len += snprintf(buf + len, sizeof(buf) - len, "\n");
	}

	fd = OpenTransientFile(STATE_TMP_FILE, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", STATE_TMP_FILE)));
	errno = 0;
	if (write(fd, buf, len) != len)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", STATE_TMP_FILE)));
	}
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", STATE_TMP_FILE)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", STATE_TMP_FILE)));

	durable_rename(STATE_TMP_FILE, STATE_FILE, ERROR);
}

/* Make next the state, on disk first.  Lock held exclusively. */
static void
persist(VoteShared *s, const PgreplTermState *next)
{
	write_state(next);
	s->state = *next;
}

/* Move to term with a vote for candidate, on disk first.  Lock held. */
static void
persist_vote(VoteShared *s, uint64 term, const char *candidate)
{
	PgreplTermState next = s->state;

	next.term = term;
	next.has_vote = true;
	strlcpy(next.voted_for, candidate, sizeof(next.voted_for));
	persist(s, &next);
}

/* Create or attach; called from the shared memory startup hook. */
void
pgrepl_vote_shmem_init(void)
{
	bool		found;

	vote_shared = ShmemInitStruct("pgrepl vote", pgrepl_vote_shmem_size(),
								  &found);
	if (!found)
	{
		memset(vote_shared, 0, sizeof(VoteShared));
		vote_shared->lock = &(GetNamedLWLockTranche("pgrepl vote"))->lock;
		read_state(&vote_shared->state);
		pg_atomic_init_u64(&vote_shared->last_primary_contact, 0);
	}
}

static VoteShared *
shared(void)
{
	pgrepl_check_loaded(vote_shared);
	return vote_shared;
}

/* A copy of this node's election state. */
void
pgrepl_term_state(PgreplTermState *state)
{
	VoteShared *s = shared();

	LWLockAcquire(s->lock, LW_SHARED);
	*state = s->state;
	LWLockRelease(s->lock);
}

/*
 * Whether this node leads the term it is in: it was elected in it (or was
 * the first primary of its cluster) and heard of no later one since.  Its
 * lease has nothing to do with it.
 */
bool
pgrepl_term_led(const PgreplTermState *state)
{
	return state->term > 0 && state->leader_term == state->term;
}

/* Move to a higher term, forgetting the vote.  Lock held exclusively. */
static bool
adopt_term(VoteShared *s, uint64 term)
{
	PgreplTermState next;

	if (term <= s->state.term)
		return false;
	next = s->state;
	next.term = term;
	next.has_vote = false;
	persist(s, &next);
	return true;
}

/*
 * A peer told of term: adopt it if it is higher than ours.  Returns true if
 * it was.  A primary that adopts a higher term no longer leads the current
 * one, which the fencing code sees from leader_term < term.
 */
bool
pgrepl_observe_term(uint64 term)
{
	VoteShared *s = shared();
	bool		changed;

	/* Terms only grow: most heartbeats bring nothing new. */
	LWLockAcquire(s->lock, LW_SHARED);
	changed = term > s->state.term;
	LWLockRelease(s->lock);
	if (!changed)
		return false;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	changed = adopt_term(s, term);
	LWLockRelease(s->lock);
	return changed;
}

/*
 * A candidate enters term: adopt it and vote for itself.  False if the term
 * was already reached, so that a candidate never runs twice in one term.
 */
bool
pgrepl_vote_for_self(uint64 term)
{
	VoteShared *s = shared();
	bool		ok;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	ok = term > s->state.term;
	if (ok)
		persist_vote(s, term, pgrepl_state_node_name());
	LWLockRelease(s->lock);
	return ok;
}

/*
 * Record that this node leads term (won its election, or was the first
 * primary of the cluster), or, with 0, that it leads none.
 */
void
pgrepl_set_leader_term(uint64 term)
{
	VoteShared *s = shared();
	PgreplTermState next;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	if (s->state.leader_term != term || s->state.forced_term != 0)
	{
		next = s->state;
		next.leader_term = term;
		next.forced_term = 0;
		if (term > next.term)
			next.term = term;
		persist(s, &next);
	}
	LWLockRelease(s->lock);
}

/*
 * An operator forces this node to lead term, without an election: enter
 * the term, voting for itself, and lead it.  False if the term was reached
 * already.  Until a majority answers it again (pgrepl_end_forced_lead), a
 * node that leads by force needs no lease to commit: forcing is for when
 * the majority is gone for good.
 */
bool
pgrepl_lead_by_force(uint64 term)
{
	VoteShared *s = shared();
	PgreplTermState next;
	bool		ok;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	ok = term > s->state.term;
	if (ok)
	{
		next = s->state;
		next.term = term;
		next.has_vote = true;
		strlcpy(next.voted_for, pgrepl_state_node_name(), sizeof(next.voted_for));
		next.leader_term = term;
		next.forced_term = term;
		persist(s, &next);
	}
	LWLockRelease(s->lock);
	return ok;
}

/*
 * An operator pauses or resumes failover here: a new version of the
 * setting, later than any this node has seen, and than the clock (so that
 * a setting made later on another node usually wins too).  Returns it, for
 * the monitor to pass on.
 */
uint64
pgrepl_set_pause(bool paused)
{
	VoteShared *s = shared();
	PgreplTermState next;
	uint64		now = (uint64) GetCurrentTimestamp();

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	next = s->state;
	next.failover_paused = paused;
	next.pause_version = Max(next.pause_version + 1, now);
	persist(s, &next);
	LWLockRelease(s->lock);
	return next.pause_version;
}

/*
 * A peer passed on its pause setting: take it if it is newer than ours.
 * Returns true if it was taken.
 */
bool
pgrepl_take_pause(bool paused, uint64 version)
{
	VoteShared *s = shared();
	PgreplTermState next;
	bool		newer;

	LWLockAcquire(s->lock, LW_SHARED);
	newer = version > s->state.pause_version;
	LWLockRelease(s->lock);
	if (!newer)
		return false;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	newer = version > s->state.pause_version;
	if (newer)
	{
		next = s->state;
		next.failover_paused = paused;
		next.pause_version = version;
		persist(s, &next);
	}
	LWLockRelease(s->lock);
	return newer;
}

/* Whether the unelectable set of state lists name. */
bool
pgrepl_is_marked(const PgreplTermState *state, const char *name)
{
	int			i;

	for (i = 0; i < state->nmarks; i++)
	{
		if (strcmp(state->marks[i], name) == 0)
			return true;
	}
	return false;
}

/* Replace the unelectable set of next with names.  Lock held. */
static void
copy_marks(PgreplTermState *next, const char *const *names, int n)
{
	int			i;

	next->nmarks = Min(n, PGREPL_MAX_NODES);
	for (i = 0; i < next->nmarks; i++)
		strlcpy(next->marks[i], names[i], NAMEDATALEN);
}

/*
 * The primary leading the current term marks these standbys unelectable:
 * a new version of the set, in this term.
 */
void
pgrepl_set_marks(const char *const *names, int n)
{
	VoteShared *s = shared();
	PgreplTermState next;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	next = s->state;
	next.marks_seq = (next.marks_term == next.term) ? next.marks_seq + 1 : 1;
	next.marks_term = next.term;
	copy_marks(&next, names, n);
	persist(s, &next);
	LWLockRelease(s->lock);
}

/*
 * A primary passed on its unelectable set: take it if its version (term,
 * then number) is newer than ours.  Returns true if it was taken.
 */
bool
pgrepl_take_marks(uint64 term, uint64 seq, const char *const *names, int n)
{
	VoteShared *s = shared();
	PgreplTermState next;
	bool		newer;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	newer = term > s->state.marks_term ||
		(term == s->state.marks_term && seq > s->state.marks_seq);
	if (newer)
	{
		next = s->state;
		next.marks_term = term;
		next.marks_seq = seq;
		copy_marks(&next, names, n);
		persist(s, &next);
	}
	LWLockRelease(s->lock);
	return newer;
}

/* A majority answers the node that leads by force: it needs a lease again. */
void
pgrepl_end_forced_lead(void)
{
	VoteShared *s = shared();
	PgreplTermState next;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	if (s->state.forced_term != 0)
	{
		next = s->state;
		next.forced_term = 0;
		persist(s, &next);
	}
	LWLockRelease(s->lock);
}

/*
 * Run fn(arg) with the vote lock held, so that no vote is decided
 * meanwhile, and return this node's term as it was then.  For a primary
 * revoking a hand-over: once a voter answered, with its term, that it
 * dropped it, no vote it decides later can rely on it.
 */
uint64
pgrepl_with_vote_lock(void (*fn) (void *), void *arg)
{
	VoteShared *s = shared();
	uint64		term;

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	fn(arg);
	term = s->state.term;
	LWLockRelease(s->lock);
	return term;
}

/* The monitor heard a healthy primary at "when". */
void
pgrepl_note_primary_contact(TimestampTz when)
{
	VoteShared *s = shared();
	uint64		old = pg_atomic_read_u64(&s->last_primary_contact);

	/* Only the monitor and heartbeat answers write it; keep the newest. */
	while ((TimestampTz) old < when &&
		   !pg_atomic_compare_exchange_u64(&s->last_primary_contact, &old,
										   (uint64) when))
		;
}

/* When this node last heard a healthy primary. */
TimestampTz
pgrepl_last_primary_contact(void)
{
	return (TimestampTz) pg_atomic_read_u64(&shared()->last_primary_contact);
}

/*
 * The rules a voter applies (PROTOCOL.md rules 2 to 4).  Returns whether
 * the vote is granted; if not, reason says why.  *my_term is this node's
 * term afterwards, for the candidate to learn from.  A real vote (not a
 * dry run) is on disk before this returns.
 *
 *	- A term behind ours is refused.
 *	- A node that leads its term votes for no successor, also while it is
 *	  still being promoted: if it is cut off, the others elect without it.
 *	- While this node still hears a healthy primary, within the failover
 *	  timeout, it refuses: one standby that lost its primary cannot depose
 *	  a primary the others still hear.  A vote granted counts as hearing
 *	  one, so that the winner is not deposed before it is promoted.
 *	- Except for a hand-over (handover.c): the primary of term T, fenced,
 *	  told this node it steps down in favour of the candidate, who asks
 *	  for term T + 1.  Then neither of the two rules above applies to that
 *	  one candidate in that one term; the others do (the old primary takes
 *	  for its own WAL position where its WAL ended once fenced, see
 *	  pgrepl_handover_permits()).
 *	- A candidate behind us in WAL (on an older timeline, or behind on the
 *	  same one) is refused, so the winner holds every record a majority has.
 *	- One vote per term: a second candidate in a term we voted in is refused.
 */
bool
pgrepl_decide_vote(const PgreplVoteRequest *req, uint64 *my_term,
				   char *reason, Size reason_len)
{
	VoteShared *s = shared();
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz contact = pgrepl_last_primary_contact();
	bool		granted = false;
	TimeLineID	my_tli = 0;
	XLogRecPtr	my_lsn = InvalidXLogRecPtr;
	bool		has_wal = (pgrepl_node_kind == PGREPL_KIND_DATA);
	bool		handover;

	if (has_wal)
		my_lsn = pgrepl_current_wal(&my_tli);

	LWLockAcquire(s->lock, LW_EXCLUSIVE);

	/* Under the lock: a revocation of the hand-over waits for it. */
	handover = pgrepl_handover_permits(req->candidate, req->term, &my_lsn);

	if (req->term < s->state.term ||
		(req->dry_run && req->term <= s->state.term))
		snprintf(reason, reason_len, "term " UINT64_FORMAT " is not past term " UINT64_FORMAT,
				 req->term, s->state.term);
	else if (has_wal && s->state.leader_term == s->state.term && !handover)
		snprintf(reason, reason_len, "this node is the primary of term " UINT64_FORMAT,
				 s->state.term);
	else if (!handover &&
			 !TimestampDifferenceExceeds(contact, now, pgrepl_failover_timeout))
		snprintf(reason, reason_len, "this node still hears a primary");
	else if (pgrepl_is_marked(&s->state, req->candidate))
		snprintf(reason, reason_len, "the primary of term " UINT64_FORMAT " marked the candidate unelectable: it may lack acknowledged commits",
				 s->state.marks_term);
	else if (has_wal && req->timeline < my_tli)
		snprintf(reason, reason_len, "the candidate is on timeline %u, this node on %u",
				 req->timeline, my_tli);
	else if (has_wal && req->timeline == my_tli && req->lsn < my_lsn)
		snprintf(reason, reason_len, "the candidate has WAL up to %X/%X, this node up to %X/%X",
				 LSN_FORMAT_ARGS(req->lsn), LSN_FORMAT_ARGS(my_lsn));
	else if (!req->dry_run && req->term == s->state.term &&
			 s->state.has_vote &&
			 strcmp(s->state.voted_for, req->candidate) != 0)
		snprintf(reason, reason_len, "this node voted for \"%s\" in term " UINT64_FORMAT,
				 s->state.voted_for, s->state.term);
	else
	{
		granted = true;
		if (!req->dry_run)
		{
			persist_vote(s, req->term, req->candidate);

			/*
			 * The winner needs a moment to be promoted and heard as a
			 * primary: until then count the vote as contact with one, so
			 * that this node neither stands nor votes for a later term and
			 * deposes it on the way.
			 */
			pgrepl_note_primary_contact(now);
		}
	}

	*my_term = s->state.term;
	LWLockRelease(s->lock);
	return granted;
}

/*-------------------------------------------------------------------------
 *
 * vote.h
 *	  Terms, votes and leadership: the durable state of the election.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_VOTE_H
#define PGREPL_VOTE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#include "cluster.h"

/* The election state of this node, as kept on disk and in memory. */
typedef struct PgreplTermState
{
	uint64		term;			/* highest term seen */
	bool		has_vote;		/* voted in that term */
	char		voted_for[NAMEDATALEN];
	uint64		leader_term;	/* term this node leads as primary, or 0 */
	uint64		forced_term;	/* ... promoted by force in it, or 0 */
	bool		failover_paused;	/* pgrepl.pause() in force */
	uint64		pause_version;	/* of that setting; 0 if never set */

	/*
	 * Standbys the primary of marks_term marked unelectable (they may lack
	 * acknowledged commits), version marks_seq within that term.
	 */
	uint64		marks_term;
	uint64		marks_seq;
	int			nmarks;
	char		marks[PGREPL_MAX_NODES][NAMEDATALEN];
} PgreplTermState;

/* A candidate asking for a vote. */
typedef struct PgreplVoteRequest
{
	const char *candidate;
	uint64		term;
	TimeLineID	timeline;
	XLogRecPtr	lsn;
	bool		dry_run;		/* pre-vote: would you, without a new term */
} PgreplVoteRequest;

extern Size pgrepl_vote_shmem_size(void);
extern void pgrepl_vote_shmem_init(void);

extern void pgrepl_term_state(PgreplTermState *state);
extern bool pgrepl_term_led(const PgreplTermState *state);
extern bool pgrepl_observe_term(uint64 term);
extern bool pgrepl_vote_for_self(uint64 term);
extern void pgrepl_set_leader_term(uint64 term);
extern bool pgrepl_lead_by_force(uint64 term);
extern void pgrepl_end_forced_lead(void);
extern uint64 pgrepl_set_pause(bool paused);
extern bool pgrepl_is_marked(const PgreplTermState *state, const char *name);
extern void pgrepl_set_marks(const char *const *names, int n);
extern bool pgrepl_take_marks(uint64 term, uint64 seq,
							  const char *const *names, int n);
extern bool pgrepl_take_pause(bool paused, uint64 version);
extern uint64 pgrepl_with_vote_lock(void (*fn) (void *), void *arg);
extern bool pgrepl_decide_vote(const PgreplVoteRequest *req, uint64 *my_term,
							   char *reason, Size reason_len);

/* What the monitor tells voters about the primary it hears. */
extern void pgrepl_note_primary_contact(TimestampTz when);
extern TimestampTz pgrepl_last_primary_contact(void);

#endif							/* PGREPL_VOTE_H */

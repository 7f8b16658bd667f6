/*-------------------------------------------------------------------------
 *
 * election.h
 *	  Leadership, elections, promotion and following, in the monitor.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_ELECTION_H
#define PGREPL_ELECTION_H

#include "cluster.h"

extern void election_init(void);
extern void election_step(const PgreplPeerView *views, int nviews,
						  TimestampTz now, bool tick);
extern void election_not_member(void);
extern void election_vote_answered(const char *peer, uint64 term,
								   bool dry_run, bool granted,
								   const char *reason);
extern bool election_leader_name(char *name, Size len);
extern void election_record_event(const char *event, const char *detail);
extern void pgrepl_alter_system(const char *name, const char *value);

#endif							/* PGREPL_ELECTION_H */

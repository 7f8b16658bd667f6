/*-------------------------------------------------------------------------
 *
 * rejoin.h
 *	  Bringing a replaced primary back as a standby of the new one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_REJOIN_H
#define PGREPL_REJOIN_H

#include "cluster.h"

/*
 * Every pass of the monitor, after the election logic, with what it knows
 * of every member (itself first): may replace note, the status note being
 * built, which has room for note_len bytes.
 */
extern bool rejoin_step(const PgreplPeerView *views, int nviews,
						TimestampTz now, bool tick, char *note,
						Size note_len);

/*
 * The term of the leader pgrepl_rejoin last made this node a standby of,
 * or 0: what the heartbeat answers, for that leader to record the rejoin.
 */
extern uint64 pgrepl_rejoined_term(void);

#endif							/* PGREPL_REJOIN_H */

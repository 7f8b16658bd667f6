/*-------------------------------------------------------------------------
 *
 * switchover.h
 *	  Planned switchover: the primary hands its role over to a standby.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_SWITCHOVER_H
#define PGREPL_SWITCHOVER_H

#include "libpq-fe.h"

#include "cluster.h"

/* For the monitor. */
extern void switchover_init(void);
extern void switchover_step(const PgreplPeerView *views, int nviews,
							TimestampTz now);
extern TimestampTz switchover_next_wakeup(void);
extern void switchover_errand_answered(const char *peer, uint64 tag,
									   PGresult *res, const char *error);

#endif							/* PGREPL_SWITCHOVER_H */

/*-------------------------------------------------------------------------
 *
 * fence.h
 *	  Keeping a primary that may have been replaced from committing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_FENCE_H
#define PGREPL_FENCE_H

#include "datatype/timestamp.h"

/* Why a primary is fenced; the first is "it is not". */
typedef enum PgreplFenceReason
{
	PGREPL_FENCE_NONE,
	PGREPL_FENCE_NO_QUORUM,		/* lease lapsed: no majority heard from */
	PGREPL_FENCE_DEPOSED,		/* a later term exists: another was elected */
	PGREPL_FENCE_NOT_ELECTED,	/* promoted outside pgrepl, without a vote */
	PGREPL_FENCE_SYNC_PENDING,	/* quorum commit not in effect yet */
	PGREPL_FENCE_SWITCHOVER		/* handing its role over to a standby */
} PgreplFenceReason;

extern Size pgrepl_fence_shmem_size(void);
extern void pgrepl_fence_shmem_init(void);
extern void pgrepl_fence_install_hooks(void);

/* For the monitor of a primary. */
extern void pgrepl_fence_set(PgreplFenceReason sticky_reason, bool lease_applies,
							 TimestampTz lease_expires);
extern int	pgrepl_fence_terminate_writers(void);
extern void pgrepl_fence_set_handover(bool on);
extern bool pgrepl_fence_handing_over(void);

/* For everyone. */
extern PgreplFenceReason pgrepl_fence_reason(void);
extern const char *pgrepl_fence_reason_text(PgreplFenceReason reason);

#endif							/* PGREPL_FENCE_H */

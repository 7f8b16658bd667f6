/*-------------------------------------------------------------------------
 *
 * rpo.h
 *	  pgrepl.async_rpo_limit: a bound on what a failover may lose.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_RPO_H
#define PGREPL_RPO_H

#include "cluster.h"
#include "sample.h"

extern Size pgrepl_rpo_shmem_size(void);
extern void pgrepl_rpo_shmem_init(void);

/* For the monitor of a primary, every tick. */
extern void rpo_step(const PgreplSample *sample, const PgreplPeerView *views,
					 int nviews);

/* For backends, before a commit that wrote; and for pgrepl.status. */
extern void pgrepl_rpo_wait_to_commit(void);
extern bool pgrepl_rpo_exposure(TimeOffset *exposure);

#endif							/* PGREPL_RPO_H */

/*-------------------------------------------------------------------------
 *
 * syncrep.h
 *	  Quorum commit: the primary's synchronous_standby_names.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_SYNCREP_H
#define PGREPL_SYNCREP_H

#include "cluster.h"

extern bool syncrep_step(const PgreplPeerView *views, int nviews,
						 const char **why);
extern int	syncrep_standbys(const PgreplPeerView *views, int nviews,
							 const char **names, int *k);

#endif							/* PGREPL_SYNCREP_H */

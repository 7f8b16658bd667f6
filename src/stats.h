/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Counters of what pgrepl did on this node, for /metrics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_STATS_H
#define PGREPL_STATS_H

/* What is counted.  Each is a Prometheus counter: it only grows. */
typedef enum PgreplStat
{
	PGREPL_STAT_ELECTIONS,		/* elections this node stood in (a new term) */
	PGREPL_STAT_FAILOVERS,		/* times it won one and promoted itself */
	PGREPL_STAT_SWITCHOVERS,	/* planned handovers it took part in */
	PGREPL_NSTATS
} PgreplStat;

extern Size pgrepl_stats_shmem_size(void);
extern void pgrepl_stats_shmem_init(void);

extern void pgrepl_stats_bump(PgreplStat stat);
extern uint64 pgrepl_stats_read(PgreplStat stat);

#endif							/* PGREPL_STATS_H */

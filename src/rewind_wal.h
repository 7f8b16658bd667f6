/*-------------------------------------------------------------------------
 *
 * rewind_wal.h
 *	  Keep the WAL that pg_rewind needs once this primary is replaced.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_REWIND_WAL_H
#define PGREPL_REWIND_WAL_H

#include "cluster.h"

/*
 * The physical slot a primary keeps for its own rewind.  Node names may
 * not begin with "pgrepl_", so no member's slot can be called this.
 */
#define PGREPL_REWIND_SLOT "pgrepl_rewind"

/* For the monitor, every tick: of a primary that leads, of a standby. */
extern void rewind_wal_keep(const PgreplPeerView *views, int nviews);
extern void rewind_wal_release(const PgreplPeerView *views, int nviews);

#endif							/* PGREPL_REWIND_WAL_H */

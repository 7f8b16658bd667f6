/*-------------------------------------------------------------------------
 *
 * walclock.h
 *	  When this node's WAL reached each position, to tell a lag in time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_WALCLOCK_H
#define PGREPL_WALCLOCK_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

extern void walclock_record(TimeLineID tli, XLogRecPtr lsn, TimestampTz when);
extern TimeOffset walclock_age(XLogRecPtr lsn, TimestampTz now);

#endif							/* PGREPL_WALCLOCK_H */

/*-------------------------------------------------------------------------
 *
 * members.h
 *	  The membership table and the event history, through SPI.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_MEMBERS_H
#define PGREPL_MEMBERS_H

#include "cluster.h"

extern bool pgrepl_in_transaction(const char *what, void (*fn) (void *),
								  void *arg);
extern int	pgrepl_members_load(PgreplMember *members, int max,
								bool *installed);
extern bool pgrepl_members_upsert(const char *name, PgreplNodeKind kind,
								  const char *conninfo, const char *by);
extern void pgrepl_ensure_slot(const char *name);
extern bool pgrepl_slot_position(const char *name, XLogRecPtr *lsn,
								 bool *active);
extern void pgrepl_event_insert(const char *node, const char *event,
								const uint64 *term, const char *detail,
								TimestampTz at);

#endif							/* PGREPL_MEMBERS_H */

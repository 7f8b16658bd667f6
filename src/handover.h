/*-------------------------------------------------------------------------
 *
 * handover.h
 *	  The hand-over of a switchover, as voters, the target and the old
 *	  primary keep it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_HANDOVER_H
#define PGREPL_HANDOVER_H

#include "access/xlogdefs.h"

#include "cluster.h"

extern Size pgrepl_handover_shmem_size(void);
extern void pgrepl_handover_shmem_init(void);
extern void pgrepl_handover_install_hooks(void);

/* For voters, with the vote lock held (vote.c). */
extern bool pgrepl_handover_permits(const char *candidate, uint64 term,
									XLogRecPtr *my_lsn);

/* For the old primary's monitor (switchover.c). */
extern void handover_write_marker(uint64 term, uint64 handover,
								  const char *heir);
extern void handover_remove_marker(void);
extern bool handover_take_unrevoked(uint64 *term, uint64 *handover,
									char *heir);
extern void handover_hold_own_note(uint64 term, const char *heir,
								   uint64 handover, int valid_ms,
								   XLogRecPtr final_lsn);
extern uint64 handover_drop_notes(uint64 term, uint64 handover);
extern void handover_refuse_streaming(bool refuse);

/* pgrepl.switchover()'s request to the monitor. */
extern uint64 handover_post_switchover(const char *target, int timeout_ms,
									   const char *by, bool *busy);
extern bool handover_read_switchover(uint64 request, bool *has_target,
									 char *target, int *timeout_ms,
									 char *by);
extern void handover_set_result(uint64 request, const char *target,
								uint64 term);
extern void handover_read_result(char *target, uint64 *term);
extern void handover_forget_switchover(void);

/* For the target's monitor. */
extern bool handover_standing(char *leader, uint64 *term, uint64 *request);
extern void handover_stand_recorded(void);

/* Shared with switchover.c. */
extern const PgreplPeerView *handover_find_view(const PgreplPeerView *views,
												int nviews, const char *name);

#endif							/* PGREPL_HANDOVER_H */

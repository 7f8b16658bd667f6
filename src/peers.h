/*-------------------------------------------------------------------------
 *
 * peers.h
 *	  The monitor's connections to the other members, and heartbeats.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_PEERS_H
#define PGREPL_PEERS_H

#include "storage/latch.h"

#include "cluster.h"
#include "vote.h"

extern void peers_set_members(const PgreplMember *members, int nmembers,
							  const PgreplPeerView *self);
extern bool peers_self_listed(void);
extern void peers_set_self(const PgreplPeerView *self);
extern const char *peers_conninfo(const char *name);
extern void peers_step(TimestampTz now);
extern TimestampTz peers_next_wakeup(void);
extern int	peers_max_wait_events(void);
extern void peers_add_wait_events(WaitEventSet *set);
extern void peers_socket_ready(void *peer, uint32 events, TimestampTz now);
extern int	peers_views(const PgreplPeerView *self, PgreplPeerView *views);
extern void peers_request_votes(const PgreplVoteRequest *req);
extern void peers_cancel_votes(void);
extern int	peers_holding_marks(uint64 term, uint64 seq);

/* At most this many parameters to an errand. */
#define PEERS_ERRAND_MAX_PARAMS	6

extern bool peers_send_errand(const char *peer, uint64 tag, const char *sql,
							  int nparams, const char *const *params);
extern void peers_cancel_errands(void);
extern void peers_shutdown(int code, Datum arg);

#endif							/* PGREPL_PEERS_H */

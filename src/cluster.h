/*-------------------------------------------------------------------------
 *
 * cluster.h
 *	  The members of a pgrepl cluster and what this node knows of them.
 *
 * Membership is a table on the primary, replicated to the standbys like
 * any other (members.c reads it).  What a node knows of each member comes
 * from heartbeats (peers.c), and is published to shared memory for the
 * pgrepl.nodes view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_CLUSTER_H
#define PGREPL_CLUSTER_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "libpq/pqcomm.h"

#include "settings.h"

/* Most members a cluster can have; a vote needs all of them in memory. */
#define PGREPL_MAX_NODES	32

/* Longest error message kept about a peer. */
#define PGREPL_ERROR_LEN	160

/* Longest connection string of a member. */
#define PGREPL_CONNINFO_LEN	1024

/* What a node says it is. */
typedef enum PgreplRole
{
	PGREPL_ROLE_PRIMARY,
	PGREPL_ROLE_STANDBY,
	PGREPL_ROLE_WITNESS
} PgreplRole;

/* One row of pgrepl.members. */
typedef struct PgreplMember
{
	char		name[NAMEDATALEN];
	PgreplNodeKind kind;
	char		conninfo[PGREPL_CONNINFO_LEN];
	bool		synchronous;	/* may be a synchronous standby */
} PgreplMember;

/* What this node knows of one member (itself included), for pgrepl.nodes. */
typedef struct PgreplPeerView
{
	char		name[NAMEDATALEN];
	PgreplNodeKind kind;
	bool		synchronous;	/* may be a synchronous standby (members) */
	bool		is_self;
	bool		reachable;		/* answered the last heartbeat in time */
	int			failures;		/* heartbeats failed since the last answer */
	bool		has_error;
	char		last_error[PGREPL_ERROR_LEN];

	/* As of the last answer; valid if has_reply. */
	bool		has_reply;
	TimestampTz last_reply;
	PgreplRole	role;
	TimeLineID	timeline;
	XLogRecPtr	wal_lsn;		/* flushed on a primary, received on a standby */
	int			priority;
	uint64		term;			/* the highest term it has seen */
	bool		leader;			/* a primary leading that term, unfenced */
	uint64		rejoined_term;	/* of the leader it last rejoined, or 0 */

	/*
	 * The last heartbeat it answered that this node sent as the leader of
	 * ack_term: when it was sent.  Valid if has_ack.
	 */
	bool		has_ack;
	uint64		ack_term;
	TimestampTz last_ack_sent;
} PgreplPeerView;

extern const char *pgrepl_role_name(PgreplRole role);
extern bool pgrepl_role_from_name(const char *name, PgreplRole *role);

#endif							/* PGREPL_CLUSTER_H */

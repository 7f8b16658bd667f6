/*-------------------------------------------------------------------------
 *
 * peers.c
 *	  The monitor's connections to the other members, and heartbeats.
 *
 * The monitor keeps one libpq connection to every other member and asks
 * each, every pgrepl.heartbeat_interval, for its state (pgrepl.heartbeat()
 * on the peer).  A dead, frozen or black-holed peer must never stall the
 * monitor, so nothing here blocks: connections are opened with
 * PQconnectStartParams/PQconnectPoll, queries sent with PQsendQueryParams,
 * and every socket is waited on by the monitor's WaitEventSet together with
 * its latch.  Each connection attempt and each query has a deadline
 * (pgrepl_heartbeat_timeout()); a peer that misses it is disconnected and
 * counted as unreachable, and is tried again one heartbeat interval later.
 * A refused connection is known at once, without waiting for the deadline.
 *
 * Heartbeats are what every peer answers several times a second, so their
 * statement is prepared once per connection (PQsendPrepare, as the first
 * heartbeat on it) and then only bound and executed: parsing and planning
 * it for every heartbeat cost the answering server three times the
 * instructions (bench/heartbeat-cost) and almost twice the CPU time.  A
 * new connection prepares it again.  A peer that cannot prepare it (its
 * extension lacks pgrepl.heartbeat(), say) has failed that heartbeat, with
 * the peer's error: the connection is dropped and tried again one interval
 * later, as for any failed heartbeat.  PostgreSQL itself plans the
 * statement again when the extension is updated, or dropped and created;
 * if the function is gone, or its columns changed type, the heartbeat fails
 * and the next connection prepares the statement anew.
 *
 * Extension 1.3 added a column to pgrepl.heartbeat() (rejoined_term).  A
 * peer whose extension is still 1.2 (a witness not updated yet, or a
 * standby that has not replayed the update) cannot prepare a statement
 * that names it: on that error the connection prepares 1.2's instead, and
 * keeps it until it is closed, since 1.2's columns are 1.3's too.
 *
 * Heartbeats carry terms both ways: each side adopts the other's term if it
 * is higher, which is how a new primary's term reaches every node, and how
 * an old primary learns that it was replaced.  An answer from the primary
 * that leads the current term counts as contact with a healthy primary,
 * which voters need to refuse premature elections; an answer to the
 * primary's own heartbeat renews its lease.  Vote requests from an
 * election (election.c) go out on the same connections, ahead of the next
 * heartbeat.
 *
 * A witness is no standby, so WAL does not bring it the members' list: the
 * leader copies its list over (pgrepl.copy_members() on the witness) once
 * per connection, and again whenever the list or the term changes.
 *
 * Other parts of the monitor may send a peer an errand: one query of their
 * own (switchover.c's hand-over calls), sent ahead of the next heartbeat,
 * one at a time per peer, whose answer, or failure, goes back to them with
 * the tag they gave it.
 *
 * A node that becomes the leader of its term sends its next heartbeats at
 * once: only heartbeats sent as leader renew its lease, and it has none.
 *
 * A standby that is not yet a member, or is listed with another connection
 * string, registers itself by calling pgrepl.register_node() on whichever
 * peer answers as the primary: that is how a standby cloned from the
 * primary joins the cluster by itself.
 *
 * Error messages from libpq are kept for pgrepl.nodes without the
 * connection string, which may hold a password; only their first line is
 * kept.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "election.h"
#include "peers.h"
#include "settings.h"
#include "switchover.h"
#include "vote.h"

typedef enum PeerConnState
{
	PEER_DISCONNECTED,
	PEER_CONNECTING,
	PEER_READY,
	PEER_QUERYING
} PeerConnState;

typedef enum PeerQuery
{
	QUERY_HEARTBEAT,
	QUERY_PREPARE,				/* of the heartbeat statement */
	QUERY_REGISTER,
	QUERY_VOTE,
	QUERY_COPY_MEMBERS,
	QUERY_SHARE_PAUSE,
	QUERY_ERRAND,
	QUERY_SHARE_MARKS
} PeerQuery;

/* Longest query text and parameter of an errand (peers_send_errand). */
#define ERRAND_SQL_LEN		256
#define ERRAND_PARAM_LEN	64

/* How long a leader waits to copy the members' list again after a refusal. */
#define COPY_RETRY_MS	(10 * 1000)

/*
 * The heartbeat, prepared once per connection under this name: as of
 * extension 1.3, or, on a peer whose pgrepl.heartbeat() lacks 1.3's
 * column, as of 1.2.
 */
#define HEARTBEAT_STATEMENT "pgrepl_heartbeat"
#define HEARTBEAT_COLUMNS_1_2 \
	"node_name, kind, role, timeline, wal_lsn, priority, term, leader"
#define HEARTBEAT_SQL \
	"SELECT " HEARTBEAT_COLUMNS_1_2 ", rejoined_term " \
	"FROM pgrepl.heartbeat($1, $2, $3)"
#define HEARTBEAT_SQL_1_2 \
	"SELECT " HEARTBEAT_COLUMNS_1_2 " FROM pgrepl.heartbeat($1, $2, $3)"

typedef struct Peer
{
	PgreplPeerView view;
	char		conninfo[PGREPL_CONNINFO_LEN];
	PGconn	   *conn;
	PeerConnState state;
	PostgresPollingStatusType poll;		/* while connecting */
	bool		flushing;		/* query not fully sent yet */
	bool		prepared;		/* heartbeat statement prepared on conn */
	bool		heartbeat_1_2;	/* ... as of 1.2: the peer is not updated */
	PeerQuery	query;			/* while querying */
	TimestampTz deadline;		/* of the connection attempt or query */
	TimestampTz next_heartbeat; /* or next connection attempt */
	TimestampTz sent_at;		/* when the query in flight was sent */
	bool		sent_leading;	/* ... by the leader of sent_term */
	uint64		sent_term;
	bool		vote_pending;	/* the current vote request is to be sent */
	uint64		vote_term;		/* term of the vote request in flight */
	bool		vote_dry_run;	/* ... and whether it was a pre-vote */

	/*
	 * A witness has no WAL to carry the members' list: the leader copies it
	 * over.  Which version of the list, sent as the leader of which term,
	 * the witness last took; zero if none on this connection.
	 */
	uint64		copied_version;
	uint64		copied_term;
	TimestampTz next_copy;		/* after a refused copy, not before */

	/*
	 * The newest version of the pause setting the peer is known to have on
	 * this connection, and when to pass ours on again after an error.
	 */
	uint64		pause_version;
	TimestampTz next_pause;

	/*
	 * The newest version of the leader's unelectable set the peer is known
	 * to hold on disk (it answered so), on this connection.
	 */
	uint64		marks_term;
	uint64		marks_seq;
	TimestampTz next_marks;

	/* An errand to send (pending), or sent and not answered (in flight). */
	bool		errand_pending;
	bool		errand_in_flight;
	uint64		errand_tag;		/* of the pending one */
	uint64		errand_sent_tag;	/* of the one in flight */
	char		errand_sql[ERRAND_SQL_LEN];
	int			errand_nparams;
	char		errand_params[PEERS_ERRAND_MAX_PARAMS][ERRAND_PARAM_LEN];
} Peer;

static Peer peers[PGREPL_MAX_NODES];
static int	npeers = 0;

/* This node, as the members' list and the heartbeats describe it. */
static PgreplPeerView self_view;
static bool self_listed = false;
static bool self_synchronous = true;	/* as the members' list says */

/*
 * The members' list as last read, for witnesses, and a number that changes
 * whenever its content does.
 */
static PgreplMember *member_list = NULL;
static int	nmember_list = 0;
static uint64 member_list_version = 0;

/* The vote request of the election in progress, if any. */
static PgreplVoteRequest vote_request;
static char vote_candidate[NAMEDATALEN];

/* Registration of this node through the primary, when it is needed. */
static bool want_register = false;
static TimestampTz next_register = 0;

static Peer *find_peer(const char *name);

static void
disconnect(Peer *p)
{
	if (p->conn)
	{
		PQfinish(p->conn);
		ReleaseExternalFD();
		p->conn = NULL;
	}
	p->state = PEER_DISCONNECTED;
	p->flushing = false;
	p->prepared = false;
	p->heartbeat_1_2 = false;
	p->copied_version = 0;
	p->copied_term = 0;
	p->pause_version = 0;
	p->marks_term = 0;
	p->marks_seq = 0;
}

/* Keep the first line of a libpq message, for pgrepl.nodes and the log. */
static void
set_error(Peer *p, const char *message)
{
	char	   *nl;

	strlcpy(p->view.last_error, message, sizeof(p->view.last_error));
	nl = strchr(p->view.last_error, '\n');
	if (nl)
		*nl = '\0';
	p->view.has_error = true;
}

/*
 * The peer failed to connect or to answer: drop the connection, note why,
 * and try again at the next heartbeat.
 */
static void
peer_failed(Peer *p, TimestampTz now, const char *why)
{
	if (p->errand_in_flight)
	{
		p->errand_in_flight = false;
		switchover_errand_answered(p->view.name, p->errand_sent_tag, NULL, why);
	}
	set_error(p, why);
	if (p->view.failures == 0)
		ereport(LOG,
				(errmsg("pgrepl lost contact with node \"%s\": %s",
						p->view.name, p->view.last_error)));
	disconnect(p);
	p->view.reachable = false;
	p->view.failures++;
	p->next_heartbeat = TimestampTzPlusMilliseconds(now,
													pgrepl_heartbeat_interval);
}

/* Start connecting; PQconnectPoll finishes the job as the socket allows. */
static void
start_connect(Peer *p, TimestampTz now)
{
	char		appname[NAMEDATALEN];
	char		options[128];
	const char *keys[] = {"dbname", "application_name", "options", NULL};
	const char *values[] = {p->conninfo, appname, options, NULL};

	/* Peers see who calls, and the calls cannot hang on their side. */
	snprintf(appname, sizeof(appname), "pgrepl %s", self_view.name);
	snprintf(options, sizeof(options),
			 "-c statement_timeout=%d -c lock_timeout=%d",
			 pgrepl_heartbeat_timeout(), pgrepl_heartbeat_timeout());

	if (!AcquireExternalFD())
	{
		peer_failed(p, now, "out of file descriptors for peer connections");
		return;
	}
	p->conn = PQconnectStartParams(keys, values, true);
	if (p->conn == NULL)
	{
		ReleaseExternalFD();
		peer_failed(p, now, "out of memory");
		return;
	}
	if (PQstatus(p->conn) == CONNECTION_BAD)
	{
		peer_failed(p, now, PQerrorMessage(p->conn));
		return;
	}
	p->state = PEER_CONNECTING;
	p->poll = PGRES_POLLING_WRITING;
	p->deadline = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_timeout());
}

/*
 * Whether this node, as the leader of its term, owes the peer a copy of the
 * members' list: the peer is a witness that has not taken this version of
 * the list from the leader of this term on this connection.
 */
static bool
copy_due(const Peer *p, TimestampTz now)
{
	return self_view.leader && p->view.has_reply &&
		p->view.kind == PGREPL_KIND_WITNESS && now >= p->next_copy &&
		(p->copied_version != member_list_version ||
		 p->copied_term != self_view.term);
}

/*
 * Whether this node knows a newer pause setting than the peer is known to
 * have; if so, *ts holds it.
 */
static bool
pause_due(const Peer *p, TimestampTz now, PgreplTermState *ts)
{
	if (!p->view.has_reply || now < p->next_pause)
		return false;
	pgrepl_term_state(ts);
	return ts->pause_version > p->pause_version;
}

/* Whether peer p is known to hold version (term, seq) of the set or newer. */
static bool
holds_marks(const Peer *p, uint64 term, uint64 seq)
{
	return p->marks_term > term ||
		(p->marks_term == term && p->marks_seq >= seq);
}

/*
 * Whether this node, as the leader, owes the peer its unelectable set; if
 * so, *ts holds it.
 */
static bool
marks_due(const Peer *p, TimestampTz now, PgreplTermState *ts)
{
	if (!self_view.leader || !p->view.has_reply || now < p->next_marks)
		return false;
	pgrepl_term_state(ts);
	return ts->marks_seq != 0 && ts->marks_term == ts->term &&
		!holds_marks(p, ts->marks_term, ts->marks_seq);
}

/* Append s to buf as an element of a text[] literal. */
static void
append_array_element(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, buf->len == 0 ? '{' : ',');
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '"');
}

/* Send the members' list to a witness, as pgrepl.copy_members() takes it. */
static int
send_copy_members(Peer *p)
{
	StringInfoData names;
	StringInfoData kinds;
	StringInfoData conninfos;
	char		term[32];
	const char *params[5];
	int			ok;
	int			i;

	initStringInfo(&names);
	initStringInfo(&kinds);
	initStringInfo(&conninfos);
	for (i = 0; i < nmember_list; i++)
	{
		append_array_element(&names, member_list[i].name);
		append_array_element(&kinds, pgrepl_kind_name(member_list[i].kind));
		append_array_element(&conninfos, member_list[i].conninfo);
	}
	appendStringInfoString(&names, nmember_list > 0 ? "}" : "{}");
	appendStringInfoString(&kinds, nmember_list > 0 ? "}" : "{}");
	appendStringInfoString(&conninfos, nmember_list > 0 ? "}" : "{}");
	snprintf(term, sizeof(term), UINT64_FORMAT, self_view.term);

	params[0] = self_view.name;
	params[1] = term;
	params[2] = names.data;
	params[3] = kinds.data;
	params[4] = conninfos.data;
	ok = PQsendQueryParams(p->conn,
						   "SELECT pgrepl.copy_members($1, $2, $3, $4, $5)",
						   5, NULL, params, NULL, NULL, 0);
	p->query = QUERY_COPY_MEMBERS;
	p->copied_version = member_list_version;
	p->copied_term = self_view.term;

	pfree(names.data);
	pfree(kinds.data);
	pfree(conninfos.data);
	return ok;
}

/* Ask the peer for its vote, as vote_request says. */
static int
send_vote_request(Peer *p)
{
	char		term[32];
	char		tli[16];
	char		lsn[32];
	const char *params[5] = {vote_candidate, term, tli, lsn,
	vote_request.dry_run ? "true" : "false"};

	snprintf(term, sizeof(term), UINT64_FORMAT, vote_request.term);
	snprintf(tli, sizeof(tli), "%u", vote_request.timeline);
	snprintf(lsn, sizeof(lsn), "%X/%X", LSN_FORMAT_ARGS(vote_request.lsn));
	p->query = QUERY_VOTE;
	p->vote_term = vote_request.term;
	p->vote_dry_run = vote_request.dry_run;
	p->vote_pending = false;
	return PQsendQueryParams(p->conn,
							 "SELECT voter_term, granted, reason "
							 "FROM pgrepl.request_vote($1, $2, $3, $4, $5)",
							 5, NULL, params, NULL, NULL, 0);
}

/* Send the errand posted for the peer (peers_send_errand). */
static int
send_errand(Peer *p)
{
	const char *params[PEERS_ERRAND_MAX_PARAMS];
	int			i;

	for (i = 0; i < p->errand_nparams; i++)
		params[i] = p->errand_params[i];
	p->query = QUERY_ERRAND;
	p->errand_pending = false;
	p->errand_in_flight = true;
	p->errand_sent_tag = p->errand_tag;
	return PQsendQueryParams(p->conn, p->errand_sql, p->errand_nparams,
							 NULL, params, NULL, NULL, 0);
}

/* Ask the peer, the primary, to list this node as a member. */
static int
send_register(Peer *p, TimestampTz now)
{
	const char *params[3] = {self_view.name, pgrepl_node_conninfo,
	pgrepl_kind_name(self_view.kind)};

	p->query = QUERY_REGISTER;
	next_register = TimestampTzPlusMilliseconds(now, 10 * 1000);
	return PQsendQueryParams(p->conn,
							 "SELECT pgrepl.register_node($1, $2, $3)",
							 3, NULL, params, NULL, NULL, 0);
}

/* Tell the peer which nodes the leader marked, as ts holds them. */
static int
send_marks(Peer *p, const PgreplTermState *ts, TimestampTz now)
{
	StringInfoData names;
	char		term[32];
	char		seq[32];
	const char *params[4] = {self_view.name, term, seq, NULL};
	int			ok;
	int			i;

	initStringInfo(&names);
	for (i = 0; i < ts->nmarks; i++)
		append_array_element(&names, ts->marks[i]);
	appendStringInfoString(&names, ts->nmarks > 0 ? "}" : "{}");
	snprintf(term, sizeof(term), UINT64_FORMAT, ts->marks_term);
	snprintf(seq, sizeof(seq), UINT64_FORMAT, ts->marks_seq);
	params[3] = names.data;
	ok = PQsendQueryParams(p->conn,
						   "SELECT term, seq "
						   "FROM pgrepl.share_marks($1, $2, $3, $4)",
						   4, NULL, params, NULL, NULL, 0);
	pfree(names.data);
	p->query = QUERY_SHARE_MARKS;
	/* A heartbeat goes first next time: it is what renews the lease. */
	p->next_marks = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_interval);
	return ok;
}

/* Tell the peer whether failover is paused, as ts holds it. */
static int
send_pause(Peer *p, const PgreplTermState *ts, TimestampTz now)
{
	char		version[32];
	const char *params[3] = {self_view.name,
	ts->failover_paused ? "true" : "false", version};

	snprintf(version, sizeof(version), UINT64_FORMAT, ts->pause_version);
	p->query = QUERY_SHARE_PAUSE;
	p->pause_version = ts->pause_version;
	p->next_pause = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_interval);
	return PQsendQueryParams(p->conn,
							 "SELECT paused, version "
							 "FROM pgrepl.share_pause($1, $2, $3)",
							 3, NULL, params, NULL, NULL, 0);
}

/*
 * Prepare the heartbeat statement on a new connection, in the version the
 * peer's pgrepl answers.  next_heartbeat stays: the heartbeat itself is
 * still due, and receive() sends it once this is done.
 */
static int
send_prepare(Peer *p)
{
	p->query = QUERY_PREPARE;
	return PQsendPrepare(p->conn, HEARTBEAT_STATEMENT,
						 p->heartbeat_1_2 ? HEARTBEAT_SQL_1_2 : HEARTBEAT_SQL,
						 3, NULL);
}

/* Send a heartbeat, through the statement prepared on this connection. */
static int
send_heartbeat(Peer *p, TimestampTz now)
{
	char		term[32];
	const char *params[3] = {self_view.name, term,
	self_view.leader ? "true" : "false"};

	snprintf(term, sizeof(term), UINT64_FORMAT, self_view.term);
	p->query = QUERY_HEARTBEAT;
	p->next_heartbeat = TimestampTzPlusMilliseconds(now,
													pgrepl_heartbeat_interval);
	return PQsendQueryPrepared(p->conn, HEARTBEAT_STATEMENT,
							   3, params, NULL, NULL, 0);
}

/*
 * Send the next query, the first of these that is due: a vote request, an
 * errand, registration (the peer is the primary and this node is not
 * listed as it should be), the members' list (the peer is a witness), the
 * leader's marks, the pause setting, and, else, a heartbeat, its statement
 * prepared first on a new connection.
 */
static void
send_query(Peer *p, TimestampTz now)
{
	int			ok;
	PgreplTermState ts;

	if (p->vote_pending)
		ok = send_vote_request(p);
	else if (p->errand_pending)
		ok = send_errand(p);
	else if (want_register && now >= next_register && p->view.has_reply &&
			 p->view.role == PGREPL_ROLE_PRIMARY)
		ok = send_register(p, now);
	else if (copy_due(p, now))
		ok = send_copy_members(p);
	else if (marks_due(p, now, &ts))
		ok = send_marks(p, &ts, now);
	else if (pause_due(p, now, &ts))
		ok = send_pause(p, &ts, now);
	else if (!p->prepared)
		ok = send_prepare(p);
	else
		ok = send_heartbeat(p, now);

	if (!ok)
	{
		peer_failed(p, now, PQerrorMessage(p->conn));
		return;
	}
	p->state = PEER_QUERYING;
	p->sent_at = now;
	p->sent_leading = self_view.leader;
	p->sent_term = self_view.term;
	p->flushing = (PQflush(p->conn) == 1);
	p->deadline = TimestampTzPlusMilliseconds(now, pgrepl_heartbeat_timeout());
}

/* Take in a heartbeat's answer: one row describing the peer. */
static void
heartbeat_answered(Peer *p, PGresult *res, TimestampTz now)
{
	PgreplPeerView *v = &p->view;
	PgreplNodeKind kind;
	PgreplRole	role;

	if (PQntuples(res) != 1 || PQnfields(res) != (p->heartbeat_1_2 ? 8 : 9))
	{
		peer_failed(p, now, "unexpected answer to a heartbeat");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), v->name) != 0)
	{
		char		why[PGREPL_ERROR_LEN];

		snprintf(why, sizeof(why), "its connection string reaches node \"%s\"",
				 PQgetvalue(res, 0, 0));
		peer_failed(p, now, why);
		return;
	}
	if (!pgrepl_kind_from_name(PQgetvalue(res, 0, 1), &kind) ||
		!pgrepl_role_from_name(PQgetvalue(res, 0, 2), &role))
	{
		peer_failed(p, now, "unexpected answer to a heartbeat");
		return;
	}

	if (v->failures > 0)
		ereport(LOG,
				(errmsg("pgrepl regained contact with node \"%s\"", v->name)));
	v->kind = kind;
	v->role = role;
	v->timeline = PQgetisnull(res, 0, 3) ? 0 :
		(TimeLineID) strtoul(PQgetvalue(res, 0, 3), NULL, 10);
	v->wal_lsn = PQgetisnull(res, 0, 4) ? InvalidXLogRecPtr :
		DatumGetLSN(DirectFunctionCall1(pg_lsn_in,
										CStringGetDatum(PQgetvalue(res, 0, 4))));
	v->priority = atoi(PQgetvalue(res, 0, 5));
	v->term = strtou64(PQgetvalue(res, 0, 6), NULL, 10);
	v->leader = (strcmp(PQgetvalue(res, 0, 7), "t") == 0);
	v->rejoined_term = (p->heartbeat_1_2 || PQgetisnull(res, 0, 8)) ? 0 :
		strtou64(PQgetvalue(res, 0, 8), NULL, 10);
	v->has_reply = true;
	v->last_reply = now;
	v->reachable = true;
	v->failures = 0;
	v->has_error = false;

	/*
	 * An answer to a heartbeat we sent as leader, from a peer not past our
	 * term, backs our leadership of that term.
	 */
	if (p->sent_leading && v->term <= p->sent_term)
	{
		v->has_ack = true;
		v->ack_term = p->sent_term;
		v->last_ack_sent = p->sent_at;
	}

	pgrepl_observe_term(v->term);
	if (v->role == PGREPL_ROLE_PRIMARY && v->leader && v->term >= self_view.term)
		pgrepl_note_primary_contact(now);
}

/* Take in the answer to a vote request. */
static void
vote_answered(Peer *p, PGresult *res)
{
	uint64		term;
	bool		granted;

	if (PQntuples(res) != 1 || PQnfields(res) != 3)
		return;
	term = strtou64(PQgetvalue(res, 0, 0), NULL, 10);
	granted = (strcmp(PQgetvalue(res, 0, 1), "t") == 0);
	pgrepl_observe_term(term);
	election_vote_answered(p->view.name, p->vote_term, p->vote_dry_run, granted,
						   PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2));
}

/*
 * Take in a peer's answer to our pause setting: its own, which is ours if
 * it took it, or a newer one, which we take.
 */
static void
pause_answered(Peer *p, PGresult *res)
{
	bool		paused;
	uint64		version;

	if (PQntuples(res) != 1 || PQnfields(res) != 2)
		return;
	paused = (strcmp(PQgetvalue(res, 0, 0), "t") == 0);
	version = strtou64(PQgetvalue(res, 0, 1), NULL, 10);
	p->pause_version = Max(p->pause_version, version);
	pgrepl_take_pause(paused, version);
}

/*
 * The answer to preparing the heartbeat statement.  A peer whose extension
 * is not updated yet is asked for what its pgrepl.heartbeat() has
 * (receive() prepares that next).  Else, not preparing the heartbeat is
 * failing it, with the same error.
 */
static void
prepare_answered(Peer *p, PGresult *res, TimestampTz now)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		p->prepared = true;
	else if (!p->heartbeat_1_2 && state &&
			 strcmp(state, unpack_sql_state(ERRCODE_UNDEFINED_COLUMN)) == 0)
		p->heartbeat_1_2 = true;
	else
	{
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		peer_failed(p, now, msg ? msg : PQerrorMessage(p->conn));
	}
}

/*
 * The query in flight failed on the peer.  A vote or an errand goes back to
 * whoever asked for it, refused; what this node shares with the peer is
 * shared again later; a heartbeat that fails fails the peer.
 */
static void
query_refused(Peer *p, PGresult *res, TimestampTz now)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	switch (p->query)
	{
		case QUERY_ERRAND:
			p->errand_in_flight = false;
			switchover_errand_answered(p->view.name, p->errand_sent_tag, NULL,
									   msg ? msg : "error");
			break;
		case QUERY_VOTE:
			election_vote_answered(p->view.name, p->vote_term, p->vote_dry_run,
								   false, msg ? msg : "error");
			break;
		case QUERY_REGISTER:
			ereport(WARNING,
					(errmsg("node \"%s\" could not register this node: %s",
							p->view.name, msg ? msg : "unknown error")));
			break;
		case QUERY_SHARE_MARKS:
			ereport(WARNING,
					(errmsg("node \"%s\" did not take the unelectable set: %s",
							p->view.name, msg ? msg : "unknown error")));
			p->next_marks = TimestampTzPlusMilliseconds(now, COPY_RETRY_MS);
			break;
		case QUERY_SHARE_PAUSE:
			ereport(WARNING,
					(errmsg("node \"%s\" did not take the pause setting: %s",
							p->view.name, msg ? msg : "unknown error")));
			p->pause_version = 0;
			p->next_pause = TimestampTzPlusMilliseconds(now, COPY_RETRY_MS);
			break;
		case QUERY_COPY_MEMBERS:
			ereport(WARNING,
					(errmsg("witness \"%s\" did not take the members' list: %s",
							p->view.name, msg ? msg : "unknown error")));
			p->copied_version = 0;
			p->next_copy = TimestampTzPlusMilliseconds(now, COPY_RETRY_MS);
			break;
		case QUERY_HEARTBEAT:
		case QUERY_PREPARE:
			peer_failed(p, now, msg ? msg : PQerrorMessage(p->conn));
			break;
	}
}

/* The query in flight succeeded on the peer: take in what it answered. */
static void
query_succeeded(Peer *p, PGresult *res, TimestampTz now)
{
	switch (p->query)
	{
		case QUERY_REGISTER:
			ereport(LOG,
					(errmsg("pgrepl registered node \"%s\" with primary \"%s\"",
							self_view.name, p->view.name)));
			want_register = false;
			break;
		case QUERY_ERRAND:
			p->errand_in_flight = false;
			switchover_errand_answered(p->view.name, p->errand_sent_tag, res,
									   NULL);
			break;
		case QUERY_VOTE:
			vote_answered(p, res);
			break;
		case QUERY_SHARE_PAUSE:
			pause_answered(p, res);
			break;
		case QUERY_SHARE_MARKS:
			/* The version it holds now, on disk: ours, or a later one. */
			if (PQntuples(res) == 1 && PQnfields(res) == 2)
			{
				p->marks_term = strtou64(PQgetvalue(res, 0, 0), NULL, 10);
				p->marks_seq = strtou64(PQgetvalue(res, 0, 1), NULL, 10);
			}
			break;
		case QUERY_COPY_MEMBERS:
			ereport(DEBUG1,
					(errmsg_internal("pgrepl copied the members' list to witness \"%s\"",
									 p->view.name)));
			break;
		case QUERY_HEARTBEAT:
			heartbeat_answered(p, res, now);
			break;
		case QUERY_PREPARE:
			/* prepare_answered() took it */
			break;
	}
}

/* Take in one result of the query in flight. */
static void
query_answered(Peer *p, PGresult *res, TimestampTz now)
{
	if (p->query == QUERY_PREPARE)
		prepare_answered(p, res, now);
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		query_refused(p, res, now);
	else
		query_succeeded(p, res, now);
}

/*
 * Read what the peer sent.  PQgetResult is only called once PQisBusy says
 * a result is complete, so it never waits for the network.
 */
static void
receive(Peer *p, TimestampTz now)
{
	if (!PQconsumeInput(p->conn))
	{
		peer_failed(p, now, PQerrorMessage(p->conn));
		return;
	}
	while (p->state == PEER_QUERYING && !PQisBusy(p->conn))
	{
		PGresult   *res = PQgetResult(p->conn);

		if (res == NULL)
		{
			p->state = PEER_READY;

			/*
			 * A vote request waiting for this query goes out at once, and so
			 * does the heartbeat whose statement was just prepared.
			 */
			if (p->vote_pending || p->query == QUERY_PREPARE)
				send_query(p, now);
			break;
		}
		query_answered(p, res, now);
		PQclear(res);
	}
}

/* The socket of a peer is ready for what we waited for. */
void
peers_socket_ready(void *peer, uint32 events, TimestampTz now)
{
	Peer	   *p = peer;

	switch (p->state)
	{
		case PEER_CONNECTING:
			p->poll = PQconnectPoll(p->conn);
			if (p->poll == PGRES_POLLING_FAILED)
				peer_failed(p, now, PQerrorMessage(p->conn));
			else if (p->poll == PGRES_POLLING_OK)
			{
				if (PQsetnonblocking(p->conn, 1) != 0)
					peer_failed(p, now, PQerrorMessage(p->conn));
				else
				{
					p->state = PEER_READY;
					send_query(p, now);
				}
			}
			break;
		case PEER_QUERYING:
			if ((events & WL_SOCKET_WRITEABLE) && p->flushing)
			{
				int			r = PQflush(p->conn);

				if (r < 0)
				{
					peer_failed(p, now, PQerrorMessage(p->conn));
					break;
				}
				p->flushing = (r == 1);
			}
			if (events & WL_SOCKET_READABLE)
				receive(p, now);
			break;
		case PEER_READY:
			/* Data while idle: only a notice or the server going away. */
			if (!PQconsumeInput(p->conn) || PQstatus(p->conn) == CONNECTION_BAD)
				peer_failed(p, now, PQerrorMessage(p->conn));
			break;
		case PEER_DISCONNECTED:
			break;
	}
}

/*
 * Move every peer along: start connections and heartbeats that are due,
 * give up on those past their deadline.
 */
void
peers_step(TimestampTz now)
{
	int			i;

	for (i = 0; i < npeers; i++)
	{
		Peer	   *p = &peers[i];

		switch (p->state)
		{
			case PEER_DISCONNECTED:
				if (now >= p->next_heartbeat)
					start_connect(p, now);
				break;
			case PEER_CONNECTING:
				if (now >= p->deadline)
					peer_failed(p, now, "timed out connecting");
				break;
			case PEER_QUERYING:
				if (now >= p->deadline)
					peer_failed(p, now, "timed out waiting for an answer");
				break;
			case PEER_READY:
				if (now >= p->next_heartbeat || p->vote_pending ||
					p->errand_pending)
					send_query(p, now);
				break;
		}
	}
}

/*
 * Ask every peer for its vote; the answers go to election_vote_answered().
 * Peers still answering a heartbeat get the request as soon as they are
 * done; disconnected ones when they connect again.
 */
void
peers_request_votes(const PgreplVoteRequest *req)
{
	int			i;

	vote_request = *req;
	strlcpy(vote_candidate, req->candidate, sizeof(vote_candidate));
	vote_request.candidate = vote_candidate;
	for (i = 0; i < npeers; i++)
		peers[i].vote_pending = true;
}

/*
 * How many peers are known to hold version (term, seq) of the unelectable
 * set, or a later one, on disk.
 */
int
peers_holding_marks(uint64 term, uint64 seq)
{
	int			n = 0;
	int			i;

	for (i = 0; i < npeers; i++)
	{
		if (holds_marks(&peers[i], term, seq))
			n++;
	}
	return n;
}

/* Forget a vote request that was not sent yet: its election is over. */
void
peers_cancel_votes(void)
{
	int			i;

	for (i = 0; i < npeers; i++)
		peers[i].vote_pending = false;
}

/*
 * Send the named peer an errand: the query sql with nparams text
 * parameters (at most PEERS_ERRAND_MAX_PARAMS, each shorter than 64 bytes),
 * ahead of its next heartbeat, replacing an errand not sent yet.  The
 * answer, or why there is none, goes to switchover_errand_answered() with
 * tag.  False if the peer is not a member.
 */
bool
peers_send_errand(const char *peer, uint64 tag, const char *sql,
				  int nparams, const char *const *params)
{
	Peer	   *p = find_peer(peer);
	int			i;

	Assert(nparams <= PEERS_ERRAND_MAX_PARAMS);
	if (p == NULL)
		return false;
	p->errand_pending = true;
	p->errand_tag = tag;
	strlcpy(p->errand_sql, sql, sizeof(p->errand_sql));
	p->errand_nparams = nparams;
	for (i = 0; i < nparams; i++)
		strlcpy(p->errand_params[i], params[i], ERRAND_PARAM_LEN);
	return true;
}

/* Forget every errand not sent yet. */
void
peers_cancel_errands(void)
{
	int			i;

	for (i = 0; i < npeers; i++)
		peers[i].errand_pending = false;
}

/* When peers_step next has something to do. */
TimestampTz
peers_next_wakeup(void)
{
	TimestampTz next = DT_NOEND;
	int			i;

	for (i = 0; i < npeers; i++)
	{
		const Peer *p = &peers[i];

		if (p->state == PEER_CONNECTING || p->state == PEER_QUERYING)
			next = Min(next, p->deadline);
		else if (p->state == PEER_READY && (p->vote_pending || p->errand_pending))
			next = 0;
		else
			next = Min(next, p->next_heartbeat);
	}
	return next;
}

/* Add the socket of every peer with something in flight to the set. */
void
peers_add_wait_events(WaitEventSet *set)
{
	int			i;

	for (i = 0; i < npeers; i++)
	{
		Peer	   *p = &peers[i];
		uint32		events = 0;
		pgsocket	sock;

		if (p->state == PEER_CONNECTING)
			events = (p->poll == PGRES_POLLING_READING) ?
				WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
		else if (p->state == PEER_QUERYING)
			events = WL_SOCKET_READABLE | (p->flushing ? WL_SOCKET_WRITEABLE : 0);
		else if (p->state == PEER_READY)
			events = WL_SOCKET_READABLE;
		if (events == 0)
			continue;

		sock = PQsocket(p->conn);
		if (sock == PGINVALID_SOCKET)
			continue;
		AddWaitEventToSet(set, events, sock, NULL, p);
	}
}

/* How many sockets peers_add_wait_events may add. */
int
peers_max_wait_events(void)
{
	return npeers;
}

static Peer *
find_peer(const char *name)
{
	int			i;

	for (i = 0; i < npeers; i++)
	{
		if (strcmp(peers[i].view.name, name) == 0)
			return &peers[i];
	}
	return NULL;
}

/* Whether members lists the same nodes, reached the same way, as before. */
static bool
same_members(const PgreplMember *members, int nmembers)
{
	int			i;

	if (nmembers != nmember_list)
		return false;
	for (i = 0; i < nmembers; i++)
	{
		if (strcmp(members[i].name, member_list[i].name) != 0 ||
			members[i].kind != member_list[i].kind ||
			members[i].synchronous != member_list[i].synchronous ||
			strcmp(members[i].conninfo, member_list[i].conninfo) != 0)
			return false;
	}
	return true;
}

/*
 * Take the current members' list: connect to new members, drop those that
 * left, reconnect to those whose connection string changed.  self describes
 * this node.  If this node is missing from the list, or listed with another
 * connection string, it will register itself through the primary.
 */
void
peers_set_members(const PgreplMember *members, int nmembers,
				  const PgreplPeerView *self)
{
	Peer		kept[PGREPL_MAX_NODES];
	int			nkept = 0;
	int			i;

	self_view = *self;
	self_listed = false;

	/* Kept for witnesses, with a new version number when it changed. */
	if (member_list == NULL)
		member_list = MemoryContextAllocZero(TopMemoryContext,
											 sizeof(PgreplMember) * PGREPL_MAX_NODES);
	nmembers = Min(nmembers, PGREPL_MAX_NODES);
	if (!same_members(members, nmembers))
	{
		memcpy(member_list, members, sizeof(PgreplMember) * nmembers);
		nmember_list = nmembers;
		member_list_version++;
	}

	for (i = 0; i < nmembers && nkept < PGREPL_MAX_NODES; i++)
	{
		const PgreplMember *m = &members[i];
		Peer	   *old;
		Peer	   *p = &kept[nkept];

		if (strcmp(m->name, self->name) == 0)
		{
			self_listed = (strcmp(m->conninfo, pgrepl_node_conninfo) == 0 &&
						   m->kind == self->kind);
			self_synchronous = m->synchronous;
			continue;
		}

		old = find_peer(m->name);
		if (old && strcmp(old->conninfo, m->conninfo) == 0)
		{
			*p = *old;
			old->conn = NULL;	/* moved, not to be closed below */
		}
		else
		{
			memset(p, 0, sizeof(Peer));
			strlcpy(p->view.name, m->name, sizeof(p->view.name));
			strlcpy(p->conninfo, m->conninfo, sizeof(p->conninfo));
			p->state = PEER_DISCONNECTED;
		}
		p->view.kind = m->kind;
		p->view.synchronous = m->synchronous;
		nkept++;
	}

	/* Whatever was not kept is closed. */
	for (i = 0; i < npeers; i++)
		disconnect(&peers[i]);
	memcpy(peers, kept, sizeof(Peer) * nkept);
	npeers = nkept;

	want_register = !self_listed && pgrepl_node_conninfo[0] != '\0';
}

/* The connection string of the named peer, or NULL if it is none. */
const char *
peers_conninfo(const char *name)
{
	Peer	   *p = find_peer(name);

	return p ? p->conninfo : NULL;
}

/*
 * This node's state changed (its term, its role, whether it leads): the
 * next heartbeats say so, without waiting for the members' list.
 */
void
peers_set_self(const PgreplPeerView *self)
{
	static bool was_leading = false;
	int			i;

	if (self->leader && !was_leading)
	{
		for (i = 0; i < npeers; i++)
			peers[i].next_heartbeat = 0;
	}
	was_leading = self->leader;
	self_view = *self;
}

/* Whether this node is listed in pgrepl.members as it is configured. */
bool
peers_self_listed(void)
{
	return self_listed;
}

/*
 * What this node knows of every member, itself first, for the views.
 * Returns the number of entries written to views (room for
 * PGREPL_MAX_NODES + 1).
 */
int
peers_views(const PgreplPeerView *self, PgreplPeerView *views)
{
	int			i;

	views[0] = *self;
	views[0].synchronous = self_synchronous;
	for (i = 0; i < npeers; i++)
		views[i + 1] = peers[i].view;
	return npeers + 1;
}

/* Close every connection, when the monitor exits. */
void
peers_shutdown(int code, Datum arg)
{
	int			i;

	for (i = 0; i < npeers; i++)
		disconnect(&peers[i]);
	npeers = 0;
}

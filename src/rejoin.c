/*-------------------------------------------------------------------------
 *
 * rejoin.c
 *	  Bringing a replaced primary back as a standby of the new one.
 *
 * A primary that learns of a later term (deposed), or that was promoted
 * outside pgrepl (not elected), is fenced for good: only a restart as a
 * standby of the primary that leads the current term ends that.  Such a
 * node usually has WAL that the new primary lacks: at least the records it
 * wrote after the new primary's timeline forked off its own, and often
 * commits that never reached a standby.  Streaming from the new primary on
 * top of those would corrupt it, so it must first be rewound (pg_rewind),
 * or, when that is impossible, cloned again.
 *
 * On such a node, the monitor works out how it rejoins and says so in
 * pgrepl.status.note:
 *
 *	- which member leads the current term (heartbeats tell);
 *	- whether its WAL diverged from that leader's: it asks the leader for
 *	  the history of the leader's timeline (pgrepl.timeline_history(), a
 *	  function peers may be granted, which reads nothing but that history),
 *	  and compares it with its own the way pg_rewind does: the last
 *	  timeline both histories share, the point where either left it, and
 *	  whether its own WAL goes past that point.  The answer comes over a
 *	  connection of its own, driven without ever blocking (the monitor
 *	  polls it every pass, with a deadline);
 *	- whether pg_rewind can undo the difference (it needs wal_log_hints or
 *	  data checksums, and two histories that share a timeline) or the node
 *	  must be cloned again;
 *	- the exact command that does it, pgrepl_rejoin -D <data directory>,
 *	  which reads the rest (leader, its connection string without the
 *	  password, node name) from a file this module writes in the data
 *	  directory, pgrepl_rejoin.conf, readable by the server's owner only:
 *	  no view shows a connection string.
 *
 * With pgrepl.rejoin_command set, the monitor runs that command itself,
 * once per server start (pgrepl_rejoin.started says it did), detached from
 * the server (a new session, stdin/stdout/stderr on /dev/null), since it
 * stops the server it was started from.  It is not run when the node must
 * be cloned again (an operator decides to throw a data directory away), nor
 * after a failed attempt (pgrepl_rejoin.failed, written by pgrepl_rejoin,
 * says why; removing it allows another), nor while it is unknown whether
 * pg_rewind can tell the two histories apart.
 *
 * A standby can need the same: one that received WAL from the old primary
 * that the elected standby lacks, and took no part in the election (it
 * would have refused a candidate with less WAL), has WAL past the fork on
 * the old timeline and cannot follow the leader.  Its monitor asks for the
 * leader's history only while it is on an older timeline than the leader,
 * and acts, as above, only once that history shows the divergence.
 *
 * The leader records "rejoined" in pgrepl.events, since the node that
 * rejoins cannot write there: when a data member starts to stream from it
 * and either was seen answering as a primary that leads no term while this
 * node led, or led a term (pgrepl.events says so) after the last time it
 * was recorded as rejoined.
 *
 * Everything here runs in the monitor, outside any transaction except
 * where pgrepl_in_transaction() opens one; nothing here raises an error
 * that would end the monitor: failures are logged and retried.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access/timeline.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "election.h"
#include "fence.h"
#include "members.h"
#include "peers.h"
#include "rejoin.h"
#include "sample.h"
#include "settings.h"
#include "state.h"
#include "vote.h"

PG_FUNCTION_INFO_V1(pgrepl_timeline_history);

/* Files in the data directory; pgrepl_rejoin reads and writes them too. */
#define REJOIN_CONF_FILE		"pgrepl_rejoin.conf"
#define REJOIN_CONF_TMP_FILE	"pgrepl_rejoin.conf.tmp"
#define REJOIN_STARTED_FILE		"pgrepl_rejoin.started"
#define REJOIN_FAILED_FILE		"pgrepl_rejoin.failed"
#define REJOIN_DONE_FILE		"pgrepl_rejoin.done"

/* The script, in PostgreSQL's bindir. */
#define REJOIN_SCRIPT			"pgrepl_rejoin"

/* How long the leader may take to tell its history, and when to ask again. */
#define FETCH_TIMEOUT_MS		5000
#define FETCH_RETRY_MS			10000

/* One timeline of a history: WAL from begin up to end (Invalid: no end). */
typedef struct TimelineEntry
{
	TimeLineID	tli;
	XLogRecPtr	begin;
	XLogRecPtr	end;
} TimelineEntry;

typedef enum FetchState
{
	FETCH_IDLE,
	FETCH_CONNECTING,
	FETCH_QUERYING
} FetchState;

/*
 * The leader's timeline history, as asked for over a connection of this
 * module's own.  The answer is kept for the leader and the timeline it was
 * on when asked, and asked again when either changes.
 */
static struct
{
	FetchState	state;
	PGconn	   *conn;
	PostgresPollingStatusType poll;
	bool		flushing;		/* the query is not fully sent yet */
	TimestampTz deadline;
	TimestampTz retry_at;		/* after a failure, not before */
	char		leader[NAMEDATALEN];	/* asked of, or answered by */
	TimeLineID	leader_tli;
	bool		has_answer;
	bool		failed;			/* the last attempt failed: see error */
	char		error[PGREPL_ERROR_LEN];
	int			nentries;
	TimelineEntry *entries;		/* oldest first, in fetch_cxt */
} fetch;

static MemoryContext fetch_cxt = NULL;

/* What the last pgrepl_rejoin.conf written says, to write it on change. */
static char *written_conf = NULL;

/* How far this node's WAL and the leader's agree. */
typedef enum Divergence
{
	DIVERGENCE_UNKNOWN,			/* the leader's history is not known */
	DIVERGENCE_NONE,			/* this node's WAL ends at the fork */
	DIVERGENCE_PAST_FORK,		/* it has WAL past the fork: rewind */
	DIVERGENCE_UNRELATED		/* pg_rewind cannot compare the two */
} Divergence;

/* How this node rejoins. */
typedef struct RejoinPlan
{
	Divergence	divergence;
	bool		reclone;		/* pg_rewind cannot do it */
	bool		may_run;		/* safe for rejoin_command to act on */
	char		why[PGREPL_NOTE_LEN];	/* what is known of the divergence */
	char		reclone_why[128];
} RejoinPlan;

/*
 * On a leader: what it knows of each other data member, to record a rejoin
 * once when the member starts to stream from it.
 */
typedef struct Tracked
{
	char		name[NAMEDATALEN];
	bool		streaming;		/* streamed from this node at the last look */
	bool		seen_primary;	/* answered as a primary leading no term */
	bool		has_stream_start;	/* seen streaming, not yet judged */
	TimestampTz stream_start;	/* ... since then */
	uint64		rejoined_term;	/* its heartbeat's, once judged */
} Tracked;

static Tracked tracked[PGREPL_MAX_NODES];
static int	ntracked = 0;
static uint64 tracked_term = 0;
static PgreplSample *leader_sample = NULL;

/*
 * pgrepl.timeline_history(): the history of the timeline this node is on,
 * oldest timeline first: each timeline, where it began (NULL for the first)
 * and where the next one forked off it (NULL for the current one).  A node
 * that must rejoin asks the leader for it, to tell whether its own WAL
 * diverged; it reads nothing but the history files of this node's own
 * timelines, so peers may be granted it.
 */
Datum
pgrepl_timeline_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimeLineID	tli;
	List	   *history;
	int			i;

	pgrepl_init_materialized_srf(fcinfo);

	(void) pgrepl_current_wal(&tli);
	history = readTimeLineHistory(tli);

	/* The list is newest first. */
	for (i = list_length(history) - 1; i >= 0; i--)
	{
		TimeLineHistoryEntry *e = list_nth(history, i);
		Datum		values[3];
		bool		nulls[3];

		values[0] = Int32GetDatum((int32) e->tli);
		nulls[0] = false;
		values[1] = LSNGetDatum(e->begin);
		nulls[1] = XLogRecPtrIsInvalid(e->begin);
		values[2] = LSNGetDatum(e->end);
		nulls[2] = XLogRecPtrIsInvalid(e->end);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Append s to buf, quoted for a POSIX shell. */
static void
append_shell_quoted(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoString(buf, "'\\''");
		else
			appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * The connection string conninfo without its password, which goes to
 * *password (NULL if there is none): a command line and a file that a
 * script reads are no place for a secret.  NULL if conninfo does not parse.
 */
static char *
conninfo_without_password(const char *conninfo, char **password)
{
	PQconninfoOption *options = PQconninfoParse(conninfo, NULL);
	PQconninfoOption *o;
	StringInfoData buf;

	*password = NULL;
	if (options == NULL)
		return NULL;

	initStringInfo(&buf);
	for (o = options; o->keyword; o++)
	{
		const char *v = o->val;

		if (v == NULL || v[0] == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0)
		{
			*password = pstrdup(v);
			continue;
		}
		appendStringInfo(&buf, "%s%s='", buf.len > 0 ? " " : "", o->keyword);
		for (; *v; v++)
		{
			if (*v == '\'' || *v == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *v);
		}
		appendStringInfoChar(&buf, '\'');
	}
	PQconninfoFree(options);
	return buf.data;
}

/*
 * Whether sock is ready for events (WL_SOCKET_READABLE/WRITEABLE) now,
 * without waiting: the monitor's loop wakes at least every heartbeat
 * interval, which is soon enough for a question asked once per rejoin.
 */
static bool
socket_ready(pgsocket sock, int events)
{
	int			rc;

	if (sock == PGINVALID_SOCKET)
		return false;
	rc = WaitLatchOrSocket(NULL, events | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   sock, 0, PG_WAIT_EXTENSION);
	return (rc & events) != 0;
}

static void
fetch_disconnect(void)
{
	if (fetch.conn)
	{
		PQfinish(fetch.conn);
		ReleaseExternalFD();
		fetch.conn = NULL;
	}
	fetch.state = FETCH_IDLE;
	fetch.flushing = false;
}

/* The question failed: say why (first line only), and ask again later. */
static void
fetch_failed(TimestampTz now, const char *why)
{
	char	   *nl;

	strlcpy(fetch.error, why, sizeof(fetch.error));
	nl = strchr(fetch.error, '\n');
	if (nl)
		*nl = '\0';
	if (!fetch.failed)
		ereport(LOG,
				(errmsg("pgrepl could not read the timeline history of node \"%s\": %s",
						fetch.leader, fetch.error)));
	fetch.failed = true;
	fetch_disconnect();
	fetch.retry_at = TimestampTzPlusMilliseconds(now, FETCH_RETRY_MS);
}

/* Start asking leader, reached through conninfo, for its history. */
static void
fetch_start(const char *leader, TimeLineID leader_tli, const char *conninfo,
			TimestampTz now)
{
	char		appname[NAMEDATALEN];
	char		options[64];
	const char *keys[] = {"dbname", "application_name", "options", NULL};
	const char *values[] = {conninfo, appname, options, NULL};

	fetch_disconnect();
	strlcpy(fetch.leader, leader, sizeof(fetch.leader));
	fetch.leader_tli = leader_tli;
	fetch.has_answer = false;
	fetch.deadline = TimestampTzPlusMilliseconds(now, FETCH_TIMEOUT_MS);

	snprintf(appname, sizeof(appname), "pgrepl %s", pgrepl_state_node_name());
	snprintf(options, sizeof(options), "-c statement_timeout=%d",
			 FETCH_TIMEOUT_MS);
	if (!AcquireExternalFD())
	{
		fetch_failed(now, "out of file descriptors");
		return;
	}
	fetch.conn = PQconnectStartParams(keys, values, true);
	if (fetch.conn == NULL)
	{
		ReleaseExternalFD();
		fetch_failed(now, "out of memory");
		return;
	}
	if (PQstatus(fetch.conn) == CONNECTION_BAD)
	{
		fetch_failed(now, PQerrorMessage(fetch.conn));
		return;
	}
	fetch.state = FETCH_CONNECTING;
	fetch.poll = PGRES_POLLING_WRITING;
}

/* Take in the leader's answer: rows of (timeline, begin, end). */
static void
fetch_answered(PGresult *res, TimestampTz now)
{
	int			n = PQntuples(res);
	int			i;
	MemoryContext old;

	if (PQnfields(res) != 3 || n < 1)
	{
		fetch_failed(now, "unexpected answer");
		return;
	}

	if (fetch_cxt == NULL)
		fetch_cxt = AllocSetContextCreate(TopMemoryContext,
										  "pgrepl rejoin history",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(fetch_cxt);
	old = MemoryContextSwitchTo(fetch_cxt);
	fetch.entries = palloc(sizeof(TimelineEntry) * n);
	MemoryContextSwitchTo(old);

	for (i = 0; i < n; i++)
	{
		TimelineEntry *e = &fetch.entries[i];
		bool		bad = false;

		e->tli = (TimeLineID) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		e->begin = PQgetisnull(res, i, 1) ? InvalidXLogRecPtr :
			pg_lsn_in_internal(PQgetvalue(res, i, 1), &bad);
		if (!bad)
			e->end = PQgetisnull(res, i, 2) ? InvalidXLogRecPtr :
				pg_lsn_in_internal(PQgetvalue(res, i, 2), &bad);
		if (bad || e->tli == 0)
		{
			fetch_failed(now, "unexpected answer");
			return;
		}
	}
	fetch.nentries = n;
	fetch.has_answer = true;
	if (fetch.failed)
		ereport(LOG,
				(errmsg("pgrepl read the timeline history of node \"%s\"",
						fetch.leader)));
	fetch.failed = false;
}

/* Move the question along as far as the socket allows, without waiting. */
static void
fetch_drive(TimestampTz now)
{
	if (fetch.state == FETCH_IDLE)
		return;
	if (now >= fetch.deadline)
	{
		fetch_failed(now, "timed out");
		return;
	}

	if (fetch.state == FETCH_CONNECTING)
	{
		if (!socket_ready(PQsocket(fetch.conn),
						  fetch.poll == PGRES_POLLING_READING ?
						  WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE))
			return;
		fetch.poll = PQconnectPoll(fetch.conn);
		if (fetch.poll == PGRES_POLLING_FAILED)
			fetch_failed(now, PQerrorMessage(fetch.conn));
		else if (fetch.poll == PGRES_POLLING_OK)
		{
			if (PQsetnonblocking(fetch.conn, 1) != 0 ||
				!PQsendQuery(fetch.conn,
							 "SELECT timeline, begin_lsn, end_lsn "
							 "FROM pgrepl.timeline_history()"))
			{
				fetch_failed(now, PQerrorMessage(fetch.conn));
				return;
			}
			fetch.state = FETCH_QUERYING;
			fetch.flushing = true;
		}
		return;
	}

	/* FETCH_QUERYING */
	if (fetch.flushing)
	{
		int			r = PQflush(fetch.conn);

		if (r < 0)
		{
			fetch_failed(now, PQerrorMessage(fetch.conn));
			return;
		}
		fetch.flushing = (r == 1);
		if (fetch.flushing)
			return;
	}
	if (!socket_ready(PQsocket(fetch.conn), WL_SOCKET_READABLE))
		return;
	if (!PQconsumeInput(fetch.conn))
	{
		fetch_failed(now, PQerrorMessage(fetch.conn));
		return;
	}
	while (fetch.state == FETCH_QUERYING && !PQisBusy(fetch.conn))
	{
		PGresult   *res = PQgetResult(fetch.conn);

		if (res == NULL)
		{
			fetch_disconnect();
			break;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			fetch_answered(res, now);
		else
		{
			const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

			fetch_failed(now, msg ? msg : PQerrorMessage(fetch.conn));
		}
		PQclear(res);
	}
}

/*
 * Ask the leader for its history unless the answer at hand is for it on
 * the timeline it is on, or a question is under way, or a failed one is
 * too recent to ask again.
 */
static void
fetch_update(const PgreplPeerView *leader, TimestampTz now)
{
	const char *conninfo;

	if (fetch.state != FETCH_IDLE && strcmp(fetch.leader, leader->name) != 0)
		fetch_disconnect();
	if (fetch.state == FETCH_IDLE &&
		(strcmp(fetch.leader, leader->name) != 0 ||
		 fetch.leader_tli != leader->timeline ||
		 (!fetch.has_answer && now >= fetch.retry_at)))
	{
		conninfo = peers_conninfo(leader->name);
		if (conninfo == NULL)
			return;
		if (strcmp(fetch.leader, leader->name) != 0)
			fetch.failed = false;
		fetch_start(leader->name, leader->timeline, conninfo, now);
	}
	fetch_drive(now);
}

/* Forget the leader's history: this node does not need to rejoin now. */
static void
fetch_forget(void)
{
	fetch_disconnect();
	fetch.leader[0] = '\0';
	fetch.has_answer = false;
	fetch.failed = false;
	fetch.retry_at = 0;
}

/* An end of a timeline, with Invalid (still going on) after any other. */
static XLogRecPtr
earlier_end(XLogRecPtr a, XLogRecPtr b)
{
	if (XLogRecPtrIsInvalid(a))
		return b;
	if (XLogRecPtrIsInvalid(b))
		return a;
	return Min(a, b);
}

/*
 * Compare this node's history with the leader's, as pg_rewind will: the
 * last timeline both share (same number, same start), the point where the
 * first of them left it (the fork), and whether this node's WAL goes past
 * that point.
 */
static void
compare_histories(const char *leader, RejoinPlan *plan)
{
	TimeLineID	my_tli;
	XLogRecPtr	my_end = pgrepl_current_wal(&my_tli);
	List	   *history = readTimeLineHistory(my_tli);
	int			nmine = list_length(history);
	TimelineEntry *mine = palloc(sizeof(TimelineEntry) * nmine);
	const TimelineEntry *theirs = fetch.entries;
	int			ntheirs = fetch.nentries;
	int			common = -1;
	XLogRecPtr	fork;
	int			i;

	for (i = 0; i < nmine; i++)
	{
		TimeLineHistoryEntry *e = list_nth(history, nmine - 1 - i);

		mine[i].tli = e->tli;
		mine[i].begin = e->begin;
		mine[i].end = e->end;
	}
	for (i = 0; i < nmine && i < ntheirs; i++)
	{
		if (mine[i].tli != theirs[i].tli || mine[i].begin != theirs[i].begin)
			break;
		common = i;
	}

	if (common < 0)
	{
		plan->divergence = DIVERGENCE_UNRELATED;
		snprintf(plan->why, sizeof(plan->why),
				 "its timeline history (timeline %u) shares no timeline with node \"%s\"'s (timeline %u)",
				 my_tli, leader, theirs[ntheirs - 1].tli);
		return;
	}
	if (common == nmine - 1 && common == ntheirs - 1)
	{
		/*
		 * Both primaries, on one timeline: each was promoted to a timeline
		 * of that number, and pg_rewind, which tells timelines apart by
		 * number, would take them for one.
		 */
		plan->divergence = DIVERGENCE_UNRELATED;
		snprintf(plan->why, sizeof(plan->why),
				 "it is on timeline %u as node \"%s\" is, but each got there by a promotion of its own",
				 my_tli, leader);
		return;
	}

	fork = earlier_end(mine[common].end, theirs[common].end);
	if (my_tli != mine[common].tli)
	{
		plan->divergence = DIVERGENCE_PAST_FORK;
		snprintf(plan->why, sizeof(plan->why),
				 "its timeline %u forked off timeline %u at %X/%X, node \"%s\"'s timeline %u at %X/%X: its WAL since differs",
				 mine[common + 1].tli, mine[common].tli,
				 LSN_FORMAT_ARGS(mine[common].end), leader,
				 common + 1 < ntheirs ? theirs[common + 1].tli : theirs[common].tli,
				 LSN_FORMAT_ARGS(fork));
	}
	else if (my_end > fork)
	{
		plan->divergence = DIVERGENCE_PAST_FORK;
		snprintf(plan->why, sizeof(plan->why),
				 "it has WAL on timeline %u up to %X/%X, " UINT64_FORMAT " bytes past %X/%X where node \"%s\"'s timeline %u forked off",
				 my_tli, LSN_FORMAT_ARGS(my_end), (uint64) (my_end - fork),
				 LSN_FORMAT_ARGS(fork), leader, theirs[common + 1].tli);
	}
	else
	{
		plan->divergence = DIVERGENCE_NONE;
		snprintf(plan->why, sizeof(plan->why),
				 "its WAL on timeline %u ends at %X/%X, where node \"%s\"'s timeline %u forked off",
				 my_tli, LSN_FORMAT_ARGS(my_end), leader,
				 theirs[common + 1].tli);
	}
}

/* Work out how this node rejoins leader, as far as is known now. */
static void
make_plan(const PgreplPeerView *leader, RejoinPlan *plan)
{
	TimeLineID	my_tli;

	memset(plan, 0, sizeof(*plan));
	(void) pgrepl_current_wal(&my_tli);

	if (fetch.has_answer && strcmp(fetch.leader, leader->name) == 0)
		compare_histories(leader->name, plan);
	else
	{
		plan->divergence = DIVERGENCE_UNKNOWN;
		if (fetch.failed)
			snprintf(plan->why, sizeof(plan->why),
					 "whether its WAL diverged is unknown: node \"%s\"'s timeline history could not be read (%s)",
					 leader->name, fetch.error);
		else
			snprintf(plan->why, sizeof(plan->why),
					 "asking node \"%s\" for its timeline history, to tell whether this node's WAL diverged",
					 leader->name);
	}

	if (plan->divergence == DIVERGENCE_UNRELATED)
	{
		plan->reclone = true;
		strlcpy(plan->reclone_why, "pg_rewind cannot compare the two histories",
				sizeof(plan->reclone_why));
	}
	else if (!XLogHintBitIsNeeded())
	{
		plan->reclone = true;
		strlcpy(plan->reclone_why,
				"pg_rewind needs wal_log_hints or data checksums, and neither is on",
				sizeof(plan->reclone_why));
	}

	/*
	 * pg_rewind compares histories by itself, and says when there is
	 * nothing to undo; it only cannot tell apart two timelines of one
	 * number.  So a divergence that cannot be known (the leader's history
	 * could not be read) is safe to act on while the leader is on another
	 * timeline than this node.  One that is being asked for is waited for:
	 * pgrepl_rejoin double-checks pg_rewind with it.
	 */
	plan->may_run = !plan->reclone &&
		(plan->divergence != DIVERGENCE_UNKNOWN ||
		 (fetch.failed && leader->timeline != 0 &&
		  leader->timeline != my_tli));
}

/* The full path of the pgrepl_rejoin script, next to the postgres binary. */
static char *
script_path(void)
{
	char		dir[MAXPGPATH];
	char	   *slash;

	strlcpy(dir, my_exec_path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return psprintf("%s/%s", dir, REJOIN_SCRIPT);
}

/* The directory postgresql.conf is in. */
static char *
config_dir(void)
{
	char	   *dir = pstrdup(ConfigFileName ? ConfigFileName : DataDir);
	char	   *slash = strrchr(dir, '/');

	if (ConfigFileName && slash)
		*slash = '\0';
	return dir;
}

/*
 * Write pgrepl_rejoin.conf, for pgrepl_rejoin: what it needs to rejoin
 * this node to leader, which leads term, when that changed.  Readable by
 * the server's owner only (the connection string, without its password,
 * is not for every eye).  Returns whether the file says this now.
 */
static bool
write_rejoin_conf(const char *leader, uint64 term, const char *source,
				  const RejoinPlan *plan)
{
	StringInfoData buf;
	int			fd;

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "# Written by pgrepl: how node \"%s\" rejoins its cluster as a standby.\n"
					 "# Read by pgrepl_rejoin.  Rewritten whenever it changes.\n"
					 "node=%s\nleader=%s\nterm=" UINT64_FORMAT "\nsource=%s\nconfig_dir=%s\nreclone=%s\ndiverged=%s\n",
					 pgrepl_state_node_name(), pgrepl_state_node_name(),
					 leader, term, source, config_dir(),
					 plan->reclone ? "yes" : "no",
					 plan->divergence == DIVERGENCE_PAST_FORK ? "yes" :
					 plan->divergence == DIVERGENCE_NONE ? "no" : "unknown");
	if (written_conf && strcmp(written_conf, buf.data) == 0)
		return true;

	fd = OpenTransientFile(REJOIN_CONF_TMP_FILE,
						   O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", REJOIN_CONF_TMP_FILE)));
		return false;
	}
	errno = 0;
	if (write(fd, buf.data, buf.len) != buf.len || pg_fsync(fd) != 0)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", REJOIN_CONF_TMP_FILE)));
		CloseTransientFile(fd);
		return false;
	}
	if (CloseTransientFile(fd) != 0 ||
		durable_rename(REJOIN_CONF_TMP_FILE, REJOIN_CONF_FILE, LOG) != 0)
		return false;

	if (written_conf)
		pfree(written_conf);
	written_conf = MemoryContextStrdup(TopMemoryContext, buf.data);
	return true;
}

/* The first line of a small file, or false if it cannot be read. */
static bool
read_first_line(const char *path, char *line, Size len)
{
	FILE	   *f = AllocateFile(path, "r");
	char	   *nl;
	bool		ok;

	if (f == NULL)
		return false;
	ok = (fgets(line, len, f) != NULL);
	FreeFile(f);
	if (!ok)
		return false;
	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	return true;
}

/*
 * The term of the leader pgrepl_rejoin last rewound or cloned this node
 * from, as pgrepl_rejoin.done says, or 0 if it never did: peers read it in
 * every heartbeat, for the leader to record the rejoin.  pgrepl_rejoin
 * writes the file while the server is down, so each process reads it
 * once.  A file that names another node came with a copy of that node's
 * data directory (a clone of a primary that once rejoined itself) and is
 * not this node's story.
 */
uint64
pgrepl_rejoined_term(void)
{
	static bool done = false;
	static uint64 term = 0;
	FILE	   *f;
	char		line[128];
	char		node[NAMEDATALEN] = "";
	uint64		read_term = 0;

	if (done)
		return term;
	done = true;

	f = AllocateFile(REJOIN_DONE_FILE, "r");
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", REJOIN_DONE_FILE)));
		return term;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *end;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "node=", 5) == 0)
			strlcpy(node, line + 5, sizeof(node));
		else if (strncmp(line, "term=", 5) == 0)
		{
			errno = 0;
			read_term = strtou64(line + 5, &end, 10);
			if (errno != 0 || end == line + 5 || *end != '\0')
				read_term = 0;
		}
	}
	FreeFile(f);
	if (strcmp(node, pgrepl_state_node_name()) == 0)
		term = read_term;
	return term;
}

/*
 * Whether rejoin_command was started since this server started, and if so
 * when and as which process.  pgrepl_rejoin.started holds the server's
 * start time: one left by an earlier life of the server is stale.
 */
static bool
started_this_life(TimestampTz *at, int *pid)
{
	char		line[128];
	long long	start;
	long long	when;

	if (!read_first_line(REJOIN_STARTED_FILE, line, sizeof(line)) ||
		sscanf(line, "%lld %lld %d", &start, &when, pid) != 3)
		return false;
	*at = (TimestampTz) when;
	return (TimestampTz) start == PgStartTime;
}

/* Note that rejoin_command is started now, as pid. */
static void
mark_started(TimestampTz now, pid_t pid)
{
	FILE	   *f = AllocateFile(REJOIN_STARTED_FILE, "w");

	if (f == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", REJOIN_STARTED_FILE)));
		return;
	}
	fprintf(f, "%lld %lld %d\n", (long long) PgStartTime, (long long) now,
			(int) pid);
	if (FreeFile(f) != 0)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", REJOIN_STARTED_FILE)));
}

/*
 * rejoin_command with its escapes replaced, each by a value quoted for the
 * shell: %d the data directory, %n this node's name, %l the leader's, %c
 * the leader's connection string without its password, %% a percent sign.
 * The setting's check hook allows no other escape.
 */
static char *
expand_command(const char *leader, const char *source)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	for (p = pgrepl_rejoin_command; *p; p++)
	{
		if (*p != '%' || p[1] == '\0')
		{
			appendStringInfoChar(&buf, *p);
			continue;
		}
		p++;
		switch (*p)
		{
			case 'd':
				append_shell_quoted(&buf, DataDir);
				break;
			case 'n':
				append_shell_quoted(&buf, pgrepl_state_node_name());
				break;
			case 'l':
				append_shell_quoted(&buf, leader);
				break;
			case 'c':
				append_shell_quoted(&buf, source);
				break;
			default:
				appendStringInfoChar(&buf, *p);
				break;
		}
	}
	return buf.data;
}

/*
 * The environment of rejoin_command: the server's, and what it may want to
 * know in variables; the leader's password, if its connection string has
 * one, in PGPASSWORD, where libpq (pg_rewind, pg_basebackup) finds it.
 */
static char **
command_environment(const char *leader, const char *source,
					const char *password)
{
	extern char **environ;
	char	  **env;
	int			n = 0;
	int			i;
	int			j = 0;

	while (environ[n])
		n++;
	env = palloc(sizeof(char *) * (n + 7));
	for (i = 0; i < n; i++)
	{
		if (password && strncmp(environ[i], "PGPASSWORD=", 11) == 0)
			continue;
		env[j++] = environ[i];
	}
	env[j++] = psprintf("PGREPL_DATA=%s", DataDir);
	env[j++] = psprintf("PGREPL_NODE=%s", pgrepl_state_node_name());
	env[j++] = psprintf("PGREPL_LEADER=%s", leader);
	env[j++] = psprintf("PGREPL_SOURCE=%s", source);
	env[j++] = psprintf("PGREPL_CONFIG_DIR=%s", config_dir());
	if (password)
		env[j++] = psprintf("PGPASSWORD=%s", password);
	env[j] = NULL;
	return env;
}

/*
 * In the process that runs the command: undo what it inherited from the
 * server (blocked and handled signals, open files, the terminal it has
 * not), then run it with the shell.  Never returns.
 */
static void
exec_command(const char *command, char **env)
{
	struct sigaction dfl;
	sigset_t	none;
	long		maxfd;
	int			fd;
	int			sig;
	char	   *argv[4];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void) sigaction(sig, &dfl, NULL);

	fd = open("/dev/null", O_RDWR);
	if (fd >= 0)
	{
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (fd = 3; fd < maxfd; fd++)
		close(fd);
	if (chdir("/") != 0)
		_exit(126);

	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *) command;
	argv[3] = NULL;
	execve("/bin/sh", argv, env);
	_exit(127);
}

/*
 * Run command detached from the server: in a session of its own, so that
 * the server's shutdown, which it causes, does not signal it, and reparented
 * to init, so that nobody needs to wait for it.  Returns its pid, or -1.
 * The intermediate process exits at once, so the wait for it is short.
 */
static pid_t
launch_detached(const char *command, char **env)
{
	int			fds[2];
	pid_t		child;
	pid_t		pid = -1;
	int			status;

	if (pipe(fds) != 0)
	{
		ereport(LOG,
				(errcode_for_socket_access(),
				 errmsg("could not create a pipe for pgrepl.rejoin_command: %m")));
		return -1;
	}
	fflush(NULL);
	child = fork();
	if (child < 0)
	{
		ereport(LOG,
				(errmsg("could not fork for pgrepl.rejoin_command: %m")));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (child == 0)
	{
		pid_t		grandchild;

		close(fds[0]);
		(void) setsid();
		grandchild = fork();
		if (grandchild == 0)
			exec_command(command, env);
		if (write(fds[1], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
			_exit(1);
		_exit(0);
	}

	close(fds[1]);
	if (read(fds[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	close(fds[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return pid;
}

/* Start rejoin_command for leader; returns whether it was started. */
static bool
run_rejoin_command(const char *leader, const char *source,
				   const char *password, TimestampTz now)
{
	char	   *command = expand_command(leader, source);
	char	  **env = command_environment(leader, source, password);
	pid_t		pid;

	/* Noted first: a monitor restarted meanwhile must not start another. */
	mark_started(now, 0);
	pid = launch_detached(command, env);
	if (pid < 0)
		return false;
	mark_started(now, pid);
	ereport(LOG,
			(errmsg("pgrepl started pgrepl.rejoin_command (pid %d) to rejoin node \"%s\" as a standby of \"%s\"",
					(int) pid, pgrepl_state_node_name(), leader),
			 errdetail("It is expected to stop this server, rewind it with pg_rewind and start it as a standby.")));
	return true;
}

/*
 * Rejoin this node as a standby of leader, following plan: run
 * pgrepl.rejoin_command if it may run and has not yet this life, else say in
 * note why not and what an operator runs instead.
 */
static void
rejoin_or_explain(const PgreplPeerView *leader, const RejoinPlan *plan,
				  const char *source, const char *password, TimestampTz now,
				  char *note, Size note_len)
{
	StringInfoData cmd;
	char		failed[PGREPL_NOTE_LEN];
	TimestampTz started_at;
	int			started_pid;

	/* The command an operator runs. */
	initStringInfo(&cmd);
	append_shell_quoted(&cmd, script_path());
	appendStringInfoString(&cmd, " -D ");
	append_shell_quoted(&cmd, DataDir);
	if (plan->reclone)
		appendStringInfoString(&cmd, " --reclone");

	if (read_first_line(REJOIN_FAILED_FILE, failed, sizeof(failed)))
	{
		snprintf(note, note_len,
				 "needs rejoin as a standby of %s; %s; the last rejoin failed (%s): once the cause is fixed, remove %s/%s to let pgrepl.rejoin_command try again, or run as the server's owner: %s%s",
				 leader->name, plan->why, failed, DataDir, REJOIN_FAILED_FILE,
				 cmd.data, plan->reclone ? "" : " (or with --reclone)");
		return;
	}
	if (plan->reclone)
	{
		snprintf(note, note_len,
				 "needs rejoin as a standby of %s; %s; it must be cloned again, since %s: run as the server's owner: %s",
				 leader->name, plan->why, plan->reclone_why, cmd.data);
		return;
	}
	if (pgrepl_rejoin_command[0] == '\0')
	{
		snprintf(note, note_len,
				 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command is not set: run as the server's owner: %s",
				 leader->name, plan->why, cmd.data);
		return;
	}
	if (started_this_life(&started_at, &started_pid))
	{
		/*
		 * A command that ended while this server still runs did not do its
		 * job, and did not say why: it is not run again by itself.
		 */
		if (started_pid > 0 && kill(started_pid, 0) != 0 && errno == ESRCH)
			snprintf(note, note_len,
					 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command, started at %s, ended without restarting this server: see its log, then restart the server to let it try again, or run as the server's owner: %s",
					 leader->name, plan->why, timestamptz_to_str(started_at),
					 cmd.data);
		else
			snprintf(note, note_len,
					 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command runs since %s (pid %d), to stop this server, rewind it with pg_rewind and start it as a standby",
					 leader->name, plan->why, timestamptz_to_str(started_at),
					 started_pid);
		return;
	}
	if (!plan->may_run)
	{
		if (fetch.failed)
			snprintf(note, note_len,
					 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command waits until it is known, since both are on timeline %u",
					 leader->name, plan->why, leader->timeline);
		else
			snprintf(note, note_len,
					 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command waits for the answer",
					 leader->name, plan->why);
		return;
	}
	if (run_rejoin_command(leader->name, source, password, now))
		snprintf(note, note_len,
				 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command started, to stop this server, rewind it with pg_rewind and start it as a standby",
				 leader->name, plan->why);
	else
		snprintf(note, note_len,
				 "needs rejoin as a standby of %s; %s; pgrepl.rejoin_command could not be started (see the server log): run as the server's owner: %s",
				 leader->name, plan->why, cmd.data);
}

/*
 * On a primary that must rejoin (deposed, or promoted outside pgrepl): work
 * out how, write it down for pgrepl_rejoin, say it in the note, and run
 * rejoin_command if it is set and may act.
 *
 * On a standby (standby true), the same once it is known to have diverged:
 * still on an older timeline than the leader, with WAL past the point where
 * the leader's timeline forked off it.  It received that WAL from the old
 * primary and took no part in the election that left it behind (it would
 * have refused a candidate with less WAL); it cannot follow the leader,
 * whose WAL receiver the leader refuses, until it is rewound.  A standby
 * merely behind, or whose divergence is not known, is left alone.
 *
 * Returns whether the node needs to rejoin.
 */
static bool
must_rejoin_step(const PgreplPeerView *views, int nviews, TimestampTz now,
				 bool standby, char *note, Size note_len)
{
	PgreplTermState ts;
	char		leader_name[NAMEDATALEN];
	const PgreplPeerView *leader = NULL;
	const char *conninfo;
	char	   *source;
	char	   *password;
	RejoinPlan	plan;
	int			i;

	pgrepl_term_state(&ts);
	if (election_leader_name(leader_name, sizeof(leader_name)) &&
		strcmp(leader_name, views[0].name) != 0)
	{
		for (i = 1; i < nviews; i++)
		{
			if (strcmp(views[i].name, leader_name) == 0 && views[i].reachable)
				leader = &views[i];
		}
	}
	if (standby)
	{
		TimeLineID	my_tli;

		(void) pgrepl_current_wal(&my_tli);
		if (leader == NULL || leader->timeline <= my_tli)
		{
			fetch_forget();
			return false;
		}
	}
	conninfo = leader ? peers_conninfo(leader->name) : NULL;
	if (conninfo == NULL)
	{
		fetch_forget();
		if (!standby)
			snprintf(note, note_len,
					 "needs rejoin as a standby, once a member that leads term " UINT64_FORMAT " is reachable",
					 ts.term);
		return !standby;
	}
	source = conninfo_without_password(conninfo, &password);
	if (source == NULL)
	{
		if (!standby)
			snprintf(note, note_len,
					 "needs rejoin as a standby of \"%s\", whose connection string does not parse",
					 leader->name);
		return !standby;
	}

	fetch_update(leader, now);
	make_plan(leader, &plan);
	if (standby && (plan.divergence == DIVERGENCE_UNKNOWN ||
					plan.divergence == DIVERGENCE_NONE))
		return false;
	if (!write_rejoin_conf(leader->name, leader->term, source, &plan))
	{
		snprintf(note, note_len,
				 "needs rejoin as a standby of %s; %s; could not write %s/%s (see the server log)",
				 leader->name, plan.why, DataDir, REJOIN_CONF_FILE);
		return true;
	}

	rejoin_or_explain(leader, &plan, source, password, now, note, note_len);
	return true;
}

/* What the leader knows of member name, added if new. */
static Tracked *
track(const char *name)
{
	int			i;

	for (i = 0; i < ntracked; i++)
	{
		if (strcmp(tracked[i].name, name) == 0)
			return &tracked[i];
	}
	if (ntracked == PGREPL_MAX_NODES)
		return NULL;
	memset(&tracked[ntracked], 0, sizeof(Tracked));
	strlcpy(tracked[ntracked].name, name, NAMEDATALEN);
	return &tracked[ntracked++];
}

typedef struct RecordArgs
{
	const Tracked *member;
	uint64		term;
} RecordArgs;

/*
 * Record in pgrepl.events that a member streams from this leader again
 * after it was a primary, or after pgrepl_rejoin rewound or cloned it: it
 * led a term after it last rejoined (by the events' own record), it was
 * seen as a primary while this node led, or its heartbeat says that
 * pgrepl_rejoin made it a standby of a leader whose term is past its last
 * recorded rejoin (a standby whose WAL diverged, which nothing else tells
 * apart from one that was only behind).
 */
static void
record_rejoin(void *arg)
{
	RecordArgs *args = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int64		led = 0;
	int64		rejoined = 0;
	Datum		d;
	char		detail[256];

	values[0] = CStringGetTextDatum(args->member->name);
	if (SPI_execute_with_args("SELECT "
							  "  (SELECT max(term) FROM pgrepl.events "
							  "   WHERE node_name = $1 "
							  "     AND event IN ('leading', 'elected', 'promoted')), "
							  "  (SELECT max(term) FROM pgrepl.events "
							  "   WHERE node_name = $1 AND event = 'rejoined')",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read pgrepl.events");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		led = DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
		rejoined = DatumGetInt64(d);

	if (led > rejoined)
		snprintf(detail, sizeof(detail),
				 "primary in term " INT64_FORMAT ", now streams from \"%s\" as a standby",
				 led, pgrepl_state_node_name());
	else if (args->member->seen_primary)
		snprintf(detail, sizeof(detail),
				 "a primary that led no term, now streams from \"%s\" as a standby",
				 pgrepl_state_node_name());
	else if (args->member->rejoined_term > (uint64) rejoined)
		snprintf(detail, sizeof(detail),
				 "made a standby of the leader of term " UINT64_FORMAT " by pgrepl_rejoin, now streams from \"%s\"",
				 args->member->rejoined_term, pgrepl_state_node_name());
	else
		return;
	pgrepl_event_insert(args->member->name, "rejoined", &args->term, detail, 0);
	ereport(LOG,
			(errmsg("pgrepl node \"%s\" rejoined as a standby of this primary",
					args->member->name)));
}

/*
 * On the leader, every tick: note members that answer as primaries without
 * leading, and when a member starts to stream from this node, record a
 * rejoin if it was a primary before, or pgrepl_rejoin made it a standby.
 * It is judged on a heartbeat answered after it was first seen streaming,
 * so that what it says of itself is of its present life, not of the one
 * before pgrepl_rejoin restarted it.  Writes only while this node may
 * commit; until then the member counts as not streaming, to be looked at
 * again.
 */
static void
leader_step(const PgreplPeerView *views, int nviews, uint64 term,
			TimestampTz now)
{
	pid_t		worker_pid;
	int			i;
	int			j;

	if (term != tracked_term)
	{
		ntracked = 0;
		tracked_term = term;
	}
	if (leader_sample == NULL)
		leader_sample = MemoryContextAlloc(TopMemoryContext,
										   pgrepl_sample_size());
	if (!pgrepl_state_read_sample(leader_sample, &worker_pid))
		return;

	for (i = 1; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];
		Tracked    *t;
		bool		streaming = false;

		if (v->kind != PGREPL_KIND_DATA || (t = track(v->name)) == NULL)
			continue;
		if (v->has_reply && v->reachable && v->role == PGREPL_ROLE_PRIMARY &&
			!v->leader)
			t->seen_primary = true;

		for (j = 0; j < leader_sample->nreplicas; j++)
		{
			const PgreplReplicaSample *r = &leader_sample->replicas[j];

			if (r->state == WALSNDSTATE_STREAMING &&
				strcmp(r->application_name, v->name) == 0)
				streaming = true;
		}
		if (!streaming)
		{
			t->streaming = false;
			t->has_stream_start = false;
			continue;
		}
		if (t->streaming)
			continue;
		if (!t->has_stream_start)
		{
			t->has_stream_start = true;
			t->stream_start = now;
		}
		if (!v->has_reply || v->last_reply <= t->stream_start)
			continue;
		t->rejoined_term = v->rejoined_term;
		if (pgrepl_fence_reason() == PGREPL_FENCE_NONE)
		{
			RecordArgs	args = {t, term};

			if (pgrepl_in_transaction("record a rejoin", record_rejoin, &args))
			{
				t->streaming = true;
				t->seen_primary = false;
			}
		}
	}
}

/*
 * Every pass of the monitor of a data node: on a primary fenced for good or
 * a diverged standby, say in note how it rejoins, and rejoin it if
 * pgrepl.rejoin_command allows; on a leader, every tick, record the
 * members that rejoined.  Returns whether this node needs to rejoin.
 */
bool
rejoin_step(const PgreplPeerView *views, int nviews, TimestampTz now,
			bool tick, char *note, Size note_len)
{
	static MemoryContext step_cxt = NULL;
	MemoryContext old;
	PgreplFenceReason fence;
	PgreplTermState ts;
	bool		needs = false;

	if (pgrepl_node_kind != PGREPL_KIND_DATA || nviews == 0 ||
		views[0].role == PGREPL_ROLE_WITNESS)
	{
		fetch_forget();
		return false;
	}

	if (step_cxt == NULL)
		step_cxt = AllocSetContextCreate(TopMemoryContext,
										 "pgrepl rejoin",
										 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(step_cxt);

	fence = pgrepl_fence_reason();
	pgrepl_term_state(&ts);
	if (views[0].role == PGREPL_ROLE_STANDBY)
		needs = must_rejoin_step(views, nviews, now, true, note, note_len);
	else if (fence == PGREPL_FENCE_DEPOSED || fence == PGREPL_FENCE_NOT_ELECTED)
		needs = must_rejoin_step(views, nviews, now, false, note, note_len);
	else
	{
		fetch_forget();
		if (tick && pgrepl_term_led(&ts))
			leader_step(views, nviews, ts.term, now);
	}

	MemoryContextSwitchTo(old);
	MemoryContextReset(step_cxt);
	return needs;
}

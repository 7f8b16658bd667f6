/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  What the HTTP endpoint says about this node: the checks a load
 *	  balancer asks (/primary, /replica, /health), this node's view as JSON
 *	  (/status), and Prometheus metrics (/metrics).
 *
 * Everything is read from shared memory, as the status views read it: the
 * monitor's last sample and members' views (state.c), the term and vote
 * (vote.c), the fence (fence.c) and pgrepl's counters (stats.c).  The
 * decisions a load balancer acts on are made on live values, not on the
 * monitor's last sample, which may be up to a monitor_interval old: whether
 * the node is in recovery, leads its term and is fenced, and a standby's
 * WAL receiver and lag (pgrepl_sample_self()).  The lags of the standbys
 * of a primary, heartbeats and the sample's age come from the monitor, as
 * in pgrepl.replicas and pgrepl.nodes.
 *
 * The one value shared memory does not hold is the count of queries
 * cancelled on a hot standby by recovery conflicts, per database
 * (pg_stat_database_conflicts); it is read with a query, in a short
 * transaction bounded by the worker's lock and statement timeouts, at most
 * once per CONFLICTS_CACHE_MS however often /metrics is scraped.
 *
 * Nothing here is secret: no connection string, no error text of a peer
 * (which may name hosts), nothing of a user's data.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "replication/walreceiver.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/pidfile.h"
#include "utils/timestamp.h"

#include "cluster.h"
#include "fence.h"
#include "members.h"
#include "metrics.h"
#include "sample.h"
#include "settings.h"
#include "state.h"
#include "stats.h"
#include "vote.h"

/* How long conflict counts read by a query are reused. */
#define CONFLICTS_CACHE_MS	1000

/* The kinds of recovery conflict, as pg_stat_database_conflicts has them. */
#define NCONFLICT_KINDS		5
static const char *const conflict_kinds[NCONFLICT_KINDS] = {
	"tablespace", "lock", "snapshot", "bufferpin", "deadlock"
};

typedef struct DatabaseConflicts
{
	char		datname[NAMEDATALEN];
	int64		counts[NCONFLICT_KINDS];
} DatabaseConflicts;

/* Conflict counts of the last query, in conflicts_context. */
static MemoryContext conflicts_context = NULL;
static DatabaseConflicts *conflicts = NULL;
static int	nconflicts = 0;
static bool has_conflicts = false;
static TimestampTz conflicts_read_at = 0;

/*
 * Everything the endpoint reports, read once per request.  Pointers are
 * into the caller's memory context, which is reset after each request.
 */
typedef struct NodeView
{
	PgreplNodeKind kind;
	PgreplRole	role;			/* live: witness, or in recovery or not */
	PgreplTermState ts;
	bool		leads;			/* leads the term it is in */
	PgreplFenceReason fence;
	bool		has_primary;
	char		primary[NAMEDATALEN];

	/* Live, from pgrepl_sample_self(). */
	PgreplSample *live;
	PgreplLags	lags;			/* this standby's own, if a standby */
	bool		streaming;		/* a standby whose WAL receiver streams */
	bool		replay_paused;

	/* From the monitor. */
	PgreplSample *sample;
	bool		has_sample;
	pid_t		monitor_pid;
	PgreplPeerView *views;
	int			nviews;
	bool		needs_rejoin;	/* must rejoin as a standby of the leader */
} NodeView;

/*
 * Fill in this node's kind and role (from in_recovery, unless a witness),
 * its term and its fence: all that /primary needs.
 */
static void
read_node_role(NodeView *nv, bool in_recovery)
{
	nv->kind = (PgreplNodeKind) pgrepl_node_kind;
	if (nv->kind == PGREPL_KIND_WITNESS)
		nv->role = PGREPL_ROLE_WITNESS;
	else if (in_recovery)
		nv->role = PGREPL_ROLE_STANDBY;
	else
		nv->role = PGREPL_ROLE_PRIMARY;
	pgrepl_term_state(&nv->ts);
	nv->leads = pgrepl_term_led(&nv->ts);
	nv->fence = pgrepl_fence_reason();
}

/*
 * Read what the other checks need: the live state of this node, its role
 * as that sample shows it, its term and fence, the primary it knows, and
 * on a standby its lags.
 */
static void
read_node_live(NodeView *nv)
{
	memset(nv, 0, sizeof(*nv));
	nv->live = palloc0(pgrepl_sample_size());
	pgrepl_sample_self(nv->live);
	read_node_role(nv, nv->live->node.in_recovery);
	nv->has_primary = pgrepl_state_known_primary(nv->ts.term, nv->primary);
	if (nv->live->node.in_recovery)
	{
		pgrepl_standby_lags(nv->live, &nv->lags);
		nv->streaming = nv->live->receiver.running &&
			nv->live->receiver.state == WALRCV_STREAMING;
		nv->replay_paused = GetRecoveryPauseState() != RECOVERY_NOT_PAUSED;
	}
}

/*
 * Read everything /status and /metrics show: the live state, and what the
 * monitor published (its last sample, the members' views).
 */
static void
read_node(NodeView *nv)
{
	read_node_live(nv);
	nv->sample = palloc0(pgrepl_sample_size());
	nv->has_sample = pgrepl_state_read_sample(nv->sample, &nv->monitor_pid);
	nv->views = palloc(sizeof(PgreplPeerView) * (PGREPL_MAX_NODES + 1));
	nv->nviews = pgrepl_state_read_views(nv->views);
	pgrepl_state_read_note(NULL, &nv->needs_rejoin);
}

/* This node's WAL position: flushed on a primary, received on a standby. */
static XLogRecPtr
node_wal_position(const NodeView *nv)
{
	const PgreplNodeSample *node = &nv->live->node;

	if (node->in_recovery)
		return Max(node->receive_lsn, node->replay_lsn);
	return node->flush_lsn;
}

/*
 * The writable primary of the current term: a data node out of recovery
 * that leads the term it is in and is not fenced.  A new primary is fenced
 * until a majority has answered its heartbeats, and so is not the primary
 * for a load balancer either until then.
 */
static bool
is_writable_primary(const NodeView *nv, StringInfo why)
{
	if (nv->role == PGREPL_ROLE_WITNESS)
		appendStringInfoString(why, "this node is a witness");
	else if (nv->role == PGREPL_ROLE_STANDBY)
		appendStringInfoString(why, "this node is a standby");
	else if (nv->ts.term == 0)
		appendStringInfoString(why, "this node leads no term: it has not formed or joined a pgrepl cluster");
	else if (!nv->leads)
		appendStringInfo(why, "this primary does not lead term " UINT64_FORMAT,
						 nv->ts.term);
	else if (nv->fence != PGREPL_FENCE_NONE)
		appendStringInfo(why, "this primary is fenced: %s",
						 pgrepl_fence_reason_text(nv->fence));
	else
	{
		appendStringInfo(why, "primary of term " UINT64_FORMAT, nv->ts.term);
		return true;
	}
	return false;
}

/* The lag a /replica limit applies to: bytes behind the primary, or time. */
static bool
within_limit(const NodeView *nv, const HttpLagLimit *limit, StringInfo why)
{
	const PgreplLags *lags = &nv->lags;

	if (limit->is_time)
	{
		if (!lags->has_replay_time)
		{
			appendStringInfoString(why, "replay lag unknown");
			return false;
		}
		if ((uint64) lags->replay_time > limit->usecs)
		{
			appendStringInfo(why, "replay lag %.3f s over %.3f s",
							 lags->replay_time / 1e6, limit->usecs / 1e6);
			return false;
		}
	}
	else
	{
		uint64		bytes;

		if (!lags->has_replay_bytes)
		{
			appendStringInfoString(why, "lag unknown");
			return false;
		}
		bytes = lags->replay_bytes +
			(lags->has_flush_bytes ? lags->flush_bytes : 0);
		if (bytes > limit->bytes)
		{
			appendStringInfo(why, "lag " UINT64_FORMAT " bytes over " UINT64_FORMAT " bytes",
							 bytes, (uint64) limit->bytes);
			return false;
		}
	}
	return true;
}

/* A standby whose WAL receiver streams, within every limit given. */
static bool
is_fresh_standby(const NodeView *nv, const HttpLagLimit *limits, int nlimits,
				 StringInfo why)
{
	int			i;

	if (nv->role == PGREPL_ROLE_WITNESS)
	{
		appendStringInfoString(why, "this node is a witness");
		return false;
	}
	if (nv->role == PGREPL_ROLE_PRIMARY)
	{
		appendStringInfoString(why, "this node is not a standby");
		return false;
	}
	if (!nv->streaming)
	{
		appendStringInfoString(why, "this standby is not streaming");
		return false;
	}
	for (i = 0; i < nlimits; i++)
	{
		if (!within_limit(nv, &limits[i], why))
			return false;
	}
	appendStringInfoString(why, "streaming standby");
	return true;
}

/* /primary, /read-write: 200 iff this returns true; why says why (not). */
bool
pgrepl_check_primary(StringInfo why)
{
	NodeView	nv;

	/*
	 * Load balancers ask this most often: read only what it needs, not
	 * the WAL positions and the WAL receiver, which cost about 5% of the
	 * worker's CPU per request under pgbench -S.
	 */
	memset(&nv, 0, sizeof(nv));
	read_node_role(&nv, RecoveryInProgress());
	return is_writable_primary(&nv, why);
}

/* /replica, /read-only, with the lag limits of the query string. */
bool
pgrepl_check_replica(const HttpLagLimit *limits, int nlimits, StringInfo why)
{
	NodeView	nv;

	read_node_live(&nv);
	return is_fresh_standby(&nv, limits, nlimits, why);
}

/*
 * Whether the postmaster accepts connections, as pg_ctl tells: the status
 * line of postmaster.pid says "ready" from the moment it does (on a hot
 * standby too) until shutdown begins.  The worker runs in the data
 * directory.
 */
static bool
server_accepts_connections(StringInfo why)
{
	char		buf[1024];
	FILE	   *f;
	size_t		n;
	char	   *line;
	int			i;

	f = AllocateFile("postmaster.pid", "r");
	if (f == NULL)
	{
		appendStringInfo(why, "could not read postmaster.pid: %s",
						 strerror(errno));
		return false;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	FreeFile(f);
	buf[n] = '\0';

	line = buf;
	for (i = 1; i < LOCK_FILE_LINE_PM_STATUS && line; i++)
	{
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (line == NULL || strncmp(line, PM_STATUS_READY, strlen(PM_STATUS_READY)) != 0)
	{
		appendStringInfoString(why, "the server does not accept connections");
		return false;
	}
	return true;
}

/*
 * /health: the server accepts connections and pgrepl's monitor runs and
 * samples on schedule (its last sample is at most two intervals and a
 * second old).  The HTTP worker is alive, since it answers.
 */
bool
pgrepl_check_health(StringInfo why)
{
	NodeView	nv;
	long		age_ms;

	if (!server_accepts_connections(why))
		return false;
	read_node(&nv);
	if (nv.monitor_pid == 0)
	{
		appendStringInfoString(why, "the pgrepl monitor is not running");
		return false;
	}
	if (!nv.has_sample)
	{
		appendStringInfoString(why, "the pgrepl monitor has not sampled yet");
		return false;
	}
	age_ms = TimestampDifferenceMilliseconds(nv.sample->node.sample_time,
											 GetCurrentTimestamp());
	if (age_ms > 2L * pgrepl_monitor_interval + 1000)
	{
		appendStringInfo(why, "the pgrepl monitor's last sample is %ld ms old",
						 age_ms);
		return false;
	}
	appendStringInfoString(why, "ok");
	return true;
}

/*
 * JSON helpers: a key and its value, with a comma before it unless it is
 * the first of its object.
 */
static void
json_key(StringInfo out, bool *first, const char *key)
{
	if (!*first)
		appendStringInfoChar(out, ',');
	*first = false;
	escape_json(out, key);
	appendStringInfoChar(out, ':');
}

static void
json_str(StringInfo out, bool *first, const char *key, const char *value)
{
	json_key(out, first, key);
	if (value)
		escape_json(out, value);
	else
		appendStringInfoString(out, "null");
}

static void
json_bool(StringInfo out, bool *first, const char *key, bool value)
{
	json_key(out, first, key);
	appendStringInfoString(out, value ? "true" : "false");
}

static void
json_int(StringInfo out, bool *first, const char *key, bool known, int64 value)
{
	json_key(out, first, key);
	if (known)
		appendStringInfo(out, INT64_FORMAT, value);
	else
		appendStringInfoString(out, "null");
}

/* A duration in microseconds, as seconds. */
static void
json_secs(StringInfo out, bool *first, const char *key, bool known,
		  TimeOffset usecs)
{
	json_key(out, first, key);
	if (known)
		appendStringInfo(out, "%.6f", usecs / 1e6);
	else
		appendStringInfoString(out, "null");
}

static void
json_lsn(StringInfo out, bool *first, const char *key, XLogRecPtr lsn)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%X/%X", LSN_FORMAT_ARGS(lsn));
	json_str(out, first, key, XLogRecPtrIsInvalid(lsn) ? NULL : buf);
}

/* The highest WAL position a member answering as primary reported. */
static XLogRecPtr
primary_position(const NodeView *nv)
{
	XLogRecPtr	lsn = InvalidXLogRecPtr;
	int			i;

	for (i = 0; i < nv->nviews; i++)
	{
		if (nv->views[i].has_reply && nv->views[i].role == PGREPL_ROLE_PRIMARY)
			lsn = Max(lsn, nv->views[i].wal_lsn);
	}
	return lsn;
}

/* The standbys streaming from this node, from the monitor's sample. */
static void
json_standbys(StringInfo out, const NodeView *nv)
{
	int			i;

	appendStringInfoChar(out, '[');
	for (i = 0; nv->has_sample && i < nv->sample->nreplicas; i++)
	{
		const PgreplReplicaSample *r = &nv->sample->replicas[i];
		PgreplLags	lags;
		bool		first = true;

		pgrepl_replica_lags(&nv->sample->node, r, &lags);
		if (i > 0)
			appendStringInfoChar(out, ',');
		appendStringInfoChar(out, '{');
		json_str(out, &first, "name", r->application_name);
		json_bool(out, &first, "streaming", r->state == WALSNDSTATE_STREAMING);
		json_int(out, &first, "sent_lag_bytes", lags.has_sent_bytes, lags.sent_bytes);
		json_int(out, &first, "write_lag_bytes", lags.has_write_bytes, lags.write_bytes);
		json_int(out, &first, "flush_lag_bytes", lags.has_flush_bytes, lags.flush_bytes);
		json_int(out, &first, "replay_lag_bytes", lags.has_replay_bytes, lags.replay_bytes);
		json_secs(out, &first, "write_lag_seconds", lags.has_write_time, lags.write_time);
		json_secs(out, &first, "flush_lag_seconds", lags.has_flush_time, lags.flush_time);
		json_secs(out, &first, "replay_lag_seconds", lags.has_replay_time, lags.replay_time);
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

/* Every member as this node knows it from heartbeats, this node first. */
static void
json_nodes(StringInfo out, const NodeView *nv)
{
	XLogRecPtr	primary_lsn = primary_position(nv);
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	appendStringInfoChar(out, '[');
	for (i = 0; i < nv->nviews; i++)
	{
		const PgreplPeerView *v = &nv->views[i];
		bool		has = v->has_reply;
		bool		has_lag = has && v->role != PGREPL_ROLE_WITNESS &&
			!XLogRecPtrIsInvalid(v->wal_lsn) &&
			!XLogRecPtrIsInvalid(primary_lsn);
		bool		first = true;

		if (i > 0)
			appendStringInfoChar(out, ',');
		appendStringInfoChar(out, '{');
		json_str(out, &first, "name", v->name);
		json_str(out, &first, "kind", pgrepl_kind_name(v->kind));
		json_bool(out, &first, "self", v->is_self);
		json_bool(out, &first, "reachable", v->reachable);
		json_str(out, &first, "role", has ? pgrepl_role_name(v->role) : NULL);
		json_int(out, &first, "term", has, (int64) v->term);
		json_bool(out, &first, "leader", has && v->leader);
		json_int(out, &first, "lag_bytes", has_lag,
				 primary_lsn > v->wal_lsn ? (int64) (primary_lsn - v->wal_lsn) : 0);
		json_int(out, &first, "heartbeat_failures", true, v->failures);
		json_secs(out, &first, "heartbeat_age_seconds", has,
				  Max(now - v->last_reply, 0));
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

/* /status: this node's view of itself and of the cluster, as JSON. */
void
pgrepl_status_json(StringInfo out)
{
	NodeView	nv;
	StringInfoData why;
	bool		first = true;
	bool		standby;

	read_node(&nv);
	standby = nv.role == PGREPL_ROLE_STANDBY;
	initStringInfo(&why);

	appendStringInfoChar(out, '{');
	json_str(out, &first, "node_name", pgrepl_state_node_name());
	json_str(out, &first, "kind", pgrepl_kind_name(nv.kind));
	json_str(out, &first, "role", pgrepl_role_name(nv.role));
	json_int(out, &first, "term", true, (int64) nv.ts.term);
	json_bool(out, &first, "leads_term", nv.leads);
	json_str(out, &first, "primary", nv.has_primary ? nv.primary : NULL);
	json_bool(out, &first, "fenced", nv.fence != PGREPL_FENCE_NONE);
	json_str(out, &first, "fence_reason", nv.fence != PGREPL_FENCE_NONE ?
			 pgrepl_fence_reason_text(nv.fence) : NULL);
	json_bool(out, &first, "needs_rejoin", nv.needs_rejoin);
	json_bool(out, &first, "writable_primary", is_writable_primary(&nv, &why));
	resetStringInfo(&why);
	json_bool(out, &first, "streaming_standby",
			  is_fresh_standby(&nv, NULL, 0, &why));
	if (nv.kind == PGREPL_KIND_DATA)
	{
		json_int(out, &first, "timeline", true, nv.live->node.timeline);
		json_lsn(out, &first, "wal_lsn", node_wal_position(&nv));
	}
	if (standby)
	{
		json_bool(out, &first, "replay_paused", nv.replay_paused);
		json_int(out, &first, "receive_lag_bytes", nv.lags.has_flush_bytes,
				 nv.lags.flush_bytes);
		json_int(out, &first, "replay_lag_bytes", nv.lags.has_replay_bytes,
				 nv.lags.replay_bytes);
		json_secs(out, &first, "replay_lag_seconds", nv.lags.has_replay_time,
				  nv.lags.replay_time);
	}
	json_int(out, &first, "monitor_pid", nv.monitor_pid != 0, nv.monitor_pid);
	json_secs(out, &first, "sample_age_seconds", nv.has_sample,
			  Max(GetCurrentTimestamp() - nv.sample->node.sample_time, 0));
	json_key(out, &first, "standbys");
	json_standbys(out, &nv);
	json_key(out, &first, "nodes");
	json_nodes(out, &nv);
	appendStringInfoString(out, "}\n");
}

/*
 * Prometheus text format.  A label value is escaped as the format wants:
 * backslash, double quote and newline.
 */
static void
prom_label_value(StringInfo out, const char *value)
{
	const char *p;

	appendStringInfoChar(out, '"');
	for (p = value; *p; p++)
	{
		if (*p == '\\')
			appendStringInfoString(out, "\\\\");
		else if (*p == '"')
			appendStringInfoString(out, "\\\"");
		else if (*p == '\n')
			appendStringInfoString(out, "\\n");
		else
			appendStringInfoChar(out, *p);
	}
	appendStringInfoChar(out, '"');
}

/* The HELP and TYPE lines of a metric family. */
static void
prom_family(StringInfo out, const char *name, const char *type,
			const char *help)
{
	appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * One sample: name, up to two labels (a NULL name ends them), value.
 */
static void
prom_sample(StringInfo out, const char *name,
			const char *l1, const char *v1, const char *l2, const char *v2,
			double value)
{
	appendStringInfoString(out, name);
	if (l1)
	{
		appendStringInfo(out, "{%s=", l1);
		prom_label_value(out, v1);
		if (l2)
		{
			appendStringInfo(out, ",%s=", l2);
			prom_label_value(out, v2);
		}
		appendStringInfoChar(out, '}');
	}
	if (value == floor(value) && fabs(value) < 1e15)
		appendStringInfo(out, " %.0f\n", value);
	else
		appendStringInfo(out, " %.6f\n", value);
}

static void
prom_gauge(StringInfo out, const char *name, const char *help, double value)
{
	prom_family(out, name, "gauge", help);
	prom_sample(out, name, NULL, NULL, NULL, NULL, value);
}

/*
 * Read pg_stat_database_conflicts into conflicts_context; runs in a
 * transaction with SPI connected (pgrepl_in_transaction).
 */
static void
read_conflicts(void *arg)
{
	MemoryContext old;
	uint64		i;
	int			k;

	if (SPI_execute("SELECT datname, confl_tablespace, confl_lock, "
					"confl_snapshot, confl_bufferpin, confl_deadlock "
					"FROM pg_catalog.pg_stat_database_conflicts "
					"WHERE datname IS NOT NULL ORDER BY datname",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_stat_database_conflicts");

	MemoryContextReset(conflicts_context);
	old = MemoryContextSwitchTo(conflicts_context);
	conflicts = palloc0(sizeof(DatabaseConflicts) * Max(SPI_processed, 1));
	nconflicts = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DatabaseConflicts *d = &conflicts[nconflicts++];
		bool		isnull;
		Datum		v;

		v = SPI_getbinval(tup, desc, 1, &isnull);
		strlcpy(d->datname, NameStr(*DatumGetName(v)), sizeof(d->datname));
		for (k = 0; k < NCONFLICT_KINDS; k++)
		{
			v = SPI_getbinval(tup, desc, k + 2, &isnull);
			d->counts[k] = isnull ? 0 : DatumGetInt64(v);
		}
	}
	MemoryContextSwitchTo(old);
	has_conflicts = true;
}

/* Conflict counts, read again if the last read is older than the cache. */
static void
refresh_conflicts(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (has_conflicts &&
		!TimestampDifferenceExceeds(conflicts_read_at, now, CONFLICTS_CACHE_MS))
		return;
	if (conflicts_context == NULL)
		conflicts_context = AllocSetContextCreate(TopMemoryContext,
												  "pgrepl http conflicts",
												  ALLOCSET_SMALL_SIZES);
	conflicts_read_at = now;
	/* On failure (logged), the last counts stand, or none. */
	(void) pgrepl_in_transaction("read pg_stat_database_conflicts",
								 read_conflicts, NULL);
}

/* Metrics about this node itself. */
static void
metrics_node(StringInfo out, const NodeView *nv)
{
	static const PgreplRole roles[] = {
		PGREPL_ROLE_PRIMARY, PGREPL_ROLE_STANDBY, PGREPL_ROLE_WITNESS
	};
	StringInfoData why;
	int			i;

	initStringInfo(&why);

	prom_family(out, "pgrepl_node_info", "gauge",
				"Always 1; labels name this node and its kind.");
	prom_sample(out, "pgrepl_node_info", "node", pgrepl_state_node_name(),
				"kind", pgrepl_kind_name(nv->kind), 1);

	prom_family(out, "pgrepl_role", "gauge",
				"1 for the role this node has now, 0 for the others.");
	for (i = 0; i < lengthof(roles); i++)
		prom_sample(out, "pgrepl_role", "role", pgrepl_role_name(roles[i]),
					NULL, NULL, nv->role == roles[i] ? 1 : 0);

	prom_gauge(out, "pgrepl_term", "Highest election term this node has seen.",
			   (double) nv->ts.term);
	prom_gauge(out, "pgrepl_leads_term",
			   "1 if this node leads the term it is in.", nv->leads ? 1 : 0);
	prom_gauge(out, "pgrepl_fenced",
			   "1 if this primary refuses to commit writes.",
			   nv->fence != PGREPL_FENCE_NONE ? 1 : 0);
	prom_gauge(out, "pgrepl_needs_rejoin",
			   "1 if this node must rejoin as a standby of the primary that replaced it (pgrepl.status.note says how).",
			   nv->needs_rejoin ? 1 : 0);
	prom_gauge(out, "pgrepl_writable_primary",
			   "1 if this node is the unfenced primary of the current term (what /primary checks).",
			   is_writable_primary(nv, &why) ? 1 : 0);
	resetStringInfo(&why);
	prom_gauge(out, "pgrepl_streaming_standby",
			   "1 if this node is a standby whose WAL receiver streams (what /replica checks).",
			   is_fresh_standby(nv, NULL, 0, &why) ? 1 : 0);
	prom_gauge(out, "pgrepl_primary_known",
			   "1 if a reachable member answers as the primary leading the current term.",
			   nv->has_primary ? 1 : 0);
	prom_gauge(out, "pgrepl_monitor_up",
			   "1 if the pgrepl monitor worker runs.", nv->monitor_pid != 0 ? 1 : 0);
	if (nv->has_sample)
		prom_gauge(out, "pgrepl_last_sample_age_seconds",
				   "Age of the monitor's last sample of the replication state.",
				   Max(GetCurrentTimestamp() - nv->sample->node.sample_time, 0) / 1e6);

	if (nv->kind != PGREPL_KIND_DATA)
		return;
	prom_gauge(out, "pgrepl_timeline", "Timeline this node writes or replays.",
			   nv->live->node.timeline);
	prom_gauge(out, "pgrepl_wal_position_bytes",
			   "WAL position of this node: flushed on a primary, received or replayed on a standby.",
			   (double) node_wal_position(nv));

	if (nv->role != PGREPL_ROLE_STANDBY)
		return;
	prom_gauge(out, "pgrepl_replay_paused",
			   "1 if WAL replay is paused on this standby.", nv->replay_paused ? 1 : 0);
	if (nv->lags.has_flush_bytes)
		prom_gauge(out, "pgrepl_receive_lag_bytes",
				   "WAL this standby has not received yet, behind the end its upstream last reported.",
				   (double) nv->lags.flush_bytes);
	if (nv->lags.has_replay_bytes)
		prom_gauge(out, "pgrepl_replay_lag_bytes",
				   "WAL this standby received but has not replayed yet.",
				   (double) nv->lags.replay_bytes);
	if (nv->lags.has_replay_time)
		prom_gauge(out, "pgrepl_replay_lag_seconds",
				   "0 when replay is caught up, else the age of the last replayed commit.",
				   nv->lags.replay_time / 1e6);
}

/* Metrics of the standbys streaming from this node, from the sample. */
static void
metrics_standbys(StringInfo out, const NodeView *nv)
{
	static const char *const byte_stages[] = {"sent", "write", "flush", "replay"};
	static const char *const time_stages[] = {"write", "flush", "replay"};
	PgreplLags *lags;
	int			n = nv->has_sample ? nv->sample->nreplicas : 0;
	int			i;
	int			s;

	if (n == 0)
		return;
	lags = palloc(sizeof(PgreplLags) * n);
	for (i = 0; i < n; i++)
		pgrepl_replica_lags(&nv->sample->node, &nv->sample->replicas[i], &lags[i]);

	prom_family(out, "pgrepl_standby_streaming", "gauge",
				"1 if the standby's WAL sender streams, 0 while it starts or catches up.");
	for (i = 0; i < n; i++)
		prom_sample(out, "pgrepl_standby_streaming",
					"standby", nv->sample->replicas[i].application_name, NULL, NULL,
					nv->sample->replicas[i].state == WALSNDSTATE_STREAMING ? 1 : 0);

	prom_family(out, "pgrepl_standby_lag_bytes", "gauge",
				"WAL a standby is behind this node's position, at each stage.");
	for (i = 0; i < n; i++)
	{
		const char *name = nv->sample->replicas[i].application_name;
		const bool	has[] = {lags[i].has_sent_bytes, lags[i].has_write_bytes,
		lags[i].has_flush_bytes, lags[i].has_replay_bytes};
		const int64 v[] = {lags[i].sent_bytes, lags[i].write_bytes,
		lags[i].flush_bytes, lags[i].replay_bytes};

		for (s = 0; s < lengthof(byte_stages); s++)
			if (has[s])
				prom_sample(out, "pgrepl_standby_lag_bytes", "standby", name,
							"stage", byte_stages[s], (double) v[s]);
	}

	prom_family(out, "pgrepl_standby_lag_seconds", "gauge",
				"Age of the oldest WAL a standby has not written, flushed, replayed.");
	for (i = 0; i < n; i++)
	{
		const char *name = nv->sample->replicas[i].application_name;
		const bool	has[] = {lags[i].has_write_time, lags[i].has_flush_time,
		lags[i].has_replay_time};
		const TimeOffset v[] = {lags[i].write_time, lags[i].flush_time,
		lags[i].replay_time};

		for (s = 0; s < lengthof(time_stages); s++)
			if (has[s])
				prom_sample(out, "pgrepl_standby_lag_seconds", "standby", name,
							"stage", time_stages[s], v[s] / 1e6);
	}
}

/* Metrics of the other members, from heartbeats. */
static void
metrics_peers(StringInfo out, const NodeView *nv)
{
	XLogRecPtr	primary_lsn = primary_position(nv);
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	prom_gauge(out, "pgrepl_members", "Members of the cluster, this node included.",
			   nv->nviews);
	if (nv->nviews <= 1)
		return;

	prom_family(out, "pgrepl_peer_up", "gauge",
				"1 if the member answered its last heartbeat in time.");
	for (i = 0; i < nv->nviews; i++)
		if (!nv->views[i].is_self)
			prom_sample(out, "pgrepl_peer_up", "peer", nv->views[i].name,
						NULL, NULL, nv->views[i].reachable ? 1 : 0);

	prom_family(out, "pgrepl_peer_heartbeat_failures", "gauge",
				"Heartbeats to the member that failed since it last answered.");
	for (i = 0; i < nv->nviews; i++)
		if (!nv->views[i].is_self)
			prom_sample(out, "pgrepl_peer_heartbeat_failures", "peer",
						nv->views[i].name, NULL, NULL, nv->views[i].failures);

	prom_family(out, "pgrepl_peer_heartbeat_age_seconds", "gauge",
				"Time since the member last answered a heartbeat.");
	for (i = 0; i < nv->nviews; i++)
		if (!nv->views[i].is_self && nv->views[i].has_reply)
			prom_sample(out, "pgrepl_peer_heartbeat_age_seconds", "peer",
						nv->views[i].name, NULL, NULL,
						Max(now - nv->views[i].last_reply, 0) / 1e6);

	prom_family(out, "pgrepl_peer_lag_bytes", "gauge",
				"WAL the member is behind the primary's last reported position.");
	for (i = 0; i < nv->nviews; i++)
	{
		const PgreplPeerView *v = &nv->views[i];

		if (v->is_self || !v->has_reply || v->role == PGREPL_ROLE_WITNESS ||
			XLogRecPtrIsInvalid(v->wal_lsn) || XLogRecPtrIsInvalid(primary_lsn))
			continue;
		prom_sample(out, "pgrepl_peer_lag_bytes", "peer", v->name, NULL, NULL,
					primary_lsn > v->wal_lsn ? (double) (primary_lsn - v->wal_lsn) : 0);
	}
}

/* pgrepl's counters, and recovery conflicts per database. */
static void
metrics_counters(StringInfo out)
{
	int			i;
	int			k;

	prom_family(out, "pgrepl_elections_total", "counter",
				"Elections this node stood in, each in a new term, since the server started.");
	prom_sample(out, "pgrepl_elections_total", NULL, NULL, NULL, NULL,
				(double) pgrepl_stats_read(PGREPL_STAT_ELECTIONS));
	prom_family(out, "pgrepl_failovers_total", "counter",
				"Times this node was promoted by pgrepl: elections it won, and promotions by force, since the server started.");
	prom_sample(out, "pgrepl_failovers_total", NULL, NULL, NULL, NULL,
				(double) pgrepl_stats_read(PGREPL_STAT_FAILOVERS));
	prom_family(out, "pgrepl_switchovers_total", "counter",
				"Planned switchovers this node took part in, since the server started.");
	prom_sample(out, "pgrepl_switchovers_total", NULL, NULL, NULL, NULL,
				(double) pgrepl_stats_read(PGREPL_STAT_SWITCHOVERS));

	refresh_conflicts();
	if (!has_conflicts)
		return;
	prom_family(out, "pgrepl_hot_standby_conflicts_total", "counter",
				"Queries cancelled by recovery conflicts on this standby, per database and reason (pg_stat_database_conflicts).");
	for (i = 0; i < nconflicts; i++)
		for (k = 0; k < NCONFLICT_KINDS; k++)
			prom_sample(out, "pgrepl_hot_standby_conflicts_total",
						"datname", conflicts[i].datname,
						"reason", conflict_kinds[k], (double) conflicts[i].counts[k]);
}

/* /metrics: everything above, in Prometheus' text format 0.0.4. */
void
pgrepl_metrics_text(StringInfo out)
{
	NodeView	nv;

	read_node(&nv);
	metrics_node(out, &nv);
	metrics_standbys(out, &nv);
	metrics_peers(out, &nv);
	metrics_counters(out);
}

/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  Definition and validation of the pgrepl.* configuration parameters.
 *
 * Every setting has a unit where one applies, bounds, and a check hook
 * where its syntax is richer than its type; assign hooks never fail.
 * Settings that size shared memory or name this node are fixed at server
 * start: a node that changed its name under a running cluster would be a
 * different voter to its peers.  Everything else reloads on SIGHUP.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netdb.h>

#include "libpq-fe.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "compat.h"
#include "settings.h"

char	   *pgrepl_node_name = NULL;
char	   *pgrepl_node_conninfo = NULL;
int			pgrepl_node_kind = PGREPL_KIND_DATA;
int			pgrepl_priority = 100;
char	   *pgrepl_database = NULL;
int			pgrepl_monitor_interval = 1000;
int			pgrepl_lag_history_size = 3600;
int			pgrepl_heartbeat_interval = 200;
bool		pgrepl_failover = true;
int			pgrepl_failover_timeout = 1500;
int			pgrepl_maximum_lag_on_failover = 16;
int			pgrepl_synchronous_mode = PGREPL_SYNC_MODE_OFF;
int			pgrepl_async_rpo_limit = 0;
int			pgrepl_http_port = 0;
char	   *pgrepl_http_listen_addresses = NULL;
char	   *pgrepl_rejoin_command = NULL;

static const struct config_enum_entry kind_options[] = {
	{"data", PGREPL_KIND_DATA, false},
	{"witness", PGREPL_KIND_WITNESS, false},
	{NULL, 0, false}
};

static const struct config_enum_entry synchronous_mode_options[] = {
	{"off", PGREPL_SYNC_MODE_OFF, false},
	{"quorum", PGREPL_SYNC_MODE_QUORUM, false},
	{"quorum_available", PGREPL_SYNC_MODE_QUORUM_AVAILABLE, false},
	{NULL, 0, false}
};

/* The name of a synchronous mode, as the setting spells it. */
const char *
pgrepl_synchronous_mode_name(PgreplSyncMode mode)
{
	const struct config_enum_entry *e;

	for (e = synchronous_mode_options; e->name; e++)
	{
		if (e->val == (int) mode)
			return e->name;
	}
	return "off";
}

/* The name of a node kind, as the membership table spells it. */
const char *
pgrepl_kind_name(PgreplNodeKind kind)
{
	return kind == PGREPL_KIND_WITNESS ? "witness" : "data";
}

/* The node kind a name stands for; false if none. */
bool
pgrepl_kind_from_name(const char *name, PgreplNodeKind *kind)
{
	const struct config_enum_entry *e;

	for (e = kind_options; e->name; e++)
	{
		if (strcmp(e->name, name) == 0)
		{
			*kind = (PgreplNodeKind) e->val;
			return true;
		}
	}
	return false;
}

/*
 * How long a peer may take to answer a heartbeat, or to accept a
 * connection, before it counts as unreachable: a few heartbeats, so that
 * one slow answer on a loaded machine is not a failure.
 */
int
pgrepl_heartbeat_timeout(void)
{
	return Max(4 * pgrepl_heartbeat_interval, 500);
}

/*
 * How long a primary may go without confirming a majority before it stops
 * committing: two thirds of the failover timeout, so that it has stopped
 * well before voters, who wait the whole timeout since they last heard it,
 * may elect another (PROTOCOL.md, rule 5).  The third left over absorbs
 * scheduling delays and clock-rate drift between the nodes.
 */
int
pgrepl_lease_time(void)
{
	return pgrepl_failover_timeout * 2 / 3;
}

/*
 * A node name is what peers, application_name and replication slots know a
 * node by, so it must be usable as all three: a non-empty string of
 * lowercase letters, digits and underscores that fits in a NAME.  Those are
 * exactly the characters a physical replication slot name may contain.
 * Names beginning with "pgrepl_" are kept for pgrepl's own slots.
 */
#define NODE_NAME_RULE \
	"A node name consists of lowercase letters, digits and underscores, at most %d characters, and does not begin with \"pgrepl_\"."

bool
pgrepl_node_name_is_valid(const char *name)
{
	const char *p;

	if (name[0] == '\0' || strlen(name) >= NAMEDATALEN ||
		strncmp(name, "pgrepl_", 7) == 0)
		return false;
	for (p = name; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	}
	return true;
}

/* Raise an error unless name is a valid node name. */
void
pgrepl_check_node_name(const char *name)
{
	if (!pgrepl_node_name_is_valid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid node name \"%s\"", name),
				 errdetail(NODE_NAME_RULE, NAMEDATALEN - 1)));
}

/* Empty means "derive a name"; anything else must be a valid node name. */
static bool
check_node_name(char **newval, void **extra, GucSource source)
{
	if (**newval == '\0' || pgrepl_node_name_is_valid(*newval))
		return true;

	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail(NODE_NAME_RULE, NAMEDATALEN - 1);
	return false;
}

/*
 * A node's connection string must parse; what it connects to is only known
 * when peers try it.  libpq's message is not repeated: it may quote the
 * string, password included.
 */
static bool
check_node_conninfo(char **newval, void **extra, GucSource source)
{
	PQconninfoOption *options;
	char	   *err = NULL;

	if (**newval == '\0')
		return true;
	options = PQconninfoParse(*newval, &err);
	if (options == NULL)
	{
		if (err)
			PQfreemem(err);
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("The value is not a valid libpq connection string.");
		return false;
	}
	PQconninfoFree(options);
	return true;
}

/*
 * The HTTP endpoint's listen addresses: a comma-separated list of host
 * names or addresses, or "*" for every interface, as listen_addresses
 * takes them.  Only the syntax is checked here; an address that does not
 * resolve or cannot be bound is reported by the HTTP worker, which keeps
 * serving on the others.
 */
static bool
check_http_listen_addresses(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval);
	List	   *elems;
	ListCell   *lc;
	bool		ok;

	ok = SplitGUCList(raw, ',', &elems);
	if (ok)
	{
		foreach(lc, elems)
		{
			const char *host = lfirst(lc);

			if (host[0] == '\0' || strlen(host) >= NI_MAXHOST)
				ok = false;
		}
		list_free(elems);
	}
	pfree(raw);
	if (!ok)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("The value must be a comma-separated list of host names or addresses, or \"*\".");
	}
	return ok;
}

/*
 * pgrepl.rejoin_command may use the escapes rejoin.c replaces, and no
 * other: a misspelt one would otherwise reach the shell as it is.
 */
static bool
check_rejoin_command(char **newval, void **extra, GucSource source)
{
	const char *p;

	for (p = *newval; *p; p++)
	{
		if (*p != '%')
			continue;
		p++;
		if (*p == '\0')
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("The command ends with a lone \"%%\"; write \"%%%%\" for a percent sign.");
			return false;
		}
		if (strchr("dnlc%", *p) == NULL)
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("\"%%%c\" is not an escape of this setting.", *p);
			GUC_check_errhint("The escapes are %%d (data directory), %%n (this node's name), %%l (the leader's name), %%c (the leader's connection string, without its password) and %%%% (a percent sign).");
			return false;
		}
	}
	return true;
}

/*
 * The name this node goes by: pgrepl.node_name if set, else cluster_name
 * when that is a valid node name, else "node_" and the port, which is at
 * least unique among the nodes of one host.
 */
void
pgrepl_effective_node_name(char *dst, Size len)
{
	if (pgrepl_node_name && pgrepl_node_name[0] != '\0')
		strlcpy(dst, pgrepl_node_name, len);
	else if (cluster_name && pgrepl_node_name_is_valid(cluster_name))
		strlcpy(dst, cluster_name, len);
	else
		snprintf(dst, len, "node_%d", PostPortNumber);
}

/* Called from _PG_init, while shared_preload_libraries is being loaded. */
void
pgrepl_define_settings(void)
{
	DefineCustomStringVariable("pgrepl.node_name",
							   "Name of this node in its pgrepl cluster.",
							   "Unset, it is cluster_name if that is a valid node name, else \"node_\" and the port.",
							   &pgrepl_node_name,
							   "",
							   PGC_POSTMASTER,
							   0,
							   check_node_name, NULL, NULL);

	DefineCustomStringVariable("pgrepl.node_conninfo",
							   "Connection string peers use to reach this node.",
							   "Unset, the node cannot join a cluster.  Keep passwords in a password file, not here.",
							   &pgrepl_node_conninfo,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   check_node_conninfo, NULL, NULL);

	DefineCustomEnumVariable("pgrepl.node_kind",
							 "Whether this node holds data or is a witness that only votes.",
							 NULL,
							 &pgrepl_node_kind,
							 PGREPL_KIND_DATA,
							 kind_options,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.priority",
							"Preference for promoting this node among equally complete standbys.",
							"Higher is preferred; 0 means never promote this node.",
							&pgrepl_priority,
							100,
							0,
							1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.heartbeat_interval",
							"Time between two heartbeats to every peer.",
							NULL,
							&pgrepl_heartbeat_interval,
							200,
							10,
							60 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pgrepl.failover",
							 "Whether this node may stand for election when the primary fails.",
							 "Off, it never becomes a candidate; it still votes for others.",
							 &pgrepl_failover,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.failover_timeout",
							"Time without a healthy primary after which standbys elect a new one.",
							"The primary stops committing after two thirds of it without a majority.",
							&pgrepl_failover_timeout,
							1500,
							100,
							10 * 60 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.maximum_lag_on_failover",
							"Most WAL a standby may lack and still be promoted.",
							"Measured against the last WAL position the primary reported.",
							&pgrepl_maximum_lag_on_failover,
							16,
							0,
							INT_MAX / 2,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pgrepl.synchronous_mode",
							 "How the primary replicates commits: asynchronously, or to a quorum of standbys.",
							 "With quorum, the primary manages synchronous_standby_names so that no acknowledged commit is lost by a failover; quorum_available also keeps writing with too few standbys once the lost ones are marked unelectable. Set it alike on every node.",
							 &pgrepl_synchronous_mode,
							 PGREPL_SYNC_MODE_OFF,
							 synchronous_mode_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.async_rpo_limit",
							"Most committed data, in time, a failover may lose; 0 means no limit.",
							"While no electable standby has flushed WAL younger than this, commits on the primary wait, and fail after waiting as long again.",
							&pgrepl_async_rpo_limit,
							0,
							0,
							3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pgrepl.database",
							   "Database the pgrepl background worker connects to.",
							   NULL,
							   &pgrepl_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.monitor_interval",
							"Time between two samples of the replication state.",
							NULL,
							&pgrepl_monitor_interval,
							1000,
							10,
							60 * 60 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.lag_history_size",
							"Number of lag samples kept in shared memory for each standby.",
							"At the default monitor interval, 3600 samples are one hour of history.",
							&pgrepl_lag_history_size,
							3600,
							10,
							86400,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgrepl.http_port",
							"TCP port of the HTTP health and metrics endpoint.",
							"0 turns the endpoint off.",
							&pgrepl_http_port,
							0,
							0,
							65535,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pgrepl.http_listen_addresses",
							   "Addresses the HTTP endpoint listens on.",
							   "A comma-separated list of host names or addresses; \"*\" means every interface.",
							   &pgrepl_http_listen_addresses,
							   "localhost",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   check_http_listen_addresses, NULL, NULL);

	DefineCustomStringVariable("pgrepl.rejoin_command",
							   "Command that turns this node, once replaced as primary, into a standby of the new primary.",
							   "Run detached by the monitor; it is expected to stop the server. Empty: the status note says what to run.",
							   &pgrepl_rejoin_command,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   check_rejoin_command, NULL, NULL);

	pgrepl_reserve_guc_prefix();
}

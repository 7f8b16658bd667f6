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

#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"

#include "compat.h"
#include "settings.h"

char	   *pgrepl_node_name = NULL;
char	   *pgrepl_database = NULL;
int			pgrepl_monitor_interval = 1000;
int			pgrepl_lag_history_size = 3600;

/*
 * A node name is what peers, application_name and replication slots know a
 * node by, so it must be usable as all three: a non-empty string of
 * lowercase letters, digits and underscores that fits in a NAME.  Those are
 * exactly the characters a physical replication slot name may contain.
 */
static bool
node_name_is_valid(const char *name)
{
	const char *p;

	if (name[0] == '\0' || strlen(name) >= NAMEDATALEN)
		return false;
	for (p = name; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	}
	return true;
}

/* Empty means "derive a name"; anything else must be a valid node name. */
static bool
check_node_name(char **newval, void **extra, GucSource source)
{
	if (**newval == '\0' || node_name_is_valid(*newval))
		return true;

	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("A node name consists of lowercase letters, digits and underscores, at most %d characters.",
						NAMEDATALEN - 1);
	return false;
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
	else if (cluster_name && node_name_is_valid(cluster_name))
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

	pgrepl_reserve_guc_prefix();
}

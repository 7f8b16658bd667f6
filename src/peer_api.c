/*-------------------------------------------------------------------------
 *
 * peer_api.c
 *	  SQL functions of the cluster: what peers call, and what admins call to
 *	  change the membership.
 *
 * pgrepl.heartbeat() is what every monitor asks of every peer; it answers
 * from this node's live state, so that it is right even before the local
 * monitor's first sample.  pgrepl.register_node() and
 * pgrepl.unregister_node() change pgrepl.members on the primary; standbys
 * call register_node() through their monitor to join.  None of them is
 * executable by PUBLIC (see the install script).  What this node knows of
 * its peers is shown by pgrepl.nodes (views.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "replication/walreceiver.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "members.h"
#include "state.h"

PG_FUNCTION_INFO_V1(pgrepl_heartbeat);
PG_FUNCTION_INFO_V1(pgrepl_register_node);
PG_FUNCTION_INFO_V1(pgrepl_unregister_node);

#define HEARTBEAT_COLS	6

/* This node's role as its peers should see it, from its live state. */
static PgreplRole
my_role(void)
{
	if (pgrepl_node_kind == PGREPL_KIND_WITNESS)
		return PGREPL_ROLE_WITNESS;
	return RecoveryInProgress() ? PGREPL_ROLE_STANDBY : PGREPL_ROLE_PRIMARY;
}

/*
 * This node's WAL position as an election compares it: what is flushed on
 * a primary; on a standby, what it received or replayed, whichever is
 * further.
 */
static XLogRecPtr
my_wal_lsn(TimeLineID *tli)
{
	XLogRecPtr	replay;
	XLogRecPtr	received;
	TimeLineID	received_tli;

	if (!RecoveryInProgress())
		return pgrepl_flush_lsn(tli);

	replay = GetXLogReplayRecPtr(tli);
	received = GetWalRcvFlushRecPtr(NULL, &received_tli);
	if (received > replay && received_tli >= *tli)
	{
		*tli = received_tli;
		return received;
	}
	return replay;
}

/* Raise an error unless name is a valid node name. */
static void
check_node_name(const char *name)
{
	if (!pgrepl_node_name_is_valid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid node name \"%s\"", name),
				 errdetail("A node name consists of lowercase letters, digits and underscores, at most %d characters.",
						   NAMEDATALEN - 1)));
}

/* Membership changes are made on the primary, whence WAL carries them. */
static void
check_primary(const char *what)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot %s on a standby", what),
				 errhint("Call this function on the primary.")));
}

/*
 * pgrepl.heartbeat(sender text): this node's name, kind, role, timeline,
 * WAL position and priority, for the peer called sender.
 */
Datum
pgrepl_heartbeat(PG_FUNCTION_ARGS)
{
	char	   *sender = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TupleDesc	tupdesc;
	Datum		values[HEARTBEAT_COLS];
	bool		nulls[HEARTBEAT_COLS] = {0};
	TimeLineID	tli = 0;
	XLogRecPtr	lsn;
	PgreplRole	role = my_role();

	check_node_name(sender);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	lsn = my_wal_lsn(&tli);

	values[0] = CStringGetTextDatum(pgrepl_state_node_name());
	values[1] = CStringGetTextDatum(pgrepl_kind_name(pgrepl_node_kind));
	values[2] = CStringGetTextDatum(pgrepl_role_name(role));
	values[3] = Int32GetDatum((int32) tli);
	values[4] = LSNGetDatum(lsn);
	nulls[3] = nulls[4] = (role == PGREPL_ROLE_WITNESS);
	values[5] = Int32GetDatum(pgrepl_priority);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * pgrepl.register_node(node_name, conninfo, kind): add a member, or change
 * how it is reached.  Also what a standby's monitor calls to join.
 */
Datum
pgrepl_register_node(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *kind_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	PgreplNodeKind kind;
	PQconninfoOption *options;
	char	   *err = NULL;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	Oid			change_types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		change_values[3];

	check_node_name(name);
	if (!pgrepl_kind_from_name(kind_name, &kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid node kind \"%s\"", kind_name),
				 errhint("A node is either \"data\" or \"witness\".")));
	if (conninfo[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("connection string of node \"%s\" is empty", name),
				 errhint("Peers need it to reach the node.")));
	if (strlen(conninfo) >= PGREPL_CONNINFO_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("connection string of node \"%s\" is too long", name),
				 errdetail("It may have at most %d bytes.",
						   PGREPL_CONNINFO_LEN - 1)));

	/* libpq's message may quote the string, password and all: not shown */
	options = PQconninfoParse(conninfo, &err);
	if (options == NULL)
	{
		if (err)
			PQfreemem(err);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for node \"%s\"", name),
				 errdetail("The string is not a valid libpq connection string.")));
	}
	PQconninfoFree(options);

	check_primary("register a node");
	change_values[0] = CStringGetTextDatum(name);
	change_values[1] = CStringGetTextDatum(kind_name);
	change_values[2] = CStringGetTextDatum(conninfo);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT count(*) FROM pgrepl.members "
							  "WHERE node_name <> $1",
							  1, types, values, NULL, true, 0) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		int64		count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc,
														1, &isnull));

		if (count >= PGREPL_MAX_NODES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a pgrepl cluster has at most %d nodes",
							PGREPL_MAX_NODES)));
	}
	/*
	 * Peers may add a member (a standby joining), but only a superuser may
	 * change how an existing one is reached: otherwise whoever holds the
	 * peer role's password could point the cluster at a node of its own.
	 */
	if (!superuser_arg(GetOuterUserId()))
	{
		if (SPI_execute_with_args("SELECT 1 FROM pgrepl.members "
								  "WHERE node_name = $1 AND "
								  "      (kind, conninfo) IS DISTINCT FROM ($2, $3)",
								  3, change_types, change_values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read pgrepl.members");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to change node \"%s\"", name),
					 errdetail("Only superusers may change how a registered node is reached.")));
	}
	pgrepl_members_upsert(name, kind, conninfo,
						  GetUserNameFromId(GetOuterUserId(), false));
	SPI_finish();

	PG_RETURN_VOID();
}

/* pgrepl.unregister_node(node_name): remove a member. */
Datum
pgrepl_unregister_node(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	check_node_name(name);
	check_primary("unregister a node");
	if (strcmp(name, pgrepl_state_node_name()) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot unregister node \"%s\" because it is the primary",
						name),
				 errhint("Move the primary to another node first.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("DELETE FROM pgrepl.members WHERE node_name = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from pgrepl.members");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("node \"%s\" is not a member of the cluster", name)));
	pgrepl_event_insert(name, "node unregistered", NULL);
	SPI_finish();

	PG_RETURN_VOID();
}

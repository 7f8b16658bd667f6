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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "sample.h"
#include "members.h"
#include "rejoin.h"
#include "state.h"
#include "vote.h"

PG_FUNCTION_INFO_V1(pgrepl_heartbeat);
PG_FUNCTION_INFO_V1(pgrepl_request_vote);
PG_FUNCTION_INFO_V1(pgrepl_register_node);
PG_FUNCTION_INFO_V1(pgrepl_unregister_node);
PG_FUNCTION_INFO_V1(pgrepl_copy_members);
PG_FUNCTION_INFO_V1(pgrepl_share_pause);
PG_FUNCTION_INFO_V1(pgrepl_share_marks);

/* pgrepl.heartbeat()'s columns: 9 since 1.3 (rejoined_term), 8 before. */
#define HEARTBEAT_COLS	9
#define VOTE_COLS		3

/* This node's role as its peers should see it, from its live state. */
static PgreplRole
my_role(void)
{
	if (pgrepl_node_kind == PGREPL_KIND_WITNESS)
		return PGREPL_ROLE_WITNESS;
	return RecoveryInProgress() ? PGREPL_ROLE_STANDBY : PGREPL_ROLE_PRIMARY;
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
 * Whether this node is a primary leading the current term: elected in it
 * (or its first primary), not deposed.  Its lease does not matter here:
 * peers that hear a leader without a lease may well be what renews it.
 */
static bool
i_lead(const PgreplTermState *ts)
{
	return my_role() == PGREPL_ROLE_PRIMARY && pgrepl_term_led(ts);
}

/*
 * The row type of pgrepl.heartbeat(), built once per backend.  Every peer
 * calls the function several times a second on a connection it keeps, and
 * building the type from the catalog (get_call_result_type) was most of
 * the function's own cost.  The copy is kept as long as the function's
 * pg_proc row is the same one, checked by its xmin and position as PL/pgSQL
 * checks its function cache: an extension update or re-creation that
 * redefines the function gets a fresh type.
 */
static TupleDesc
heartbeat_tupdesc(FunctionCallInfo fcinfo)
{
	static TupleDesc cached = NULL;
	static Oid	cached_fn = InvalidOid;
	static TransactionId cached_xmin = InvalidTransactionId;
	static ItemPointerData cached_tid;
	Oid			fn = fcinfo->flinfo->fn_oid;
	HeapTuple	proctup;
	TransactionId xmin;
	ItemPointerData tid;
	TupleDesc	tupdesc;
	MemoryContext old;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(proctup))
		elog(ERROR, "cache lookup failed for function %u", fn);
	xmin = HeapTupleHeaderGetRawXmin(proctup->t_data);
	tid = proctup->t_self;
	ReleaseSysCache(proctup);

	if (cached != NULL && cached_fn == fn && cached_xmin == xmin &&
		ItemPointerEquals(&cached_tid, &tid))
		return cached;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/* 1.2 declares all but the last column. */
	if (tupdesc->natts != HEARTBEAT_COLS && tupdesc->natts != HEARTBEAT_COLS - 1)
		elog(ERROR, "pgrepl.heartbeat() returns %d columns, this library %d",
			 tupdesc->natts, HEARTBEAT_COLS);
	old = MemoryContextSwitchTo(TopMemoryContext);
	tupdesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(old);

	if (cached != NULL)
		FreeTupleDesc(cached);
	cached = tupdesc;
	cached_fn = fn;
	cached_xmin = xmin;
	cached_tid = tid;
	return cached;
}

/*
 * pgrepl.heartbeat(sender, sender_term, sender_leads): this node's name,
 * kind, role, timeline, WAL position, priority, term, whether it leads
 * that term, and since 1.3 the term of the leader it last rejoined (or
 * NULL), for the peer called sender.  The library answers the function as
 * 1.2 declares it too, until the extension is updated.  The sender's term
 * is adopted if it is higher; a heartbeat from the primary leading the
 * current term is contact with a healthy primary, which keeps this node
 * from voting for a successor, and answering it is what renews that
 * primary's lease.
 */
Datum
pgrepl_heartbeat(PG_FUNCTION_ARGS)
{
	char	   *sender = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		sender_term = PG_GETARG_INT64(1);
	bool		sender_leads = PG_GETARG_BOOL(2);
	TupleDesc	tupdesc;
	Datum		values[HEARTBEAT_COLS];
	bool		nulls[HEARTBEAT_COLS] = {0};
	TimeLineID	tli = 0;
	XLogRecPtr	lsn;
	PgreplRole	role = my_role();
	PgreplTermState ts;
	uint64		rejoined = pgrepl_rejoined_term();

	pgrepl_check_node_name(sender);
	if (sender_term < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid term " INT64_FORMAT, sender_term)));
	tupdesc = heartbeat_tupdesc(fcinfo);

	/* Only members move terms along, or count as a primary heard. */
	if (pgrepl_state_is_member(sender))
	{
		pgrepl_observe_term((uint64) sender_term);
		pgrepl_term_state(&ts);
		if (sender_leads && (uint64) sender_term >= ts.term)
			pgrepl_note_primary_contact(GetCurrentTimestamp());
	}
	else
		pgrepl_term_state(&ts);

	lsn = pgrepl_current_wal(&tli);

	values[0] = CStringGetTextDatum(pgrepl_state_node_name());
	values[1] = CStringGetTextDatum(pgrepl_kind_name(pgrepl_node_kind));
	values[2] = CStringGetTextDatum(pgrepl_role_name(role));
	values[3] = Int32GetDatum((int32) tli);
	values[4] = LSNGetDatum(lsn);
	nulls[3] = nulls[4] = (role == PGREPL_ROLE_WITNESS);
	values[5] = Int32GetDatum(pgrepl_priority);
	values[6] = Int64GetDatum((int64) ts.term);
	values[7] = BoolGetDatum(i_lead(&ts));
	values[8] = Int64GetDatum((int64) rejoined);
	nulls[8] = (rejoined == 0);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * pgrepl.request_vote(candidate, term, timeline, lsn, dry_run): this node's
 * vote for candidate in term, under the rules of vote.c, with this node's
 * term and, when refused, why.  A dry run (the pre-vote) changes nothing.
 */
Datum
pgrepl_request_vote(PG_FUNCTION_ARGS)
{
	PgreplVoteRequest req;
	char	   *candidate = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		term = PG_GETARG_INT64(1);
	int32		timeline = PG_GETARG_INT32(2);
	TupleDesc	tupdesc;
	Datum		values[VOTE_COLS];
	bool		nulls[VOTE_COLS] = {0};
	char		reason[256];
	uint64		my_term;
	bool		granted;

	pgrepl_check_node_name(candidate);
	if (term <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid term " INT64_FORMAT, term)));
	if (timeline <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timeline %d", timeline)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	req.candidate = candidate;
	req.term = (uint64) term;
	req.timeline = (TimeLineID) timeline;
	req.lsn = PG_GETARG_LSN(3);
	req.dry_run = PG_GETARG_BOOL(4);

	granted = pgrepl_decide_vote(&req, &my_term, reason, sizeof(reason));
	if (!req.dry_run)
		ereport(LOG,
				(errmsg("pgrepl %s vote for node \"%s\" in term " UINT64_FORMAT,
						granted ? "granted its" : "refused its", candidate, req.term),
				 granted ? 0 : errdetail_internal("%s", reason)));

	values[0] = Int64GetDatum((int64) my_term);
	values[1] = BoolGetDatum(granted);
	values[2] = granted ? (Datum) 0 : CStringGetTextDatum(reason);
	nulls[2] = granted;

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

	pgrepl_check_node_name(name);
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

	/*
	 * A standby that joins streams through a slot named after it, which it
	 * asks for as soon as it follows this primary: make it now.
	 */
	if (kind == PGREPL_KIND_DATA && strcmp(name, pgrepl_state_node_name()) != 0)
		pgrepl_ensure_slot(name);
	SPI_finish();

	PG_RETURN_VOID();
}

/*
 * pgrepl.unregister_node(node_name): remove a member, and the slot this
 * primary keeps for it.
 */
Datum
pgrepl_unregister_node(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	pgrepl_check_node_name(name);
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
	pgrepl_event_insert(name, "node unregistered", NULL, NULL, 0);

	/* Its slot would keep WAL here forever. */
	if (SPI_execute_with_args("SELECT pg_catalog.pg_drop_replication_slot(slot_name) "
							  "FROM pg_catalog.pg_replication_slots "
							  "WHERE slot_name = $1 AND slot_type = 'physical' AND NOT active",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not drop the replication slot of node \"%s\"", name);
	SPI_finish();

	PG_RETURN_VOID();
}

/*
 * pgrepl.copy_members(leader, term, node_names, kinds, conninfos): on a
 * witness, replace the members' list with the leader's.  A witness holds no
 * replicated data, so the list that WAL brings to standbys comes to it this
 * way, from the monitor of the primary leading the current term.  A list
 * sent for a term behind this node's is refused: it may come from a primary
 * that was deposed without knowing it.
 */
Datum
pgrepl_copy_members(PG_FUNCTION_ARGS)
{
	char	   *leader = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		term = PG_GETARG_INT64(1);
	ArrayType  *arrays[3];
	int			nitems[3];
	Datum	   *names;
	bool	   *nulls;
	bool		leader_listed = false;
	PgreplTermState ts;
	Oid			types[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[3];
	int			i;

	pgrepl_check_node_name(leader);
	if (term <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid term " INT64_FORMAT, term)));
	if (pgrepl_node_kind != PGREPL_KIND_WITNESS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is not a witness", pgrepl_state_node_name()),
				 errdetail("Data nodes receive the members' list through WAL.")));

	for (i = 0; i < 3; i++)
	{
		arrays[i] = PG_GETARG_ARRAYTYPE_P(i + 2);
		if (ARR_NDIM(arrays[i]) > 1 || array_contains_nulls(arrays[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the members' list must be given as one-dimensional arrays without nulls")));
		nitems[i] = ArrayGetNItems(ARR_NDIM(arrays[i]), ARR_DIMS(arrays[i]));
	}
	if (nitems[0] != nitems[1] || nitems[0] != nitems[2])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the arrays of the members' list differ in length")));
	if (nitems[0] > PGREPL_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a pgrepl cluster has at most %d nodes",
						PGREPL_MAX_NODES)));

	deconstruct_array(arrays[0], TEXTOID, -1, false, TYPALIGN_INT,
					  &names, &nulls, &nitems[0]);
	for (i = 0; i < nitems[0]; i++)
	{
		char	   *name = TextDatumGetCString(names[i]);

		pgrepl_check_node_name(name);
		if (strcmp(name, leader) == 0)
			leader_listed = true;
	}
	if (!leader_listed)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node \"%s\" is not in the members' list it sent", leader)));

	pgrepl_observe_term((uint64) term);
	pgrepl_term_state(&ts);
	if ((uint64) term < ts.term)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("term " INT64_FORMAT " of node \"%s\" is behind term " UINT64_FORMAT " of this witness",
						term, leader, ts.term),
				 errdetail("A primary of an earlier term may have been replaced.")));

	/* The table's constraints check kinds and connection strings. */
	for (i = 0; i < 3; i++)
		values[i] = PointerGetDatum(arrays[i]);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("DELETE FROM pgrepl.members "
							  "WHERE node_name <> ALL ($1)",
							  3, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from pgrepl.members");
	if (SPI_execute_with_args("INSERT INTO pgrepl.members AS m "
							  "  (node_name, kind, conninfo) "
							  "SELECT * FROM unnest($1, $2, $3) "
							  "ON CONFLICT (node_name) DO UPDATE "
							  "  SET kind = EXCLUDED.kind, "
							  "      conninfo = EXCLUDED.conninfo "
							  "  WHERE (m.kind, m.conninfo) IS DISTINCT FROM "
							  "        (EXCLUDED.kind, EXCLUDED.conninfo)",
							  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write pgrepl.members");
	SPI_finish();

	PG_RETURN_VOID();
}

/*
 * pgrepl.share_pause(sender, paused, version): a peer passes on the pause
 * setting it knows; this node takes it if it is newer than its own, and
 * answers with the setting it has now, so that the sender learns of a
 * newer one too.  Members only: anyone else is answered and ignored.
 */
Datum
pgrepl_share_pause(PG_FUNCTION_ARGS)
{
	char	   *sender = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		paused = PG_GETARG_BOOL(1);
	int64		version = PG_GETARG_INT64(2);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {0};
	PgreplTermState ts;

	pgrepl_check_node_name(sender);
	if (version <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid version " INT64_FORMAT " of the pause setting",
						version)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (pgrepl_state_is_member(sender) &&
		pgrepl_take_pause(paused, (uint64) version))
		ereport(LOG,
				(errmsg("pgrepl failover %s cluster-wide, as node \"%s\" passed on",
						paused ? "paused" : "resumed", sender)));

	pgrepl_term_state(&ts);
	values[0] = BoolGetDatum(ts.failover_paused);
	values[1] = Int64GetDatum((int64) ts.pause_version);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * pgrepl.share_marks(sender, term, seq, node_names): the primary of term
 * passes on the standbys it marked unelectable (quorum_available mode, see
 * syncrep.c); this node takes the set if its version is newer than the one
 * it holds, on disk before answering, and answers with the version it
 * holds now, which is how the primary counts the voters that hold it.
 * Members only: anyone else is answered and ignored.
 */
Datum
pgrepl_share_marks(PG_FUNCTION_ARGS)
{
	char	   *sender = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		term = PG_GETARG_INT64(1);
	int64		seq = PG_GETARG_INT64(2);
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(3);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {0};
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	const char *names[PGREPL_MAX_NODES];
	PgreplTermState ts;
	int			i;

	pgrepl_check_node_name(sender);
	if (term <= 0 || seq <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid version " INT64_FORMAT "." INT64_FORMAT " of the unelectable set",
						term, seq)));
	if (ARR_NDIM(array) > 1 || array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the unelectable set must be a one-dimensional array without nulls")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	if (n > PGREPL_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a pgrepl cluster has at most %d nodes",
						PGREPL_MAX_NODES)));
	for (i = 0; i < n; i++)
	{
		names[i] = TextDatumGetCString(elems[i]);
		pgrepl_check_node_name(names[i]);
	}
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (pgrepl_state_is_member(sender))
	{
		pgrepl_observe_term((uint64) term);
		if (pgrepl_take_marks((uint64) term, (uint64) seq, names, n))
			ereport(LOG,
					(errmsg("pgrepl took the unelectable set of node \"%s\", term " INT64_FORMAT ": %d node(s)",
							sender, term, n)));
	}

	pgrepl_term_state(&ts);
	values[0] = Int64GetDatum((int64) ts.marks_term);
	values[1] = Int64GetDatum((int64) ts.marks_seq);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*-------------------------------------------------------------------------
 *
 * members.c
 *	  The membership table and the event history, through SPI.
 *
 * pgrepl.members lists the nodes of the cluster and pgrepl.events tells
 * its story.  Both are ordinary tables on the primary, so WAL carries them
 * to every standby and every node reads the same list.  They are written
 * only on the primary: by the register/unregister functions, and by the
 * monitor of the primary for the primary itself.
 *
 * The monitor reads and writes them in short transactions of its own.  A
 * transaction that fails (the extension was just dropped, a lock could not
 * be had within lock_timeout) is logged and rolled back, and the monitor
 * carries on with what it knew: a tick must never wait long on a user's
 * lock, nor die of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "replication/slot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "members.h"

static const char *const role_names[] = {
	[PGREPL_ROLE_PRIMARY] = "primary",
	[PGREPL_ROLE_STANDBY] = "standby",
	[PGREPL_ROLE_WITNESS] = "witness"
};

/* The name of a role, as heartbeats and the views spell it. */
const char *
pgrepl_role_name(PgreplRole role)
{
	return role_names[role];
}

/* The role a name stands for; false if none. */
bool
pgrepl_role_from_name(const char *name, PgreplRole *role)
{
	int			i;

	for (i = 0; i < lengthof(role_names); i++)
	{
		if (strcmp(role_names[i], name) == 0)
		{
			*role = (PgreplRole) i;
			return true;
		}
	}
	return false;
}

/* Whether pgrepl.members has the synchronous column (since 1.1). */
static bool
has_synchronous_column(void)
{
	Oid			nsp = get_namespace_oid("pgrepl", false);
	Oid			relid = get_relname_relid("members", nsp);

	return get_attnum(relid, "synchronous") != InvalidAttrNumber;
}

/* Whether the extension's tables exist in this database. */
static bool
tables_exist(void)
{
	Oid			nsp = get_namespace_oid("pgrepl", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("members", nsp));
}

/*
 * Run fn(arg) in a transaction of its own with SPI connected.  Returns
 * false, after logging why, if it failed; the transaction is then rolled
 * back and the monitor goes on.
 */
bool
pgrepl_in_transaction(const char *what, void (*fn) (void *), void *arg)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, what);

		fn(arg);

		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();

		ereport(LOG,
				(errmsg("pgrepl monitor could not %s: %s", what, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();

	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller);
	return ok;
}

typedef struct LoadArgs
{
	PgreplMember *members;
	int			max;
	int			count;
	bool		installed;
} LoadArgs;

static void
load_members(void *arg)
{
	LoadArgs   *args = arg;
	uint64		i;

	args->count = 0;
	args->installed = tables_exist();
	if (!args->installed)
		return;

	/* Version 1.0 of the table has no synchronous column. */
	if (SPI_execute(has_synchronous_column() ?
					"SELECT node_name, kind, conninfo, synchronous "
					"FROM pgrepl.members ORDER BY node_name" :
					"SELECT node_name, kind, conninfo, true "
					"FROM pgrepl.members ORDER BY node_name",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgrepl.members");

	for (i = 0; i < SPI_processed && args->count < args->max; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		PgreplMember *m = &args->members[args->count];
		char	   *name = SPI_getvalue(tuple, desc, 1);
		char	   *kind = SPI_getvalue(tuple, desc, 2);
		char	   *conninfo = SPI_getvalue(tuple, desc, 3);
		bool		isnull;
		Datum		synchronous = SPI_getbinval(tuple, desc, 4, &isnull);

		strlcpy(m->name, name, sizeof(m->name));
		if (!pgrepl_kind_from_name(kind, &m->kind))
			m->kind = PGREPL_KIND_DATA;
		strlcpy(m->conninfo, conninfo, sizeof(m->conninfo));
		m->synchronous = isnull || DatumGetBool(synchronous);
		args->count++;
	}
}

/*
 * Read pgrepl.members into members (room for max).  Returns the number of
 * members, or -1 if it could not be read; *installed says whether the
 * extension is installed at all in pgrepl.database.
 */
int
pgrepl_members_load(PgreplMember *members, int max, bool *installed)
{
	LoadArgs	args = {members, max, 0, false};

	if (!pgrepl_in_transaction("read pgrepl.members", load_members, &args))
		return -1;
	*installed = args.installed;
	return args.count;
}

/*
 * Add a member, or update its kind and connection string, and record that
 * in the history; nothing when it is already listed as given.  Runs in the
 * caller's transaction, with SPI connected.  Returns true if it changed.
 */
bool
pgrepl_members_upsert(const char *name, PgreplNodeKind kind,
					  const char *conninfo, const char *by)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		detail[NAMEDATALEN + 64];

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(pgrepl_kind_name(kind));
	values[2] = CStringGetTextDatum(conninfo);

	if (SPI_execute_with_args("INSERT INTO pgrepl.members AS m "
							  "  (node_name, kind, conninfo) "
							  "VALUES ($1, $2, $3) "
							  "ON CONFLICT (node_name) DO UPDATE "
							  "  SET kind = EXCLUDED.kind, "
							  "      conninfo = EXCLUDED.conninfo "
							  "  WHERE (m.kind, m.conninfo) IS DISTINCT FROM "
							  "        (EXCLUDED.kind, EXCLUDED.conninfo)",
							  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write pgrepl.members");

	if (SPI_processed == 0)
		return false;

	snprintf(detail, sizeof(detail), "%s node, registered by %s",
			 pgrepl_kind_name(kind), by);
	pgrepl_event_insert(name, "node registered", NULL, detail, 0);
	return true;
}

/*
 * Make the physical replication slot a data member streams through, named
 * after it, unless it exists: a primary keeps WAL for every standby of the
 * cluster, also while one is down.  Runs in the caller's transaction, with
 * SPI connected, on the primary.
 */
void
pgrepl_ensure_slot(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	/*
	 * The leader's monitor asks every tick, and the slot is nearly always
	 * there: look in shared memory first.  Planning the query below over
	 * pg_replication_slots cost the monitor ~1.3M instructions a tick.
	 */
	if (SearchNamedReplicationSlot(name, true) != NULL)
		return;

	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT pg_catalog.pg_create_physical_replication_slot($1, true) "
							  "WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots "
							  "                  WHERE slot_name = $1)",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not create replication slot \"%s\"", name);
}

/*
 * The WAL position the physical slot named name holds, and whether a
 * process streams through it (active may be NULL); false if there is no
 * such slot or it holds no WAL.  Reads shared memory only, so that the
 * monitor may ask every tick, outside any transaction.
 */
bool
pgrepl_slot_position(const char *name, XLogRecPtr *lsn, bool *active)
{
	bool		found = false;
	int			i;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots && !found; i++)
	{
		ReplicationSlot *slot = &ReplicationSlotCtl->replication_slots[i];

		if (!slot->in_use)
			continue;
		SpinLockAcquire(&slot->mutex);
		if (SlotIsPhysical(slot) && strcmp(NameStr(slot->data.name), name) == 0)
		{
			found = !XLogRecPtrIsInvalid(slot->data.restart_lsn);
			*lsn = slot->data.restart_lsn;
			if (active)
				*active = (slot->active_pid != 0);
		}
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);
	return found;
}

/*
 * Append an event to pgrepl.events, with a term if term is not NULL, that
 * happened at "at", or now if that is 0: an event of a node that could not
 * write it at once keeps its time.  Runs in the caller's transaction, with
 * SPI connected, on the primary.
 */
void
pgrepl_event_insert(const char *node, const char *event, const uint64 *term,
					const char *detail, TimestampTz at)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(node);
	values[1] = CStringGetTextDatum(event);
	values[2] = term ? Int64GetDatum((int64) *term) : (Datum) 0;
	nulls[2] = term ? ' ' : 'n';
	values[3] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	nulls[3] = detail ? ' ' : 'n';
	values[4] = TimestampTzGetDatum(at != 0 ? at : GetCurrentTransactionStartTimestamp());

	if (SPI_execute_with_args("INSERT INTO pgrepl.events "
							  "  (node_name, event, term, detail, event_time) "
							  "VALUES ($1, $2, $3, $4, $5)",
							  5, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write pgrepl.events");
}

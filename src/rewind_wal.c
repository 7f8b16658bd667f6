/*-------------------------------------------------------------------------
 *
 * rewind_wal.c
 *	  Keep the WAL that pg_rewind needs once this primary is replaced.
 *
 * A replaced primary rejoins with pg_rewind, which reads the old primary's
 * own WAL back from the point where the new primary's timeline forked off
 * to the last checkpoint before that point, and on from that checkpoint's
 * redo pointer.  PostgreSQL keeps WAL back to the redo pointer of its
 * latest checkpoint only (and what slots and wal_keep_size hold), and a
 * replaced primary checkpoints at least once after the fork: when it is
 * stopped to be rewound, or when pg_rewind recovers it from a crash.  That
 * checkpoint removes the WAL pg_rewind needs whenever the fork lies in an
 * earlier segment, which a switchover under write load makes likely.
 *
 * So a primary that leads its term keeps a physical slot of its own,
 * pgrepl_rewind, back at the redo pointer of the newest checkpoint that
 * precedes every point a standby's timeline could fork at.  A standby
 * promoted forks at the end of the WAL it has, which is at or after what
 * it had flushed, which is at or after the restart_lsn of the slot it
 * streamed through here.  The slot therefore follows the newest checkpoint
 * written before the oldest position among the members' slots.  Those
 * slots keep the WAL from that position on anyway: what pgrepl_rewind adds
 * is the WAL between that checkpoint's redo pointer and the oldest standby,
 * at most about one checkpoint cycle.
 *
 * The control file in shared memory gives a checkpoint's redo pointer, not
 * where its record lies.  When the monitor first sees a checkpoint it notes
 * the WAL insert position of that moment, which the record precedes, and
 * moves the slot only to a checkpoint whose noted position precedes the
 * oldest member slot.  The slot thus lags at most a tick more than needed.
 *
 * Once the node no longer leads, the slot stays where it is.  pg_rewind
 * removes the target's slots, but a node that becomes a standby without a
 * rewind (pg_rewind found nothing to undo, or an operator demoted it by
 * hand) keeps it, and the slots it kept for the other members as primary.
 * Nothing streams through those on a standby, and they would keep WAL
 * there for ever, so the monitor of a standby drops every inactive slot
 * named after a member, and pgrepl_rewind; the node makes them again when
 * it is promoted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "members.h"
#include "rewind_wal.h"

/* How many checkpoints to remember: they age out as standbys catch up. */
#define CHECKPOINTS_SEEN 16

/* How long to wait before trying again to make the slot, in ms. */
#define CREATE_RETRY_MS 60000

/* A checkpoint the monitor saw complete. */
typedef struct CheckpointSeen
{
	XLogRecPtr	redo;			/* its redo pointer */
	XLogRecPtr	before;			/* its record lies before this position */
} CheckpointSeen;

/* Oldest first; local to the monitor. */
static CheckpointSeen seen[CHECKPOINTS_SEEN];
static int	nseen = 0;

static TimestampTz next_create = 0;

/* Note the latest checkpoint if it is new. */
static void
note_checkpoint(void)
{
	XLogRecPtr	redo;
	TimeLineID	tli;

	GetOldestRestartPoint(&redo, &tli);
	if (nseen > 0 && seen[nseen - 1].redo == redo)
		return;
	if (nseen == CHECKPOINTS_SEEN)
	{
		/* Forget the oldest: the slot then lags behind less, never ahead. */
		memmove(&seen[0], &seen[1], sizeof(seen[0]) * (nseen - 1));
		nseen--;
	}
	seen[nseen].redo = redo;
	seen[nseen].before = GetXLogInsertRecPtr();
	nseen++;
}

static void
create_slot(void *arg)
{
	pgrepl_ensure_slot(PGREPL_REWIND_SLOT);
}

static void
advance_slot(void *arg)
{
	XLogRecPtr	target = *(XLogRecPtr *) arg;
	Oid			types[2] = {TEXTOID, LSNOID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(PGREPL_REWIND_SLOT);
	values[1] = LSNGetDatum(target);
	if (SPI_execute_with_args("SELECT pg_catalog.pg_replication_slot_advance($1, $2)",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not advance replication slot \"%s\"",
			 PGREPL_REWIND_SLOT);
}

/*
 * On a primary that leads its term, every tick: make the slot if it is
 * missing (it reserves WAL from the latest checkpoint's redo pointer, so
 * it is right from the start), and move it on to the newest checkpoint
 * that precedes every member's slot.
 */
void
rewind_wal_keep(const PgreplPeerView *views, int nviews)
{
	XLogRecPtr	held;
	XLogRecPtr	oldest;
	int			keep = -1;
	int			i;

	if (RecoveryInProgress())
		return;

	note_checkpoint();
	if (!pgrepl_slot_position(PGREPL_REWIND_SLOT, &held, NULL))
	{
		TimestampTz now = GetCurrentTimestamp();

		if (now < next_create)
			return;
		if (!pgrepl_in_transaction("create the replication slot for pg_rewind",
								   create_slot, NULL))
		{
			next_create = TimestampTzPlusMilliseconds(now, CREATE_RETRY_MS);
			return;
		}
		next_create = 0;
		if (!pgrepl_slot_position(PGREPL_REWIND_SLOT, &held, NULL))
			return;
	}

	oldest = GetXLogInsertRecPtr();
	for (i = 0; i < nviews; i++)
	{
		XLogRecPtr	lsn;

		if (!views[i].is_self && views[i].kind == PGREPL_KIND_DATA &&
			pgrepl_slot_position(views[i].name, &lsn, NULL))
			oldest = Min(oldest, lsn);
	}

	for (i = nseen - 1; i >= 0 && keep < 0; i--)
	{
		if (seen[i].before <= oldest)
			keep = i;
	}
	if (keep < 0)
		return;

	/* Older checkpoints will never be needed again. */
	memmove(&seen[0], &seen[keep], sizeof(seen[0]) * (nseen - keep));
	nseen -= keep;

	if (seen[0].redo > held)
	{
		XLogRecPtr	target = seen[0].redo;

		(void) pgrepl_in_transaction("advance the replication slot for pg_rewind",
									 advance_slot, &target);
	}
}

typedef struct DropArgs
{
	const char *names[PGREPL_MAX_NODES + 1];
	int			count;
} DropArgs;

static void
drop_slots(void *arg)
{
	DropArgs   *args = arg;
	Oid			types[1] = {TEXTOID};
	int			i;

	for (i = 0; i < args->count; i++)
	{
		Datum		values[1];

		values[0] = CStringGetTextDatum(args->names[i]);
		if (SPI_execute_with_args("SELECT pg_catalog.pg_drop_replication_slot(slot_name) "
								  "FROM pg_catalog.pg_replication_slots "
								  "WHERE slot_name = $1 AND slot_type = 'physical' AND NOT active",
								  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not drop replication slot \"%s\"", args->names[i]);
		if (SPI_processed > 0)
			ereport(LOG,
					(errmsg("dropped replication slot \"%s\", which this node kept while it was primary",
							args->names[i])));
	}
}

/*
 * On a standby, every tick: drop the slots this node kept as a primary,
 * which only hold WAL here.  An active one is left alone: something other
 * than pgrepl streams through it.
 */
void
rewind_wal_release(const PgreplPeerView *views, int nviews)
{
	DropArgs	args;
	XLogRecPtr	lsn;
	bool		active;
	int			i;

	if (!RecoveryInProgress())
		return;

	nseen = 0;
	args.count = 0;
	if (pgrepl_slot_position(PGREPL_REWIND_SLOT, &lsn, &active) && !active)
		args.names[args.count++] = PGREPL_REWIND_SLOT;
	for (i = 0; i < nviews && args.count < lengthof(args.names); i++)
	{
		if (!views[i].is_self && views[i].kind == PGREPL_KIND_DATA &&
			pgrepl_slot_position(views[i].name, &lsn, &active) && !active)
			args.names[args.count++] = views[i].name;
	}
	if (args.count > 0)
		(void) pgrepl_in_transaction("drop the replication slots of a former primary",
									 drop_slots, &args);
}

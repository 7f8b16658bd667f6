/*-------------------------------------------------------------------------
 *
 * walclock.c
 *	  The monitor's record of when this node's WAL reached each position,
 *	  from which it tells how old the oldest WAL a standby lacks is.
 *
 * PostgreSQL's own lag times (pg_stat_replication.replay_lag and friends)
 * are measured by the WAL sender when a standby's reply passes a position
 * it noted, so a standby that stops replaying, or stops answering at all,
 * shows a lag that stays put or vanishes exactly when it matters.  The
 * monitor instead notes its own WAL position at every tick; the lag of a
 * standby at position P is then the time since WAL beyond P came to exist,
 * which keeps growing for as long as the standby stays behind, whether or
 * not it replies.  Between two ticks, WAL is assumed to grow evenly, as the
 * WAL sender assumes between its own samples.
 *
 * The record is a ring of (position, time) pairs in the monitor's local
 * memory, one pair a tick, as many as pgrepl.lag_history_size; a lag older
 * than the ring is reported as the age of its oldest pair, a lower bound.
 * Positions only grow within a timeline: a new timeline, or a position that
 * goes backwards, starts a new record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "settings.h"
#include "walclock.h"

typedef struct WalClockPoint
{
	XLogRecPtr	lsn;
	TimestampTz time;
} WalClockPoint;

static WalClockPoint *ring = NULL;
static int	ring_size = 0;
static int	ring_first = 0;		/* index of the oldest point */
static int	ring_count = 0;
static TimeLineID ring_tli = 0;

/* The i-th oldest point. */
static const WalClockPoint *
point(int i)
{
	return &ring[(ring_first + i) % ring_size];
}

/*
 * Note that this node's WAL was at lsn on timeline tli at time "when".
 * Called once a tick with the node's current position.
 */
void
walclock_record(TimeLineID tli, XLogRecPtr lsn, TimestampTz when)
{
	if (ring == NULL)
	{
		ring_size = pgrepl_lag_history_size;
		ring = MemoryContextAlloc(TopMemoryContext,
								  sizeof(WalClockPoint) * ring_size);
	}

	if (tli != ring_tli ||
		(ring_count > 0 && lsn < point(ring_count - 1)->lsn))
	{
		ring_first = 0;
		ring_count = 0;
		ring_tli = tli;
	}

	if (ring_count == ring_size)
	{
		ring_first = (ring_first + 1) % ring_size;
		ring_count--;
	}
	ring[(ring_first + ring_count) % ring_size].lsn = lsn;
	ring[(ring_first + ring_count) % ring_size].time = when;
	ring_count++;
}

/*
 * How long before "now" WAL beyond lsn came to exist: 0 for a position at
 * or past the newest one recorded.  Requires a point recorded this tick.
 */
TimeOffset
walclock_age(XLogRecPtr lsn, TimestampTz now)
{
	const WalClockPoint *next;
	const WalClockPoint *prev;
	TimestampTz since;
	int			lo;
	int			hi;

	Assert(ring_count > 0);
	if (lsn >= point(ring_count - 1)->lsn)
		return 0;

	/* Binary search for the oldest point past lsn; the newest one is. */
	lo = 0;
	hi = ring_count - 1;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (point(mid)->lsn > lsn)
			hi = mid;
		else
			lo = mid + 1;
	}
	next = point(lo);

	if (lo == 0)
		since = next->time;		/* older than the record: a lower bound */
	else
	{
		prev = point(lo - 1);
		since = prev->time + (TimestampTz)
			((double) (next->time - prev->time) *
			 (double) (lsn - prev->lsn) / (double) (next->lsn - prev->lsn));
	}

	return Max(now - since, 0);
}

/*-------------------------------------------------------------------------
 *
 * syncrep.c
 *	  Quorum commit: the primary's synchronous_standby_names, kept by its
 *	  monitor.
 *
 * With pgrepl.synchronous_mode = quorum, a commit is acknowledged only once
 * enough standbys flushed it that every majority of voters holds it
 * (PROTOCOL.md, rule 6): synchronous_standby_names is ANY k of the data
 * standbys that did not opt out, with k = ceil(V/2) - 1 and V every voter,
 * witnesses included.  The primary itself holds the commit too, so k + 1
 * nodes do, and the V - k - 1 that may lack it are fewer than a majority.
 * An election needs a majority, and rule 3 makes the winner at least as
 * complete as every voter of it, so the winner holds every acknowledged
 * commit.
 *
 * Every standby is listed, reachable or not: k depends on the voters only,
 * so with too few standbys up, commits wait rather than lose their
 * guarantee (and the primary is fenced anyway once it lacks a majority).
 *
 * The leader's monitor writes the setting with ALTER SYSTEM and a reload
 * whenever the members change, and records each change in pgrepl.events.
 * A primary that has just started to lead may not commit before the
 * setting is in effect (its own value, and the checkpointer's flag that
 * makes backends wait at all): until then it counts as fenced.  When the
 * list changes on a running primary, WAL senders take the new one at their
 * next reload, a moment later; a commit acknowledged in that moment was
 * acknowledged under the previous membership's rule.
 *
 * quorum_available mode keeps writes going when too few standbys are left
 * to acknowledge: k may be lowered, but only to the number of electable
 * standbys left, all of which must then acknowledge, and only once the
 * standbys left out are marked unelectable on a majority of voters.  Every
 * election needs a majority, so it meets a voter that refuses a marked
 * candidate (vote.c), and every candidate that can still win acknowledged
 * every commit since: no acknowledged commit is lost.  The leader marks a
 * standby when it has been unreachable for the failover timeout and the
 * others are too few; it passes the set on to every peer with
 * pgrepl.share_marks(), and counts those that answer holding it on disk.
 * A marked standby that comes back and catches up is made a synchronous
 * standby again first, and unmarked only once that is in effect.
 *
 * Standbys are named in synchronous_standby_names by their node names,
 * which is why the monitor of a standby keeps application_name set to its
 * node name in primary_conninfo (election.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "replication/syncrep.h"
#include "replication/walsender_private.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "election.h"
#include "members.h"
#include "peers.h"
#include "settings.h"
#include "state.h"
#include "syncrep.h"
#include "vote.h"

/* A standby this close to the primary's WAL has caught up. */
#define CAUGHT_UP_BYTES		(1024 * 1024)

/* The value last written, so that it is written once per change. */
static char *written = NULL;

/*
 * The unelectable set a majority of voters holds in the current term
 * (quorum_available): the standbys that may be left out of the list.
 */
static uint64 established_term = 0;
static int	nestablished = 0;
static char established[PGREPL_MAX_NODES][NAMEDATALEN];

/* The standbys listed in the setting last seen in effect. */
static int	neffective = 0;
static char effective[PGREPL_MAX_NODES][NAMEDATALEN];

static bool
in_set(char set[][NAMEDATALEN], int n, const char *name)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(set[i], name) == 0)
			return true;
	}
	return false;
}

/* Whether a data standby may acknowledge commits (it did not opt out). */
static bool
sync_candidate(const PgreplPeerView *v)
{
	return !v->is_self && v->kind == PGREPL_KIND_DATA && v->synchronous;
}

/* Whether a standby streams close enough to this primary's WAL. */
static bool
caught_up(const PgreplPeerView *self, const PgreplPeerView *v)
{
	return v->reachable && v->has_reply && v->role == PGREPL_ROLE_STANDBY &&
		v->timeline == self->timeline &&
		v->wal_lsn + CAUGHT_UP_BYTES >= self->wal_lsn;
}

/*
 * quorum_available: whether a standby is one that a majority holds
 * unelectable and that has not caught up yet, which need not acknowledge.
 */
static bool
left_behind(const PgreplPeerView *self, const PgreplPeerView *v)
{
	return in_set(established, nestablished, v->name) && !caught_up(self, v);
}

/* Whether a standby has been out of reach for the failover timeout. */
static bool
lost(const PgreplPeerView *v, TimestampTz now)
{
	return !v->reachable &&
		(!v->has_reply ||
		 TimestampDifferenceExceeds(v->last_reply, now, pgrepl_failover_timeout));
}

/*
 * The standbys that rule 6 asks to acknowledge commits, given every member
 * (this node first): their names into names (room for nviews), how many of
 * them must acknowledge into *k.  Returns how many there are; 0 (and k 0)
 * when no standby needs to acknowledge.  Standbys that opted out are
 * listed only when the others are too few for k.  In quorum_available
 * mode the established unelectable standbys that have not caught up are
 * left out, and k is at most the number of those left: when they are
 * fewer than k, every data standby left out is such an unelectable one,
 * so every standby that can still be elected acknowledges every commit.
 */
int
syncrep_standbys(const PgreplPeerView *views, int nviews, const char **names,
				 int *k)
{
	bool		available = (pgrepl_synchronous_mode ==
							 PGREPL_SYNC_MODE_QUORUM_AVAILABLE);
	int			i;
	int			n = 0;

	*k = (nviews + 1) / 2 - 1;	/* ceil(V/2) - 1 */
	if (*k <= 0)
	{
		*k = 0;
		return 0;
	}

	/* Views are in name order after this node: a stable list. */
	for (i = 1; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (sync_candidate(v) && !(available && left_behind(&views[0], v)))
			names[n++] = v->name;
	}

	/*
	 * Too few standbys for k otherwise: those that opted out are listed
	 * after all, since rule 6 comes first.
	 */
	for (i = 1; i < nviews && n < *k; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (!v->is_self && v->kind == PGREPL_KIND_DATA && !v->synchronous &&
			!(available && left_behind(&views[0], v)))
			names[n++] = v->name;
	}
	if (available)
		*k = Min(*k, n);
	if (n == 0)
		*k = 0;					/* nobody to list: only witnesses */
	return n;
}

/*
 * quorum_available: note which unelectable set a majority holds, and
 * decide the set the members ask for now: standbys lost while the others
 * are too few to acknowledge, and marked ones that are not back yet (caught
 * up, and listed in the setting in effect).  A new set is a new version,
 * which peers.c passes on.
 */
static void
update_marks(const PgreplPeerView *views, int nviews, TimestampTz now)
{
	PgreplTermState ts;
	const char *want[PGREPL_MAX_NODES];
	int			nwant = 0;
	int			majority = nviews / 2 + 1;
	int			k = (nviews + 1) / 2 - 1;
	int			left = 0;
	int			left_all = 0;
	bool		same;
	int			i;

	pgrepl_term_state(&ts);
	if (ts.marks_term == ts.term && ts.marks_seq != 0 &&
		1 + peers_holding_marks(ts.marks_term, ts.marks_seq) >= majority)
	{
		if (established_term != ts.term ||
			nestablished != ts.nmarks ||
			memcmp(established, ts.marks, sizeof(established[0]) * ts.nmarks) != 0)
			ereport(LOG,
					(errmsg("pgrepl: a majority holds the unelectable set of term " UINT64_FORMAT ": %d standby(s)",
							ts.term, ts.nmarks)));
		nestablished = ts.nmarks;
		memcpy(established, ts.marks, sizeof(established[0]) * ts.nmarks);
		established_term = ts.term;
	}
	if (established_term != ts.term)
		nestablished = 0;

	/*
	 * The standbys left to acknowledge: first those that did not opt out;
	 * those that did are listed only when the others are too few.
	 */
	for (i = 1; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (v->kind == PGREPL_KIND_DATA && !lost(v, now) &&
			!pgrepl_is_marked(&ts, v->name))
		{
			left_all++;
			if (sync_candidate(v))
				left++;
		}
	}

	for (i = 1; i < nviews; i++)
	{
		const PgreplPeerView *v = &views[i];

		if (v->kind != PGREPL_KIND_DATA || v->is_self)
			continue;
		if (pgrepl_is_marked(&ts, v->name))
		{
			if (!(caught_up(&views[0], v) &&
				  in_set(effective, neffective, v->name)))
				want[nwant++] = v->name;
		}
		else if (lost(v, now) &&
				 (sync_candidate(v) ? left < k : left_all < k))
			want[nwant++] = v->name;
	}

	same = (ts.marks_term == ts.term || nwant == 0) && nwant == ts.nmarks;
	for (i = 0; i < nwant && same; i++)
		same = pgrepl_is_marked(&ts, want[i]);
	if (!same)
	{
		pgrepl_set_marks(want, nwant);
		ereport(LOG,
				(errmsg("pgrepl marked %d standby(s) unelectable in term " UINT64_FORMAT,
						nwant, ts.term),
				 errdetail("Lost standbys may lack acknowledged commits; they are electable again once they have caught up.")));
	}
}

/* The synchronous_standby_names that rule 6 asks for, into buf. */
static void
desired_names(const PgreplPeerView *views, int nviews, StringInfo buf,
			  int *k, const char **names, int *n)
{
	int			i;

	*n = syncrep_standbys(views, nviews, names, k);
	if (*k == 0)
		return;
	appendStringInfo(buf, "ANY %d (", *k);
	for (i = 0; i < *n; i++)
		appendStringInfo(buf, "%s%s", i == 0 ? "" : ", ",
						 quote_identifier(names[i]));
	appendStringInfoChar(buf, ')');
}

/*
 * In mode off, the value of synchronous_standby_names last judged by
 * reset_quorum_setting(); forgotten whenever quorum mode runs, since it may
 * write that value again.
 */
static char *judged_off = NULL;

static void
forget_judged_off(void)
{
	if (judged_off)
		pfree(judged_off);
	judged_off = NULL;
}

static void
write_setting(void *arg)
{
	pgrepl_alter_system("synchronous_standby_names", (const char *) arg);
}

/* Whether name, as desired_names() writes it, names a data standby. */
static bool
names_data_standby(const PgreplPeerView *views, int nviews, const char *name)
{
	int			i;

	for (i = 1; i < nviews; i++)
	{
		if (views[i].kind == PGREPL_KIND_DATA &&
			strcmp(quote_identifier(views[i].name), name) == 0)
			return true;
	}
	return false;
}

/*
 * Whether value is one that quorum mode writes: ANY k over data standbys
 * of this cluster, spelled as desired_names() spells it.  Only such a
 * value is pgrepl's to take back when the mode is turned off; any other
 * is the operator's.
 */
static bool
written_by_quorum_mode(const PgreplPeerView *views, int nviews,
					   const char *value)
{
	StringInfoData again;
	char	   *list;
	char	   *name;
	char	   *save;
	int			k;
	int			consumed = 0;
	int			n = 0;
	bool		ours = true;

	if (sscanf(value, "ANY %d (%n", &k, &consumed) != 1 || consumed == 0 ||
		k < 1)
		return false;
	list = pstrdup(value + consumed);
	if (list[0] == '\0' || list[strlen(list) - 1] != ')')
	{
		pfree(list);
		return false;
	}
	list[strlen(list) - 1] = '\0';

	initStringInfo(&again);
	appendStringInfo(&again, "ANY %d (", k);
	for (name = strtok_r(list, ",", &save); name != NULL && ours;
		 name = strtok_r(NULL, ",", &save))
	{
		while (*name == ' ')
			name++;
		ours = names_data_standby(views, nviews, name);
		appendStringInfo(&again, "%s%s", n++ == 0 ? "" : ", ", name);
	}
	appendStringInfoChar(&again, ')');
	ours = ours && n >= k && strcmp(again.data, value) == 0;
	pfree(again.data);
	pfree(list);
	return ours;
}

/*
 * Mode off, on the leader: take back a value quorum mode left behind, or
 * commits would go on waiting for standbys that nobody asked for any
 * more.  Each value is judged once (parsing it every pass would cost the
 * monitor for an operator's value that stays): reset if it is quorum
 * mode's, which the reload then makes take, else left alone.
 */
static void
reset_quorum_setting(const PgreplPeerView *views, int nviews)
{
	if (judged_off != NULL && strcmp(judged_off, SyncRepStandbyNames) == 0)
		return;
	forget_judged_off();
	if (SyncRepStandbyNames[0] == '\0')
		return;

	if (written_by_quorum_mode(views, nviews, SyncRepStandbyNames))
	{
		if (!pgrepl_in_transaction("reset synchronous_standby_names",
								   write_setting, NULL))
			return;
		ereport(LOG,
				(errmsg("pgrepl reset synchronous_standby_names, which was '%s': pgrepl.synchronous_mode is off",
						SyncRepStandbyNames)));
		election_record_event("synchronous standbys",
							  "synchronous_standby_names reset: pgrepl.synchronous_mode is off");
		kill(PostmasterPid, SIGHUP);
	}
	judged_off = MemoryContextStrdup(TopMemoryContext, SyncRepStandbyNames);
}

/*
 * On the primary that leads, every pass: make synchronous_standby_names
 * what quorum mode asks for.  Returns false while the setting the members
 * ask for is not in effect yet on this node, with why in *why; true when
 * it is, or when pgrepl does not manage the setting (mode off).
 */
bool
syncrep_step(const PgreplPeerView *views, int nviews, const char **why)
{
	StringInfoData want;
	const char **names;
	int			k;
	int			n;
	bool		in_effect;
	int			i;

	*why = NULL;
	if (pgrepl_synchronous_mode == PGREPL_SYNC_MODE_OFF)
	{
		if (written)
		{
			pfree(written);
			written = NULL;
		}
		pgrepl_state_set_sync(false, 0, NULL, 0);
		reset_quorum_setting(views, nviews);
		return true;
	}

	forget_judged_off();
	if (pgrepl_synchronous_mode == PGREPL_SYNC_MODE_QUORUM_AVAILABLE)
		update_marks(views, nviews, GetCurrentTimestamp());
	else
		nestablished = 0;

	initStringInfo(&want);
	names = palloc(sizeof(char *) * nviews);
	desired_names(views, nviews, &want, &k, names, &n);

	if (strcmp(SyncRepStandbyNames, want.data) != 0 &&
		(written == NULL || strcmp(written, want.data) != 0) &&
		pgrepl_in_transaction("set synchronous_standby_names",
							  write_setting, want.data))
	{
		char		detail[PGREPL_NOTE_LEN];

		ereport(LOG,
				(errmsg("pgrepl set synchronous_standby_names to '%s'",
						want.data)));
		snprintf(detail, sizeof(detail), "synchronous_standby_names = '%s'",
				 want.data);
		election_record_event("synchronous standbys", detail);
		if (written)
			pfree(written);
		written = MemoryContextStrdup(TopMemoryContext, want.data);
		kill(PostmasterPid, SIGHUP);
	}

	in_effect = strcmp(SyncRepStandbyNames, want.data) == 0 &&
		(want.data[0] == '\0' || pgrepl_sync_standbys_defined());
	if (in_effect)
	{
		neffective = (k > 0) ? n : 0;
		for (i = 0; i < neffective; i++)
			strlcpy(effective[i], names[i], NAMEDATALEN);
		pgrepl_state_set_sync(true, k, names, neffective);
	}
	else
		*why = "Synchronous replication to a quorum of standbys is not in effect yet.";
	pfree(want.data);
	pfree(names);
	return in_effect;
}

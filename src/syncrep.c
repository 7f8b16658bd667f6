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

#include "compat.h"
#include "election.h"
#include "members.h"
#include "settings.h"
#include "state.h"
#include "syncrep.h"

/* The value last written, so that it is written once per change. */
static char *written = NULL;

/*
 * The standbys that rule 6 asks to acknowledge commits, given every member
 * (this node first): their names into names (room for nviews), how many of
 * them must acknowledge into *k.  Returns how many there are; 0 (and k 0)
 * when no standby needs to acknowledge.
 */
int
syncrep_standbys(const PgreplPeerView *views, int nviews, const char **names,
				 int *k)
{
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

		if (v->kind == PGREPL_KIND_DATA && v->synchronous)
			names[n++] = v->name;
	}
	if (n == 0)
		*k = 0;					/* only witnesses: nothing to wait for */
	return n;
}

/* The synchronous_standby_names that rule 6 asks for, into buf. */
static void
desired_names(const PgreplPeerView *views, int nviews, StringInfo buf)
{
	const char **names = palloc(sizeof(char *) * nviews);
	int			k;
	int			n = syncrep_standbys(views, nviews, names, &k);
	int			i;

	if (n == 0)
		return;
	appendStringInfo(buf, "ANY %d (", k);
	for (i = 0; i < n; i++)
		appendStringInfo(buf, "%s%s", i == 0 ? "" : ", ",
						 quote_identifier(names[i]));
	appendStringInfoChar(buf, ')');
	pfree(names);
}

static void
write_setting(void *arg)
{
	pgrepl_alter_system("synchronous_standby_names", (const char *) arg);
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
	bool		in_effect;

	*why = NULL;
	if (pgrepl_synchronous_mode != PGREPL_SYNC_MODE_QUORUM)
	{
		if (written)
		{
			pfree(written);
			written = NULL;
		}
		return true;
	}

	initStringInfo(&want);
	desired_names(views, nviews, &want);

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
	if (!in_effect)
		*why = "Synchronous replication to a quorum of standbys is not in effect yet.";
	pfree(want.data);
	return in_effect;
}

/*-------------------------------------------------------------------------
 *
 * pgrepl.c
 *	  Module entry point: wires settings, shared memory and the monitor.
 *
 * pgrepl works only when loaded at server start through
 * shared_preload_libraries: it needs shared memory and a background worker
 * on every node.  Loaded any other way (for instance by CREATE EXTENSION on
 * a server that does not preload it), it refuses with an error that says
 * how to fix that, rather than installing SQL objects that cannot work.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "fence.h"
#include "handover.h"
#include "http.h"
#include "monitor.h"
#include "settings.h"
#include "state.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
	{
		/* pg_upgrade loads every library; let it through with a warning */
		ereport(IsBinaryUpgrade ? WARNING : ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgrepl must be loaded via shared_preload_libraries"),
				 errhint("Add pgrepl to shared_preload_libraries on every node and restart the server.")));
		return;
	}

	pgrepl_define_settings();
	pgrepl_state_install_hooks();
	pgrepl_fence_install_hooks();
	pgrepl_handover_install_hooks();
	pgrepl_monitor_register();
	pgrepl_http_register();
}

/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Small wrappers over the server APIs that changed between PostgreSQL
 *	  13 and 17, so that the rest of pgrepl reads as if there were one.
 *
 * Version differences live here and nowhere else.  PostgreSQL 15 is the
 * release pgrepl is tested on; the other branches are kept building where
 * that costs no more than a wrapper.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_COMPAT_H
#define PGREPL_COMPAT_H

#include "access/xlog.h"
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "replication/walsender_private.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/backend_status.h"
#include "utils/guc.h"

#if PG_VERSION_NUM >= 150000
#include "access/xlogrecovery.h"
#endif

/* WAL flush position and the timeline WAL is being inserted on. */
static inline XLogRecPtr
pgrepl_flush_lsn(TimeLineID *tli)
{
#if PG_VERSION_NUM >= 150000
	return GetFlushRecPtr(tli);
#else
	*tli = ThisTimeLineID;
	return GetFlushRecPtr();
#endif
}

/* Reserve the "pgrepl." prefix so that typos in settings are reported. */
static inline void
pgrepl_reserve_guc_prefix(void)
{
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("pgrepl");
#else
	EmitWarningsOnPlaceholders("pgrepl");
#endif
}

/*
 * The n-th entry (1-based) of this backend's snapshot of the backend status
 * array, or NULL.
 */
static inline LocalPgBackendStatus *
pgrepl_local_beentry(int n)
{
#if PG_VERSION_NUM >= 170000
	return pgstat_get_local_beentry_by_index(n);
#else
	return pgstat_fetch_stat_local_beentry(n);
#endif
}

/* A string constant node, as the grammar would make for 'value'. */
static inline Node *
pgrepl_string_const(const char *value)
{
	A_Const    *c = makeNode(A_Const);

#if PG_VERSION_NUM >= 150000
	c->val.sval.type = T_String;
	c->val.sval.sval = pstrdup(value);
#else
	c->val.type = T_String;
	c->val.val.str = pstrdup(value);
#endif
	c->location = -1;
	return (Node *) c;
}

/* A WaitEventSet for nevents events, freed by FreeWaitEventSet. */
static inline WaitEventSet *
pgrepl_create_wait_event_set(int nevents)
{
#if PG_VERSION_NUM >= 170000
	return CreateWaitEventSet(NULL, nevents);
#else
	return CreateWaitEventSet(CurrentMemoryContext, nevents);
#endif
}

/*
 * Set up a set-returning function that fills a tuplestore in one call;
 * before PostgreSQL 15 every caller had to spell this out.
 */
static inline void
pgrepl_init_materialized_srf(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
#endif
}

/*
 * Whether the checkpointer has a synchronous_standby_names in effect, which
 * is what makes committing backends wait for standbys.  Minor releases of
 * 13 to 17 (2025) turned the flag into a bit field; the bit's macro says
 * which layout this server has.
 */
static inline bool
pgrepl_sync_standbys_defined(void)
{
#ifdef SYNC_STANDBY_DEFINED
	return (WalSndCtl->sync_standbys_status & SYNC_STANDBY_DEFINED) != 0;
#else
	return WalSndCtl->sync_standbys_defined;
#endif
}

/*
 * The hook of libpq/auth.h, declared here because that header includes
 * GSSAPI's, which a server without Kerberos development files lacks.  Its
 * type has not changed since PostgreSQL 9.1.
 */
struct Port;
typedef void (*client_auth_hook_type) (struct Port *port, int status);
extern PGDLLIMPORT client_auth_hook_type ClientAuthentication_hook;

#endif							/* PGREPL_COMPAT_H */

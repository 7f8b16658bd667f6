/*-------------------------------------------------------------------------
 *
 * monitor.h
 *	  The "pgrepl monitor" background worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_MONITOR_H
#define PGREPL_MONITOR_H

extern void pgrepl_monitor_register(void);
extern PGDLLEXPORT void pgrepl_monitor_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* PGREPL_MONITOR_H */

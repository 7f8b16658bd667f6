/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  pgrepl's configuration parameters (the pgrepl.* GUCs).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_SETTINGS_H
#define PGREPL_SETTINGS_H

extern char *pgrepl_node_name;
extern char *pgrepl_database;
extern int	pgrepl_monitor_interval;
extern int	pgrepl_lag_history_size;

extern void pgrepl_define_settings(void);
extern void pgrepl_effective_node_name(char *dst, Size len);

#endif							/* PGREPL_SETTINGS_H */

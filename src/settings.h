/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  pgrepl's configuration parameters (the pgrepl.* GUCs).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_SETTINGS_H
#define PGREPL_SETTINGS_H

/* What a node is: a data node holds the database, a witness only votes. */
typedef enum PgreplNodeKind
{
	PGREPL_KIND_DATA,
	PGREPL_KIND_WITNESS
} PgreplNodeKind;

extern char *pgrepl_node_name;
extern char *pgrepl_node_conninfo;
extern int	pgrepl_node_kind;
extern int	pgrepl_priority;
extern char *pgrepl_database;
extern int	pgrepl_monitor_interval;
extern int	pgrepl_lag_history_size;
extern int	pgrepl_heartbeat_interval;
extern bool pgrepl_failover;
extern int	pgrepl_failover_timeout;
extern int	pgrepl_maximum_lag_on_failover;
extern int	pgrepl_synchronous_mode;
extern int	pgrepl_async_rpo_limit;
extern int	pgrepl_http_port;
extern char *pgrepl_http_listen_addresses;
extern char *pgrepl_rejoin_command;

/* How the primary replicates commits (pgrepl.synchronous_mode). */
typedef enum PgreplSyncMode
{
	PGREPL_SYNC_MODE_OFF,
	PGREPL_SYNC_MODE_QUORUM,
	PGREPL_SYNC_MODE_QUORUM_AVAILABLE
} PgreplSyncMode;

extern const char *pgrepl_synchronous_mode_name(PgreplSyncMode mode);
extern const char *pgrepl_kind_name(PgreplNodeKind kind);
extern bool pgrepl_kind_from_name(const char *name, PgreplNodeKind *kind);
extern bool pgrepl_node_name_is_valid(const char *name);
extern void pgrepl_check_node_name(const char *name);
extern int	pgrepl_heartbeat_timeout(void);
extern int	pgrepl_lease_time(void);

extern void pgrepl_define_settings(void);
extern void pgrepl_effective_node_name(char *dst, Size len);

#endif							/* PGREPL_SETTINGS_H */

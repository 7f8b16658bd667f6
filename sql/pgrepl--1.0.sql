/* pgrepl--1.0.sql: install script of pgrepl 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgrepl" to load this file. \quit

/*
 * Every view reads what the "pgrepl monitor" background worker last sampled
 * into shared memory, so reading one never touches the replication machinery
 * itself.  The functions behind the views are not for PUBLIC; the views are
 * readable by pg_monitor, like pg_stat_replication's details.
 */

CREATE FUNCTION @extschema@.status(
	OUT node_name text,
	OUT role text,
	OUT in_recovery boolean,
	OUT timeline integer,
	OUT current_lsn pg_lsn,
	OUT insert_lsn pg_lsn,
	OUT flush_lsn pg_lsn,
	OUT receive_lsn pg_lsn,
	OUT replay_lsn pg_lsn,
	OUT last_replay_time timestamptz,
	OUT replay_lag_bytes bigint,
	OUT replay_lag interval,
	OUT sample_time timestamptz,
	OUT sample_age interval,
	OUT worker_pid integer,
	OUT term bigint,
	OUT primary_node text,
	OUT fenced boolean,
	OUT fence_reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.status() IS
'this node''s replication state as last sampled by the pgrepl monitor';

CREATE VIEW @extschema@.status AS
	SELECT * FROM @extschema@.status();

COMMENT ON VIEW @extschema@.status IS
'one row: this node''s role, timeline, WAL positions, replay lag, term, the primary it knows and whether it is fenced';

CREATE FUNCTION @extschema@.replicas(
	OUT application_name text,
	OUT pid integer,
	OUT client_addr inet,
	OUT state text,
	OUT sent_lsn pg_lsn,
	OUT write_lsn pg_lsn,
	OUT flush_lsn pg_lsn,
	OUT replay_lsn pg_lsn,
	OUT sent_lag_bytes bigint,
	OUT write_lag_bytes bigint,
	OUT flush_lag_bytes bigint,
	OUT replay_lag_bytes bigint,
	OUT write_lag interval,
	OUT flush_lag interval,
	OUT replay_lag interval,
	OUT sync_priority integer,
	OUT sync_state text,
	OUT slot_name text,
	OUT reply_time timestamptz,
	OUT sample_time timestamptz,
	OUT sample_age interval)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgrepl_replicas'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.replicas() IS
'the standbys streaming from this node as last sampled by the pgrepl monitor';

CREATE VIEW @extschema@.replicas AS
	SELECT * FROM @extschema@.replicas();

COMMENT ON VIEW @extschema@.replicas IS
'one row per standby streaming from this node, with its lag at each stage';

CREATE FUNCTION @extschema@.wal_receiver(
	OUT pid integer,
	OUT status text,
	OUT receive_start_lsn pg_lsn,
	OUT receive_start_tli integer,
	OUT written_lsn pg_lsn,
	OUT flushed_lsn pg_lsn,
	OUT received_tli integer,
	OUT replay_lsn pg_lsn,
	OUT latest_end_lsn pg_lsn,
	OUT latest_end_time timestamptz,
	OUT last_msg_send_time timestamptz,
	OUT last_msg_receipt_time timestamptz,
	OUT sender_host text,
	OUT sender_port integer,
	OUT slot_name text,
	OUT flush_lag_bytes bigint,
	OUT replay_lag_bytes bigint,
	OUT replay_lag interval,
	OUT sample_time timestamptz,
	OUT sample_age interval)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgrepl_wal_receiver'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.wal_receiver() IS
'this standby''s WAL receiver as last sampled by the pgrepl monitor';

CREATE VIEW @extschema@.wal_receiver AS
	SELECT * FROM @extschema@.wal_receiver();

COMMENT ON VIEW @extschema@.wal_receiver IS
'on a standby, one row: its WAL receiver''s state and lag; no rows on a primary';

CREATE FUNCTION @extschema@.lag_history(
	OUT standby text,
	OUT sample_time timestamptz,
	OUT flush_lag_bytes bigint,
	OUT replay_lag_bytes bigint,
	OUT flush_lag interval,
	OUT replay_lag interval)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgrepl_lag_history'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.lag_history() IS
'the lag samples kept in shared memory, per standby, oldest first';

CREATE VIEW @extschema@.lag_history AS
	SELECT * FROM @extschema@.lag_history();

COMMENT ON VIEW @extschema@.lag_history IS
'one row per standby and sample: the last pgrepl.lag_history_size lag samples';

/*
 * The cluster.  Membership and history are tables on the primary, so that
 * WAL replicates them and every node reads the same list and story.
 */
CREATE TABLE @extschema@.members (
	node_name text PRIMARY KEY
		CHECK (node_name ~ '^[a-z0-9_]{1,63}$'),
	kind text NOT NULL DEFAULT 'data'
		CHECK (kind IN ('data', 'witness')),
	conninfo text NOT NULL
		CHECK (conninfo <> '' AND octet_length(conninfo) < 1024),
	registered_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE @extschema@.members IS
'the nodes of the cluster and how peers reach them; change it with register_node() and unregister_node()';

CREATE TABLE @extschema@.events (
	event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_time timestamptz NOT NULL DEFAULT now(),
	node_name text NOT NULL,
	event text NOT NULL,
	term bigint,
	detail text
);

COMMENT ON TABLE @extschema@.events IS
'the cluster''s history: joins, removals, elections, promotions, fencing';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events_event_id_seq', '');

COMMENT ON SEQUENCE @extschema@.events_event_id_seq IS
'numbers pgrepl.events; dumped with it, so that a restored history goes on numbering';

CREATE FUNCTION @extschema@.nodes(
	OUT node_name text,
	OUT kind text,
	OUT is_self boolean,
	OUT reachable boolean,
	OUT last_heartbeat timestamptz,
	OUT heartbeat_age interval,
	OUT role text,
	OUT priority integer,
	OUT promotable boolean,
	OUT term bigint,
	OUT timeline integer,
	OUT wal_lsn pg_lsn,
	OUT lag_bytes bigint,
	OUT failures integer,
	OUT last_error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgrepl_nodes'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.nodes() IS
'every member as this node''s monitor knows it from heartbeats';

CREATE VIEW @extschema@.nodes AS
	SELECT * FROM @extschema@.nodes();

COMMENT ON VIEW @extschema@.nodes IS
'one row per member, this node first: reachability, role, timeline, WAL position and lag as heartbeats report them';

/*
 * What peers call.  heartbeat() answers from shared memory;
 * register_node() and unregister_node() write the membership table as
 * their owner, so that the role peers log in as needs no privilege on it.
 */
CREATE FUNCTION @extschema@.heartbeat(
	sender text,
	sender_term bigint,
	sender_leads boolean,
	OUT node_name text,
	OUT kind text,
	OUT role text,
	OUT timeline integer,
	OUT wal_lsn pg_lsn,
	OUT priority integer,
	OUT term bigint,
	OUT leader boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_heartbeat'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.heartbeat(text, bigint, boolean) IS
'this node''s name, kind, role, timeline, WAL position, priority, term and leadership, for a peer''s monitor; adopts a higher term';

CREATE FUNCTION @extschema@.request_vote(
	candidate text,
	term bigint,
	timeline integer,
	lsn pg_lsn,
	dry_run boolean,
	OUT voter_term bigint,
	OUT granted boolean,
	OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_request_vote'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.request_vote(text, bigint, integer, pg_lsn, boolean) IS
'this node''s vote for a candidate in a term, written to disk before it is returned; a dry run only says whether it would be granted';

CREATE FUNCTION @extschema@.register_node(
	node_name text,
	conninfo text,
	kind text DEFAULT 'data')
RETURNS void
AS 'MODULE_PATHNAME', 'pgrepl_register_node'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.register_node(text, text, text) IS
'add a member to the cluster, or change how it is reached; on the primary';

CREATE FUNCTION @extschema@.unregister_node(node_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgrepl_unregister_node'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.unregister_node(text) IS
'remove a member from the cluster; on the primary';

/*
 * check_config() only reads settings.  Each row says whether a setting that
 * replication or failover depends on has a value that works, and if not,
 * what to change.  Written in SQL so that an operator can read the rules.
 */
CREATE FUNCTION @extschema@.check_config(
	OUT name text,
	OUT setting text,
	OUT recommended text,
	OUT ok boolean,
	OUT hint text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH monitor(interval_ms) AS (
		SELECT setting::bigint FROM pg_settings
		WHERE name = 'pgrepl.monitor_interval'
	),
	rules(ord, name, recommended, ok, hint) AS (
		VALUES
		(1, 'wal_level', 'replica',
		 current_setting('wal_level') IN ('replica', 'logical'),
		 'Set wal_level to "replica" (or "logical") and restart: "minimal" cannot feed standbys.'),
		(2, 'max_wal_senders', '10',
		 current_setting('max_wal_senders')::int >= 4,
		 'Allow one WAL sender per standby plus two spare for base backups and pg_rewind.'),
		(3, 'max_replication_slots', '10',
		 current_setting('max_replication_slots')::int >= 4,
		 'Every standby needs a slot on whichever node is primary, so that the WAL it still needs is kept.'),
		(4, 'hot_standby', 'on',
		 current_setting('hot_standby')::boolean,
		 'The pgrepl worker of a standby runs only in a hot standby: set hot_standby = on.'),
		(5, 'hot_standby_feedback', 'on',
		 current_setting('hot_standby_feedback')::boolean,
		 'Without feedback, replay conflicts cancel queries on standbys, also on the new primary''s standbys after a failover.'),
		(6, 'wal_log_hints', 'on',
		 current_setting('wal_log_hints')::boolean
		 OR current_setting('data_checksums')::boolean,
		 'pg_rewind needs wal_log_hints = on (or data checksums) to bring back a failed primary without a new base backup.'),
		(7, 'wal_keep_size', '1GB',
		 pg_size_bytes(current_setting('wal_keep_size')) > 0
		 OR current_setting('max_replication_slots')::int > 0,
		 'Keep WAL for standbys that fall behind, with replication slots or wal_keep_size.'),
		(8, 'synchronous_commit', 'on',
		 current_setting('synchronous_commit') IN ('on', 'remote_write', 'remote_apply'),
		 'With "off" or "local", commits do not wait for synchronous standbys, so a failover can lose them.'),
		(9, 'shared_preload_libraries', 'pgrepl',
		 'pgrepl' = ANY (string_to_array(
			replace(current_setting('shared_preload_libraries'), ' ', ''), ',')),
		 'List pgrepl in shared_preload_libraries on every node and restart.'),
		(10, 'pgrepl.node_name', 'a name unique in the cluster',
		 current_setting('pgrepl.node_name') <> '',
		 'Give every node a stable name of its own; unset, it is derived from cluster_name or the port.'),
		(11, 'pgrepl.monitor_interval', '1s',
		 (SELECT interval_ms <= 5000 FROM monitor),
		 'Sample at least every 5 s, so that lag figures are fresh when they matter.'),
		(12, 'pgrepl.lag_history_size', '3600',
		 (SELECT current_setting('pgrepl.lag_history_size')::bigint
				 * interval_ms >= 600000 FROM monitor),
		 'Keep at least ten minutes of lag history at the current pgrepl.monitor_interval.')
	)
	SELECT r.name, current_setting(r.name), r.recommended, r.ok,
		   CASE WHEN r.ok THEN NULL ELSE r.hint END
	FROM rules r
	ORDER BY r.ord
$$;

COMMENT ON FUNCTION @extschema@.check_config() IS
'one row per setting that replication and failover depend on, with a verdict and a hint; reads only';

/* Privileges: nothing here is for PUBLIC; monitoring is for pg_monitor. */
REVOKE ALL ON FUNCTION @extschema@.status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.replicas() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.wal_receiver() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.lag_history() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.check_config() FROM PUBLIC;
REVOKE ALL ON @extschema@.status FROM PUBLIC;
REVOKE ALL ON @extschema@.replicas FROM PUBLIC;
REVOKE ALL ON @extschema@.wal_receiver FROM PUBLIC;
REVOKE ALL ON @extschema@.lag_history FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.nodes() FROM PUBLIC;
REVOKE ALL ON @extschema@.nodes FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.heartbeat(text, bigint, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.request_vote(text, bigint, integer, pg_lsn, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.register_node(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.unregister_node(text) FROM PUBLIC;
REVOKE ALL ON @extschema@.members FROM PUBLIC;
REVOKE ALL ON @extschema@.events FROM PUBLIC;

GRANT USAGE ON SCHEMA @extschema@ TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.replicas() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.wal_receiver() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.lag_history() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.check_config() TO pg_monitor;
GRANT SELECT ON @extschema@.status TO pg_monitor;
GRANT SELECT ON @extschema@.replicas TO pg_monitor;
GRANT SELECT ON @extschema@.wal_receiver TO pg_monitor;
GRANT SELECT ON @extschema@.lag_history TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.nodes() TO pg_monitor;
GRANT SELECT ON @extschema@.nodes TO pg_monitor;
GRANT SELECT ON @extschema@.events TO pg_monitor;

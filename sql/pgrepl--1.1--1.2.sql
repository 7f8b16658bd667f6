/* pgrepl--1.1--1.2.sql: upgrade pgrepl from 1.1 to 1.2 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgrepl UPDATE TO '1.2'" to load this file. \quit

/*
 * status gains needs_rejoin: whether this node must rejoin as a standby of
 * the primary that leads the current term (a replaced primary, or a
 * standby whose WAL diverged), for monitoring to alert on without reading
 * the note, which says how.
 */
DROP VIEW @extschema@.status;
DROP FUNCTION @extschema@.status();

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
	OUT fence_reason text,
	OUT failover_paused boolean,
	OUT voters integer,
	OUT reachable_voters integer,
	OUT note text,
	OUT synchronous_mode text,
	OUT sync_quorum integer,
	OUT sync_standbys text[],
	OUT data_at_risk interval,
	OUT unelectable text[],
	OUT needs_rejoin boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.status() IS
'this node''s replication state as last sampled by the pgrepl monitor';

CREATE VIEW @extschema@.status AS
	SELECT * FROM @extschema@.status();

COMMENT ON VIEW @extschema@.status IS
'one row: this node''s role, timeline, WAL positions, replay lag, term, the primary it knows, whether it is fenced, whether failover is paused, the voters it reaches, why it is as it is, on a primary in quorum mode how many of which standbys must acknowledge a commit, how much committed data a failover could lose now, which standbys are not electable, and whether this node must rejoin as a standby';

REVOKE ALL ON FUNCTION @extschema@.status() FROM PUBLIC;
REVOKE ALL ON @extschema@.status FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.status() TO pg_monitor;
GRANT SELECT ON @extschema@.status TO pg_monitor;

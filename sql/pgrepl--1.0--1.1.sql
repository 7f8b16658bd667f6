/* pgrepl--1.0--1.1.sql: upgrade pgrepl from 1.0 to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgrepl UPDATE TO '1.1'" to load this file. \quit

/*
 * Witnesses.  A witness is a PostgreSQL instance of its own, not a standby,
 * so WAL does not bring it the members' list: the primary's monitor copies
 * it over by calling this function on the witness.  It writes the witness's
 * pgrepl.members as its owner, so the role peers log in as needs no
 * privilege on the table.
 */
CREATE FUNCTION @extschema@.copy_members(
	leader text,
	term bigint,
	node_names text[],
	kinds text[],
	conninfos text[])
RETURNS void
AS 'MODULE_PATHNAME', 'pgrepl_copy_members'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.copy_members(text, bigint, text[], text[], text[]) IS
'on a witness, replace the members'' list with the one the primary leading the given term sent';

REVOKE ALL ON FUNCTION @extschema@.copy_members(text, bigint, text[], text[], text[]) FROM PUBLIC;

/*
 * Pausing failover is gossiped: pause() and resume() work on any node, even
 * with the primary gone, and every monitor passes the newest setting it
 * knows to every peer that has an older one, through this function.  Each
 * node keeps it with its term, on disk.
 */
CREATE FUNCTION @extschema@.share_pause(
	sender text,
	paused boolean,
	version bigint,
	OUT paused boolean,
	OUT version bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_share_pause'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.share_pause(text, boolean, bigint) IS
'take a peer''s pause setting if it is newer than this node''s, and return this node''s';

REVOKE ALL ON FUNCTION @extschema@.share_pause(text, boolean, bigint) FROM PUBLIC;

/*
 * status gains what an operator asks first when something is wrong: is
 * failover paused, how many voters does this node reach, and why is it in
 * the state it is in.
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
	OUT note text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.status() IS
'this node''s replication state as last sampled by the pgrepl monitor';

CREATE VIEW @extschema@.status AS
	SELECT * FROM @extschema@.status();

COMMENT ON VIEW @extschema@.status IS
'one row: this node''s role, timeline, WAL positions, replay lag, term, the primary it knows, whether it is fenced, whether failover is paused, the voters it reaches, and why it is as it is';

REVOKE ALL ON FUNCTION @extschema@.status() FROM PUBLIC;
REVOKE ALL ON @extschema@.status FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.status() TO pg_monitor;
GRANT SELECT ON @extschema@.status TO pg_monitor;

/* What operators call. */
CREATE FUNCTION @extschema@.promote(force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'pgrepl_promote'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.promote(boolean) IS
'promote this standby through an election, as a failover would; with force, without one (for disaster recovery)';

CREATE FUNCTION @extschema@.pause()
RETURNS void
AS 'MODULE_PATHNAME', 'pgrepl_pause'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.pause() IS
'pause automatic failover on every node until resume(); on any node';

CREATE FUNCTION @extschema@.resume()
RETURNS void
AS 'MODULE_PATHNAME', 'pgrepl_resume'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.resume() IS
'resume automatic failover after pause(); on any node';

REVOKE ALL ON FUNCTION @extschema@.promote(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.pause() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.resume() FROM PUBLIC;

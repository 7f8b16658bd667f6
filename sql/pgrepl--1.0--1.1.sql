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
 * quorum_available: the primary marks lost standbys unelectable on a
 * majority of voters before it stops waiting for them, through this
 * function, which keeps the set on disk before answering.
 */
CREATE FUNCTION @extschema@.share_marks(
	sender text,
	term bigint,
	seq bigint,
	node_names text[],
	OUT term bigint,
	OUT seq bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_share_marks'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.share_marks(text, bigint, bigint, text[]) IS
'take the primary''s set of unelectable standbys if it is newer than this node''s, on disk, and return the version this node holds';

REVOKE ALL ON FUNCTION @extschema@.share_marks(text, bigint, bigint, text[]) FROM PUBLIC;

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
	OUT note text,
	OUT synchronous_mode text,
	OUT sync_quorum integer,
	OUT sync_standbys text[],
	OUT data_at_risk interval,
	OUT unelectable text[])
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.status() IS
'this node''s replication state as last sampled by the pgrepl monitor';

CREATE VIEW @extschema@.status AS
	SELECT * FROM @extschema@.status();

COMMENT ON VIEW @extschema@.status IS
'one row: this node''s role, timeline, WAL positions, replay lag, term, the primary it knows, whether it is fenced, whether failover is paused, the voters it reaches, why it is as it is, on a primary in quorum mode how many of which standbys must acknowledge a commit, how much committed data a failover could lose now, and which standbys are not electable';

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

/*
 * Quorum commit (pgrepl.synchronous_mode = quorum): the primary lists every
 * data standby in synchronous_standby_names, except those an operator took
 * out with set_synchronous(), e.g. a standby across a slow link.
 */
ALTER TABLE @extschema@.members
	ADD COLUMN synchronous boolean NOT NULL DEFAULT true;

COMMENT ON COLUMN @extschema@.members.synchronous IS
'whether the node may be a synchronous standby in quorum mode';

CREATE FUNCTION @extschema@.set_synchronous(node_name text, synchronous boolean)
RETURNS void
LANGUAGE plpgsql STRICT VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF pg_is_in_recovery() THEN
		RAISE EXCEPTION 'cannot change node "%" on a standby', set_synchronous.node_name
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Call this function on the primary.';
	END IF;
	IF NOT EXISTS (SELECT FROM @extschema@.members m
				   WHERE m.node_name = set_synchronous.node_name) THEN
		RAISE EXCEPTION 'node "%" is not a member of the cluster', set_synchronous.node_name
			USING ERRCODE = 'undefined_object';
	END IF;
	UPDATE @extschema@.members m
	SET synchronous = set_synchronous.synchronous
	WHERE m.node_name = set_synchronous.node_name
	  AND m.synchronous <> set_synchronous.synchronous;
	IF FOUND THEN
		INSERT INTO @extschema@.events (node_name, event, detail)
		VALUES (set_synchronous.node_name,
				CASE WHEN set_synchronous.synchronous
					 THEN 'may be synchronous' ELSE 'not synchronous' END,
				'by ' || session_user);
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.set_synchronous(text, boolean) IS
'let a node be a synchronous standby in quorum mode, or keep it out; on the primary';

REVOKE ALL ON FUNCTION @extschema@.set_synchronous(text, boolean) FROM PUBLIC;

/* nodes gains whether each member may be a synchronous standby. */
DROP VIEW @extschema@.nodes;
DROP FUNCTION @extschema@.nodes();

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
	OUT last_error text,
	OUT synchronous boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgrepl_nodes'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.nodes() IS
'every member as this node''s monitor knows it from heartbeats';

CREATE VIEW @extschema@.nodes AS
	SELECT * FROM @extschema@.nodes();

COMMENT ON VIEW @extschema@.nodes IS
'one row per member, this node first: reachability, role, timeline, WAL position and lag as heartbeats report them, and whether it may be a synchronous standby';

REVOKE ALL ON FUNCTION @extschema@.nodes() FROM PUBLIC;
REVOKE ALL ON @extschema@.nodes FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.nodes() TO pg_monitor;
GRANT SELECT ON @extschema@.nodes TO pg_monitor;

/*
 * Rejoin.  A primary replaced by another must come back as a standby of
 * it, rewound with pg_rewind if its WAL went past the point where the new
 * primary's timeline forked off.  To tell, its monitor asks the new
 * primary for the history of its timeline through this function, which
 * reads nothing but this node's own timeline history files: grant it to
 * the role peers log in as.
 */
CREATE FUNCTION @extschema@.timeline_history(
	OUT timeline integer,
	OUT begin_lsn pg_lsn,
	OUT end_lsn pg_lsn)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgrepl_timeline_history'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.timeline_history() IS
'the history of this node''s timeline, oldest first: each timeline, where it began and where the next forked off it';

REVOKE ALL ON FUNCTION @extschema@.timeline_history() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.timeline_history() TO pg_monitor;

/*
 * Planned switchover (switchover.c).  switchover() is what an operator
 * calls on the primary; the three functions after it are what the
 * primary's monitor calls on its peers to hand its role over, and are to
 * be granted to the role peers log in as: hand_over() and
 * revoke_hand_over() on every voter, witnesses included, take_over() on
 * every data node.
 */
CREATE FUNCTION @extschema@.switchover(
	target name DEFAULT NULL,
	timeout interval DEFAULT '30 s',
	OUT new_primary text,
	OUT term bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_switchover'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.switchover(name, interval) IS
'on the primary: hand its role over to the target standby, or the most caught-up one, without losing a commit; fails, leaving this node the primary, if the target does not catch up within the timeout';

CREATE FUNCTION @extschema@.hand_over(
	leader text,
	term bigint,
	target text,
	handover bigint,
	valid_for_ms integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgrepl_hand_over'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.hand_over(text, bigint, text, bigint, integer) IS
'the primary leading the term, fenced, steps down in favour of the target: this voter may vote for it in the next term although it hears the primary; returns this node''s term';

CREATE FUNCTION @extschema@.revoke_hand_over(
	leader text,
	term bigint,
	handover bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgrepl_revoke_hand_over'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.revoke_hand_over(text, bigint, bigint) IS
'the old primary takes a failed hand-over back: this voter drops it and returns its term';

CREATE FUNCTION @extschema@.take_over(
	leader text,
	term bigint,
	handover bigint,
	lsn pg_lsn,
	stand boolean,
	OUT current_term bigint,
	OUT replay_lsn pg_lsn,
	OUT election text,
	OUT detail text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_take_over'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.take_over(text, bigint, bigint, pg_lsn, boolean) IS
'on the target of a switchover: how far it replayed, and with stand, stand for election in the next term now; returns its term, replay position, and how that election goes';

REVOKE ALL ON FUNCTION @extschema@.switchover(name, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.hand_over(text, bigint, text, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.revoke_hand_over(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.take_over(text, bigint, bigint, pg_lsn, boolean) FROM PUBLIC;

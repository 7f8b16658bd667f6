/* pgrepl--1.2--1.3.sql: upgrade pgrepl from 1.2 to 1.3 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgrepl UPDATE TO '1.3'" to load this file. \quit

/*
 * heartbeat gains rejoined_term: the term of the leader pgrepl_rejoin last
 * rewound or cloned this node from, so that the leader can record in
 * pgrepl.events that a standby whose WAL diverged rejoined, which nothing
 * else it sees tells apart from a standby that was only behind.  A monitor
 * that calls a peer still at 1.2 asks it for the columns of 1.2
 * (src/peers.c).
 *
 * Replacing the function would drop the EXECUTE grants an operator gave
 * the peers' role (README's pgrepl_peer), and every heartbeat to this node
 * would then fail for want of them: the new function is made under
 * another name, given the old one's grants, and renamed once the old one
 * is dropped.
 */
CREATE FUNCTION @extschema@.heartbeat_1_3(
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
	OUT leader boolean,
	OUT rejoined_term bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgrepl_heartbeat'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION @extschema@.heartbeat_1_3(text, bigint, boolean) FROM PUBLIC;

DO $$
DECLARE
	g record;
BEGIN
	FOR g IN
		SELECT a.grantee::pg_catalog.regrole::text AS grantee, a.is_grantable
		FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
		WHERE p.oid = '@extschema@.heartbeat(text, bigint, boolean)'::pg_catalog.regprocedure
		  AND a.privilege_type = 'EXECUTE'
		  AND a.grantee <> 0
		  AND a.grantee <> p.proowner
	LOOP
		EXECUTE pg_catalog.format(
			'GRANT EXECUTE ON FUNCTION @extschema@.heartbeat_1_3(text, bigint, boolean) TO %s%s',
			g.grantee, CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END
$$;

DROP FUNCTION @extschema@.heartbeat(text, bigint, boolean);
ALTER FUNCTION @extschema@.heartbeat_1_3(text, bigint, boolean) RENAME TO heartbeat;

COMMENT ON FUNCTION @extschema@.heartbeat(text, bigint, boolean) IS
'this node''s name, kind, role, timeline, WAL position, priority, term and leadership, and the term in which it last rejoined, for a peer''s monitor; adopts a higher term';

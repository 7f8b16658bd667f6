/* pgrepl--1.0--1.1.sql: upgrade pgrepl from 1.0 to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgrepl UPDATE TO '1.1'" to load this file. \quit

/*
 * Witnesses.  A witness is a PostgreSQL instance of its own, not a standby,
 * so WAL does not bring it the members' list: the primary's monitor copies
 * the list over by calling this function on the witness.  It writes the
 * witness's pgrepl.members as its owner, so the role peers log in as needs
 * no privilege on the table.
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

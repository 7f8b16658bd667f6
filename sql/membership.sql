--
-- membership: registering and unregistering the nodes of a cluster on its
-- primary, the history that leaves in pgrepl.events, and what the monitor
-- makes of the members in pgrepl.nodes.
--
-- The monitor reads pgrepl.members in the database pgrepl.database names,
-- "postgres" on the temporary instance, so this test installs pgrepl there
-- and works in it.  It drops it again at the end, once the monitor has
-- forgotten every peer, so that no other test sees a member whatever order
-- the tests run in; likewise it sets pgrepl.node_conninfo (ALTER SYSTEM)
-- only for as long as it takes the monitor to list this node.  Nothing
-- printed depends on time, pids, WAL positions, the port or the socket
-- directory.
--
\c postgres
CREATE EXTENSION pgrepl;

-- A connection string that reaches this very instance, for a member that
-- answers heartbeats under another name than it is registered with.  It
-- names the socket directory and port, so it is never printed.
SELECT format('host=%s port=%s dbname=postgres',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS self_conninfo \gset

-- Members are registered by an administrator role that is granted the
-- functions and may read the tables, but not write them: the functions
-- write the membership as their owner.  Its name is what the history
-- records as having registered a node.
CREATE ROLE regress_pgrepl_admin;
GRANT USAGE ON SCHEMA pgrepl TO regress_pgrepl_admin;
GRANT EXECUTE ON FUNCTION pgrepl.register_node(text, text, text),
                          pgrepl.unregister_node(text),
                          pgrepl.heartbeat(text)
    TO regress_pgrepl_admin;
GRANT SELECT ON pgrepl.members, pgrepl.events TO regress_pgrepl_admin;
GRANT pg_monitor TO regress_pgrepl_admin;
SET SESSION AUTHORIZATION regress_pgrepl_admin;

-- pgrepl.node_conninfo is not set, so the monitor does not list this
-- primary by itself: the cluster starts empty, with no history.
SELECT count(*) AS members FROM pgrepl.members;
SELECT count(*) AS events FROM pgrepl.events;

-- What a peer's monitor asks of this node.
SELECT node_name, kind, role,
       timeline = (SELECT timeline FROM pgrepl.status) AS timeline_is_current,
       wal_lsn <= pg_current_wal_flush_lsn() AS wal_lsn_ok,
       priority
FROM pgrepl.heartbeat('some_peer');

--
-- Registration.
--

-- A data node (the default kind), this node itself, a witness, and a node
-- with the longest name there may be.
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=2 dbname=postgres');
SELECT pgrepl.register_node('regress', 'host=127.0.0.1 port=3 dbname=postgres');
SELECT pgrepl.register_node('elsewhere', :'self_conninfo', 'witness');
SELECT pgrepl.register_node(rpad('z_', 63, 'z'),
                            'host=127.0.0.1 port=1 dbname=postgres', 'data');

-- Only a superuser may change how a registered member is reached: the
-- role peers log in as may add members, not redirect them.
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=1 dbname=postgres');
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=2 dbname=postgres', 'witness');

-- Registering a member again with another connection string, as a
-- superuser, updates it.
RESET SESSION AUTHORIZATION;
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=1 dbname=postgres');
SET SESSION AUTHORIZATION regress_pgrepl_admin;

-- Registering it again just as it is listed changes nothing, and records
-- nothing.
SELECT count(*) AS events_before FROM pgrepl.events \gset
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=1 dbname=postgres');
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=1 dbname=postgres', 'data');
SELECT count(*) - :events_before AS new_events FROM pgrepl.events;

SELECT node_name,
       kind,
       CASE WHEN conninfo = :'self_conninfo' THEN '(this instance)'
            ELSE conninfo END AS conninfo,
       registered_at <= now() AS registered_in_past
FROM pgrepl.members
ORDER BY node_name COLLATE "C";

SELECT node_name, event, term, detail
FROM pgrepl.events
ORDER BY event_id;

-- The administrator changes the membership only through the functions.
INSERT INTO pgrepl.members (node_name, conninfo) VALUES ('forged', 'host=x');
UPDATE pgrepl.members SET conninfo = 'host=x' WHERE node_name = 'node_b';
DELETE FROM pgrepl.members WHERE node_name = 'node_b';
INSERT INTO pgrepl.events (node_name, event) VALUES ('forged', 'forged');

-- Once pgrepl.node_conninfo says how peers reach it, the monitor of the
-- primary lists the primary itself as that, since nobody else can.
RESET SESSION AUTHORIZATION;
ALTER SYSTEM SET pgrepl.node_conninfo = :'self_conninfo';
SELECT pg_reload_conf();
SET regress_pgrepl.self_conninfo = :'self_conninfo';
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE (SELECT conninfo FROM pgrepl.members WHERE node_name = 'regress')
		  IS DISTINCT FROM current_setting('regress_pgrepl.self_conninfo')
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor did not list this node within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
ALTER SYSTEM RESET pgrepl.node_conninfo;
SELECT pg_reload_conf();
SET SESSION AUTHORIZATION regress_pgrepl_admin;

SELECT node_name, kind, conninfo = :'self_conninfo' AS listed_as_configured
FROM pgrepl.members
WHERE node_name = 'regress';
SELECT node_name, event, term, detail
FROM pgrepl.events
ORDER BY event_id DESC
LIMIT 1;

--
-- What the monitor knows of the members.
--

-- The monitor reads the members every tick and sends heartbeats to every
-- other one: node_b and the long-named node refuse connections, and
-- "elsewhere" answers as "regress".  Wait until each has failed.
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE (SELECT count(*) FROM pgrepl.nodes
		   WHERE NOT is_self AND NOT reachable AND failures > 0
			 AND last_error IS NOT NULL) < 3
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor did not find 3 unreachable peers within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

-- This node comes first, once, whether or not it is listed; then the other
-- members, none of which ever answered.
SELECT node_name, kind, is_self, reachable, role, priority, promotable,
       last_heartbeat IS NOT NULL AS has_heartbeat,
       timeline IS NOT NULL AS has_timeline,
       wal_lsn IS NOT NULL AS has_wal_lsn,
       lag_bytes,
       failures > 0 AS has_failed,
       last_error IS NOT NULL AS has_error
FROM pgrepl.nodes;

-- A server that answers, but as another node than the member registered
-- with its connection string, is not that member.  Each heartbeat fails
-- the same way, so this is what pgrepl.nodes says of it (unless one timed
-- out on a loaded machine: wait for the next one).  Why a refused
-- connection failed is libpq's wording, so it is not compared.
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
	expected text := 'its connection string reaches node "regress"';
	seen text;
BEGIN
	LOOP
		SELECT last_error INTO seen FROM pgrepl.nodes
		WHERE node_name = 'elsewhere';
		EXIT WHEN seen = expected;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'node "elsewhere" failed with "%", not "%"',
				seen, expected;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

--
-- Bad input: each call fails, and leaves members and history as they were.
--
CREATE TEMP TABLE members_before AS SELECT * FROM pgrepl.members;
SELECT count(*) AS events_before FROM pgrepl.events \gset

-- Node names: lowercase letters, digits and underscores, 1 to 63 of them.
SELECT pgrepl.register_node('Node-1', 'host=127.0.0.1 port=1');
SELECT pgrepl.register_node('node 1', 'host=127.0.0.1 port=1');
SELECT pgrepl.register_node('', 'host=127.0.0.1 port=1');
SELECT pgrepl.register_node(repeat('a', 64), 'host=127.0.0.1 port=1');

-- Kinds.
SELECT pgrepl.register_node('node_d', 'host=127.0.0.1 port=1', 'arbiter');
SELECT pgrepl.register_node('node_d', 'host=127.0.0.1 port=1', 'Data');

-- Connection strings must parse, and libpq's message, which may quote the
-- string, password and all, is not repeated.
SELECT pgrepl.register_node('node_d', 'nonsense');
SELECT pgrepl.register_node('node_d', 'host=''unterminated');
SELECT pgrepl.register_node('node_d', 'nohost=1 password=secret');
SELECT pgrepl.register_node('node_d', 'postgresql://[::1');
-- ... and fit in 1023 bytes.
SELECT pgrepl.register_node('node_d',
                            'host=127.0.0.1 application_name=' || repeat('x', 992));

-- Unregistering a node that is not a member, or by an invalid name.
SELECT pgrepl.unregister_node('nobody');
SELECT pgrepl.unregister_node('Bad Name');

-- This node is listed, but as the primary it cannot be removed.
SELECT pgrepl.unregister_node('regress');

-- A peer must name itself properly to get a heartbeat.
SELECT * FROM pgrepl.heartbeat('Bad Name');
SELECT * FROM pgrepl.heartbeat('');

-- The functions are strict: a NULL argument does nothing at all.
SELECT pgrepl.register_node(NULL, 'host=127.0.0.1 port=1');
SELECT pgrepl.register_node('node_d', NULL);
SELECT pgrepl.register_node('node_d', 'host=127.0.0.1 port=1', NULL);
SELECT pgrepl.unregister_node(NULL);

-- Nothing changed.
SELECT count(*) AS changed_members
FROM ((TABLE members_before EXCEPT TABLE pgrepl.members)
      UNION ALL
      (TABLE pgrepl.members EXCEPT TABLE members_before)) AS changed;
SELECT count(*) - :events_before AS new_events FROM pgrepl.events;
DROP TABLE members_before;

--
-- Removal.
--

-- Unregistering a member removes it and records that.
SELECT pgrepl.unregister_node('node_b');
SELECT node_name, kind FROM pgrepl.members ORDER BY node_name COLLATE "C";
SELECT node_name, event, term, detail
FROM pgrepl.events
ORDER BY event_id DESC
LIMIT 1;

-- It is no longer a member, so it cannot be removed twice.
SELECT pgrepl.unregister_node('node_b');

-- The monitor stops sending it heartbeats, and forgets it.
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE EXISTS (SELECT 1 FROM pgrepl.nodes WHERE node_name = 'node_b')
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor still knew node_b 60 seconds after it was unregistered';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
SELECT node_name, is_self FROM pgrepl.nodes;

--
-- Clean up: unregister the other peers and wait until the monitor knows
-- only this node, then drop the extension from this database.
--
SELECT pgrepl.unregister_node('elsewhere');
SELECT pgrepl.unregister_node(rpad('z_', 63, 'z'));
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE EXISTS (SELECT 1 FROM pgrepl.nodes WHERE NOT is_self)
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor still knew peers 60 seconds after they were unregistered';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
SELECT node_name, is_self FROM pgrepl.nodes;
SELECT node_name, event
FROM pgrepl.events
ORDER BY event_id;

-- The schema outlives the extension that created it: drop it too.
RESET SESSION AUTHORIZATION;
DROP EXTENSION pgrepl;
DROP SCHEMA pgrepl;
DROP ROLE regress_pgrepl_admin;
SELECT count(*) AS leftover_roles
FROM pg_roles
WHERE rolname LIKE 'regress_pgrepl%';

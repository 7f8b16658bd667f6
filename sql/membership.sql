--
-- membership: registering and unregistering the nodes of a cluster on its
-- primary, the history that leaves in pgrepl.events, what the monitor makes
-- of the members in pgrepl.nodes, and then, once this node is a member,
-- its term, its answers to vote requests, and its fencing.
--
-- The monitor reads pgrepl.members in the database pgrepl.database names,
-- "postgres" on the temporary instance, so this test installs pgrepl there
-- and works in it.  Nothing printed depends on time, pids, WAL positions,
-- the port or the socket directory.
--
-- The test runs in three acts, in an order forced by fencing:
--
-- 1. pgrepl.node_conninfo is not set, so this primary is no member of the
--    cluster it administers: the monitor runs no election logic and no
--    lease applies.  Members are registered, refused and unregistered
--    freely, although none of them is ever reachable.
-- 2. With every other member gone, pgrepl.node_conninfo is set and the
--    monitor lists this node: alone in its cluster, it leads term 1 and
--    needs no majority, and it refuses to vote for anybody else.
-- 3. A member that never answers is registered: this primary no longer
--    hears from a majority (two of two), so it fences itself
--    (PROTOCOL.md, rule 5) and no transaction that writes may commit any
--    more, not even one that would unregister that member again.  Then it
--    hears of a later term, and so stays fenced for good.
--
-- This test must therefore run last: it leaves the temporary instance
-- fenced, with pgrepl installed in "postgres".
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
-- records as having registered a node.  It also plays the part of a peer,
-- which asks for heartbeats and votes.
CREATE ROLE regress_pgrepl_admin;
GRANT USAGE ON SCHEMA pgrepl TO regress_pgrepl_admin;
GRANT EXECUTE ON FUNCTION pgrepl.register_node(text, text, text),
                          pgrepl.unregister_node(text),
                          pgrepl.heartbeat(text, bigint, boolean),
                          pgrepl.request_vote(text, bigint, integer, pg_lsn, boolean)
    TO regress_pgrepl_admin;
GRANT SELECT ON pgrepl.members, pgrepl.events TO regress_pgrepl_admin;
GRANT pg_monitor TO regress_pgrepl_admin;
SET SESSION AUTHORIZATION regress_pgrepl_admin;

--
-- Act 1: this node is not a member.
--

-- pgrepl.node_conninfo is not set, so the monitor does not list this
-- primary by itself: the cluster starts empty, with no history, and this
-- node has no term.
SELECT count(*) AS members FROM pgrepl.members;
SELECT count(*) AS events FROM pgrepl.events;
SELECT term, primary_node, fenced, fence_reason FROM pgrepl.status;

-- What a peer's monitor asks of this node, telling its own term (0: none
-- yet) and that it leads none.
SELECT node_name, kind, role,
       timeline = (SELECT timeline FROM pgrepl.status) AS timeline_is_current,
       wal_lsn <= pg_current_wal_flush_lsn() AS wal_lsn_ok,
       priority, term, leader
FROM pgrepl.heartbeat('some_peer', 0, false);

--
-- Registration.
--

-- A data node (the default kind), this node itself, a witness, and a node
-- with the longest name there may be.  This node is listed with another
-- connection string than its own (none), so it is still no member.
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
SELECT node_name, kind, is_self, reachable, role, priority, promotable, term,
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

-- None of these members is reachable, yet this primary is not fenced: it
-- is no member itself, so it holds no lease to lose.
SELECT term, fenced FROM pgrepl.status;

--
-- Bad input: each call fails, and leaves members, history and this node's
-- term as they were.
--
CREATE TEMP TABLE members_before AS SELECT * FROM pgrepl.members;
SELECT count(*) AS events_before FROM pgrepl.events \gset

-- Node names: lowercase letters, digits and underscores, 1 to 63 of them,
-- not beginning with "pgrepl_", which names pgrepl's own replication slots.
SELECT pgrepl.register_node('Node-1', 'host=127.0.0.1 port=1');
SELECT pgrepl.register_node('pgrepl_rewind', 'host=127.0.0.1 port=1');
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

-- This node is listed, and as the primary it cannot be removed.
SELECT pgrepl.unregister_node('regress');

-- A peer must name itself properly to get a heartbeat, and tell a term
-- that can be one.
SELECT * FROM pgrepl.heartbeat('Bad Name', 0, false);
SELECT * FROM pgrepl.heartbeat('', 0, false);
SELECT * FROM pgrepl.heartbeat('some_peer', -1, false);

-- A candidate must name itself properly, and stand in a term and on a
-- timeline that can be one.
SELECT * FROM pgrepl.request_vote('Bad Name', 1, 1, '0/0', true);
SELECT * FROM pgrepl.request_vote('node_b', 0, 1, '0/0', false);
SELECT * FROM pgrepl.request_vote('node_b', -1, 1, '0/0', true);
SELECT * FROM pgrepl.request_vote('node_b', 1, 0, '0/0', false);
SELECT * FROM pgrepl.request_vote('node_b', 1, -1, '0/0', true);

-- The functions are strict: a NULL argument does nothing at all.
SELECT pgrepl.register_node(NULL, 'host=127.0.0.1 port=1');
SELECT pgrepl.register_node('node_d', NULL);
SELECT pgrepl.register_node('node_d', 'host=127.0.0.1 port=1', NULL);
SELECT pgrepl.unregister_node(NULL);
SELECT pgrepl.heartbeat(NULL, 0, false) IS NULL AS no_sender,
       pgrepl.heartbeat('some_peer', NULL, false) IS NULL AS no_term,
       pgrepl.heartbeat('some_peer', 0, NULL) IS NULL AS no_leads;
SELECT pgrepl.request_vote(NULL, 1, 1, '0/0', false) IS NULL AS no_candidate,
       pgrepl.request_vote('node_b', NULL, 1, '0/0', false) IS NULL AS no_term,
       pgrepl.request_vote('node_b', 1, NULL, '0/0', false) IS NULL AS no_timeline,
       pgrepl.request_vote('node_b', 1, 1, NULL, false) IS NULL AS no_lsn,
       pgrepl.request_vote('node_b', 1, 1, '0/0', NULL) IS NULL AS no_dry_run;

-- Nothing changed.
SELECT count(*) AS changed_members
FROM ((TABLE members_before EXCEPT TABLE pgrepl.members)
      UNION ALL
      (TABLE pgrepl.members EXCEPT TABLE members_before)) AS changed;
SELECT count(*) - :events_before AS new_events FROM pgrepl.events;
SELECT term FROM pgrepl.status;
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

-- Unregister the other peers too, and wait until the monitor knows only
-- this node: act 2 needs a cluster of one.
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
SELECT node_name, kind FROM pgrepl.members;
SELECT node_name, event
FROM pgrepl.events
ORDER BY event_id;

--
-- Act 2: this node joins, alone.
--

-- Once pgrepl.node_conninfo says how peers reach it, the monitor of the
-- primary lists the primary itself as that, since nobody else can, and
-- from then on this node is a member: as the first primary of its
-- cluster it leads term 1 without an election.  Alone, it needs no
-- majority to stay unfenced.
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
	   OR NOT EXISTS (SELECT 1 FROM pgrepl.status
					  WHERE term = 1 AND primary_node = 'regress')
	   OR NOT EXISTS (SELECT 1 FROM pgrepl.events WHERE event = 'leading')
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor did not list this node as the leader of term 1 within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
SET SESSION AUTHORIZATION regress_pgrepl_admin;

SELECT node_name, kind, conninfo = :'self_conninfo' AS listed_as_configured
FROM pgrepl.members;
SELECT node_name, event, term, detail
FROM pgrepl.events
ORDER BY event_id DESC
LIMIT 2;
SELECT term, primary_node, fenced, fence_reason FROM pgrepl.status;
SELECT node_name, is_self, role, term FROM pgrepl.nodes;

-- Peers now hear that it leads term 1.
SELECT node_name, role, term, leader
FROM pgrepl.heartbeat('some_peer', 1, false);

-- A primary that leads its term refuses to vote for a successor, however
-- complete the candidate's WAL; and a refusal leaves its term as it was.
-- A pre-vote (dry run) must name a term past this node's.
SELECT * FROM pgrepl.request_vote('node_b', 2, 1, 'FFFFFFFF/FFFFFFFF', true);
SELECT * FROM pgrepl.request_vote('node_b', 2, 1, '0/0', false);
SELECT * FROM pgrepl.request_vote('node_b', 1, 1, 'FFFFFFFF/FFFFFFFF', true);
SELECT term, primary_node, fenced FROM pgrepl.status;

--
-- Act 3: a member that never answers, and fencing.
--

-- node_b is registered again, and never answers.  From the monitor's next
-- tick on, the cluster has two voters, a majority is both, and this
-- primary fences itself.  Wait for that before anything else, since
-- fencing also terminates the sessions that are in a write transaction.
SELECT pgrepl.register_node('node_b', 'host=127.0.0.1 port=1 dbname=postgres');
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE NOT (SELECT fenced FROM pgrepl.status)
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl did not fence this primary within 60 seconds of losing its majority';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

-- It still leads term 1, and says so to its peers, whose answers to its
-- heartbeats are what would renew its lease; but without that lease it
-- may not commit.
SELECT term, primary_node, fenced, fence_reason FROM pgrepl.status;
SELECT node_name, is_self, reachable, role, term FROM pgrepl.nodes;
SELECT node_name, role, term, leader
FROM pgrepl.heartbeat('some_peer', 1, false);

-- Reading still works; no transaction that wrote may commit, not even the
-- one that would undo the registration.
SELECT node_name FROM pgrepl.members ORDER BY node_name COLLATE "C";
SELECT pgrepl.register_node('node_c', 'host=127.0.0.1 port=1 dbname=postgres');
SELECT pgrepl.unregister_node('node_b');
RESET SESSION AUTHORIZATION;
CREATE TABLE fenced_write (a int);
BEGIN;
CREATE TEMP TABLE fenced_temp (a int);
INSERT INTO fenced_temp VALUES (1);
COMMIT;
SET SESSION AUTHORIZATION regress_pgrepl_admin;
SELECT node_name FROM pgrepl.members ORDER BY node_name COLLATE "C";
SELECT count(*) AS fenced_tables
FROM pg_class WHERE relname IN ('fenced_write', 'fenced_temp');

-- Fenced or not, a primary that leads its term votes for no successor:
-- if it is cut off from the others, they elect without it.  (Asked as a
-- dry run, which changes nothing either way.)
SELECT * FROM pgrepl.request_vote('node_b', 2, 1, 'FFFFFFFF/FFFFFFFF', true);
SELECT term FROM pgrepl.status;

-- A primary that hears of a later term was replaced: it adopts the term
-- at once, and stays fenced for good, whatever majority it may regain.
SELECT node_name, role, term, leader
FROM pgrepl.heartbeat('node_b', 2, true);
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE (SELECT fence_reason FROM pgrepl.status)
		  NOT LIKE 'Another node was elected%'
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl did not fence this primary as deposed within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
SELECT term, primary_node, fenced, fence_reason FROM pgrepl.status;

-- The history of the cluster, as this node wrote it: the fencing is not
-- in it, since no table is writable here any more.
SELECT node_name, event, term
FROM pgrepl.events
ORDER BY event_id;

-- Nor can the test clean up after itself: dropping the extension is a
-- write too.  Only settings still change, since ALTER SYSTEM writes a
-- file, not a table.  The instance stays fenced, with pgrepl installed in
-- "postgres" and regress_pgrepl_admin still there.
RESET SESSION AUTHORIZATION;
DROP EXTENSION pgrepl;
ALTER SYSTEM RESET pgrepl.node_conninfo;
SELECT pg_reload_conf();
SELECT extname FROM pg_extension WHERE extname = 'pgrepl';

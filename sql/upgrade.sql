--
-- upgrade: 1.0, the first version shipped, installs and works with this
-- build of the library, so do 1.1 and 1.2, and updating keeps the
-- cluster's membership and history, and the grants peers need.  A fresh
-- install runs the same path (1.0, then every update script), so setup
-- checks what the result is.
--
-- Runs before setup, which installs the extension the other tests use.
--
SELECT name, version
FROM pg_available_extension_versions
WHERE name = 'pgrepl'
ORDER BY version;

CREATE EXTENSION pgrepl VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pgrepl';

-- The 1.0 functions work with this library, before any update.
SELECT node_name, term >= 0 AS has_term, fenced IS NOT NULL AS has_fenced
FROM pgrepl.status;
SELECT count(*) >= 0 AS readable FROM pgrepl.nodes;

-- Rows an update must keep.
SELECT pgrepl.register_node('upgrade_test', 'host=localhost port=1', 'data');
SELECT count(*) AS events_before FROM pgrepl.events
WHERE node_name = 'upgrade_test' \gset

ALTER EXTENSION pgrepl UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'pgrepl';

SELECT node_name, kind, conninfo FROM pgrepl.members
WHERE node_name = 'upgrade_test';
SELECT count(*) = :events_before AS events_kept FROM pgrepl.events
WHERE node_name = 'upgrade_test';

-- What 1.1 added is there, and the status view has its new columns.
SELECT 'pgrepl.promote(boolean)'::regprocedure,
       'pgrepl.pause()'::regprocedure,
       'pgrepl.share_pause(text,boolean,bigint)'::regprocedure;
SELECT failover_paused, voters >= 1 AS has_voters FROM pgrepl.status;

-- What 1.2 added, whether this node must rejoin.
ALTER EXTENSION pgrepl UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'pgrepl';
SELECT needs_rejoin FROM pgrepl.status;

-- 1.2's heartbeat, with 8 columns, works with this library, which has 9.
SELECT node_name IS NOT NULL AS has_name, term >= 0 AS has_term
FROM pgrepl.heartbeat('upgrade_peer', 0, false);

-- On to the latest: 1.3 replaces the heartbeat with one that says in
-- which term this node last rejoined, and keeps the grants peers need.
CREATE ROLE regress_upgrade_peer;
GRANT EXECUTE ON FUNCTION pgrepl.heartbeat(text, bigint, boolean)
	TO regress_upgrade_peer;
ALTER EXTENSION pgrepl UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgrepl';
SELECT rejoined_term FROM pgrepl.heartbeat('upgrade_peer', 0, false);
SELECT has_function_privilege('regress_upgrade_peer',
	'pgrepl.heartbeat(text, bigint, boolean)', 'EXECUTE') AS peer_may_call,
       has_function_privilege('public',
	'pgrepl.heartbeat(text, bigint, boolean)', 'EXECUTE') AS public_may_call;
SELECT count(*) AS leftovers FROM pg_proc
WHERE proname LIKE 'heartbeat%' AND proname <> 'heartbeat'
  AND pronamespace = 'pgrepl'::regnamespace;
SELECT count(*) = 1 AS members_kept FROM pgrepl.members
WHERE node_name = 'upgrade_test';

DROP EXTENSION pgrepl;
DROP ROLE regress_upgrade_peer;
SELECT pg_drop_replication_slot('upgrade_test');

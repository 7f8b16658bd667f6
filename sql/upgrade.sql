--
-- upgrade: 1.0, the first version shipped, installs and works with this
-- build of the library, so does 1.1, and updating keeps the cluster's
-- membership and history.  A fresh install runs the same path (1.0, then
-- every update script), so setup checks what the result is.
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

-- On to the latest: what 1.2 added, whether this node must rejoin.
ALTER EXTENSION pgrepl UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgrepl';
SELECT needs_rejoin FROM pgrepl.status;
SELECT count(*) = 1 AS members_kept FROM pgrepl.members
WHERE node_name = 'upgrade_test';

DROP EXTENSION pgrepl;
SELECT pg_drop_replication_slot('upgrade_test');

--
-- status: what the monitor of a lone primary reports, and the column
-- surface of every view.
--
-- The temporary instance runs the monitor every 100ms as node "regress".
-- Nothing printed here may depend on time, pids or WAL positions: values
-- that vary are only compared, never shown.
--

-- The first sample may not have been taken yet: wait for it, up to a
-- deadline, and fail loudly if it never comes.
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM pgrepl.status
					  WHERE sample_time IS NOT NULL)
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor took no sample within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

-- Exactly one row, and it describes this primary.  pgrepl.node_conninfo
-- is not set, so this node is no member of a cluster: the monitor runs no
-- election logic for it, so it has seen no term (0), leads none, knows of
-- no primary, and is not fenced.  (membership.sql makes it a member.)
SELECT count(*) AS status_rows FROM pgrepl.status;

\x on
SELECT node_name,
       role,
       in_recovery,
       timeline = (SELECT timeline_id FROM pg_control_checkpoint())
           AS timeline_is_current,
       current_lsn <= pg_current_wal_lsn() AS current_lsn_ok,
       insert_lsn <= pg_current_wal_insert_lsn() AS insert_lsn_ok,
       flush_lsn <= pg_current_wal_flush_lsn() AS flush_lsn_ok,
       receive_lsn IS NULL AS no_receive_lsn,
       replay_lsn IS NULL AS no_replay_lsn,
       last_replay_time IS NULL AS no_last_replay_time,
       replay_lag_bytes IS NULL AS no_replay_lag_bytes,
       replay_lag IS NULL AS no_replay_lag,
       sample_time <= clock_timestamp() AS sample_time_past,
       sample_age >= interval '0' AND sample_age < interval '10 seconds'
           AS sample_age_small,
       term,
       primary_node,
       fenced,
       fence_reason
FROM pgrepl.status;
\x off

-- The pid shown is that of the one "pgrepl monitor" background worker.
SELECT count(*) AS monitors,
       bool_and(a.pid = s.worker_pid) AS worker_pid_matches,
       bool_and(a.datname = 'postgres') AS connected_to_pgrepl_database
FROM pg_stat_activity a, pgrepl.status s
WHERE a.backend_type = 'pgrepl monitor';

-- The monitor keeps sampling: a newer sample replaces this one.
DO $$
DECLARE
	first_sample timestamptz;
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	SELECT sample_time INTO STRICT first_sample FROM pgrepl.status;
	WHILE (SELECT sample_time FROM pgrepl.status) <= first_sample
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor took no new sample within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

-- What this node knows of the cluster: itself, first, as a lone primary.
-- No member is registered where the monitor reads pgrepl.members (the
-- database pgrepl.database names), so there is no other row.  The monitor
-- publishes this view just after its sample: wait for it too.
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM pgrepl.nodes WHERE is_self)
	LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'pgrepl monitor published no view of this node within 60 seconds';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

SELECT count(*) AS nodes FROM pgrepl.nodes;

\x on
SELECT node_name,
       kind,
       is_self,
       reachable,
       last_heartbeat <= clock_timestamp() AS last_heartbeat_past,
       heartbeat_age >= interval '0' AND heartbeat_age < interval '10 seconds'
           AS heartbeat_age_small,
       role,
       priority,
       promotable,
       term,
       timeline = (SELECT timeline_id FROM pg_control_checkpoint())
           AS timeline_is_current,
       wal_lsn <= pg_current_wal_flush_lsn() AS wal_lsn_ok,
       lag_bytes,
       failures,
       last_error IS NULL AS no_last_error
FROM pgrepl.nodes;
\x off

-- A lone primary has no standby, no WAL receiver and so no lag history.
SELECT count(*) AS replicas FROM pgrepl.replicas;
SELECT count(*) AS wal_receivers FROM pgrepl.wal_receiver;
SELECT count(*) AS lag_points FROM pgrepl.lag_history;

-- The columns of every view, in order, with their types.
SELECT c.relname AS view, a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'pgrepl'::regnamespace
  AND c.relkind = 'v'
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;

-- The columns of check_config(), which has no view.
SELECT a.ord, a.name, format_type(a.type, NULL) AS type, a.mode
FROM pg_proc p,
     unnest(p.proargnames, p.proallargtypes, p.proargmodes)
         WITH ORDINALITY AS a(name, type, mode, ord)
WHERE p.oid = 'pgrepl.check_config()'::regprocedure
ORDER BY a.ord;

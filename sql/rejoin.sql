--
-- rejoin: what a replaced primary uses to come back as a standby.
--
-- The temporary instance was never promoted: its history is timeline 1
-- alone, which began with the cluster and has not ended.
--
SELECT timeline, begin_lsn, end_lsn FROM pgrepl.timeline_history();

-- Peers must be granted it; pg_monitor may call it, PUBLIC may not.
CREATE ROLE regress_rejoin_nobody;
CREATE ROLE regress_rejoin_monitor IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA pgrepl TO regress_rejoin_nobody;
SET ROLE regress_rejoin_nobody;
SELECT * FROM pgrepl.timeline_history();
RESET ROLE;
SET ROLE regress_rejoin_monitor;
SELECT count(*) FROM pgrepl.timeline_history();
RESET ROLE;

-- pgrepl.rejoin_command: empty (manual) by default, changed by a reload,
-- hidden from whoever may not read all settings.
SELECT setting, context, vartype FROM pg_settings
WHERE name = 'pgrepl.rejoin_command';
SET pgrepl.rejoin_command = 'true';
SET ROLE regress_rejoin_nobody;
SHOW pgrepl.rejoin_command;
RESET ROLE;

-- Only the escapes it knows, %d %n %l %c and %%, are accepted.
ALTER SYSTEM SET pgrepl.rejoin_command = 'pgrepl_rejoin -D %d %x';
ALTER SYSTEM SET pgrepl.rejoin_command = 'pgrepl_rejoin -D %';
ALTER SYSTEM SET pgrepl.rejoin_command =
	'pgrepl_rejoin -D %d --source %c --node %n # rejoins %l, 100%%';
SELECT pg_reload_conf();
ALTER SYSTEM RESET pgrepl.rejoin_command;
SELECT pg_reload_conf();

REVOKE USAGE ON SCHEMA pgrepl FROM regress_rejoin_nobody;
DROP ROLE regress_rejoin_nobody;
DROP ROLE regress_rejoin_monitor;

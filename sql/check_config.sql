--
-- check_config: the settings pgrepl defines, how bad values are refused,
-- and the verdicts of pgrepl.check_config().
--
-- Only what regress.conf and initdb fix is printed: settings that differ
-- between machines (or that a packager may change) are not shown.
--

-- The pgrepl.* settings, their units, bounds and when they can change.
SELECT name, setting, unit, context, vartype, min_val, max_val, boot_val
FROM pg_settings
WHERE name LIKE 'pgrepl.%'
ORDER BY name COLLATE "C";

SHOW pgrepl.node_name;
SHOW pgrepl.monitor_interval;
SHOW pgrepl.node_kind;
SHOW pgrepl.priority;
SHOW pgrepl.heartbeat_interval;
SHOW pgrepl.failover;
SHOW pgrepl.failover_timeout;
SHOW pgrepl.maximum_lag_on_failover;

-- Settings that reload cannot be SET in a session.
SET pgrepl.monitor_interval = '1s';
SELECT set_config('pgrepl.monitor_interval', '1s', false);
SET pgrepl.heartbeat_interval = '1s';
SET pgrepl.priority = 0;
SET pgrepl.node_conninfo = 'host=localhost';
SET pgrepl.failover = off;
SET pgrepl.failover_timeout = '10s';
SET pgrepl.maximum_lag_on_failover = '1GB';

-- Bad values are refused wherever a value is checked; ALTER SYSTEM checks
-- and, as it fails, writes nothing.
ALTER SYSTEM SET pgrepl.monitor_interval = '-1';
ALTER SYSTEM SET pgrepl.monitor_interval = '0';
ALTER SYSTEM SET pgrepl.monitor_interval = '9ms';
ALTER SYSTEM SET pgrepl.monitor_interval = '2h';
ALTER SYSTEM SET pgrepl.monitor_interval = 'abc';
ALTER SYSTEM SET pgrepl.monitor_interval = '1 fortnight';
ALTER SYSTEM SET pgrepl.lag_history_size = 9;
ALTER SYSTEM SET pgrepl.lag_history_size = 86401;
ALTER SYSTEM SET pgrepl.lag_history_size = 'many';
ALTER SYSTEM SET pgrepl.node_name = 'Node-1';
ALTER SYSTEM SET pgrepl.node_name = 'node 1';
ALTER SYSTEM SET pgrepl.node_name = 'pgrepl_node';
ALTER SYSTEM SET pgrepl.node_name = 'a_name_longer_than_sixty_three_characters_is_not_a_valid_node_name';
ALTER SYSTEM SET pgrepl.heartbeat_interval = '9ms';
ALTER SYSTEM SET pgrepl.heartbeat_interval = '61s';
ALTER SYSTEM SET pgrepl.heartbeat_interval = 'often';
ALTER SYSTEM SET pgrepl.priority = -1;
ALTER SYSTEM SET pgrepl.priority = 1001;
ALTER SYSTEM SET pgrepl.priority = 'high';
ALTER SYSTEM SET pgrepl.node_kind = 'arbiter';
ALTER SYSTEM SET pgrepl.node_kind = '';
ALTER SYSTEM SET pgrepl.failover = 'maybe';
ALTER SYSTEM SET pgrepl.failover_timeout = '99ms';
ALTER SYSTEM SET pgrepl.failover_timeout = '11min';
ALTER SYSTEM SET pgrepl.failover_timeout = 'soon';
ALTER SYSTEM SET pgrepl.maximum_lag_on_failover = -1;
ALTER SYSTEM SET pgrepl.maximum_lag_on_failover = '1024TB';
ALTER SYSTEM SET pgrepl.maximum_lag_on_failover = 'little';
-- A connection string must parse.  libpq's own message is not repeated,
-- since it may quote the string, password and all.
ALTER SYSTEM SET pgrepl.node_conninfo = 'nonsense';
ALTER SYSTEM SET pgrepl.node_conninfo = 'host=''unterminated';
ALTER SYSTEM SET pgrepl.node_conninfo = 'nohost=1 password=secret';
ALTER SYSTEM SET pgrepl.node_conninfo = 'postgresql://[::1';

-- Settings fixed at server start cannot be changed in a session.
SET pgrepl.node_name = 'other';
SET pgrepl.database = 'regression';
SET pgrepl.lag_history_size = 100;
SET pgrepl.node_kind = 'witness';

-- The pgrepl prefix is reserved: a misspelt setting is an error, not a
-- silently created placeholder.
SET pgrepl.monitor_intervall = '1s';
SET pgrepl.typo = 'on';
SELECT set_config('pgrepl.typo', 'on', false);
SHOW pgrepl.typo;

-- The settings are unchanged.
SELECT name, setting
FROM pg_settings
WHERE name LIKE 'pgrepl.%'
ORDER BY name COLLATE "C";

-- The verdicts on this instance: regress.conf samples every 100ms, so the
-- default history of 3600 samples covers only six minutes; initdb leaves
-- hot_standby_feedback and wal_log_hints off.
SELECT name, recommended, ok, hint IS NULL AS no_hint
FROM pgrepl.check_config();

-- A hint comes with every failed check, and only with those.
SELECT name, hint
FROM pgrepl.check_config()
WHERE NOT ok
ORDER BY name COLLATE "C";

-- The values of the settings pgrepl itself defines or needs are known here.
SELECT name, setting
FROM pgrepl.check_config()
WHERE name LIKE 'pgrepl.%' OR name = 'shared_preload_libraries';

-- check_config() reads the session's settings.
SET synchronous_commit = local;
SELECT name, setting, ok, hint
FROM pgrepl.check_config()
WHERE name = 'synchronous_commit';
SET synchronous_commit = remote_apply;
SELECT name, setting, ok, hint
FROM pgrepl.check_config()
WHERE name = 'synchronous_commit';
RESET synchronous_commit;

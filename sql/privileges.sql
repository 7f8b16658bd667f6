--
-- privileges: nothing in pgrepl is for PUBLIC; pg_monitor may read all of
-- it but the membership table, whose connection strings may hold passwords,
-- and call none of the functions peers and administrators change or query
-- the cluster with.
--

-- Who holds which privilege on every object in the schema, besides its
-- owner (whose name depends on who ran initdb).  An object with no ACL has
-- its default one, in which PUBLIC may execute a function.
WITH objects(object, acl, owner) AS (
	SELECT 'schema ' || n.nspname, coalesce(n.nspacl, acldefault('n', n.nspowner)),
	       n.nspowner
	FROM pg_namespace n
	WHERE n.nspname = 'pgrepl'
	UNION ALL
	SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'v' THEN 'view '
	                      WHEN 'S' THEN 'sequence ' END || c.oid::regclass,
	       coalesce(c.relacl,
	                acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char",
	                           c.relowner)),
	       c.relowner
	FROM pg_class c
	WHERE c.relnamespace = 'pgrepl'::regnamespace
	  AND c.relkind IN ('r', 'v', 'S')
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure, coalesce(p.proacl, acldefault('f', p.proowner)),
	       p.proowner
	FROM pg_proc p
	WHERE p.pronamespace = 'pgrepl'::regnamespace
)
SELECT o.object,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
           COLLATE "C" AS grantee,
       string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
           AS privileges
FROM objects o, aclexplode(o.acl) a
WHERE a.grantee <> o.owner
GROUP BY o.object, a.grantee
ORDER BY o.object COLLATE "C", grantee;

CREATE ROLE regress_pgrepl_plain;
CREATE ROLE regress_pgrepl_watcher;
GRANT pg_monitor TO regress_pgrepl_watcher;

-- A plain role cannot even look into the schema.
SET ROLE regress_pgrepl_plain;
SELECT * FROM pgrepl.status;
SELECT * FROM pgrepl.replicas;
SELECT * FROM pgrepl.wal_receiver;
SELECT * FROM pgrepl.lag_history;
SELECT * FROM pgrepl.check_config();
SELECT * FROM pgrepl.nodes;
SELECT * FROM pgrepl.members;
SELECT * FROM pgrepl.events;
SELECT * FROM pgrepl.heartbeat('regress_peer', 0, false);
SELECT * FROM pgrepl.request_vote('regress_peer', 1, 1, '0/0', true);
SELECT pgrepl.register_node('intruder', 'host=127.0.0.1 port=1');
SELECT pgrepl.unregister_node('intruder');
RESET ROLE;

-- Nor, given the schema, any object in it: each table, view and function is
-- revoked from PUBLIC on its own.
GRANT USAGE ON SCHEMA pgrepl TO regress_pgrepl_plain;
SET ROLE regress_pgrepl_plain;
SELECT * FROM pgrepl.status;
SELECT * FROM pgrepl.replicas;
SELECT * FROM pgrepl.wal_receiver;
SELECT * FROM pgrepl.lag_history;
SELECT * FROM pgrepl.status();
SELECT * FROM pgrepl.replicas();
SELECT * FROM pgrepl.wal_receiver();
SELECT * FROM pgrepl.lag_history();
SELECT * FROM pgrepl.check_config();
SELECT * FROM pgrepl.nodes;
SELECT * FROM pgrepl.nodes();
SELECT * FROM pgrepl.members;
SELECT * FROM pgrepl.events;
SELECT * FROM pgrepl.heartbeat('regress_peer', 0, false);
SELECT * FROM pgrepl.request_vote('regress_peer', 1, 1, '0/0', true);
SELECT pgrepl.register_node('intruder', 'host=127.0.0.1 port=1');
SELECT pgrepl.unregister_node('intruder');
-- Nor can it see how this node is reached, which may hold a password.
SHOW pgrepl.node_conninfo;
SELECT count(*) AS visible_conninfo_settings
FROM pg_settings WHERE name = 'pgrepl.node_conninfo';
RESET ROLE;
REVOKE USAGE ON SCHEMA pgrepl FROM regress_pgrepl_plain;

-- A member of pg_monitor reads every view and the history, and calls every
-- function behind the views.
SET ROLE regress_pgrepl_watcher;
SELECT node_name, role, in_recovery, worker_pid IS NOT NULL AS has_worker_pid
FROM pgrepl.status;
SELECT count(*) AS replicas FROM pgrepl.replicas;
SELECT count(*) AS wal_receivers FROM pgrepl.wal_receiver;
SELECT count(*) AS lag_points FROM pgrepl.lag_history;
SELECT node_name, role FROM pgrepl.status();
SELECT count(*) AS replicas FROM pgrepl.replicas();
SELECT count(*) AS wal_receivers FROM pgrepl.wal_receiver();
SELECT count(*) AS lag_points FROM pgrepl.lag_history();
SELECT count(*) AS checks FROM pgrepl.check_config();
SELECT node_name, is_self, role FROM pgrepl.nodes;
SELECT node_name, is_self, role FROM pgrepl.nodes();
SELECT count(*) >= 0 AS events_readable FROM pgrepl.events;
RESET ROLE;

-- Nor may it see the membership table, whose connection strings may hold
-- passwords, nor act as a peer or an administrator of the cluster: asking
-- for a heartbeat or a vote, registering and unregistering nodes take a
-- role granted those functions on purpose.
SET ROLE regress_pgrepl_watcher;
SELECT * FROM pgrepl.members;
SELECT * FROM pgrepl.heartbeat('regress_peer', 0, false);
SELECT * FROM pgrepl.request_vote('regress_peer', 1, 1, '0/0', true);
SELECT pgrepl.register_node('intruder', 'host=127.0.0.1 port=1');
SELECT pgrepl.unregister_node('intruder');
INSERT INTO pgrepl.events (node_name, event) VALUES ('intruder', 'forged');
RESET ROLE;

-- pgrepl.node_conninfo is readable by pg_read_all_settings, and so by
-- pg_monitor, like primary_conninfo: that is PostgreSQL's rule for
-- superuser-only settings.  Unset here, it shows as empty.
SET ROLE regress_pgrepl_watcher;
SHOW pgrepl.node_conninfo;
RESET ROLE;

-- pg_monitor may read, not change: its members cannot alter what pgrepl
-- installed.
SET ROLE regress_pgrepl_watcher;
CREATE OR REPLACE VIEW pgrepl.status AS SELECT 1 AS one;
CREATE FUNCTION pgrepl.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1';
RESET ROLE;

DROP ROLE regress_pgrepl_plain;
DROP ROLE regress_pgrepl_watcher;
SELECT count(*) AS leftover_roles
FROM pg_roles
WHERE rolname LIKE 'regress_pgrepl%';

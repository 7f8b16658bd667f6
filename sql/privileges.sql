--
-- privileges: nothing in pgrepl is for PUBLIC; pg_monitor may read it all.
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
	SELECT 'view ' || c.oid::regclass, coalesce(c.relacl, acldefault('r', c.relowner)),
	       c.relowner
	FROM pg_class c
	WHERE c.relnamespace = 'pgrepl'::regnamespace
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
RESET ROLE;

-- Nor, given the schema, any object in it: each view and each function is
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
RESET ROLE;
REVOKE USAGE ON SCHEMA pgrepl FROM regress_pgrepl_plain;

-- A member of pg_monitor reads every view and calls every function.
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

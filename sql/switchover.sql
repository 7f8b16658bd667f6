--
-- switchover: pgrepl.switchover() and the peer functions behind it, on a
-- single node that is no member of a cluster: the errors an operator or a
-- confused peer gets, and who may call what.  Switchovers themselves are
-- tested on real clusters (t/017_switchover.pl).
--

-- The timeout is checked first: it must be positive and at most an hour.
SELECT * FROM pgrepl.switchover(NULL, NULL);
SELECT * FROM pgrepl.switchover(NULL, '0 s');
SELECT * FROM pgrepl.switchover(NULL, '-1 s');
SELECT * FROM pgrepl.switchover(NULL, '61 min');
SELECT * FROM pgrepl.switchover(NULL, '1 day');
SELECT * FROM pgrepl.switchover(NULL, '1 mon');

-- A primary that is no member of a cluster has no one to hand over to.
SELECT * FROM pgrepl.switchover();
SELECT * FROM pgrepl.switchover('node2', '10 s');

-- What peers call: bad input, and calls from nodes this one does not know.
SELECT pgrepl.hand_over('Bad Name', 1, 'node2', 1, 100);
SELECT pgrepl.hand_over('node1', 1, 'Bad Name', 1, 100);
SELECT pgrepl.hand_over('node1', 1, 'node2', 0, 100);
SELECT pgrepl.hand_over('node1', 1, 'node2', 1, 0);
SELECT pgrepl.hand_over('node1', 1, 'node2', 1, 600001);
SELECT pgrepl.hand_over('node1', 1, 'node1', 1, 100);
SELECT pgrepl.hand_over('node1', 1, 'node2', 1, 100);
SELECT pgrepl.revoke_hand_over('node1', 0, 1);
SELECT pgrepl.revoke_hand_over('node1', 1, 0);
SELECT pgrepl.revoke_hand_over('node1', 1, 1);
SELECT * FROM pgrepl.take_over('node1', 1, 0, '0/0', false);
SELECT * FROM pgrepl.take_over('node1', 1, 1, '0/0', false);

-- Nothing here is for PUBLIC, nor for pg_monitor.
CREATE ROLE regress_switchover_watcher;
GRANT pg_monitor TO regress_switchover_watcher;
GRANT USAGE ON SCHEMA pgrepl TO regress_switchover_watcher;
SET ROLE regress_switchover_watcher;
SELECT * FROM pgrepl.switchover();
SELECT pgrepl.hand_over('node1', 1, 'node2', 1, 100);
SELECT pgrepl.revoke_hand_over('node1', 1, 1);
SELECT * FROM pgrepl.take_over('node1', 1, 1, '0/0', false);
RESET ROLE;
REVOKE USAGE ON SCHEMA pgrepl FROM regress_switchover_watcher;
DROP ROLE regress_switchover_watcher;

-- Nothing was fenced by any of this.
SELECT fenced, term FROM pgrepl.status;

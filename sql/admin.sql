--
-- admin: what operators call (promote, pause, resume) and the peer
-- functions behind them, on a single node: errors, notices and the state
-- they leave.  Failover itself is tested on real clusters in t/.
--

-- A primary is no standby to promote.
SELECT pgrepl.promote();
SELECT pgrepl.promote(force => true);

-- Pausing shows in the status at once, and twice is only a notice.
SELECT failover_paused FROM pgrepl.status;
SELECT pgrepl.pause();
SELECT failover_paused FROM pgrepl.status;
SELECT pgrepl.pause();
SELECT pgrepl.resume();
SELECT failover_paused FROM pgrepl.status;
SELECT pgrepl.resume();

-- A peer's older setting is not taken; a stranger's is answered, ignored.
SELECT paused FROM pgrepl.share_pause('regress', true, 1);
SELECT paused FROM pgrepl.share_pause('stranger', true, 9223372036854775807);
SELECT failover_paused FROM pgrepl.status;

-- Bad input.
SELECT pgrepl.share_pause('regress', true, 0);
SELECT pgrepl.share_pause('Bad Name', true, 1);
SELECT pgrepl.copy_members('regress', 1, '{regress}', '{data}', '{host=x}');

-- Quorum mode's opt-out, on the primary, for members only.
SELECT pgrepl.set_synchronous('nobody', false);
SELECT pgrepl.register_node('sync_test', 'host=localhost port=1');
SELECT pgrepl.set_synchronous('sync_test', false);
SELECT pgrepl.set_synchronous('sync_test', false);
SELECT synchronous FROM pgrepl.members WHERE node_name = 'sync_test';
SELECT event, detail LIKE 'by %' AS by_someone FROM pgrepl.events
WHERE node_name = 'sync_test' AND event LIKE '%synchronous%';
SELECT pgrepl.unregister_node('sync_test');
SELECT synchronous_mode, sync_quorum, sync_standbys FROM pgrepl.status;

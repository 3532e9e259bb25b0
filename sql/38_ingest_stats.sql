-- Ingest statistics: cometchat.ingest_stats counts deliveries per app and
-- kind (accepted, duplicate, rejected) when their transaction commits, and
-- cometchat.reset_ingest_stats() forgets them.  The test cluster preloads
-- the library (test/scripts/ingest_stats.sh covers four clients at once, a
-- crash and a server without it).  cometchat.delivery_lag: per app and hour.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

SELECT cometchat.reset_ingest_stats() >= 0 AS reset;
SELECT count(*) FROM cometchat.ingest_stats;

-- Accepted, a duplicate, the copy a second webhook sends (an event of its
-- own: accepted), an invalid payload of a known app and kind, a body that is
-- not JSON.
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'M1', 1700038800),
                    pg_temp.started('meeting_started', 'M1', 1700038800),
                    pg_temp.started('meeting_started', 'M1', 1700038800, 'wh2'),
                    pg_temp.joined('meeting_participant_joined', 'M1', 'A', 1700038801),
                    pg_temp.initiated('401', 'a_user_b', 'a', 'b', 1700038800, 'S1', app => 'app2'));
INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "meeting_ended", "appId": "app1", "data": {}}');
SELECT status FROM cometchat.ingest_raw('{not json');
SELECT app_id, kind, accepted, duplicate, rejected FROM cometchat.ingest_stats ORDER BY app_id, kind;

-- Counted at commit: a rolled-back transaction and savepoint count nothing.
BEGIN;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'M1', 'B', 1700038802));
SELECT sum(accepted) AS accepted_before_commit FROM cometchat.ingest_stats;
ROLLBACK;
BEGIN;
SAVEPOINT a;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'M1', 'C', 1700038803));
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'M1', 'D', 1700038804));
RELEASE SAVEPOINT b;
COMMIT;
SELECT app_id, kind, accepted, duplicate, rejected FROM cometchat.ingest_stats
WHERE kind = 'meeting_participant_joined';
SELECT count(*) FILTER (WHERE since <= now()) = count(*) AS since_in_the_past FROM cometchat.ingest_stats;

-- COPY counts too.
COPY cometchat.events (payload) FROM STDIN;
{"trigger": "meeting_started", "data": {"created_at": 1700038800, "sessionId": "M1"}, "appId": "app1", "region": "us", "webhook": "wh1", "type": "meet"}
{"trigger": "meeting_ended", "data": {"created_at": 1700038800, "destroyed_at": 1700039400, "sessionId": "M1", "all_occupants": []}, "appId": "app1", "region": "us", "webhook": "wh1", "type": "meet"}
\.
SELECT app_id, kind, accepted, duplicate, rejected FROM cometchat.ingest_stats
WHERE kind IN ('meeting_started', 'meeting_ended') ORDER BY kind;

-- Reset: this database's rows are gone.
SELECT cometchat.reset_ingest_stats() AS removed;
SELECT count(*) FROM cometchat.ingest_stats;

-- Delivery lag: received_at - occurred_at per app and hour of arrival.
SELECT app_id, events, median_lag > interval '1 day' AS old_events, max_lag >= p95_lag AND p95_lag >= median_lag AS ordered
FROM cometchat.delivery_lag ORDER BY app_id;

-- Readers: grant_reader() gives both views; per-app security applies to them.
CREATE ROLE regress_cc38_reader;
SELECT s AS statement FROM cometchat.grant_reader('regress_cc38_reader') s
WHERE s ~ 'ingest_stats|delivery_lag';
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'M2', 1700038900),
                    pg_temp.initiated('402', 'a_user_b', 'a', 'b', 1700038800, 'S2', app => 'app2'));
INSERT INTO cometchat.app_access (role_name, app_id) VALUES ('regress_cc38_reader', 'app1');
SELECT cometchat.enable_app_security();
SET ROLE regress_cc38_reader;
SELECT app_id, kind, accepted FROM cometchat.ingest_stats ORDER BY app_id, kind;
SELECT app_id, events FROM cometchat.delivery_lag ORDER BY app_id;
SELECT cometchat.reset_ingest_stats();
RESET ROLE;
SELECT cometchat.enable_app_security(false);
DELETE FROM cometchat.app_access;
SELECT count(*) > 0 AS revoked FROM cometchat.revoke_reader('regress_cc38_reader');
DROP ROLE regress_cc38_reader;

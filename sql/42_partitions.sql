-- The ledger partitioned by event time (1.5): rows routed by
-- cometchat.event_time(payload), the default partition for events without a
-- time and for ranges without a partition, cometchat.create_partitions()
-- moving those out, cometchat.retire_partitions() detaching old ranges while
-- the lifecycle rows stay, and rebuild()/verify() after a retirement.
SET TIME ZONE 'UTC';
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- A meeting in March 2025 and one in April 2025 (start, join, leave, end),
-- and an event of an unknown trigger (no time).
CREATE TEMP TABLE feed AS
SELECT m, jsonb_build_object('trigger', t.trigger, 'type', 'meet', 'appId', 'parts', 'region', 'eu',
                             'webhook', 'w1', 'data', t.data) AS payload
FROM (VALUES (1, 1741000000), (2, 1744000000)) AS v(m, at),
LATERAL (VALUES
  ('meeting_started', jsonb_build_object('sessionId', 'room' || m, 'created_at', at)),
  ('meeting_participant_joined', jsonb_build_object('sessionId', 'room' || m,
      'occupant', jsonb_build_object('name', 'Ann', 'joined_at', at + 5, 'audio_call', 'false'))),
  ('meeting_participant_left', jsonb_build_object('sessionId', 'room' || m,
      'occupant', jsonb_build_object('name', 'Ann', 'joined_at', at + 5, 'left_at', at + 60))),
  ('meeting_ended', jsonb_build_object('sessionId', 'room' || m, 'created_at', at,
      'destroyed_at', at + 90, 'all_occupants', '[]'::jsonb))) AS t(trigger, data);
INSERT INTO cometchat.events (payload) SELECT payload FROM feed ORDER BY m;
INSERT INTO cometchat.events (payload)
VALUES ('{"trigger": "call_transcribed", "appId": "parts", "webhook": "w1", "data": {}}');

-- The partition key is the event time the trigger stores.
SELECT count(*) AS events, count(*) FILTER (WHERE cometchat.event_time(payload) IS NOT DISTINCT FROM occurred_at) AS keyed_by_time
FROM cometchat.events;
SELECT cometchat.event_time('{"trigger": "meeting_started"}') AS invalid_has_no_time;

-- No partition but the default one yet: everything is there.
SELECT tableoid::regclass AS part, count(*) FROM cometchat.events GROUP BY 1 ORDER BY 1;

-- create_partitions() makes the ranges of the waiting events and moves them
-- (and the months from now on, left out of this output).
SELECT partition_name, range_from, range_to, moved
FROM cometchat.create_partitions(ahead => '0 days') WHERE range_from < '2026-01-01';
SELECT tableoid::regclass AS part, count(*) FROM cometchat.events GROUP BY 1 ORDER BY 1;
SELECT partition_name, range_from, range_to, is_default
FROM cometchat.ledger_partitions() WHERE range_from < '2026-01-01' OR is_default;
-- Nothing to do a second time.
SELECT count(*) FROM cometchat.create_partitions(ahead => '0 days');

-- New events go to their partition; duplicates of events in any partition
-- are skipped, by INSERT, ingest() and COPY alike; an invalid payload is
-- quarantined from the default partition.
INSERT INTO cometchat.events (payload) SELECT payload FROM feed;
SELECT status FROM feed f, cometchat.ingest(f.payload) ORDER BY m LIMIT 2;
\copy (SELECT payload FROM feed) TO '/tmp/cometchat_partitions_test.copy'
\copy cometchat.events (payload) FROM '/tmp/cometchat_partitions_test.copy'
\! rm -f /tmp/cometchat_partitions_test.copy
INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "meeting_started", "appId": "parts"}');
SELECT count(*) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected FROM cometchat.events;
-- A day partition beside months: the day's range is taken by its month.
SELECT count(*) FROM cometchat.create_partitions('0 days', 'day') WHERE range_from < '2026-01-01';
SELECT * FROM cometchat.create_partitions('0 days', 'fortnight');
SELECT * FROM cometchat.verify();

-- Retiring March 2025: the partition goes, the lifecycle rows stay.
CREATE TEMP TABLE lifecycle_before AS
SELECT 'sessions' AS t, to_jsonb(s) AS r FROM cometchat.sessions s
UNION ALL SELECT 'participants', to_jsonb(p) FROM cometchat.participants p;
SELECT cometchat.retired_before() AS horizon_before;
SELECT partition_name, range_from, range_to, dropped
FROM cometchat.retire_partitions(now() - '2025-04-01'::timestamptz);
SELECT partition_name, range_from, range_to, dropped FROM cometchat.retired_partitions;
SELECT cometchat.retired_before() AS horizon;
SELECT to_regclass('cometchat.events_p20250301') AS dropped_table;
SELECT tableoid::regclass AS part, count(*) FROM cometchat.events GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM lifecycle_before) AS rows_before,
       (SELECT count(*) FROM (SELECT * FROM lifecycle_before EXCEPT ALL
                              (SELECT 'sessions', to_jsonb(s) FROM cometchat.sessions s
                               UNION ALL SELECT 'participants', to_jsonb(p) FROM cometchat.participants p)) x) AS lost;

-- verify() and rebuild() cover what began at or after the horizon, and
-- leave the rest as it is.
SELECT * FROM cometchat.verify();
SELECT cometchat.rebuild() AS replayed;
SELECT (SELECT count(*) FROM (SELECT * FROM lifecycle_before EXCEPT ALL
                              (SELECT 'sessions', to_jsonb(s) FROM cometchat.sessions s
                               UNION ALL SELECT 'participants', to_jsonb(p) FROM cometchat.participants p)) x) AS lost;
SELECT session_id, started_at, ended_at, participant_count FROM cometchat.sessions ORDER BY started_at;

-- A redelivery of a retired event is accepted again (into the default
-- partition, its range having none), and changes no lifecycle row.
SELECT status FROM feed f, cometchat.ingest(f.payload) WHERE m = 1 ORDER BY 1 LIMIT 1;
SELECT tableoid::regclass AS part, count(*) FROM cometchat.events GROUP BY 1 ORDER BY 1;
SELECT * FROM cometchat.verify();

-- Handed back for archiving: detached, not dropped.
SELECT partition_name, dropped FROM cometchat.retire_partitions(now() - '2025-05-01'::timestamptz, drop_them => false);
SELECT c.relkind, c.relispartition, (SELECT count(*) FROM cometchat.events_p20250401) AS archived_rows
FROM pg_class c WHERE c.oid = 'cometchat.events_p20250401'::regclass;
DROP TABLE cometchat.events_p20250401;
SELECT * FROM cometchat.verify();

-- A partition made by hand, without the keys create_partitions() gives:
-- refused (the probe has no index to read), but for a restore, which pg_dump
-- marks with check_function_bodies = off and whose keys follow the rows.
CREATE TABLE cometchat.events_handmade (LIKE cometchat.events);
ALTER TABLE cometchat.events ATTACH PARTITION cometchat.events_handmade
    FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
\set VERBOSITY terse
INSERT INTO cometchat.events (payload)
SELECT jsonb_set(jsonb_set(payload, '{data,sessionId}', '"handmade"'), '{data,created_at}', '1704067200')
FROM feed WHERE m = 1 AND payload->>'trigger' = 'meeting_started';
SET check_function_bodies = off;
INSERT INTO cometchat.events (payload)
SELECT jsonb_set(jsonb_set(payload, '{data,sessionId}', '"handmade"'), '{data,created_at}', '1704067200')
FROM feed WHERE m = 1 AND payload->>'trigger' = 'meeting_started';
RESET check_function_bodies;
\set VERBOSITY default
SELECT tableoid::regclass AS part, session_id FROM cometchat.events WHERE session_id = 'handmade';
DROP TABLE cometchat.events_handmade;

-- Before a history import: its months made first (since), so that its
-- events go straight to them; a start in the future is refused.
SELECT partition_name, range_from, range_to
FROM cometchat.create_partitions(ahead => '0 days', since => '2024-10-15') WHERE range_from < '2025-03-01';
INSERT INTO cometchat.events (payload)
SELECT jsonb_set(jsonb_set(payload, '{data,sessionId}', '"history"'), '{data,created_at}', '1733011200')
FROM feed WHERE m = 1 AND payload->>'trigger' = 'meeting_started';
SELECT tableoid::regclass AS part, session_id FROM cometchat.events WHERE session_id = 'history';
SELECT * FROM cometchat.create_partitions(since => now() + interval '1 day');
SELECT * FROM cometchat.create_partitions(lock_wait => NULL);

-- Leave the ledger as the tests after this one expect it: the default
-- partition alone (the months from now on are empty), no retirement.
\set ECHO none
\i test/sql/drop_partitions.sql
\set ECHO all
SELECT cometchat.rebuild() AS replayed;
SELECT partition_name, is_default FROM cometchat.ledger_partitions();
SELECT * FROM cometchat.verify();

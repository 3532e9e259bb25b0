-- Finding an event by what the user has.  The ledger stores the SHA-256 of
-- the key text (cometchat.idempotency_key()), unique with occurred_at;
-- cometchat.find_event(payload) and cometchat.find_event_by_key(key text)
-- find the stored event, as a cometchat.event_log row, by one probe of that
-- unique index each (the key text names its time among its parts).  Every
-- kind, the unknown one included; a reformatted delivery finds the same
-- event, another webhook's delivery does not; a payload never stored finds
-- nothing; an invalid payload or a malformed key is an error that says why.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all
\set VERBOSITY default
\set SHOW_CONTEXT never

-- One event of every kind (and one of kind unknown), with a participant
-- name that needs escaping in the key text.
CREATE TEMP TABLE sample (n int, payload jsonb);
INSERT INTO sample VALUES
  (1, pg_temp.initiated('501', 'u1_user_u2', 'u1', 'u2', 1700038800, 'v1.us.app1.s1')),
  (2, pg_temp.started('call_started', 'v1.us.app1.s1', 1700038805)),
  (3, pg_temp.joined('call_participant_joined', 'v1.us.app1.s1', 'u1', 1700038805)),
  (4, pg_temp.joined('call_participant_joined', 'v1.us.app1.s1', E'Zoë "Z" O\\''Brien\t(2)', 1700038806)),
  (5, pg_temp.left('call_participant_left', 'v1.us.app1.s1', 'u1', 1700038805, 1700038900)),
  (6, pg_temp.ended('call_ended', 'v1.us.app1.s1', 1700038805, 1700038910)),
  (7, pg_temp.outcome('busy', '503', 'u1_user_u3', 'u3', 'u1', 1700039003)),
  (8, pg_temp.outcome('cancelled', '505', 'u1_user_u4', 'u1', 'u4', 1700039030)),
  (9, pg_temp.outcome('rejected', '507', 'u1_user_u5', 'u5', 'u1', 1700039006)),
  (10, pg_temp.outcome('unanswered', '509', 'u1_user_u6', 'u1', 'u6', 1700039045)),
  (11, pg_temp.started('meeting_started', 'standup', 1700040000)),
  (12, pg_temp.joined('meeting_participant_joined', 'standup', 'Ann', 1700040001)),
  (13, pg_temp.left('meeting_participant_left', 'standup', 'Ann', 1700040001, 1700040600)),
  (14, pg_temp.ended('meeting_ended', 'standup', 1700040000, 1700040610)),
  (15, pg_temp.recording('standup', 1700040010, '590.000000', 'https://example.com/standup.mp4')),
  (16, '{"trigger": "transcription_generated", "data": {"sessionId": "standup", "tid": "t1"}, "appId": "app1", "webhook": "wh1"}');
SELECT n, (cometchat.ingest(payload)).status FROM sample ORDER BY n;

-- The stored key is the SHA-256 of the key text.
SELECT s.n, e.kind, cometchat.idempotency_key(s.payload) AS key_text,
       e.idempotency_key = sha256(convert_to(cometchat.idempotency_key(s.payload), 'UTF8')) AS stored_is_its_sha256
FROM sample s JOIN cometchat.events e ON e.payload = s.payload ORDER BY s.n;

-- Each is found by its payload and by its key text.
SELECT s.n, e.id AS stored_id,
       (SELECT array_agg(f.event_id) FROM cometchat.find_event(s.payload) f) AS by_payload,
       (SELECT array_agg(f.event_id) FROM cometchat.find_event_by_key(cometchat.idempotency_key(s.payload)) f) AS by_key
FROM sample s JOIN cometchat.events e ON e.payload = s.payload ORDER BY s.n;
-- A found row is the event_log row, payload left out.
SELECT event_id, app_id, region, webhook, trigger, kind, flow, session_id, call_id, occurred_at,
       idempotency_key, replace(detail, E'\t', '\t') AS detail
FROM cometchat.find_event((SELECT payload FROM sample WHERE n = 4));
SELECT event_id, kind, occurred_at, detail
FROM cometchat.find_event_by_key('["app1","wh1","call_busy","503","1700039003"]');

-- The same event, written differently (key order, spacing, an id as a
-- number, a time as a string where that is allowed): the same key, found.
SELECT event_id, kind FROM cometchat.find_event(
  '{"webhook":"wh1","appId":"app1","trigger":"recording_generated","region":"us",
    "data":{"sessionId":"standup","startTime":"1700040010","duration":"590.000000",
            "recording_url":"https://example.com/standup.mp4","recordingDate":"2023-11-15"}}');
-- The same event delivered by another webhook is another key: not stored yet.
SELECT count(*) AS found FROM cometchat.find_event(pg_temp.started('meeting_started', 'standup', 1700040000, 'wh2'));
SELECT (cometchat.ingest(pg_temp.started('meeting_started', 'standup', 1700040000, 'wh2'))).event_id AS stored_as;
SELECT event_id, webhook FROM cometchat.find_event(pg_temp.started('meeting_started', 'standup', 1700040000, 'wh2'));
-- Never stored: nothing, by payload or by key.
SELECT count(*) AS found FROM cometchat.find_event(pg_temp.started('meeting_started', 'standup', 1700099999));
SELECT count(*) AS found FROM cometchat.find_event_by_key('["app1","wh1","meeting_started","standup","1700099999"]');
SELECT count(*) AS found FROM cometchat.find_event_by_key('["app1","wh1","transcription_generated","sha256:00"]');
SELECT count(*) AS found FROM cometchat.find_event(NULL), cometchat.find_event_by_key(NULL);

-- Errors.
SELECT * FROM cometchat.find_event('{"trigger": "call_started", "data": {"sessionId": "x"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh1"}');
SELECT * FROM cometchat.find_event('[1, 2]');
SELECT * FROM cometchat.find_event_by_key('app1/wh1/call_busy/503');
SELECT * FROM cometchat.find_event_by_key('{"appId": "app1"}');
SELECT * FROM cometchat.find_event_by_key('["app1","wh1","call_busy"]');
SELECT * FROM cometchat.find_event_by_key('["app1","wh1","call_busy",503,1700039003]');

-- One probe of the unique index each, never a scan of the ledger: with
-- sequential scans made a last resort, the ledger's rows read by a lookup
-- of each kind, counted by the session's statistics (they move at
-- statements' ends).
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT seq_scan AS seq0, seq_tup_read AS sread0, idx_tup_fetch AS ifetch0
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger \gset
SELECT count(*) AS found FROM sample s, cometchat.find_event(s.payload);
SELECT seq_scan - :seq0 AS seq_scans, seq_tup_read - :sread0 + idx_tup_fetch - :ifetch0 AS rows_read,
       (SELECT count(*) FROM cometchat.events) AS ledger_rows
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger;
SELECT seq_scan AS seq0, seq_tup_read AS sread0, idx_tup_fetch AS ifetch0
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger \gset
SELECT count(*) AS found FROM sample s, cometchat.find_event_by_key(cometchat.idempotency_key(s.payload));
SELECT seq_scan - :seq0 AS seq_scans, seq_tup_read - :sread0 + idx_tup_fetch - :ifetch0 AS rows_read
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger;
COMMIT;

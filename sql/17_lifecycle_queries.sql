-- Lifecycle, querying: the call_lifecycle view and cometchat.timeline(),
-- and the queries a user runs on them: what happened to this call, and a
-- day's call statistics.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- One day (2023-11-15, UTC) of app1's calls, and one call the next day.
SELECT pg_temp.feed(
  -- 09:00 alice calls bob: answered, 5 minutes, recorded.
  pg_temp.initiated('101', 'alice_user_bob', 'alice', 'bob', 1700038800, 'S-101', 'video'),
  pg_temp.started('call_started', 'S-101', 1700038810),
  pg_temp.joined('call_participant_joined', 'S-101', 'Alice', 1700038810, 'false',
                 '{"platform": "web", "sdk": "react", "call_version": "2.3.0", "is_audio_only": "false"}'),
  pg_temp.joined('call_participant_joined', 'S-101', 'Bob', 1700038812, 'false',
                 '{"platform": "android", "sdk": "android", "call_version": "4.0.1", "is_audio_only": "false"}'),
  pg_temp.left('call_participant_left', 'S-101', 'Bob', 1700038812, 1700039100),
  pg_temp.ended('call_ended', 'S-101', 1700038810, 1700039110, jsonb_build_array(
    pg_temp.occ('Alice', 1700038810, 1700039110), pg_temp.occ('Bob', 1700038812, 1700039100))),
  pg_temp.recording('S-101', 1700038820, '285.500000', 'https://example.test/rec/S-101'),
  -- 10:00 bob calls carol: answered, 20 minutes.
  pg_temp.initiated('102', 'bob_user_carol', 'bob', 'carol', 1700042400, 'S-102'),
  pg_temp.started('call_started', 'S-102', 1700042405),
  pg_temp.ended('call_ended', 'S-102', 1700042405, 1700043605, jsonb_build_array(
    pg_temp.occ('Bob', 1700042405, 1700043605, 'true'), pg_temp.occ('Carol', 1700042406, 1700043600, 'true'))),
  -- 11:00 alice calls bob again: bob rejects.
  pg_temp.initiated('103', 'alice_user_bob', 'alice', 'bob', 1700046000, 'S-103'),
  pg_temp.outcome('rejected', '104', 'alice_user_bob', 'bob', 'alice', 1700046006),
  -- 11:30 carol calls dave: dave is busy.
  pg_temp.initiated('105', 'carol_user_dave', 'carol', 'dave', 1700047800, 'S-105'),
  pg_temp.outcome('busy', '106', 'carol_user_dave', 'dave', 'carol', 1700047801),
  -- 12:00 dave calls erin: nobody answers in 45 s.
  pg_temp.initiated('107', 'dave_user_erin', 'dave', 'erin', 1700049600, 'S-107'),
  pg_temp.outcome('unanswered', '108', 'dave_user_erin', 'dave', 'erin', 1700049645),
  -- 12:30 erin calls alice and hangs up first.
  pg_temp.initiated('109', 'alice_user_erin', 'erin', 'alice', 1700051400, 'S-109'),
  pg_temp.outcome('cancelled', '110', 'alice_user_erin', 'erin', 'alice', 1700051410),
  -- 13:00 bob calls dave: still going.
  pg_temp.initiated('111', 'bob_user_dave', 'bob', 'dave', 1700053200, 'S-111'),
  pg_temp.started('call_started', 'S-111', 1700053220),
  pg_temp.joined('call_participant_joined', 'S-111', 'Bob', 1700053220),
  -- 13:30 carol calls alice: still ringing.
  pg_temp.initiated('113', 'alice_user_carol', 'carol', 'alice', 1700055000, 'S-113'),
  -- The next day, 09:00: alice calls bob, answered, 1 minute.
  pg_temp.initiated('201', 'alice_user_bob', 'alice', 'bob', 1700125200, 'S-201'),
  pg_temp.ended('call_ended', 'S-201', 1700125210, 1700125270, jsonb_build_array(
    pg_temp.occ('Alice', 1700125210, 1700125270), pg_temp.occ('Bob', 1700125211, 1700125270))));

------------------------------------------------------------------------
-- The view: one row per call, with its participants and recordings.
------------------------------------------------------------------------
SELECT session_id, call_id, caller, receiver, media, status, initiated_at, started_at, ended_at,
       duration, outcome, outcome_at, participant_count, peak_participants
FROM cometchat.call_lifecycle ORDER BY initiated_at;
SELECT session_id, jsonb_pretty(participants) AS participants, jsonb_pretty(recordings) AS recordings
FROM cometchat.call_lifecycle WHERE session_id = 'S-101';
SELECT session_id, participants, recordings FROM cometchat.call_lifecycle WHERE session_id = 'S-103';

------------------------------------------------------------------------
-- timeline(): every event of a session id, plus the outcome events linked
-- to its call, in the order they happened.
------------------------------------------------------------------------
SELECT occurred_at, kind, detail FROM cometchat.timeline('app1', 'S-101');
SELECT occurred_at, kind, detail FROM cometchat.timeline('app1', 'S-103');
SELECT occurred_at, kind, detail FROM cometchat.timeline('app1', 'S-111');
-- Another app's session of the same id is not part of it.
SELECT count(*) FROM cometchat.timeline('app2', 'S-101');
-- event_id points into the ledger.
SELECT t.kind, e.trigger, e.webhook
FROM cometchat.timeline('app1', 'S-109') t JOIN cometchat.events e ON e.id = t.event_id
ORDER BY t.occurred_at, t.kind;
-- It reads only the session's rows of the ledger, through its indexes: with
-- sequential scans made a last resort, the rows the call fetched, counted by
-- the session's statistics (they move only at statements' ends within a
-- transaction).  As one OR with a subquery arm it fetched all 24.
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT seq_scan AS seq0, seq_tup_read AS sread0, idx_tup_fetch AS ifetch0
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger \gset
SELECT count(*) FROM cometchat.timeline('app1', 'S-101');
SELECT seq_scan - :seq0 AS seq_scans, seq_tup_read - :sread0 + idx_tup_fetch - :ifetch0 AS rows_read,
       (SELECT count(*) FROM cometchat.events) AS ledger_rows
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger;
COMMIT;

------------------------------------------------------------------------
-- "What happened to alice's 11:00 call to bob?"  The latest call in their
-- conversation initiated at or before 11:00, then its story.
------------------------------------------------------------------------
SELECT l.session_id, l.caller, l.receiver, l.status, l.initiated_at, l.outcome, l.outcome_at,
       l.outcome_at - l.initiated_at AS rang_for, l.started_at, l.duration
FROM cometchat.call_lifecycle l
WHERE l.app_id = 'app1' AND l.conversation_id = 'alice_user_bob'
  AND l.initiated_at <= '2023-11-15 11:00:00+00'
ORDER BY l.initiated_at DESC LIMIT 1;
SELECT t.occurred_at, t.kind, t.detail
FROM cometchat.timeline('app1', (SELECT c.session_id FROM cometchat.calls c
                                 WHERE c.app_id = 'app1' AND c.conversation_id = 'alice_user_bob'
                                   AND c.initiated_at <= '2023-11-15 11:00:00+00'
                                 ORDER BY c.initiated_at DESC LIMIT 1)) t;

------------------------------------------------------------------------
-- "A day's call stats" for 2023-11-15: calls by status with average
-- duration, then the day in one row: answered ratio (answered = ongoing or
-- ended), average and total talk time, busiest call.
------------------------------------------------------------------------
SELECT coalesce(c.status::text, 'all') AS status, count(*) AS calls, avg(c.duration) AS avg_duration
FROM cometchat.calls c
WHERE c.app_id = 'app1' AND c.initiated_at >= '2023-11-15 00:00:00+00' AND c.initiated_at < '2023-11-16 00:00:00+00'
GROUP BY ROLLUP (c.status)
ORDER BY c.status NULLS LAST;

SELECT count(*) AS calls,
       count(*) FILTER (WHERE status IN ('ongoing', 'ended')) AS answered,
       round(count(*) FILTER (WHERE status IN ('ongoing', 'ended'))::numeric / count(*), 3) AS answered_ratio,
       count(*) FILTER (WHERE outcome IS NOT NULL AND status NOT IN ('ongoing', 'ended')) AS not_answered,
       avg(duration) AS avg_duration,
       sum(duration) AS talk_time,
       max(participant_count) AS most_participants
FROM cometchat.calls
WHERE app_id = 'app1' AND initiated_at >= '2023-11-15 00:00:00+00' AND initiated_at < '2023-11-16 00:00:00+00';

SELECT * FROM cometchat.verify();

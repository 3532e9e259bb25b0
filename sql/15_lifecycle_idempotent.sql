-- Lifecycle, idempotent merges: the same logical event delivered again
-- changes nothing in the lifecycle tables.  Under another webhook id
-- (fan-out: same payload, different "webhook") it is a second ledger row;
-- delivered exactly again it is a duplicate and not stored at all.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- A day's worth of events of one app under webhook wh1: an answered call
-- with a recording, a rejected call, a meeting whose leave was lost.
CREATE FUNCTION pg_temp.day(webhook text) RETURNS jsonb[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY[
    pg_temp.initiated('501', 'a_user_b', 'a', 'b', 1700038800, 'S1', webhook => webhook),
    pg_temp.started('call_started', 'S1', 1700038810, webhook => webhook),
    pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038810, 'false',
                   '{"platform": "ios", "sdk": "ios", "call_version": "4.0.0", "is_audio_only": "false"}', webhook => webhook),
    pg_temp.joined('call_participant_joined', 'S1', 'B', 1700038811, webhook => webhook),
    pg_temp.left('call_participant_left', 'S1', 'B', 1700038811, 1700038900, webhook => webhook),
    pg_temp.ended('call_ended', 'S1', 1700038810, 1700038910, jsonb_build_array(
      pg_temp.occ('A', 1700038810, 1700038910), pg_temp.occ('B', 1700038811, 1700038905)), webhook => webhook),
    pg_temp.recording('S1', 1700038812, '98.000000', 'https://example.test/rec/S1', webhook => webhook),
    pg_temp.initiated('511', 'a_user_c', 'a', 'c', 1700039000, 'S2', webhook => webhook),
    pg_temp.outcome('rejected', '512', 'a_user_c', 'c', 'a', 1700039004, webhook => webhook),
    pg_temp.initiated('521', 'b_user_c', 'b', 'c', 1700039100, NULL, webhook => webhook),
    pg_temp.outcome('unanswered', '522', 'b_user_c', 'b', 'c', 1700039145, webhook => webhook),
    pg_temp.started('meeting_started', 'room', 1700040000, webhook => webhook),
    pg_temp.joined('meeting_participant_joined', 'room', 'D', 1700040000, webhook => webhook),
    pg_temp.joined('meeting_participant_joined', 'room', 'E', 1700040000, webhook => webhook),
    pg_temp.ended('meeting_ended', 'room', 1700040000, 1700040600, jsonb_build_array(
      pg_temp.occ('D', 1700040000, 1700040600), pg_temp.occ('E', 1700040000, 1700040500)), webhook => webhook)] $$;

SELECT pg_temp.feed(VARIADIC pg_temp.day('wh1'));
SELECT count(*) AS ledger_rows FROM cometchat.events;
SELECT pg_temp.snapshot() AS once \gset
SELECT session_id, call_id, status, outcome, started_at, ended_at, participant_count FROM cometchat.calls ORDER BY call_id;
SELECT session_id, started_at, ended_at, participant_count, peak_participants, recording_count FROM cometchat.sessions ORDER BY session_id;
SELECT session_id, name, joined_at, left_at, left_at_from, audio_only, platform FROM cometchat.participants ORDER BY session_id, name;
SELECT outcome_id, outcome, linked_call_id FROM cometchat.call_outcomes ORDER BY outcome_id;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 1. Fan-out: every event again under webhook wh2.  Each is accepted (a
--    second ledger row), and the lifecycle tables are unchanged.
------------------------------------------------------------------------
SELECT pg_temp.feed(VARIADIC pg_temp.day('wh2'));
SELECT webhook, count(*) AS ledger_rows FROM cometchat.events GROUP BY webhook ORDER BY webhook;
SELECT pg_temp.snapshot() = :'once' AS unchanged;
SELECT * FROM cometchat.verify();

-- The copies in reverse order, under a third webhook: still unchanged.
SELECT pg_temp.feed(VARIADIC (SELECT array_agg(p ORDER BY n DESC) FROM unnest(pg_temp.day('wh3')) WITH ORDINALITY u(p, n)));
SELECT pg_temp.snapshot() = :'once' AS unchanged;

------------------------------------------------------------------------
-- 2. Exact redelivery: a duplicate, no ledger row, nothing changes.
------------------------------------------------------------------------
SELECT pg_temp.feed(VARIADIC pg_temp.day('wh1'));
SELECT count(*) AS ledger_rows FROM cometchat.events;
SELECT pg_temp.snapshot() = :'once' AS unchanged;
SELECT * FROM cometchat.verify();

-- A rebuild from the ledger of three copies gives the same content too.
SELECT cometchat.rebuild();
SELECT pg_temp.snapshot() = :'once' AS unchanged;

------------------------------------------------------------------------
-- 3. A fan-out copy arriving while the merge is half done, in every order:
--    a join, its copy, the end event and an outcome with its copy.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.joined('meeting_participant_joined', 'room', 'D', 1700040000, 'false', '{"platform": "web"}'),
  pg_temp.joined('meeting_participant_joined', 'room', 'D', 1700040000, 'false', '{"platform": "web"}', webhook => 'wh2'),
  pg_temp.ended('meeting_ended', 'room', 1700040000, 1700040600, jsonb_build_array(
    pg_temp.occ('D', 1700040000, 1700040600, 'true'))),
  pg_temp.initiated('511', 'a_user_c', 'a', 'c', 1700039000, 'S2'),
  pg_temp.outcome('rejected', '512', 'a_user_c', 'c', 'a', 1700039004, webhook => 'wh2'));
SELECT session_id, name, joined_at, left_at, audio_only, platform FROM cometchat.participants;
SELECT session_id, participant_count, peak_participants FROM cometchat.sessions;
SELECT count(*) AS ledger_rows FROM cometchat.events;

SELECT * FROM cometchat.verify();

-- Lifecycle, session instances: sessions are keyed (app_id, session_id,
-- started_at = created_at of the start or end event), because room names
-- are reused.  A participant or recording belongs to the instance with the
-- latest started_at at or before its own time; before any such instance is
-- known its session_started_at is NULL, and it is adopted when the start or
-- end event arrives.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

CREATE FUNCTION pg_temp.sessions() RETURNS TABLE (app_id text, session_id text, started_at timestamptz,
    mode cometchat.session_mode, ended_at timestamptz, status cometchat.session_status, duration interval,
    participant_count int, peak_participants int, recording_count int)
LANGUAGE sql AS $$
  SELECT app_id, session_id, started_at, mode, ended_at, status, duration, participant_count,
         peak_participants, recording_count
  FROM cometchat.sessions ORDER BY app_id, session_id, started_at $$;
CREATE FUNCTION pg_temp.participants() RETURNS TABLE (app_id text, session_id text,
    session_started_at timestamptz, name text, joined_at timestamptz, left_at timestamptz)
LANGUAGE sql AS $$
  SELECT app_id, session_id, session_started_at, name, joined_at, left_at
  FROM cometchat.participants ORDER BY app_id, session_id, joined_at, name $$;

------------------------------------------------------------------------
-- 1. Room "room1" reused: a meeting on 2023-11-15 09:00-10:00 and another
--    on 2023-11-16 09:00-09:30 are two rows, each with its own people.
------------------------------------------------------------------------
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'room1', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Ann', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Ben', 1700039000),
  pg_temp.left('meeting_participant_left', 'room1', 'Ben', 1700039000, 1700041000),
  pg_temp.left('meeting_participant_left', 'room1', 'Ann', 1700038800, 1700042400),
  pg_temp.ended('meeting_ended', 'room1', 1700038800, 1700042400, jsonb_build_array(
    pg_temp.occ('Ann', 1700038800, 1700042400), pg_temp.occ('Ben', 1700039000, 1700041000))),
  pg_temp.started('meeting_started', 'room1', 1700125200),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Ann', 1700125200),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Cat', 1700125260),
  pg_temp.ended('meeting_ended', 'room1', 1700125200, 1700127000, jsonb_build_array(
    pg_temp.occ('Ann', 1700125200, 1700127000), pg_temp.occ('Cat', 1700125260, 1700126000))));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 2. A join of the second day arriving before that day's meeting_started:
--    by the rule it belongs to the latest instance known to start before
--    it, the first day's, until meeting_started reveals the second day.
--    Then it moves, and the first day's counts are as before.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'room1', 1700038800),
  pg_temp.ended('meeting_ended', 'room1', 1700038800, 1700042400, jsonb_build_array(
    pg_temp.occ('Ann', 1700038800, 1700042400), pg_temp.occ('Ben', 1700039000, 1700041000))),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Dan', 1700125200),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Eve', 1700125210));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT * FROM cometchat.verify();
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'room1', 1700125200));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 3. Participant before meeting_started: session_started_at NULL and no
--    session row; meeting_started adopts it.  peak_participants stays NULL
--    while the session is active and is computed when it ends.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'room2', 'Fay', 1700038800));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'room2', 1700038800));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT pg_temp.feed(
  pg_temp.joined('meeting_participant_joined', 'room2', 'Gus', 1700038860),
  pg_temp.ended('meeting_ended', 'room2', 1700038800, 1700039400, jsonb_build_array(
    pg_temp.occ('Fay', 1700038800, 1700039400), pg_temp.occ('Gus', 1700038860, 1700039300))));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT * FROM cometchat.verify();

-- meeting_started lost: the end event's created_at reveals the instance and
-- adopts the participant.
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'room3', 'Hal', 1700038800));
SELECT * FROM pg_temp.participants() WHERE session_id = 'room3';
SELECT pg_temp.feed(pg_temp.ended('meeting_ended', 'room3', 1700038800, 1700039000, jsonb_build_array(
    pg_temp.occ('Hal', 1700038800, 1700039000))));
SELECT * FROM pg_temp.sessions() WHERE session_id = 'room3';
SELECT * FROM pg_temp.participants() WHERE session_id = 'room3';
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. Recordings attach to an instance by startTime: room1's first-day
--    recording (10:30, after that meeting ended) to the first day, the
--    second-day one to the second day.  A recording before any instance
--    is known waits with session_started_at NULL.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.recording('room1', 1700125300, '120.000000', 'https://example.test/rec/room1-day2'),
  pg_temp.started('meeting_started', 'room1', 1700038800),
  pg_temp.ended('meeting_ended', 'room1', 1700038800, 1700042400),
  pg_temp.recording('room1', 1700044200, '3600.500000', 'https://example.test/rec/room1-day1'));
SELECT session_id, session_started_at, started_at, duration, recording_url, recording_date
FROM cometchat.recordings ORDER BY started_at;
SELECT * FROM pg_temp.sessions();
SELECT pg_temp.feed(pg_temp.ended('meeting_ended', 'room1', 1700125200, 1700127000));
SELECT session_id, session_started_at, started_at, duration, recording_url, recording_date
FROM cometchat.recordings ORDER BY started_at;
SELECT * FROM pg_temp.sessions();
-- Before anything else of room4 arrived: no instance yet.
SELECT pg_temp.feed(pg_temp.recording('room4', 1700038900, '10.000000', 'https://example.test/rec/room4'));
SELECT session_id, session_started_at, started_at FROM cometchat.recordings WHERE session_id = 'room4';
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'room4', 1700038800));
SELECT session_id, session_started_at, started_at FROM cometchat.recordings WHERE session_id = 'room4';
SELECT * FROM pg_temp.sessions() WHERE session_id = 'room4';
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 5. Two days of room1 in every order (5 events, 120 orders): one content.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.started('meeting_started', 'room1', 1700038800),
  pg_temp.ended('meeting_ended', 'room1', 1700038800, 1700042400, jsonb_build_array(
    pg_temp.occ('Ann', 1700038800, 1700042400), pg_temp.occ('Ben', 1700039000, 1700041000))),
  pg_temp.joined('meeting_participant_joined', 'room1', 'Ben', 1700125200),
  pg_temp.ended('meeting_ended', 'room1', 1700125200, 1700127000, jsonb_build_array(
    pg_temp.occ('Ben', 1700125200, 1700126000))),
  pg_temp.recording('room1', 1700125300, '120.000000', 'https://example.test/rec/room1-day2'));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();
SELECT session_id, session_started_at, started_at FROM cometchat.recordings;

------------------------------------------------------------------------
-- 6. The same session id in two apps: two sessions, apart.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'standup', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'standup', 'Ivy', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'standup', 'Jon', 1700038830, app => 'app2'),
  pg_temp.started('meeting_started', 'standup', 1700038830, app => 'app2'));
SELECT * FROM pg_temp.sessions();
SELECT * FROM pg_temp.participants();

SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 7. An end event's occupant that belongs to an earlier instance: the
--    09:05 instance's call_ended lists Ann from 09:00, inside the 09:00
--    instance, which another call_ended had already ended.  Ann's interval
--    goes to the 09:00 instance, whose peak is recomputed too (it stayed 0
--    when that call_ended came after the other two events).  (Two end
--    events of one session and destroyed_at differ only in their webhook
--    id.)  Every order: one content.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.ended('call_ended', 'S-peak', 1700038800, 1700039400, jsonb_build_array(
    pg_temp.occ('Ann', 1700039100, 1700039300), pg_temp.occ('Bob', 1700039100, 1700039400))),
  pg_temp.started('call_started', 'S-peak', 1700039100),
  pg_temp.ended('call_ended', 'S-peak', 1700039100, 1700039400, jsonb_build_array(
    pg_temp.occ('Ann', 1700038800, 1700039300), pg_temp.occ('Bob', 1700039100, 1700039400)),
    webhook => 'wh2'));
SELECT * FROM pg_temp.sessions() WHERE session_id = 'S-peak';
SELECT * FROM pg_temp.participants() WHERE session_id = 'S-peak';

SELECT * FROM cometchat.verify();

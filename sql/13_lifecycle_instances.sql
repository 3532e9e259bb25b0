-- Lifecycle, session instances: sessions are keyed (app_id, session_id,
-- started_at = created_at of the start or end event), because room names
-- are reused.  A participant or recording belongs to the instance with the
-- latest started_at at or before its own time; before any such instance is
-- known its session_started_at is NULL, and it is adopted when the start or
-- end event arrives.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings RESTART IDENTITY;

-- Payload builders following the reference (sections 4 and 5): app "app1",
-- region "us", webhook "wh1" unless given; times are unix seconds
-- (1700038800 = 2023-11-15 09:00:00 UTC, 1700125200 = the next day 09:00).
CREATE FUNCTION pg_temp.ev(trig text, data jsonb, webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('trigger', trig, 'data', data, 'appId', app, 'region', 'us', 'webhook', webhook)
         || CASE WHEN trig LIKE 'meeting\_%' THEN '{"type": "meet"}'
                 WHEN trig LIKE 'call\_%' AND data ? 'sessionId' THEN '{"type": "call"}'
                 ELSE '{}' END::jsonb $$;
-- call_initiated; session NULL leaves out data.call.data.entities (S7's copy).
CREATE FUNCTION pg_temp.initiated(id text, conv text, caller text, callee text, sent bigint, session text,
                                  media text DEFAULT 'audio', webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('call_initiated', jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', caller, 'receiverType', 'user', 'receiver', callee,
    'category', 'call', 'type', media,
    'data', jsonb_build_object('action', 'initiated')
            || CASE WHEN session IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('entities', jsonb_build_object(
                 'by', jsonb_build_object('entity', jsonb_build_object('uid', caller, 'name', caller), 'entityType', 'user'),
                 'on', jsonb_build_object('entity', jsonb_build_object('sessionid', session, 'status', 'initiated',
                                                                     'type', media, 'initiatedAt', sent),
                                          'entityType', 'call'))) END,
    'sentAt', sent, 'updatedAt', sent)), webhook, app) $$;
-- call_busy, call_cancelled, call_rejected, call_unanswered: no session id.
CREATE FUNCTION pg_temp.outcome(action text, id text, conv text, sender text, receiver text, sent bigint,
                                webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('call_' || action, jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', sender, 'receiverType', 'user', 'receiver', receiver,
    'category', 'call', 'type', 'audio', 'data', jsonb_build_object('action', action),
    'sentAt', sent, 'updatedAt', sent)), webhook, app) $$;
-- call_started, meeting_started.
CREATE FUNCTION pg_temp.started(trig text, session text, created bigint, webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(trig, jsonb_build_object('created_at', created, 'sessionId', session), webhook, app) $$;
-- One occupant, as in data.occupant and data.all_occupants[].
CREATE FUNCTION pg_temp.occ(name text, joined bigint, left_at bigint DEFAULT NULL, audio text DEFAULT 'false')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('joined_at', joined, 'audio_call', audio, 'left_at', left_at, 'name', name)) $$;
-- call_participant_joined, meeting_participant_joined; config is data.initial_config.
CREATE FUNCTION pg_temp.joined(trig text, session text, name text, joined bigint, audio text DEFAULT 'false',
                               config jsonb DEFAULT NULL, webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(trig, jsonb_build_object('occupant', pg_temp.occ(name, joined, NULL, audio), 'sessionId', session)
                          || CASE WHEN config IS NULL THEN '{}'::jsonb
                                  ELSE jsonb_build_object('initial_config', config) END, webhook, app) $$;
-- call_participant_left, meeting_participant_left.
CREATE FUNCTION pg_temp.left(trig text, session text, name text, joined bigint, left_at bigint, audio text DEFAULT 'false',
                             webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(trig, jsonb_build_object('occupant', pg_temp.occ(name, joined, left_at, audio), 'sessionId', session), webhook, app) $$;
-- call_ended, meeting_ended; occupants is data.all_occupants.
CREATE FUNCTION pg_temp.ended(trig text, session text, created bigint, destroyed bigint, occupants jsonb DEFAULT '[]',
                              webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(trig, jsonb_build_object('all_occupants', occupants, 'destroyed_at', destroyed,
                                             'created_at', created, 'sessionId', session), webhook, app) $$;
-- recording_generated: startTime and duration are strings, as documented.
CREATE FUNCTION pg_temp.recording(session text, start bigint, duration text, url text,
                                  webhook text DEFAULT 'wh1', app text DEFAULT 'app1')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('recording_generated', jsonb_build_object(
    'recordingDate', to_char(to_timestamp(start) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
    'duration', duration, 'startTime', start::text, 'sessionId', session, 'recording_url', url), webhook, app) $$;

-- Ingests payloads in the order given; the ingest status of each.
CREATE FUNCTION pg_temp.feed(VARIADIC payloads jsonb[]) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg((cometchat.ingest(p)).status::text, ' ' ORDER BY n)
  FROM unnest(payloads) WITH ORDINALITY u(p, n) $$;
-- The whole content of the lifecycle tables, to compare two states.
CREATE FUNCTION pg_temp.snapshot() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(table_name || ' ' || row_data::text, E'\n' ORDER BY table_name, row_data::text), '')
  FROM cometchat._lifecycle_rows() $$;
-- Starts from an empty ledger and feeds the payloads in every order: how
-- many orders, how many different lifecycle contents they left, and in how
-- many orders verify() found a difference.  The last order (the reverse one)
-- is left in the tables.
CREATE FUNCTION pg_temp.every_order(VARIADIC payloads jsonb[],
    OUT orders int, OUT distinct_contents int, OUT inconsistent int)
LANGUAGE plpgsql AS $$
DECLARE
  perm int[];
  i int;
  snaps text[] := '{}';
BEGIN
  orders := 0;
  inconsistent := 0;
  FOR perm IN
    WITH RECURSIVE p(a) AS (
      SELECT '{}'::int[]
      UNION ALL
      SELECT a || k FROM p, generate_series(1, cardinality(payloads)) k
      WHERE k <> ALL (a) AND cardinality(a) < cardinality(payloads))
    SELECT a FROM p WHERE cardinality(a) = cardinality(payloads) ORDER BY a
  LOOP
    DELETE FROM cometchat.events;
    DELETE FROM cometchat.sessions;
    DELETE FROM cometchat.calls;
    DELETE FROM cometchat.call_outcomes;
    DELETE FROM cometchat.participants;
    DELETE FROM cometchat.recordings;
    FOREACH i IN ARRAY perm LOOP
      IF (cometchat.ingest(payloads[i])).status <> 'accepted' THEN
        RAISE EXCEPTION 'payload % was not accepted', i;
      END IF;
    END LOOP;
    snaps := snaps || pg_temp.snapshot();
    IF EXISTS (SELECT FROM cometchat.verify()) THEN
      inconsistent := inconsistent + 1;
    END IF;
    orders := orders + 1;
  END LOOP;
  SELECT count(DISTINCT s) INTO distinct_contents FROM unnest(snaps) s;
END $$;

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

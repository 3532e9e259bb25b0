-- Lifecycle, ringing calls: a ringing call is (app_id, the session id that
-- call_initiated announces in data.call.data.entities.on.entity.sessionid);
-- call_started, call_participant_* and call_ended attach to it by
-- data.sessionId, in any arrival order.  A call_initiated without entities
-- is keyed by its message id and stays unlinked.
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

------------------------------------------------------------------------
-- 1. An answered call, in the documented order: call_initiated announces
--    session S1; call_started, two joins, two leaves, call_ended (whose
--    all_occupants repeat the intervals) and a recording attach by
--    data.sessionId.
------------------------------------------------------------------------
SELECT pg_temp.feed(
  pg_temp.initiated('101', 'alice_user_bob', 'alice', 'bob', 1700038800, 'S1'),
  pg_temp.started('call_started', 'S1', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'Alice', 1700038810, 'true',
                 '{"is_video_muted": "false", "start_recording_on_call_start": "false", "call_version": "2.3.0", "is_audio_muted": "false", "sdk": "react", "mode": "DEFAULT", "platform": "web", "is_audio_only": "true"}'),
  pg_temp.joined('call_participant_joined', 'S1', 'Bob', 1700038812, 'true'),
  pg_temp.left('call_participant_left', 'S1', 'Bob', 1700038812, 1700038870, 'true'),
  pg_temp.left('call_participant_left', 'S1', 'Alice', 1700038810, 1700038875, 'true'),
  pg_temp.ended('call_ended', 'S1', 1700038810, 1700038875, jsonb_build_array(
    pg_temp.occ('Alice', 1700038810, 1700038875, 'true'),
    pg_temp.occ('Bob', 1700038812, 1700038870, 'true'))),
  pg_temp.recording('S1', 1700038811, '63.250000', 'https://example.test/rec/S1-1'));

-- One call: caller, receiver and media from call_initiated, times from the
-- session, ended with a 65 s duration, two participants.
SELECT session_id, call_id, conversation_id, caller, receiver, receiver_type, media, status,
       initiated_at, started_at, ended_at, duration, outcome, participant_count
FROM cometchat.calls;
-- One ringing session instance (mode call), ended, peak 2, one recording.
SELECT session_id, started_at, mode, ended_at, status, duration, participant_count,
       peak_participants, recording_count
FROM cometchat.sessions;
SELECT name, session_started_at, joined_at, left_at, left_at_from, audio_only, audio_only_from,
       platform, sdk, sdk_version
FROM cometchat.participants ORDER BY joined_at, name;
SELECT session_id, session_started_at, started_at, duration, recording_url, recording_date
FROM cometchat.recordings;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 2. The same kind of call in every arrival order (5 events, 120 orders):
--    call_initiated, call_started, a join, the caller's leave and
--    call_ended.  Every order leaves the same content, equal to a rebuild.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.initiated('111', 'carol_user_dave', 'carol', 'dave', 1700039400, 'S2'),
  pg_temp.started('call_started', 'S2', 1700039405),
  pg_temp.joined('call_participant_joined', 'S2', 'Dave', 1700039406),
  pg_temp.left('call_participant_left', 'S2', 'Carol', 1700039405, 1700039500),
  pg_temp.ended('call_ended', 'S2', 1700039405, 1700039510, jsonb_build_array(
    pg_temp.occ('Carol', 1700039405, 1700039505),
    pg_temp.occ('Dave', 1700039406, 1700039510))));
-- Carol's leave event (09:11:40) wins over all_occupants (09:11:45);
-- Dave's lost leave comes from all_occupants.
SELECT session_id, call_id, caller, receiver, status, initiated_at, started_at, ended_at,
       duration, participant_count
FROM cometchat.calls;
SELECT session_id, started_at, ended_at, participant_count, peak_participants FROM cometchat.sessions;
SELECT name, session_started_at, joined_at, left_at, left_at_from FROM cometchat.participants ORDER BY name;

------------------------------------------------------------------------
-- 3. call_initiated without data.call.data.entities (S7's copy): the call
--    is keyed by its message id, session_id NULL, and stays unlinked.  The
--    session events of the call it rang make their own row, keyed by the
--    session id, with no message id.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.initiated('121', 'erin_user_frank', 'erin', 'frank', 1700040000, NULL, 'video'));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, participant_count
FROM cometchat.calls;
SELECT pg_temp.feed(
  pg_temp.started('call_started', 'S3', 1700040010),
  pg_temp.joined('call_participant_joined', 'S3', 'Erin', 1700040010),
  pg_temp.ended('call_ended', 'S3', 1700040010, 1700040100, jsonb_build_array(
    pg_temp.occ('Erin', 1700040010, 1700040100))));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, ended_at, participant_count
FROM cometchat.calls ORDER BY session_id NULLS FIRST;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. Session events before call_initiated: the call row exists from the
--    first of them, keyed by the session id, without caller or message id;
--    call_initiated fills them in when it arrives and keeps what the
--    session events set.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.joined('call_participant_joined', 'S4', 'Gina', 1700040610),
  pg_temp.started('call_started', 'S4', 1700040610),
  pg_temp.joined('call_participant_joined', 'S4', 'Hank', 1700040612));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, participant_count
FROM cometchat.calls;
SELECT pg_temp.feed(
  pg_temp.initiated('131', 'gina_user_hank', 'gina', 'hank', 1700040600, 'S4'));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, participant_count
FROM cometchat.calls;
SELECT name, session_started_at, joined_at FROM cometchat.participants ORDER BY name;

SELECT * FROM cometchat.verify();

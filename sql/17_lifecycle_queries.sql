-- Lifecycle, querying: the call_lifecycle view and cometchat.timeline(),
-- and the queries a user runs on them: what happened to this call, and a
-- day's call statistics.
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

-- Lifecycle, call status: calls.status follows ended > ongoing > outcome >
-- initiated.  A call is ongoing once call_started arrived or anyone joined,
-- ended once call_ended arrived, whatever the order the events come in.
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

-- Feeds the payloads one at a time from an empty ledger and gives the
-- status of the call of that session after each ('-' while it has no row).
CREATE FUNCTION pg_temp.statuses(session text, VARIADIC payloads jsonb[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  p jsonb;
  s text;
  result text[] := '{}';
BEGIN
  DELETE FROM cometchat.events;
  DELETE FROM cometchat.sessions;
  DELETE FROM cometchat.calls;
  DELETE FROM cometchat.call_outcomes;
  DELETE FROM cometchat.participants;
  DELETE FROM cometchat.recordings;
  FOREACH p IN ARRAY payloads LOOP
    IF (cometchat.ingest(p)).status <> 'accepted' THEN
      RAISE EXCEPTION 'not accepted: %', p;
    END IF;
    SELECT c.status INTO s FROM cometchat.calls c WHERE c.app_id = 'app1' AND c.session_id = session;
    result := result || coalesce(s, '-');
  END LOOP;
  RETURN array_to_string(result, ' > ');
END $$;

-- The events of one call, S1, named for the cases below.
\set init    'pg_temp.initiated(''401'', ''a_user_b'', ''a'', ''b'', 1700038800, ''S1'')'
\set busy    'pg_temp.outcome(''busy'', ''402'', ''a_user_b'', ''b'', ''a'', 1700038805)'
\set cancel  'pg_temp.outcome(''cancelled'', ''403'', ''a_user_b'', ''a'', ''b'', 1700038808)'
\set started 'pg_temp.started(''call_started'', ''S1'', 1700038810)'
\set joined  'pg_temp.joined(''call_participant_joined'', ''S1'', ''B'', 1700038811)'
\set left    'pg_temp.left(''call_participant_left'', ''S1'', ''B'', 1700038811, 1700038890)'
\set ended   'pg_temp.ended(''call_ended'', ''S1'', 1700038810, 1700038900, jsonb_build_array(pg_temp.occ(''B'', 1700038811, 1700038890)))'

-- The documented order.
SELECT pg_temp.statuses('S1', :init, :started, :joined, :left, :ended) AS answered;
-- call_ended first, call_initiated last: ended from the start.
SELECT pg_temp.statuses('S1', :ended, :joined, :started, :init) AS ended_first;
SELECT pg_temp.statuses('S1', :ended, :init) AS ended_then_initiated;
-- An outcome, then the call is answered after all: ongoing beats the outcome.
SELECT pg_temp.statuses('S1', :init, :busy, :started) AS outcome_then_started;
SELECT pg_temp.statuses('S1', :started, :busy, :init) AS started_outcome_initiated;
SELECT pg_temp.statuses('S1', :busy, :init, :joined, :ended) AS outcome_first;
-- call_started lost: a join alone makes the call ongoing.
SELECT pg_temp.statuses('S1', :init, :joined, :left) AS join_without_start;
-- Two outcomes: the earliest is the status, whichever arrives first.
SELECT pg_temp.statuses('S1', :init, :cancel, :busy) AS cancel_then_busy;
SELECT pg_temp.statuses('S1', :init, :busy, :cancel) AS busy_then_cancel;
-- Ringing only: initiated; an outcome outside the window leaves it so.
SELECT pg_temp.statuses('S1', :init, pg_temp.outcome('unanswered', '409', 'a_user_b', 'a', 'b', 1700039200)) AS outside_window;

-- The call row once all of it arrived, outcome kept beside the status.
SELECT pg_temp.statuses('S1', :ended, :busy, :left, :joined, :started, :init) AS everything;
SELECT session_id, call_id, status, outcome, outcome_at, initiated_at, started_at, ended_at,
       duration, participant_count
FROM cometchat.calls;
SELECT * FROM cometchat.verify();

-- Every order of initiated, an outcome, a join and call_ended (24 orders):
-- one content, the call ended.
SELECT * FROM pg_temp.every_order(:init, :busy, :joined, :ended);
SELECT session_id, call_id, status, outcome, started_at, ended_at, participant_count FROM cometchat.calls;
-- Every order of initiated, an outcome and call_started: ongoing.
SELECT * FROM pg_temp.every_order(:init, :cancel, :started);
SELECT session_id, call_id, status, outcome, started_at, ended_at, participant_count FROM cometchat.calls;

-- A meeting session (mode meet) is no call.
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'M1', 1700038800),
                    pg_temp.joined('meeting_participant_joined', 'M1', 'C', 1700038800));
SELECT count(*) AS calls FROM cometchat.calls;
SELECT session_id, mode, status FROM cometchat.sessions;

SELECT * FROM cometchat.verify();

-- Shared prelude of the lifecycle pg_regress files (sql/1*_lifecycle_*.sql):
-- session settings, an empty ledger and lifecycle tables, and the pg_temp
-- helpers they all use.  Each file includes it with
--
--   \set ECHO none
--   \i test/sql/lifecycle_prelude.sql
--   \set ECHO all
--
-- pg_regress feeds the test file to psql on stdin, so an include resolves
-- against the current directory (the repository root under make
-- installcheck), not against sql/; \ir would do the same there.

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
-- Empties the ledger and the lifecycle tables (the quarantine is left as it is).
CREATE PROCEDURE pg_temp.reset() LANGUAGE sql AS $$
  DELETE FROM cometchat.events;
  DELETE FROM cometchat.sessions;
  DELETE FROM cometchat.calls;
  DELETE FROM cometchat.call_outcomes;
  DELETE FROM cometchat.participants;
  DELETE FROM cometchat.recordings $$;
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
    CALL pg_temp.reset();
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

-- Two days of calls_per_day calls each, day_gap days apart (the first on
-- 2023-11-15, every call ten minutes after the last): initiated, started,
-- two joins, ended, a recording; every fifth answered by no one (an outcome,
-- no session id).  Conversations conv0 to conv2; session ids s<day>-<i>.
-- Returns how many payloads had each status.
CREATE FUNCTION pg_temp.two_days(calls_per_day int, day_gap int)
RETURNS TABLE (status text, count bigint) LANGUAGE sql AS $$
  SELECT status, count(*) FROM (
    SELECT d, i, CASE WHEN i % 5 = 0
      THEN pg_temp.feed(
        pg_temp.initiated((100 * d + i)::text, 'conv' || i % 3, 'a', 'b', t, 's' || d || '-' || i),
        pg_temp.outcome('unanswered', (1000 + 100 * d + i)::text, 'conv' || i % 3, 'a', 'b', t + 45))
      ELSE pg_temp.feed(
        pg_temp.initiated((100 * d + i)::text, 'conv' || i % 3, 'a', 'b', t, 's' || d || '-' || i),
        pg_temp.started('call_started', 's' || d || '-' || i, t + 10),
        pg_temp.joined('call_participant_joined', 's' || d || '-' || i, 'A', t + 10),
        pg_temp.joined('call_participant_joined', 's' || d || '-' || i, 'B', t + 12),
        pg_temp.ended('call_ended', 's' || d || '-' || i, t + 10, t + 100, jsonb_build_array(
          pg_temp.occ('A', t + 10, t + 100), pg_temp.occ('B', t + 12, t + 90))),
        pg_temp.recording('s' || d || '-' || i, t + 15, '60.0', 'https://example.test/rec/' || d || '-' || i))
      END AS statuses
    FROM generate_series(0, 1) d, generate_series(1, calls_per_day) i,
         LATERAL (SELECT 1700038800 + d * day_gap * 86400 + i * 600 AS t) x) f,
    LATERAL regexp_split_to_table(f.statuses, ' ') status
  GROUP BY status
$$;

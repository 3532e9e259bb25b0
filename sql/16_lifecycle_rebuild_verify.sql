-- Lifecycle, rebuild() and verify(): verify() compares the maintained
-- lifecycle tables with a recomputation from the ledger and returns no rows
-- when they agree; a row the recomputation has and the tables lack is
-- 'missing', one the tables have and the recomputation lacks 'unexpected'.
-- verify() leaves the tables as they are; rebuild() recomputes them.
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

SELECT pg_temp.feed(
  pg_temp.initiated('601', 'a_user_b', 'a', 'b', 1700038800, 'S1'),
  pg_temp.started('call_started', 'S1', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'B', 1700038812),
  pg_temp.ended('call_ended', 'S1', 1700038810, 1700038900, jsonb_build_array(
    pg_temp.occ('A', 1700038810, 1700038900), pg_temp.occ('B', 1700038812, 1700038890))),
  pg_temp.recording('S1', 1700038815, '80.000000', 'https://example.test/rec/S1'),
  pg_temp.initiated('611', 'a_user_c', 'a', 'c', 1700039000, 'S2'),
  pg_temp.outcome('cancelled', '612', 'a_user_c', 'a', 'c', 1700039020));
-- An invalid payload goes to the quarantine and is no part of a rebuild.
SELECT pg_temp.feed('{"trigger": "call_started", "appId": "app1"}');
SELECT pg_temp.snapshot() AS good \gset

-- Consistent: no rows.
SELECT * FROM cometchat.verify();
-- rebuild() returns the number of ledger events replayed and gives the
-- same content.
SELECT cometchat.rebuild();
SELECT pg_temp.snapshot() = :'good' AS same_after_rebuild;
SELECT * FROM cometchat.verify();

-- Changed, missing and extra rows, one kind at a time.  Each time verify()
-- reports it and leaves the tables as they were; rebuild() repairs them.
CREATE FUNCTION pg_temp.check_and_repair() RETURNS TABLE (table_name text, difference text, row_data jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  before text := pg_temp.snapshot();
BEGIN
  RETURN QUERY SELECT * FROM cometchat.verify() v ORDER BY v.table_name, v.difference, v.row_data::text;
  IF pg_temp.snapshot() IS DISTINCT FROM before THEN
    RAISE EXCEPTION 'verify() changed the lifecycle tables';
  END IF;
  PERFORM cometchat.rebuild();
END $$;

-- 1. A changed count: the recomputed row is missing, the stored one unexpected.
UPDATE cometchat.sessions SET participant_count = 7 WHERE session_id = 'S1';
SELECT table_name, difference, row_data->>'session_id' AS session_id,
       row_data->>'participant_count' AS participant_count, row_data->>'peak_participants' AS peak
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 2. A lost outcome on a call (status is derived and follows).
UPDATE cometchat.calls SET outcome = NULL, outcome_at = NULL WHERE call_id = '611';
SELECT table_name, difference, row_data->>'call_id' AS call_id, row_data->>'status' AS status,
       row_data->>'outcome' AS outcome
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 3. An outcome unlinked.
UPDATE cometchat.call_outcomes SET linked_call_id = NULL;
SELECT table_name, difference, row_data->>'outcome_id' AS outcome_id,
       row_data->>'linked_call_id' AS linked_call_id
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 4. A participant deleted: only 'missing'.
DELETE FROM cometchat.participants WHERE name = 'B';
SELECT table_name, difference, row_data->>'name' AS name, row_data->>'left_at' AS left_at
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 5. A recording no event explains: only 'unexpected'.
INSERT INTO cometchat.recordings (app_id, session_id, started_at, recording_url)
VALUES ('app1', 'S9', '2023-11-15 12:00:00+00', 'https://example.test/rec/forged');
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'recording_url' AS recording_url
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 6. Everything emptied: every row missing.
TRUNCATE cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT table_name, difference, count(*) FROM pg_temp.check_and_repair() GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 7. verify() inside a transaction that later rolls back leaves nothing
--    behind either, and rebuild() rolls back with its transaction.
BEGIN;
UPDATE cometchat.participants SET left_at = NULL WHERE name = 'A';
SELECT count(*) AS differences FROM cometchat.verify();
SELECT left_at IS NULL AS still_corrupt FROM cometchat.participants WHERE name = 'A';
SELECT cometchat.rebuild();
SELECT count(*) AS differences FROM cometchat.verify();
ROLLBACK;
SELECT pg_temp.snapshot() = :'good' AS as_before;

-- The ledger did not change through any of this.
SELECT count(*) AS ledger_rows FROM cometchat.events;

SELECT * FROM cometchat.verify();

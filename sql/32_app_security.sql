-- Per-app row-level security.  Two apps, appA and appB, with the same
-- session ids.  cometchat.app_access lists a group role for each app;
-- readers are members of one.  Before cometchat.enable_app_security() a
-- reader with SELECT grants sees both apps; after it, each sees only its
-- app's rows in every table (the quarantine by the payload's appId) and in
-- the view call_lifecycle.  A receiver of appA can insert appA's payloads
-- but not appB's (valid, duplicate or invalid): the INSERT policy refuses
-- them.  The trigger still maintains the lifecycle tables under RLS.  No
-- role updates or deletes anything.  enable_app_security(false) turns it off.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\pset null '(null)'
\set VERBOSITY terse
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings,
         cometchat.app_access
         RESTART IDENTITY;
SELECT cometchat.enable_app_security(false);

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cc32_reader_a;
DROP ROLE IF EXISTS regress_cc32_reader_b;
DROP ROLE IF EXISTS regress_cc32_reader_none;
DROP ROLE IF EXISTS regress_cc32_receiver_a;
DROP ROLE IF EXISTS regress_cc32_writer_a;
DROP ROLE IF EXISTS regress_cc32_app_a;
DROP ROLE IF EXISTS regress_cc32_app_b;
RESET client_min_messages;
CREATE ROLE regress_cc32_app_a;
CREATE ROLE regress_cc32_app_b;
CREATE ROLE regress_cc32_reader_a IN ROLE regress_cc32_app_a;
CREATE ROLE regress_cc32_reader_b IN ROLE regress_cc32_app_b;
CREATE ROLE regress_cc32_reader_none;
CREATE ROLE regress_cc32_receiver_a IN ROLE regress_cc32_app_a;
CREATE ROLE regress_cc32_writer_a IN ROLE regress_cc32_app_a;
INSERT INTO cometchat.app_access VALUES ('regress_cc32_app_a', 'appA'), ('regress_cc32_app_b', 'appB');

GRANT USAGE ON SCHEMA cometchat TO regress_cc32_reader_a, regress_cc32_reader_b, regress_cc32_reader_none,
                                   regress_cc32_receiver_a, regress_cc32_writer_a;
GRANT SELECT ON ALL TABLES IN SCHEMA cometchat TO regress_cc32_reader_a, regress_cc32_reader_b, regress_cc32_reader_none,
                                                 regress_cc32_writer_a;
GRANT UPDATE, DELETE ON ALL TABLES IN SCHEMA cometchat TO regress_cc32_writer_a;
GRANT INSERT (payload) ON cometchat.events TO regress_cc32_receiver_a;
GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO regress_cc32_receiver_a;

------------------------------------------------------------------------
-- Payload builders: webhook "wh-" || app, region "us"; times are unix
-- seconds (1700038800 = 2023-11-15 09:00:00 UTC).
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.ev(app text, trig text, data jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('trigger', trig, 'data', data, 'appId', app, 'region', 'us', 'webhook', 'wh-' || app)
         || CASE WHEN trig LIKE 'meeting\_%' THEN '{"type": "meet"}'
                 WHEN trig LIKE 'call\_%' AND data ? 'sessionId' THEN '{"type": "call"}'
                 ELSE '{}' END::jsonb $$;
CREATE FUNCTION pg_temp.initiated(app text, id text, conv text, caller text, callee text, sent bigint, session text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(app, 'call_initiated', jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', caller, 'receiverType', 'user', 'receiver', callee,
    'category', 'call', 'type', 'audio',
    'data', jsonb_build_object('action', 'initiated', 'entities', jsonb_build_object(
                 'by', jsonb_build_object('entity', jsonb_build_object('uid', caller, 'name', caller), 'entityType', 'user'),
                 'on', jsonb_build_object('entity', jsonb_build_object('sessionid', session, 'status', 'initiated',
                                                                     'type', 'audio', 'initiatedAt', sent),
                                          'entityType', 'call'))),
    'sentAt', sent, 'updatedAt', sent))) $$;
CREATE FUNCTION pg_temp.outcome(app text, action text, id text, conv text, sender text, receiver text, sent bigint)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(app, 'call_' || action, jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', sender, 'receiverType', 'user', 'receiver', receiver,
    'category', 'call', 'type', 'audio', 'data', jsonb_build_object('action', action),
    'sentAt', sent, 'updatedAt', sent))) $$;
CREATE FUNCTION pg_temp.occ(name text, joined bigint, left_at bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('joined_at', joined, 'audio_call', 'false', 'left_at', left_at, 'name', name)) $$;
CREATE FUNCTION pg_temp.part(app text, trig text, session text, occ jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(app, trig, jsonb_build_object('occupant', occ, 'sessionId', session)) $$;
CREATE FUNCTION pg_temp.ended(app text, trig text, session text, created bigint, destroyed bigint, occupants jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(app, trig, jsonb_build_object('all_occupants', occupants, 'destroyed_at', destroyed,
                                                  'created_at', created, 'sessionId', session)) $$;
CREATE FUNCTION pg_temp.recording(app text, session text, start bigint, duration text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(app, 'recording_generated', jsonb_build_object(
    'recordingDate', to_char(to_timestamp(start) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
    'duration', duration, 'startTime', start::text, 'sessionId', session,
    'recording_url', 'https://example.com/' || app || '/' || session || '.mp4')) $$;
-- The same stream for an app, its times shifted by off seconds: a call
-- (initiated, started, two joins, a leave, ended, recording), a call that
-- is rejected, a meeting still going on, and an invalid payload.
CREATE FUNCTION pg_temp.stream(app text, off bigint) RETURNS SETOF jsonb LANGUAGE sql IMMUTABLE AS $$
  VALUES (pg_temp.initiated(app, (900 + off)::text, 'u1_user_u2', 'u1', 'u2', 1700038800 + off, 'call-1')),
         (pg_temp.ev(app, 'call_started', jsonb_build_object('created_at', 1700038805 + off, 'sessionId', 'call-1'))),
         (pg_temp.part(app, 'call_participant_joined', 'call-1', pg_temp.occ('u1', 1700038805 + off))),
         (pg_temp.part(app, 'call_participant_joined', 'call-1', pg_temp.occ('u2', 1700038806 + off))),
         (pg_temp.part(app, 'call_participant_left', 'call-1', pg_temp.occ('u2', 1700038806 + off, 1700038900 + off))),
         (pg_temp.ended(app, 'call_ended', 'call-1', 1700038805 + off, 1700038910 + off,
                        jsonb_build_array(pg_temp.occ('u1', 1700038805 + off, 1700038910 + off),
                                          pg_temp.occ('u2', 1700038806 + off, 1700038900 + off)))),
         (pg_temp.recording(app, 'call-1', 1700038810 + off, '60.000000')),
         (pg_temp.initiated(app, (910 + off)::text, 'u1_user_u3', 'u1', 'u3', 1700039000 + off, 'call-2')),
         (pg_temp.outcome(app, 'rejected', (911 + off)::text, 'u1_user_u3', 'u3', 'u1', 1700039004 + off)),
         (pg_temp.ev(app, 'meeting_started', jsonb_build_object('created_at', 1700042400 + off, 'sessionId', 'standup'))),
         (pg_temp.part(app, 'meeting_participant_joined', 'standup', pg_temp.occ('Ann', 1700042400 + off))),
         (pg_temp.ev(app, 'meeting_started', jsonb_build_object('sessionId', 'standup'))) $$;

-- Both apps, as the superuser, and a body that is not JSON (no app).
SELECT p->>'appId' AS app, (cometchat.ingest(p)).status, count(*)
FROM (SELECT pg_temp.stream('appA', 0) UNION ALL SELECT pg_temp.stream('appB', 100)) s(p)
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT status FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');

-- What a role sees: rows per table and app.
CREATE FUNCTION pg_temp.visible() RETURNS TABLE (tbl text, app_a bigint, app_b bigint, no_app bigint)
LANGUAGE sql AS $$
  WITH r(tbl, n, app) AS (
    SELECT 'events', 1, app_id FROM cometchat.events
    UNION ALL SELECT 'rejected', 2, payload->>'appId' FROM cometchat.rejected
    UNION ALL SELECT 'sessions', 3, app_id FROM cometchat.sessions
    UNION ALL SELECT 'calls', 4, app_id FROM cometchat.calls
    UNION ALL SELECT 'call_outcomes', 5, app_id FROM cometchat.call_outcomes
    UNION ALL SELECT 'participants', 6, app_id FROM cometchat.participants
    UNION ALL SELECT 'recordings', 7, app_id FROM cometchat.recordings
    UNION ALL SELECT 'call_lifecycle', 8, app_id FROM cometchat.call_lifecycle
    UNION ALL SELECT 'call_lifecycle.participants', 9, c.app_id
              FROM cometchat.call_lifecycle c, jsonb_array_elements(c.participants)
    UNION ALL SELECT 'call_lifecycle.recordings', 10, c.app_id
              FROM cometchat.call_lifecycle c, jsonb_array_elements(c.recordings)
    UNION ALL SELECT 'app_access', 11, app_id FROM cometchat.app_access)
  SELECT t.tbl, count(r.app) FILTER (WHERE r.app = 'appA'), count(r.app) FILTER (WHERE r.app = 'appB'),
         count(r.n) FILTER (WHERE r.app IS NULL)
  FROM (VALUES ('events', 1), ('rejected', 2), ('sessions', 3), ('calls', 4), ('call_outcomes', 5),
               ('participants', 6), ('recordings', 7), ('call_lifecycle', 8),
               ('call_lifecycle.participants', 9), ('call_lifecycle.recordings', 10), ('app_access', 11)) t(tbl, n)
  LEFT JOIN r ON r.n = t.n
  GROUP BY t.tbl, t.n ORDER BY t.n $$;

------------------------------------------------------------------------
-- 1. Before enable_app_security(): readers see both apps (app_access
--    itself always shows a role only its own entries).
------------------------------------------------------------------------
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname COLLATE "C";
SET ROLE regress_cc32_reader_a;
SELECT * FROM pg_temp.visible();
RESET ROLE;
SET ROLE regress_cc32_reader_b;
SELECT * FROM pg_temp.visible();
RESET ROLE;

------------------------------------------------------------------------
-- 2. After: each reader sees only its app's rows.
------------------------------------------------------------------------
SELECT cometchat.enable_app_security();
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname COLLATE "C";
SET ROLE regress_cc32_reader_a;
SELECT * FROM pg_temp.visible();
SELECT role_name, app_id FROM cometchat.app_access;
SELECT app_id, session_id, call_id, status, participant_count, participants, recordings
FROM cometchat.call_lifecycle ORDER BY session_id;
SELECT count(*) AS appb_timeline FROM cometchat.timeline('appB', 'call-1');
SELECT count(*) AS appa_timeline FROM cometchat.timeline('appA', 'call-1');
SELECT cometchat.app_visible('appA') AS sees_a, cometchat.app_visible('appB') AS sees_b;
-- Filtering on the other app's ids finds nothing either.
SELECT count(*) FROM cometchat.events WHERE app_id = 'appB';
SELECT count(*) FROM cometchat.rejected WHERE payload->>'appId' = 'appB';
RESET ROLE;
SET ROLE regress_cc32_reader_b;
SELECT * FROM pg_temp.visible();
SELECT role_name, app_id FROM cometchat.app_access;
SELECT app_id, session_id, call_id, status, participant_count, participants, recordings
FROM cometchat.call_lifecycle ORDER BY session_id;
RESET ROLE;
-- A role in no app's group sees nothing.
SET ROLE regress_cc32_reader_none;
SELECT * FROM pg_temp.visible();
RESET ROLE;
-- The superuser (like the owner) is not subject to the policies.
SELECT * FROM pg_temp.visible();

------------------------------------------------------------------------
-- 3. A receiver of appA under RLS.
------------------------------------------------------------------------
SELECT pg_temp.initiated('appA', '950', 'u5_user_u6', 'u5', 'u6', 1700045000, 'call-3') AS a_init,
       pg_temp.ev('appA', 'call_started', '{"created_at": 1700045003, "sessionId": "call-3"}') AS a_start,
       pg_temp.part('appA', 'call_participant_joined', 'call-3', pg_temp.occ('u5', 1700045003)) AS a_join,
       pg_temp.part('appA', 'meeting_participant_joined', 'standup', pg_temp.occ('Bea', 1700042500)) AS a_meet_join,
       pg_temp.ended('appA', 'meeting_ended', 'standup', 1700042400, 1700043000,
                     jsonb_build_array(pg_temp.occ('Ann', 1700042400, 1700043000),
                                       pg_temp.occ('Bea', 1700042500, 1700042990))) AS a_meet_end,
       pg_temp.ev('appB', 'meeting_ended', jsonb_build_object('created_at', 1700042500, 'destroyed_at', 1700043000,
                                                             'sessionId', 'standup', 'all_occupants', '[]'::jsonb)) AS b_new,
       pg_temp.ev('appB', 'call_started', '{"created_at": 1700038905, "sessionId": "call-1"}') AS b_duplicate,
       pg_temp.ev('appB', 'meeting_started', '{"sessionId": "standup"}') AS b_invalid
\gset
SET ROLE regress_cc32_receiver_a;
-- appA's payloads go in, through INSERT, ingest() and ingest_raw().
INSERT INTO cometchat.events (payload) VALUES (:'a_init'), (:'a_start');
SELECT status, event_id FROM cometchat.ingest(:'a_join');
SELECT status, event_id FROM cometchat.ingest_raw(:'a_meet_join');
SELECT status, event_id FROM cometchat.ingest(:'a_meet_end');
SELECT status, event_id FROM cometchat.ingest(:'a_meet_end');
-- appB's payloads do not: a new event, by every path ...
INSERT INTO cometchat.events (payload) VALUES (:'b_new');
INSERT INTO cometchat.events (payload) VALUES (:'a_meet_end'), (:'b_new');
SELECT status, event_id FROM cometchat.ingest(:'b_new');
SELECT status, event_id FROM cometchat.ingest_raw(:'b_new');
-- ... an event appB already has (which must not tell the receiver that it
-- exists, nor its id) ...
INSERT INTO cometchat.events (payload) VALUES (:'b_duplicate');
SELECT status, event_id FROM cometchat.ingest(:'b_duplicate');
-- ... and an invalid payload of appB (which would land in appB's quarantine).
INSERT INTO cometchat.events (payload) VALUES (:'b_invalid');
SELECT status, rejected_id FROM cometchat.ingest(:'b_invalid');
RESET ROLE;

-- The trigger maintained appA's lifecycle under RLS; appB is untouched.
SET ROLE regress_cc32_reader_a;
SELECT session_id, started_at, ended_at, status, participant_count, peak_participants
FROM cometchat.sessions ORDER BY session_id, started_at;
SELECT session_id, call_id, status, started_at, participant_count FROM cometchat.calls ORDER BY session_id;
SELECT session_id, name, joined_at, left_at, left_at_from FROM cometchat.participants
WHERE session_id IN ('standup', 'call-3') ORDER BY session_id, joined_at;
RESET ROLE;
SET ROLE regress_cc32_reader_b;
SELECT * FROM pg_temp.visible();
SELECT session_id, started_at, ended_at, status FROM cometchat.sessions WHERE session_id = 'standup';
RESET ROLE;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. No role updates or deletes anything: readers have no such grants, and
--    a role granted UPDATE and DELETE finds no row it may change (there is
--    no UPDATE or DELETE policy).
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.attempt(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n || ' rows';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
CREATE TEMP TABLE statements AS
SELECT t, n, op, format(CASE op WHEN 'update' THEN 'UPDATE cometchat.%I SET app_id = app_id'
                                ELSE 'DELETE FROM cometchat.%I' END, t) AS sql
FROM unnest(ARRAY['events', 'sessions', 'calls', 'call_outcomes', 'participants', 'recordings']) WITH ORDINALITY u(t, n),
     unnest(ARRAY['update', 'delete']) op
UNION ALL SELECT 'rejected', 7, 'update', 'UPDATE cometchat.rejected SET problems = problems'
UNION ALL SELECT 'rejected', 7, 'delete', 'DELETE FROM cometchat.rejected'
UNION ALL SELECT 'app_access', 8, 'update', 'UPDATE cometchat.app_access SET app_id = app_id'
UNION ALL SELECT 'app_access', 8, 'delete', 'DELETE FROM cometchat.app_access';
GRANT SELECT ON statements TO PUBLIC;
SET ROLE regress_cc32_reader_a;
SELECT t, op, pg_temp.attempt(sql) AS reader_a FROM statements ORDER BY n, op DESC;
RESET ROLE;
SET ROLE regress_cc32_writer_a;
SELECT t, op, pg_temp.attempt(sql) AS writer_a FROM statements ORDER BY n, op DESC;
RESET ROLE;
SET ROLE regress_cc32_receiver_a;
SELECT t, op, pg_temp.attempt(sql) AS receiver_a FROM statements ORDER BY n, op DESC;
RESET ROLE;
-- Nothing changed.
SELECT * FROM pg_temp.visible();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 5. enable_app_security(false): readers see both apps again.
------------------------------------------------------------------------
SELECT cometchat.enable_app_security(false);
SELECT c.relname, c.relrowsecurity FROM pg_class c
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname COLLATE "C";
SET ROLE regress_cc32_reader_a;
SELECT * FROM pg_temp.visible();
RESET ROLE;
SET ROLE regress_cc32_reader_none;
SELECT * FROM pg_temp.visible();
RESET ROLE;
-- Only superusers (and the owner) switch it.
SET ROLE regress_cc32_reader_a;
SELECT cometchat.enable_app_security();
RESET ROLE;

------------------------------------------------------------------------
-- Clean up.
------------------------------------------------------------------------
TRUNCATE cometchat.app_access;
DROP OWNED BY regress_cc32_reader_a, regress_cc32_reader_b, regress_cc32_reader_none,
              regress_cc32_receiver_a, regress_cc32_writer_a, regress_cc32_app_a, regress_cc32_app_b;
DROP ROLE regress_cc32_reader_a;
DROP ROLE regress_cc32_reader_b;
DROP ROLE regress_cc32_reader_none;
DROP ROLE regress_cc32_receiver_a;
DROP ROLE regress_cc32_writer_a;
DROP ROLE regress_cc32_app_a;
DROP ROLE regress_cc32_app_b;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname LIKE 'regress\_cc32\_%';

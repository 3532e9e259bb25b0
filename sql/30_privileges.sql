-- Privileges: a receiver granted exactly what the documentation says
--   GRANT USAGE ON SCHEMA cometchat TO r;
--   GRANT INSERT (payload) ON cometchat.events TO r;
--   GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO r;
-- ingests through INSERT, COPY, ingest() and ingest_raw(): duplicates are
-- skipped, invalid payloads and bodies that are not JSON are quarantined
-- (with no grant on cometchat.rejected), and the lifecycle tables are
-- maintained by the trigger.  It reads, changes and empties nothing else,
-- and calls none of the maintenance functions.  A role without those grants
-- cannot ingest at all.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\pset null '(null)'
\set VERBOSITY terse
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- Roles are cluster-wide: unique names, removed at the end (and here, if a
-- run that failed half-way left them behind).
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cc30_receiver;
DROP ROLE IF EXISTS regress_cc30_caller;
DROP ROLE IF EXISTS regress_cc30_nobody;
RESET client_min_messages;
CREATE ROLE regress_cc30_receiver;
CREATE ROLE regress_cc30_caller;    -- may call ingest()/ingest_raw(), may not insert
CREATE ROLE regress_cc30_nobody;    -- no grants at all
GRANT USAGE ON SCHEMA cometchat TO regress_cc30_receiver;
GRANT INSERT (payload) ON cometchat.events TO regress_cc30_receiver;
GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO regress_cc30_receiver;
GRANT USAGE ON SCHEMA cometchat TO regress_cc30_caller;
GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO regress_cc30_caller;

-- Payload builders following the reference: app "app1", region "us",
-- webhook "wh1"; times are unix seconds (1700038800 = 2023-11-15 09:00 UTC).
CREATE FUNCTION pg_temp.ev(trig text, data jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('trigger', trig, 'data', data, 'appId', 'app1', 'region', 'us', 'webhook', 'wh1')
         || CASE WHEN trig LIKE 'meeting\_%' THEN '{"type": "meet"}'
                 WHEN trig LIKE 'call\_%' AND data ? 'sessionId' THEN '{"type": "call"}'
                 ELSE '{}' END::jsonb $$;
CREATE FUNCTION pg_temp.initiated(id text, conv text, caller text, callee text, sent bigint, session text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('call_initiated', jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', caller, 'receiverType', 'user', 'receiver', callee,
    'category', 'call', 'type', 'audio',
    'data', jsonb_build_object('action', 'initiated', 'entities', jsonb_build_object(
                 'by', jsonb_build_object('entity', jsonb_build_object('uid', caller, 'name', caller), 'entityType', 'user'),
                 'on', jsonb_build_object('entity', jsonb_build_object('sessionid', session, 'status', 'initiated',
                                                                     'type', 'audio', 'initiatedAt', sent),
                                          'entityType', 'call'))),
    'sentAt', sent, 'updatedAt', sent))) $$;
CREATE FUNCTION pg_temp.outcome(action text, id text, conv text, sender text, receiver text, sent bigint)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('call_' || action, jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', sender, 'receiverType', 'user', 'receiver', receiver,
    'category', 'call', 'type', 'audio', 'data', jsonb_build_object('action', action),
    'sentAt', sent, 'updatedAt', sent))) $$;
CREATE FUNCTION pg_temp.occ(name text, joined bigint, left_at bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('joined_at', joined, 'audio_call', 'false', 'left_at', left_at, 'name', name)) $$;

SELECT pg_temp.initiated('501', 'u1_user_u2', 'u1', 'u2', 1700038800, 'v1.us.app1.s1') AS init_s1,
       pg_temp.ev('call_started', '{"created_at": 1700038805, "sessionId": "v1.us.app1.s1"}') AS start_s1,
       pg_temp.ev('call_participant_joined', jsonb_build_object('occupant', pg_temp.occ('u1', 1700038805), 'sessionId', 'v1.us.app1.s1')) AS join_u1,
       pg_temp.ev('call_participant_joined', jsonb_build_object('occupant', pg_temp.occ('u2', 1700038806), 'sessionId', 'v1.us.app1.s1')) AS join_u2,
       pg_temp.ev('call_participant_left', jsonb_build_object('occupant', pg_temp.occ('u2', 1700038806, 1700038900), 'sessionId', 'v1.us.app1.s1')) AS left_u2,
       pg_temp.ev('call_ended', jsonb_build_object('all_occupants', jsonb_build_array(pg_temp.occ('u1', 1700038805, 1700038910), pg_temp.occ('u2', 1700038806, 1700038900)),
                                                   'destroyed_at', 1700038910, 'created_at', 1700038805, 'sessionId', 'v1.us.app1.s1')) AS end_s1,
       pg_temp.ev('recording_generated', '{"recordingDate": "2023-11-15", "duration": "90.500000", "startTime": "1700038810", "sessionId": "v1.us.app1.s1", "recording_url": "https://example.com/s1.mp4"}') AS rec_s1,
       pg_temp.initiated('502', 'u1_user_u3', 'u1', 'u3', 1700039000, 'v1.us.app1.s2') AS init_s2,
       pg_temp.outcome('unanswered', '503', 'u1_user_u3', 'u1', 'u3', 1700039045) AS unanswered_s2,
       pg_temp.ev('meeting_started', '{"created_at": 1700040000, "sessionId": "room-1"}') AS start_room,
       pg_temp.ev('meeting_participant_joined', jsonb_build_object('occupant', pg_temp.occ('A', 1700040001), 'sessionId', 'room-1')) AS join_room,
       '{"trigger": "call_started", "data": {"sessionId": "v1.us.app1.s9"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh1"}' AS invalid
\gset

------------------------------------------------------------------------
-- 1. The receiver ingests.
------------------------------------------------------------------------
SET ROLE regress_cc30_receiver;
SELECT current_user;

-- A plain INSERT of the body; the same delivery again inserts nothing.
INSERT INTO cometchat.events (payload) VALUES (:'init_s1');
INSERT INTO cometchat.events (payload) VALUES (:'init_s1');
INSERT INTO cometchat.events (payload) VALUES (:'start_s1'), (:'join_u1'), (:'start_s1');
-- An invalid payload: quarantined, nothing inserted, no error.
INSERT INTO cometchat.events (payload) VALUES (:'invalid');
-- COPY of bodies is an INSERT too.
COPY cometchat.events (payload) FROM stdin;
{"trigger": "call_participant_joined", "data": {"occupant": {"joined_at": 1700038806, "audio_call": "false", "name": "u2"}, "sessionId": "v1.us.app1.s1"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh1"}
{"trigger": "call_participant_joined", "data": {"occupant": {"joined_at": 1700038806, "audio_call": "false", "name": "u2"}, "sessionId": "v1.us.app1.s1"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh1"}
\.

-- ingest(): accepted, duplicate (with the stored event's id), rejected.
SELECT status, event_id, idempotency_key IS NOT NULL AS has_key, problems, rejected_id FROM cometchat.ingest(:'left_u2');
SELECT status, event_id, idempotency_key IS NOT NULL AS has_key, problems, rejected_id FROM cometchat.ingest(:'left_u2');
SELECT status, event_id, idempotency_key IS NOT NULL AS has_key, problems, rejected_id FROM cometchat.ingest(:'invalid');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(NULL);
SELECT status, event_id FROM cometchat.ingest(:'end_s1');
SELECT status, event_id FROM cometchat.ingest(:'rec_s1');
SELECT status, event_id FROM cometchat.ingest(:'init_s2');
SELECT status, event_id FROM cometchat.ingest(:'unanswered_s2');

-- ingest_raw(): a JSON body is ingested, a repeated one is a duplicate, an
-- invalid one is quarantined with its payload, and a body that is not JSON
-- is quarantined with its text, though the receiver has no grant on
-- cometchat.rejected.
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'start_room');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'start_room');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'join_room');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'invalid');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(NULL);

-- Nothing else: the derived columns, RETURNING (which reads the row), and
-- UPDATE (the trigger's UPDATE path) are all refused.
INSERT INTO cometchat.events (payload, app_id) VALUES (:'start_room', 'other');
INSERT INTO cometchat.events (payload) VALUES (:'start_room') RETURNING id;
UPDATE cometchat.events SET payload = payload;
UPDATE cometchat.events SET payload = :'start_room' WHERE id = 1;
INSERT INTO cometchat.rejected (problems) VALUES ('{x}');
INSERT INTO cometchat.sessions (app_id, session_id, started_at, mode) VALUES ('app1', 'x', now(), 'meet');
RESET ROLE;

-- What the receiver may do, table by table, as the catalogs say.
SELECT c.relname,
       has_table_privilege('regress_cc30_receiver', c.oid, 'SELECT') AS sel,
       has_table_privilege('regress_cc30_receiver', c.oid, 'INSERT') AS ins,
       has_any_column_privilege('regress_cc30_receiver', c.oid, 'INSERT') AS ins_any_column,
       has_table_privilege('regress_cc30_receiver', c.oid, 'UPDATE') AS upd,
       has_any_column_privilege('regress_cc30_receiver', c.oid, 'UPDATE') AS upd_any_column,
       has_table_privilege('regress_cc30_receiver', c.oid, 'DELETE') AS del,
       has_table_privilege('regress_cc30_receiver', c.oid, 'TRUNCATE') AS trunc,
       has_any_column_privilege('regress_cc30_receiver', c.oid, 'SELECT') AS sel_any_column
FROM pg_class c
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
ORDER BY c.relname COLLATE "C";
SELECT attname FROM pg_attribute
WHERE attrelid = 'cometchat.events'::regclass AND attnum > 0
  AND has_column_privilege('regress_cc30_receiver', attrelid, attnum, 'INSERT')
ORDER BY attnum;

-- Every attempt to read, change or empty a table or the view, as the
-- receiver: each refused.
CREATE FUNCTION pg_temp.attempt(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'allowed';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SET ROLE regress_cc30_receiver;
SELECT t, op, pg_temp.attempt(format(CASE op
           WHEN 'select' THEN 'SELECT count(*) FROM cometchat.%I'
           WHEN 'select_column' THEN 'SELECT count(app_id) FROM cometchat.%I'
           WHEN 'update' THEN 'UPDATE cometchat.%I SET app_id = app_id'
           WHEN 'delete' THEN 'DELETE FROM cometchat.%I'
           WHEN 'truncate' THEN 'TRUNCATE cometchat.%I' END, t)) AS result
FROM unnest(ARRAY['events', 'sessions', 'calls', 'call_outcomes', 'participants', 'recordings',
                  'call_lifecycle']) WITH ORDINALITY AS t(t, n),
     unnest(ARRAY['select', 'select_column', 'update', 'delete', 'truncate']) WITH ORDINALITY AS o(op, m)
ORDER BY n, m;
SELECT op, pg_temp.attempt(sql) AS result
FROM (VALUES ('select', 'SELECT count(*) FROM cometchat.rejected'),
             ('select_column', 'SELECT count(raw_body) FROM cometchat.rejected'),
             ('update', 'UPDATE cometchat.rejected SET problems = ''{}'''),
             ('delete', 'DELETE FROM cometchat.rejected'),
             ('truncate', 'TRUNCATE cometchat.rejected')) v(op, sql);
-- The maintenance and internal functions.
SELECT f, pg_temp.attempt('SELECT ' || f) AS result
FROM unnest(ARRAY['cometchat.rebuild()', 'cometchat.verify()', 'cometchat._replay()',
                  'cometchat._lifecycle_rows()', 'cometchat._events_trigger()',
                  'cometchat.enable_app_security()', 'cometchat.enable_app_security(false)']) f;
-- The trigger cannot be switched off or replaced by the receiver.
SELECT pg_temp.attempt('ALTER TABLE cometchat.events DISABLE TRIGGER events_ingest') AS disable_trigger;
SELECT pg_temp.attempt('SET session_replication_role = replica') AS replica_role;
RESET ROLE;

-- The catalogs agree: EXECUTE on exactly ingest() and ingest_raw(), besides
-- the pure functions anyone may call.
SELECT p.oid::regprocedure AS function,
       has_function_privilege('regress_cc30_receiver', p.oid, 'EXECUTE') AS receiver,
       has_function_privilege('regress_cc30_nobody', p.oid, 'EXECUTE') AS nobody
FROM pg_proc p
WHERE p.pronamespace = 'cometchat'::regnamespace
ORDER BY p.oid::regprocedure::text COLLATE "C";

------------------------------------------------------------------------
-- 2. As superuser: what the receiver stored.
------------------------------------------------------------------------
SELECT id, kind, session_id, call_id, occurred_at FROM cometchat.events ORDER BY id;
SELECT id, payload IS NOT NULL AS has_payload, raw_body, problems FROM cometchat.rejected ORDER BY id;
SELECT app_id, session_id, started_at, mode, ended_at, status, participant_count, peak_participants, recording_count
FROM cometchat.sessions ORDER BY session_id, started_at;
SELECT session_id, call_id, caller, receiver, status, initiated_at, started_at, ended_at, outcome, outcome_at, participant_count
FROM cometchat.calls ORDER BY session_id;
SELECT outcome_id, conversation_id, outcome, sent_at, linked_call_id FROM cometchat.call_outcomes ORDER BY outcome_id;
SELECT session_id, name, session_started_at, joined_at, left_at, left_at_from FROM cometchat.participants
ORDER BY session_id, name, joined_at;
SELECT session_id, session_started_at, started_at, duration, recording_url FROM cometchat.recordings;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 3. Roles without the grants cannot ingest.
------------------------------------------------------------------------
-- No grants at all: not even the schema.
SET ROLE regress_cc30_nobody;
INSERT INTO cometchat.events (payload) VALUES (:'start_room');
SELECT * FROM cometchat.ingest(:'start_room');
SELECT * FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');
RESET ROLE;
-- The schema alone is not enough either.
GRANT USAGE ON SCHEMA cometchat TO regress_cc30_nobody;
SET ROLE regress_cc30_nobody;
INSERT INTO cometchat.events (payload) VALUES (:'start_room');
SELECT * FROM cometchat.ingest(:'start_room');
SELECT * FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');
RESET ROLE;
-- May call ingest() and ingest_raw() but has no INSERT on the ledger: a
-- valid, an invalid or a non-JSON body are all refused, and a body that is
-- not JSON is refused with an error that says why.
SET ROLE regress_cc30_caller;
SELECT * FROM cometchat.ingest(:'start_room');
SELECT * FROM cometchat.ingest(:'invalid');
SELECT * FROM cometchat.ingest_raw(:'invalid');
\set VERBOSITY default
SELECT * FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');
\set VERBOSITY terse
RESET ROLE;
-- None of the refused attempts left anything behind.
SELECT (SELECT count(*) FROM cometchat.events) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected,
       (SELECT count(*) FROM cometchat.sessions) AS sessions;

-- A role granted only INSERT on the ledger's other columns, not payload,
-- cannot insert a body either.
GRANT INSERT (received_at) ON cometchat.events TO regress_cc30_caller;
SET ROLE regress_cc30_caller;
SELECT * FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');
RESET ROLE;
SELECT count(*) AS rejected FROM cometchat.rejected;

-- The superuser's UPDATE reaches the trigger, which refuses it: the ledger
-- is append-only.
UPDATE cometchat.events SET payload = payload WHERE id = 1;

------------------------------------------------------------------------
-- Clean up the roles.
------------------------------------------------------------------------
DROP OWNED BY regress_cc30_receiver, regress_cc30_caller, regress_cc30_nobody;
DROP ROLE regress_cc30_receiver;
DROP ROLE regress_cc30_caller;
DROP ROLE regress_cc30_nobody;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname LIKE 'regress\_cc30\_%';

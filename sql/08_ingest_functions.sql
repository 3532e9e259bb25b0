-- cometchat.ingest(payload): stores a webhook through the ledger's trigger and
-- says what happened: accepted (the new row's id and key), duplicate (the
-- id and key of the row already stored) or rejected (the problems and the
-- cometchat.rejected row).
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

\set joined '{"trigger": "meeting_participant_joined", "data": {"occupant": {"joined_at": 1696934692, "audio_call": "false", "name": "Andrew Joseph"}, "sessionId": "room-1"}, "type": "meet", "appId": "app1", "region": "eu", "webhook": "wh1"}'
\set left '{"trigger": "meeting_participant_left", "data": {"occupant": {"joined_at": 1696934692, "audio_call": "false", "left_at": 1696934730, "name": "Andrew Joseph"}, "sessionId": "room-1"}, "type": "meet", "appId": "app1", "region": "eu", "webhook": "wh1"}'
\set bad '{"trigger": "meeting_participant_left", "data": {"occupant": {"joined_at": 1696934692, "left_at": 1696934600}, "sessionId": "room-1"}, "type": "meet", "appId": "app1", "region": "eu", "webhook": "wh1"}'

-- Accepted.
SELECT status, event_id,
       idempotency_key = sha256(convert_to(cometchat.idempotency_key(:'joined'), 'UTF8')) AS key_ok,
       problems, rejected_id
FROM cometchat.ingest(:'joined');
SELECT id, kind, session_id FROM cometchat.events ORDER BY id;

-- Duplicate: event_id is the stored row's.
SELECT status, event_id,
       idempotency_key = sha256(convert_to(cometchat.idempotency_key(:'joined'), 'UTF8')) AS key_ok,
       problems, rejected_id
FROM cometchat.ingest(:'joined');
SELECT status, event_id, problems, rejected_id
FROM cometchat.ingest(:'joined'::jsonb || '{"redelivered": true}');

-- A second event, then both events again in one query.
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(:'left');
SELECT v.i, r.status, r.event_id, r.idempotency_key = e.idempotency_key AS key_is_stored_key
FROM (VALUES (1, :'left'::jsonb), (2, :'joined'::jsonb)) v(i, p),
     LATERAL cometchat.ingest(v.p) r
LEFT JOIN cometchat.events e ON e.id = r.event_id
ORDER BY v.i;

-- The same new event twice in one query: accepted, then duplicate of it.
SELECT v.i, r.status, r.event_id
FROM (VALUES (1, jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"George Alan"')),
             (2, jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"George Alan"'))) v(i, p),
     LATERAL cometchat.ingest(v.p) r
ORDER BY v.i;

-- Rejected: the problems, and the quarantine row that holds them.
SELECT status, event_id, idempotency_key, problems, rejected_id FROM cometchat.ingest(:'bad');
SELECT id, payload = :'bad'::jsonb AS payload_kept, raw_body, problems FROM cometchat.rejected ORDER BY id;

-- Each rejection is its own quarantine row.
SELECT status, problems, rejected_id FROM cometchat.ingest('{"trigger": "call_started"}');
SELECT id, payload, problems FROM cometchat.rejected WHERE id = 2;

-- NULL and non-objects.
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(NULL);
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest('[]');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest('null');
SELECT id, payload, problems FROM cometchat.rejected WHERE id > 2 ORDER BY id;

-- An unknown trigger with a sound envelope is accepted.
SELECT status, event_id, problems FROM cometchat.ingest('{"trigger": "transcription_generated", "appId": "app1", "webhook": "wh1", "data": {"tid": "t1"}}');
SELECT id, kind FROM cometchat.events ORDER BY id;

-- ingest() does what INSERT does: a row inserted directly is a duplicate for
-- ingest(), and the other way round.
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Susan"'));
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Susan"'));
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Maria"'));
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Maria"'));

-- ingest() works whatever the caller's search_path.
SET search_path = pg_catalog;
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Maria"'));
RESET search_path;

-- A rolled-back ingest leaves nothing behind; ingesting again is accepted.
BEGIN;
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Lee"'));
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Kim"'));
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Lee"'));
ROLLBACK;
SELECT status, event_id FROM cometchat.ingest(jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Lee"'));

SELECT count(*) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected FROM cometchat.events;

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

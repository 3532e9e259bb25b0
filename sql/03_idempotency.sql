-- cometchat.idempotency_key(): appId, webhook, trigger, then CometChat's
-- documented key parts, widened on participant events by the occupant's name
-- (and, on leaves, joined_at).  Every part is a JSON string, so the key is a
-- JSON array that no value can forge; numbers and digit strings normalize.
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- The 14 documented examples (reference sections 4 and 5, placeholders kept)
-- and S7's copy of call_initiated without data.call.data.entities.
CREATE TEMP TABLE doc (n int PRIMARY KEY, event text NOT NULL, payload jsonb NOT NULL);
INSERT INTO doc VALUES
(1, 'call_initiated', '{"trigger": "call_initiated", "data": {"call": {"id": "52", "conversationId": "cometchat-uid-1_user_cometchat-uid-5", "sender": "cometchat-uid-1", "receiverType": "user", "receiver": "cometchat-uid-5", "category": "call", "type": "audio", "data": {"action": "initiated", "entities": {"by": {"entity": {"uid": "cometchat-uid-1", "name": "Andrew Joseph", "status": "available", "role": "default", "lastActiveAt": 1696933934}, "entityType": "user"}, "on": {"entity": {"sessionid": "<sessionId>", "status": "initiated", "type": "audio", "initiatedAt": 1696934199}, "entityType": "call"}}}, "sentAt": 1696934199, "updatedAt": 1696934199}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(2, 'call_started', '{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(3, 'call_participant_joined', '{"trigger": "call_participant_joined", "data": {"occupant": {"joined_at": 1696934573, "audio_call": "true", "name": "Andrew Joseph"}, "initial_config": {"is_video_muted": "false", "start_recording_on_call_start": "false", "call_version": "2.3.0", "is_audio_muted": "false", "sdk": "react", "mode": "DEFAULT", "platform": "web", "is_audio_only": "true"}, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(4, 'call_participant_left', '{"trigger": "call_participant_left", "data": {"occupant": {"joined_at": 1696934501, "audio_call": "true", "left_at": 1696934553, "name": "George Alan"}, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(5, 'call_ended', '{"trigger": "call_ended", "data": {"all_occupants": [{"joined_at": 1696934501, "audio_call": "true", "left_at": 1696934553, "name": "George Alan"}, {"joined_at": 1696934501, "audio_call": "true", "left_at": 1696934551, "name": "Andrew Joseph"}], "destroyed_at": 1696934553, "created_at": 1696934501, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(6, 'call_busy', '{"trigger": "call_busy", "data": {"call": {"id": "43414", "conversationId": "cometchat-uid-1_user_cometchat-uid-3", "sender": "cometchat-uid-3", "receiverType": "user", "receiver": "cometchat-uid-1", "category": "call", "type": "audio", "data": {"action": "busy"}, "sentAt": 1744960250, "updatedAt": 1744960250}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookId>"}'),
(7, 'call_cancelled', '{"trigger": "call_cancelled", "data": {"call": {"id": "43408", "conversationId": "cometchat-uid-3_user_cometchat-uid-4", "sender": "cometchat-uid-4", "receiverType": "user", "receiver": "cometchat-uid-3", "category": "call", "type": "audio", "data": {"action": "cancelled"}, "sentAt": 1744960111, "updatedAt": 1744960111}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookId>"}'),
(8, 'call_rejected', '{"trigger": "call_rejected", "data": {"call": {"id": "43406", "conversationId": "cometchat-uid-3_user_cometchat-uid-4", "sender": "cometchat-uid-3", "receiverType": "user", "receiver": "cometchat-uid-4", "category": "call", "type": "audio", "data": {"action": "rejected"}, "sentAt": 1744960092, "updatedAt": 1744960092}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookId>"}'),
(9, 'call_unanswered', '{"trigger": "call_unanswered", "data": {"call": {"id": "43410", "conversationId": "cometchat-uid-3_user_cometchat-uid-4", "sender": "cometchat-uid-4", "receiverType": "user", "receiver": "cometchat-uid-3", "category": "call", "type": "audio", "data": {"action": "unanswered"}, "sentAt": 1744960170, "updatedAt": 1744960170}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookId>"}'),
(10, 'meeting_started', '{"trigger": "meeting_started", "data": {"created_at": 1696934692, "sessionId": "<sessionId>"}, "type": "meet", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(11, 'meeting_participant_joined', '{"trigger": "meeting_participant_joined", "data": {"occupant": {"joined_at": 1696934692, "audio_call": "false", "name": "Andrew Joseph"}, "initial_config": {"is_video_muted": "false", "start_recording_on_call_start": "false", "call_version": "2.3.0", "is_audio_muted": "false", "sdk": "react", "mode": "DEFAULT", "platform": "web", "is_audio_only": "false"}, "sessionId": "<sessionId>"}, "type": "meet", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(12, 'meeting_participant_left', '{"trigger": "meeting_participant_left", "data": {"occupant": {"joined_at": 1696934692, "audio_call": "false", "left_at": 1696934730, "name": "Andrew Joseph"}, "sessionId": "<sessionId>"}, "type": "meet", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(13, 'meeting_ended', '{"trigger": "meeting_ended", "data": {"all_occupants": [{"joined_at": 1696934692, "audio_call": "false", "left_at": 1696934730, "name": "Andrew Joseph"}], "destroyed_at": 1696934730, "created_at": 1696934692, "sessionId": "<sessionId>"}, "type": "meet", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(14, 'recording_generated', '{"trigger": "recording_generated", "data": {"recordingDate": "2023-10-10", "duration": "21.433000", "startTime": "1696937627", "sessionId": "<sessionId>", "recording_url": "<recording_url>"}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'),
(15, 'call_initiated (S7)', '{"trigger": "call_initiated", "data": {"call": {"id": "52", "conversationId": "cometchat-uid-1_user_cometchat-uid-5", "sender": "cometchat-uid-1", "receiverType": "user", "receiver": "cometchat-uid-5", "category": "call", "type": "audio", "data": {"action": "initiated"}, "sentAt": 1696934199, "updatedAt": 1696934199}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}');

-- The key of every documented event.
SELECT n, event, cometchat.idempotency_key(payload) AS key FROM doc ORDER BY n;

-- Each key is a JSON array of strings whose first three elements are
-- appId, webhook and trigger, whatever characters they hold.
SELECT count(*) AS keys,
       count(*) FILTER (WHERE jsonb_typeof(k) = 'array'
                          AND k->>0 = payload->>'appId'
                          AND k->>1 = payload->>'webhook'
                          AND k->>2 = payload->>'trigger'
                          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(k) e
                                          WHERE jsonb_typeof(e) <> 'string')) AS well_formed
FROM doc, LATERAL (SELECT cometchat.idempotency_key(payload)::jsonb) x(k);

-- "52" and 52 are one message id; "1696937627" and 1696937627 one startTime.
SELECT cometchat.idempotency_key(payload) =
       cometchat.idempotency_key(jsonb_set(payload, '{data,call,id}', '52')) AS id_string_eq_number
FROM doc WHERE n = 1;
SELECT cometchat.idempotency_key(jsonb_set(payload, '{data,call,id}', '52')) AS key_with_numeric_id
FROM doc WHERE n = 1;
SELECT cometchat.idempotency_key(payload) =
       cometchat.idempotency_key(jsonb_set(payload, '{data,startTime}', '1696937627')) AS start_string_eq_number
FROM doc WHERE n = 14;
-- ... and the ledger treats them as one event.
INSERT INTO cometchat.events (payload) SELECT payload FROM doc WHERE n IN (1, 14);
INSERT INTO cometchat.events (payload) SELECT jsonb_set(payload, '{data,call,id}', '52') FROM doc WHERE n = 1;
INSERT INTO cometchat.events (payload) SELECT jsonb_set(payload, '{data,startTime}', '1696937627') FROM doc WHERE n = 14;
SELECT count(*) AS events FROM cometchat.events;

-- Only the key fields count: a redelivery with another updatedAt or an extra
-- key is the same event.
SELECT cometchat.idempotency_key(payload) =
       cometchat.idempotency_key(jsonb_set(payload, '{data,call,updatedAt}', '1696934300')
                                 || '{"extra": true}') AS same_key
FROM doc WHERE n = 1;

-- Two participants joining the same second (the documented key collides,
-- reference 9.8): different keys, two rows.
SELECT cometchat.idempotency_key(payload) AS key
FROM (SELECT jsonb_set(payload, '{data,occupant,name}', to_jsonb(nm)) AS payload, nm
      FROM doc, unnest(ARRAY['George Alan', 'Andrew Joseph']) nm WHERE n = 3) j
ORDER BY nm;
INSERT INTO cometchat.events (payload)
SELECT jsonb_set(payload, '{data,occupant,name}', '"George Alan"') FROM doc WHERE n = 3
UNION ALL
SELECT jsonb_set(payload, '{data,occupant,name}', '"Andrew Joseph"') FROM doc WHERE n = 3;
-- Two leaving the same second, and one person leaving twice in one second
-- from two stints (different joined_at): all distinct.
SELECT cometchat.idempotency_key(p) AS key
FROM (SELECT payload FROM doc WHERE n = 4) d,
     LATERAL (VALUES
       (1, d.payload),
       (2, jsonb_set(d.payload, '{data,occupant,name}', '"Andrew Joseph"')),
       (3, jsonb_set(d.payload, '{data,occupant,joined_at}', '1696934540'))) v(i, p)
ORDER BY i;
INSERT INTO cometchat.events (payload)
SELECT p FROM (SELECT payload FROM doc WHERE n = 4) d,
     LATERAL (VALUES
       (d.payload),
       (jsonb_set(d.payload, '{data,occupant,name}', '"Andrew Joseph"')),
       (jsonb_set(d.payload, '{data,occupant,joined_at}', '1696934540'))) v(p);
SELECT kind, count(*) FROM cometchat.events
WHERE kind IN ('call_participant_joined', 'call_participant_left') GROUP BY kind ORDER BY kind;

-- Fan-out: the same event delivered to two webhooks is two events; the same
-- event from two apps too.
SELECT cometchat.idempotency_key(p) AS key
FROM (VALUES (1, '{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "s1"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh-a"}'::jsonb),
             (2, '{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "s1"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh-b"}'),
             (3, '{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "s1"}, "type": "call", "appId": "app2", "region": "us", "webhook": "wh-a"}')) v(i, p)
ORDER BY i;
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "s1"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh-a"}'),
  ('{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "s1"}, "type": "call", "appId": "app1", "region": "us", "webhook": "wh-b"}'),
  ('{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "s1"}, "type": "call", "appId": "app2", "region": "us", "webhook": "wh-a"}');

-- No separator trick makes two different events share a key: values holding
-- "|", quotes, commas, brackets or backslashes stay apart.
CREATE TEMP TABLE tricky (i int, app text, webhook text, session text);
INSERT INTO tricky VALUES
  (1, 'a|b', 'c', 's'),
  (2, 'a', 'b|c', 's'),
  (3, 'a","b', 'c', 's'),
  (4, 'a', 'b","c', 's'),
  (5, 'a\', 'c', 's'),
  (6, 'a\","c', 'x', 's'),
  (7, 'a', 'c', 's","1696934572'),
  (8, 'a', 'c', 's'),
  (9, 'a', 'c"]', 's'),
  (10, 'a', E'c\n', 's');
CREATE TEMP TABLE tricky_p AS
SELECT i, app, webhook, session,
       jsonb_build_object('trigger', 'call_started', 'type', 'call', 'region', 'us',
                          'appId', app, 'webhook', webhook,
                          'data', jsonb_build_object('created_at', 1696934572, 'sessionId', session)) AS p
FROM tricky;
SELECT i, cometchat.idempotency_key(p) AS key FROM tricky_p ORDER BY i;
SELECT count(*) AS payloads, count(DISTINCT cometchat.idempotency_key(p)) AS distinct_keys,
       count(*) FILTER (WHERE k->>0 = app AND k->>1 = webhook AND k->>3 = session) AS parts_round_trip
FROM tricky_p, LATERAL (SELECT cometchat.idempotency_key(p)::jsonb) x(k);
INSERT INTO cometchat.events (payload) SELECT p FROM tricky_p ORDER BY i;

-- Unknown triggers are keyed by a digest of the whole payload: two payloads
-- with the same trigger are two events; the same payload twice (in any key
-- order or spacing) is one.
SELECT k->>0 AS app, k->>1 AS webhook, k->>2 AS trigger,
       k->>3 = 'sha256:' || encode(sha256(convert_to(p::text, 'UTF8')), 'hex') AS digest_of_payload,
       jsonb_array_length(k) AS parts
FROM (VALUES ('{"trigger": "transcription_generated", "appId": "app1", "webhook": "wh1", "data": {"tid": "t1"}}'::jsonb)) v(p),
     LATERAL (SELECT cometchat.idempotency_key(p)::jsonb) x(k);
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "transcription_generated", "appId": "app1", "webhook": "wh1", "data": {"tid": "t1"}}'),
  ('{"trigger": "transcription_generated", "appId": "app1", "webhook": "wh1", "data": {"tid": "t2"}}');
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "transcription_generated", "appId": "app1", "webhook": "wh1", "data": {"tid": "t1"}}');
INSERT INTO cometchat.events (payload) VALUES
  ('{"data": {"tid":"t1"},   "webhook": "wh1", "appId": "app1", "trigger": "transcription_generated"}');
SELECT payload->'data'->>'tid' AS tid, count(*) FROM cometchat.events
WHERE kind = 'unknown' GROUP BY 1 ORDER BY 1;

-- An invalid payload has no key.
SELECT cometchat.idempotency_key('{"trigger": "call_started", "appId": "a", "webhook": "w", "region": "r", "data": {}}') AS key;

-- Every stored key is the sha256 of the key text; nothing was rejected.
SELECT count(*) AS events,
       count(*) FILTER (WHERE idempotency_key = sha256(convert_to(cometchat.idempotency_key(payload), 'UTF8'))) AS key_ok
FROM cometchat.events;
SELECT count(*) AS rejected FROM cometchat.rejected;

-- occurred_at is the key's time part (its fifth element) and NULL exactly
-- when the key has none (an unknown trigger): what makes the unique index on
-- (occurred_at, idempotency_key) one row per key.
SELECT kind = 'unknown' AS unknown_trigger, count(*) AS events,
       count(*) FILTER (WHERE occurred_at IS NOT DISTINCT FROM
                              to_timestamp((cometchat.idempotency_key(payload)::jsonb->>4)::bigint)) AS time_is_key_part
FROM cometchat.events GROUP BY 1 ORDER BY 1;

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- cometchat.classify(): what an event is, without storing it.  It agrees
-- with the columns the ledger's trigger fills.  Unknown triggers with a
-- sound envelope are kind "unknown".
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
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

SELECT d.n, c.valid, c.kind, c.flow, c.session_id, c.call_id, c.occurred_at
FROM doc d, LATERAL cometchat.classify(d.payload) c ORDER BY d.n;

SELECT d.n, c.app_id, c.region, c.webhook, c.trigger
FROM doc d, LATERAL cometchat.classify(d.payload) c ORDER BY d.n;

-- classify()'s key is cometchat.idempotency_key().
SELECT count(*) AS same_key
FROM doc d, LATERAL cometchat.classify(d.payload) c
WHERE c.idempotency_key = cometchat.idempotency_key(d.payload);

-- The ledger holds what classify() says.  S7's copy (n = 15) is a duplicate
-- of n = 1 and is not stored.
INSERT INTO cometchat.events (payload) SELECT payload FROM doc ORDER BY n;
SELECT d.n, e.id
FROM doc d, LATERAL cometchat.classify(d.payload) c
LEFT JOIN cometchat.events e
  ON (e.kind, e.flow, e.app_id, e.region, e.webhook, e.trigger, e.session_id,
      e.call_id, e.occurred_at, e.idempotency_key)
     IS NOT DISTINCT FROM
     (c.kind, c.flow, c.app_id, c.region, c.webhook, c.trigger, c.session_id,
      c.call_id, c.occurred_at, sha256(convert_to(c.idempotency_key, 'UTF8')))
ORDER BY d.n;

-- Variants: a group video call; an outcome event that does carry
-- entities.on.entity.sessionid (reference 7, option a) gets that session id;
-- recording_generated with startTime as a JSON integer.
SELECT c.kind, c.flow, c.session_id, c.call_id, c.occurred_at
FROM (VALUES
  ('{"trigger": "call_initiated", "appId": "app1", "region": "eu", "webhook": "wh1",
     "data": {"call": {"id": "77", "conversationId": "group_g1", "sender": "u1",
       "receiverType": "group", "receiver": "g1", "category": "call", "type": "video",
       "data": {"action": "initiated", "entities": {"on": {"entity": {"sessionid": "s-77"}}}},
       "sentAt": 1700000000}}}'::jsonb),
  ('{"trigger": "call_rejected", "appId": "app1", "region": "eu", "webhook": "wh1",
     "data": {"call": {"id": "78", "conversationId": "u1_user_u2", "sender": "u2",
       "receiverType": "user", "receiver": "u1", "category": "call", "type": "video",
       "data": {"action": "rejected", "entities": {"on": {"entity": {"sessionid": "s-77"}}}},
       "sentAt": 1700000010}}}'),
  ('{"trigger": "recording_generated", "appId": "app1", "region": "eu", "webhook": "wh1",
     "data": {"sessionId": "s-77", "startTime": 1700000100, "recording_url": "https://r"}}')
) v(p), LATERAL cometchat.classify(v.p) c;

-- An unknown trigger with a sound envelope (trigger, appId, webhook, data an
-- object): kind "unknown", no flow, no session, no time; it is accepted.
-- transcription_generated is listed in S7 but is not one of the 14.
SELECT c.valid, c.kind, c.flow, c.app_id, c.region, c.webhook, c.trigger,
       c.session_id, c.call_id, c.occurred_at
FROM cometchat.classify('{"trigger": "transcription_generated",
  "data": {"sessionId": "<sessionId>", "tid": "<transcriptId>", "transcriptDate": "2023-10-10",
           "transcript_url": "<transcript_url>", "startTime": 1696937627, "endTime": 1696937648},
  "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}') c;
INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "transcription_generated",
  "data": {"sessionId": "<sessionId>", "tid": "<transcriptId>", "transcriptDate": "2023-10-10",
           "transcript_url": "<transcript_url>", "startTime": 1696937627, "endTime": 1696937648},
  "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}');
-- region is optional on unknown triggers.
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "something_new", "appId": "app1", "webhook": "wh1", "data": {}}');
SELECT id, kind, flow, app_id, region, webhook, trigger, session_id, call_id, occurred_at
FROM cometchat.events WHERE kind = 'unknown' ORDER BY id;

-- An unknown trigger with a broken envelope is not accepted.
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "something_new", "webhook": "wh1", "data": {}}'),
  ('{"trigger": "something_new", "appId": "app1", "webhook": "wh1"}'),
  ('{"trigger": "something_new", "appId": "app1", "webhook": "wh1", "data": [1]}');
SELECT id, problems FROM cometchat.rejected ORDER BY id;

-- Invalid payloads: valid is false, no key, and what could be read is shown.
SELECT c.valid, c.kind, c.flow, c.app_id, c.webhook, c.trigger, c.session_id, c.call_id,
       c.occurred_at, c.idempotency_key
FROM (VALUES
  (1, '{"trigger": "call_busy", "appId": "a", "region": "r", "webhook": "w",
        "data": {"call": {"id": "1", "conversationId": "c", "sender": "s",
          "receiverType": "user", "receiver": "r", "category": "call", "type": "audio",
          "data": {"action": "busy"}}}}'::jsonb),
  (2, '{"appId": "a", "region": "r", "webhook": "w", "data": {}}'),
  (3, '[]')
) v(n, p), LATERAL cometchat.classify(v.p) c ORDER BY v.n;

-- STRICT: NULL in, NULL out.
SELECT cometchat.classify(NULL) IS NULL AS classify_null,
       cometchat.validate(NULL) IS NULL AS validate_null,
       cometchat.idempotency_key(NULL) IS NULL AS key_null;

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

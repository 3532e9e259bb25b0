-- Every documented CometChat calling webhook is accepted by a plain INSERT
-- into the ledger, its derived columns are filled from the payload, and its
-- idempotency key is the sha256 of cometchat.idempotency_key(payload).
--
-- The payloads are the 14 examples of the reference (sections 4.1 to 5.5),
-- copied verbatim with their placeholders, and S7's shorter copy of
-- call_initiated that has no data.call.data.entities.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- S7's copy of call_initiated: no entities, so no session id; still valid.
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_initiated",
  "data": {
    "call": {
      "id": "52",
      "conversationId": "cometchat-uid-1_user_cometchat-uid-5",
      "sender": "cometchat-uid-1",
      "receiverType": "user",
      "receiver": "cometchat-uid-5",
      "category": "call",
      "type": "audio",
      "data": { "action": "initiated" },
      "sentAt": 1696934199,
      "updatedAt": 1696934199
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
SELECT id, kind, flow, app_id, region, webhook, trigger, session_id, call_id, occurred_at
FROM cometchat.events;
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- The 14 documented examples, each INSERT 0 1.
-- 4.1 call_initiated
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_initiated",
  "data": {
    "call": {
      "id": "52",
      "conversationId": "cometchat-uid-1_user_cometchat-uid-5",
      "sender": "cometchat-uid-1",
      "receiverType": "user",
      "receiver": "cometchat-uid-5",
      "category": "call",
      "type": "audio",
      "data": {
        "action": "initiated",
        "entities": {
          "by": {
            "entity": {
              "uid": "cometchat-uid-1",
              "name": "Andrew Joseph",
              "status": "available",
              "role": "default",
              "lastActiveAt": 1696933934
            },
            "entityType": "user"
          },
          "on": {
            "entity": {
              "sessionid": "<sessionId>",
              "status": "initiated",
              "type": "audio",
              "initiatedAt": 1696934199
            },
            "entityType": "call"
          }
        }
      },
      "sentAt": 1696934199,
      "updatedAt": 1696934199
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 4.2 call_started
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_started",
  "data": { "created_at": 1696934572, "sessionId": "<sessionId>" },
  "type": "call",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 4.3 call_participant_joined
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_participant_joined",
  "data": {
    "occupant": { "joined_at": 1696934573, "audio_call": "true", "name": "Andrew Joseph" },
    "initial_config": {
      "is_video_muted": "false",
      "start_recording_on_call_start": "false",
      "call_version": "2.3.0",
      "is_audio_muted": "false",
      "sdk": "react",
      "mode": "DEFAULT",
      "platform": "web",
      "is_audio_only": "true"
    },
    "sessionId": "<sessionId>"
  },
  "type": "call",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 4.4 call_participant_left
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_participant_left",
  "data": {
    "occupant": { "joined_at": 1696934501, "audio_call": "true", "left_at": 1696934553, "name": "George Alan" },
    "sessionId": "<sessionId>"
  },
  "type": "call",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 4.5 call_ended
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_ended",
  "data": {
    "all_occupants": [
      { "joined_at": 1696934501, "audio_call": "true", "left_at": 1696934553, "name": "George Alan" },
      { "joined_at": 1696934501, "audio_call": "true", "left_at": 1696934551, "name": "Andrew Joseph" }
    ],
    "destroyed_at": 1696934553,
    "created_at": 1696934501,
    "sessionId": "<sessionId>"
  },
  "type": "call",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 4.6 call_busy
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_busy",
  "data": {
    "call": {
      "id": "43414",
      "conversationId": "cometchat-uid-1_user_cometchat-uid-3",
      "sender": "cometchat-uid-3",
      "receiverType": "user",
      "receiver": "cometchat-uid-1",
      "category": "call",
      "type": "audio",
      "data": { "action": "busy" },
      "sentAt": 1744960250,
      "updatedAt": 1744960250
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookId>"
}
');
-- 4.7 call_cancelled
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_cancelled",
  "data": {
    "call": {
      "id": "43408",
      "conversationId": "cometchat-uid-3_user_cometchat-uid-4",
      "sender": "cometchat-uid-4",
      "receiverType": "user",
      "receiver": "cometchat-uid-3",
      "category": "call",
      "type": "audio",
      "data": { "action": "cancelled" },
      "sentAt": 1744960111,
      "updatedAt": 1744960111
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookId>"
}
');
-- 4.8 call_rejected
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_rejected",
  "data": {
    "call": {
      "id": "43406",
      "conversationId": "cometchat-uid-3_user_cometchat-uid-4",
      "sender": "cometchat-uid-3",
      "receiverType": "user",
      "receiver": "cometchat-uid-4",
      "category": "call",
      "type": "audio",
      "data": { "action": "rejected" },
      "sentAt": 1744960092,
      "updatedAt": 1744960092
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookId>"
}
');
-- 4.9 call_unanswered
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_unanswered",
  "data": {
    "call": {
      "id": "43410",
      "conversationId": "cometchat-uid-3_user_cometchat-uid-4",
      "sender": "cometchat-uid-4",
      "receiverType": "user",
      "receiver": "cometchat-uid-3",
      "category": "call",
      "type": "audio",
      "data": { "action": "unanswered" },
      "sentAt": 1744960170,
      "updatedAt": 1744960170
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookId>"
}
');
-- 5.1 meeting_started
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "meeting_started",
  "data": { "created_at": 1696934692, "sessionId": "<sessionId>" },
  "type": "meet",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 5.2 meeting_participant_joined
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "meeting_participant_joined",
  "data": {
    "occupant": { "joined_at": 1696934692, "audio_call": "false", "name": "Andrew Joseph" },
    "initial_config": {
      "is_video_muted": "false",
      "start_recording_on_call_start": "false",
      "call_version": "2.3.0",
      "is_audio_muted": "false",
      "sdk": "react",
      "mode": "DEFAULT",
      "platform": "web",
      "is_audio_only": "false"
    },
    "sessionId": "<sessionId>"
  },
  "type": "meet",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 5.3 meeting_participant_left
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "meeting_participant_left",
  "data": {
    "occupant": { "joined_at": 1696934692, "audio_call": "false", "left_at": 1696934730, "name": "Andrew Joseph" },
    "sessionId": "<sessionId>"
  },
  "type": "meet",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 5.4 meeting_ended
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "meeting_ended",
  "data": {
    "all_occupants": [
      { "joined_at": 1696934692, "audio_call": "false", "left_at": 1696934730, "name": "Andrew Joseph" }
    ],
    "destroyed_at": 1696934730,
    "created_at": 1696934692,
    "sessionId": "<sessionId>"
  },
  "type": "meet",
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
-- 5.5 recording_generated
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "recording_generated",
  "data": {
    "recordingDate": "2023-10-10",
    "duration": "21.433000",
    "startTime": "1696937627",
    "sessionId": "<sessionId>",
    "recording_url": "<recording_url>"
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');

-- Nothing was quarantined.
SELECT count(*) AS rejected FROM cometchat.rejected;

-- What each event is: kind, flow (ringing for call_*, session for meeting_*,
-- none for recording_generated), its session id (entities.on.entity.sessionid
-- for call_initiated, data.sessionId for session-shaped events, none for the
-- outcome events), its message id (data.call.id) and when it happened.
SELECT id, kind, flow, session_id, call_id, occurred_at
FROM cometchat.events ORDER BY id;

-- The envelope.
SELECT id, app_id, region, webhook, trigger, trigger = payload->>'trigger' AS same_trigger
FROM cometchat.events ORDER BY id;

-- Keys: appId, webhook, trigger, then the documented key parts, plus the
-- occupant's name on joins and leaves, and joined_at on leaves.  The stored
-- key is the sha256 of this text.
SELECT id, cometchat.idempotency_key(payload) AS key
FROM cometchat.events ORDER BY id;
SELECT count(*) AS events,
       count(*) FILTER (WHERE idempotency_key = sha256(convert_to(cometchat.idempotency_key(payload), 'UTF8'))) AS key_is_sha256_of_key_text,
       count(DISTINCT idempotency_key) AS distinct_keys
FROM cometchat.events;

-- S7's copy of call_initiated has the documented key of the S1 copy (same
-- webhook, trigger, data.call.id and sentAt): the same event, so a duplicate.
INSERT INTO cometchat.events (payload) VALUES ('
{
  "trigger": "call_initiated",
  "data": {
    "call": {
      "id": "52",
      "conversationId": "cometchat-uid-1_user_cometchat-uid-5",
      "sender": "cometchat-uid-1",
      "receiverType": "user",
      "receiver": "cometchat-uid-5",
      "category": "call",
      "type": "audio",
      "data": { "action": "initiated" },
      "sentAt": 1696934199,
      "updatedAt": 1696934199
    }
  },
  "appId": "<appId>",
  "region": "<region>",
  "webhook": "<webhookID>"
}
');
SELECT count(*) AS events FROM cometchat.events;

-- Derived columns come from the payload, whatever the client supplies.
INSERT INTO cometchat.events (payload, app_id, region, webhook, trigger, kind, flow,
                              session_id, call_id, occurred_at, idempotency_key)
VALUES ('{"trigger": "meeting_started", "data": {"created_at": 1696934692, "sessionId": "forged-test"},
          "type": "meet", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}',
        'x', 'x', 'x', 'call_busy', 'call_busy', 'ringing',
        'x', '1', '2000-01-01', '\x00');
SELECT id, kind, flow, app_id, region, webhook, trigger, session_id, call_id, occurred_at,
       idempotency_key = sha256(convert_to(cometchat.idempotency_key(payload), 'UTF8')) AS key_ok
FROM cometchat.events WHERE session_id = 'forged-test';

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

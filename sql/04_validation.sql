-- cometchat.validate(): every rule, with a payload that breaks it.  Each
-- problem names its JSON path; a valid payload gives {}.  The ledger agrees:
-- exactly the broken payloads end up in cometchat.rejected, with the same
-- problems.
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- The documented examples of each shape (reference 4.1, 4.2, 4.3, 4.4, 4.5,
-- 4.6, 5.1, 5.5).
\set initiated '{"trigger": "call_initiated", "data": {"call": {"id": "52", "conversationId": "cometchat-uid-1_user_cometchat-uid-5", "sender": "cometchat-uid-1", "receiverType": "user", "receiver": "cometchat-uid-5", "category": "call", "type": "audio", "data": {"action": "initiated", "entities": {"by": {"entity": {"uid": "cometchat-uid-1", "name": "Andrew Joseph", "status": "available", "role": "default", "lastActiveAt": 1696933934}, "entityType": "user"}, "on": {"entity": {"sessionid": "<sessionId>", "status": "initiated", "type": "audio", "initiatedAt": 1696934199}, "entityType": "call"}}}, "sentAt": 1696934199, "updatedAt": 1696934199}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set busy '{"trigger": "call_busy", "data": {"call": {"id": "43414", "conversationId": "cometchat-uid-1_user_cometchat-uid-3", "sender": "cometchat-uid-3", "receiverType": "user", "receiver": "cometchat-uid-1", "category": "call", "type": "audio", "data": {"action": "busy"}, "sentAt": 1744960250, "updatedAt": 1744960250}}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookId>"}'
\set started '{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set mstarted '{"trigger": "meeting_started", "data": {"created_at": 1696934692, "sessionId": "<sessionId>"}, "type": "meet", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set joined '{"trigger": "call_participant_joined", "data": {"occupant": {"joined_at": 1696934573, "audio_call": "true", "name": "Andrew Joseph"}, "initial_config": {"is_video_muted": "false", "start_recording_on_call_start": "false", "call_version": "2.3.0", "is_audio_muted": "false", "sdk": "react", "mode": "DEFAULT", "platform": "web", "is_audio_only": "true"}, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set left '{"trigger": "call_participant_left", "data": {"occupant": {"joined_at": 1696934501, "audio_call": "true", "left_at": 1696934553, "name": "George Alan"}, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set ended '{"trigger": "call_ended", "data": {"all_occupants": [{"joined_at": 1696934501, "audio_call": "true", "left_at": 1696934553, "name": "George Alan"}, {"joined_at": 1696934501, "audio_call": "true", "left_at": 1696934551, "name": "Andrew Joseph"}], "destroyed_at": 1696934553, "created_at": 1696934501, "sessionId": "<sessionId>"}, "type": "call", "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set recording '{"trigger": "recording_generated", "data": {"recordingDate": "2023-10-10", "duration": "21.433000", "startTime": "1696937627", "sessionId": "<sessionId>", "recording_url": "<recording_url>"}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'
\set unknown '{"trigger": "transcription_generated", "data": {"sessionId": "<sessionId>", "tid": "<transcriptId>", "startTime": 1696937627}, "appId": "<appId>", "region": "<region>", "webhook": "<webhookID>"}'

-- path: the JSON path a problem must name; NULL for a payload that is valid.
CREATE TEMP TABLE cases (n serial PRIMARY KEY, label text NOT NULL, path text, p jsonb NOT NULL);

-- The payload and its envelope.
INSERT INTO cases (label, path, p) VALUES
('payload is an array', 'payload', '[]'),
('payload is a string', 'payload', '"call_busy"'),
('payload is a number', 'payload', '42'),
('payload is JSON null', 'payload', 'null'),
('payload is an empty object', 'trigger', '{}'),
('trigger missing', 'trigger', :'busy'::jsonb - 'trigger'),
('trigger a number', 'trigger', jsonb_set(:'busy'::jsonb, '{trigger}', '7')),
('trigger empty', 'trigger', jsonb_set(:'busy'::jsonb, '{trigger}', '""')),
('appId missing', 'appId', :'busy'::jsonb - 'appId'),
('appId empty', 'appId', jsonb_set(:'busy'::jsonb, '{appId}', '""')),
('appId a number', 'appId', jsonb_set(:'busy'::jsonb, '{appId}', '31780434')),
('webhook missing', 'webhook', :'busy'::jsonb - 'webhook'),
('webhook empty', 'webhook', jsonb_set(:'busy'::jsonb, '{webhook}', '""')),
('region missing', 'region', :'busy'::jsonb - 'region'),
('region a number', 'region', jsonb_set(:'started'::jsonb, '{region}', '1')),
('data missing', 'data', :'busy'::jsonb - 'data'),
('data an array', 'data', jsonb_set(:'busy'::jsonb, '{data}', '[]')),
('data a string', 'data', jsonb_set(:'started'::jsonb, '{data}', '"x"')),
('data null', 'data', jsonb_set(:'recording'::jsonb, '{data}', 'null')),
('ok: unknown extra keys everywhere', NULL,
   jsonb_set(jsonb_set(:'initiated'::jsonb || '{"version": 2, "extra": {"a": 1}}',
                       '{data,call,data,entities,for}', '{"entity": {"guid": "g1"}, "entityType": "group"}'),
             '{data,call,muid}', '"m-1"'));

-- Message-shaped events (call_initiated, _busy, _cancelled, _rejected, _unanswered).
INSERT INTO cases (label, path, p) VALUES
('message: data.call missing', 'data.call', :'busy'::jsonb #- '{data,call}'),
('message: data.call a string', 'data.call', jsonb_set(:'busy'::jsonb, '{data,call}', '"52"')),
('message: id missing', 'data.call.id', :'busy'::jsonb #- '{data,call,id}'),
('message: conversationId missing', 'data.call.conversationId', :'busy'::jsonb #- '{data,call,conversationId}'),
('message: sender missing', 'data.call.sender', :'busy'::jsonb #- '{data,call,sender}'),
('message: receiverType missing', 'data.call.receiverType', :'busy'::jsonb #- '{data,call,receiverType}'),
('message: receiver missing', 'data.call.receiver', :'busy'::jsonb #- '{data,call,receiver}'),
('message: category missing', 'data.call.category', :'busy'::jsonb #- '{data,call,category}'),
('message: type missing', 'data.call.type', :'busy'::jsonb #- '{data,call,type}'),
('message: data.call.data missing', 'data.call.data', :'busy'::jsonb #- '{data,call,data}'),
('message: action missing', 'data.call.data.action', :'busy'::jsonb #- '{data,call,data,action}'),
('message: sentAt missing', 'data.call.sentAt', :'busy'::jsonb #- '{data,call,sentAt}'),
('message: id a fraction', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '43414.5')),
('message: id a float 52.0', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '52.0')),
('message: id negative', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '-43414')),
('message: id negative string', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '"-43414"')),
('message: id not digits', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '"434a14"')),
('message: id empty', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '""')),
('message: id with spaces', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', '" 43414"')),
('message: id a boolean', 'data.call.id', jsonb_set(:'busy'::jsonb, '{data,call,id}', 'true')),
('message: conversationId empty', 'data.call.conversationId', jsonb_set(:'busy'::jsonb, '{data,call,conversationId}', '""')),
('message: sender a number', 'data.call.sender', jsonb_set(:'busy'::jsonb, '{data,call,sender}', '3')),
('message: sentAt a string', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', '"1744960250"')),
('message: sentAt in milliseconds', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', '1744960250000')),
('message: sentAt too early', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', '12345')),
('message: sentAt after 2099', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', '4102444800')),
('message: sentAt negative', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', '-1744960250')),
('message: sentAt fractional', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', '1744960250.5')),
('message: sentAt null', 'data.call.sentAt', jsonb_set(:'busy'::jsonb, '{data,call,sentAt}', 'null')),
('message: updatedAt a string', 'data.call.updatedAt', jsonb_set(:'busy'::jsonb, '{data,call,updatedAt}', '"1744960250"')),
('message: receiverType unknown', 'data.call.receiverType', jsonb_set(:'busy'::jsonb, '{data,call,receiverType}', '"users"')),
('message: receiverType upper case', 'data.call.receiverType', jsonb_set(:'busy'::jsonb, '{data,call,receiverType}', '"User"')),
('message: receiverType long', 'data.call.receiverType', jsonb_set(:'busy'::jsonb, '{data,call,receiverType}', to_jsonb(repeat('x', 100)))),
('message: media type unknown', 'data.call.type', jsonb_set(:'busy'::jsonb, '{data,call,type}', '"screen"')),
('message: media type upper case', 'data.call.type', jsonb_set(:'busy'::jsonb, '{data,call,type}', '"AUDIO"')),
('message: category not call', 'data.call.category', jsonb_set(:'busy'::jsonb, '{data,call,category}', '"message"')),
('message: action does not match trigger', 'data.call.data.action', jsonb_set(:'busy'::jsonb, '{data,call,data,action}', '"rejected"')),
('message: call_initiated with action busy', 'data.call.data.action', jsonb_set(:'initiated'::jsonb, '{data,call,data,action}', '"busy"')),
('message: action a number', 'data.call.data.action', jsonb_set(:'busy'::jsonb, '{data,call,data,action}', '1')),
('message: entities not an object', 'data.call.data.entities', jsonb_set(:'initiated'::jsonb, '{data,call,data,entities}', '[]')),
('message: sessionid empty', 'data.call.data.entities.on.entity.sessionid', jsonb_set(:'initiated'::jsonb, '{data,call,data,entities,on,entity,sessionid}', '""')),
('message: sessionid a number', 'data.call.data.entities.on.entity.sessionid', jsonb_set(:'initiated'::jsonb, '{data,call,data,entities,on,entity,sessionid}', '5')),
('message: three problems at once', 'data.call.id',
   jsonb_set(jsonb_set(jsonb_set(:'busy'::jsonb, '{data,call,id}', '1.5'),
                       '{data,call,sentAt}', '"1744960250"'), '{data,call,receiverType}', '"room"')),
('ok: message with id as a JSON integer', NULL, jsonb_set(:'busy'::jsonb, '{data,call,id}', '43414')),
('ok: message to a group, video', NULL,
   jsonb_set(jsonb_set(:'busy'::jsonb, '{data,call,receiverType}', '"group"'), '{data,call,type}', '"video"')),
('ok: message without updatedAt', NULL, :'busy'::jsonb #- '{data,call,updatedAt}'),
('ok: call_initiated without entities (S7)', NULL, :'initiated'::jsonb #- '{data,call,data,entities}'),
('ok: call_initiated without entities.on', NULL, :'initiated'::jsonb #- '{data,call,data,entities,on}');

-- Session start (call_started, meeting_started), and the top-level type.
INSERT INTO cases (label, path, p) VALUES
('start: sessionId missing', 'data.sessionId', :'started'::jsonb #- '{data,sessionId}'),
('start: sessionId empty', 'data.sessionId', jsonb_set(:'started'::jsonb, '{data,sessionId}', '""')),
('start: sessionId a number', 'data.sessionId', jsonb_set(:'started'::jsonb, '{data,sessionId}', '123')),
('start: created_at missing', 'data.created_at', :'started'::jsonb #- '{data,created_at}'),
('start: created_at a string', 'data.created_at', jsonb_set(:'started'::jsonb, '{data,created_at}', '"1696934572"')),
('start: created_at in milliseconds', 'data.created_at', jsonb_set(:'mstarted'::jsonb, '{data,created_at}', '1696934692000')),
('start: call_started with type meet', 'type', jsonb_set(:'started'::jsonb, '{type}', '"meet"')),
('start: meeting_started with type call', 'type', jsonb_set(:'mstarted'::jsonb, '{type}', '"call"')),
('start: type a number', 'type', jsonb_set(:'started'::jsonb, '{type}', '1')),
('ok: call_started without type', NULL, :'started'::jsonb - 'type'),
('ok: meeting_started without type', NULL, :'mstarted'::jsonb - 'type');

-- Participant joined.
INSERT INTO cases (label, path, p) VALUES
('join: occupant missing', 'data.occupant', :'joined'::jsonb #- '{data,occupant}'),
('join: occupant a string', 'data.occupant', jsonb_set(:'joined'::jsonb, '{data,occupant}', '"Andrew Joseph"')),
('join: joined_at missing', 'data.occupant.joined_at', :'joined'::jsonb #- '{data,occupant,joined_at}'),
('join: name missing', 'data.occupant.name', :'joined'::jsonb #- '{data,occupant,name}'),
('join: name empty', 'data.occupant.name', jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '""')),
('join: sessionId missing', 'data.sessionId', :'joined'::jsonb #- '{data,sessionId}'),
('join: joined_at a string', 'data.occupant.joined_at', jsonb_set(:'joined'::jsonb, '{data,occupant,joined_at}', '"1696934573"')),
('join: joined_at in milliseconds', 'data.occupant.joined_at', jsonb_set(:'joined'::jsonb, '{data,occupant,joined_at}', '1696934573000')),
('join: audio_call yes', 'data.occupant.audio_call', jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', '"yes"')),
('join: audio_call TRUE', 'data.occupant.audio_call', jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', '"TRUE"')),
('join: audio_call fals', 'data.occupant.audio_call', jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', '"fals"')),
('join: audio_call tru', 'data.occupant.audio_call', jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', '"tru"')),
('join: audio_call 1', 'data.occupant.audio_call', jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', '1')),
('join: audio_call null', 'data.occupant.audio_call', jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', 'null')),
('join: is_audio_only "1"', 'data.initial_config.is_audio_only', jsonb_set(:'joined'::jsonb, '{data,initial_config,is_audio_only}', '"1"')),
('join: is_video_muted "no"', 'data.initial_config.is_video_muted', jsonb_set(:'joined'::jsonb, '{data,initial_config,is_video_muted}', '"no"')),
('join: initial_config a string', 'data.initial_config', jsonb_set(:'joined'::jsonb, '{data,initial_config}', '"DEFAULT"')),
('join: call with type meet', 'type', jsonb_set(:'joined'::jsonb, '{type}', '"meet"')),
('ok: join with JSON booleans', NULL,
   jsonb_set(jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', 'true'),
             '{data,initial_config,is_audio_only}', 'false')),
('ok: join with "false"', NULL, jsonb_set(:'joined'::jsonb, '{data,occupant,audio_call}', '"false"')),
('ok: join without initial_config (S7)', NULL, :'joined'::jsonb #- '{data,initial_config}'),
('ok: join without audio_call', NULL, :'joined'::jsonb #- '{data,occupant,audio_call}'),
('ok: join with a uid and an unknown config key', NULL,
   jsonb_set(jsonb_set(:'joined'::jsonb, '{data,occupant,uid}', '"cometchat-uid-1"'),
             '{data,initial_config,layout}', '"TILE"'));

-- Participant left.
INSERT INTO cases (label, path, p) VALUES
('leave: left_at missing', 'data.occupant.left_at', :'left'::jsonb #- '{data,occupant,left_at}'),
('leave: joined_at missing', 'data.occupant.joined_at', :'left'::jsonb #- '{data,occupant,joined_at}'),
('leave: name missing', 'data.occupant.name', :'left'::jsonb #- '{data,occupant,name}'),
('leave: left_at a string', 'data.occupant.left_at', jsonb_set(:'left'::jsonb, '{data,occupant,left_at}', '"1696934553"')),
('leave: left_at fractional', 'data.occupant.left_at', jsonb_set(:'left'::jsonb, '{data,occupant,left_at}', '1696934553.25')),
('leave: left_at before joined_at', 'data.occupant.left_at', jsonb_set(:'left'::jsonb, '{data,occupant,left_at}', '1696934500')),
('ok: leave in the second of the join', NULL, jsonb_set(:'left'::jsonb, '{data,occupant,left_at}', '1696934501')),
('ok: leave without type', NULL, :'left'::jsonb - 'type');

-- Session end (call_ended, meeting_ended).
INSERT INTO cases (label, path, p) VALUES
('end: destroyed_at missing', 'data.destroyed_at', :'ended'::jsonb #- '{data,destroyed_at}'),
('end: created_at missing', 'data.created_at', :'ended'::jsonb #- '{data,created_at}'),
('end: all_occupants missing', 'data.all_occupants', :'ended'::jsonb #- '{data,all_occupants}'),
('end: sessionId missing', 'data.sessionId', :'ended'::jsonb #- '{data,sessionId}'),
('end: all_occupants an object', 'data.all_occupants', jsonb_set(:'ended'::jsonb, '{data,all_occupants}', '{"name": "George Alan"}')),
('end: all_occupants null', 'data.all_occupants', jsonb_set(:'ended'::jsonb, '{data,all_occupants}', 'null')),
('end: an occupant is a string', 'data.all_occupants[1]', jsonb_set(:'ended'::jsonb, '{data,all_occupants,1}', '"Andrew Joseph"')),
('end: an occupant without name', 'data.all_occupants[0].name', :'ended'::jsonb #- '{data,all_occupants,0,name}'),
('end: an occupant without joined_at', 'data.all_occupants[1].joined_at', :'ended'::jsonb #- '{data,all_occupants,1,joined_at}'),
('end: an occupant joined_at a string', 'data.all_occupants[0].joined_at', jsonb_set(:'ended'::jsonb, '{data,all_occupants,0,joined_at}', '"1696934501"')),
('end: an occupant left before joining', 'data.all_occupants[1].left_at', jsonb_set(:'ended'::jsonb, '{data,all_occupants,1,left_at}', '1696934400')),
('end: an occupant audio_call maybe', 'data.all_occupants[0].audio_call', jsonb_set(:'ended'::jsonb, '{data,all_occupants,0,audio_call}', '"maybe"')),
('end: destroyed_at a string', 'data.destroyed_at', jsonb_set(:'ended'::jsonb, '{data,destroyed_at}', '"1696934553"')),
('end: destroyed_at before created_at', 'data.destroyed_at', jsonb_set(:'ended'::jsonb, '{data,destroyed_at}', '1696934500')),
('end: meeting_ended with type call', 'type', jsonb_set(jsonb_set(:'ended'::jsonb, '{trigger}', '"meeting_ended"'), '{type}', '"call"')),
('ok: end with no occupants', NULL, jsonb_set(:'ended'::jsonb, '{data,all_occupants}', '[]')),
('ok: end with an occupant without left_at', NULL, :'ended'::jsonb #- '{data,all_occupants,0,left_at}'),
('ok: end in the second it started', NULL, jsonb_set(:'ended'::jsonb, '{data,destroyed_at}', '1696934501'));

-- recording_generated: startTime, duration and recordingDate are strings.
INSERT INTO cases (label, path, p) VALUES
('recording: sessionId missing', 'data.sessionId', :'recording'::jsonb #- '{data,sessionId}'),
('recording: startTime missing', 'data.startTime', :'recording'::jsonb #- '{data,startTime}'),
('recording: recording_url missing', 'data.recording_url', :'recording'::jsonb #- '{data,recording_url}'),
('recording: recording_url empty', 'data.recording_url', jsonb_set(:'recording'::jsonb, '{data,recording_url}', '""')),
('recording: startTime in milliseconds', 'data.startTime', jsonb_set(:'recording'::jsonb, '{data,startTime}', '"1696937627000"')),
('recording: startTime not digits', 'data.startTime', jsonb_set(:'recording'::jsonb, '{data,startTime}', '"16969x7627"')),
('recording: startTime fractional string', 'data.startTime', jsonb_set(:'recording'::jsonb, '{data,startTime}', '"1696937627.5"')),
('recording: startTime fractional number', 'data.startTime', jsonb_set(:'recording'::jsonb, '{data,startTime}', '1696937627.5')),
('recording: startTime empty', 'data.startTime', jsonb_set(:'recording'::jsonb, '{data,startTime}', '""')),
('recording: startTime a date', 'data.startTime', jsonb_set(:'recording'::jsonb, '{data,startTime}', '"2023-10-10T11:33:47Z"')),
('recording: duration not a number', 'data.duration', jsonb_set(:'recording'::jsonb, '{data,duration}', '"abc"')),
('recording: duration negative', 'data.duration', jsonb_set(:'recording'::jsonb, '{data,duration}', '"-21.433000"')),
('recording: duration ends with a dot', 'data.duration', jsonb_set(:'recording'::jsonb, '{data,duration}', '"21."')),
('recording: duration in exponent form', 'data.duration', jsonb_set(:'recording'::jsonb, '{data,duration}', '"2.1e1"')),
('recording: duration empty', 'data.duration', jsonb_set(:'recording'::jsonb, '{data,duration}', '""')),
('recording: duration a negative number', 'data.duration', jsonb_set(:'recording'::jsonb, '{data,duration}', '-1')),
('recording: recordingDate month 13', 'data.recordingDate', jsonb_set(:'recording'::jsonb, '{data,recordingDate}', '"2023-13-01"')),
('recording: recordingDate 30 February', 'data.recordingDate', jsonb_set(:'recording'::jsonb, '{data,recordingDate}', '"2023-02-30"')),
('recording: recordingDate US form', 'data.recordingDate', jsonb_set(:'recording'::jsonb, '{data,recordingDate}', '"10/10/2023"')),
('recording: recordingDate a number', 'data.recordingDate', jsonb_set(:'recording'::jsonb, '{data,recordingDate}', '20231010')),
('recording: recordingDate a timestamp', 'data.recordingDate', jsonb_set(:'recording'::jsonb, '{data,recordingDate}', '"2023-10-10T11:33:47Z"')),
('ok: recording with startTime as a JSON integer', NULL, jsonb_set(:'recording'::jsonb, '{data,startTime}', '1696937627')),
('ok: recording with duration as a JSON number', NULL, jsonb_set(:'recording'::jsonb, '{data,duration}', '21.433')),
('ok: recording with whole-second duration', NULL, jsonb_set(:'recording'::jsonb, '{data,duration}', '"21"')),
('ok: recording without duration and recordingDate', NULL, :'recording'::jsonb #- '{data,duration}' #- '{data,recordingDate}'),
('ok: recording on 29 February 2024', NULL, jsonb_set(:'recording'::jsonb, '{data,recordingDate}', '"2024-02-29"'));

-- Unknown triggers: only the envelope is checked.
INSERT INTO cases (label, path, p) VALUES
('unknown: appId missing', 'appId', :'unknown'::jsonb - 'appId'),
('unknown: webhook empty', 'webhook', jsonb_set(:'unknown'::jsonb, '{webhook}', '""')),
('unknown: data missing', 'data', :'unknown'::jsonb - 'data'),
('unknown: data an array', 'data', jsonb_set(:'unknown'::jsonb, '{data}', '[]')),
('unknown: region a number', 'region', jsonb_set(:'unknown'::jsonb, '{region}', '1')),
('ok: unknown trigger', NULL, :'unknown'::jsonb),
('ok: unknown trigger without region', NULL, :'unknown'::jsonb - 'region');

-- Every problem of every case.
SELECT c.n, c.label, v.problem
FROM cases c LEFT JOIN LATERAL unnest(cometchat.validate(c.p)) WITH ORDINALITY v(problem, i) ON true
ORDER BY c.n, v.i;

-- Valid payloads give an empty array.
SELECT n, label, cometchat.validate(p) AS problems FROM cases WHERE path IS NULL ORDER BY n;

-- Self-check, no rows expected: a broken payload with no problem naming its
-- path, or a valid one with problems.
SELECT n, label, cometchat.validate(p) AS problems
FROM cases
WHERE (path IS NULL AND cardinality(cometchat.validate(p)) <> 0)
   OR (path IS NOT NULL AND NOT EXISTS (SELECT 1 FROM unnest(cometchat.validate(p)) x
                                        WHERE starts_with(x, path || ':')));

-- At most 50 problems are listed; the rest are counted.
SELECT cardinality(v) AS listed, v[1] AS first, v[50] AS last, v[51] AS rest
FROM (SELECT cometchat.validate(jsonb_set(:'ended'::jsonb, '{data,all_occupants}',
                                          (SELECT jsonb_agg(i) FROM generate_series(1, 60) i)))) x(v);

-- The ledger agrees with validate(): every broken payload is quarantined
-- with the same problems, every valid one accepted or a duplicate.
INSERT INTO cometchat.events (payload) SELECT p FROM cases ORDER BY n;
SELECT (SELECT count(*) FROM cases WHERE path IS NOT NULL) AS broken,
       (SELECT count(*) FROM cometchat.rejected) AS rejected;
SELECT c.n, c.label
FROM cases c
WHERE c.path IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM cometchat.rejected r
                  WHERE r.payload = c.p AND r.problems = cometchat.validate(c.p));
SELECT c.n, c.label
FROM cases c
WHERE c.path IS NULL
  AND NOT EXISTS (SELECT 1 FROM cometchat.events e
                  WHERE e.idempotency_key = sha256(convert_to(cometchat.idempotency_key(c.p), 'UTF8')));

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

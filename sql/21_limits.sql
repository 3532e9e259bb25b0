-- Strings that become index keys have bounded lengths, so an over-long value
-- is quarantined with a problem instead of failing the insert on an index
-- row limit (and losing the payload); recording durations are bounded so
-- they cannot overflow an interval.
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
\set start '{"trigger":"meeting_started","type":"meet","appId":"a","region":"us","webhook":"w","data":{"created_at":1696934692,"sessionId":"room"}}'
\set join '{"trigger":"meeting_participant_joined","type":"meet","appId":"a","region":"us","webhook":"w","data":{"sessionId":"room","occupant":{"joined_at":1696934693,"name":"Ann"}}}'
\set busy '{"trigger":"call_busy","appId":"a","region":"us","webhook":"w","data":{"call":{"id":"7","conversationId":"u1_user_u2","sender":"u2","receiverType":"user","receiver":"u1","category":"call","type":"audio","data":{"action":"busy"},"sentAt":1744960250}}}'
\set rec '{"trigger":"recording_generated","appId":"a","region":"us","webhook":"w","data":{"sessionId":"room","startTime":"1696937627","recording_url":"u","duration":"21.4"}}'
SELECT t.name, r.status, r.problems
FROM (VALUES
  ('sessionId of 512 bytes', jsonb_set(:'start'::jsonb, '{data,sessionId}', to_jsonb(repeat('s', 512)))),
  ('sessionId of 513 bytes', jsonb_set(:'start'::jsonb, '{data,sessionId}', to_jsonb(repeat('s', 513)))),
  ('sessionId of 1 MB', jsonb_set(:'start'::jsonb, '{data,sessionId}', to_jsonb(repeat('s', 1048576)))),
  ('appId of 255 bytes', jsonb_set(:'start'::jsonb, '{appId}', to_jsonb(repeat('a', 255)))),
  ('appId of 256 bytes', jsonb_set(:'start'::jsonb, '{appId}', to_jsonb(repeat('a', 256)))),
  ('webhook of 256 bytes', jsonb_set(:'start'::jsonb, '{webhook}', to_jsonb(repeat('w', 256)))),
  ('appId of 256 bytes, unknown trigger', ('{"trigger":"x","appId":"' || repeat('a', 256) || '","webhook":"w","data":{}}')::jsonb),
  ('occupant name of 512 bytes', jsonb_set(:'join'::jsonb, '{data,occupant,name}', to_jsonb(repeat('n', 512)))),
  ('widest participant key', jsonb_set(jsonb_set(jsonb_set(:'join'::jsonb, '{data,occupant,name}',
      to_jsonb(repeat('n', 512))), '{data,sessionId}', to_jsonb(repeat('s', 512))), '{appId}', to_jsonb(repeat('a', 255)))),
  ('occupant name of 600 bytes', jsonb_set(:'join'::jsonb, '{data,occupant,name}', to_jsonb(repeat('n', 600)))),
  ('conversationId of 600 bytes', jsonb_set(:'busy'::jsonb, '{data,call,conversationId}', to_jsonb(repeat('c', 600)))),
  ('duration 999999999.5', jsonb_set(:'rec'::jsonb, '{data,duration}', '"999999999.5"')),
  ('duration 1000000000', jsonb_set(:'rec'::jsonb, '{data,duration}', '"1000000000"')),
  ('duration 1e13 as a number', jsonb_set(:'rec'::jsonb, '{data,duration}', '10000000000000'))
) AS t(name, payload), cometchat.ingest(t.payload) r;
-- The longest accepted keys fit every index: the rows are really there.
SELECT length(app_id) AS app_id_len, length(session_id) AS session_id_len, length(name) AS name_len
FROM cometchat.participants ORDER BY 1, 2;
SELECT max(length(app_id)) AS longest_app_id FROM cometchat.events;
SELECT max(duration) AS longest_recording FROM cometchat.recordings;
SELECT count(*) AS quarantined FROM cometchat.rejected;
SELECT * FROM cometchat.verify();

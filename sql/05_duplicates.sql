-- Duplicates: a redelivered webhook is skipped by the ledger's trigger
-- (INSERT 0 0, no error), whatever way the rows arrive: one INSERT, a
-- multi-row INSERT, INSERT ... SELECT, ON CONFLICT DO NOTHING, or COPY.
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

\set started '{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}'
\set joined '{"trigger": "call_participant_joined", "data": {"occupant": {"joined_at": 1696934573, "audio_call": "true", "name": "Andrew Joseph"}, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}'
\set busy '{"trigger": "call_busy", "data": {"call": {"id": "43414", "conversationId": "cometchat-uid-1_user_cometchat-uid-3", "sender": "cometchat-uid-3", "receiverType": "user", "receiver": "cometchat-uid-1", "category": "call", "type": "audio", "data": {"action": "busy"}, "sentAt": 1744960250, "updatedAt": 1744960250}}, "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}'

-- The same payload twice: the second is skipped.
INSERT INTO cometchat.events (payload) VALUES (:'started');
INSERT INTO cometchat.events (payload) VALUES (:'started');
SELECT id, kind FROM cometchat.events ORDER BY id;

-- A redelivery with its keys in another order, other spacing, an extra key
-- or another updatedAt is the same event.
INSERT INTO cometchat.events (payload) VALUES
  ('{"webhook":"test_webhook201","appId":"31780434a95d45","region":"us","type":"call",
     "data":{"sessionId":"v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb","created_at":1696934572},
     "trigger":"call_started"}');
INSERT INTO cometchat.events (payload) VALUES (:'started'::jsonb || '{"delivery": 2}');
INSERT INTO cometchat.events (payload) VALUES (:'busy');
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'busy'::jsonb, '{data,call,updatedAt}', '1744960260'));
SELECT id, kind FROM cometchat.events ORDER BY id;

-- RETURNING gives no row for a duplicate.
INSERT INTO cometchat.events (payload) VALUES (:'busy') RETURNING id;

-- One multi-row INSERT holding the same payload twice stores it once.
INSERT INTO cometchat.events (payload) VALUES (:'joined'), (:'joined');
-- So does INSERT ... SELECT, three times over.
INSERT INTO cometchat.events (payload)
SELECT jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"George Alan"') FROM generate_series(1, 3);
SELECT id, kind, payload->'data'->'occupant'->>'name' AS name
FROM cometchat.events WHERE kind = 'call_participant_joined' ORDER BY id;

-- ON CONFLICT DO NOTHING.  Since 1.5 the ledger is partitioned by an
-- expression of the payload, and such a table holds no unique index of its
-- own (the key's is on each partition): a conflict target names none, and
-- only the form without one is accepted.  The trigger skips duplicates before
-- any arbiter is consulted, so a target never changed what was stored.
INSERT INTO cometchat.events (payload) VALUES (:'joined') ON CONFLICT DO NOTHING;
INSERT INTO cometchat.events (payload) VALUES (:'joined') ON CONFLICT (occurred_at, idempotency_key) DO NOTHING;
INSERT INTO cometchat.events (payload)
VALUES (jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Susan"'))
ON CONFLICT DO NOTHING;
INSERT INTO cometchat.events (payload)
VALUES (jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Susan"'))
ON CONFLICT DO NOTHING;
INSERT INTO cometchat.events (payload)
VALUES (jsonb_set(:'joined'::jsonb, '{data,occupant,name}', '"Susan"'))
ON CONFLICT ON CONSTRAINT events_idempotency_key_key DO NOTHING;

-- Inside a transaction the row just inserted counts; a rolled-back row does
-- not.  Several statements in one transaction raise no warning.
BEGIN;
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'started'::jsonb, '{data,created_at}', '1696934600'));
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'started'::jsonb, '{data,created_at}', '1696934600'));
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'started'::jsonb, '{data,created_at}', '1696934601'));
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'started'::jsonb, '{data,created_at}', '1696934602'));
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'started'::jsonb, '{data,created_at}', '1696934601'));
SELECT payload->'data'->>'created_at' AS created_at, count(*) FROM cometchat.events
WHERE payload->'data'->>'created_at' IN ('1696934600', '1696934601', '1696934602') GROUP BY 1 ORDER BY 1;
ROLLBACK;
INSERT INTO cometchat.events (payload) VALUES (jsonb_set(:'started'::jsonb, '{data,created_at}', '1696934600'));
SELECT count(*) AS after_rollback FROM cometchat.events WHERE payload->'data'->>'created_at' = '1696934600';

-- COPY: five lines, one a duplicate of the line before it, one already in
-- the ledger, one invalid (quarantined, the COPY goes on).  COPY counts the
-- rows stored.
COPY cometchat.events (payload) FROM stdin;
{"trigger": "call_ended", "data": {"all_occupants": [{"joined_at": 1696934573, "audio_call": "true", "left_at": 1696934653, "name": "Andrew Joseph"}], "destroyed_at": 1696934653, "created_at": 1696934572, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
{"trigger": "call_ended", "data": {"all_occupants": [{"joined_at": 1696934573, "audio_call": "true", "left_at": 1696934653, "name": "Andrew Joseph"}], "destroyed_at": 1696934653, "created_at": 1696934572, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
{"trigger": "call_started", "data": {"created_at": 1696934572, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
{"trigger": "call_ended", "data": {"destroyed_at": 1696934653}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
{"trigger": "call_participant_left", "data": {"occupant": {"joined_at": 1696934573, "audio_call": "true", "left_at": 1696934653, "name": "Andrew Joseph"}, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
\.
-- COPY in CSV form, with a quote character that does not occur in the JSON.
COPY cometchat.events (payload) FROM stdin WITH (FORMAT csv, DELIMITER E'\t', QUOTE '~');
{"trigger": "call_participant_left", "data": {"occupant": {"joined_at": 1696934573, "audio_call": "true", "left_at": 1696934653, "name": "Andrew Joseph"}, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
{"trigger": "call_participant_left", "data": {"occupant": {"joined_at": 1696934573, "audio_call": "true", "left_at": 1696934653, "name": "Andrew Joseph"}, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
{"trigger": "call_participant_left", "data": {"occupant": {"joined_at": 1696934574, "audio_call": "true", "left_at": 1696934653, "name": "George Alan"}, "sessionId": "v1.us.31780434a95d45.1696934199aefba73a1e5938ad7a02f8e61ea1c9a287a08aeb"}, "type": "call", "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}
\.

-- The ledger: one row per distinct event, ids in arrival order.
SELECT id, kind, payload->'data'->'occupant'->>'name' AS name
FROM cometchat.events ORDER BY id;
SELECT count(*) AS events, count(DISTINCT idempotency_key) AS keys FROM cometchat.events;
SELECT id, problems FROM cometchat.rejected ORDER BY id;

-- The index behind the trigger: one row per key.  occurred_at is the key's
-- time part (NULL only for an unknown trigger), so (occurred_at,
-- idempotency_key) is unique exactly when the key is; NULLS NOT DISTINCT
-- makes it hold for the unknown triggers too.  Checked with the trigger off,
-- writing the derived columns by hand.
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_idempotency_key_key';
\set unknown '{"trigger": "call_transferred", "data": {"sessionId": "s"}, "appId": "31780434a95d45", "region": "us", "webhook": "test_webhook201"}'
INSERT INTO cometchat.events (payload) VALUES (:'unknown');
SELECT kind, occurred_at, idempotency_key = sha256(convert_to(cometchat.idempotency_key(payload), 'UTF8')) AS key_ok
FROM cometchat.events WHERE kind = 'unknown';
ALTER TABLE cometchat.events DISABLE TRIGGER events_ingest;
INSERT INTO cometchat.events (payload, app_id, webhook, trigger, kind, occurred_at, idempotency_key)
SELECT payload, app_id, webhook, trigger, kind, occurred_at, idempotency_key
FROM cometchat.events WHERE kind = 'unknown';
ALTER TABLE cometchat.events ENABLE TRIGGER events_ingest;

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

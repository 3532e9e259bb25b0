-- Quarantine (the default, cometchat.on_invalid = quarantine): an invalid
-- payload is not stored in the ledger (INSERT 0 0) but in cometchat.rejected,
-- with every problem found.  Nothing raises.
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;
\set started '{"trigger": "meeting_started", "data": {"created_at": 1696934692, "sessionId": "room-1"}, "type": "meet", "appId": "app1", "region": "eu", "webhook": "wh1"}'
\set bad '{"trigger": "meeting_started", "data": {"created_at": "1696934692"}, "type": "call", "appId": "app1", "region": "eu", "webhook": "wh1"}'

-- An invalid payload.
INSERT INTO cometchat.events (payload) VALUES (:'bad');
SHOW cometchat.on_invalid;
SELECT count(*) AS events FROM cometchat.events;
SELECT id, payload = :'bad'::jsonb AS payload_kept, raw_body,
       received_at IS NOT NULL AS has_received_at
FROM cometchat.rejected ORDER BY id;
SELECT id, unnest(problems) AS problem FROM cometchat.rejected ORDER BY id;

-- RETURNING gives no row for it.
INSERT INTO cometchat.events (payload) VALUES (:'bad') RETURNING id;

-- The quarantine keeps every delivery: the same invalid payload twice is
-- two rows (ids 1 and 2 above).
SELECT count(*) AS rejected FROM cometchat.rejected;

-- A NULL payload is quarantined too.
INSERT INTO cometchat.events (payload) VALUES (NULL);
SELECT id, payload, raw_body, problems FROM cometchat.rejected WHERE payload IS NULL;

-- Valid and invalid rows in one statement: the valid ones are stored.
INSERT INTO cometchat.events (payload) VALUES
  (:'started'),
  ('"not an object"'),
  (jsonb_set(:'started'::jsonb, '{data,sessionId}', '"room-2"')),
  ('{"trigger": "meeting_started"}');
SELECT id, kind, session_id FROM cometchat.events ORDER BY id;
SELECT id, payload, problems FROM cometchat.rejected WHERE id > 3 ORDER BY id;

-- INSERT ... SELECT of many invalid rows: all quarantined, nothing raised.
INSERT INTO cometchat.events (payload)
SELECT jsonb_build_object('trigger', 'meeting_started', 'appId', 'app1', 'webhook', 'wh1',
                          'region', 'eu', 'data', jsonb_build_object('sessionId', 'room-' || i))
FROM generate_series(10, 14) i;
SELECT count(*) AS rejected, count(*) FILTER (WHERE problems = '{"data.created_at: is missing"}') AS missing_created_at
FROM cometchat.rejected;

-- The quarantine row belongs to the transaction that inserted it.
BEGIN;
INSERT INTO cometchat.events (payload) VALUES (:'bad');
SELECT count(*) AS rejected_in_transaction FROM cometchat.rejected;
ROLLBACK;
SELECT count(*) AS rejected_after_rollback FROM cometchat.rejected;

-- Quarantined rows are not in the ledger, and the ledger holds only valid rows.
SELECT count(*) AS events,
       count(*) FILTER (WHERE cardinality(cometchat.validate(payload)) = 0) AS valid
FROM cometchat.events;

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- cometchat.ingest_raw(body): the raw HTTP body.  Valid JSON goes on to
-- ingest(); a body that is not JSON is kept in cometchat.rejected.raw_body
-- with a problem starting "body:"; JSON that is not a valid webhook is
-- rejected with its payload kept.
\set QUIET off
\pset null '(null)'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

\set body '{"trigger": "recording_generated", "data": {"recordingDate": "2023-10-10", "duration": "21.433000", "startTime": "1696937627", "sessionId": "room-1", "recording_url": "https://example.com/r.mp4"}, "appId": "app1", "region": "eu", "webhook": "wh1"}'

-- A valid body: accepted, stored as jsonb.
SELECT status, event_id,
       idempotency_key = sha256(convert_to(cometchat.idempotency_key(:'body'), 'UTF8')) AS key_ok,
       problems, rejected_id
FROM cometchat.ingest_raw(:'body');
SELECT id, kind, session_id, payload = :'body'::jsonb AS same_payload FROM cometchat.events;

-- The same body again, or reformatted: duplicate.
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'body');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(E'\n  ' || replace(:'body', ', ', E',\n    ') || E'\n');

-- Bodies that are not JSON: rejected, the text kept, no payload.
SELECT status, event_id, idempotency_key, problems, rejected_id FROM cometchat.ingest_raw('{"trigger": ');
SELECT status, event_id, idempotency_key, problems, rejected_id FROM cometchat.ingest_raw('hello');
SELECT status, event_id, idempotency_key, problems, rejected_id FROM cometchat.ingest_raw('');
SELECT status, problems, rejected_id FROM cometchat.ingest_raw('{"trigger": "call_started", "data": {"sessionId": "\u0000"}}');
SELECT status, problems, rejected_id FROM cometchat.ingest_raw(replace(:'body', '"eu"', '''eu'''));
SELECT id, payload, quote_literal(raw_body) AS raw_body FROM cometchat.rejected WHERE id <> 5 ORDER BY id;
SELECT id, payload, raw_body = replace(:'body', '"eu"', '''eu''') AS raw_body_kept FROM cometchat.rejected WHERE id = 5;

-- JSON that is not an object, or not a valid webhook: rejected with the
-- payload kept and no raw body.
SELECT status, problems, rejected_id FROM cometchat.ingest_raw('[1, 2]');
SELECT status, problems, rejected_id FROM cometchat.ingest_raw('"call_started"');
SELECT status, problems, rejected_id FROM cometchat.ingest_raw('null');
SELECT status, problems, rejected_id FROM cometchat.ingest_raw(replace(:'body', '"startTime": "1696937627"', '"startTime": "1696937627000"'));
SELECT id, payload, raw_body FROM cometchat.rejected WHERE id BETWEEN 6 AND 8 ORDER BY id;
SELECT id, payload->'data'->>'startTime' AS start_time, raw_body FROM cometchat.rejected WHERE id = 9;

-- A NULL body.
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(NULL);
SELECT id, payload, raw_body, problems FROM cometchat.rejected WHERE id > 9 ORDER BY id;

SELECT count(*) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected FROM cometchat.events;

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- Loading a file of webhook bodies: cometchat.ingest_bodies(table, column)
-- ingests a table of bodies, one a row (an NDJSON file loaded with \copy in
-- CSV format with a quote and delimiter no body holds, so that every line
-- arrives as written), and keeps every line: accepted, duplicate, rejected
-- (quarantined: not JSON, or an invalid payload, whatever
-- cometchat.on_invalid says) or blank (skipped).  The bodies that look like
-- a JSON object go into the ledger in one INSERT, a statement batch like any
-- bulk load; the result is what ingest_raw() of each line gives.  A body
-- that only looks like an object falls back to parsing one at a time,
-- without losing a line.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\pset null '(null)'
\set VERBOSITY default
\set SHOW_CONTEXT never
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- Everything stored, ids and arrival times left out, to compare two loads.
CREATE FUNCTION pg_temp.stored() RETURNS TABLE (t text, r text) LANGUAGE sql AS $$
  SELECT 'events', (to_jsonb(e) - 'id' - 'received_at')::text FROM cometchat.events e
  UNION ALL SELECT 'rejected', (to_jsonb(q) - 'id' - 'received_at')::text FROM cometchat.rejected q
  UNION ALL SELECT table_name, row_data::text FROM cometchat._lifecycle_rows() $$;
CREATE PROCEDURE pg_temp.empty() LANGUAGE sql AS $$
  TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
           cometchat.call_outcomes, cometchat.participants, cometchat.recordings RESTART IDENTITY $$;
-- How many INSERT statements reach the ledger.
CREATE TEMP TABLE ledger_statements (n int);
INSERT INTO ledger_statements VALUES (0);
GRANT SELECT, UPDATE ON ledger_statements TO PUBLIC;
CREATE FUNCTION pg_temp.count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pg_temp.ledger_statements SET n = n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER regress_count_statements AFTER INSERT ON cometchat.events
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.count_statement();

------------------------------------------------------------------------
-- 1. The demo stream: 35 lines, one a retried delivery, one an invalid
--    payload, one an HTML error page.
------------------------------------------------------------------------
CREATE TEMP TABLE stream (line bigint GENERATED ALWAYS AS IDENTITY, body text);
\copy stream (body) FROM 'demo/stream.ndjson' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT * FROM cometchat.ingest_bodies('stream');
-- One INSERT took the 33 JSON objects.
SELECT n AS insert_statements FROM ledger_statements;
SELECT (SELECT count(*) FROM cometchat.events) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected,
       (SELECT count(*) FROM cometchat.rejected WHERE raw_body IS NOT NULL) AS not_json,
       (SELECT count(*) FROM cometchat.verify()) AS differences;
-- The same as ingest_raw() line by line.
CREATE TEMP TABLE by_bodies AS SELECT * FROM pg_temp.stored();
CALL pg_temp.empty();
SELECT status, count(*) FROM stream, cometchat.ingest_raw(body) GROUP BY status ORDER BY status;
SELECT (SELECT count(*) FROM (SELECT * FROM by_bodies EXCEPT ALL SELECT * FROM pg_temp.stored()) x) AS only_by_bodies,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.stored() EXCEPT ALL SELECT * FROM by_bodies) x) AS only_line_by_line,
       (SELECT count(*) FROM by_bodies) AS rows_compared;
-- Again: everything is a duplicate, and the two bad lines are quarantined again.
SELECT * FROM cometchat.ingest_bodies('stream');

------------------------------------------------------------------------
-- 2. Lines as files have them: blank and whitespace lines, CRLF line
--    ends, backslashes and escaped quotes (which COPY's text format would
--    eat), a body that looks like a JSON object but is not, a truncated
--    body, JSON that is not an object.
------------------------------------------------------------------------
CALL pg_temp.empty();
UPDATE ledger_statements SET n = 0;
\! printf '%s\r\n' '{"trigger":"meeting_started","data":{"created_at":1741599000,"sessionId":"room \"A\\\\B\""},"type":"meet","appId":"app1","region":"eu","webhook":"wh1"}' '' '   ' '{"trigger": "meeting_started", "data": {"created_at": 1741599000, ' '{"not": json}' '[1, 2]' '{"trigger":"meeting_ended","data":{"created_at":1741599000,"destroyed_at":1741599600,"all_occupants":[],"sessionId":"room \"A\\\\B\""},"type":"meet","appId":"app1","region":"eu","webhook":"wh1"}' > /tmp/cometchat_regress_36.ndjson
CREATE TEMP TABLE file (body text);
\copy file FROM '/tmp/cometchat_regress_36.ndjson' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
\! rm -f /tmp/cometchat_regress_36.ndjson
SELECT body, length(body) FROM file;
SELECT * FROM cometchat.ingest_bodies('file');
-- The body that only looks like an object made the load parse one body at a
-- time; the two objects still went in one INSERT, and [1, 2] (JSON, but not
-- an object) through ingest_raw(), a second.
SELECT n AS insert_statements FROM ledger_statements;
SELECT id, kind, session_id, occurred_at FROM cometchat.events ORDER BY id;
SELECT session_id, started_at, ended_at, status FROM cometchat.sessions;
SELECT payload IS NOT NULL AS json, raw_body, problems FROM cometchat.rejected ORDER BY raw_body NULLS FIRST, payload::text;

------------------------------------------------------------------------
-- 3. Every line is kept whatever cometchat.on_invalid says, and the
--    setting is back as it was afterwards.
------------------------------------------------------------------------
CALL pg_temp.empty();
SET cometchat.on_invalid = 'error';
SELECT * FROM cometchat.ingest_bodies('stream');
SHOW cometchat.on_invalid;
INSERT INTO cometchat.events (payload) SELECT body::jsonb FROM stream WHERE line = 24;
RESET cometchat.on_invalid;

------------------------------------------------------------------------
-- 4. Any relation and column: a view, another column name, a jsonb column.
------------------------------------------------------------------------
CALL pg_temp.empty();
CREATE TEMP VIEW first_meeting AS SELECT body AS webhook_body FROM stream WHERE line <= 8;
SELECT * FROM cometchat.ingest_bodies('first_meeting', 'webhook_body');
CREATE TEMP TABLE parsed (id int, doc jsonb);
INSERT INTO parsed SELECT line, body::jsonb FROM stream WHERE line BETWEEN 9 AND 22 AND body LIKE '{%';
SELECT * FROM cometchat.ingest_bodies('parsed', 'doc');
SELECT count(*) AS events FROM cometchat.events;

------------------------------------------------------------------------
-- 5. Errors.
------------------------------------------------------------------------
SELECT * FROM cometchat.ingest_bodies('no_such_table');
SELECT * FROM cometchat.ingest_bodies('stream', 'payload');
SELECT * FROM cometchat.ingest_bodies(NULL);
SELECT * FROM cometchat.ingest_bodies('stream', NULL);

------------------------------------------------------------------------
-- 6. A receiver loads its own file; a role that is not one cannot.
------------------------------------------------------------------------
CALL pg_temp.empty();
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cc36_receiver;
DROP ROLE IF EXISTS regress_cc36_reader;
RESET client_min_messages;
CREATE ROLE regress_cc36_receiver;
CREATE ROLE regress_cc36_reader;
SELECT count(*) AS granted FROM cometchat.grant_receiver('regress_cc36_receiver');
SELECT count(*) AS granted FROM cometchat.grant_reader('regress_cc36_reader');
GRANT SELECT ON stream TO regress_cc36_reader, regress_cc36_receiver;
SET ROLE regress_cc36_receiver;
CREATE TEMP TABLE mine (body text);
INSERT INTO mine SELECT body FROM stream;
SELECT * FROM cometchat.ingest_bodies('mine');
RESET ROLE;
SET ROLE regress_cc36_reader;
SELECT * FROM cometchat.ingest_bodies('stream');
RESET ROLE;
SELECT (SELECT count(*) FROM cometchat.events) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected;

------------------------------------------------------------------------
-- 7. The first statement of a session (the library not loaded yet).
------------------------------------------------------------------------
CALL pg_temp.empty();
DROP TRIGGER regress_count_statements ON cometchat.events;
\c
SET timezone = 'UTC';
CREATE TEMP TABLE stream (body text);
\copy stream FROM 'demo/stream.ndjson' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT * FROM cometchat.ingest_bodies('stream');
SHOW cometchat.on_invalid;
SELECT count(*) AS differences FROM cometchat.verify();

DROP OWNED BY regress_cc36_receiver, regress_cc36_reader;
DROP ROLE regress_cc36_receiver;
DROP ROLE regress_cc36_reader;

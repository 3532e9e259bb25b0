-- SET cometchat.on_invalid = 'error': an invalid payload raises an error
-- (SQLSTATE 23514, or 22032 for a body that is not JSON) listing every
-- problem in its DETAIL, with a HINT; nothing goes to cometchat.rejected.
-- RESET brings back the quarantine.
\set QUIET off
\pset null '(null)'
\set VERBOSITY default
\set SHOW_CONTEXT never
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- The settings exist once the module is loaded (any cometchat function or
-- INSERT into the ledger loads it).
LOAD 'cometchat_webhooks';

\set started '{"trigger": "meeting_started", "data": {"created_at": 1696934692, "sessionId": "room-1"}, "type": "meet", "appId": "app1", "region": "eu", "webhook": "wh1"}'
\set bad '{"trigger": "meeting_started", "data": {"created_at": "1696934692"}, "type": "call", "appId": "app1", "region": "eu", "webhook": "wh1"}'

-- Runs a statement and shows the error it raises, field by field.
CREATE FUNCTION pg_temp.show_error(stmt text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE stmt;
    RAISE NOTICE 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RAISE NOTICE E'SQLSTATE %\nMESSAGE %\nDETAIL %\nHINT %', st, msg, det, hnt;
END
$$;

SET cometchat.on_invalid = 'error';
SHOW cometchat.on_invalid;

-- An invalid INSERT raises.
INSERT INTO cometchat.events (payload) VALUES (:'bad');
SELECT pg_temp.show_error(format('INSERT INTO cometchat.events (payload) VALUES (%L)', :'bad'));
-- One problem: singular.
SELECT pg_temp.show_error($$INSERT INTO cometchat.events (payload) VALUES ('[]')$$);
-- A NULL payload raises.
SELECT pg_temp.show_error($$INSERT INTO cometchat.events (payload) VALUES (NULL)$$);
-- ingest() raises instead of reporting 'rejected'.
SELECT pg_temp.show_error(format('SELECT cometchat.ingest(%L)', :'bad'));
-- ingest_raw(): a body that is not JSON raises 22032; JSON that is not an
-- object raises 23514.
SELECT pg_temp.show_error($$SELECT cometchat.ingest_raw('hello')$$);
SELECT pg_temp.show_error($$SELECT cometchat.ingest_raw('[1, 2]')$$);

-- A multi-row INSERT with one invalid row fails as a whole.
SELECT pg_temp.show_error(format('INSERT INTO cometchat.events (payload) VALUES (%L), (%L)', :'started', :'bad'));
SELECT count(*) AS events FROM cometchat.events;

-- Valid payloads are stored and duplicates skipped as usual.
INSERT INTO cometchat.events (payload) VALUES (:'started');
INSERT INTO cometchat.events (payload) VALUES (:'started');
SELECT id, kind FROM cometchat.events ORDER BY id;

-- Nothing was quarantined.
SELECT count(*) AS rejected FROM cometchat.rejected;

-- RESET: the quarantine again.
RESET cometchat.on_invalid;
SHOW cometchat.on_invalid;
INSERT INTO cometchat.events (payload) VALUES (:'bad');
SELECT id, unnest(problems) AS problem FROM cometchat.rejected ORDER BY id;

-- SET LOCAL lasts until the end of the transaction.
BEGIN;
SET LOCAL cometchat.on_invalid = 'error';
SELECT pg_temp.show_error(format('INSERT INTO cometchat.events (payload) VALUES (%L)', :'bad'));
COMMIT;
SHOW cometchat.on_invalid;
SELECT set_config('cometchat.on_invalid', 'error', false);
SELECT pg_temp.show_error(format('INSERT INTO cometchat.events (payload) VALUES (%L)', :'bad'));
RESET cometchat.on_invalid;
SELECT count(*) AS rejected FROM cometchat.rejected;

-- Only the two values exist, and a misspelled cometchat setting is refused.
SET cometchat.on_invalid = 'drop';
SET cometchat.on_invalid = 'ERROR';
SHOW cometchat.on_invalid;
RESET cometchat.on_invalid;
SET cometchat.oninvalid = 'error';

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- Lifecycle, rebuild() and verify(): verify() compares the maintained
-- lifecycle tables with a recomputation from the ledger and returns no rows
-- when they agree; a row the recomputation has and the tables lack is
-- 'missing', one the tables have and the recomputation lacks 'unexpected'.
-- verify() leaves the tables as they are; rebuild() recomputes them.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

SELECT pg_temp.feed(
  pg_temp.initiated('601', 'a_user_b', 'a', 'b', 1700038800, 'S1'),
  pg_temp.started('call_started', 'S1', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'B', 1700038812),
  pg_temp.ended('call_ended', 'S1', 1700038810, 1700038900, jsonb_build_array(
    pg_temp.occ('A', 1700038810, 1700038900), pg_temp.occ('B', 1700038812, 1700038890))),
  pg_temp.recording('S1', 1700038815, '80.000000', 'https://example.test/rec/S1'),
  pg_temp.initiated('611', 'a_user_c', 'a', 'c', 1700039000, 'S2'),
  pg_temp.outcome('cancelled', '612', 'a_user_c', 'a', 'c', 1700039020));
-- An invalid payload goes to the quarantine and is no part of a rebuild.
SELECT pg_temp.feed('{"trigger": "call_started", "appId": "app1"}');
SELECT pg_temp.snapshot() AS good \gset

-- Consistent: no rows.
SELECT * FROM cometchat.verify();
-- rebuild() returns the number of ledger events replayed and gives the
-- same content.
SELECT cometchat.rebuild();
SELECT pg_temp.snapshot() = :'good' AS same_after_rebuild;
SELECT * FROM cometchat.verify();

-- Changed, missing and extra rows, one kind at a time.  Each time verify()
-- reports it and leaves the tables as they were; rebuild() repairs them.
CREATE FUNCTION pg_temp.check_and_repair() RETURNS TABLE (table_name text, difference text, row_data jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  before text := pg_temp.snapshot();
BEGIN
  RETURN QUERY SELECT * FROM cometchat.verify() v ORDER BY v.table_name, v.difference, v.row_data::text;
  IF pg_temp.snapshot() IS DISTINCT FROM before THEN
    RAISE EXCEPTION 'verify() changed the lifecycle tables';
  END IF;
  PERFORM cometchat.rebuild();
END $$;

-- 1. A changed count: the recomputed row is missing, the stored one unexpected.
UPDATE cometchat.sessions SET participant_count = 7 WHERE session_id = 'S1';
SELECT table_name, difference, row_data->>'session_id' AS session_id,
       row_data->>'participant_count' AS participant_count, row_data->>'peak_participants' AS peak
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 2. A lost outcome on a call (status is derived and follows).
UPDATE cometchat.calls SET outcome = NULL, outcome_at = NULL WHERE call_id = '611';
SELECT table_name, difference, row_data->>'call_id' AS call_id, row_data->>'status' AS status,
       row_data->>'outcome' AS outcome
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 3. An outcome unlinked.
UPDATE cometchat.call_outcomes SET linked_call_id = NULL;
SELECT table_name, difference, row_data->>'outcome_id' AS outcome_id,
       row_data->>'linked_call_id' AS linked_call_id
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 4. A participant deleted: only 'missing'.
DELETE FROM cometchat.participants WHERE name = 'B';
SELECT table_name, difference, row_data->>'name' AS name, row_data->>'left_at' AS left_at
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 5. A recording no event explains: only 'unexpected'.
INSERT INTO cometchat.recordings (app_id, session_id, started_at, recording_url)
VALUES ('app1', 'S9', '2023-11-15 12:00:00+00', 'https://example.test/rec/forged');
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'recording_url' AS recording_url
FROM pg_temp.check_and_repair();
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 6. Everything emptied: every row missing.
TRUNCATE cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT table_name, difference, count(*) FROM pg_temp.check_and_repair() GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pg_temp.snapshot() = :'good' AS repaired;

-- 7. verify() inside a transaction that later rolls back leaves nothing
--    behind either, and rebuild() rolls back with its transaction.
BEGIN;
UPDATE cometchat.participants SET left_at = NULL WHERE name = 'A';
SELECT count(*) AS differences FROM cometchat.verify();
SELECT left_at IS NULL AS still_corrupt FROM cometchat.participants WHERE name = 'A';
SELECT cometchat.rebuild();
SELECT count(*) AS differences FROM cometchat.verify();
ROLLBACK;
SELECT pg_temp.snapshot() = :'good' AS as_before;

-- The ledger did not change through any of this.
SELECT count(*) AS ledger_rows FROM cometchat.events;

SELECT * FROM cometchat.verify();

-- Lifecycle tables written directly (src/store.c): the tables stay open for
-- the whole transaction, so what can happen between and inside events of
-- one transaction is tested here: an error inside an event caught by a
-- savepoint or an exception block, DDL between events (TRUNCATE, CREATE
-- INDEX), and an event ingested from inside another one.  No WARNING
-- (reference leaks) may appear, and verify() must find nothing.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

------------------------------------------------------------------------
-- 1. An event fails half way (a CHECK constraint on participants rejects
--    its row after the instance was looked up); the savepoint is rolled
--    back and the transaction goes on and commits.
------------------------------------------------------------------------
ALTER TABLE cometchat.participants ADD CONSTRAINT no_eve CHECK (name <> 'Eve');
BEGIN;
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'R1', 1700038800),
                    pg_temp.joined('meeting_participant_joined', 'R1', 'Ann', 1700038801));
SAVEPOINT before_eve;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R1', 'Eve', 1700038802));
ROLLBACK TO before_eve;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R1', 'Bob', 1700038803),
                    pg_temp.ended('meeting_ended', 'R1', 1700038800, 1700038900));
COMMIT;
SELECT session_id, ended_at, participant_count, peak_participants FROM cometchat.sessions;
SELECT name, session_started_at, joined_at FROM cometchat.participants ORDER BY name;
SELECT count(*) AS ledger_rows FROM cometchat.events;
SELECT * FROM cometchat.verify();

-- The same inside one statement: an exception block catches each failing
-- event and the loop goes on.
CALL pg_temp.reset();
DO $$
DECLARE
  p jsonb;
  failed int := 0;
BEGIN
  FOREACH p IN ARRAY ARRAY[
    pg_temp.started('meeting_started', 'R2', 1700038800),
    pg_temp.joined('meeting_participant_joined', 'R2', 'Eve', 1700038801),
    pg_temp.joined('meeting_participant_joined', 'R2', 'Cy', 1700038802),
    pg_temp.ended('meeting_ended', 'R2', 1700038800, 1700038900,
                  jsonb_build_array(pg_temp.occ('Eve', 1700038801, 1700038850))),
    pg_temp.joined('meeting_participant_joined', 'R2', 'Di', 1700038803)]
  LOOP
    BEGIN
      INSERT INTO cometchat.events (payload) VALUES (p);
    EXCEPTION WHEN check_violation THEN
      failed := failed + 1;
    END;
  END LOOP;
  RAISE NOTICE 'events that failed: %', failed;
END $$;
SELECT session_id, ended_at, participant_count, peak_participants FROM cometchat.sessions;
SELECT name, joined_at FROM cometchat.participants ORDER BY name;
SELECT * FROM cometchat.verify();
ALTER TABLE cometchat.participants DROP CONSTRAINT no_eve;

------------------------------------------------------------------------
-- 2. DDL between the events of one transaction: an index created on a
--    lifecycle table gets the rows written after it, and TRUNCATE (as in
--    cometchat.rebuild()) is not refused as "in use".
------------------------------------------------------------------------
CALL pg_temp.reset();
CREATE EXTENSION IF NOT EXISTS amcheck;
BEGIN;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R3', 'Cat', 1700038801));
CREATE INDEX participants_by_name_test ON cometchat.participants (name);
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R3', 'Dan', 1700038802));
COMMIT;
-- Every participants row is in the new index (amcheck, heapallindexed).
SELECT bt_index_check('cometchat.participants_by_name_test', true);
BEGIN;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R3', 'Eva', 1700038803));
SELECT cometchat.rebuild() AS replayed;
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'R3', 1700038800));
SELECT name, session_started_at FROM cometchat.participants ORDER BY name;
COMMIT;
SELECT bt_index_check('cometchat.participants_by_name_test', true);
DROP INDEX cometchat.participants_by_name_test;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 3. A trigger on a lifecycle table that ingests an event while one is
--    being applied gets a clear error, and the session ingests normally
--    afterwards.
------------------------------------------------------------------------
CALL pg_temp.reset();
CREATE FUNCTION pg_temp.echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cometchat.events (payload)
  VALUES (pg_temp.started('meeting_started', 'R-echo', 1700038800));
  RETURN NEW;
END $$;
CREATE TRIGGER echo BEFORE INSERT ON cometchat.participants
  FOR EACH ROW EXECUTE FUNCTION pg_temp.echo();
-- (terse: the context names this backend's pg_temp schema)
\set VERBOSITY terse
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R4', 'Eli', 1700038801));
\set VERBOSITY default
DROP TRIGGER echo ON cometchat.participants;
SELECT pg_temp.feed(pg_temp.joined('meeting_participant_joined', 'R4', 'Eli', 1700038801));
SELECT session_id, name FROM cometchat.participants;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. Under REPEATABLE READ and SERIALIZABLE the lifecycle reads still see
--    what other transactions committed before the event took its locks
--    (each event reads through a snapshot of its own), and the rows are
--    those of a READ COMMITTED ingest.
------------------------------------------------------------------------
CALL pg_temp.reset();
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT pg_temp.feed(pg_temp.initiated('101', 'a_user_b', 'a', 'b', 1700038800, 'S1'),
                    pg_temp.started('call_started', 'S1', 1700038805),
                    pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038806),
                    pg_temp.outcome('busy', '102', 'a_user_b', 'b', 'a', 1700038810));
COMMIT;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.feed(pg_temp.joined('call_participant_joined', 'S1', 'B', 1700038807),
                    pg_temp.ended('call_ended', 'S1', 1700038805, 1700038900));
COMMIT;
SELECT session_id, call_id, status, outcome, participant_count FROM cometchat.calls;
SELECT session_id, participant_count, peak_participants FROM cometchat.sessions;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 5. The generation expressions of calls.status and calls.duration are
--    planned once per session (the events above did it); a change to the
--    table drops them.  After DROP EXPRESSION, duration is a plain column
--    the ending event leaves NULL; the old expression would have set it.
------------------------------------------------------------------------
CALL pg_temp.reset();
BEGIN;
SELECT pg_temp.feed(pg_temp.initiated('201', 'a_user_b', 'a', 'b', 1700038800, 'S5'),
                    pg_temp.started('call_started', 'S5', 1700038805));
ALTER TABLE cometchat.calls ALTER COLUMN duration DROP EXPRESSION;
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'S5', 1700038805, 1700038900));
SELECT session_id, status, ended_at, duration FROM cometchat.calls;
ROLLBACK;
SELECT pg_temp.feed(pg_temp.initiated('201', 'a_user_b', 'a', 'b', 1700038800, 'S5'),
                    pg_temp.started('call_started', 'S5', 1700038805),
                    pg_temp.ended('call_ended', 'S5', 1700038805, 1700038900));
SELECT session_id, status, ended_at, duration FROM cometchat.calls;

------------------------------------------------------------------------
-- 6. What a session learns of the tables (their oids, their columns by
--    name, their generated columns) outlives its transactions, and is
--    forgotten when a table changes: a renamed column or table is missed by
--    the very next event, and found again once renamed back.
------------------------------------------------------------------------
CALL pg_temp.reset();
SELECT pg_temp.feed(pg_temp.initiated('301', 'a_user_b', 'a', 'b', 1700039800, 'S6'));
ALTER TABLE cometchat.calls RENAME COLUMN media TO call_media;
SELECT pg_temp.feed(pg_temp.started('call_started', 'S6', 1700039805));
ALTER TABLE cometchat.calls RENAME COLUMN call_media TO media;
SELECT pg_temp.feed(pg_temp.started('call_started', 'S6', 1700039805));
ALTER TABLE cometchat.sessions RENAME TO sessions_renamed;
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'S6', 1700039805, 1700039900));
ALTER TABLE cometchat.sessions_renamed RENAME TO sessions;
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'S6', 1700039805, 1700039900));
SELECT session_id, media, status, duration FROM cometchat.calls;
SELECT session_id, status, duration FROM cometchat.sessions;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 7. calls keeps a tenth of each page free (fillfactor 90), so that the
--    update that follows a row's insert can stay on its page (HOT, no new
--    index entries): 200 calls initiated in one statement, the first 15 of
--    them (all on the first page) answered by the next: all 15 updates
--    are HOT (at fillfactor 100, the page full, some would not be).
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.initiated((7000 + i)::text, 'a_user_b', 'a', 'b', 1700050000 + i, 'S7-' || i)
FROM generate_series(1, 200) i;
BEGIN;
SELECT n_tup_upd AS upd0, n_tup_hot_upd AS hot0 FROM pg_stat_xact_user_tables
WHERE relid = 'cometchat.calls'::regclass \gset
INSERT INTO cometchat.events (payload)
SELECT pg_temp.started('call_started', 'S7-' || i, 1700050100 + i) FROM generate_series(1, 15) i;
SELECT n_tup_upd - :upd0 AS updates, n_tup_hot_upd - :hot0 AS hot_updates
FROM pg_stat_xact_user_tables WHERE relid = 'cometchat.calls'::regclass;
COMMIT;

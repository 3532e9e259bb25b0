-- verify_in_steps(): verify() in one transaction per step, recomputing into
-- temporary copies of the lifecycle tables.  It finds what verify() finds,
-- leaves the tables and the session as they were, keeps to what a
-- recomputation covers after a retirement, and refuses to take a temporary
-- table of the caller's.  (Live ingest between its steps: the isolation
-- spec verify_steps_live.)
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- Two days (2023-11-15 and 2023-12-16) of 10 calls each, as in
-- 43_rebuild_steps: every fifth call answered by no one (an outcome, no
-- session id).
SELECT * FROM pg_temp.two_days(calls_per_day => 10, day_gap => 31);
SELECT pg_temp.snapshot() AS good \gset
SELECT count(*) AS events FROM cometchat.events;

-- Consistent: no differences, whatever the step; the copies are gone and
-- the (empty) differences stay in the session.
CALL cometchat.verify_in_steps();
CALL cometchat.verify_in_steps(step_events => 7);
SELECT count(*) AS left_in_session FROM cometchat_verify_differences;
SELECT count(*) AS copies_left FROM pg_class
WHERE relnamespace = pg_my_temp_schema()
  AND relname IN ('sessions', 'calls', 'call_outcomes', 'participants', 'recordings',
                  'cometchat_verify_maintained');

-- A row changed, one deleted, one added by hand: the differences are
-- exactly verify()'s.
UPDATE cometchat.participants SET left_at = left_at + interval '1 second'
WHERE session_id = 's0-7' AND name = 'A';
DELETE FROM cometchat.recordings WHERE session_id = 's1-3';
INSERT INTO cometchat.call_outcomes (app_id, outcome_id, conversation_id, outcome, sent_at)
VALUES ('app1', 'by-hand', 'conv9', 'busy', '2023-12-16 12:00+00');
CALL cometchat.verify_in_steps(step_events => 10);
SELECT table_name, difference, row_data->>'session_id' AS session_id,
       row_data->>'outcome_id' AS outcome_id
FROM cometchat_verify_differences ORDER BY 1, 2, 3, 4;
SELECT count(*) AS not_as_verify
FROM ((TABLE cometchat_verify_differences EXCEPT ALL SELECT * FROM cometchat.verify())
      UNION ALL
      (SELECT * FROM cometchat.verify() EXCEPT ALL TABLE cometchat_verify_differences)) d;
-- The maintained tables were only read.
SELECT count(*) AS still_changed FROM cometchat.call_outcomes WHERE outcome_id = 'by-hand';
SELECT cometchat.rebuild() AS replayed;
SELECT pg_temp.snapshot() = :'good' AS mended;
CALL cometchat.verify_in_steps(step_events => 10);

-- After a retirement it covers what rebuild() recomputes, as verify()
-- does: a changed row of a session from before the horizon is not seen,
-- one of a session after it is.
SELECT partition_name FROM cometchat.create_partitions(ahead => '0 days')
WHERE range_from < '2024-01-01';
SELECT partition_name FROM cometchat.retire_partitions(now() - '2023-12-02'::timestamptz);
SELECT cometchat.retired_before() AS horizon, count(*) AS events_left FROM cometchat.events;
CALL cometchat.verify_in_steps(step_events => 5);
UPDATE cometchat.participants SET left_at = left_at + interval '1 second'
WHERE session_id IN ('s0-1', 's1-1') AND name = 'B';
CALL cometchat.verify_in_steps(step_events => 5);
SELECT table_name, difference, row_data->>'session_id' AS session_id
FROM cometchat_verify_differences ORDER BY 1, 2, 3;
SELECT count(*) AS not_as_verify
FROM ((TABLE cometchat_verify_differences EXCEPT ALL SELECT * FROM cometchat.verify())
      UNION ALL
      (SELECT * FROM cometchat.verify() EXCEPT ALL TABLE cometchat_verify_differences)) d;
UPDATE cometchat.participants SET left_at = left_at - interval '1 second'
WHERE session_id IN ('s0-1', 's1-1') AND name = 'B';
SELECT pg_temp.snapshot() = :'good' AS restored;

\set VERBOSITY terse
-- Errors: a step of no events; inside a transaction block; a temporary
-- table of the caller's with a name it needs, which it leaves alone.
CALL cometchat.verify_in_steps(step_events => 0);
BEGIN;
CALL cometchat.verify_in_steps();
ROLLBACK;
CREATE TEMPORARY TABLE calls (mine int);
INSERT INTO pg_temp.calls VALUES (1);
CALL cometchat.verify_in_steps();
SELECT * FROM pg_temp.calls;
DROP TABLE pg_temp.calls;
\set VERBOSITY default
-- An interrupted run (a cancel, a lost step) leaves its copies in the
-- session; they are its own (their comment tells), and the next run takes
-- them again.
CREATE TEMPORARY TABLE sessions (LIKE cometchat.sessions);
COMMENT ON TABLE pg_temp.sessions IS 'made by cometchat.verify_in_steps()';
CALL cometchat.verify_in_steps();
SELECT pg_temp.snapshot() = :'good' AS untouched;

-- Leave the ledger as the tests after this one expect it.
\set ECHO none
\i test/sql/drop_partitions.sql
\set ECHO all
SELECT cometchat.rebuild() AS replayed;

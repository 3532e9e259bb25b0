-- Recomputing in bounded memory: rebuild(since) and verify(since) cover
-- what began at or after a time, replaying only its events;
-- rebuild_in_steps() recomputes everything in one transaction per step,
-- resumes where an interrupted run stopped, and keeps retirement off until
-- it has finished.  (Live ingest between its steps: the isolation spec
-- rebuild_steps_live.)
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- Two days (2023-11-15 and 16) of 20 calls each: initiated, started, two
-- joins, ended, a recording; every fifth call of a conversation is
-- answered by no one (an outcome, no session), and a meeting a day.
SELECT * FROM pg_temp.two_days(calls_per_day => 20, day_gap => 1);
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'room-' || d, 1700038800 + d * 86400 + 30000),
  pg_temp.joined('meeting_participant_joined', 'room-' || d, 'C', 1700038800 + d * 86400 + 30005),
  pg_temp.ended('meeting_ended', 'room-' || d, 1700038800 + d * 86400 + 30000,
                1700038800 + d * 86400 + 33600, jsonb_build_array(
                  pg_temp.occ('C', 1700038800 + d * 86400 + 30005, 1700038800 + d * 86400 + 33600))))
FROM generate_series(0, 1) d;
SELECT pg_temp.snapshot() AS good \gset
SELECT count(*) AS events,
       count(*) FILTER (WHERE occurred_at >= '2023-11-16 00:00+00') AS events_of_day_two
FROM cometchat.events;
SELECT count(*) AS differences FROM cometchat.verify();

-- One participant changed on each day.  verify(since) sees only the one of
-- the day it covers; verify() both.
UPDATE cometchat.participants SET left_at = left_at + interval '1 second'
WHERE session_id IN ('s0-7', 's1-7') AND name = 'A';
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'left_at' AS left_at
FROM cometchat.verify(since => '2023-11-16 00:00+00');
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'left_at' AS left_at
FROM cometchat.verify();

-- rebuild(since) replays that day's events only, and mends that day's row.
SELECT cometchat.rebuild(since => '2023-11-16 00:00+00') AS replayed;
SELECT table_name, difference, row_data->>'session_id' AS session_id
FROM cometchat.verify();
-- A call that began (rang) before since is left as it is, with its
-- session, though most of its events came after since.
UPDATE cometchat.calls SET caller = 'z' WHERE session_id = 's1-6';
SELECT count(*) AS unseen_from_after_its_start FROM cometchat.verify(since => '2023-11-16 10:00:05+00');
SELECT count(*) AS seen_from_its_start FROM cometchat.verify(since => '2023-11-16 10:00:00+00');
UPDATE cometchat.calls SET caller = 'a' WHERE session_id = 's1-6';

-- rebuild_in_steps(): everything again, 25 events a transaction; the rows
-- ingest made, nothing left in progress.
CALL cometchat.rebuild_in_steps(step_events => 25);
SELECT pg_temp.snapshot() = :'good' AS same_as_ingest,
       (SELECT count(*) FROM cometchat.rebuild_progress) AS in_progress;

-- Interrupted: a trigger of the user's on sessions fails the step that
-- reaches room-1.  The steps before it stay committed and recorded; the
-- lifecycle tables lack the rest; retirement is refused meanwhile.
CREATE SEQUENCE public.fail_once;
CREATE FUNCTION public.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.session_id = 'room-1' AND nextval('public.fail_once') = 1 THEN
        RAISE EXCEPTION 'interrupted at %', NEW.session_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fail_once BEFORE INSERT ON cometchat.sessions
    FOR EACH ROW EXECUTE FUNCTION public.fail_once();
\set VERBOSITY terse
CALL cometchat.rebuild_in_steps(step_events => 25);
SELECT steps > 0 AS some_steps_committed,
       events_replayed = (SELECT count(*) FROM cometchat.events WHERE id <= replayed_to) AS replayed_what_it_says,
       replayed_to < replay_until AS unfinished
FROM cometchat.rebuild_progress;
SELECT count(*) > 0 AS rows_missing FROM cometchat.verify();
SELECT * FROM cometchat.retire_partitions('1 day');
-- Run again: it resumes, with the steps and events of the first run counted.
CALL cometchat.rebuild_in_steps(step_events => 25);
SELECT pg_temp.snapshot() = :'good' AS same_as_ingest,
       (SELECT count(*) FROM cometchat.rebuild_progress) AS in_progress;

-- Interrupted again; rebuild() recomputes everything at once and ends it.
SELECT setval('public.fail_once', 1, false) AS fails_once_more;
CALL cometchat.rebuild_in_steps(step_events => 25);
SELECT count(*) AS in_progress FROM cometchat.rebuild_progress;
SELECT cometchat.rebuild() = (SELECT count(*) FROM cometchat.events) AS replayed_all;
SELECT pg_temp.snapshot() = :'good' AS same_as_ingest,
       (SELECT count(*) FROM cometchat.rebuild_progress) AS in_progress;
\set VERBOSITY default
DROP TRIGGER fail_once ON cometchat.sessions;
DROP FUNCTION public.fail_once();
DROP SEQUENCE public.fail_once;

-- After a retirement, steps recompute what began at or after the horizon.
SELECT partition_name FROM cometchat.create_partitions(ahead => '0 days')
WHERE range_from < '2024-01-01';
SELECT partition_name, dropped FROM cometchat.retire_partitions('1 day');
SELECT count(*) AS events_left FROM cometchat.events;
CALL cometchat.rebuild_in_steps(step_events => 1000);
SELECT pg_temp.snapshot() = :'good' AS rows_kept;

\set VERBOSITY terse
-- Errors: a step of no events; inside a transaction block (a procedure
-- that commits cannot run there), which leaves nothing behind.
CALL cometchat.rebuild_in_steps(step_events => 0);
BEGIN;
CALL cometchat.rebuild_in_steps();
ROLLBACK;
\set VERBOSITY default
SELECT pg_temp.snapshot() = :'good' AS untouched,
       (SELECT count(*) FROM cometchat.rebuild_progress) AS in_progress;

-- Leave the ledger as the tests after this one expect it.
\set ECHO none
\i test/sql/drop_partitions.sql
\set ECHO all
SELECT cometchat.rebuild() AS replayed;

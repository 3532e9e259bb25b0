-- Accepted events are applied to the lifecycle tables at the end of their
-- statement (src/batch.c), grouped by session id, cometchat.batch_size at a
-- time.  What a statement, a COPY, a rolled-back subtransaction and an
-- AFTER trigger see of them; and the same rows whatever the batch size.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- The events of two calls and a meeting, interleaved: used by 1 and 2.
CREATE TEMP TABLE mixed (n int, payload jsonb);
INSERT INTO mixed VALUES
  (1, pg_temp.initiated('101', 'a_user_b', 'a', 'b', 1700038800, 'S1')),
  (2, pg_temp.started('meeting_started', 'R1', 1700038800)),
  (3, pg_temp.joined('meeting_participant_joined', 'R1', 'Ann', 1700038801)),
  (4, pg_temp.started('call_started', 'S1', 1700038805)),
  (5, pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038806)),
  (6, pg_temp.joined('meeting_participant_joined', 'R1', 'Bob', 1700038802)),
  (7, pg_temp.joined('call_participant_joined', 'S1', 'B', 1700038807)),
  (8, pg_temp.initiated('201', 'a_user_c', 'a', 'c', 1700038900, NULL)),
  (9, pg_temp.left('meeting_participant_left', 'R1', 'Ann', 1700038801, 1700038850)),
  (10, pg_temp.outcome('busy', '202', 'a_user_c', 'c', 'a', 1700038905)),
  (11, pg_temp.ended('meeting_ended', 'R1', 1700038800, 1700038900)),
  (12, pg_temp.ended('call_ended', 'S1', 1700038805, 1700038950)),
  (13, pg_temp.joined('meeting_participant_joined', 'R1', 'Cid', 1700038803)),
  (14, pg_temp.recording('R1', 1700038810, '60.5', 'https://r/1'));

------------------------------------------------------------------------
-- 1. One INSERT of all of them: applied together at its end.  The rows are
--    those of one event at a time (batch_size 1), and of batches of 4
--    (some applied while the statement still runs).
------------------------------------------------------------------------
BEGIN;
INSERT INTO cometchat.events (payload) SELECT payload FROM mixed ORDER BY n;
-- (inside the transaction: applied by the end of the statement, not of the transaction)
CREATE TEMP TABLE whole AS SELECT table_name, row_data FROM cometchat._lifecycle_rows();
COMMIT;
SELECT session_id, status, outcome, participant_count FROM cometchat.calls ORDER BY call_id;
SELECT session_id, ended_at, participant_count, peak_participants, recording_count FROM cometchat.sessions ORDER BY session_id;
SELECT * FROM cometchat.verify();

CALL pg_temp.reset();
SET cometchat.batch_size = 1;
INSERT INTO cometchat.events (payload) SELECT payload FROM mixed ORDER BY n;
SELECT count(*) AS differences FROM
  ((SELECT * FROM whole EXCEPT ALL SELECT table_name, row_data FROM cometchat._lifecycle_rows())
   UNION ALL
   (SELECT table_name, row_data FROM cometchat._lifecycle_rows() EXCEPT ALL SELECT * FROM whole)) d;

CALL pg_temp.reset();
SET cometchat.batch_size = 4;
INSERT INTO cometchat.events (payload) SELECT payload FROM mixed ORDER BY n DESC;
SELECT count(*) AS differences FROM
  ((SELECT * FROM whole EXCEPT ALL SELECT table_name, row_data FROM cometchat._lifecycle_rows())
   UNION ALL
   (SELECT table_name, row_data FROM cometchat._lifecycle_rows() EXCEPT ALL SELECT * FROM whole)) d;
RESET cometchat.batch_size;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 2. COPY: applied when the COPY ends (checked before the commit).
------------------------------------------------------------------------
CALL pg_temp.reset();
CREATE TEMP TABLE copied AS SELECT n, payload::text AS line FROM mixed;
\copy (SELECT line FROM copied ORDER BY n) TO '/tmp/cometchat_batch_test.copy'
BEGIN;
\copy cometchat.events (payload) FROM '/tmp/cometchat_batch_test.copy'
SELECT count(*) AS differences FROM
  ((SELECT * FROM whole EXCEPT ALL SELECT table_name, row_data FROM cometchat._lifecycle_rows())
   UNION ALL
   (SELECT table_name, row_data FROM cometchat._lifecycle_rows() EXCEPT ALL SELECT * FROM whole)) d;
COMMIT;
\! rm -f /tmp/cometchat_batch_test.copy

------------------------------------------------------------------------
-- 3. Subtransactions.  (a) A statement that fails half way inside an
--    exception block: the events it had queued are dropped with its rows.
--    (b) Events an enclosing statement queued stay queued when a
--    subtransaction of one of its rows fails, and are applied at its end.
------------------------------------------------------------------------
CALL pg_temp.reset();
DO $$
BEGIN
  BEGIN
    SET LOCAL cometchat.on_invalid = error;
    INSERT INTO cometchat.events (payload)
    VALUES (pg_temp.started('meeting_started', 'R9', 1700038800)),
           (pg_temp.joined('meeting_participant_joined', 'R9', 'Dee', 1700038801)),
           ('{"trigger": "meeting_started"}');
  EXCEPTION WHEN others THEN
    RAISE NOTICE 'caught: %', SQLERRM;
  END;
END $$;
SELECT count(*) AS ledger_rows FROM cometchat.events;
SELECT count(*) AS lifecycle_rows FROM cometchat._lifecycle_rows();
-- The next statement applies only its own event.
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'R8', 1700038800));
SELECT session_id, participant_count FROM cometchat.sessions;
SELECT * FROM cometchat.verify();

CALL pg_temp.reset();
CREATE FUNCTION pg_temp.with_failed_ingest(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM cometchat.ingest(pg_temp.joined('meeting_participant_joined', 'R7', 'Zed', 1700038801));
    RAISE EXCEPTION 'undo the ingest';
  EXCEPTION WHEN raise_exception THEN
    NULL;
  END;
  RETURN p;
END $$;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.with_failed_ingest(payload)
FROM (VALUES (pg_temp.started('meeting_started', 'R7', 1700038800)),
             (pg_temp.joined('meeting_participant_joined', 'R7', 'Ann', 1700038802)),
             (pg_temp.joined('meeting_participant_joined', 'R7', 'Bob', 1700038803))) v(payload);
SELECT session_id, participant_count FROM cometchat.sessions;
SELECT name FROM cometchat.participants ORDER BY name;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. A statement's own AFTER ROW triggers on cometchat.events run after
--    its events were applied: each sees all three joins.
------------------------------------------------------------------------
CALL pg_temp.reset();
CREATE TEMP TABLE seen (event_id bigint, participants bigint);
CREATE FUNCTION pg_temp.look() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO seen SELECT NEW.id, count(*) FROM cometchat.participants WHERE session_id = NEW.session_id;
  RETURN NULL;
END $$;
CREATE TRIGGER look AFTER INSERT ON cometchat.events FOR EACH ROW EXECUTE FUNCTION pg_temp.look();
INSERT INTO cometchat.events (payload)
VALUES (pg_temp.joined('meeting_participant_joined', 'R6', 'Ann', 1700038801)),
       (pg_temp.joined('meeting_participant_joined', 'R6', 'Bob', 1700038802)),
       (pg_temp.joined('meeting_participant_joined', 'R6', 'Cid', 1700038803));
DROP TRIGGER look ON cometchat.events;
SELECT participants FROM seen ORDER BY event_id;

------------------------------------------------------------------------
-- 5. Queries that run inside the statement (a function called per row,
--    the quarantine insert of an invalid payload) leave its events queued:
--    each row's function sees none of the statement's joins, and all are
--    applied at its end.
------------------------------------------------------------------------
CALL pg_temp.reset();
CREATE TEMP TABLE notes (n serial, participants bigint);
CREATE FUNCTION pg_temp.note(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO notes (participants) SELECT count(*) FROM cometchat.participants;
  RETURN p;
END $$;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.note(payload)
FROM (VALUES (1, pg_temp.joined('meeting_participant_joined', 'R5', 'Ann', 1700038801)),
             (2, pg_temp.joined('meeting_participant_joined', 'R5', 'Bob', 1700038802)),
             (3, '{"trigger": "meeting_started"}'),
             (4, pg_temp.joined('meeting_participant_joined', 'R5', 'Cid', 1700038803))) v(i, payload)
ORDER BY i;
SELECT participants FROM notes ORDER BY n;
SELECT count(*) AS participants FROM cometchat.participants;
SELECT count(*) AS quarantined FROM cometchat.rejected WHERE payload = '{"trigger": "meeting_started"}';
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 6. A batch is a query level of its own for AFTER triggers: a trigger on
--    a lifecycle table fires for rows written after an INSERT's end and
--    after a COPY (which have closed their own level).  In a new session
--    whose first statement is a COPY (the library is loaded by its first
--    row, after the COPY began), the events are applied by the time the
--    next statement runs too: in a transaction block as they come, else
--    before the COPY's commit.
------------------------------------------------------------------------
CALL pg_temp.reset();
CREATE TABLE public.session_log (session_id text, participant_count int);
CREATE FUNCTION public.log_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.session_log VALUES (NEW.session_id, NEW.participant_count);
  RETURN NULL;
END $$;
CREATE TRIGGER log_session AFTER INSERT OR UPDATE ON cometchat.sessions
  FOR EACH ROW EXECUTE FUNCTION public.log_session();
INSERT INTO cometchat.events (payload)
VALUES (pg_temp.started('meeting_started', 'R4', 1700038800)),
       (pg_temp.joined('meeting_participant_joined', 'R4', 'Ann', 1700038801));
SELECT * FROM public.session_log ORDER BY participant_count;
TRUNCATE public.session_log;
\copy (SELECT line FROM copied ORDER BY n) TO '/tmp/cometchat_batch_test.copy'
\copy cometchat.events (payload) FROM '/tmp/cometchat_batch_test.copy'
SELECT session_id, max(participant_count) AS logged_count FROM public.session_log GROUP BY 1 ORDER BY 1;
TRUNCATE public.session_log;
CALL pg_temp.reset();
\c
SET timezone = 'UTC';
BEGIN;
\copy cometchat.events (payload) FROM '/tmp/cometchat_batch_test.copy'
SELECT session_id, participant_count, peak_participants FROM cometchat.sessions ORDER BY session_id;
COMMIT;
-- The same first COPY as a transaction of its own: applied before its commit.
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
\c
\copy cometchat.events (payload) FROM '/tmp/cometchat_batch_test.copy'
SELECT session_id, participant_count, peak_participants FROM cometchat.sessions ORDER BY session_id;
\! rm -f /tmp/cometchat_batch_test.copy
SELECT session_id, max(participant_count) AS logged_count FROM public.session_log GROUP BY 1 ORDER BY 1;
DROP TRIGGER log_session ON cometchat.sessions;
DROP TABLE public.session_log;
DROP FUNCTION public.log_session();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 7. An UPDATE OF trigger on a generated column of calls fires when the
--    row's status changes (the executor learns which generated columns an
--    update computes from what the store records for it).
------------------------------------------------------------------------
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all
CREATE TABLE public.status_log (n serial, status text);
CREATE FUNCTION public.note_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.status_log (status) VALUES (NEW.status::text);
  RETURN NULL;
END $$;
CREATE TRIGGER note_status AFTER UPDATE OF status ON cometchat.calls
  FOR EACH ROW EXECUTE FUNCTION public.note_status();
SELECT pg_temp.feed(pg_temp.initiated('101', 'a_user_b', 'a', 'b', 1700038800, 'S1'));
SELECT pg_temp.feed(pg_temp.started('call_started', 'S1', 1700038805));
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'S1', 1700038805, 1700038900));
SELECT status FROM public.status_log ORDER BY n;
DROP TRIGGER note_status ON cometchat.calls;
DROP TABLE public.status_log;
DROP FUNCTION public.note_status();

------------------------------------------------------------------------
-- 8. One session id used by a meeting's and a call's events, in one
--    statement: the calls row the first call event makes counts the names
--    the statement's earlier meeting joins brought (as one event at a time
--    would; verify() replays the ledger event by event).
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.joined('meeting_participant_joined', 'M1', 'Ann', 1700040001)),
  (pg_temp.joined('call_participant_joined', 'M1', 'Bob', 1700040002));
SELECT session_id, participant_count FROM cometchat.calls ORDER BY session_id;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 9. A relcache invalidation of a lifecycle table in the middle of a
--    statement's batch (here a user's trigger on calls running ANALYZE on
--    participants, which rewrites its pg_class row): the tables are reopened
--    for the next event (Ann's leave), and the intervals the batch holds in
--    memory go on with the reopened ones.  The rows must be those of one
--    event at a time.  (A use of the closed ones would read freed memory,
--    which the next allocation usually refills alike: this cannot show it.)
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
CREATE FUNCTION public.analyze_participants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  ANALYZE cometchat.participants;
  RETURN NEW;
END $$;
CREATE TRIGGER analyze_participants BEFORE INSERT ON cometchat.calls
  FOR EACH ROW EXECUTE FUNCTION public.analyze_participants();
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.joined('call_participant_joined', 'S9', 'Ann', 1700050001)),
  (pg_temp.left('call_participant_left', 'S9', 'Ann', 1700050001, 1700050060)),
  (pg_temp.joined('call_participant_joined', 'S9', 'Bob', 1700050002));
SELECT session_id, name, joined_at, left_at FROM cometchat.participants ORDER BY name;
SELECT session_id, participant_count FROM cometchat.calls;
DROP TRIGGER analyze_participants ON cometchat.calls;
DROP FUNCTION public.analyze_participants();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 10. The intervals a statement keeps in memory stand for all of their
--     names' intervals: a new instance adopts them there, the names it
--     counts include them, and the session's end merges its occupants into
--     them.  Ann's first interval comes from an earlier statement and this
--     one does not change it: it must move to the new instance all the
--     same.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.joined('meeting_participant_joined', 'M10', 'Ann', 1700060010));
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.joined('meeting_participant_joined', 'M10', 'Ann', 1700060100)),
  (pg_temp.joined('meeting_participant_joined', 'M10', 'Bob', 1700060020)),
  (pg_temp.started('meeting_started', 'M10', 1700060000)),
  (pg_temp.ended('meeting_ended', 'M10', 1700060000, 1700060200,
                 jsonb_build_array(pg_temp.occ('Bob', 1700060020, 1700060150),
                                   pg_temp.occ('Cy', 1700060030, 1700060040))));
SELECT name, joined_at, session_started_at, left_at, left_at_from FROM cometchat.participants
ORDER BY name, joined_at;
SELECT started_at, ended_at, participant_count, peak_participants FROM cometchat.sessions;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 11. The batch keeps copies of the rows it read (a session id's calls
--     and sessions rows) while nothing else writes their table.  A trigger
--     on a lifecycle table can (here: every participants row inserted
--     touches its calls row), so with one the rows are read again before
--     each write, never written over a version that is gone.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
CREATE FUNCTION public.touch_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cometchat.calls SET media = media WHERE session_id = NEW.session_id AND app_id = NEW.app_id;
  RETURN NEW;
END $$;
CREATE TRIGGER touch_call BEFORE INSERT ON cometchat.participants
  FOR EACH ROW EXECUTE FUNCTION public.touch_call();
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.started('call_started', 'S11', 1700070000)),
  (pg_temp.joined('call_participant_joined', 'S11', 'Ann', 1700070001)),
  (pg_temp.joined('call_participant_joined', 'S11', 'Bob', 1700070002));
SELECT session_id, started_at, participant_count FROM cometchat.calls;
SELECT session_id, started_at, participant_count FROM cometchat.sessions;
DROP TRIGGER touch_call ON cometchat.participants;
DROP FUNCTION public.touch_call();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 12. A trigger on a lifecycle table may write participants rows too (here:
--     a calls row inserted marks its session id's participants): then the
--     batch keeps no interval from one event to the next.  Ann joined in an
--     earlier statement; this one has her leave, then a call_started that
--     makes the calls row.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
         cometchat.participants, cometchat.recordings;
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.joined('meeting_participant_joined', 'M12', 'Ann', 1700080010));
CREATE FUNCTION public.touch_participants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cometchat.participants SET platform = 'marked'
  WHERE session_id = NEW.session_id AND app_id = NEW.app_id;
  RETURN NEW;
END $$;
CREATE TRIGGER touch_participants BEFORE INSERT ON cometchat.calls
  FOR EACH ROW EXECUTE FUNCTION public.touch_participants();
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.left('meeting_participant_left', 'M12', 'Ann', 1700080010, 1700080100)),
  (pg_temp.started('call_started', 'M12', 1700080000));
SELECT name, joined_at, session_started_at, left_at, platform FROM cometchat.participants;
DROP TRIGGER touch_participants ON cometchat.calls;
DROP FUNCTION public.touch_participants();

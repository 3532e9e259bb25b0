-- Lifecycle, call status: calls.status follows ended > ongoing > outcome >
-- initiated.  A call is ongoing once call_started arrived or anyone joined,
-- ended once call_ended arrived, whatever the order the events come in.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- Feeds the payloads one at a time from an empty ledger and gives the
-- status of the call of that session after each ('-' while it has no row).
CREATE FUNCTION pg_temp.statuses(session text, VARIADIC payloads jsonb[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  p jsonb;
  s text;
  result text[] := '{}';
BEGIN
  CALL pg_temp.reset();
  FOREACH p IN ARRAY payloads LOOP
    IF (cometchat.ingest(p)).status <> 'accepted' THEN
      RAISE EXCEPTION 'not accepted: %', p;
    END IF;
    SELECT c.status INTO s FROM cometchat.calls c WHERE c.app_id = 'app1' AND c.session_id = session;
    result := result || coalesce(s, '-');
  END LOOP;
  RETURN array_to_string(result, ' > ');
END $$;

-- The events of one call, S1, named for the cases below.
\set init    'pg_temp.initiated(''401'', ''a_user_b'', ''a'', ''b'', 1700038800, ''S1'')'
\set busy    'pg_temp.outcome(''busy'', ''402'', ''a_user_b'', ''b'', ''a'', 1700038805)'
\set cancel  'pg_temp.outcome(''cancelled'', ''403'', ''a_user_b'', ''a'', ''b'', 1700038808)'
\set started 'pg_temp.started(''call_started'', ''S1'', 1700038810)'
\set joined  'pg_temp.joined(''call_participant_joined'', ''S1'', ''B'', 1700038811)'
\set left    'pg_temp.left(''call_participant_left'', ''S1'', ''B'', 1700038811, 1700038890)'
\set ended   'pg_temp.ended(''call_ended'', ''S1'', 1700038810, 1700038900, jsonb_build_array(pg_temp.occ(''B'', 1700038811, 1700038890)))'

-- The documented order.
SELECT pg_temp.statuses('S1', :init, :started, :joined, :left, :ended) AS answered;
-- call_ended first, call_initiated last: ended from the start.
SELECT pg_temp.statuses('S1', :ended, :joined, :started, :init) AS ended_first;
SELECT pg_temp.statuses('S1', :ended, :init) AS ended_then_initiated;
-- An outcome, then the call is answered after all: ongoing beats the outcome.
SELECT pg_temp.statuses('S1', :init, :busy, :started) AS outcome_then_started;
SELECT pg_temp.statuses('S1', :started, :busy, :init) AS started_outcome_initiated;
SELECT pg_temp.statuses('S1', :busy, :init, :joined, :ended) AS outcome_first;
-- call_started lost: a join alone makes the call ongoing.
SELECT pg_temp.statuses('S1', :init, :joined, :left) AS join_without_start;
-- Two outcomes: the earliest is the status, whichever arrives first.
SELECT pg_temp.statuses('S1', :init, :cancel, :busy) AS cancel_then_busy;
SELECT pg_temp.statuses('S1', :init, :busy, :cancel) AS busy_then_cancel;
-- Ringing only: initiated; an outcome outside the window leaves it so.
SELECT pg_temp.statuses('S1', :init, pg_temp.outcome('unanswered', '409', 'a_user_b', 'a', 'b', 1700039200)) AS outside_window;

-- The call row once all of it arrived, outcome kept beside the status.
SELECT pg_temp.statuses('S1', :ended, :busy, :left, :joined, :started, :init) AS everything;
SELECT session_id, call_id, status, outcome, outcome_at, initiated_at, started_at, ended_at,
       duration, participant_count
FROM cometchat.calls;
SELECT * FROM cometchat.verify();

-- Every order of initiated, an outcome, a join and call_ended (24 orders):
-- one content, the call ended.
SELECT * FROM pg_temp.every_order(:init, :busy, :joined, :ended);
SELECT session_id, call_id, status, outcome, started_at, ended_at, participant_count FROM cometchat.calls;
-- Every order of initiated, an outcome and call_started: ongoing.
SELECT * FROM pg_temp.every_order(:init, :cancel, :started);
SELECT session_id, call_id, status, outcome, started_at, ended_at, participant_count FROM cometchat.calls;

-- A meeting session (mode meet) is no call.
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'M1', 1700038800),
                    pg_temp.joined('meeting_participant_joined', 'M1', 'C', 1700038800));
SELECT count(*) AS calls FROM cometchat.calls;
SELECT session_id, mode, status FROM cometchat.sessions;

SELECT * FROM cometchat.verify();

-- Lifecycle, edges of the ordering rules in the header of src/lifecycle.c;
-- every case here failed before those rules were made total:
--  - among the call_initiated messages of one call, the row takes its facts
--    from the smallest message id (as a number), then the earliest sentAt,
--    and outcomes linked to a message the row is no longer taken from look
--    for their call again (cases 1 and 2 depended on the arrival order);
--  - an event belongs to the instance with the latest started_at at or
--    before its time, or to the first instance when it is earlier than all
--    of them (case 3 was left with no instance at all).
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

------------------------------------------------------------------------
-- 1. Two call_initiated messages name session S-twice: "311" at 09:00:00
--    and "39" at 09:00:02; call_rejected "312" at 09:00:05.  The row is
--    taken from "39" (39 < 311 as numbers), and the outcome links to "39"
--    even when it arrived while the row was still taken from "311".
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.initiated('311', 'a_user_b', 'a', 'b', 1700038800, 'S-twice'),
  pg_temp.initiated('39', 'a_user_b', 'a', 'b', 1700038802, 'S-twice'),
  pg_temp.outcome('rejected', '312', 'a_user_b', 'b', 'a', 1700038805));
SELECT session_id, call_id, conversation_id, caller, receiver, initiated_at, status, outcome, outcome_at
FROM cometchat.calls;
SELECT outcome_id, conversation_id, outcome, sent_at, linked_call_id FROM cometchat.call_outcomes;
SELECT * FROM cometchat.verify();
-- The order that left the outcome with "311": it links to "311" until "39"
-- arrives, then moves.
CALL pg_temp.reset();
SELECT pg_temp.feed(
  pg_temp.initiated('311', 'a_user_b', 'a', 'b', 1700038800, 'S-twice'),
  pg_temp.outcome('rejected', '312', 'a_user_b', 'b', 'a', 1700038805));
SELECT outcome_id, linked_call_id FROM cometchat.call_outcomes;
SELECT pg_temp.feed(pg_temp.initiated('39', 'a_user_b', 'a', 'b', 1700038802, 'S-twice'));
SELECT call_id, initiated_at, status, outcome FROM cometchat.calls;
SELECT outcome_id, linked_call_id FROM cometchat.call_outcomes;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 2. Message "52" delivered twice, with sentAt 09:00:00 and 09:00:01: two
--    ledger events, one row, initiated at the earlier sentAt in both orders.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.initiated('52', 'a_user_c', 'a', 'c', 1700038800, 'S-again'),
  pg_temp.initiated('52', 'a_user_c', 'a', 'c', 1700038801, 'S-again'));
SELECT count(*) AS ledger_events FROM cometchat.events;
SELECT session_id, call_id, conversation_id, initiated_at, status FROM cometchat.calls;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 3. Kim joins room-early at 08:59:59, a second before meeting_started's
--    created_at (09:00:00), and is in meeting_ended's all_occupants: she
--    belongs to that instance, which counts her, in every order.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.joined('meeting_participant_joined', 'room-early', 'Kim', 1700038799),
  pg_temp.started('meeting_started', 'room-early', 1700038800),
  pg_temp.ended('meeting_ended', 'room-early', 1700038800, 1700039400, jsonb_build_array(
    pg_temp.occ('Kim', 1700038799, 1700039400))));
SELECT session_id, started_at, ended_at, status, participant_count, peak_participants FROM cometchat.sessions;
SELECT session_id, session_started_at, name, joined_at, left_at, left_at_from FROM cometchat.participants;
SELECT * FROM cometchat.verify();

-- Two instances of room-twice, day 1 and day 2 at 09:00: a join at 08:59:59
-- of day 1, earlier than both, belongs to the first; so does a recording.
SELECT * FROM pg_temp.every_order(
  pg_temp.started('meeting_started', 'room-twice', 1700038800),
  pg_temp.started('meeting_started', 'room-twice', 1700125200),
  pg_temp.joined('meeting_participant_joined', 'room-twice', 'Lee', 1700038799));
SELECT session_id, started_at, status, participant_count, recording_count
FROM cometchat.sessions ORDER BY started_at;
SELECT session_id, session_started_at, name, joined_at FROM cometchat.participants;
SELECT * FROM cometchat.verify();
SELECT * FROM pg_temp.every_order(
  pg_temp.started('meeting_started', 'room-twice', 1700038800),
  pg_temp.started('meeting_started', 'room-twice', 1700125200),
  pg_temp.recording('room-twice', 1700038799, '60.000000', 'https://example.test/rec/room-twice'));
SELECT session_id, started_at, status, participant_count, recording_count
FROM cometchat.sessions ORDER BY started_at;
SELECT session_id, session_started_at, started_at FROM cometchat.recordings;
SELECT * FROM cometchat.verify();

-- Stale lifecycles: a call or meeting whose end never arrives.  Each calls
-- and sessions row keeps the time of its last event (last_event_at);
-- call_lifecycle and session_lifecycle call an open row stale once it has
-- been silent for longer than cometchat.stale_after, and give it an
-- estimated end.  Derived when queried: the tables stay a function of the
-- ledger, so a late end clears the flag and verify() stays empty.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- The setting: 12 hours by default, with units, read as an interval (the
-- function loads the library, which defines the setting).
SELECT cometchat.stale_after();
SHOW cometchat.stale_after;
SET cometchat.stale_after = '90min';
SELECT cometchat.stale_after();
RESET cometchat.stale_after;

-- A call (2023-11-15 09:00 UTC) answered, talked, and its call_ended lost.
-- These events are long past: with the default setting it is stale; with a
-- setting longer than its age it is not.
SELECT pg_temp.feed(
  pg_temp.initiated('701', 'a_user_b', 'a', 'b', 1700038800, 'v1.us.app1.s1'),
  pg_temp.started('call_started', 'v1.us.app1.s1', 1700038805),
  pg_temp.joined('call_participant_joined', 'v1.us.app1.s1', 'a', 1700038806),
  pg_temp.joined('call_participant_joined', 'v1.us.app1.s1', 'b', 1700038807),
  pg_temp.left('call_participant_left', 'v1.us.app1.s1', 'b', 1700038807, 1700039400));
SELECT call_id, status, last_event_at, stale, estimated_end FROM cometchat.call_lifecycle;
SELECT session_id, status, last_event_at, stale, estimated_end FROM cometchat.session_lifecycle;
SET cometchat.stale_after = '20000d';
SELECT call_id, status, stale, estimated_end FROM cometchat.call_lifecycle;
SELECT session_id, status, stale, estimated_end FROM cometchat.session_lifecycle;
RESET cometchat.stale_after;

-- The end arrives late: the call and its session have ended, not stale; the
-- estimated end is the real one.
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'v1.us.app1.s1', 1700038805, 1700039500));
SELECT call_id, status, last_event_at, stale, estimated_end FROM cometchat.call_lifecycle;
SELECT session_id, status, last_event_at, stale, estimated_end FROM cometchat.session_lifecycle;

-- Outcome events do not move a call's last_event_at: an unanswered call is
-- not open, so never stale, and keeps its call_initiated's time.
SELECT pg_temp.feed(
  pg_temp.initiated('711', 'a_user_c', 'a', 'c', 1700042400, 'v1.us.app1.s2'),
  pg_temp.outcome('unanswered', '712', 'a_user_c', 'a', 'c', 1700042445));
SELECT call_id, status, last_event_at, outcome_at, stale, estimated_end
FROM cometchat.call_lifecycle WHERE call_id = '711';
-- A call still ringing whose outcome never came is stale too.
SELECT pg_temp.feed(pg_temp.initiated('721', 'a_user_d', 'a', 'd', 1700046000, 'v1.us.app1.s3'));
SELECT call_id, status, last_event_at, stale, estimated_end
FROM cometchat.call_lifecycle WHERE call_id = '721';

-- A meeting whose meeting_ended is lost; then it arrives.
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'room1', 1700050000),
  pg_temp.joined('meeting_participant_joined', 'room1', 'x', 1700050010),
  pg_temp.recording('room1', 1700050020, '60.5', 'https://example.com/r1.mp4'),
  pg_temp.left('meeting_participant_left', 'room1', 'x', 1700050010, 1700053600));
SELECT session_id, mode, status, last_event_at, stale, estimated_end
FROM cometchat.session_lifecycle WHERE session_id = 'room1';
SELECT pg_temp.feed(pg_temp.ended('meeting_ended', 'room1', 1700050000, 1700053700));
SELECT session_id, mode, status, last_event_at, stale, estimated_end
FROM cometchat.session_lifecycle WHERE session_id = 'room1';

-- Maintained as it would be recomputed.
SELECT count(*) AS differences FROM cometchat.verify();

-- A row's last_event_at depends on its set of events, not their order.
-- A stronger source can move an interval's left_at earlier (a leave event
-- after the end event's all_occupants), and a new instance takes rows from
-- an earlier one: last_event_at is then recomputed from the rows.
SELECT * FROM pg_temp.every_order(
  pg_temp.started('meeting_started', 'room2', 1700060000),
  pg_temp.joined('meeting_participant_joined', 'room2', 'y', 1700060010),
  pg_temp.ended('meeting_ended', 'room2', 1700060000, 1700060500,
                jsonb_build_array(pg_temp.occ('y', 1700060010, 1700060900))),
  pg_temp.left('meeting_participant_left', 'room2', 'y', 1700060010, 1700060400));
SELECT started_at, ended_at, last_event_at FROM cometchat.sessions WHERE session_id = 'room2';
SELECT * FROM pg_temp.every_order(
  pg_temp.started('meeting_started', 'room3', 1700070000),
  pg_temp.joined('meeting_participant_joined', 'room3', 'w', 1700070100),
  pg_temp.joined('meeting_participant_joined', 'room3', 'z', 1700070900),
  pg_temp.started('meeting_started', 'room3', 1700070600),
  pg_temp.recording('room3', 1700070950, '5', 'https://example.com/r3.mp4'));
SELECT started_at, last_event_at FROM cometchat.sessions WHERE session_id = 'room3'
ORDER BY started_at;
-- A call: two call_initiated messages name its session; its outcome event
-- (linked to it) does not count.
SELECT * FROM pg_temp.every_order(
  pg_temp.initiated('731', 'a_user_e', 'a', 'e', 1700069000, 'v1.us.app1.s4'),
  pg_temp.initiated('7300', 'a_user_e', 'a', 'e', 1700069010, 'v1.us.app1.s4'),
  pg_temp.started('call_started', 'v1.us.app1.s4', 1700069020),
  pg_temp.joined('call_participant_joined', 'v1.us.app1.s4', 'e', 1700069025),
  pg_temp.outcome('busy', '732', 'a_user_e', 'e', 'a', 1700069030));
SELECT call_id, status, last_event_at FROM cometchat.calls WHERE session_id = 'v1.us.app1.s4';
CALL pg_temp.reset();

-- A session that has not loaded the library yet: its own SET is a
-- placeholder until cometchat.stale_after() loads the library, which checks it.
\c
SET cometchat.stale_after = '45min';
SELECT cometchat.stale_after();

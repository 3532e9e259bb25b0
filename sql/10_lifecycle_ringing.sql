-- Lifecycle, ringing calls: a ringing call is (app_id, the session id that
-- call_initiated announces in data.call.data.entities.on.entity.sessionid);
-- call_started, call_participant_* and call_ended attach to it by
-- data.sessionId, in any arrival order.  A call_initiated without entities
-- is keyed by its message id and stays unlinked.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

------------------------------------------------------------------------
-- 1. An answered call, in the documented order: call_initiated announces
--    session S1; call_started, two joins, two leaves, call_ended (whose
--    all_occupants repeat the intervals) and a recording attach by
--    data.sessionId.
------------------------------------------------------------------------
SELECT pg_temp.feed(
  pg_temp.initiated('101', 'alice_user_bob', 'alice', 'bob', 1700038800, 'S1'),
  pg_temp.started('call_started', 'S1', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'Alice', 1700038810, 'true',
                 '{"is_video_muted": "false", "start_recording_on_call_start": "false", "call_version": "2.3.0", "is_audio_muted": "false", "sdk": "react", "mode": "DEFAULT", "platform": "web", "is_audio_only": "true"}'),
  pg_temp.joined('call_participant_joined', 'S1', 'Bob', 1700038812, 'true'),
  pg_temp.left('call_participant_left', 'S1', 'Bob', 1700038812, 1700038870, 'true'),
  pg_temp.left('call_participant_left', 'S1', 'Alice', 1700038810, 1700038875, 'true'),
  pg_temp.ended('call_ended', 'S1', 1700038810, 1700038875, jsonb_build_array(
    pg_temp.occ('Alice', 1700038810, 1700038875, 'true'),
    pg_temp.occ('Bob', 1700038812, 1700038870, 'true'))),
  pg_temp.recording('S1', 1700038811, '63.250000', 'https://example.test/rec/S1-1'));

-- One call: caller, receiver and media from call_initiated, times from the
-- session, ended with a 65 s duration, two participants.
SELECT session_id, call_id, conversation_id, caller, receiver, receiver_type, media, status,
       initiated_at, started_at, ended_at, duration, outcome, participant_count
FROM cometchat.calls;
-- One ringing session instance (mode call), ended, peak 2, one recording.
SELECT session_id, started_at, mode, ended_at, status, duration, participant_count,
       peak_participants, recording_count
FROM cometchat.sessions;
SELECT name, session_started_at, joined_at, left_at, left_at_from, audio_only, audio_only_from,
       platform, sdk, sdk_version
FROM cometchat.participants ORDER BY joined_at, name;
SELECT session_id, session_started_at, started_at, duration, recording_url, recording_date
FROM cometchat.recordings;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 2. The same kind of call in every arrival order (5 events, 120 orders):
--    call_initiated, call_started, a join, the caller's leave and
--    call_ended.  Every order leaves the same content, equal to a rebuild.
------------------------------------------------------------------------
SELECT * FROM pg_temp.every_order(
  pg_temp.initiated('111', 'carol_user_dave', 'carol', 'dave', 1700039400, 'S2'),
  pg_temp.started('call_started', 'S2', 1700039405),
  pg_temp.joined('call_participant_joined', 'S2', 'Dave', 1700039406),
  pg_temp.left('call_participant_left', 'S2', 'Carol', 1700039405, 1700039500),
  pg_temp.ended('call_ended', 'S2', 1700039405, 1700039510, jsonb_build_array(
    pg_temp.occ('Carol', 1700039405, 1700039505),
    pg_temp.occ('Dave', 1700039406, 1700039510))));
-- Carol's leave event (09:11:40) wins over all_occupants (09:11:45);
-- Dave's lost leave comes from all_occupants.
SELECT session_id, call_id, caller, receiver, status, initiated_at, started_at, ended_at,
       duration, participant_count
FROM cometchat.calls;
SELECT session_id, started_at, ended_at, participant_count, peak_participants FROM cometchat.sessions;
SELECT name, session_started_at, joined_at, left_at, left_at_from FROM cometchat.participants ORDER BY name;

------------------------------------------------------------------------
-- 3. call_initiated without data.call.data.entities (S7's copy): the call
--    is keyed by its message id, session_id NULL, and stays unlinked.  The
--    session events of the call it rang make their own row, keyed by the
--    session id, with no message id.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.initiated('121', 'erin_user_frank', 'erin', 'frank', 1700040000, NULL, 'video'));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, participant_count
FROM cometchat.calls;
SELECT pg_temp.feed(
  pg_temp.started('call_started', 'S3', 1700040010),
  pg_temp.joined('call_participant_joined', 'S3', 'Erin', 1700040010),
  pg_temp.ended('call_ended', 'S3', 1700040010, 1700040100, jsonb_build_array(
    pg_temp.occ('Erin', 1700040010, 1700040100))));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, ended_at, participant_count
FROM cometchat.calls ORDER BY session_id NULLS FIRST;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. Session events before call_initiated: the call row exists from the
--    first of them, keyed by the session id, without caller or message id;
--    call_initiated fills them in when it arrives and keeps what the
--    session events set.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.joined('call_participant_joined', 'S4', 'Gina', 1700040610),
  pg_temp.started('call_started', 'S4', 1700040610),
  pg_temp.joined('call_participant_joined', 'S4', 'Hank', 1700040612));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, participant_count
FROM cometchat.calls;
SELECT pg_temp.feed(
  pg_temp.initiated('131', 'gina_user_hank', 'gina', 'hank', 1700040600, 'S4'));
SELECT session_id, call_id, conversation_id, caller, receiver, media, status, initiated_at,
       started_at, participant_count
FROM cometchat.calls;
SELECT name, session_started_at, joined_at FROM cometchat.participants ORDER BY name;

SELECT * FROM cometchat.verify();

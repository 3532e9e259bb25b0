-- Lifecycle, participants: one row per (app_id, session_id, name,
-- joined_at).  left_at comes from the leave event, else from the end
-- event's all_occupants, which also supply intervals whose join was lost;
-- audio_only and platform come from the join event's initial_config.
-- participant_count counts distinct names per instance; peak_participants
-- is the most present at once over intervals [joined_at, left_at), computed
-- once the session has ended and NULL while it is active.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

CREATE FUNCTION pg_temp.participants() RETURNS TABLE (session_id text, name text, joined_at timestamptz,
    left_at timestamptz, left_at_from cometchat.fact_source, audio_only boolean,
    audio_only_from cometchat.fact_source, platform text, sdk text, sdk_version text)
LANGUAGE sql AS $$
  SELECT session_id, name, joined_at, left_at, left_at_from, audio_only, audio_only_from, platform, sdk, sdk_version
  FROM cometchat.participants ORDER BY session_id, joined_at, name $$;
CREATE FUNCTION pg_temp.counts() RETURNS TABLE (session_id text, started_at timestamptz,
    status cometchat.session_status, participant_count int, peak_participants int)
LANGUAGE sql AS $$
  SELECT session_id, started_at, status, participant_count, peak_participants
  FROM cometchat.sessions ORDER BY session_id, started_at $$;

------------------------------------------------------------------------
-- 1. Two people joining in the same second are two rows (the documented
--    call_ended example has both occupants at the same joined_at).
------------------------------------------------------------------------
SELECT pg_temp.feed(
  pg_temp.started('call_started', 'S1', 1700038800),
  pg_temp.joined('call_participant_joined', 'S1', 'George Alan', 1700038801, 'true'),
  pg_temp.joined('call_participant_joined', 'S1', 'Andrew Joseph', 1700038801, 'true'),
  pg_temp.left('call_participant_left', 'S1', 'Andrew Joseph', 1700038801, 1700038851, 'true'),
  pg_temp.left('call_participant_left', 'S1', 'George Alan', 1700038801, 1700038853, 'true'),
  pg_temp.ended('call_ended', 'S1', 1700038800, 1700038853, jsonb_build_array(
    pg_temp.occ('George Alan', 1700038801, 1700038853, 'true'),
    pg_temp.occ('Andrew Joseph', 1700038801, 1700038851, 'true'))));
SELECT * FROM pg_temp.participants();
SELECT * FROM pg_temp.counts();
SELECT participant_count FROM cometchat.calls;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 2. Lost leave event: left_at from all_occupants (end_event).  Lost join
--    event: the interval comes from all_occupants alone.  A leave event
--    whose join was lost makes the row by itself.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'M2', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'M2', 'Kim', 1700038800),
  pg_temp.left('meeting_participant_left', 'M2', 'Lee', 1700038830, 1700039000));
SELECT * FROM pg_temp.participants();
SELECT pg_temp.feed(
  pg_temp.ended('meeting_ended', 'M2', 1700038800, 1700039400, jsonb_build_array(
    pg_temp.occ('Kim', 1700038800, 1700039400),
    pg_temp.occ('Lee', 1700038830, 1700039000),
    pg_temp.occ('Max', 1700038900, 1700039100, 'true'))));
SELECT * FROM pg_temp.participants();
SELECT * FROM pg_temp.counts();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 3. The leave event and all_occupants disagree about left_at (09:05:00 vs
--    09:06:00): the leave event wins, whichever arrives first.
------------------------------------------------------------------------
\set leave 'pg_temp.left(''meeting_participant_left'', ''M3'', ''Ned'', 1700038800, 1700039100)'
\set endm3 'pg_temp.ended(''meeting_ended'', ''M3'', 1700038800, 1700039400, jsonb_build_array(pg_temp.occ(''Ned'', 1700038800, 1700039160), pg_temp.occ(''Oli'', 1700038800, 1700039400)))'
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(:leave, :endm3);
SELECT * FROM pg_temp.participants();
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(:endm3, :leave);
SELECT * FROM pg_temp.participants();
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 4. Counts and peak.  Pia joins twice (two rows, one name); peak counts
--    intervals present at once.  While the session is active the peak is
--    NULL.  Pia's first leave event is late; all_occupants say:
--      Pia  09:00-09:10, 09:20-09:30
--      Quin 09:05-09:20
--      Rex  09:08-09:25
--    At 09:08 Pia, Quin and Rex are present: peak 3.
------------------------------------------------------------------------
TRUNCATE cometchat.events, cometchat.sessions, cometchat.calls, cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT pg_temp.feed(
  pg_temp.started('meeting_started', 'M4', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'M4', 'Pia', 1700038800),
  pg_temp.joined('meeting_participant_joined', 'M4', 'Quin', 1700039100),
  pg_temp.joined('meeting_participant_joined', 'M4', 'Rex', 1700039280),
  pg_temp.left('meeting_participant_left', 'M4', 'Quin', 1700039100, 1700040000),
  pg_temp.joined('meeting_participant_joined', 'M4', 'Pia', 1700040000));
SELECT * FROM pg_temp.counts();
SELECT pg_temp.feed(
  pg_temp.ended('meeting_ended', 'M4', 1700038800, 1700040600, jsonb_build_array(
    pg_temp.occ('Pia', 1700038800, 1700039400), pg_temp.occ('Quin', 1700039100, 1700040000),
    pg_temp.occ('Rex', 1700039280, 1700040300), pg_temp.occ('Pia', 1700040000, 1700040600))));
SELECT * FROM pg_temp.counts();
SELECT name, joined_at, left_at, left_at_from FROM cometchat.participants ORDER BY joined_at, name;
SELECT * FROM cometchat.verify();

-- Pia's late leave event says she left at 09:07, before Rex came: it wins
-- over all_occupants and the ended session's peak is recomputed.  At 09:20
-- Quin leaves as Pia rejoins, and [joined_at, left_at) intervals do not
-- overlap: at most two are present at once.
SELECT pg_temp.feed(pg_temp.left('meeting_participant_left', 'M4', 'Pia', 1700038800, 1700039220));
SELECT * FROM pg_temp.counts();
SELECT name, joined_at, left_at, left_at_from FROM cometchat.participants ORDER BY joined_at, name;
SELECT * FROM cometchat.verify();

-- The same session in every order of four of its events (24 orders).
SELECT * FROM pg_temp.every_order(
  pg_temp.started('meeting_started', 'M4', 1700038800),
  pg_temp.left('meeting_participant_left', 'M4', 'Pia', 1700038800, 1700039400),
  pg_temp.joined('meeting_participant_joined', 'M4', 'Pia', 1700040000),
  pg_temp.ended('meeting_ended', 'M4', 1700038800, 1700040600, jsonb_build_array(
    pg_temp.occ('Pia', 1700038800, 1700039500), pg_temp.occ('Quin', 1700039100, 1700040000),
    pg_temp.occ('Rex', 1700039280, 1700040300), pg_temp.occ('Pia', 1700040000, 1700040600))));
SELECT * FROM pg_temp.counts();
SELECT name, joined_at, left_at, left_at_from FROM cometchat.participants ORDER BY joined_at, name;

------------------------------------------------------------------------
-- 5. audio_only, platform, sdk and sdk_version from the join event's
--    initial_config (is_audio_only, platform, sdk, call_version); without
--    initial_config, audio_only from occupant.audio_call.  The join event
--    wins over all_occupants, whichever arrives first; all_occupants alone
--    give audio_only and no platform.
------------------------------------------------------------------------
\set cfg_audio '{"is_video_muted": "false", "start_recording_on_call_start": "false", "call_version": "2.3.0", "is_audio_muted": "false", "sdk": "react", "mode": "DEFAULT", "platform": "web", "is_audio_only": "true"}'
\set cfg_video '{"is_video_muted": "true", "call_version": "4.0.1", "sdk": "android", "platform": "android", "is_audio_only": false}'
SELECT * FROM pg_temp.every_order(
  pg_temp.joined('meeting_participant_joined', 'M5', 'Sam', 1700038800, 'false', :'cfg_audio'),
  pg_temp.joined('meeting_participant_joined', 'M5', 'Tia', 1700038810, 'true', :'cfg_video'),
  pg_temp.joined('meeting_participant_joined', 'M5', 'Uma', 1700038820, 'true'),
  pg_temp.ended('meeting_ended', 'M5', 1700038800, 1700039400, jsonb_build_array(
    pg_temp.occ('Sam', 1700038800, 1700039400, 'false'), pg_temp.occ('Tia', 1700038810, 1700039400, 'false'),
    pg_temp.occ('Uma', 1700038820, 1700039400, 'false'), pg_temp.occ('Vic', 1700038830, 1700039400, 'true'))));
SELECT * FROM pg_temp.participants();
SELECT * FROM pg_temp.counts();

SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- A statement of several events after another one: a leave of a name the
-- earlier statement stored merges into its row (no second row, no
-- duplicate-key error), a name that comes back gets a second interval, a
-- new name counts once, and the counts match the rows; the same for a
-- session id of 40 names.
------------------------------------------------------------------------
CALL pg_temp.reset();
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.started('meeting_started', 'M13', 1700090000)),
  (pg_temp.joined('meeting_participant_joined', 'M13', 'Ann', 1700090010)),
  (pg_temp.joined('meeting_participant_joined', 'M13', 'Bob', 1700090020)),
  (pg_temp.joined('meeting_participant_joined', 'M13', 'Cid', 1700090030));
INSERT INTO cometchat.events (payload) VALUES
  (pg_temp.left('meeting_participant_left', 'M13', 'Cid', 1700090030, 1700090100)),
  (pg_temp.joined('meeting_participant_joined', 'M13', 'Dee', 1700090110)),
  (pg_temp.left('meeting_participant_left', 'M13', 'Ann', 1700090010, 1700090120)),
  (pg_temp.joined('meeting_participant_joined', 'M13', 'Ann', 1700090130));
SELECT name, joined_at, left_at FROM cometchat.participants ORDER BY name, joined_at;
SELECT participant_count FROM cometchat.sessions WHERE session_id = 'M13';
-- 40 names, then a statement with a leave of each and one new name.
INSERT INTO cometchat.events (payload)
SELECT pg_temp.joined('meeting_participant_joined', 'M13b', 'p' || i, 1700091000 + i)
FROM generate_series(1, 40) i;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.left('meeting_participant_left', 'M13b', 'p' || i, 1700091000 + i, 1700092000 + i)
FROM generate_series(1, 40) i
UNION ALL SELECT pg_temp.joined('meeting_participant_joined', 'M13b', 'q', 1700092100);
SELECT count(*) AS rows, count(left_at) AS closed, count(DISTINCT name) AS names
FROM cometchat.participants WHERE session_id = 'M13b';
SELECT * FROM cometchat.verify();

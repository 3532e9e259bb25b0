-- cometchat_webhooks 1.4 -> 1.5
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5'" to load this file. \quit

------------------------------------------------------------------------
-- Stale lifecycles (issue 15, section 4): last_event_at on sessions and
-- calls, the setting cometchat.stale_after, and a stale flag with an
-- estimated end in call_lifecycle and the new session_lifecycle.
------------------------------------------------------------------------

ALTER TABLE cometchat.sessions ADD COLUMN last_event_at timestamptz;
ALTER TABLE cometchat.calls ADD COLUMN last_event_at timestamptz;
COMMENT ON COLUMN cometchat.sessions.last_event_at IS 'the latest time the instance knows of: GREATEST of started_at, ended_at, its participants'' joined_at and left_at and its recordings'' started_at; cometchat.session_lifecycle calls the instance stale when it is active and this is older than cometchat.stale_after';
COMMENT ON COLUMN cometchat.calls.last_event_at IS 'the latest time (occurred_at) of its events: its call_initiated messages and its session''s call_* events; outcome events (busy, cancelled, rejected, unanswered) do not move it; cometchat.call_lifecycle calls the call stale when it is initiated or ongoing and this is older than cometchat.stale_after';

-- Filled as the lifecycle code keeps them.  An instance: the latest time of
-- its own row and of the rows that belong to it.
UPDATE cometchat.sessions s
   SET last_event_at = GREATEST(s.started_at, s.ended_at,
       (SELECT max(GREATEST(p.joined_at, p.left_at)) FROM cometchat.participants p
         WHERE p.app_id = s.app_id AND p.session_id = s.session_id
           AND p.session_started_at = s.started_at),
       (SELECT max(r.started_at) FROM cometchat.recordings r
         WHERE r.app_id = s.app_id AND r.session_id = s.session_id
           AND r.session_started_at = s.started_at));
-- A call: the latest occurred_at of its events in the ledger, its
-- call_initiated messages and its session's call_* events (outcome events
-- carry no session id and are left out).
UPDATE cometchat.calls c
   SET last_event_at = (SELECT max(e.occurred_at) FROM cometchat.events e
                         WHERE e.session_id = c.session_id AND e.app_id = c.app_id
                           AND e.kind IN ('call_initiated', 'call_started',
                                          'call_participant_joined',
                                          'call_participant_left', 'call_ended'))
 WHERE c.session_id IS NOT NULL;
UPDATE cometchat.calls c
   SET last_event_at = (SELECT max(e.occurred_at) FROM cometchat.events e
                         WHERE e.call_id = c.call_id AND e.app_id = c.app_id
                           AND e.kind = 'call_initiated' AND e.session_id IS NULL)
 WHERE c.session_id IS NULL;

-- The setting as an interval.  A C function: calling it loads the library,
-- which defines the setting, so a session that never loaded it reads the
-- default (or its own SET, checked then), never a placeholder string.
CREATE FUNCTION cometchat.stale_after() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_stale_after';
COMMENT ON FUNCTION cometchat.stale_after() IS 'cometchat.stale_after as an interval: how long an open call or session instance may go without an event before the lifecycle views call it stale';

-- call_lifecycle gains last_event_at, stale and estimated_end, at its end.
CREATE OR REPLACE VIEW cometchat.call_lifecycle WITH (security_invoker = true) AS
SELECT c.app_id, c.session_id, c.call_id, c.conversation_id, c.caller, c.receiver,
       c.receiver_type, c.media, c.status, c.initiated_at, c.started_at, c.ended_at,
       c.outcome, c.outcome_at, c.duration, c.participant_count,
       s.peak_participants,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'name', p.name, 'joined_at', p.joined_at, 'left_at', p.left_at,
                        'audio_only', p.audio_only, 'platform', p.platform)
                    ORDER BY p.joined_at, p.name)
                 FROM cometchat.participants p
                 WHERE p.app_id = c.app_id AND p.session_id = c.session_id), '[]') AS participants,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'started_at', r.started_at, 'duration', r.duration,
                        'recording_url', r.recording_url)
                    ORDER BY r.started_at)
                 FROM cometchat.recordings r
                 WHERE r.app_id = c.app_id AND r.session_id = c.session_id), '[]') AS recordings,
       c.status IN ('ongoing', 'ended') AS answered,
       c.status IN ('busy', 'cancelled', 'unanswered') AS missed,
       c.last_event_at, x.stale,
       CASE WHEN c.ended_at IS NOT NULL THEN c.ended_at
            WHEN x.stale THEN c.last_event_at END AS estimated_end
FROM cometchat.calls c
LEFT JOIN LATERAL (SELECT s.peak_participants FROM cometchat.sessions s
                   WHERE s.app_id = c.app_id AND s.session_id = c.session_id
                   ORDER BY s.started_at LIMIT 1) s ON true
-- 1.5: open (initiated or ongoing) and silent for longer than the setting,
-- at the time of the statement: derived here, so the tables stay a function
-- of the ledger.
CROSS JOIN LATERAL (SELECT coalesce(c.status IN ('initiated', 'ongoing')
                                    AND c.last_event_at < statement_timestamp() - cometchat.stale_after(),
                                    false) AS stale) x;
COMMENT ON COLUMN cometchat.call_lifecycle.last_event_at IS 'as cometchat.calls.last_event_at';
COMMENT ON COLUMN cometchat.call_lifecycle.stale IS 'initiated or ongoing, and no event for longer than cometchat.stale_after (as of the statement''s start): its end (or outcome) was most likely lost';
COMMENT ON COLUMN cometchat.call_lifecycle.estimated_end IS 'ended_at when it ended; last_event_at when stale; NULL otherwise';

CREATE VIEW cometchat.session_lifecycle WITH (security_invoker = true) AS
SELECT s.app_id, s.session_id, s.started_at, s.mode, s.status, s.ended_at, s.duration,
       s.participant_count, s.peak_participants, s.recording_count, s.last_event_at,
       x.stale,
       CASE WHEN s.ended_at IS NOT NULL THEN s.ended_at
            WHEN x.stale THEN s.last_event_at END AS estimated_end
FROM cometchat.sessions s
CROSS JOIN LATERAL (SELECT coalesce(s.ended_at IS NULL
                                    AND s.last_event_at < statement_timestamp() - cometchat.stale_after(),
                                    false) AS stale) x;
COMMENT ON VIEW cometchat.session_lifecycle IS 'One row per session instance (cometchat.sessions), with whether it is stale (active, and silent for longer than cometchat.stale_after) and its estimated end; reads the tables with the querying role''s rights';
COMMENT ON COLUMN cometchat.session_lifecycle.app_id IS 'as cometchat.sessions.app_id';
COMMENT ON COLUMN cometchat.session_lifecycle.session_id IS 'as cometchat.sessions.session_id';
COMMENT ON COLUMN cometchat.session_lifecycle.started_at IS 'as cometchat.sessions.started_at';
COMMENT ON COLUMN cometchat.session_lifecycle.mode IS 'as cometchat.sessions.mode';
COMMENT ON COLUMN cometchat.session_lifecycle.status IS 'as cometchat.sessions.status';
COMMENT ON COLUMN cometchat.session_lifecycle.ended_at IS 'as cometchat.sessions.ended_at';
COMMENT ON COLUMN cometchat.session_lifecycle.duration IS 'as cometchat.sessions.duration';
COMMENT ON COLUMN cometchat.session_lifecycle.participant_count IS 'as cometchat.sessions.participant_count';
COMMENT ON COLUMN cometchat.session_lifecycle.peak_participants IS 'as cometchat.sessions.peak_participants';
COMMENT ON COLUMN cometchat.session_lifecycle.recording_count IS 'as cometchat.sessions.recording_count';
COMMENT ON COLUMN cometchat.session_lifecycle.last_event_at IS 'as cometchat.sessions.last_event_at';
COMMENT ON COLUMN cometchat.session_lifecycle.stale IS 'active, and no event for longer than cometchat.stale_after (as of the statement''s start): its end event was most likely lost';
COMMENT ON COLUMN cometchat.session_lifecycle.estimated_end IS 'ended_at when it ended; last_event_at when stale; NULL otherwise';

-- A reader reads session_lifecycle too.
CREATE OR REPLACE FUNCTION cometchat._privileges(uses text[])
    RETURNS TABLE (privilege text, object text)
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.privilege, p.object
    FROM (VALUES
        (1, 'receiver', 'USAGE', 'SCHEMA cometchat'),
        (2, 'receiver', 'INSERT (payload)', 'TABLE cometchat.events'),
        (3, 'receiver', 'EXECUTE', 'FUNCTION cometchat.ingest(jsonb)'),
        (4, 'receiver', 'EXECUTE', 'FUNCTION cometchat.ingest_raw(text)'),
        (5, 'receiver', 'EXECUTE', 'FUNCTION cometchat.ingest_bodies(regclass, name)'),
        (6, 'reader', 'USAGE', 'SCHEMA cometchat'),
        (7, 'reader', 'SELECT', 'TABLE cometchat.calls'),
        (8, 'reader', 'SELECT', 'TABLE cometchat.call_outcomes'),
        (9, 'reader', 'SELECT', 'TABLE cometchat.sessions'),
        (10, 'reader', 'SELECT', 'TABLE cometchat.participants'),
        (11, 'reader', 'SELECT', 'TABLE cometchat.recordings'),
        (12, 'reader', 'SELECT', 'TABLE cometchat.call_lifecycle'),
        (13, 'reader', 'SELECT', 'TABLE cometchat.event_log'),
        (14, 'payloads', 'SELECT', 'TABLE cometchat.events'),
        (15, 'payloads', 'SELECT', 'TABLE cometchat.rejected'),
        (16, 'reader', 'SELECT', 'TABLE cometchat.session_lifecycle')
    ) AS p(n, use, privilege, object)
    WHERE p.use = ANY ($1)
    GROUP BY p.privilege, p.object
    ORDER BY min(p.n)
$$;

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

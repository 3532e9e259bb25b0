-- cometchat_webhooks 1.3 -> 1.4: missed and answered calls named, and a
-- comment on every object a user reads.
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.4'" to load this file. \quit

------------------------------------------------------------------------
-- call_lifecycle gains answered and missed, at its end (CREATE OR REPLACE
-- VIEW can only add columns there).
------------------------------------------------------------------------
-- answered and missed (1.4) name what a product team asks first; rejected
-- (declined by the callee) and initiated (still ringing, or its outcome
-- never arrived) are neither.
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
       c.status IN ('busy', 'cancelled', 'unanswered') AS missed
FROM cometchat.calls c
LEFT JOIN LATERAL (SELECT s.peak_participants FROM cometchat.sessions s
                   WHERE s.app_id = c.app_id AND s.session_id = c.session_id
                   ORDER BY s.started_at LIMIT 1) s ON true;
COMMENT ON VIEW cometchat.call_lifecycle IS 'One row per ringing call (cometchat.calls) with its participants, recordings and whether it was answered or missed; reads the tables with the querying role''s rights';
COMMENT ON COLUMN cometchat.call_lifecycle.app_id IS 'as cometchat.calls.app_id';
COMMENT ON COLUMN cometchat.call_lifecycle.session_id IS 'as cometchat.calls.session_id';
COMMENT ON COLUMN cometchat.call_lifecycle.call_id IS 'as cometchat.calls.call_id';
COMMENT ON COLUMN cometchat.call_lifecycle.conversation_id IS 'as cometchat.calls.conversation_id';
COMMENT ON COLUMN cometchat.call_lifecycle.caller IS 'as cometchat.calls.caller';
COMMENT ON COLUMN cometchat.call_lifecycle.receiver IS 'as cometchat.calls.receiver';
COMMENT ON COLUMN cometchat.call_lifecycle.receiver_type IS 'as cometchat.calls.receiver_type';
COMMENT ON COLUMN cometchat.call_lifecycle.media IS 'as cometchat.calls.media';
COMMENT ON COLUMN cometchat.call_lifecycle.status IS 'as cometchat.calls.status';
COMMENT ON COLUMN cometchat.call_lifecycle.initiated_at IS 'as cometchat.calls.initiated_at';
COMMENT ON COLUMN cometchat.call_lifecycle.started_at IS 'as cometchat.calls.started_at';
COMMENT ON COLUMN cometchat.call_lifecycle.ended_at IS 'as cometchat.calls.ended_at';
COMMENT ON COLUMN cometchat.call_lifecycle.outcome IS 'as cometchat.calls.outcome';
COMMENT ON COLUMN cometchat.call_lifecycle.outcome_at IS 'as cometchat.calls.outcome_at';
COMMENT ON COLUMN cometchat.call_lifecycle.duration IS 'as cometchat.calls.duration';
COMMENT ON COLUMN cometchat.call_lifecycle.participant_count IS 'as cometchat.calls.participant_count';
COMMENT ON COLUMN cometchat.call_lifecycle.peak_participants IS 'peak_participants of the first instance of its session';
COMMENT ON COLUMN cometchat.call_lifecycle.participants IS 'its session''s join intervals, a JSON array of {name, joined_at, left_at, audio_only, platform}';
COMMENT ON COLUMN cometchat.call_lifecycle.recordings IS 'its session''s recordings, a JSON array of {started_at, duration, recording_url}';
COMMENT ON COLUMN cometchat.call_lifecycle.answered IS 'status ongoing or ended: someone picked up';
COMMENT ON COLUMN cometchat.call_lifecycle.missed IS 'status busy, cancelled or unanswered: nobody picked up and the callee did not decline (rejected is neither answered nor missed)';

------------------------------------------------------------------------
-- Comments: 1.3 left most objects without one, and some are reworded.
------------------------------------------------------------------------
COMMENT ON SCHEMA cometchat IS 'CometChat calling webhooks: ledger, quarantine and call lifecycle tables (extension cometchat_webhooks)';
COMMENT ON TYPE cometchat.event_kind IS 'kind of a webhook event: one of the 14 documented triggers, or unknown for a well-formed payload whose trigger is none of them';
COMMENT ON TYPE cometchat.flow IS 'the lifecycle an event belongs to: ringing (call_* events, a call that rings) or session (meeting_* events, a call session joined without ringing)';
COMMENT ON TYPE cometchat.ingest_status IS 'what became of a body: accepted (stored in the ledger), duplicate (already stored), rejected (quarantined in cometchat.rejected)';
COMMENT ON TYPE cometchat.call_status IS 'status of a ringing call: initiated (ringing, no outcome known), ongoing (answered), ended (answered, then ended), or its outcome: busy, cancelled (by the caller), rejected (declined by the callee), unanswered';
COMMENT ON TYPE cometchat.session_mode IS 'call (the session of a ringing call, call_* events) or meet (a call session, meeting_* events)';
COMMENT ON TYPE cometchat.session_status IS 'active (no end event yet) or ended';
COMMENT ON TYPE cometchat.fact_source IS 'where a participant fact came from, weakest first: end_event (its all_occupants), leave_event, join_event; the stronger source wins whatever the arrival order';
COMMENT ON TYPE cometchat.classification IS 'what cometchat.classify() finds in a payload';
COMMENT ON COLUMN cometchat.classification.valid IS 'true when the payload has no problem (cometchat.validate() is empty)';
COMMENT ON COLUMN cometchat.classification.kind IS 'the event kind, when the trigger could be read';
COMMENT ON COLUMN cometchat.classification.flow IS 'as cometchat.events.flow';
COMMENT ON COLUMN cometchat.classification.app_id IS 'as cometchat.events.app_id';
COMMENT ON COLUMN cometchat.classification.region IS 'as cometchat.events.region';
COMMENT ON COLUMN cometchat.classification.webhook IS 'as cometchat.events.webhook';
COMMENT ON COLUMN cometchat.classification.trigger IS 'as cometchat.events.trigger';
COMMENT ON COLUMN cometchat.classification.session_id IS 'as cometchat.events.session_id';
COMMENT ON COLUMN cometchat.classification.call_id IS 'as cometchat.events.call_id';
COMMENT ON COLUMN cometchat.classification.occurred_at IS 'as cometchat.events.occurred_at';
COMMENT ON COLUMN cometchat.classification.idempotency_key IS 'the key text, as cometchat.idempotency_key(); NULL for an invalid payload';
COMMENT ON TABLE cometchat.events IS 'Ledger of accepted CometChat calling webhooks, one row per distinct event (see cometchat.idempotency_key); insert the body into payload, the trigger fills the other columns; append-only';
COMMENT ON COLUMN cometchat.events.id IS 'event id, in the order events were stored';
COMMENT ON COLUMN cometchat.events.received_at IS 'when the event was stored (the start of its transaction)';
COMMENT ON COLUMN cometchat.events.payload IS 'the webhook body as received';
COMMENT ON COLUMN cometchat.events.app_id IS 'the CometChat app (appId)';
COMMENT ON COLUMN cometchat.events.region IS 'the app''s region (region): us, eu, in, ...';
COMMENT ON COLUMN cometchat.events.webhook IS 'the webhook that delivered the event (webhook)';
COMMENT ON COLUMN cometchat.events.trigger IS 'the trigger as sent (trigger)';
COMMENT ON COLUMN cometchat.events.kind IS 'the trigger as a cometchat.event_kind: unknown for a trigger that is not documented';
COMMENT ON COLUMN cometchat.events.flow IS 'ringing (call_* events) or session (meeting_* events); NULL for recording_generated and unknown kinds';
COMMENT ON COLUMN cometchat.events.session_id IS 'the session the event belongs to (data.sessionId; for call_initiated the session it announces); NULL for busy, cancelled, rejected and unanswered';
COMMENT ON COLUMN cometchat.events.call_id IS 'the message id of call_initiated, busy, cancelled, rejected and unanswered (data.call.id)';
COMMENT ON COLUMN cometchat.events.occurred_at IS 'when the event happened, from its own time field (sentAt, created_at, joined_at, left_at, destroyed_at, startTime); NULL for unknown kinds';
COMMENT ON COLUMN cometchat.events.idempotency_key IS 'SHA-256 of the key text cometchat.idempotency_key(payload), unique with occurred_at; look an event up with cometchat.find_event()';
COMMENT ON TABLE cometchat.rejected IS 'Quarantine: payloads that failed validation, with every problem found';
COMMENT ON COLUMN cometchat.rejected.id IS 'quarantine id, in the order bodies were quarantined';
COMMENT ON COLUMN cometchat.rejected.received_at IS 'when the body was quarantined (the start of its transaction)';
COMMENT ON COLUMN cometchat.rejected.payload IS 'the payload, when the body was JSON';
COMMENT ON COLUMN cometchat.rejected.raw_body IS 'the body as received, when it was not JSON';
COMMENT ON COLUMN cometchat.rejected.problems IS 'every problem found, each naming its JSON path (the first 50, then how many more)';
COMMENT ON TABLE cometchat.sessions IS 'One row per media session instance, ringing calls (mode call) and call sessions (mode meet)';
COMMENT ON COLUMN cometchat.sessions.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.sessions.session_id IS 'the session id; a meeting''s is a room name, reused by later instances';
COMMENT ON COLUMN cometchat.sessions.started_at IS 'when the instance started: created_at of its start or end event';
COMMENT ON COLUMN cometchat.sessions.mode IS 'call (call_* events) or meet (meeting_* events)';
COMMENT ON COLUMN cometchat.sessions.ended_at IS 'destroyed_at of its end event; NULL while active';
COMMENT ON COLUMN cometchat.sessions.status IS 'active or ended (from ended_at)';
COMMENT ON COLUMN cometchat.sessions.duration IS 'ended_at - started_at';
COMMENT ON COLUMN cometchat.sessions.participant_count IS 'how many distinct names joined the instance';
COMMENT ON COLUMN cometchat.sessions.peak_participants IS 'most participants present at once; computed when the session has ended, NULL while active';
COMMENT ON COLUMN cometchat.sessions.recording_count IS 'how many recordings the instance has';
COMMENT ON TABLE cometchat.calls IS 'One row per ringing call: keyed by the session id its call_initiated announces, or by its message id when it announces none';
COMMENT ON COLUMN cometchat.calls.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.calls.session_id IS 'the call''s session (announced by call_initiated, or of call_started and the events after it); NULL when call_initiated announced none';
COMMENT ON COLUMN cometchat.calls.call_id IS 'message id of its call_initiated (the smallest, when several announce one session)';
COMMENT ON COLUMN cometchat.calls.conversation_id IS 'the conversation of caller and receiver (conversationId)';
COMMENT ON COLUMN cometchat.calls.caller IS 'uid of the caller (sender of call_initiated)';
COMMENT ON COLUMN cometchat.calls.receiver IS 'uid or group id called (receiver of call_initiated)';
COMMENT ON COLUMN cometchat.calls.receiver_type IS 'user or group';
COMMENT ON COLUMN cometchat.calls.media IS 'audio or video';
COMMENT ON COLUMN cometchat.calls.initiated_at IS 'when it was initiated (sentAt of call_initiated)';
COMMENT ON COLUMN cometchat.calls.started_at IS 'when its session started (created_at of call_started or call_ended); NULL when never answered';
COMMENT ON COLUMN cometchat.calls.ended_at IS 'when its session ended (destroyed_at of call_ended)';
COMMENT ON COLUMN cometchat.calls.outcome IS 'busy, cancelled, rejected or unanswered: the earliest outcome event linked to this call';
COMMENT ON COLUMN cometchat.calls.outcome_at IS 'when that outcome was sent (its sentAt)';
COMMENT ON COLUMN cometchat.calls.participant_count IS 'how many distinct names joined its session';
COMMENT ON COLUMN cometchat.calls.status IS 'ended, else ongoing (started, or anyone joined), else the outcome, else initiated';
COMMENT ON COLUMN cometchat.calls.duration IS 'ended_at - started_at: how long it was talked';
COMMENT ON TABLE cometchat.call_outcomes IS 'One row per outcome event (busy, cancelled, rejected, unanswered), linked to its call by conversation';
COMMENT ON COLUMN cometchat.call_outcomes.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.call_outcomes.outcome_id IS 'message id of the outcome event (data.call.id)';
COMMENT ON COLUMN cometchat.call_outcomes.conversation_id IS 'the conversation (conversationId)';
COMMENT ON COLUMN cometchat.call_outcomes.outcome IS 'busy, cancelled, rejected or unanswered';
COMMENT ON COLUMN cometchat.call_outcomes.sent_at IS 'when it was sent (sentAt)';
COMMENT ON COLUMN cometchat.call_outcomes.linked_call_id IS 'call_id of its call: the one of its conversation initiated last at or before sent_at, within cometchat.outcome_window; NULL while there is none';
COMMENT ON TABLE cometchat.participants IS 'One row per join interval: a name in a session from joined_at to left_at';
COMMENT ON COLUMN cometchat.participants.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.participants.session_id IS 'the session id';
COMMENT ON COLUMN cometchat.participants.session_started_at IS 'the session instance (cometchat.sessions.started_at); NULL until a start or end event of that instance arrives';
COMMENT ON COLUMN cometchat.participants.name IS 'the participant''s name (occupant name)';
COMMENT ON COLUMN cometchat.participants.joined_at IS 'when the interval began (joined_at)';
COMMENT ON COLUMN cometchat.participants.left_at IS 'when it ended (left_at of the leave event, else of the end event''s all_occupants); NULL while present';
COMMENT ON COLUMN cometchat.participants.audio_only IS 'whether the participant joined audio-only (audio_call)';
COMMENT ON COLUMN cometchat.participants.platform IS 'platform of the join (initial_config.platform): web, android, ios, ...';
COMMENT ON COLUMN cometchat.participants.sdk IS 'SDK of the join (initial_config.sdk)';
COMMENT ON COLUMN cometchat.participants.sdk_version IS 'SDK version of the join (initial_config.call_version)';
COMMENT ON COLUMN cometchat.participants.left_at_from IS 'the event left_at came from';
COMMENT ON COLUMN cometchat.participants.audio_only_from IS 'the event audio_only came from';
COMMENT ON TABLE cometchat.recordings IS 'One row per recording (recording_generated)';
COMMENT ON COLUMN cometchat.recordings.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.recordings.session_id IS 'the session id';
COMMENT ON COLUMN cometchat.recordings.session_started_at IS 'the session instance (cometchat.sessions.started_at); NULL until a start or end event of that instance arrives';
COMMENT ON COLUMN cometchat.recordings.started_at IS 'when the recording started (startTime)';
COMMENT ON COLUMN cometchat.recordings.duration IS 'its length (duration)';
COMMENT ON COLUMN cometchat.recordings.recording_url IS 'where to download it (recording_url)';
COMMENT ON COLUMN cometchat.recordings.recording_date IS 'its date as sent (recordingDate)';
COMMENT ON FUNCTION cometchat.validate(jsonb) IS 'every problem with a webhook payload, each naming its JSON path; empty when valid';
COMMENT ON FUNCTION cometchat.classify(jsonb) IS 'what a payload is (valid, kind, flow, ids, time, idempotency key), without storing anything';
COMMENT ON FUNCTION cometchat.idempotency_key(jsonb) IS 'canonical idempotency key (a JSON array); NULL for an invalid payload; the ledger stores its SHA-256';
COMMENT ON FUNCTION cometchat.ingest(jsonb) IS 'stores a payload as INSERT INTO cometchat.events does, and says what became of it: accepted, duplicate (with the stored event''s id) or rejected (with its problems)';
COMMENT ON FUNCTION cometchat.ingest_raw(text) IS 'as cometchat.ingest(), for a raw HTTP body: one that is not JSON is quarantined with its text instead of raising an error';
COMMENT ON FUNCTION cometchat._events_trigger() IS 'internal: the ledger''s trigger (validation, deduplication, quarantine, lifecycle maintenance)';
COMMENT ON FUNCTION cometchat._replay() IS 'internal: replays the ledger into the emptied lifecycle tables, for cometchat.rebuild()';
COMMENT ON FUNCTION cometchat.rebuild() IS 'recomputes every lifecycle table from the ledger; returns the number of events replayed';
COMMENT ON FUNCTION cometchat._lifecycle_rows() IS 'internal: every lifecycle row as jsonb, for cometchat.verify()';
COMMENT ON FUNCTION cometchat.verify() IS 'differences between the maintained lifecycle tables and a recomputation from the ledger; no rows when consistent';
COMMENT ON TABLE cometchat.app_access IS 'per-app row-level security: members of role_name see (and receive) app_id; active after cometchat.enable_app_security()';
COMMENT ON COLUMN cometchat.app_access.role_name IS 'a role: it and its members see, and may receive, the app''s rows';
COMMENT ON COLUMN cometchat.app_access.app_id IS 'the CometChat app';
COMMENT ON TABLE cometchat.app_security IS 'one row while per-app row-level security is on (cometchat.enable_app_security())';
COMMENT ON COLUMN cometchat.app_security.enabled_at IS 'when per-app security was switched on';
COMMENT ON COLUMN cometchat.app_security.enabled_by IS 'who switched it on';
COMMENT ON COLUMN cometchat.app_security.singleton IS 'always true: at most one row';
COMMENT ON FUNCTION cometchat._app_security_switch() IS 'internal: trigger of cometchat.app_security, switches row-level security of every table';
COMMENT ON FUNCTION cometchat.app_visible(text) IS 'true when the current role may see and receive rows of this app under per-app row-level security';
COMMENT ON FUNCTION cometchat.enable_app_security(boolean) IS 'switches per-app row-level security (cometchat.app_access) on or off for every table';

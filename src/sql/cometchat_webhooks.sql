-- cometchat_webhooks: install script of the current version (1.5).
-- Written by hand; the build copies it to cometchat_webhooks--1.5.sql.  Every
-- change here also goes into an upgrade script src/sql/cometchat_webhooks--A--B.sql.
\echo Use "CREATE EXTENSION cometchat_webhooks" to load this file. \quit

DO $guard$
BEGIN
    IF to_regnamespace('cometchat') IS NOT NULL THEN
        RAISE EXCEPTION 'schema "cometchat" already exists'
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'cometchat_webhooks creates and owns the schema "cometchat" and every object in it.',
                  HINT = 'Drop or rename the existing schema "cometchat", then run CREATE EXTENSION cometchat_webhooks again.';
    END IF;
END
$guard$;

CREATE SCHEMA cometchat;
COMMENT ON SCHEMA cometchat IS 'CometChat calling webhooks: ledger, quarantine and call lifecycle tables (extension cometchat_webhooks)';

------------------------------------------------------------------------
-- Types
------------------------------------------------------------------------

-- The 14 documented triggers, in the order of the CometChat reference, then
-- "unknown" for well-formed payloads with a trigger we do not know.
CREATE TYPE cometchat.event_kind AS ENUM (
    'call_initiated', 'call_started', 'call_participant_joined',
    'call_participant_left', 'call_ended', 'call_busy', 'call_cancelled',
    'call_rejected', 'call_unanswered', 'meeting_started',
    'meeting_participant_joined', 'meeting_participant_left', 'meeting_ended',
    'recording_generated', 'unknown');
COMMENT ON TYPE cometchat.event_kind IS 'kind of a webhook event: one of the 14 documented triggers, or unknown for a well-formed payload whose trigger is none of them';

CREATE TYPE cometchat.flow AS ENUM ('ringing', 'session');
COMMENT ON TYPE cometchat.flow IS 'the lifecycle an event belongs to: ringing (call_* events, a call that rings) or session (meeting_* events, a call session joined without ringing)';

CREATE TYPE cometchat.ingest_status AS ENUM ('accepted', 'duplicate', 'rejected');
COMMENT ON TYPE cometchat.ingest_status IS 'what became of a body: accepted (stored in the ledger), duplicate (already stored), rejected (quarantined in cometchat.rejected)';

CREATE TYPE cometchat.call_status AS ENUM (
    'initiated', 'ongoing', 'ended', 'busy', 'cancelled', 'rejected', 'unanswered');
COMMENT ON TYPE cometchat.call_status IS 'status of a ringing call: initiated (ringing, no outcome known), ongoing (answered), ended (answered, then ended), or its outcome: busy, cancelled (by the caller), rejected (declined by the callee), unanswered';

CREATE TYPE cometchat.session_mode AS ENUM ('call', 'meet');
COMMENT ON TYPE cometchat.session_mode IS 'call (the session of a ringing call, call_* events) or meet (a call session, meeting_* events)';

CREATE TYPE cometchat.session_status AS ENUM ('active', 'ended');
COMMENT ON TYPE cometchat.session_status IS 'active (no end event yet) or ended';

-- Where a participant fact (left_at, audio_only) came from, weakest first:
-- the end event's all_occupants, then the leave event, then the join event.
-- A fact from a stronger source wins whatever the arrival order.
CREATE TYPE cometchat.fact_source AS ENUM ('end_event', 'leave_event', 'join_event');
COMMENT ON TYPE cometchat.fact_source IS 'where a participant fact came from, weakest first: end_event (its all_occupants), leave_event, join_event; the stronger source wins whatever the arrival order';

CREATE TYPE cometchat.classification AS (
    valid           boolean,
    kind            cometchat.event_kind,
    flow            cometchat.flow,
    app_id          text,
    region          text,
    webhook         text,
    trigger         text,
    session_id      text,
    call_id         text,
    occurred_at     timestamptz,
    idempotency_key text
);
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

------------------------------------------------------------------------
-- The ledger and the quarantine
------------------------------------------------------------------------

-- The ledger's partition key (1.5): the time an event happened, read from
-- the payload as the trigger reads it.  A receiver inserts the payload alone
-- and a row is routed before any trigger runs, so the key must follow from
-- the payload; for every stored event it equals occurred_at.
CREATE FUNCTION cometchat.event_time(payload jsonb) RETURNS timestamptz
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_event_time';
COMMENT ON FUNCTION cometchat.event_time(jsonb) IS 'when the event of a payload happened (cometchat.events.occurred_at, the ledger''s partition key); NULL for an invalid payload or an unknown trigger';

-- Partitioned by the event time (1.5), so that old events can be retired a
-- partition at a time (cometchat.retire_partitions()).  A partitioned table
-- can hold no unique index that leaves out its partition key, nor any whose
-- key is an expression, so the ledger's keys live on each partition: every
-- partition has its primary key on id (ids come from one sequence, so they
-- are unique across partitions too) and its unique key on (occurred_at,
-- idempotency_key).  A key is unique in the whole ledger because all its
-- deliveries have one time, hence one partition.  The default partition
-- holds the events without a time (unknown triggers) and any event whose
-- range has no partition (yet): cometchat.create_partitions() moves the
-- latter out.
-- (The NOT NULL constraints are named as PostgreSQL 18 names them on a new
-- table, so that an update, where the old ledger keeps those names, names
-- them the same: PostgreSQL 18 would add a suffix.)
CREATE TABLE cometchat.events (
    id              bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT events_id_not_null NOT NULL,
    received_at     timestamptz CONSTRAINT events_received_at_not_null NOT NULL DEFAULT now(),
    payload         jsonb CONSTRAINT events_payload_not_null NOT NULL,
    -- Everything below is derived from payload by the C trigger; values a
    -- client supplies for these columns are overwritten.
    app_id          text CONSTRAINT events_app_id_not_null NOT NULL,
    region          text,
    webhook         text CONSTRAINT events_webhook_not_null NOT NULL,
    trigger         text CONSTRAINT events_trigger_not_null NOT NULL,
    kind            cometchat.event_kind CONSTRAINT events_kind_not_null NOT NULL,
    flow            cometchat.flow,
    session_id      text,
    call_id         text,
    occurred_at     timestamptz,
    idempotency_key bytea CONSTRAINT events_idempotency_key_not_null NOT NULL
) PARTITION BY RANGE (cometchat.event_time(payload));

-- The keys and indexes every partition of the ledger has (see above).  They
-- are the partition's own, not inherited from partitioned indexes: pg_dump
-- restores a partition's indexes after its rows, but attaching it (before
-- its rows) would build a partitioned index's there at once, under the name
-- the dump's index then takes.  One row per key:
-- occurred_at is one of the key's parts (NULL only for an unknown trigger,
-- and then for every delivery of it), so the pair is unique exactly when the
-- key is; leading with the time keeps a load's probes and inserts at the
-- index's recent edge instead of spread over it.
CREATE FUNCTION cometchat._add_partition_keys(part regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id), '
                   'ADD CONSTRAINT %I UNIQUE NULLS NOT DISTINCT (occurred_at, idempotency_key)',
                   part, name || '_pkey', name || '_idempotency_key_key');
    -- One session id's events (cometchat.timeline): the id alone, whose
    -- rows share one deduplicated entry, costs a load far less than
    -- (session_id, app_id, occurred_at), nearly unique keys of ~100 bytes;
    -- timeline() filters the app and sorts the few rows of a session itself.
    EXECUTE format('CREATE INDEX %I ON %s (session_id)', name || '_session_id_idx', part);
    EXECUTE format('CREATE INDEX %I ON %s (call_id, app_id) WHERE call_id IS NOT NULL',
                   name || '_call_id_app_id_idx', part);
END
$$;
COMMENT ON FUNCTION cometchat._add_partition_keys(regclass) IS 'internal: gives a partition of the ledger its primary key on id, its unique key on (occurred_at, idempotency_key) and its indexes on session_id and call_id';

CREATE TABLE cometchat.events_default PARTITION OF cometchat.events DEFAULT;
SELECT cometchat._add_partition_keys('cometchat.events_default');
COMMENT ON TABLE cometchat.events_default IS 'the ledger''s default partition: events without a time (unknown triggers), and events of a range that has no partition yet (cometchat.create_partitions() moves those out)';
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

CREATE TABLE cometchat.rejected (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb,
    raw_body    text,
    problems    text[] NOT NULL
);
COMMENT ON TABLE cometchat.rejected IS 'Quarantine: payloads that failed validation, with every problem found';
COMMENT ON COLUMN cometchat.rejected.id IS 'quarantine id, in the order bodies were quarantined';
COMMENT ON COLUMN cometchat.rejected.received_at IS 'when the body was quarantined (the start of its transaction)';
COMMENT ON COLUMN cometchat.rejected.payload IS 'the payload, when the body was JSON';
COMMENT ON COLUMN cometchat.rejected.raw_body IS 'the body as received, when it was not JSON';
COMMENT ON COLUMN cometchat.rejected.problems IS 'every problem found, each naming its JSON path (the first 50, then how many more)';

------------------------------------------------------------------------
-- Lifecycle tables, maintained by the ingest trigger
------------------------------------------------------------------------

-- One row per media session instance.  Session ids of call sessions are
-- chosen by the app and reused, so an instance is (app_id, session_id,
-- started_at), started_at being the instance's created_at.
CREATE TABLE cometchat.sessions (
    app_id            text NOT NULL,
    session_id        text NOT NULL,
    started_at        timestamptz NOT NULL,
    mode              cometchat.session_mode NOT NULL,
    ended_at          timestamptz,
    status            cometchat.session_status NOT NULL
                      GENERATED ALWAYS AS (CASE WHEN ended_at IS NULL
                                                THEN 'active'::cometchat.session_status
                                                ELSE 'ended'::cometchat.session_status END) STORED,
    duration          interval GENERATED ALWAYS AS (ended_at - started_at) STORED,
    participant_count integer NOT NULL DEFAULT 0,
    peak_participants integer,
    recording_count   integer NOT NULL DEFAULT 0,
    last_event_at     timestamptz,
    PRIMARY KEY (app_id, session_id, started_at)
);
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
COMMENT ON COLUMN cometchat.sessions.last_event_at IS 'the latest time the instance knows of: GREATEST of started_at, ended_at, its participants'' joined_at and left_at and its recordings'' started_at; cometchat.session_lifecycle calls the instance stale when it is active and this is older than cometchat.stale_after';

-- One row per ringing call, keyed by the session id that call_initiated
-- announces, or by its message id when it announced none.
CREATE TABLE cometchat.calls (
    app_id            text NOT NULL,
    session_id        text,
    call_id           text,
    conversation_id   text,
    caller            text,
    receiver          text,
    receiver_type     text,
    media             text,
    initiated_at      timestamptz,
    started_at        timestamptz,
    ended_at          timestamptz,
    outcome           cometchat.call_status,
    outcome_at        timestamptz,
    participant_count integer NOT NULL DEFAULT 0,
    status            cometchat.call_status NOT NULL
                      GENERATED ALWAYS AS (CASE
                          WHEN ended_at IS NOT NULL THEN 'ended'::cometchat.call_status
                          WHEN started_at IS NOT NULL OR participant_count > 0 THEN 'ongoing'::cometchat.call_status
                          WHEN outcome IS NOT NULL THEN outcome
                          ELSE 'initiated'::cometchat.call_status END) STORED,
    duration          interval GENERATED ALWAYS AS (ended_at - started_at) STORED,
    -- The row's identity for logical replication: 's:' || session_id, or
    -- 'c:' || call_id for a call announced without a session id.  Kept by
    -- the extension's C code (a replica identity may not hold a generated
    -- column: publications leave those out).
    call_key          text NOT NULL,
    last_event_at     timestamptz,
    CHECK (session_id IS NOT NULL OR call_id IS NOT NULL)
)
-- A calls row is updated after it is inserted (answered, ended, counted):
-- room on its page lets the update stay there and skip the four indexes.
WITH (fillfactor = 90);
-- Every index of a lifecycle table leads with the id it finds rows by, and
-- app_id comes second: each statement of the trigger then has exactly one
-- index that fits it, so its plan does not depend on the table's statistics
-- (plans are made once per backend, often while the tables are still small).
CREATE UNIQUE INDEX calls_session ON cometchat.calls (session_id, app_id);
CREATE UNIQUE INDEX calls_unlinked ON cometchat.calls (call_id, app_id) WHERE session_id IS NULL;
CREATE INDEX calls_conversation ON cometchat.calls (conversation_id, app_id, initiated_at);
CREATE INDEX calls_call_id ON cometchat.calls (call_id, app_id);
-- A publication (change data capture) refuses to publish updates of a table
-- without a replica identity, and calls has no primary key.
CREATE UNIQUE INDEX calls_key ON cometchat.calls (call_key, app_id);
ALTER TABLE cometchat.calls REPLICA IDENTITY USING INDEX calls_key;
COMMENT ON COLUMN cometchat.calls.call_key IS 'the row''s identity for logical replication: s: and its session id, or c: and its message id for a call announced without a session id';
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
COMMENT ON COLUMN cometchat.calls.last_event_at IS 'the latest time (occurred_at) of its events: its call_initiated messages and its session''s call_* events; outcome events (busy, cancelled, rejected, unanswered) do not move it; cometchat.call_lifecycle calls the call stale when it is initiated or ongoing and this is older than cometchat.stale_after';

-- Outcome events (busy, cancelled, rejected, unanswered) carry no session
-- id.  Each is kept here and linked to the call of the same conversation
-- initiated last at or before it, within cometchat.outcome_window.
CREATE TABLE cometchat.call_outcomes (
    app_id          text NOT NULL,
    outcome_id      text NOT NULL,
    conversation_id text NOT NULL,
    outcome         cometchat.call_status NOT NULL,
    sent_at         timestamptz NOT NULL,
    linked_call_id  text,
    PRIMARY KEY (outcome_id, app_id)
);
CREATE INDEX call_outcomes_conversation ON cometchat.call_outcomes (conversation_id, app_id, sent_at);
CREATE INDEX call_outcomes_link ON cometchat.call_outcomes (linked_call_id, app_id);
COMMENT ON TABLE cometchat.call_outcomes IS 'One row per outcome event (busy, cancelled, rejected, unanswered), linked to its call by conversation';
COMMENT ON COLUMN cometchat.call_outcomes.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.call_outcomes.outcome_id IS 'message id of the outcome event (data.call.id)';
COMMENT ON COLUMN cometchat.call_outcomes.conversation_id IS 'the conversation (conversationId)';
COMMENT ON COLUMN cometchat.call_outcomes.outcome IS 'busy, cancelled, rejected or unanswered';
COMMENT ON COLUMN cometchat.call_outcomes.sent_at IS 'when it was sent (sentAt)';
COMMENT ON COLUMN cometchat.call_outcomes.linked_call_id IS 'call_id of its call: the one of its conversation initiated last at or before sent_at, within cometchat.outcome_window; NULL while there is none';

-- One row per join interval.
CREATE TABLE cometchat.participants (
    app_id             text NOT NULL,
    session_id         text NOT NULL,
    session_started_at timestamptz,
    name               text NOT NULL,
    joined_at          timestamptz NOT NULL,
    left_at            timestamptz,
    audio_only         boolean,
    platform           text,
    sdk                text,
    sdk_version        text,
    left_at_from       cometchat.fact_source,
    audio_only_from    cometchat.fact_source,
    PRIMARY KEY (app_id, session_id, name, joined_at)
);
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

CREATE TABLE cometchat.recordings (
    app_id             text NOT NULL,
    session_id         text NOT NULL,
    session_started_at timestamptz,
    started_at         timestamptz NOT NULL,
    duration           interval,
    recording_url      text,
    recording_date     date,
    PRIMARY KEY (app_id, session_id, started_at)
);
COMMENT ON TABLE cometchat.recordings IS 'One row per recording (recording_generated)';
COMMENT ON COLUMN cometchat.recordings.app_id IS 'the CometChat app';
COMMENT ON COLUMN cometchat.recordings.session_id IS 'the session id';
COMMENT ON COLUMN cometchat.recordings.session_started_at IS 'the session instance (cometchat.sessions.started_at); NULL until a start or end event of that instance arrives';
COMMENT ON COLUMN cometchat.recordings.started_at IS 'when the recording started (startTime)';
COMMENT ON COLUMN cometchat.recordings.duration IS 'its length (duration)';
COMMENT ON COLUMN cometchat.recordings.recording_url IS 'where to download it (recording_url)';
COMMENT ON COLUMN cometchat.recordings.recording_date IS 'its date as sent (recordingDate)';

-- The ids a bulk load writes, each claimed by a row of its transaction
-- while it is in progress (lifecycle_locks.c): it stands for the id's
-- advisory lock, which a lock per id of a bulk load would overflow the
-- shared lock table with.  Deleted before commit, so it only ever holds rows
-- of transactions in progress; unlogged, since no claim outlives a crash.
CREATE UNLOGGED TABLE cometchat.lifecycle_claims (
    key bigint NOT NULL
);
CREATE INDEX lifecycle_claims_key ON cometchat.lifecycle_claims (key);
COMMENT ON TABLE cometchat.lifecycle_claims IS 'Internal: the lifecycle ids a bulk load in progress writes, one uncommitted row each (see README, Backfills); empty when none runs';
COMMENT ON COLUMN cometchat.lifecycle_claims.key IS 'a 64-bit hash of the app and the session id or conversation';

------------------------------------------------------------------------
-- C functions
------------------------------------------------------------------------

CREATE FUNCTION cometchat.validate(payload jsonb) RETURNS text[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_validate';
COMMENT ON FUNCTION cometchat.validate(jsonb) IS 'every problem with a webhook payload, each naming its JSON path; empty when valid';

CREATE FUNCTION cometchat.classify(payload jsonb) RETURNS cometchat.classification
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_classify';
COMMENT ON FUNCTION cometchat.classify(jsonb) IS 'what a payload is (valid, kind, flow, ids, time, idempotency key), without storing anything';

CREATE FUNCTION cometchat.idempotency_key(payload jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_idempotency_key';
COMMENT ON FUNCTION cometchat.idempotency_key(jsonb) IS 'canonical idempotency key (a JSON array); NULL for an invalid payload; the ledger stores its SHA-256';

CREATE FUNCTION cometchat.ingest(payload jsonb,
    OUT status cometchat.ingest_status, OUT event_id bigint,
    OUT idempotency_key bytea, OUT problems text[], OUT rejected_id bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'cc_ingest';
COMMENT ON FUNCTION cometchat.ingest(jsonb) IS 'stores a payload as INSERT INTO cometchat.events does, and says what became of it: accepted, duplicate (with the stored event''s id) or rejected (with its problems)';

CREATE FUNCTION cometchat.ingest_raw(body text,
    OUT status cometchat.ingest_status, OUT event_id bigint,
    OUT idempotency_key bytea, OUT problems text[], OUT rejected_id bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'cc_ingest_raw';
COMMENT ON FUNCTION cometchat.ingest_raw(text) IS 'as cometchat.ingest(), for a raw HTTP body: one that is not JSON is quarantined with its text instead of raising an error';

-- The trigger runs its statements as the owner of the table each one writes
-- (as foreign-key checks do) and under a search path of pg_catalog alone, set
-- in C for just those statements: a receiver needs only INSERT on the ledger,
-- and nothing it creates in public or pg_temp (functions, operators, types,
-- tables) is ever looked up by the trigger.
CREATE FUNCTION cometchat._events_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'cc_events_trigger';
COMMENT ON FUNCTION cometchat._events_trigger() IS 'internal: the ledger''s trigger (validation, deduplication, quarantine, lifecycle maintenance)';

CREATE TRIGGER events_ingest
    BEFORE INSERT OR UPDATE ON cometchat.events
    FOR EACH ROW EXECUTE FUNCTION cometchat._events_trigger();

-- Replays events of the ledger through the same merge rules the trigger
-- uses: all of them, those that happened at or after since, or those whose
-- ids are in (after_id, upto_id]; locked, each takes its ids' locks (or
-- claims) as a backfill's events do, so that live ingest may go on; tables,
-- into the lifecycle tables of another schema (verify_in_steps()'s copies).
CREATE FUNCTION cometchat._replay(since timestamptz DEFAULT NULL, after_id bigint DEFAULT NULL,
                                  upto_id bigint DEFAULT NULL, locked boolean DEFAULT false,
                                  tables regnamespace DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'cc_replay';
COMMENT ON FUNCTION cometchat._replay(timestamptz, bigint, bigint, boolean, regnamespace) IS 'internal: replays events of the ledger (all, those at or after since, or those of an id range) into the lifecycle tables (or those of another schema), for cometchat.rebuild(), cometchat.rebuild_in_steps() and cometchat.verify_in_steps()';

------------------------------------------------------------------------
-- Partitions of the ledger: upkeep and retirement (1.5)
--
-- cometchat.create_partitions() creates the ranges ahead of time and moves
-- out of the default partition the events of any range it creates;
-- cometchat.retire_partitions() detaches (and drops) the ranges older than a
-- given age.  Both take SHARE UPDATE EXCLUSIVE on the ledger first, so one
-- runs at a time, and receivers' inserts go on.  While they change the
-- partitions they hold inserts off for a moment (create_partitions() with
-- SHARE ROW EXCLUSIVE, retire_partitions() with the ACCESS EXCLUSIVE of a
-- detach), and each waits at most lock_wait for that lock.  Retiring a range
-- leaves the lifecycle tables as they are and records it in
-- cometchat.retired_partitions: cometchat.retired_before() is the horizon
-- before which the ledger is no longer complete, and rebuild() leaves the
-- lifecycle rows of what began before it as they are.
------------------------------------------------------------------------
CREATE TABLE cometchat.retired_partitions (
    partition_name text NOT NULL,
    range_from     timestamptz NOT NULL,
    range_to       timestamptz NOT NULL,
    retired_at     timestamptz NOT NULL DEFAULT now(),
    dropped        boolean NOT NULL,
    PRIMARY KEY (range_from, retired_at)
);
COMMENT ON TABLE cometchat.retired_partitions IS 'ranges of the ledger retired by cometchat.retire_partitions(): their events are gone from cometchat.events, their lifecycle rows kept';
COMMENT ON COLUMN cometchat.retired_partitions.partition_name IS 'the partition detached (a table of that name in schema cometchat, unless dropped)';
COMMENT ON COLUMN cometchat.retired_partitions.range_from IS 'the first event time it held';
COMMENT ON COLUMN cometchat.retired_partitions.range_to IS 'the event time its range ended at (exclusive)';
COMMENT ON COLUMN cometchat.retired_partitions.retired_at IS 'when it was retired';
COMMENT ON COLUMN cometchat.retired_partitions.dropped IS 'true when it was dropped; false when it was handed to the caller, detached, for archiving';
SELECT pg_catalog.pg_extension_config_dump('cometchat.retired_partitions', '');

-- The bounds of every partition, read from the catalog in UTC and ISO
-- whatever the session's settings.
CREATE FUNCTION cometchat.ledger_partitions()
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, is_default boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
    SET DateStyle = 'ISO, YMD'
AS $$
    SELECT c.relname::text,
           CASE b.m[1] WHEN 'MINVALUE' THEN '-infinity' ELSE trim(both '''' from b.m[1]) END::timestamptz,
           CASE b.m[2] WHEN 'MAXVALUE' THEN 'infinity' ELSE trim(both '''' from b.m[2]) END::timestamptz,
           b.m IS NULL
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                            '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS m) b
    WHERE i.inhparent = 'cometchat.events'::regclass
    ORDER BY b.m IS NULL, 2
$$;
COMMENT ON FUNCTION cometchat.ledger_partitions() IS 'the partitions of the ledger and the ranges of event times they hold (the default partition: events without a time, and those of ranges with no partition)';

-- The range of the given size (day, week or month, in UTC) a time falls in.
CREATE FUNCTION cometchat._partition_range(t timestamptz, size text, OUT range_from timestamptz, OUT range_to timestamptz)
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT date_trunc(size, t, 'UTC'),
           (date_trunc(size, t, 'UTC') AT TIME ZONE 'UTC' + ('1 ' || size)::interval) AT TIME ZONE 'UTC'
$$;
COMMENT ON FUNCTION cometchat._partition_range(timestamptz, text) IS 'internal: the range of a partition of the given size (day, week, month; in UTC) a time falls in';

CREATE FUNCTION cometchat.create_partitions(ahead interval DEFAULT '3 months', size text DEFAULT 'month',
                                            since timestamptz DEFAULT NULL,
                                            lock_wait interval DEFAULT '5 seconds')
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    dflt regclass := (SELECT p.partdefid::regclass FROM pg_partitioned_table p
                      WHERE p.partrelid = 'cometchat.events'::regclass AND p.partdefid <> 0);
    owner regrole := (SELECT c.relowner::regrole FROM pg_class c WHERE c.oid = 'cometchat.events'::regclass);
    columns text := (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a
                     WHERE a.attrelid = 'cometchat.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    saved text := current_setting('lock_timeout');
    missing text;
    nothing boolean;
    r record;
    part text;
BEGIN
    IF size IS NULL OR size NOT IN ('day', 'week', 'month') THEN
        RAISE EXCEPTION 'invalid partition size "%"', size
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A partition of the ledger holds the events of one day, week or month (in UTC).',
                  HINT = 'Pass size => ''day'', ''week'' or ''month''.';
    END IF;
    IF ahead IS NULL OR ahead < interval '0' THEN
        RAISE EXCEPTION 'invalid interval ahead "%"', ahead
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how far ahead of now to have partitions, e.g. ahead => ''3 months''.';
    END IF;
    IF since > now() THEN
        RAISE EXCEPTION 'invalid start of the partitions to create: it is in the future'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the time of the oldest event to import, e.g. since => ''2026-01-01''; ahead covers the future.';
    END IF;
    IF lock_wait IS NULL OR lock_wait < interval '0' THEN
        RAISE EXCEPTION 'invalid lock_wait "%"', lock_wait
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how long to wait for the ledger''s lock, e.g. lock_wait => ''5 seconds''.';
    END IF;
    -- The ranges to create: those from since (or now) to now + ahead, and
    -- those of the events waiting in the default partition, less any that
    -- overlaps a partition.
    missing := format($q$
        WITH wanted AS (
            SELECT (cometchat._partition_range(t, $1)).*
            FROM generate_series(coalesce($3, now()), now() + $2, ('1 ' || $1)::interval) t
            UNION
            SELECT (cometchat._partition_range(d.t, $1)).*
            FROM (SELECT DISTINCT date_trunc($1, e.occurred_at, 'UTC') AS t
                  FROM %s e WHERE e.occurred_at IS NOT NULL) d)
        SELECT w.* FROM wanted w
        WHERE NOT EXISTS (SELECT FROM cometchat.ledger_partitions() p
                          WHERE NOT p.is_default
                            AND p.range_from < w.range_to AND w.range_from < p.range_to)
        ORDER BY w.range_from$q$,
        coalesce(dflt::text, '(SELECT NULL::timestamptz AS occurred_at)'));
    -- One run at a time; receivers go on meanwhile.  Nothing to create (most
    -- runs): done, having held nobody up.
    LOCK TABLE cometchat.events IN SHARE UPDATE EXCLUSIVE MODE;
    EXECUTE 'SELECT NOT EXISTS (' || missing || ')' INTO nothing USING size, ahead, since;
    IF nothing THEN
        RETURN;
    END IF;
    -- A row PostgreSQL routed to the default partition just before a range
    -- is attached, and still waiting for the default partition's lock, would
    -- find it no longer takes the row (its constraint is checked again) and
    -- fail.  So wait for the inserts in progress and hold new ones off until
    -- commit (SHARE ROW EXCLUSIVE): for as long as creating the partitions
    -- and moving the default partition's rows of their ranges takes, which
    -- is milliseconds while it holds few.  A backfill in progress could make
    -- that wait long: wait at most lock_wait, then fail having done nothing.
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    LOCK TABLE cometchat.events IN SHARE ROW EXCLUSIVE MODE;
    IF dflt IS NOT NULL THEN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', dflt);
    END IF;
    PERFORM set_config('lock_timeout', saved, true);
    FOR r IN EXECUTE missing USING size, ahead, since
    LOOP
        part := 'events_p' || to_char(r.range_from AT TIME ZONE 'UTC', 'YYYYMMDD');
        EXECUTE format('CREATE TABLE cometchat.%I (LIKE cometchat.events INCLUDING DEFAULTS '
                       'INCLUDING STORAGE INCLUDING COMPRESSION)', part);
        EXECUTE format('ALTER TABLE cometchat.%I OWNER TO %s', part, owner);
        PERFORM cometchat._add_partition_keys(format('cometchat.%I', part)::regclass);
        moved := 0;
        IF dflt IS NOT NULL THEN
            EXECUTE format('WITH m AS (DELETE FROM %1$s e WHERE e.occurred_at >= %2$L AND e.occurred_at < %3$L '
                           'RETURNING %4$s) INSERT INTO cometchat.%5$I (%4$s) SELECT %4$s FROM m',
                           dflt, r.range_from, r.range_to, columns, part);
            GET DIAGNOSTICS moved = ROW_COUNT;
        END IF;
        EXECUTE format('ALTER TABLE cometchat.events ATTACH PARTITION cometchat.%I FOR VALUES FROM (%L) TO (%L)',
                       part, r.range_from, r.range_to);
        partition_name := part;
        range_from := r.range_from;
        range_to := r.range_to;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION cometchat.create_partitions(interval, text, timestamptz, interval) IS 'creates the partitions of the ledger from since (or now) to now + ahead (of a day, week or month each, in UTC), and those of the events waiting in the default partition, into which it moves them; returns what it created; waits at most lock_wait for the ledger''s lock';

CREATE FUNCTION cometchat.retired_before() RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT max(r.range_to) FROM cometchat.retired_partitions r $$;
COMMENT ON FUNCTION cometchat.retired_before() IS 'the retirement horizon: events that happened before it may have been retired from the ledger (NULL: none was)';

CREATE FUNCTION cometchat.retire_partitions(older_than interval, drop_them boolean DEFAULT true,
                                            lock_wait interval DEFAULT '5 seconds')
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, dropped boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    saved text := current_setting('lock_timeout');
BEGIN
    IF older_than IS NULL OR drop_them IS NULL THEN
        RAISE EXCEPTION 'cometchat.retire_partitions() needs an age'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Call it as cometchat.retire_partitions(''90 days'').';
    END IF;
    LOCK TABLE cometchat.events IN SHARE UPDATE EXCLUSIVE MODE;
    -- A rebuild in steps replays what it emptied from the ledger as it is.
    IF EXISTS (SELECT FROM cometchat.rebuild_progress) THEN
        RAISE EXCEPTION 'cannot retire partitions while cometchat.rebuild_in_steps() is unfinished'
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'It has not replayed every event of the ledger yet (cometchat.rebuild_progress).',
                  HINT = 'Let it finish, or CALL cometchat.rebuild_in_steps() again to resume it.';
    END IF;
    -- Detaching takes ACCESS EXCLUSIVE on the ledger for a moment, and
    -- inserts queue behind a waiting request: wait at most lock_wait.
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    FOR p IN SELECT l.partition_name, l.range_from, l.range_to
             FROM cometchat.ledger_partitions() l
             WHERE NOT l.is_default AND l.range_to <= now() - older_than
             ORDER BY l.range_from
    LOOP
        EXECUTE format('ALTER TABLE cometchat.events DETACH PARTITION cometchat.%I', p.partition_name);
        IF drop_them THEN
            EXECUTE format('DROP TABLE cometchat.%I', p.partition_name);
        END IF;
        INSERT INTO cometchat.retired_partitions (partition_name, range_from, range_to, dropped)
        VALUES (p.partition_name, p.range_from, p.range_to, drop_them);
        partition_name := p.partition_name;
        range_from := p.range_from;
        range_to := p.range_to;
        dropped := drop_them;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('lock_timeout', saved, true);
END
$$;
COMMENT ON FUNCTION cometchat.retire_partitions(interval, boolean, interval) IS 'detaches the partitions of the ledger whose range ended more than older_than ago, and drops them (or leaves them, detached, to the caller); lifecycle rows are kept; returns what it retired';

REVOKE ALL ON FUNCTION cometchat._add_partition_keys(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.create_partitions(interval, text, timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.retire_partitions(interval, boolean, interval) FROM PUBLIC;

------------------------------------------------------------------------
-- Rebuild and verify
------------------------------------------------------------------------

-- After a retirement (1.5) the ledger lacks the events before the horizon
-- (cometchat.retired_before()).  rebuild() then recomputes only what began
-- at or after it: the session ids none of whose rows (session instances,
-- join intervals, recordings, their call) began before it, the calls
-- announced without a session id after it, the outcomes sent after it.  The
-- rest stays as it is; replaying the remaining events into it changes
-- nothing, as every merge ignores repeats.  Each NOT EXISTS is a plain
-- condition of its DELETE, so that it runs as one anti-join, not as a
-- subplan per row.  tables: the schema of the lifecycle tables (or of
-- verify_in_steps()'s copies of them).
CREATE FUNCTION cometchat._forget_since(horizon timestamptz,
                                        tables regnamespace DEFAULT 'cometchat')
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
    WITH kept AS MATERIALIZED (
             SELECT s.app_id, s.session_id FROM %1$s.sessions s WHERE s.started_at < $1
             UNION SELECT p.app_id, p.session_id FROM %1$s.participants p WHERE p.joined_at < $1
             UNION SELECT r.app_id, r.session_id FROM %1$s.recordings r WHERE r.started_at < $1
             UNION SELECT c.app_id, c.session_id FROM %1$s.calls c
                   WHERE c.session_id IS NOT NULL AND least(c.initiated_at, c.started_at, c.outcome_at) < $1),
         sessions AS (DELETE FROM %1$s.sessions s
                      WHERE NOT EXISTS (SELECT FROM kept k WHERE k.app_id = s.app_id AND k.session_id = s.session_id)),
         participants AS (DELETE FROM %1$s.participants p
                          WHERE NOT EXISTS (SELECT FROM kept k WHERE k.app_id = p.app_id AND k.session_id = p.session_id)),
         recordings AS (DELETE FROM %1$s.recordings r
                        WHERE NOT EXISTS (SELECT FROM kept k WHERE k.app_id = r.app_id AND k.session_id = r.session_id)),
         calls AS (DELETE FROM %1$s.calls c
                   WHERE c.session_id IS NOT NULL
                     AND NOT EXISTS (SELECT FROM kept k WHERE k.app_id = c.app_id AND k.session_id = c.session_id)),
         unlinked_calls AS (DELETE FROM %1$s.calls c
                            WHERE c.session_id IS NULL
                              AND coalesce(least(c.initiated_at, c.started_at, c.outcome_at) >= $1, true)),
         outcomes AS (DELETE FROM %1$s.call_outcomes o WHERE o.sent_at >= $1)
    SELECT$q$, tables) USING horizon;
END
$$;
COMMENT ON FUNCTION cometchat._forget_since(timestamptz, regnamespace) IS 'internal: deletes the lifecycle rows of what began at or after the retirement horizon, for cometchat.rebuild() and cometchat.verify_in_steps()';
REVOKE ALL ON FUNCTION cometchat._forget_since(timestamptz, regnamespace) FROM PUBLIC;

-- Empties what a recomputation recomputes: every lifecycle table, or,
-- with a horizon, the rows of what began at or after it.
CREATE FUNCTION cometchat._forget(horizon timestamptz) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF horizon IS NULL THEN
        TRUNCATE cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
                 cometchat.participants, cometchat.recordings;
    ELSE
        PERFORM cometchat._forget_since(horizon);
    END IF;
END
$$;
COMMENT ON FUNCTION cometchat._forget(timestamptz) IS 'internal: empties the lifecycle tables (with a horizon, deletes the rows of what began at or after it), for cometchat.rebuild() and cometchat.rebuild_in_steps()';
REVOKE ALL ON FUNCTION cometchat._forget(timestamptz) FROM PUBLIC;

-- A recomputation in steps (rebuild_in_steps()) in progress, or left
-- unfinished: the lifecycle tables lack what it has not replayed yet.
CREATE TABLE cometchat.rebuild_progress (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    started_at      timestamptz NOT NULL DEFAULT now(),
    replayed_to     bigint NOT NULL,
    replay_until    bigint NOT NULL,
    events_replayed bigint NOT NULL DEFAULT 0,
    steps           integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE cometchat.rebuild_progress IS 'the cometchat.rebuild_in_steps() in progress or left unfinished (no row: none); run it again to finish';
COMMENT ON COLUMN cometchat.rebuild_progress.singleton IS 'always true: the table holds one row at most';
COMMENT ON COLUMN cometchat.rebuild_progress.started_at IS 'when it emptied the lifecycle tables';
COMMENT ON COLUMN cometchat.rebuild_progress.replayed_to IS 'the events with ids up to this one are replayed';
COMMENT ON COLUMN cometchat.rebuild_progress.replay_until IS 'the last id of the ledger when it began: later events were applied as they arrived';
COMMENT ON COLUMN cometchat.rebuild_progress.events_replayed IS 'events replayed so far';
COMMENT ON COLUMN cometchat.rebuild_progress.steps IS 'steps committed so far';

CREATE FUNCTION cometchat.rebuild(since timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    LOCK TABLE cometchat.events IN SHARE MODE;
    -- Without since, and before any retirement: everything.
    PERFORM cometchat._forget(greatest(since, cometchat.retired_before()));
    -- Recomputing everything finishes what a rebuild in steps left.
    IF since IS NULL THEN
        DELETE FROM cometchat.rebuild_progress;
    END IF;
    RETURN cometchat._replay(since => since);
END
$$;
COMMENT ON FUNCTION cometchat.rebuild(timestamptz) IS 'recomputes the lifecycle rows of what began at or after since (NULL: everything; after a retirement, at or after cometchat.retired_before() at the earliest) from the ledger; returns the number of events replayed';

CREATE FUNCTION cometchat.rebuild() RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT cometchat.rebuild(NULL::timestamptz) $$;
COMMENT ON FUNCTION cometchat.rebuild() IS 'recomputes every lifecycle table from the ledger (after a retirement, what began at or after cometchat.retired_before()); returns the number of events replayed';

-- The last id of the next step of a recomputation in steps: the
-- step_events events after after_id, up to last_id (NULL: none left).
-- Raises on an invalid step_events, which the procedures check first.
CREATE FUNCTION cometchat._step_end(after_id bigint, last_id bigint, step_events integer)
    RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF step_events IS NULL OR step_events < 1 THEN
        RAISE EXCEPTION 'invalid step_events %', step_events
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how many events to replay per transaction, e.g. step_events => 1000000.';
    END IF;
    RETURN (SELECT max(s.id)
            FROM (SELECT e.id FROM cometchat.events e
                  WHERE e.id > after_id AND e.id <= last_id
                  ORDER BY e.id LIMIT step_events) s);
END
$$;
COMMENT ON FUNCTION cometchat._step_end(bigint, bigint, integer) IS 'internal: the last id of the next step of cometchat.rebuild_in_steps() and cometchat.verify_in_steps()';
REVOKE ALL ON FUNCTION cometchat._step_end(bigint, bigint, integer) FROM PUBLIC;

-- rebuild() in a transaction per step_events events, beside live ingest.
-- A procedure with transaction control takes no SET clause: every name is
-- qualified instead.  Step 0 empties the tables as rebuild() does and
-- notes the ledger's last id; the events up to it are then replayed in id
-- order, each step committed with its progress, each event under its ids'
-- locks as a backfill's, so a live event waits only for the step that
-- holds its call.  Events after that id were applied as they arrived; the
-- rules merge both, in whatever order.  Interrupted, it resumes where the
-- last committed step ended; two at once share the steps.
CREATE PROCEDURE cometchat.rebuild_in_steps(step_events integer DEFAULT 1000000,
                                            INOUT events_replayed bigint DEFAULT NULL,
                                            INOUT steps integer DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    done bigint;
    last_id bigint;
    upto bigint;
BEGIN
    -- (An invalid step_events raises before anything is done.)
    PERFORM cometchat._step_end(0, 0, step_events);
    LOCK TABLE cometchat.rebuild_progress IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT FROM cometchat.rebuild_progress) THEN
        LOCK TABLE cometchat.events IN SHARE MODE;
        PERFORM cometchat._forget(cometchat.retired_before());
        INSERT INTO cometchat.rebuild_progress (replayed_to, replay_until)
        SELECT 0, coalesce(pg_catalog.max(e.id), 0) FROM cometchat.events e;
    END IF;
    COMMIT;
    LOOP
        SELECT p.replayed_to, p.replay_until INTO done, last_id
        FROM cometchat.rebuild_progress p FOR UPDATE;
        EXIT WHEN NOT FOUND;
        upto := cometchat._step_end(done, last_id, step_events);
        IF upto IS NULL THEN
            DELETE FROM cometchat.rebuild_progress p
            RETURNING p.events_replayed, p.steps INTO events_replayed, steps;
            COMMIT;
            EXIT;
        END IF;
        UPDATE cometchat.rebuild_progress p
        SET replayed_to = upto,
            events_replayed = p.events_replayed OPERATOR(pg_catalog.+)
                              cometchat._replay(after_id => done, upto_id => upto, locked => true),
            steps = p.steps OPERATOR(pg_catalog.+) 1;
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE cometchat.rebuild_in_steps(integer, bigint, integer) IS 'rebuild() in one transaction per step_events events, beside live ingest and in memory bounded by a step; resumes one left unfinished (cometchat.rebuild_progress); returns the events replayed and the steps taken';

-- The lifecycle tables as rows of jsonb, for comparison; tables: their
-- schema, prefix: that of their names (verify_in_steps()'s copies).
CREATE FUNCTION cometchat._lifecycle_rows(tables regnamespace DEFAULT 'cometchat',
                                          prefix text DEFAULT '')
    RETURNS TABLE (table_name text, row_data jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT 'sessions', to_jsonb(s) FROM %1$s.%2$I s
        UNION ALL SELECT 'calls', to_jsonb(c) FROM %1$s.%3$I c
        UNION ALL SELECT 'call_outcomes', to_jsonb(o) FROM %1$s.%4$I o
        UNION ALL SELECT 'participants', to_jsonb(p) FROM %1$s.%5$I p
        UNION ALL SELECT 'recordings', to_jsonb(r) FROM %1$s.%6$I r$q$,
        tables, prefix || 'sessions', prefix || 'calls', prefix || 'call_outcomes',
        prefix || 'participants', prefix || 'recordings');
END
$$;
COMMENT ON FUNCTION cometchat._lifecycle_rows(regnamespace, text) IS 'internal: every lifecycle row as jsonb, for cometchat.verify()';

-- The differences between the maintained rows (a table of _lifecycle_rows())
-- and the lifecycle tables of the schema recomputed, as verify() returns
-- them.  Each row is counted +1 when maintained, -1 when recomputed: a sum
-- above zero is a row that many times unexpected, below zero that many
-- times missing (EXCEPT ALL both ways); the grouping and the sort spill to
-- disk past work_mem, so memory does not grow with the ledger.
CREATE FUNCTION cometchat._differences(maintained regclass, recomputed regnamespace)
    RETURNS TABLE (table_name text, difference text, row_data jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT d.table_name, CASE WHEN d.n > 0 THEN 'unexpected' ELSE 'missing' END, d.row_data
        FROM (SELECT s.table_name, s.row_data, sum(s.n) AS n
              FROM (SELECT m.table_name, m.row_data, 1 AS n FROM %1$s m
                    UNION ALL
                    SELECT l.table_name, l.row_data, -1 FROM cometchat._lifecycle_rows($1) l) s
              GROUP BY s.table_name, s.row_data
              HAVING sum(s.n) <> 0) d,
             generate_series(1, abs(d.n)) g
        ORDER BY 1, 2, 3$q$, maintained) USING recomputed;
END
$$;
COMMENT ON FUNCTION cometchat._differences(regclass, regnamespace) IS 'internal: the differences between maintained lifecycle rows and those recomputed into a schema, for cometchat.verify() and cometchat.verify_in_steps()';

CREATE FUNCTION cometchat.verify(since timestamptz)
    RETURNS TABLE (table_name text, difference text, row_data jsonb)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    snapshot text;
    n int := 0;
BEGIN
    LOCK TABLE cometchat.events IN SHARE MODE;
    -- The maintained rows are copied to a temporary table (the recomputation
    -- empties the tables themselves), named as no temporary table of the
    -- session is: a caller's keeps its name and rows, and a second call in
    -- the same transaction takes the name again after this one dropped it.
    LOOP
        snapshot := 'cometchat_verify_' || n;
        EXIT WHEN pg_catalog.to_regclass('pg_temp.' || snapshot) IS NULL;
        n := n + 1;
    END LOOP;
    EXECUTE pg_catalog.format(
        'CREATE TEMPORARY TABLE pg_temp.%I ON COMMIT DROP AS
         SELECT l.table_name, l.row_data FROM cometchat._lifecycle_rows() l', snapshot);
    -- Recompute inside a subtransaction and roll it back: the maintained
    -- tables are left exactly as they were.  The rows returned stay (a
    -- function's result is no part of the subtransaction).
    BEGIN
        PERFORM cometchat.rebuild(since);
        RETURN QUERY
            SELECT d.table_name, d.difference, d.row_data
            FROM cometchat._differences(pg_catalog.format('pg_temp.%I', snapshot)::pg_catalog.regclass,
                                        'cometchat') d;
        RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'cometchat.verify rollback';
    EXCEPTION WHEN assert_failure THEN
        NULL;
    END;
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', snapshot);
END
$$;
COMMENT ON FUNCTION cometchat.verify(timestamptz) IS 'differences between the maintained lifecycle rows of what began at or after since (NULL: everything) and their recomputation from the ledger; no rows when consistent';

CREATE FUNCTION cometchat.verify()
    RETURNS TABLE (table_name text, difference text, row_data jsonb)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT v.table_name, v.difference, v.row_data FROM cometchat.verify(NULL::timestamptz) v $$;
COMMENT ON FUNCTION cometchat.verify() IS 'differences between the maintained lifecycle tables and a recomputation from the ledger; no rows when consistent';

-- verify() in a transaction per step_events events, beside live ingest and
-- in memory bounded by a step.  It recomputes into copies of the lifecycle
-- tables in the session's temporary schema, which the store finds by their
-- names, since ingest goes on writing the tables themselves.  A procedure
-- with transaction control takes no SET clause: every name is qualified
-- instead.  Step 0 holds the ledger in SHARE mode, as verify() does
-- throughout, for as short a time as it can: it copies the maintained rows
-- as they are (cometchat_verify_m_*, turned into jsonb only at the end),
-- makes the empty copies to recompute into (after a retirement, with the
-- rows a recomputation keeps: _forget_since), and notes the ledger's last
-- id.  The steps replay the events up to it into the copies; the last
-- compares them with the maintained rows of step 0 and leaves the
-- differences in the temporary table cometchat_verify_differences.
-- Temporary tables of these names left by an interrupted run are its own
-- (their comment tells) and taken again; any other is an error.
CREATE PROCEDURE cometchat.verify_in_steps(step_events integer DEFAULT 1000000,
                                           INOUT differences bigint DEFAULT NULL,
                                           INOUT steps integer DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    -- 1 to 5: the copies recomputed into; 6 to 10: the maintained rows.
    made CONSTANT pg_catalog.text[] := ARRAY[
        'sessions', 'calls', 'call_outcomes', 'participants', 'recordings',
        'cometchat_verify_m_sessions', 'cometchat_verify_m_calls', 'cometchat_verify_m_call_outcomes',
        'cometchat_verify_m_participants', 'cometchat_verify_m_recordings',
        'cometchat_verify_maintained', 'cometchat_verify_differences'];
    mark CONSTANT pg_catalog.text := 'made by cometchat.verify_in_steps()';
    temp_schema pg_catalog.regnamespace;
    horizon pg_catalog.timestamptz;
    done bigint := 0;
    last_id bigint;
    upto bigint;
    t pg_catalog.text;
BEGIN
    -- (An invalid step_events raises before anything is done.)
    PERFORM cometchat._step_end(0, 0, step_events);
    FOREACH t IN ARRAY made LOOP
        IF pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', t)) IS NOT NULL THEN
            IF NOT coalesce(pg_catalog.obj_description(pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', t)),
                                                       'pg_class') OPERATOR(pg_catalog.=) mark, false) THEN
                RAISE EXCEPTION 'temporary table "%" already exists', t
                    USING ERRCODE = 'duplicate_table',
                          DETAIL = 'cometchat.verify_in_steps() recomputes into temporary tables named as the lifecycle tables.',
                          HINT = 'Drop the temporary table, or run it in another session.';
            END IF;
            EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', t);
        END IF;
    END LOOP;

    LOCK TABLE cometchat.events IN SHARE MODE;
    horizon := cometchat.retired_before();
    FOREACH t IN ARRAY made[1:5] LOOP
        EXECUTE pg_catalog.format('CREATE TEMPORARY TABLE pg_temp.%I AS TABLE cometchat.%I',
                                  pg_catalog.format('cometchat_verify_m_%s', t), t);
        EXECUTE pg_catalog.format('CREATE TEMPORARY TABLE pg_temp.%1$I (LIKE cometchat.%1$I INCLUDING ALL)', t);
        -- After a retirement, what a recomputation keeps: all, then less.
        IF horizon IS NOT NULL THEN
            EXECUTE (SELECT pg_catalog.format('INSERT INTO pg_temp.%1$I (%2$s) SELECT %2$s FROM cometchat.%1$I',
                                              t, pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', '
                                                                       ORDER BY a.attnum))
                     FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('cometchat.%I', t)::pg_catalog.regclass
                       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                       AND a.attgenerated OPERATOR(pg_catalog.=) '');
        END IF;
    END LOOP;
    FOREACH t IN ARRAY made[1:10] LOOP
        EXECUTE pg_catalog.format('COMMENT ON TABLE pg_temp.%I IS %L', t, mark);
    END LOOP;
    -- (The session has a temporary schema once it has made a temporary table.)
    temp_schema := pg_catalog.pg_my_temp_schema();
    IF horizon IS NOT NULL THEN
        PERFORM cometchat._forget_since(horizon, temp_schema);
    END IF;
    last_id := (SELECT pg_catalog.max(e.id) FROM cometchat.events e);
    steps := 0;
    COMMIT;

    LOOP
        upto := cometchat._step_end(done, last_id, step_events);
        EXIT WHEN upto IS NULL;
        PERFORM cometchat._replay(after_id => done, upto_id => upto, tables => temp_schema);
        done := upto;
        steps := steps OPERATOR(pg_catalog.+) 1;
        COMMIT;
    END LOOP;

    -- A retirement meanwhile took events the copies lack.
    IF pg_catalog.num_nulls(cometchat.retired_before(), horizon) OPERATOR(pg_catalog.=) 1
       OR cometchat.retired_before() OPERATOR(pg_catalog.<>) horizon THEN
        RAISE EXCEPTION 'partitions of the ledger were retired while cometchat.verify_in_steps() ran'
            USING ERRCODE = 'object_in_use',
                  HINT = 'Run it again.';
    END IF;
    EXECUTE 'CREATE TEMPORARY TABLE pg_temp.cometchat_verify_maintained AS
             SELECT l.table_name, l.row_data FROM cometchat._lifecycle_rows($1, ''cometchat_verify_m_'') l'
        USING temp_schema;
    EXECUTE 'CREATE TEMPORARY TABLE pg_temp.cometchat_verify_differences AS
             SELECT d.table_name, d.difference, d.row_data
             FROM cometchat._differences(''pg_temp.cometchat_verify_maintained'', $1) d'
        USING temp_schema;
    EXECUTE pg_catalog.format('COMMENT ON TABLE pg_temp.cometchat_verify_differences IS %L', mark);
    EXECUTE 'SELECT pg_catalog.count(*) FROM pg_temp.cometchat_verify_differences' INTO differences;
    FOREACH t IN ARRAY made[1:11] LOOP
        EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', t);
    END LOOP;
    COMMIT;
END
$$;
COMMENT ON PROCEDURE cometchat.verify_in_steps(integer, bigint, integer) IS 'verify() in one transaction per step_events events, beside live ingest and in memory bounded by a step; leaves the differences in the temporary table cometchat_verify_differences and returns how many and the steps taken';

------------------------------------------------------------------------
-- Querying lifecycles
------------------------------------------------------------------------

-- The setting as an interval.  A C function: calling it loads the library,
-- which defines the setting, so a session that never loaded it reads the
-- default (or its own SET, checked then), never a placeholder string.
CREATE FUNCTION cometchat.stale_after() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_stale_after';
COMMENT ON FUNCTION cometchat.stale_after() IS 'cometchat.stale_after as an interval: how long an open call or session instance may go without an event before the lifecycle views call it stale';

-- answered and missed (1.4) name what a product team asks first; rejected
-- (declined by the callee) and initiated (still ringing, or its outcome
-- never arrived) are neither.
CREATE VIEW cometchat.call_lifecycle WITH (security_invoker = true) AS
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

------------------------------------------------------------------------
-- Privileges
--
-- A receiver needs only (cometchat.grant_receiver() grants it, with
-- ingest_bodies()):
--   GRANT USAGE ON SCHEMA cometchat TO receiver;
--   GRANT INSERT (payload) ON cometchat.events TO receiver;
--   GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO receiver;
-- (The trigger writes with the tables' owner's rights: see _events_trigger.)
------------------------------------------------------------------------
REVOKE ALL ON FUNCTION cometchat.ingest(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.ingest_raw(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._events_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._replay(timestamptz, bigint, bigint, boolean, regnamespace) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.rebuild() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.rebuild(timestamptz) FROM PUBLIC;
REVOKE ALL ON PROCEDURE cometchat.rebuild_in_steps(integer, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.verify() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.verify(timestamptz) FROM PUBLIC;
REVOKE ALL ON PROCEDURE cometchat.verify_in_steps(integer, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._lifecycle_rows(regnamespace, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._differences(regclass, regnamespace) FROM PUBLIC;

------------------------------------------------------------------------
-- Optional per-app row-level security
--
-- cometchat.app_access says which roles (and their members) see which
-- apps.  cometchat.enable_app_security() adds the one row of
-- cometchat.app_security, whose trigger switches row-level security on for
-- every table (and off when the row goes).  The switch is data, so pg_dump
-- keeps it, and restoring the row switches the tables on again: pg_dump keeps
-- no ALTER TABLE ... ENABLE ROW LEVEL SECURITY of an extension's tables.
-- The tables' owner bypasses the policies, so the trigger's maintenance is
-- unaffected; for other roles the ingest trigger applies the insert policy
-- to duplicates and invalid payloads too, which the table never sees.
-- (While it is on, PostgreSQL refuses COPY FROM to roles the policies apply
-- to: such receivers use INSERT or cometchat.ingest().)
------------------------------------------------------------------------
CREATE TABLE cometchat.app_access (
    role_name regrole NOT NULL,
    app_id    text NOT NULL,
    PRIMARY KEY (role_name, app_id)
);
COMMENT ON TABLE cometchat.app_access IS 'per-app row-level security: members of role_name see (and receive) app_id; active after cometchat.enable_app_security()';
COMMENT ON COLUMN cometchat.app_access.role_name IS 'a role: it and its members see, and may receive, the app''s rows';
COMMENT ON COLUMN cometchat.app_access.app_id IS 'the CometChat app';
ALTER TABLE cometchat.app_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON cometchat.app_access FOR SELECT
    USING (pg_catalog.pg_has_role(role_name, 'MEMBER'));
GRANT SELECT ON cometchat.app_access TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cometchat.app_access', '');

CREATE TABLE cometchat.app_security (
    enabled_at timestamptz NOT NULL DEFAULT now(),
    enabled_by name NOT NULL DEFAULT current_user,
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
COMMENT ON TABLE cometchat.app_security IS 'one row while per-app row-level security is on (cometchat.enable_app_security())';
COMMENT ON COLUMN cometchat.app_security.enabled_at IS 'when per-app security was switched on';
COMMENT ON COLUMN cometchat.app_security.enabled_by IS 'who switched it on';
COMMENT ON COLUMN cometchat.app_security.singleton IS 'always true: at most one row';
SELECT pg_catalog.pg_extension_config_dump('cometchat.app_security', '');

CREATE FUNCTION cometchat._app_security_switch() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted boolean := EXISTS (SELECT FROM cometchat.app_security);
    t text;
BEGIN
    -- Only the tables whose state differs from the switch: a no-op otherwise.
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'cometchat'::regnamespace
               AND c.relname IN ('events', 'rejected', 'sessions', 'calls', 'call_outcomes',
                                 'participants', 'recordings')
               AND c.relrowsecurity <> wanted
             ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE cometchat.%I %s ROW LEVEL SECURITY', t,
                       CASE WHEN wanted THEN 'ENABLE' ELSE 'DISABLE' END);
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION cometchat._app_security_switch() IS 'internal: trigger of cometchat.app_security, switches row-level security of every table';
REVOKE ALL ON FUNCTION cometchat._app_security_switch() FROM PUBLIC;
CREATE TRIGGER app_security_switch AFTER INSERT OR DELETE ON cometchat.app_security
    FOR EACH ROW EXECUTE FUNCTION cometchat._app_security_switch();
CREATE TRIGGER app_security_switch_truncate AFTER TRUNCATE ON cometchat.app_security
    FOR EACH STATEMENT EXECUTE FUNCTION cometchat._app_security_switch();

CREATE FUNCTION cometchat.app_visible(app_id text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM cometchat.app_access a
                   WHERE a.app_id = $1 AND pg_has_role(a.role_name, 'MEMBER'))
$$;
COMMENT ON FUNCTION cometchat.app_visible(text) IS 'true when the current role may see and receive rows of this app under per-app row-level security';

CREATE POLICY app_rows ON cometchat.events FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_receive ON cometchat.events FOR INSERT WITH CHECK (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.rejected FOR SELECT USING (cometchat.app_visible(payload->>'appId'));
CREATE POLICY app_rows ON cometchat.sessions FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.calls FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.call_outcomes FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.participants FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.recordings FOR SELECT USING (cometchat.app_visible(app_id));

CREATE FUNCTION cometchat.enable_app_security(enable boolean DEFAULT true) RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM cometchat.app_security WHERE NOT $1;
    INSERT INTO cometchat.app_security SELECT WHERE $1 ON CONFLICT (singleton) DO NOTHING;
$$;
COMMENT ON FUNCTION cometchat.enable_app_security(boolean) IS 'switches per-app row-level security (cometchat.app_access) on or off for every table';
REVOKE ALL ON FUNCTION cometchat.enable_app_security(boolean) FROM PUBLIC;

------------------------------------------------------------------------
-- Reading without the payloads (1.4)
--
-- Readers (cometchat.grant_reader()) see the lifecycle and what the ledger
-- knows of each event, not the bodies as received: a payload carries
-- whatever the app put in its users' metadata, the quarantine whatever
-- reached the receiver.  cometchat.event_log is the ledger without its
-- payload.  It reads the ledger with its owner's rights, so it applies
-- per-app security itself, as the ledger's policy does (app_visible(),
-- unless the switch is off or the role bypasses row-level security), and
-- it is a security barrier: a function of the reader's never sees the rows
-- it leaves out.  Comparisons of its columns (=, <, = ANY) are leakproof,
-- so they still reach the ledger's indexes.
------------------------------------------------------------------------
CREATE FUNCTION cometchat._sees_every_app() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT c.relrowsecurity
           OR pg_has_role(c.relowner, 'USAGE')
           OR EXISTS (SELECT FROM pg_roles r
                      WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls))
    FROM pg_class c
    WHERE c.oid = 'cometchat.events'::regclass
$$;
COMMENT ON FUNCTION cometchat._sees_every_app() IS 'internal: true when per-app security is off or the current role bypasses it (cometchat.event_log)';

CREATE VIEW cometchat.event_log WITH (security_barrier = true) AS
SELECT e.id AS event_id, e.received_at, e.app_id, e.region, e.webhook, e.trigger, e.kind, e.flow,
       e.session_id, e.call_id, e.occurred_at, e.idempotency_key,
       coalesce(e.payload #>> '{data,occupant,name}',
                e.payload #>> '{data,call,sender}',
                e.payload #>> '{data,recording_url}') AS detail
FROM cometchat.events e
WHERE (SELECT cometchat._sees_every_app()) OR cometchat.app_visible(e.app_id);
COMMENT ON VIEW cometchat.event_log IS 'The ledger without its payloads, for readers (cometchat.grant_reader()); per-app security applies as on the ledger';
COMMENT ON COLUMN cometchat.event_log.event_id IS 'as cometchat.events.id';
COMMENT ON COLUMN cometchat.event_log.received_at IS 'as cometchat.events.received_at';
COMMENT ON COLUMN cometchat.event_log.app_id IS 'as cometchat.events.app_id';
COMMENT ON COLUMN cometchat.event_log.region IS 'as cometchat.events.region';
COMMENT ON COLUMN cometchat.event_log.webhook IS 'as cometchat.events.webhook';
COMMENT ON COLUMN cometchat.event_log.trigger IS 'as cometchat.events.trigger';
COMMENT ON COLUMN cometchat.event_log.kind IS 'as cometchat.events.kind';
COMMENT ON COLUMN cometchat.event_log.flow IS 'as cometchat.events.flow';
COMMENT ON COLUMN cometchat.event_log.session_id IS 'as cometchat.events.session_id';
COMMENT ON COLUMN cometchat.event_log.call_id IS 'as cometchat.events.call_id';
COMMENT ON COLUMN cometchat.event_log.occurred_at IS 'as cometchat.events.occurred_at';
COMMENT ON COLUMN cometchat.event_log.idempotency_key IS 'as cometchat.events.idempotency_key';
COMMENT ON COLUMN cometchat.event_log.detail IS 'from the payload: the participant''s name (joins, leaves), the sender (call messages) or the recording''s URL';

-- Every ledger event of one session id (all its instances), plus, for a
-- ringing call, the outcome events linked to it; in the order they happened.
-- Two branches, each an index lookup (session_id; call_id), joined
-- by UNION ALL: as one OR whose arm is a subquery it could only be a scan of
-- the whole ledger.  The outcomes' ids are looked up first: as a join, the
-- second branch could not take its rows through event_log's security
-- barrier by index.  The second branch leaves out what the first returns.
-- A role that may read the ledger reads it; a reader reads event_log, whose
-- rows and detail are the same.
CREATE FUNCTION cometchat.timeline(app_id text, session_id text)
    RETURNS TABLE (occurred_at timestamptz, kind cometchat.event_kind,
                   event_id bigint, detail text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    outcome_ids text[];
BEGIN
    SELECT array_agg(o.outcome_id) INTO outcome_ids
    FROM cometchat.calls c
    JOIN cometchat.call_outcomes o ON o.app_id = c.app_id AND o.linked_call_id = c.call_id
    WHERE c.app_id = $1 AND c.session_id = $2;
    IF has_table_privilege('cometchat.events', 'SELECT') THEN
        RETURN QUERY
        SELECT e.occurred_at, e.kind, e.id,
               coalesce(e.payload #>> '{data,occupant,name}',
                        e.payload #>> '{data,call,sender}',
                        e.payload #>> '{data,recording_url}')
        FROM (SELECT * FROM cometchat.events
              WHERE events.session_id = $2 AND events.app_id = $1
              UNION ALL
              SELECT * FROM cometchat.events
              WHERE events.call_id = ANY (outcome_ids) AND events.app_id = $1
                AND events.kind IN ('call_busy', 'call_cancelled', 'call_rejected', 'call_unanswered')
                AND events.session_id IS DISTINCT FROM $2) e
        ORDER BY e.occurred_at, e.kind, e.id;
    ELSE
        RETURN QUERY
        SELECT l.occurred_at, l.kind, l.event_id, l.detail
        FROM (SELECT * FROM cometchat.event_log
              WHERE event_log.session_id = $2 AND event_log.app_id = $1
              UNION ALL
              SELECT * FROM cometchat.event_log
              WHERE event_log.call_id = ANY (outcome_ids) AND event_log.app_id = $1
                AND event_log.kind IN ('call_busy', 'call_cancelled', 'call_rejected', 'call_unanswered')
                AND event_log.session_id IS DISTINCT FROM $2) l
        ORDER BY l.occurred_at, l.kind, l.event_id;
    END IF;
END
$$;
COMMENT ON FUNCTION cometchat.timeline(text, text) IS 'the events of one session id (every instance) and the outcome events linked to its call, in the order they happened; readers without the ledger read cometchat.event_log';

------------------------------------------------------------------------
-- Finding an event by what the user has (1.4)
--
-- The ledger keeps the SHA-256 of the key text, under a unique index that
-- leads with occurred_at (1.2: a load in time order works at the index's
-- recent edge).  A lookup by key therefore names the time as well: the
-- payload's own, or, from the key text alone, each of its parts that reads
-- as a plausible time (one of them is the event's; the others miss), plus
-- NULL, the time of every unknown kind.  Each is one probe of the index.
------------------------------------------------------------------------
CREATE FUNCTION cometchat.find_event(payload jsonb) RETURNS SETOF cometchat.event_log
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c cometchat.classification := cometchat.classify(payload);
    problems text[];
    digest bytea;
BEGIN
    IF NOT c.valid THEN
        problems := cometchat.validate(payload);
        RAISE EXCEPTION 'invalid CometChat webhook payload: % problem%', cardinality(problems),
                        CASE WHEN cardinality(problems) = 1 THEN '' ELSE 's' END
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = array_to_string(problems, E'\n'),
                  HINT = 'An invalid payload is never stored in cometchat.events: look for it in cometchat.rejected.';
    END IF;
    digest := sha256(convert_to(c.idempotency_key, getdatabaseencoding()));
    IF c.occurred_at IS NULL THEN
        RETURN QUERY SELECT * FROM cometchat.event_log l
                     WHERE l.occurred_at IS NULL AND l.idempotency_key = digest;
    ELSE
        RETURN QUERY SELECT * FROM cometchat.event_log l
                     WHERE l.occurred_at = c.occurred_at AND l.idempotency_key = digest;
    END IF;
END
$$;
COMMENT ON FUNCTION cometchat.find_event(jsonb) IS 'the stored event (a cometchat.event_log row) of a payload, found by its idempotency key through the ledger''s unique index; no row when it was never stored';

CREATE FUNCTION cometchat.find_event_by_key(key text) RETURNS SETOF cometchat.event_log
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts jsonb;
    times timestamptz[];
    digest bytea := sha256(convert_to(key, getdatabaseencoding()));
BEGIN
    BEGIN
        parts := key::jsonb;
    EXCEPTION WHEN data_exception THEN
        parts := NULL;
    END;
    IF parts IS NULL OR jsonb_typeof(parts) <> 'array' OR jsonb_array_length(parts) < 4
       OR EXISTS (SELECT FROM jsonb_array_elements(parts) p WHERE jsonb_typeof(p) <> 'string') THEN
        RAISE EXCEPTION 'invalid idempotency key'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A key is a JSON array of strings: appId, webhook, trigger, then the parts that identify the event; got %s.', key),
                  HINT = 'Pass the text cometchat.idempotency_key(payload) returns, or call cometchat.find_event(payload).';
    END IF;
    SELECT array_agg(to_timestamp(p.part::bigint)) INTO times
    FROM jsonb_array_elements_text(parts) WITH ORDINALITY AS p(part, n)
    WHERE p.n > 3 AND p.part ~ '^[1-9][0-9]{8,9}$'
      AND p.part::bigint BETWEEN 946684800 AND 4102444799;   -- 2000-01-01 .. 2099-12-31
    RETURN QUERY SELECT * FROM cometchat.event_log l
                 WHERE l.occurred_at = ANY (times) AND l.idempotency_key = digest;
    RETURN QUERY SELECT * FROM cometchat.event_log l
                 WHERE l.occurred_at IS NULL AND l.idempotency_key = digest;
END
$$;
COMMENT ON FUNCTION cometchat.find_event_by_key(text) IS 'the stored event (a cometchat.event_log row) whose key text this is (as cometchat.idempotency_key() returns it), through the ledger''s unique index';

------------------------------------------------------------------------
-- Loading a file of webhook bodies (1.4)
--
-- A history import: a table of bodies, one a row (an NDJSON file loaded
-- with \copy), goes into the ledger in one INSERT, so its events are
-- applied as statement batches like any bulk load.  Every row is kept:
-- blank rows are counted and skipped, bodies that are not JSON and invalid
-- payloads are quarantined (whatever cometchat.on_invalid says), and
-- nothing a body holds can abort the load.  The bodies that look like a
-- JSON object ({...}) are parsed once, inserted by one statement and
-- counted by the same statement (validate() tells the invalid payloads from
-- the duplicates).  When one of them only looks like JSON, that statement
-- fails and is rolled back, and runs again parsing each body in a
-- subtransaction of its own (slower, but only then).  The other bodies
-- (few: error pages, truncated bodies) go through ingest_raw() one by one.
------------------------------------------------------------------------
CREATE FUNCTION cometchat._jsonb_or_null(body text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN body::jsonb;
EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION cometchat._jsonb_or_null(text) IS 'internal: the text as jsonb, NULL when it is not JSON (cometchat.ingest_bodies())';

CREATE FUNCTION cometchat.ingest_bodies(bodies regclass, body_column name DEFAULT 'body',
    OUT lines bigint, OUT accepted bigint, OUT duplicate bigint, OUT rejected bigint, OUT blank bigint)
    RETURNS record
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET cometchat.on_invalid = 'quarantine'
AS $$
DECLARE
    src text;
    load text := $q$
        WITH s AS MATERIALIZED (
                 SELECT CASE WHEN b.body LIKE '{%%}' THEN %s END AS j,
                        b.body IS NULL OR (NOT b.body LIKE '{%%}' AND b.body ~ '^\s*$') AS blank
                 FROM %s),
             stored AS (INSERT INTO cometchat.events (payload)
                        SELECT s.j FROM s WHERE s.j IS NOT NULL RETURNING 1)
        SELECT count(*), count(*) FILTER (WHERE s.blank), count(s.j),
               count(s.j) FILTER (WHERE cardinality(cometchat.validate(s.j)) > 0),
               (SELECT count(*) FROM stored)
        FROM s$q$;
    others text := 'NOT b.body LIKE ''{%}''';
    objects bigint;
    invalid bigint;
    raw_accepted bigint;
    raw_duplicate bigint;
    raw_rejected bigint;
BEGIN
    IF bodies IS NULL OR body_column IS NULL THEN
        RAISE EXCEPTION 'cometchat.ingest_bodies() needs a table and the name of its column of bodies'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Call it as cometchat.ingest_bodies(''my_table'') or cometchat.ingest_bodies(''my_table'', ''my_column'').';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_attribute a
                   WHERE a.attrelid = bodies AND a.attname = body_column
                     AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', body_column, bodies
            USING ERRCODE = 'undefined_column',
                  DETAIL = 'cometchat.ingest_bodies() reads one webhook body per row from that column.',
                  HINT = 'Name the column: cometchat.ingest_bodies(''my_table'', ''my_column'').';
    END IF;
    src := format('(SELECT %I::text AS body FROM %s) b', body_column, bodies);

    BEGIN
        EXECUTE format(load, 'b.body::jsonb', src) INTO lines, blank, objects, invalid, accepted;
    EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
        -- A body looked like a JSON object and is not: parse one at a time.
        EXECUTE format(load, 'cometchat._jsonb_or_null(b.body)', src) INTO lines, blank, objects, invalid, accepted;
        others := 'NOT b.body LIKE ''{%}'' OR cometchat._jsonb_or_null(b.body) IS NULL';
    END;
    rejected := invalid;
    duplicate := objects - accepted - invalid;

    EXECUTE format($q$
        SELECT count(*) FILTER (WHERE r.status = 'accepted'),
               count(*) FILTER (WHERE r.status = 'duplicate'),
               count(*) FILTER (WHERE r.status = 'rejected')
        FROM %s, cometchat.ingest_raw(b.body) r
        WHERE b.body !~ '^\s*$' AND (%s)$q$, src, others)
        INTO raw_accepted, raw_duplicate, raw_rejected;
    accepted := accepted + raw_accepted;
    duplicate := duplicate + raw_duplicate;
    rejected := rejected + raw_rejected;
END
$$;
COMMENT ON FUNCTION cometchat.ingest_bodies(regclass, name) IS 'ingests a table of webhook bodies, one a row (an NDJSON file loaded with \copy), in one statement: every row accepted, duplicate, rejected (quarantined, whatever cometchat.on_invalid says) or blank (skipped); returns the counts';

------------------------------------------------------------------------
-- Roles in one call (1.4)
--
-- What each use needs, in one place.  A receiver inserts into the ledger
-- (the trigger writes the quarantine and the lifecycle tables as their
-- owner); a reader reads the lifecycle tables (call_lifecycle reads them
-- with the reader's rights), the ledger without payloads (event_log, which
-- timeline() and find_event() read); payloads adds the ledger and the
-- quarantine.  The grants are made when the functions are called, never by
-- an extension script: pg_dump keeps them (a script's grants would count as
-- the extension's initial privileges, which it leaves out).
------------------------------------------------------------------------
CREATE FUNCTION cometchat._privileges(uses text[])
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
        (16, 'reader', 'SELECT', 'TABLE cometchat.ingest_stats'),
        (17, 'reader', 'EXECUTE', 'FUNCTION cometchat._ingest_stats()'),
        (18, 'reader', 'SELECT', 'TABLE cometchat.delivery_lag'),
        (19, 'reader', 'SELECT', 'TABLE cometchat.session_lifecycle')
    ) AS p(n, use, privilege, object)
    WHERE p.use = ANY ($1)
    GROUP BY p.privilege, p.object
    ORDER BY min(p.n)
$$;
COMMENT ON FUNCTION cometchat._privileges(text[]) IS 'internal: the privileges each use needs (receiver, reader, payloads)';

-- True when the role holds a privilege of its own on any object of the schema.
CREATE FUNCTION cometchat._holds_privileges(role regrole) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM pg_class c, aclexplode(c.relacl) a
                   WHERE c.relnamespace = 'cometchat'::regnamespace AND a.grantee = $1)
        OR EXISTS (SELECT FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid, aclexplode(t.attacl) a
                   WHERE c.relnamespace = 'cometchat'::regnamespace AND a.grantee = $1)
        OR EXISTS (SELECT FROM pg_proc p, aclexplode(p.proacl) a
                   WHERE p.pronamespace = 'cometchat'::regnamespace AND a.grantee = $1)
$$;
COMMENT ON FUNCTION cometchat._holds_privileges(regrole) IS 'internal: whether the role holds a privilege of its own on an object of schema cometchat';

CREATE FUNCTION cometchat._set_privileges(role regrole, uses text[], grant_them boolean)
    RETURNS SETOF text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner regrole := (SELECT n.nspowner::regrole FROM pg_namespace n WHERE n.nspname = 'cometchat');
    p record;
    stmt text;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name an existing role, e.g. cometchat.grant_reader(''dashboard'').';
    END IF;
    IF NOT pg_has_role(owner, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to % the privileges of schema "cometchat"',
                        CASE WHEN grant_them THEN 'grant' ELSE 'revoke' END
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the owner of the schema, the members of that role and superusers may.',
                  HINT = 'Run it as a superuser.';
    END IF;
    FOR p IN SELECT * FROM cometchat._privileges(uses) LOOP
        IF grant_them THEN
            stmt := format('GRANT %s ON %s TO %s', p.privilege, p.object, role);
        ELSIF p.object = 'SCHEMA cometchat' THEN
            CONTINUE;               -- last, and only when nothing else is left
        ELSE
            stmt := format('REVOKE %s ON %s FROM %s', p.privilege, p.object, role);
        END IF;
        EXECUTE stmt;
        RETURN NEXT stmt;
    END LOOP;
    IF NOT grant_them AND has_schema_privilege(role, 'cometchat', 'USAGE')
       AND NOT cometchat._holds_privileges(role) THEN
        stmt := format('REVOKE USAGE ON SCHEMA cometchat FROM %s', role);
        EXECUTE stmt;
        RETURN NEXT stmt;
    END IF;
    -- Under per-app security, a role in no listed group sees nothing.
    IF grant_them AND EXISTS (SELECT FROM cometchat.app_security)
       AND NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = role AND (r.rolsuper OR r.rolbypassrls))
       AND NOT EXISTS (SELECT FROM cometchat.app_access a WHERE pg_has_role(role, a.role_name, 'MEMBER')) THEN
        RAISE WARNING 'role "%" is not in any role listed in cometchat.app_access',
                      (SELECT r.rolname FROM pg_roles r WHERE r.oid = role)
            USING DETAIL = CASE WHEN 'receiver' = ANY (uses)
                                THEN 'Per-app security is on: the role may hand in no app''s payloads.'
                                ELSE 'Per-app security is on: the role sees no app''s rows.' END,
                  HINT = format('Add it: INSERT INTO cometchat.app_access (role_name, app_id) VALUES (%L, ''your app id'');', role);
    END IF;
END
$$;
COMMENT ON FUNCTION cometchat._set_privileges(regrole, text[], boolean) IS 'internal: grants or revokes what the uses need (cometchat.grant_reader() and the like)';

CREATE FUNCTION cometchat.grant_receiver(role regrole) RETURNS SETOF text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT cometchat._set_privileges($1, ARRAY['receiver'], true) $$;
COMMENT ON FUNCTION cometchat.grant_receiver(regrole) IS 'grants a role exactly what receiving webhooks needs: INSERT (payload) on the ledger, ingest(), ingest_raw(), ingest_bodies(); returns the statements run';

CREATE FUNCTION cometchat.revoke_receiver(role regrole) RETURNS SETOF text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT cometchat._set_privileges($1, ARRAY['receiver'], false) $$;
COMMENT ON FUNCTION cometchat.revoke_receiver(regrole) IS 'revokes what cometchat.grant_receiver() granted (USAGE on the schema only when the role holds nothing else in it); returns the statements run';

CREATE FUNCTION cometchat.grant_reader(role regrole, payloads boolean DEFAULT false) RETURNS SETOF text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT cometchat._set_privileges($1, CASE WHEN $2 THEN ARRAY['reader', 'payloads'] ELSE ARRAY['reader'] END, true)
$$;
COMMENT ON FUNCTION cometchat.grant_reader(regrole, boolean) IS 'grants a role what reading needs: the lifecycle tables, call_lifecycle, event_log (so timeline() and find_event()); with payloads => true also the ledger and the quarantine; returns the statements run';

CREATE FUNCTION cometchat.revoke_reader(role regrole) RETURNS SETOF text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT cometchat._set_privileges($1, ARRAY['reader', 'payloads'], false) $$;
COMMENT ON FUNCTION cometchat.revoke_reader(regrole) IS 'revokes what cometchat.grant_reader() granted, payloads included (USAGE on the schema only when the role holds nothing else in it); returns the statements run';

REVOKE ALL ON FUNCTION cometchat.ingest_bodies(regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.grant_receiver(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.revoke_receiver(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.grant_reader(regrole, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.revoke_reader(regrole) FROM PUBLIC;

------------------------------------------------------------------------
-- Ingest statistics and delivery lag (1.5)
--
-- The counters live in shared memory (src/ingest_stats.c): a duplicate
-- leaves no row, so they are the only record of CometChat's retries, and
-- counting one costs no write.  They need the library in
-- shared_preload_libraries; without it, reading them raises an error that
-- says so.  They are not durable: a restart starts them from zero.  The
-- view applies per-app security as event_log does.
------------------------------------------------------------------------
CREATE FUNCTION cometchat._ingest_stats(
    OUT app_id text, OUT kind text, OUT accepted bigint, OUT duplicate bigint,
    OUT rejected bigint, OUT since timestamptz)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'cc_ingest_stats';
COMMENT ON FUNCTION cometchat._ingest_stats() IS 'internal: this database''s ingest counters, from shared memory (cometchat.ingest_stats)';

CREATE VIEW cometchat.ingest_stats WITH (security_barrier = true) AS
SELECT s.app_id, s.kind, s.accepted, s.duplicate, s.rejected, s.since
FROM cometchat._ingest_stats() s
WHERE (SELECT cometchat._sees_every_app()) OR cometchat.app_visible(s.app_id);
COMMENT ON VIEW cometchat.ingest_stats IS 'Deliveries counted per app and event kind since the last reset or restart: accepted, duplicates and rejected, of committed transactions; needs cometchat_webhooks in shared_preload_libraries';
COMMENT ON COLUMN cometchat.ingest_stats.app_id IS 'the app (appId); NULL when the payload had none that could be read, and for the pairs past cometchat.stats_max';
COMMENT ON COLUMN cometchat.ingest_stats.kind IS 'the event kind (as cometchat.event_kind); NULL when the trigger could not be read';
COMMENT ON COLUMN cometchat.ingest_stats.accepted IS 'deliveries stored in the ledger';
COMMENT ON COLUMN cometchat.ingest_stats.duplicate IS 'deliveries of an event already stored (CometChat''s retries, a receiver''s resends): not stored again';
COMMENT ON COLUMN cometchat.ingest_stats.rejected IS 'deliveries quarantined in cometchat.rejected';
COMMENT ON COLUMN cometchat.ingest_stats.since IS 'when this row started counting: its first delivery after the last reset or server start';

CREATE FUNCTION cometchat.reset_ingest_stats() RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'cc_reset_ingest_stats';
COMMENT ON FUNCTION cometchat.reset_ingest_stats() IS 'forgets this database''s ingest counters (cometchat.ingest_stats); returns how many rows it removed';

-- Delivery lag: how long after it happened each event was stored, per app
-- and hour of arrival; a backlog shows as a growing lag.  Built on
-- event_log, so readers see their apps only.  It reads the whole ledger:
-- filter on hour to read less of the result, not of the ledger.
CREATE VIEW cometchat.delivery_lag WITH (security_barrier = true) AS
SELECT l.app_id,
       date_trunc('hour', l.received_at) AS hour,
       count(*) AS events,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.received_at - l.occurred_at) AS median_lag,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY l.received_at - l.occurred_at) AS p95_lag,
       max(l.received_at - l.occurred_at) AS max_lag
FROM cometchat.event_log l
WHERE l.occurred_at IS NOT NULL
GROUP BY l.app_id, date_trunc('hour', l.received_at);
COMMENT ON VIEW cometchat.delivery_lag IS 'Per app and hour of arrival: how many events were stored and how long after they happened (received_at - occurred_at); reads the whole ledger';
COMMENT ON COLUMN cometchat.delivery_lag.app_id IS 'the app';
COMMENT ON COLUMN cometchat.delivery_lag.hour IS 'the hour the events were stored in (received_at, truncated in the session''s time zone)';
COMMENT ON COLUMN cometchat.delivery_lag.events IS 'events stored in that hour (unknown kinds, which have no event time, left out)';
COMMENT ON COLUMN cometchat.delivery_lag.median_lag IS 'median of received_at - occurred_at';
COMMENT ON COLUMN cometchat.delivery_lag.p95_lag IS '95th percentile of received_at - occurred_at';
COMMENT ON COLUMN cometchat.delivery_lag.max_lag IS 'largest received_at - occurred_at';

REVOKE ALL ON FUNCTION cometchat._ingest_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.reset_ingest_stats() FROM PUBLIC;

------------------------------------------------------------------------
-- pg_dump keeps the ledger and the quarantine (user data).  The lifecycle
-- tables are derived: restoring the ledger re-runs the trigger, which
-- rebuilds them.
------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('cometchat.events_default', '');
SELECT pg_catalog.pg_extension_config_dump('cometchat.events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cometchat.rejected', '');
SELECT pg_catalog.pg_extension_config_dump('cometchat.rejected_id_seq', '');

-- cometchat_webhooks 1.4 -> 1.5
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5'" to load this file. \quit

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

-- verify() at any size (1.5)
--
-- verify() compares the maintained lifecycle tables with the recomputation
-- as relations (a temporary table of the maintained rows, a grouping that
-- spills to disk) instead of one jsonb value, which failed past 256 MB of
-- lifecycle rows.  rebuild() is unchanged in SQL; its replay (C) now
-- applies the ledger batch by batch.
------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION cometchat.verify()
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
    -- function's result is no part of the subtransaction).  Each row is
    -- counted +1 when maintained, -1 when recomputed: a sum above zero is a
    -- row that many times unexpected, below zero that many times missing
    -- (EXCEPT ALL both ways); the grouping and the sort spill to disk past
    -- work_mem, so memory does not grow with the ledger.
    BEGIN
        PERFORM cometchat.rebuild();
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT d.table_name, CASE WHEN d.n > 0 THEN ''unexpected'' ELSE ''missing'' END, d.row_data
             FROM (SELECT s.table_name, s.row_data, pg_catalog.sum(s.n) AS n
                   FROM (SELECT m.table_name, m.row_data, 1 AS n FROM pg_temp.%I m
                         UNION ALL
                         SELECT l.table_name, l.row_data, -1 FROM cometchat._lifecycle_rows() l) s
                   GROUP BY s.table_name, s.row_data
                   HAVING pg_catalog.sum(s.n) OPERATOR(pg_catalog.<>) 0) d,
                  pg_catalog.generate_series(1, pg_catalog.abs(d.n)) g
             ORDER BY 1, 2, 3', snapshot);
        RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'cometchat.verify rollback';
    EXCEPTION WHEN assert_failure THEN
        NULL;
    END;
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', snapshot);
END
$$;
COMMENT ON FUNCTION cometchat.verify() IS 'differences between the maintained lifecycle tables and a recomputation from the ledger; no rows when consistent';
REVOKE ALL ON FUNCTION cometchat.verify() FROM PUBLIC;
-- Bulk loads claim their ids instead of holding 1,024 lock buckets
------------------------------------------------------------------------
-- Writers in progress take the buckets, later ones the id locks and claims
-- (lifecycle_locks.c): wait for those in progress, and hold new ones off
-- until this commits, so that the two schemes never run side by side.
LOCK TABLE cometchat.events IN SHARE MODE;

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

-- A reader reads session_lifecycle, ingest_stats and delivery_lag too.
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
        (16, 'reader', 'SELECT', 'TABLE cometchat.ingest_stats'),
        (17, 'reader', 'EXECUTE', 'FUNCTION cometchat._ingest_stats()'),
        (18, 'reader', 'SELECT', 'TABLE cometchat.delivery_lag'),
        (19, 'reader', 'SELECT', 'TABLE cometchat.session_lifecycle')
    ) AS p(n, use, privilege, object)
    WHERE p.use = ANY ($1)
    GROUP BY p.privilege, p.object
    ORDER BY min(p.n)
$$;

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

-- Readers get the counters and the lag.
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
        (18, 'reader', 'SELECT', 'TABLE cometchat.delivery_lag')
    ) AS p(n, use, privilege, object)
    WHERE p.use = ANY ($1)
    GROUP BY p.privilege, p.object
    ORDER BY min(p.n)
$$;
COMMENT ON FUNCTION cometchat._privileges(text[]) IS 'internal: the privileges each use needs (receiver, reader, payloads)';

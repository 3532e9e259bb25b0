-- cometchat_webhooks 1.2 -> 1.3: the ledger's events_session index is on the
-- session id alone, calls keeps room for its rows' updates, and timeline()
-- reads the ledger through its indexes.
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.3'" to load this file. \quit

-- (session_id, app_id, occurred_at) made nearly every entry unique and ~100
-- bytes long; on the id alone a session's rows share one deduplicated entry.
-- The index is rebuilt, holding an exclusive lock on cometchat.events for the
-- time it takes.
DROP INDEX cometchat.events_session;
CREATE INDEX events_session ON cometchat.events (session_id);

-- A calls row is updated after it is inserted (answered, ended, counted):
-- room on its page lets the update stay there and skip the four indexes.
-- (Pages written from now on.)
ALTER TABLE cometchat.calls SET (fillfactor = 90);

-- Was one OR whose arm is a subquery: a scan of the whole ledger.
CREATE OR REPLACE FUNCTION cometchat.timeline(app_id text, session_id text)
    RETURNS TABLE (occurred_at timestamptz, kind cometchat.event_kind,
                   event_id bigint, detail text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.occurred_at, e.kind, e.id,
           coalesce(e.payload #>> '{data,occupant,name}',
                    e.payload #>> '{data,call,sender}',
                    e.payload #>> '{data,recording_url}')
    FROM (SELECT * FROM cometchat.events
          WHERE events.session_id = $2 AND events.app_id = $1
          UNION ALL
          SELECT * FROM cometchat.events
          WHERE events.call_id IN (SELECT o.outcome_id FROM cometchat.call_outcomes o
                                   JOIN cometchat.calls c
                                     ON c.app_id = o.app_id AND c.call_id = o.linked_call_id
                                   WHERE o.app_id = $1 AND c.session_id = $2)
            AND events.app_id = $1
            AND events.kind IN ('call_busy', 'call_cancelled', 'call_rejected', 'call_unanswered')
            AND events.session_id IS DISTINCT FROM $2) e
    ORDER BY e.occurred_at, e.kind, e.id
$$;

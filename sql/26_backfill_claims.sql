-- A transaction that writes more ids (session ids, conversations) than
-- max_locks_per_transaction claims them with rows of its own in
-- cometchat.lifecycle_claims instead of holding a lock each
-- (src/lifecycle_locks.c).  The claims stand until it ends and leave no
-- row behind: through a savepoint rolled back, a verify() (a rolled-back
-- subtransaction), a PREPARE TRANSACTION, and a rollback.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SHOW max_locks_per_transaction;

-- One advisory lock of this backend per id it holds a lock for (tag
-- type 0xCC03, which pg_locks shows as a signed int2).
CREATE FUNCTION pg_temp.id_locks() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND pid = pg_backend_pid()
      AND (objsubid::int + 65536) % 65536 = x'CC03'::int $$;

-- A live-sized transaction keeps its id lock to its end.
BEGIN;
INSERT INTO cometchat.events (payload) VALUES (pg_temp.started('meeting_started', 'live-room', 1700000000));
SELECT pg_temp.id_locks() AS id_locks;
COMMIT;

-- 100 rooms in one statement: more than 64 ids, claimed, no lock kept.
BEGIN;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.started('meeting_started', 'room-' || g, 1700000000 + g) FROM generate_series(1, 100) g;
SELECT pg_temp.id_locks() AS id_locks;
-- The claims are this transaction's rows, deleted before it commits.
SELECT count(*) AS claims_seen_by_itself FROM cometchat.lifecycle_claims;
SAVEPOINT s;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.started('meeting_started', 'gone-' || g, 1700000000 + g) FROM generate_series(1, 100) g;
ROLLBACK TO s;
-- Rooms claimed before, and new ones.
INSERT INTO cometchat.events (payload)
SELECT pg_temp.ended('meeting_ended', 'room-' || g, 1700000000 + g, 1700003600 + g) FROM generate_series(1, 150) g;
SELECT count(*) AS differences FROM cometchat.verify();
COMMIT;
SELECT count(*) AS claims_left FROM cometchat.lifecycle_claims;
SELECT count(*) AS sessions, count(*) FILTER (WHERE status = 'ended') AS ended,
       count(*) FILTER (WHERE session_id LIKE 'gone-%') AS gone
FROM cometchat.sessions;
SELECT count(*) AS differences FROM cometchat.verify();

-- Prepared: the claims stand for the prepared transaction until COMMIT PREPARED.
BEGIN;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.started('meeting_started', 'prepared-' || g, 1700000000 + g) FROM generate_series(1, 100) g;
PREPARE TRANSACTION 'cc_backfill_claims';
SELECT count(*) AS claims_visible FROM cometchat.lifecycle_claims;
COMMIT PREPARED 'cc_backfill_claims';
SELECT count(*) AS prepared_sessions FROM cometchat.sessions WHERE session_id LIKE 'prepared-%';

-- Rolled back: nothing of it stays.
BEGIN;
INSERT INTO cometchat.events (payload)
SELECT pg_temp.started('meeting_started', 'rolled-' || g, 1700000000 + g) FROM generate_series(1, 100) g;
ROLLBACK;
SELECT count(*) AS rolled_sessions FROM cometchat.sessions WHERE session_id LIKE 'rolled-%';
SELECT count(*) AS claims_left FROM cometchat.lifecycle_claims;
SELECT count(*) AS differences FROM cometchat.verify();

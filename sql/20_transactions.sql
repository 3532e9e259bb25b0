-- Ingest inside explicit transactions: several statements, savepoints and
-- rollbacks.  No WARNING may appear (a key lock taken by one statement is
-- released by the next one's row), a rolled-back row is not a duplicate, and
-- a savepoint rollback undoes both the ledger row and its lifecycle effect.
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
CREATE TEMP TABLE p (name text PRIMARY KEY, payload jsonb);
INSERT INTO p VALUES
 ('start', '{"trigger":"meeting_started","type":"meet","appId":"app1","region":"us","webhook":"wh1","data":{"sessionId":"room-t","created_at":1700000000}}'),
 ('join_a', '{"trigger":"meeting_participant_joined","type":"meet","appId":"app1","region":"us","webhook":"wh1","data":{"sessionId":"room-t","occupant":{"joined_at":1700000001,"name":"A"}}}'),
 ('join_b', '{"trigger":"meeting_participant_joined","type":"meet","appId":"app1","region":"us","webhook":"wh1","data":{"sessionId":"room-t","occupant":{"joined_at":1700000002,"name":"B"}}}');

-- Several statements in one transaction, each a different event, then the
-- same events again: all skipped, nothing raised or warned.
BEGIN;
INSERT INTO cometchat.events(payload) SELECT payload FROM p WHERE name = 'start';
INSERT INTO cometchat.events(payload) SELECT payload FROM p WHERE name = 'join_a';
SELECT status FROM cometchat.ingest((SELECT payload FROM p WHERE name = 'join_b'));
INSERT INTO cometchat.events(payload) SELECT payload FROM p ORDER BY name;
SELECT status FROM cometchat.ingest((SELECT payload FROM p WHERE name = 'start'));
COMMIT;
SELECT kind, count(*) FROM cometchat.events GROUP BY kind ORDER BY kind;

-- A rolled-back insert leaves no trace: the payload is new again afterwards.
TRUNCATE cometchat.events, cometchat.sessions, cometchat.participants;
BEGIN;
INSERT INTO cometchat.events(payload) SELECT payload FROM p WHERE name = 'start';
ROLLBACK;
SELECT count(*) AS events, (SELECT count(*) FROM cometchat.sessions) AS sessions FROM cometchat.events;
SELECT status FROM cometchat.ingest((SELECT payload FROM p WHERE name = 'start'));

-- A savepoint rolled back undoes the join and its count.
BEGIN;
SAVEPOINT s;
INSERT INTO cometchat.events(payload) SELECT payload FROM p WHERE name = 'join_a';
SELECT participant_count FROM cometchat.sessions WHERE session_id = 'room-t';
ROLLBACK TO SAVEPOINT s;
SELECT participant_count FROM cometchat.sessions WHERE session_id = 'room-t';
INSERT INTO cometchat.events(payload) SELECT payload FROM p WHERE name = 'join_b';
COMMIT;
SELECT name FROM cometchat.participants ORDER BY name;
SELECT status FROM cometchat.ingest((SELECT payload FROM p WHERE name = 'join_a'));
SELECT participant_count FROM cometchat.sessions WHERE session_id = 'room-t';

-- UPDATE is refused: the ledger is append-only.
\set VERBOSITY terse
UPDATE cometchat.events SET payload = payload WHERE kind = 'meeting_started';
\set VERBOSITY default
SELECT * FROM cometchat.verify();
DROP TABLE p;

-- A subtransaction per event (an exception block around each insert) keeps
-- no memory once its event is applied: 3,000 of them in one transaction
-- leave the backend's memory contexts under 12 MB in all.  (The queued
-- event's memory used to stay until the transaction ended: 8 kB each, some
-- 24 MB here.)
BEGIN;
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    BEGIN
      INSERT INTO cometchat.events (payload) VALUES (jsonb_build_object(
        'trigger', 'meeting_participant_joined', 'type', 'meet', 'appId', 'app1', 'region', 'us',
        'webhook', 'wh1', 'data', jsonb_build_object('sessionId', 'room-mem', 'occupant',
          jsonb_build_object('joined_at', 1700000000 + i, 'name', 'u' || i))));
    EXCEPTION WHEN others THEN RAISE;
    END;
  END LOOP;
END $$;
SELECT sum(total_bytes) < 12 * 1024 * 1024 AS memory_flat FROM pg_backend_memory_contexts;
SELECT count(*) AS participants FROM cometchat.participants WHERE session_id = 'room-mem';
ROLLBACK;

-- test/pgtap/lifecycle_properties.sql: the lifecycle tables are a function of
-- the set of events, whatever order they arrive in.
--
-- Generates a realistic stream (test/gen/stream.sql: several apps, fan-out,
-- duplicates, reordering, every outcome, reused rooms, lost events, ...),
-- ingests it in delivery order and checks the lifecycle tables against what
-- the generator says they must hold.  Then, for other orders of the same
-- deliveries (reversed, random, ends-first), empties every table of the
-- extension, ingests again and checks that cometchat._lifecycle_rows() is
-- exactly the first snapshot, that cometchat.verify() finds nothing and that
-- cometchat.rebuild() gives the same rows again.  Every order is ingested
-- twice: in one statement, whose events are applied at its end grouped by
-- session id (the default cometchat.batch_size), and with
-- cometchat.batch_size = 1, each event applied as its row is inserted, in
-- the order of the permutation.
--
-- Needs pgtap and cometchat_webhooks in the database, and the default
-- cometchat.outcome_window (any value of 60 s or more gives the same result:
-- an outcome always follows its own call within 60 s, and the next call of
-- its conversation comes at least 61 s after).  Everything runs in one
-- transaction, rolled back at the end.
--
--     pg_prove -d DB test/pgtap/lifecycle_properties.sql

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;

\ir ../gen/stream.sql

SET LOCAL client_min_messages = warning;

-- The stream: seed, ringing calls, meetings (defaults: dup_rate 0.1,
-- reorder_window 5, 3 apps).
\set seed 20240304
\set n_calls 300
\set n_meetings 120

SELECT plan(90);

CREATE TEMP TABLE gen AS
SELECT seq, payload FROM cc_gen.stream(:seed, :n_calls, :n_meetings);

-- The orders the stream is ingested in: 0 is the delivery order; the others
-- are permutations of the same deliveries, duplicates included.
CREATE TEMP TABLE perms (perm int, label text, seq bigint, pos bigint);
INSERT INTO perms
SELECT 0, 'delivery order', seq, seq FROM gen
UNION ALL
SELECT 1, 'reversed', seq, row_number() OVER (ORDER BY seq DESC) FROM gen
UNION ALL
SELECT p, 'random permutation ' || p, seq,
       row_number() OVER (PARTITION BY p ORDER BY cc_gen.u(p, 77, seq), seq)
FROM gen, generate_series(2, 5) p
UNION ALL
-- the natural order backwards: recordings and ends first, call_initiated last
SELECT 6, 'ends first', seq,
       row_number() OVER (ORDER BY CASE payload->>'trigger'
                                       WHEN 'recording_generated' THEN 0
                                       WHEN 'call_ended' THEN 1 WHEN 'meeting_ended' THEN 1
                                       WHEN 'call_participant_left' THEN 2
                                       WHEN 'meeting_participant_left' THEN 2
                                       WHEN 'call_participant_joined' THEN 3
                                       WHEN 'meeting_participant_joined' THEN 3
                                       WHEN 'call_started' THEN 4 WHEN 'meeting_started' THEN 4
                                       WHEN 'call_initiated' THEN 6
                                       ELSE 5 END,
                                  cc_gen.u(6, 77, seq), seq)
FROM gen;
CREATE INDEX ON perms (perm, pos);

-- Empties every table of the extension, then inserts the deliveries into the
-- ledger in the order of permutation p.
CREATE FUNCTION pg_temp.ingest(p int) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(c.oid::regclass::text, ', ')
             FROM pg_class c
             JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.deptype = 'e'
             JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'cometchat_webhooks'
             WHERE c.relkind IN ('r', 'p'));
    INSERT INTO cometchat.events (payload)
    SELECT g.payload
    FROM perms o JOIN gen g ON g.seq = o.seq
    WHERE o.perm = p
    ORDER BY o.pos;
END
$$;

-- The ledger as it must be after ingesting permutation p: each distinct
-- payload once, in the order of its first delivery.
CREATE FUNCTION pg_temp.expected_ledger(p int) RETURNS TABLE (payload jsonb)
    LANGUAGE sql
AS $$
    SELECT g.payload
    FROM perms o JOIN gen g ON g.seq = o.seq
    WHERE o.perm = p
    GROUP BY g.payload
    ORDER BY min(o.pos)
$$;

------------------------------------------------------------------------
-- The stream itself
------------------------------------------------------------------------

SELECT ok((SELECT count(*) > 3000 AND min(seq) = 1 AND max(seq) = count(*)
                  AND count(DISTINCT seq) = count(*) FROM gen),
          'the generator gives a stream of thousands of deliveries, numbered 1..n');

SELECT results_eq(
    format('SELECT seq, payload FROM cc_gen.stream(%s, %s, %s) ORDER BY seq', :seed, :n_calls, :n_meetings),
    'SELECT seq, payload FROM gen ORDER BY seq',
    'the generator is deterministic');

SELECT is_empty(
    'SELECT seq, cometchat.validate(payload) FROM gen WHERE cardinality(cometchat.validate(payload)) > 0',
    'every generated payload is valid');

-- The features the properties below are about must all be in the stream.
CREATE TEMP TABLE ev AS
SELECT seq, payload, payload->>'trigger' AS trig, payload->>'appId' AS app,
       coalesce(payload #>> '{data,sessionId}',
                payload #>> '{data,call,data,entities,on,entity,sessionid}') AS sid,
       payload #>> '{data,occupant,name}' AS name,
       (payload #>> '{data,occupant,joined_at}')::bigint AS joined_at
FROM gen;

SELECT is(
    ARRAY(SELECT f FROM (VALUES
        ('all 14 triggers',
         (SELECT count(DISTINCT trig) = 14 FROM ev)),
        ('several apps',
         (SELECT count(DISTINCT app) >= 3 FROM ev)),
        ('fan-out: one event, two webhooks',
         EXISTS (SELECT FROM ev GROUP BY payload - 'webhook' HAVING count(DISTINCT payload->>'webhook') > 1)),
        ('exact duplicate deliveries',
         (SELECT count(*) > count(DISTINCT payload) FROM ev)),
        ('call_initiated without entities',
         EXISTS (SELECT FROM ev WHERE trig = 'call_initiated' AND payload #> '{data,call,data,entities}' IS NULL)),
        ('group calls answered and not',
         EXISTS (SELECT FROM ev WHERE trig = 'call_initiated' AND payload #>> '{data,call,receiverType}' = 'group')
         AND EXISTS (SELECT FROM ev WHERE trig IN ('call_unanswered', 'call_cancelled')
                                      AND payload #>> '{data,call,receiverType}' = 'group')),
        ('busy and rejected sent by the callee',
         EXISTS (SELECT FROM ev o JOIN ev i ON i.trig = 'call_initiated' AND i.app = o.app
                                  AND i.payload #>> '{data,call,conversationId}' = o.payload #>> '{data,call,conversationId}'
                                  AND i.payload #>> '{data,call,sender}' = o.payload #>> '{data,call,receiver}'
                                  AND (i.payload #>> '{data,call,id}')::bigint + 1 = (o.payload #>> '{data,call,id}')::bigint
                 WHERE o.trig IN ('call_busy', 'call_rejected'))),
        ('an outcome inside the window of an older call of its conversation',
         EXISTS (SELECT FROM ev o
                 JOIN ev c1 ON c1.trig = 'call_initiated' AND c1.app = o.app
                           AND c1.payload #>> '{data,call,conversationId}' = o.payload #>> '{data,call,conversationId}'
                 JOIN ev c2 ON c2.trig = 'call_initiated' AND c2.app = o.app
                           AND c2.payload #>> '{data,call,conversationId}' = o.payload #>> '{data,call,conversationId}'
                 WHERE o.trig IN ('call_busy', 'call_rejected', 'call_cancelled', 'call_unanswered')
                   AND (c1.payload #>> '{data,call,sentAt}')::bigint < (c2.payload #>> '{data,call,sentAt}')::bigint
                   AND (c2.payload #>> '{data,call,sentAt}')::bigint <= (o.payload #>> '{data,call,sentAt}')::bigint
                   AND (o.payload #>> '{data,call,sentAt}')::bigint <= (c1.payload #>> '{data,call,sentAt}')::bigint + 300)),
        ('calls still ringing, calls ongoing, meetings running',
         EXISTS (SELECT FROM ev i WHERE i.trig = 'call_initiated' AND i.sid IS NOT NULL
                   AND NOT EXISTS (SELECT FROM ev s WHERE s.trig = 'call_started' AND s.app = i.app AND s.sid = i.sid)
                   AND NOT EXISTS (SELECT FROM ev o WHERE o.app = i.app
                                     AND o.payload #>> '{data,call,id}' = ((i.payload #>> '{data,call,id}')::bigint + 1)::text))
         AND EXISTS (SELECT FROM ev s WHERE s.trig = 'call_started'
                       AND NOT EXISTS (SELECT FROM ev e WHERE e.trig = 'call_ended' AND e.app = s.app AND e.sid = s.sid))
         AND EXISTS (SELECT FROM ev s WHERE s.trig = 'meeting_started'
                       AND NOT EXISTS (SELECT FROM ev e WHERE e.trig = 'meeting_ended' AND e.app = s.app AND e.sid = s.sid
                                         AND e.payload #> '{data,created_at}' = s.payload #> '{data,created_at}'))),
        ('a room reused on another day, and by another app',
         EXISTS (SELECT FROM ev WHERE trig = 'meeting_started' GROUP BY app, sid
                 HAVING count(DISTINCT payload #> '{data,created_at}') > 1)
         AND EXISTS (SELECT FROM ev WHERE trig = 'meeting_started' GROUP BY sid HAVING count(DISTINCT app) > 1)),
        ('two people joining in the same second',
         EXISTS (SELECT FROM ev WHERE trig LIKE '%participant_joined' GROUP BY app, sid, joined_at
                 HAVING count(DISTINCT name) > 1)),
        ('a rejoin (one name, two intervals)',
         EXISTS (SELECT FROM ev WHERE trig LIKE '%participant_joined' GROUP BY app, sid, name
                 HAVING count(DISTINCT joined_at) > 1)),
        ('a lost leave, and a lost join and leave: known only from all_occupants',
         EXISTS (SELECT FROM ev e, jsonb_array_elements(e.payload #> '{data,all_occupants}') o
                 WHERE e.trig LIKE '%ended' AND NOT EXISTS (
                     SELECT FROM ev l WHERE l.trig LIKE '%participant_left' AND l.app = e.app AND l.sid = e.sid
                       AND l.name = o->>'name' AND l.joined_at = (o->>'joined_at')::bigint))
         AND EXISTS (SELECT FROM ev e, jsonb_array_elements(e.payload #> '{data,all_occupants}') o
                 WHERE e.trig LIKE '%ended' AND NOT EXISTS (
                     SELECT FROM ev j WHERE j.trig LIKE '%participant_%' AND j.app = e.app AND j.sid = e.sid
                       AND j.name = o->>'name' AND j.joined_at = (o->>'joined_at')::bigint))),
        ('recordings of calls and of meetings, startTime and duration as strings',
         EXISTS (SELECT FROM ev WHERE trig = 'recording_generated' AND sid LIKE 'v1.%'
                   AND jsonb_typeof(payload #> '{data,startTime}') = 'string'
                   AND jsonb_typeof(payload #> '{data,duration}') = 'string')
         AND EXISTS (SELECT FROM ev WHERE trig = 'recording_generated' AND sid NOT LIKE 'v1.%')),
        ('deliveries out of order: a join before its start, a leave after its end',
         EXISTS (SELECT FROM ev j JOIN ev s ON s.trig LIKE '%started' AND s.app = j.app AND s.sid = j.sid
                 WHERE j.trig LIKE '%participant_joined' AND j.seq < s.seq
                   AND j.joined_at >= (s.payload #>> '{data,created_at}')::bigint)
         AND EXISTS (SELECT FROM ev l JOIN ev e ON e.trig LIKE '%ended' AND e.app = l.app AND e.sid = l.sid
                 WHERE l.trig LIKE '%participant_left' AND l.seq > e.seq
                   AND (l.payload #>> '{data,occupant,left_at}')::bigint <= (e.payload #>> '{data,destroyed_at}')::bigint
                   AND l.joined_at >= (e.payload #>> '{data,created_at}')::bigint))
    ) v(f, present) WHERE NOT present ORDER BY f),
    '{}'::text[],
    'the stream has every feature the properties are about (listed: missing ones)');

------------------------------------------------------------------------
-- Delivery order: the lifecycle tables hold what the generator planned
------------------------------------------------------------------------

SELECT pg_temp.ingest(0);

SELECT results_eq('SELECT payload FROM cometchat.events ORDER BY id',
                  'SELECT payload FROM pg_temp.expected_ledger(0)',
                  'delivery order: the ledger has each distinct payload once, in delivery order');
SELECT is_empty('SELECT * FROM cometchat.rejected', 'delivery order: nothing in cometchat.rejected');
SELECT is((SELECT count(*) FROM cometchat.events), (SELECT count(DISTINCT payload) FROM gen),
          'delivery order: ledger rows = distinct payloads');

SELECT bag_eq(
    'SELECT app_id, session_id, call_id, status::text, participant_count FROM cometchat.calls',
    format('SELECT * FROM cc_gen.expected_calls(%s, %s, %s)', :seed, :n_calls, :n_meetings),
    'every call has the status and participant_count the generator planned');

SELECT bag_eq(
    'SELECT app_id, session_id, started_at, mode::text, ended_at, participant_count,
            peak_participants, recording_count FROM cometchat.sessions',
    format('SELECT * FROM cc_gen.expected_sessions(%s, %s, %s)', :seed, :n_calls, :n_meetings),
    'every session instance (calls and meetings, reused rooms apart) has the planned times, participant_count, peak and recordings');

SELECT bag_eq(
    'SELECT app_id, outcome_id, conversation_id, outcome::text, sent_at, linked_call_id FROM cometchat.call_outcomes',
    format('SELECT * FROM cc_gen.expected_outcomes(%s, %s, %s)', :seed, :n_calls, :n_meetings),
    'every outcome event is linked to its own call');

SELECT is_empty('SELECT * FROM cometchat.verify()', 'delivery order: cometchat.verify() finds nothing');

CREATE TEMP TABLE snapshot AS SELECT table_name, row_data FROM cometchat._lifecycle_rows();

DO $$ BEGIN PERFORM cometchat.rebuild(); END $$;
SELECT bag_eq('SELECT table_name, row_data FROM cometchat._lifecycle_rows()',
              'SELECT table_name, row_data FROM snapshot',
              'delivery order: cometchat.rebuild() gives the same rows');

------------------------------------------------------------------------
-- Other orders: the same rows
------------------------------------------------------------------------

CREATE FUNCTION pg_temp.check_order(p int, batch_size int DEFAULT NULL) RETURNS SETOF text
    LANGUAGE plpgsql
AS $$
DECLARE
    label text := (SELECT min(o.label) FROM perms o WHERE o.perm = p)
                  || CASE WHEN batch_size IS NULL THEN '' ELSE ', batch_size ' || batch_size END;
    saved text := current_setting('cometchat.batch_size');
BEGIN
    IF batch_size IS NOT NULL THEN
        PERFORM set_config('cometchat.batch_size', batch_size::text, true);
    END IF;
    PERFORM pg_temp.ingest(p);
    PERFORM set_config('cometchat.batch_size', saved, true);
    RETURN NEXT results_eq('SELECT payload FROM cometchat.events ORDER BY id',
                           format('SELECT payload FROM pg_temp.expected_ledger(%s)', p),
                           label || ': the ledger has each distinct payload once, in this order');
    RETURN NEXT is_empty('SELECT * FROM cometchat.rejected', label || ': nothing in cometchat.rejected');
    RETURN NEXT is((SELECT count(*) FROM cometchat.events), (SELECT count(DISTINCT g.payload) FROM gen g),
                   label || ': ledger rows = distinct payloads');
    RETURN NEXT bag_eq('SELECT table_name, row_data FROM cometchat._lifecycle_rows()',
                       'SELECT table_name, row_data FROM snapshot',
                       label || ': the lifecycle rows are those of the delivery order');
    RETURN NEXT is_empty('SELECT * FROM cometchat.verify()', label || ': cometchat.verify() finds nothing');
    PERFORM cometchat.rebuild();
    RETURN NEXT bag_eq('SELECT table_name, row_data FROM cometchat._lifecycle_rows()',
                       'SELECT table_name, row_data FROM snapshot',
                       label || ': cometchat.rebuild() gives the same rows');
END
$$;

SELECT * FROM pg_temp.check_order(1);
SELECT * FROM pg_temp.check_order(2);
SELECT * FROM pg_temp.check_order(3);
SELECT * FROM pg_temp.check_order(4);
SELECT * FROM pg_temp.check_order(5);
SELECT * FROM pg_temp.check_order(6);
SELECT * FROM pg_temp.check_order(0, 1);
SELECT * FROM pg_temp.check_order(1, 1);
SELECT * FROM pg_temp.check_order(2, 1);
SELECT * FROM pg_temp.check_order(3, 1);
SELECT * FROM pg_temp.check_order(4, 1);
SELECT * FROM pg_temp.check_order(5, 1);
SELECT * FROM pg_temp.check_order(6, 1);

SELECT * FROM finish();
ROLLBACK;

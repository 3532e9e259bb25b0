-- A COPY into the ledger writes through the ring of buffers that COPY uses
-- (16 MB, or an eighth of shared_buffers when that is less), as a COPY into
-- a plain table does, even when it carries retried deliveries: the probe
-- that finds a duplicate's original reads it through a ring of its own, so
-- the original's page keeps the usage count that lets the COPY reuse its
-- buffer.  Read plainly, every page holding an original would stay in
-- shared_buffers, the COPY would take a new buffer for each page it writes,
-- and a backfill would sweep the whole pool.
CREATE EXTENSION IF NOT EXISTS pg_buffercache;
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

-- (No JIT for building the input: nothing here is about it, and it is slow
-- to load under valgrind.)
SET jit = off;
-- 12,000 meetings' starts of ~1.6 kB (four rows a page, stored inline),
-- each delivered again 100 deliveries later (its original is then on a page
-- the COPY has left: while the COPY holds a page, reading it changes
-- nothing).
CREATE TEMP TABLE ring_input AS
SELECT n, d, jsonb_build_object(
         'trigger', 'meeting_started', 'type', 'meet', 'appId', 'ringapp', 'region', 'us',
         'webhook', 'w1', 'note', repeat('x', 1500),
         'data', jsonb_build_object('created_at', 1700000000 + n,
                                    'sessionId', 'v1.us.ringapp.ring' || n))::text AS line
FROM generate_series(1, 12000) n, generate_series(1, 2) d;
\copy (SELECT line FROM ring_input ORDER BY n + 100 * (d - 1), d) TO '/tmp/cometchat_ring_test.copy'
\copy cometchat.events (payload) FROM '/tmp/cometchat_ring_test.copy'
\! rm -f /tmp/cometchat_ring_test.copy

-- The ring's size, in buffers (freelist.c: 16 MB, at most NBuffers / 8).
SELECT least(16 * 1024 * 1024 / current_setting('block_size')::int,
             setting::int / 8) AS ring
FROM pg_settings WHERE name = 'shared_buffers' \gset
-- The ledger is larger than the ring (else this shows nothing) ...
SELECT pg_relation_size('cometchat.events_default') / current_setting('block_size')::int > :ring + 500
       AS ledger_outgrows_ring;
-- ... and the COPY left none of its pages with a usage count above 1, which
-- is what keeps a buffer out of the ring when the COPY comes round to it.
-- (How many of its pages are in shared_buffers says it less steadily: a
-- buffer another process has pinned, to write it out, when the COPY comes
-- round to it is left out of the ring as well; in a run under valgrind that
-- count went past the ring.)
SELECT count(*) FILTER (WHERE usagecount > 1) AS hot_pages, count(*) AS pages_in_pool, :ring AS ring
FROM pg_buffercache
WHERE relfilenode = pg_relation_filenode('cometchat.events_default')
  AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND relforknumber = 0 \gset
-- (With the pages in the pool to look at: evicted, they would say nothing.)
SELECT :hot_pages <= 16 AND :pages_in_pool > 500 AS ledger_left_to_the_ring;

-- (Read after the check: a scan of a table this small uses no ring.)
SELECT count(*) AS events, count(DISTINCT session_id) AS sessions FROM cometchat.events;
SELECT count(*) AS sessions FROM cometchat.sessions;

SELECT * FROM cometchat.verify();
DROP EXTENSION pg_buffercache;

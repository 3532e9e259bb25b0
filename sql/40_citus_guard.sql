-- The Citus guard (src/citus_guard.c).  Citus cannot be built here, so this
-- file makes what the guard reads: a table pg_catalog.pg_dist_partition (the
-- relation CREATE EXTENSION citus creates; its presence is what says Citus is
-- installed) with our tables' OIDs in its column logicalrelid, as
-- create_distributed_table() leaves them, and a copy of the ledger named like
-- a shard with the ingest trigger on it, as Citus creates on a worker.  Every
-- entry point (an INSERT through the trigger, ingest(), ingest_raw(),
-- rebuild(), verify()) then raises 0A000 and writes nothing.  The guard keeps
-- its answers for the session: the test changes the catalog mid-session and
-- checks that each change is seen (syscache invalidation when the relation
-- appears or goes, relcache invalidation when a row of it changes).
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all
\set SHOW_CONTEXT never

-- The SQLSTATE a statement raises, or 'ok'.
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
-- Every entry point once, each with a payload of its own.
CREATE FUNCTION pg_temp.entry_points(n int)
RETURNS TABLE (entry_point text, sqlstate text) LANGUAGE sql AS $$
  SELECT e, pg_temp.sqlstate_of(s) FROM (VALUES
    ('INSERT (trigger)', format($q$INSERT INTO cometchat.events (payload)
                                  SELECT pg_temp.started('call_started', 'G%s-1', 1700040000)$q$, n)),
    ('ingest()', format($q$SELECT cometchat.ingest(pg_temp.started('call_started', 'G%s-2', 1700040000))$q$, n)),
    ('ingest_raw(json)', format($q$SELECT cometchat.ingest_raw(pg_temp.started('call_started', 'G%s-3', 1700040000)::text)$q$, n)),
    ('ingest_raw(not json)', $q$SELECT cometchat.ingest_raw('{not json')$q$),
    ('rebuild()', 'SELECT cometchat.rebuild()'),
    ('verify()', 'SELECT * FROM cometchat.verify()')) v(e, s) $$;
-- Rows in every table: what the entry points wrote.
CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
  SELECT format('events %s, rejected %s, sessions %s, calls %s, participants %s, recordings %s, call_outcomes %s',
    (SELECT count(*) FROM cometchat.events), (SELECT count(*) FROM cometchat.rejected),
    (SELECT count(*) FROM cometchat.sessions), (SELECT count(*) FROM cometchat.calls),
    (SELECT count(*) FROM cometchat.participants), (SELECT count(*) FROM cometchat.recordings),
    (SELECT count(*) FROM cometchat.call_outcomes)) $$;
TRUNCATE cometchat.rejected RESTART IDENTITY;

-- 1. Without Citus every entry point works.
SELECT * FROM pg_temp.entry_points(1);
SELECT pg_temp.feed(
  pg_temp.initiated('701', 'a_user_b', 'a', 'b', 1700038800, 'S1'),
  pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038810));
SELECT pg_temp.counts();

-- 2. Citus installed, nothing of ours distributed: every entry point still
-- works (a coordinator may keep these tables local).  Like Citus's own trigger
-- on pg_dist_partition (master_dist_partition_cache_invalidate), a trigger
-- invalidates the relcache entry of the table whose row changed; a no-op
-- ALTER TABLE stands in for the C call.
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (
  logicalrelid regclass NOT NULL,
  partmethod "char" NOT NULL,
  partkey text,
  colocationid integer NOT NULL DEFAULT 0,
  repmodel "char" NOT NULL DEFAULT 's',
  autoconverted boolean NOT NULL DEFAULT false);
RESET allow_system_table_mods;
CREATE FUNCTION pg_temp.dist_partition_cache_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    EXECUTE format('ALTER TABLE %s RESET (parallel_workers)', OLD.logicalrelid);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    EXECUTE format('ALTER TABLE %s RESET (parallel_workers)', NEW.logicalrelid);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER dist_partition_cache_invalidate
  AFTER INSERT OR UPDATE OR DELETE ON pg_catalog.pg_dist_partition
  FOR EACH ROW EXECUTE FUNCTION pg_temp.dist_partition_cache_invalidate();
SELECT * FROM pg_temp.entry_points(2);
SELECT pg_temp.counts();

-- 3. cometchat.calls distributed: every entry point raises, and nothing is
-- written (rebuild() empties the tables before it replays; the error rolls
-- that back).
INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod, partkey)
  VALUES ('cometchat.calls', 'h', '{VAR :varno 1 :varattno 1}');
SELECT pg_temp.feed(pg_temp.started('call_started', 'S1', 1700038810));
SELECT * FROM pg_temp.entry_points(3);
SELECT pg_temp.counts();

-- 4. The ledger distributed too (on the coordinator it is then a shell):
-- the error names the ledger first.
INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod, partkey)
  VALUES ('cometchat.events', 'h', '{VAR :varno 1 :varattno 4}');
INSERT INTO cometchat.events (payload) SELECT pg_temp.started('call_started', 'S1', 1700038810);
SELECT * FROM pg_temp.entry_points(4);
SELECT pg_temp.counts();

-- 5. Each lifecycle table alone is enough.
CREATE FUNCTION pg_temp.ingest_with_distributed(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM pg_catalog.pg_dist_partition;
  INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod)
    VALUES (('cometchat.' || t)::regclass, 'n');
  RETURN pg_temp.sqlstate_of(
    $q$SELECT cometchat.ingest(pg_temp.started('call_started', 'S1', 1700038810))$q$);
END $$;
SELECT t AS distributed, pg_temp.ingest_with_distributed(t) AS ingest
FROM unnest('{sessions,calls,call_outcomes,participants,recordings}'::text[]) t;
SELECT cometchat.ingest(pg_temp.started('call_started', 'S1', 1700038810));
SELECT pg_temp.counts();

-- 6. Nothing distributed again: the change is seen in this session.
DELETE FROM pg_catalog.pg_dist_partition;
SELECT pg_temp.feed(pg_temp.started('call_started', 'S1', 1700038810));
SELECT pg_temp.counts();

-- 7. A shard: Citus copies the ledger (and its trigger) into shards named
-- events_<shard id> in the same schema.  The trigger firing on one raises,
-- whether or not the ledger is listed; the ledger itself still works, and so
-- does a partition of a ledger.
CREATE TABLE cometchat.events_102008 (LIKE cometchat.events INCLUDING ALL);
CREATE TRIGGER events_ingest BEFORE INSERT OR UPDATE ON cometchat.events_102008
  FOR EACH ROW EXECUTE FUNCTION cometchat._events_trigger();
INSERT INTO cometchat.events_102008 (payload)
  SELECT pg_temp.ended('call_ended', 'S1', 1700038810, 1700038900);
INSERT INTO cometchat.events_102008 (payload) VALUES ('{"not": "valid"}');
SELECT count(*) AS shard_rows FROM cometchat.events_102008;
SELECT pg_temp.counts();
-- A partition of a ledger is no shard: a ledger partitioned by event time in
-- a schema of its own, the lifecycle tables beside it, the trigger on its
-- partition, ingests.
CREATE SCHEMA regress_cc40;
CREATE TABLE regress_cc40.events (LIKE cometchat.events INCLUDING DEFAULTS INCLUDING IDENTITY,
  CONSTRAINT events_idempotency_key_key UNIQUE NULLS NOT DISTINCT (occurred_at, idempotency_key))
  PARTITION BY RANGE (occurred_at);
CREATE TABLE regress_cc40.events_rest PARTITION OF regress_cc40.events DEFAULT;
CREATE TRIGGER events_ingest BEFORE INSERT ON regress_cc40.events_rest
  FOR EACH ROW EXECUTE FUNCTION cometchat._events_trigger();
CREATE TABLE regress_cc40.sessions (LIKE cometchat.sessions INCLUDING ALL);
CREATE TABLE regress_cc40.calls (LIKE cometchat.calls INCLUDING ALL);
CREATE TABLE regress_cc40.call_outcomes (LIKE cometchat.call_outcomes INCLUDING ALL);
CREATE TABLE regress_cc40.participants (LIKE cometchat.participants INCLUDING ALL);
CREATE TABLE regress_cc40.recordings (LIKE cometchat.recordings INCLUDING ALL);
INSERT INTO regress_cc40.events (payload) SELECT pg_temp.started('call_started', 'P1', 1700038810);
SELECT (SELECT count(*) FROM regress_cc40.events_rest) AS ledger_rows,
       (SELECT count(*) FROM regress_cc40.sessions) AS sessions;
SET client_min_messages = warning;
DROP SCHEMA regress_cc40 CASCADE;
RESET client_min_messages;
INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod)
  VALUES ('cometchat.events', 'h');
INSERT INTO cometchat.events_102008 (payload)
  SELECT pg_temp.ended('call_ended', 'S1', 1700038810, 1700038900);
DELETE FROM pg_catalog.pg_dist_partition;
SELECT pg_temp.feed(pg_temp.left('call_participant_left', 'S1', 'A', 1700038810, 1700038890));
DROP TABLE cometchat.events_102008;

-- 8. Citus uninstalled while everything is listed: pg_dist_partition goes,
-- and in this same session every entry point works again.
INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod)
  SELECT ('cometchat.' || t)::regclass, 'h'
  FROM unnest('{events,sessions,calls,call_outcomes,participants,recordings}'::text[]) t;
SELECT * FROM pg_temp.entry_points(8) WHERE sqlstate <> '0A000';
DROP TABLE pg_catalog.pg_dist_partition;
SELECT * FROM pg_temp.entry_points(9);
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'S1', 1700038810, 1700038900, jsonb_build_array(
  pg_temp.occ('A', 1700038810, 1700038890))));
SELECT pg_temp.counts();
SELECT * FROM cometchat.verify();

-- 9. A pg_dist_partition the guard cannot read is not taken for "nothing
-- distributed".
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (relid oid);
RESET allow_system_table_mods;
SELECT cometchat.ingest(pg_temp.started('call_started', 'S2', 1700039000));
DROP TABLE pg_catalog.pg_dist_partition;
SELECT pg_temp.feed(pg_temp.started('call_started', 'S2', 1700039000));

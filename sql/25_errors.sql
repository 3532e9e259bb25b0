-- Every error a user can meet from the extension, with its SQLSTATE, its
-- wording, its detail and its hint: a change of wording shows here, so it is
-- deliberate.  Each case runs in a transaction that is rolled back, so that
-- what it breaks on purpose (a renamed table, a dropped index) is whole again
-- for the next one.
--
-- Elsewhere: the errors of a Citus installation in 40_citus_guard (they need
-- a stand-in pg_dist_partition), the insert policy under per-app security in
-- 32_app_security (PostgreSQL's own wording), and the serialization failure
-- of an update met concurrently in the isolation spec errors_concurrent_update.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all
-- The error a statement raises: its SQLSTATE, message, detail and hint.
CREATE FUNCTION pg_temp.error_of(stmt text,
    OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  message := 'no error';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;
\x on

------------------------------------------------------------------------
-- 1. The ingest path: the payload, the ledger, the trigger.
------------------------------------------------------------------------

-- An invalid payload under cometchat.on_invalid = 'error' (23514), with one
-- problem and with several; a raw body that is not JSON (22032).
SET cometchat.on_invalid = error;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload)
  VALUES (pg_temp.ev('meeting_started', '{"sessionId": "E1"}'))$$);
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "meeting_started"}')$$);
SELECT * FROM pg_temp.error_of($$SELECT cometchat.ingest_raw('{"trigger": ')$$);
RESET cometchat.on_invalid;

-- The ledger is append-only (0A000).
SELECT pg_temp.feed(pg_temp.started('meeting_started', 'E1', 1700038800));
SELECT * FROM pg_temp.error_of($$UPDATE cometchat.events SET payload = payload$$);

-- The ingest trigger's function, fired the wrong way (39P01) or on a table
-- that is not a ledger (42809).
BEGIN;
CREATE TABLE public.cc25_table (id bigint, payload jsonb);
CREATE TRIGGER cc25_after AFTER INSERT ON public.cc25_table
  FOR EACH ROW EXECUTE FUNCTION cometchat._events_trigger();
SELECT * FROM pg_temp.error_of($$INSERT INTO public.cc25_table VALUES (1, '{}')$$);
ROLLBACK;
BEGIN;
CREATE TABLE public.cc25_table (id bigint, payload jsonb);
CREATE TRIGGER cc25_each_statement BEFORE INSERT ON public.cc25_table
  FOR EACH STATEMENT EXECUTE FUNCTION cometchat._events_trigger();
SELECT * FROM pg_temp.error_of($$INSERT INTO public.cc25_table VALUES (1, '{}')$$);
ROLLBACK;
BEGIN;
CREATE TABLE public.cc25_table (id bigint, payload jsonb);
CREATE TRIGGER cc25_before BEFORE INSERT ON public.cc25_table
  FOR EACH ROW EXECUTE FUNCTION cometchat._events_trigger();
SELECT * FROM pg_temp.error_of($$INSERT INTO public.cc25_table VALUES (1, '{}')$$);
ROLLBACK;

-- The ledger without the unique index its duplicate probe reads (55000):
-- that of the partition the row goes to, the default one here.
BEGIN;
ALTER TABLE cometchat.events_default DROP CONSTRAINT events_default_idempotency_key_key;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES (pg_temp.started('meeting_started', 'E2', 1700038800))$$);
ROLLBACK;

-- Another trigger skips the row ingest() inserts (09000), or the row the
-- quarantine inserts.
CREATE FUNCTION public.cc25_skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RETURN NULL;
END $$;
BEGIN;
CREATE TRIGGER a_skip BEFORE INSERT ON cometchat.events
  FOR EACH ROW EXECUTE FUNCTION public.cc25_skip();
SELECT * FROM pg_temp.error_of($$
  SELECT cometchat.ingest(pg_temp.started('meeting_started', 'E2', 1700038800))$$);
ROLLBACK;
BEGIN;
CREATE TRIGGER a_skip BEFORE INSERT ON cometchat.rejected
  FOR EACH ROW EXECUTE FUNCTION public.cc25_skip();
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "meeting_started"}')$$);
ROLLBACK;

-- ingest_raw() quarantines a body that is not JSON for receivers only
-- (42501, PostgreSQL's wording for the same refusal of an INSERT).
BEGIN;
CREATE ROLE regress_cc25_not_a_receiver;
GRANT USAGE ON SCHEMA cometchat TO regress_cc25_not_a_receiver;
GRANT EXECUTE ON FUNCTION cometchat.ingest_raw(text) TO regress_cc25_not_a_receiver;
SET LOCAL ROLE regress_cc25_not_a_receiver;
SELECT * FROM pg_temp.error_of($$SELECT cometchat.ingest_raw('<html>502 Bad Gateway</html>')$$);
ROLLBACK;

-- A table of the extension is missing (42P01): the quarantine, found by
-- ingest.c, and a lifecycle table, found by the store; one wording.
BEGIN;
ALTER TABLE cometchat.rejected RENAME TO rejected_renamed;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "meeting_started"}')$$);
ROLLBACK;

------------------------------------------------------------------------
-- 2. The lifecycle tables, as the statement's events are applied.
------------------------------------------------------------------------

BEGIN;
ALTER TABLE cometchat.sessions RENAME TO sessions_renamed;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES (pg_temp.started('meeting_started', 'E3', 1700038800))$$);
ROLLBACK;

-- A column of a lifecycle table is missing (42703).
BEGIN;
ALTER TABLE cometchat.sessions RENAME COLUMN mode TO mode_renamed;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES (pg_temp.started('meeting_started', 'E3', 1700038800))$$);
ROLLBACK;

-- A lifecycle table that is not a table (42809).
BEGIN;
ALTER TABLE cometchat.recordings RENAME TO recordings_renamed;
CREATE VIEW cometchat.recordings AS SELECT * FROM cometchat.recordings_renamed;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload)
  VALUES (pg_temp.recording('E1', 1700038810, '12.5', 'https://example.com/r1.mp4'))$$);
ROLLBACK;

-- A lifecycle table without the index a lookup needs (55000).
BEGIN;
ALTER TABLE cometchat.sessions DROP CONSTRAINT sessions_pkey;
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload) VALUES (pg_temp.started('meeting_started', 'E3', 1700038800))$$);
ROLLBACK;

-- A lifecycle column of another type than the extension gave it (42804).
BEGIN;
ALTER TABLE cometchat.participants ALTER COLUMN sdk TYPE varchar;
INSERT INTO cometchat.events (payload)
VALUES (pg_temp.joined('meeting_participant_joined', 'E1', 'Ann', 1700038801,
                       config => '{"platform": "web", "sdk": "js", "sdkVersion": "4.0.0"}'));
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload)
  VALUES (pg_temp.joined('meeting_participant_joined', 'E1', 'Ann', 1700038801,
                         config => '{"platform": "ios", "sdk": "swift", "sdkVersion": "4.0.0"}',
                         webhook => 'wh2'))$$);
ROLLBACK;

-- A trigger on a lifecycle table that ingests an event while one is being
-- applied (55000): at the end of a statement (refused by the batch), and in
-- rebuild(), whose replay applies events without the batch (refused by the
-- store).
CREATE FUNCTION public.cc25_echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cometchat.events (payload)
  VALUES (pg_temp.started('meeting_started', 'E-echo', 1700038800));
  RETURN NEW;
END $$;
BEGIN;
CREATE TRIGGER cc25_echo BEFORE INSERT ON cometchat.participants
  FOR EACH ROW EXECUTE FUNCTION public.cc25_echo();
SELECT * FROM pg_temp.error_of($$
  INSERT INTO cometchat.events (payload)
  VALUES (pg_temp.joined('meeting_participant_joined', 'E1', 'Bob', 1700038802))$$);
ROLLBACK;
INSERT INTO cometchat.events (payload)
VALUES (pg_temp.joined('meeting_participant_joined', 'E1', 'Bob', 1700038802));
BEGIN;
CREATE TRIGGER cc25_echo BEFORE INSERT ON cometchat.participants
  FOR EACH ROW EXECUTE FUNCTION public.cc25_echo();
SELECT * FROM pg_temp.error_of($$SELECT cometchat.rebuild()$$);
ROLLBACK;

------------------------------------------------------------------------
-- 3. The install script: the schema it creates exists already (42P06).
------------------------------------------------------------------------

BEGIN;
DROP EXTENSION cometchat_webhooks;
CREATE SCHEMA cometchat;
SELECT * FROM pg_temp.error_of($$CREATE EXTENSION cometchat_webhooks$$);
ROLLBACK;

-- Everything is whole again.
\x off
SELECT * FROM cometchat.verify();
DROP FUNCTION public.cc25_skip(), public.cc25_echo();

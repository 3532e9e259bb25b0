-- verify() compares the maintained lifecycle tables with a recomputation
-- as relations, at any size: 1.4 and earlier put every lifecycle row into
-- one jsonb value, which cannot pass 256 MB ("total size of jsonb array
-- elements exceeds the maximum of 268435455 bytes"), and held it all in
-- memory.  It keeps the maintained rows in a temporary table of its own,
-- whatever temporary tables the session has, also when called twice in one
-- transaction.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- 3,000 recordings with URLs of 100 kB: about 300 MB of lifecycle rows.
INSERT INTO cometchat.events (payload)
SELECT pg_temp.recording('room-' || i, 1700038800 + i, '21.4',
                         'https://rec.example.test/' || i || '/' || repeat('x', 100000))
FROM generate_series(1, 3000) i;
SELECT count(*) AS recordings, sum(octet_length(recording_url)) > 268435455 AS over_one_jsonb
FROM cometchat.recordings;
SELECT count(*) AS differences FROM cometchat.verify();
-- A changed row among them: the recomputed one missing, the stored one unexpected.
UPDATE cometchat.recordings SET duration = '1 minute' WHERE session_id = 'room-1500';
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'duration' AS duration
FROM cometchat.verify();

-- Small again: one call, then a participant changed, one deleted and a
-- recording no event explains.
CALL pg_temp.reset();
SELECT pg_temp.feed(
  pg_temp.initiated('601', 'a_user_b', 'a', 'b', 1700038800, 'S1'),
  pg_temp.started('call_started', 'S1', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'A', 1700038810),
  pg_temp.joined('call_participant_joined', 'S1', 'B', 1700038812),
  pg_temp.ended('call_ended', 'S1', 1700038810, 1700038900, jsonb_build_array(
    pg_temp.occ('A', 1700038810, 1700038900), pg_temp.occ('B', 1700038812, 1700038890))),
  pg_temp.recording('S1', 1700038815, '80.000000', 'https://example.test/rec/S1'));
SELECT pg_temp.snapshot() AS good \gset
UPDATE cometchat.participants SET left_at = left_at + interval '1 second' WHERE name = 'A';
DELETE FROM cometchat.participants WHERE name = 'B';
INSERT INTO cometchat.recordings (app_id, session_id, started_at, recording_url)
VALUES ('app1', 'S9', '2023-11-15 12:00:00+00', 'https://example.test/rec/forged');
SELECT pg_temp.snapshot() AS broken \gset

-- Temporary tables of the names verify() would take first are the
-- caller's: they keep their rows, and verify() leaves no table behind.
-- Twice in one transaction, the same differences, in the same order
-- (table, missing before unexpected, row).
BEGIN;
CREATE TEMPORARY TABLE cometchat_verify_0 AS SELECT 'mine'::text AS note;
CREATE TEMPORARY TABLE cometchat_verify_1 (n int);
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'name' AS name,
       row_data->>'left_at' AS left_at
FROM cometchat.verify();
SELECT table_name, difference, row_data->>'session_id' AS session_id, row_data->>'name' AS name,
       row_data->>'left_at' AS left_at
FROM cometchat.verify();
SELECT note FROM cometchat_verify_0;
SELECT c.relname FROM pg_catalog.pg_class c
WHERE c.relpersistence = 't' AND c.relname LIKE 'cometchat\_verify\_%' ORDER BY 1;
SELECT pg_temp.snapshot() = :'broken' AS tables_unchanged;
COMMIT;
SELECT cometchat.rebuild();
SELECT pg_temp.snapshot() = :'good' AS repaired;
SELECT count(*) AS differences FROM cometchat.verify();

-- Roles in one call.  cometchat.grant_receiver() grants what receiving
-- needs and nothing more, cometchat.grant_reader() what reading the
-- lifecycle needs (with payloads => true also the ledger and the
-- quarantine); the revoke counterparts take it back, the schema's USAGE
-- only when the role keeps nothing else there.  Each role can then do what
-- its use needs and nothing else; per-app security applies to a reader's
-- event_log, timeline() and find_event() as to the tables, and granting to
-- a role that is in no listed group warns.  Only the extension's owner
-- (and superusers) grant.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\pset null '(null)'
\set VERBOSITY default
\set SHOW_CONTEXT never
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings,
         cometchat.app_access
         RESTART IDENTITY;
SELECT cometchat.enable_app_security(false);

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cc34_receiver;
DROP ROLE IF EXISTS regress_cc34_reader;
DROP ROLE IF EXISTS regress_cc34_auditor;
DROP ROLE IF EXISTS regress_cc34_both;
DROP ROLE IF EXISTS regress_cc34_delegate;
DROP ROLE IF EXISTS regress_cc34_bypass;
DROP ROLE IF EXISTS regress_cc34_us_team;
RESET client_min_messages;
CREATE ROLE regress_cc34_receiver;
CREATE ROLE regress_cc34_reader;
CREATE ROLE regress_cc34_auditor;
CREATE ROLE regress_cc34_both;
CREATE ROLE regress_cc34_delegate;
CREATE ROLE regress_cc34_bypass BYPASSRLS;
CREATE ROLE regress_cc34_us_team;

-- The demo stream, as the superuser: two apps (2f1b7c9e4a6d30 in the us,
-- 8c51e0a9d2b47f in the eu), every kind of event, a duplicate, an invalid
-- payload and a body that is not JSON.
CREATE TEMP TABLE stream (body text);
\copy stream FROM 'demo/stream.ndjson' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT * FROM cometchat.ingest_bodies('stream');
SELECT payload AS busy_payload FROM cometchat.events WHERE kind = 'call_busy' \gset
SELECT payload AS standup_payload FROM cometchat.events WHERE kind = 'meeting_started' ORDER BY id LIMIT 1 \gset
GRANT SELECT ON stream TO PUBLIC;

------------------------------------------------------------------------
-- 1. The grants, as the statements run.
------------------------------------------------------------------------
SELECT cometchat.grant_receiver('regress_cc34_receiver');
SELECT cometchat.grant_reader('regress_cc34_reader');
SELECT cometchat.grant_reader('regress_cc34_auditor', payloads => true);
SELECT cometchat.grant_receiver('regress_cc34_both');
SELECT cometchat.grant_reader('regress_cc34_both');
-- Granting again changes nothing.
SELECT count(*) FROM cometchat.grant_reader('regress_cc34_reader');

-- As the catalogs say it: every privilege of the roles on the schema's
-- objects (tables and views, columns, functions), and on the schema.
CREATE TEMP VIEW held AS
SELECT r.rolname AS role, 'schema cometchat' AS object, a.privilege_type AS privilege
FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname = 'cometchat' AND r.rolname LIKE 'regress\_cc34\_%'
UNION ALL
SELECT r.rolname, c.oid::regclass::text, a.privilege_type
FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE c.relnamespace = 'cometchat'::regnamespace AND r.rolname LIKE 'regress\_cc34\_%'
UNION ALL
SELECT r.rolname, c.oid::regclass::text || '.' || t.attname, a.privilege_type
FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid, aclexplode(t.attacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE c.relnamespace = 'cometchat'::regnamespace AND r.rolname LIKE 'regress\_cc34\_%'
UNION ALL
SELECT r.rolname, p.oid::regprocedure::text, a.privilege_type
FROM pg_proc p, aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE p.pronamespace = 'cometchat'::regnamespace AND r.rolname LIKE 'regress\_cc34\_%';
SELECT role, string_agg(object || ' ' || privilege, E'\n' ORDER BY object COLLATE "C", privilege) AS privileges
FROM held GROUP BY role ORDER BY role;
-- Made at call time, not by an extension script: none of them is an
-- initial privilege of the extension, which pg_dump would leave out.
SELECT count(*) AS initial_privileges_of_these_roles
FROM pg_init_privs ip, aclexplode(ip.initprivs) a JOIN pg_roles r ON r.oid = a.grantee
WHERE r.rolname LIKE 'regress\_cc34\_%';

------------------------------------------------------------------------
-- 2. What each role can do, and cannot.
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.attempt(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN 'ok, ' || n || ' rows';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
CREATE TEMP TABLE statements (n int, label text, sql text);
INSERT INTO statements VALUES
  (1, 'calls', 'SELECT * FROM cometchat.calls'),
  (2, 'call_outcomes', 'SELECT * FROM cometchat.call_outcomes'),
  (3, 'sessions', 'SELECT * FROM cometchat.sessions'),
  (4, 'participants', 'SELECT * FROM cometchat.participants'),
  (5, 'recordings', 'SELECT * FROM cometchat.recordings'),
  (6, 'call_lifecycle', 'SELECT * FROM cometchat.call_lifecycle'),
  (7, 'event_log', 'SELECT * FROM cometchat.event_log'),
  (8, 'timeline()', 'SELECT * FROM cometchat.timeline(''2f1b7c9e4a6d30'', ''v1.us.2f1b7c9e4a6d30.1741600800c4bb134e2e19a5f7f18999081a9b6777fec21c22'')'),
  (9, 'find_event()', format('SELECT * FROM cometchat.find_event(%L)', :'busy_payload')),
  (10, 'find_event_by_key()', 'SELECT * FROM cometchat.find_event_by_key(''["2f1b7c9e4a6d30","calls-prod","call_busy","1204","1741600931"]'')'),
  (11, 'events (payloads)', 'SELECT * FROM cometchat.events'),
  (12, 'rejected (payloads)', 'SELECT * FROM cometchat.rejected'),
  (13, 'INSERT INTO events', format('INSERT INTO cometchat.events (payload) VALUES (%L)', :'busy_payload')),
  (14, 'ingest()', format('SELECT * FROM cometchat.ingest(%L)', :'busy_payload')),
  (15, 'ingest_raw()', 'SELECT * FROM cometchat.ingest_raw(''<html>502 Bad Gateway</html>'')'),
  (16, 'ingest_bodies()', 'SELECT * FROM cometchat.ingest_bodies(''stream'')'),
  (17, 'UPDATE calls', 'UPDATE cometchat.calls SET media = media'),
  (18, 'DELETE FROM sessions', 'DELETE FROM cometchat.sessions'),
  (19, 'rebuild()', 'SELECT cometchat.rebuild()'),
  (20, 'verify()', 'SELECT * FROM cometchat.verify()'),
  (21, 'grant_reader()', 'SELECT cometchat.grant_reader(current_user::text::regrole)'),
  (22, 'enable_app_security()', 'SELECT cometchat.enable_app_security()');
GRANT SELECT ON statements TO PUBLIC;
CREATE TEMP TABLE outcomes (role text, n int, result text);
GRANT INSERT ON outcomes TO PUBLIC;
SET ROLE regress_cc34_receiver;
INSERT INTO outcomes SELECT current_user, n, pg_temp.attempt(sql) FROM statements;
RESET ROLE;
SET ROLE regress_cc34_reader;
INSERT INTO outcomes SELECT current_user, n, pg_temp.attempt(sql) FROM statements;
RESET ROLE;
SET ROLE regress_cc34_auditor;
INSERT INTO outcomes SELECT current_user, n, pg_temp.attempt(sql) FROM statements;
RESET ROLE;
SELECT s.label, r.result AS receiver, d.result AS reader, a.result AS "reader with payloads"
FROM statements s
JOIN outcomes r ON r.n = s.n AND r.role = 'regress_cc34_receiver'
JOIN outcomes d ON d.n = s.n AND d.role = 'regress_cc34_reader'
JOIN outcomes a ON a.n = s.n AND a.role = 'regress_cc34_auditor'
ORDER BY s.n;
-- Nothing a role did changed the ledger or the lifecycle.
SELECT (SELECT count(*) FROM cometchat.events) AS events, (SELECT count(*) FROM cometchat.rejected) AS rejected,
       (SELECT count(*) FROM cometchat.verify()) AS differences;

-- The reader's timeline() reads event_log: the same rows and detail as the
-- ledger's, without a payload in sight.
CREATE TEMP TABLE timelines AS
SELECT c.call_id, t.* FROM cometchat.calls c, cometchat.timeline(c.app_id, c.session_id) t;
GRANT SELECT ON timelines TO PUBLIC;
SELECT call_id, count(*) AS events,
       string_agg(kind || coalesce(' ' || left(detail, 15), ''), ', ' ORDER BY occurred_at, kind) AS timeline
FROM timelines GROUP BY call_id ORDER BY call_id;
SET ROLE regress_cc34_reader;
SELECT count(*) AS same_rows,
       (SELECT count(*) FROM (SELECT c.call_id, t.* FROM cometchat.calls c, cometchat.timeline(c.app_id, c.session_id) t
                              EXCEPT ALL SELECT * FROM timelines) x) AS reader_only,
       (SELECT count(*) FROM (SELECT * FROM timelines
                              EXCEPT ALL SELECT c.call_id, t.* FROM cometchat.calls c, cometchat.timeline(c.app_id, c.session_id) t) x) AS ledger_only
FROM timelines;
-- Through event_log's security barrier, each branch still reads the ledger
-- by index: the rows of one call, not a scan (compare sql/17).  Planned
-- afresh: timeline()'s plans cached above depend on the statistics that
-- autovacuum happened to gather by then.
DISCARD PLANS;
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT seq_scan AS seq0, seq_tup_read AS sread0, idx_tup_fetch AS ifetch0
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger \gset
SELECT count(*) FROM cometchat.timeline('2f1b7c9e4a6d30', 'v1.us.2f1b7c9e4a6d30.17416009308d7e84365a3d04a4f7eb687847a09f50217e0aab');
SELECT seq_scan - :seq0 AS seq_scans, seq_tup_read - :sread0 + idx_tup_fetch - :ifetch0 AS rows_read
FROM (SELECT coalesce(sum(seq_scan), 0) AS seq_scan, coalesce(sum(seq_tup_read), 0) AS seq_tup_read,
             coalesce(sum(idx_tup_fetch), 0) AS idx_tup_fetch
      FROM pg_stat_xact_user_tables  -- the ledger's partitions
      WHERE relid IN (SELECT relid FROM pg_partition_tree('cometchat.events'))) ledger;
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- 3. Revoking.  A role that is both keeps the schema's USAGE while it
--    holds the other use's privileges.
------------------------------------------------------------------------
SELECT cometchat.revoke_receiver('regress_cc34_both');
SELECT has_schema_privilege('regress_cc34_both', 'cometchat', 'USAGE') AS both_usage,
       has_table_privilege('regress_cc34_both', 'cometchat.calls', 'SELECT') AS both_reads,
       has_column_privilege('regress_cc34_both', 'cometchat.events', 'payload', 'INSERT') AS both_receives;
SELECT cometchat.revoke_reader('regress_cc34_both');
SELECT cometchat.revoke_reader('regress_cc34_auditor');
SELECT cometchat.revoke_receiver('regress_cc34_receiver');
SELECT role, count(*) FROM held GROUP BY role ORDER BY role;
-- A privilege of its own granted by hand keeps the schema's USAGE too.
GRANT SELECT ON cometchat.app_security TO regress_cc34_auditor;
SELECT count(*) FROM cometchat.grant_reader('regress_cc34_auditor');
SELECT count(*) FROM cometchat.revoke_reader('regress_cc34_auditor');
SELECT has_schema_privilege('regress_cc34_auditor', 'cometchat', 'USAGE') AS usage_kept;
REVOKE SELECT ON cometchat.app_security FROM regress_cc34_auditor;
SELECT cometchat.revoke_reader('regress_cc34_auditor');

------------------------------------------------------------------------
-- 4. Errors.
------------------------------------------------------------------------
SELECT cometchat.grant_reader(NULL);
SELECT cometchat.grant_receiver('regress_cc34_no_such_role');
-- Nobody else may call them; a role given EXECUTE may still not grant
-- unless it may act as the owner.
GRANT USAGE ON SCHEMA cometchat TO regress_cc34_delegate;
SET ROLE regress_cc34_delegate;
SELECT cometchat.grant_reader('regress_cc34_delegate');
RESET ROLE;
GRANT EXECUTE ON FUNCTION cometchat.grant_reader(regrole, boolean) TO regress_cc34_delegate;
SET ROLE regress_cc34_delegate;
SELECT cometchat.grant_reader('regress_cc34_delegate');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION cometchat.grant_reader(regrole, boolean) FROM regress_cc34_delegate;
REVOKE USAGE ON SCHEMA cometchat FROM regress_cc34_delegate;

------------------------------------------------------------------------
-- 5. Per-app security.  The reader is in the us team's group; granting
--    while it is on warns about roles in no listed group.
------------------------------------------------------------------------
INSERT INTO cometchat.app_access VALUES ('regress_cc34_us_team', '2f1b7c9e4a6d30');
GRANT regress_cc34_us_team TO regress_cc34_reader;
SELECT cometchat.enable_app_security();
SELECT count(*) FROM cometchat.grant_reader('regress_cc34_reader');
SELECT count(*) FROM cometchat.grant_reader('regress_cc34_auditor', payloads => true);
SELECT count(*) FROM cometchat.grant_receiver('regress_cc34_receiver');
SELECT count(*) FROM cometchat.grant_reader('regress_cc34_bypass');
SET ROLE regress_cc34_reader;
SELECT app_id, count(*) AS events FROM cometchat.event_log GROUP BY app_id;
SELECT app_id, count(*) AS calls, count(*) FILTER (WHERE answered) AS answered, count(*) FILTER (WHERE missed) AS missed
FROM cometchat.call_lifecycle GROUP BY app_id;
SELECT count(*) AS eu_timeline FROM cometchat.timeline('8c51e0a9d2b47f', 'standup');
SELECT count(*) AS us_timeline FROM cometchat.timeline('2f1b7c9e4a6d30', 'v1.us.2f1b7c9e4a6d30.1741600800c4bb134e2e19a5f7f18999081a9b6777fec21c22');
SELECT event_id, kind FROM cometchat.find_event(:'busy_payload');
SELECT count(*) AS eu_found FROM cometchat.find_event(:'standup_payload');
RESET ROLE;
-- A cheap function of the reader's sees only the rows event_log lets
-- through (a security barrier), though it would be called first.
CREATE TEMP TABLE peeked (app_id text);
GRANT INSERT, SELECT ON peeked TO PUBLIC;
CREATE FUNCTION pg_temp.peek(app text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    INSERT INTO peeked VALUES (app);
    RETURN true;
END $$;
SET ROLE regress_cc34_reader;
SELECT count(*) FROM cometchat.event_log WHERE pg_temp.peek(app_id);
SELECT app_id, count(*) AS peeked FROM peeked GROUP BY app_id;
RESET ROLE;
SET ROLE regress_cc34_auditor;
SELECT count(*) AS events, count(*) FILTER (WHERE kind = 'unknown') AS unknown FROM cometchat.event_log;
SELECT count(*) AS ledger FROM cometchat.events;
RESET ROLE;
SET ROLE regress_cc34_bypass;
SELECT count(*) AS events, count(DISTINCT app_id) AS apps FROM cometchat.event_log;
RESET ROLE;
-- A receiver of the us team loads its app's bodies with ingest_bodies();
-- a body of another app is refused, as an INSERT of it would be, and the
-- load with it.
GRANT regress_cc34_us_team TO regress_cc34_receiver;
SET ROLE regress_cc34_receiver;
CREATE TEMP TABLE us_bodies AS SELECT body FROM stream WHERE body LIKE '%"appId":"2f1b7c9e4a6d30"%';
SELECT * FROM cometchat.ingest_bodies('us_bodies');
INSERT INTO us_bodies SELECT body FROM stream WHERE body LIKE '%"appId":"8c51e0a9d2b47f"%' LIMIT 1;
SELECT * FROM cometchat.ingest_bodies('us_bodies');
RESET ROLE;

------------------------------------------------------------------------
-- Clean up.
------------------------------------------------------------------------
SELECT cometchat.enable_app_security(false);
TRUNCATE cometchat.app_access;
DROP OWNED BY regress_cc34_receiver, regress_cc34_reader, regress_cc34_auditor, regress_cc34_both,
              regress_cc34_delegate, regress_cc34_bypass, regress_cc34_us_team;
DROP ROLE regress_cc34_receiver;
DROP ROLE regress_cc34_reader;
DROP ROLE regress_cc34_auditor;
DROP ROLE regress_cc34_both;
DROP ROLE regress_cc34_delegate;
DROP ROLE regress_cc34_bypass;
DROP ROLE regress_cc34_us_team;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname LIKE 'regress\_cc34\_%';

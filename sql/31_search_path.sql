-- No hijack through search_path.  A receiver (and the superuser) put, in
-- public and in pg_temp, objects that would capture every unqualified
-- lookup the trigger's SQL makes: functions of the same names and argument
-- types (length, make_interval, now, count, sum, min, max, jsonb_*,
-- pg_has_role), operators (=, <>, <, <=, >, >=, +, - on text, timestamptz,
-- integer, xid and the extension's enums; ->, ->>, #>> on jsonb), types
-- (timestamptz, float8) and tables (sessions, calls, participants, ...).
-- Each one notes in public.hijack_log that it was used.  First a control
-- shows that they do capture unqualified lookups under such a search_path;
-- then a full call and a meeting are ingested with public and pg_temp ahead
-- of pg_catalog: nothing is noted, every lifecycle row is right, verify() is
-- empty.  Last, every SECURITY DEFINER function of the extension has a
-- fixed search_path.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\pset null '(null)'
\set VERBOSITY terse
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings
         RESTART IDENTITY;

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cc31_receiver;
RESET client_min_messages;
CREATE ROLE regress_cc31_receiver;
GRANT USAGE ON SCHEMA cometchat TO regress_cc31_receiver;
GRANT INSERT (payload) ON cometchat.events TO regress_cc31_receiver;
GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO regress_cc31_receiver;
-- As in a database created before PostgreSQL 15: anyone may create in public.
GRANT CREATE ON SCHEMA public TO regress_cc31_receiver;
SELECT count(*) AS public_before
FROM (SELECT oid FROM pg_proc WHERE pronamespace = 'public'::regnamespace
      UNION ALL SELECT oid FROM pg_operator WHERE oprnamespace = 'public'::regnamespace
      UNION ALL SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace
      UNION ALL SELECT oid FROM pg_type WHERE typnamespace = 'public'::regnamespace) o \gset

------------------------------------------------------------------------
-- The payloads, built before anything is hijacked (app "app1", region
-- "us", webhook "wh1"; 1700038800 = 2023-11-15 09:00:00 UTC).
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.ev(trig text, data jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('trigger', trig, 'data', data, 'appId', 'app1', 'region', 'us', 'webhook', 'wh1')
         || CASE WHEN trig LIKE 'meeting\_%' THEN '{"type": "meet"}'
                 WHEN trig LIKE 'call\_%' AND data ? 'sessionId' THEN '{"type": "call"}'
                 ELSE '{}' END::jsonb $$;
CREATE FUNCTION pg_temp.initiated(id text, conv text, caller text, callee text, sent bigint, session text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('call_initiated', jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', caller, 'receiverType', 'user', 'receiver', callee,
    'category', 'call', 'type', 'video',
    'data', jsonb_build_object('action', 'initiated', 'entities', jsonb_build_object(
                 'by', jsonb_build_object('entity', jsonb_build_object('uid', caller, 'name', caller), 'entityType', 'user'),
                 'on', jsonb_build_object('entity', jsonb_build_object('sessionid', session, 'status', 'initiated',
                                                                     'type', 'video', 'initiatedAt', sent),
                                          'entityType', 'call'))),
    'sentAt', sent, 'updatedAt', sent))) $$;
CREATE FUNCTION pg_temp.outcome(action text, id text, conv text, sender text, receiver text, sent bigint)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('call_' || action, jsonb_build_object('call', jsonb_build_object(
    'id', id, 'conversationId', conv, 'sender', sender, 'receiverType', 'user', 'receiver', receiver,
    'category', 'call', 'type', 'video', 'data', jsonb_build_object('action', action),
    'sentAt', sent, 'updatedAt', sent))) $$;
CREATE FUNCTION pg_temp.occ(name text, joined bigint, left_at bigint DEFAULT NULL, audio text DEFAULT 'false')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('joined_at', joined, 'audio_call', audio, 'left_at', left_at, 'name', name)) $$;
CREATE FUNCTION pg_temp.part(trig text, session text, occ jsonb, platform text DEFAULT NULL) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(trig, jsonb_build_object('occupant', occ, 'sessionId', session)
                          || CASE WHEN platform IS NULL THEN '{}'::jsonb
                                  ELSE jsonb_build_object('initial_config', jsonb_build_object(
                                         'platform', platform, 'sdk', platform, 'call_version', '4.0.5')) END) $$;
CREATE FUNCTION pg_temp.ended(trig text, session text, created bigint, destroyed bigint, occupants jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev(trig, jsonb_build_object('all_occupants', occupants, 'destroyed_at', destroyed,
                                             'created_at', created, 'sessionId', session)) $$;
CREATE FUNCTION pg_temp.recording(session text, start bigint, duration text, url text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.ev('recording_generated', jsonb_build_object(
    'recordingDate', to_char(to_timestamp(start) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
    'duration', duration, 'startTime', start::text, 'sessionId', session, 'recording_url', url)) $$;

SELECT
  -- A ringing call: initiated, started, two participants (one leaves and
  -- comes back), ended, one recording.
  pg_temp.initiated('701', 'u1_user_u2', 'u1', 'u2', 1700038800, 'v1.us.app1.c1') AS c1_init,
  pg_temp.ev('call_started', '{"created_at": 1700038804, "sessionId": "v1.us.app1.c1"}') AS c1_start,
  pg_temp.part('call_participant_joined', 'v1.us.app1.c1', pg_temp.occ('u1', 1700038804), 'web') AS c1_join_u1,
  pg_temp.part('call_participant_joined', 'v1.us.app1.c1', pg_temp.occ('u2', 1700038805, NULL, 'true'), 'ios') AS c1_join_u2,
  pg_temp.part('call_participant_left', 'v1.us.app1.c1', pg_temp.occ('u2', 1700038805, 1700038860, 'true')) AS c1_left_u2,
  pg_temp.part('call_participant_joined', 'v1.us.app1.c1', pg_temp.occ('u2', 1700038870), 'ios') AS c1_rejoin_u2,
  pg_temp.ended('call_ended', 'v1.us.app1.c1', 1700038804, 1700039100,
                jsonb_build_array(pg_temp.occ('u1', 1700038804, 1700039100),
                                  pg_temp.occ('u2', 1700038805, 1700038860, 'true'),
                                  pg_temp.occ('u2', 1700038870, 1700039095))) AS c1_end,
  pg_temp.recording('v1.us.app1.c1', 1700038810, '285.250000', 'https://example.com/c1.mp4') AS c1_rec,
  -- A call that is answered busy, and one that is cancelled.
  pg_temp.initiated('711', 'u1_user_u3', 'u1', 'u3', 1700039200, 'v1.us.app1.c2') AS c2_init,
  pg_temp.outcome('busy', '712', 'u1_user_u3', 'u3', 'u1', 1700039203) AS c2_busy,
  pg_temp.initiated('721', 'u4_user_u1', 'u4', 'u1', 1700039300, 'v1.us.app1.c3') AS c3_init,
  pg_temp.outcome('cancelled', '722', 'u4_user_u1', 'u4', 'u1', 1700039330) AS c3_cancel,
  -- A meeting with two instances of the same session id.
  pg_temp.ev('meeting_started', '{"created_at": 1700042400, "sessionId": "standup"}') AS m1_start,
  pg_temp.part('meeting_participant_joined', 'standup', pg_temp.occ('Ann', 1700042400), 'android') AS m1_join_ann,
  pg_temp.part('meeting_participant_joined', 'standup', pg_temp.occ('Bob', 1700042410), 'web') AS m1_join_bob,
  pg_temp.part('meeting_participant_left', 'standup', pg_temp.occ('Bob', 1700042410, 1700043000)) AS m1_left_bob,
  pg_temp.ended('meeting_ended', 'standup', 1700042400, 1700043300,
                jsonb_build_array(pg_temp.occ('Ann', 1700042400, 1700043300),
                                  pg_temp.occ('Bob', 1700042410, 1700043000))) AS m1_end,
  pg_temp.recording('standup', 1700042420, '600.000000', 'https://example.com/standup-1.mp4') AS m1_rec,
  pg_temp.ev('meeting_started', '{"created_at": 1700128800, "sessionId": "standup"}') AS m2_start,
  pg_temp.part('meeting_participant_joined', 'standup', pg_temp.occ('Ann', 1700128801), 'android') AS m2_join_ann,
  pg_temp.ended('meeting_ended', 'standup', 1700128800, 1700129400,
                jsonb_build_array(pg_temp.occ('Ann', 1700128801, 1700129400))) AS m2_end,
  '{"trigger": "meeting_started", "data": {"sessionId": "standup"}, "type": "meet", "appId": "app1", "region": "us", "webhook": "wh1"}' AS invalid
\gset

------------------------------------------------------------------------
-- The log, and the hijackers.
------------------------------------------------------------------------
CREATE TABLE public.hijack_log (what text, by_role name);
GRANT INSERT, SELECT, DELETE ON public.hijack_log TO PUBLIC;
CREATE FUNCTION public.hijack_note(what text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.hijack_log VALUES (what, current_user);
    RETURN true;
END $$;

SET ROLE regress_cc31_receiver;

-- Functions, each noting its use and then doing the real work.
CREATE FUNCTION public.length(s text) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function length(text)'); RETURN pg_catalog.length(s); END $$;
CREATE FUNCTION public.make_interval(years integer DEFAULT 0, months integer DEFAULT 0, weeks integer DEFAULT 0,
                                     days integer DEFAULT 0, hours integer DEFAULT 0, mins integer DEFAULT 0,
                                     secs double precision DEFAULT 0.0) RETURNS interval
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function make_interval');
          RETURN pg_catalog.make_interval(years, months, weeks, days, hours, mins, secs); END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION public.jsonb_build_object(VARIADIC a text[]) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function jsonb_build_object(text[])'); RETURN pg_catalog.jsonb_object(a); END $$;
CREATE FUNCTION public.jsonb_build_array(a text, b jsonb) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function jsonb_build_array(text,jsonb)'); RETURN pg_catalog.jsonb_build_array(a, b); END $$;
CREATE FUNCTION public.jsonb_build_array(a text, b text, c jsonb) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function jsonb_build_array(text,text,jsonb)'); RETURN pg_catalog.jsonb_build_array(a, b, c); END $$;
CREATE FUNCTION public.jsonb_array_elements(j jsonb) RETURNS SETOF jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function jsonb_array_elements(jsonb)'); RETURN QUERY SELECT pg_catalog.jsonb_array_elements(j); END $$;
CREATE FUNCTION public.pg_has_role(r regrole, p text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('function pg_has_role(regrole,text)'); RETURN true; END $$;

-- Aggregates.
CREATE FUNCTION public.hj_count_star(s bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate count(*)'); RETURN s + 1; END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.hj_count_star, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.hj_count_text(s bigint, v text) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate count(text)'); RETURN s + CASE WHEN v IS NULL THEN 0 ELSE 1 END; END $$;
CREATE AGGREGATE public.count(text) (SFUNC = public.hj_count_text, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.hj_sum_int(s bigint, v integer) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate sum(integer)'); RETURN coalesce(s, 0) + v; END $$;
CREATE AGGREGATE public.sum(integer) (SFUNC = public.hj_sum_int, STYPE = bigint);
CREATE FUNCTION public.hj_max_bigint(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate max(bigint)'); RETURN pg_catalog.int8larger(s, v); END $$;
CREATE AGGREGATE public.max(bigint) (SFUNC = public.hj_max_bigint, STYPE = bigint);
CREATE FUNCTION public.hj_max_ts(s timestamptz, v timestamptz) RETURNS timestamptz LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate max(timestamptz)'); RETURN pg_catalog.timestamptz_larger(s, v); END $$;
CREATE AGGREGATE public.max(timestamptz) (SFUNC = public.hj_max_ts, STYPE = timestamptz);
CREATE FUNCTION public.hj_min_ts(s timestamptz, v timestamptz) RETURNS timestamptz LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate min(timestamptz)'); RETURN pg_catalog.timestamptz_smaller(s, v); END $$;
CREATE AGGREGATE public.min(timestamptz) (SFUNC = public.hj_min_ts, STYPE = timestamptz);
CREATE FUNCTION public.hj_jsonb_agg(s jsonb, v jsonb) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note('aggregate jsonb_agg(jsonb)'); RETURN s || pg_catalog.jsonb_build_array(v); END $$;
CREATE AGGREGATE public.jsonb_agg(jsonb) (SFUNC = public.hj_jsonb_agg, STYPE = jsonb, INITCOND = '[]');

-- Operators: for each built-in one the trigger's SQL uses, one of the same
-- name and argument types in public, calling the built-in function after
-- noting its use.
DO $$
DECLARE
    o record;
    n integer := 0;
BEGIN
    FOR o IN
        SELECT op.oprname, op.oprleft::regtype AS l, op.oprright::regtype AS r,
               op.oprresult::regtype AS res, p.proname,
               CASE WHEN p.provariadic <> 0 THEN 'VARIADIC b' ELSE 'b' END AS arg2
        FROM (VALUES ('=', 'text', 'text'), ('<>', 'text', 'text'), ('<', 'text', 'text'),
                     ('=', 'timestamptz', 'timestamptz'), ('<>', 'timestamptz', 'timestamptz'),
                     ('<', 'timestamptz', 'timestamptz'), ('<=', 'timestamptz', 'timestamptz'),
                     ('>', 'timestamptz', 'timestamptz'), ('>=', 'timestamptz', 'timestamptz'),
                     ('+', 'timestamptz', 'interval'), ('-', 'timestamptz', 'interval'),
                     ('=', 'integer', 'integer'), ('<', 'integer', 'integer'), ('+', 'integer', 'integer'),
                     ('=', 'bigint', 'bigint'), ('>', 'bigint', 'bigint'), ('<=', 'bigint', 'bigint'),
                     ('+', 'bigint', 'bigint'), ('=', 'xid', 'integer'), ('=', 'bytea', 'bytea'),
                     ('->', 'jsonb', 'integer'), ('->>', 'jsonb', 'integer'), ('->>', 'jsonb', 'text'),
                     ('#>>', 'jsonb', 'text[]'), ('||', 'jsonb', 'jsonb')) AS w(name, l, r)
        JOIN pg_operator op ON op.oprname = w.name AND op.oprleft = w.l::regtype AND op.oprright = w.r::regtype
                           AND op.oprnamespace = 'pg_catalog'::regnamespace
        JOIN pg_proc p ON p.oid = op.oprcode
    LOOP
        n := n + 1;
        EXECUTE format('CREATE FUNCTION public.hj_op_%s(a %s, b %s) RETURNS %s LANGUAGE plpgsql '
                       'SET search_path = pg_catalog, pg_temp AS $f$ BEGIN '
                       'PERFORM public.hijack_note(%L); RETURN pg_catalog.%I(a, %s); END $f$',
                       n, o.l, o.r, o.res, format('operator %s(%s,%s)', o.oprname, o.l, o.r), o.proname, o.arg2);
        EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.hj_op_%s)',
                       o.oprname, o.l, o.r, n);
    END LOOP;
    -- The extension's enums compare with anyenum operators: exact ones win.
    FOR o IN
        SELECT t.oid::regtype AS typ, w.name, w.fn
        FROM pg_type t,
             (VALUES ('=', 'enum_eq'), ('<', 'enum_lt'), ('>', 'enum_gt')) AS w(name, fn)
        WHERE t.typnamespace = 'cometchat'::regnamespace AND t.typtype = 'e'
    LOOP
        n := n + 1;
        EXECUTE format('CREATE FUNCTION public.hj_op_%s(a %s, b %s) RETURNS boolean LANGUAGE plpgsql '
                       'SET search_path = pg_catalog, pg_temp AS $f$ BEGIN '
                       'PERFORM public.hijack_note(%L); RETURN pg_catalog.%I(a, b); END $f$',
                       n, o.typ, o.typ, format('operator %s(%s,%s)', o.name, o.typ, o.typ), o.fn);
        EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.hj_op_%s)',
                       o.name, o.typ, o.typ, n);
    END LOOP;
END $$;

-- Types: domains named like the built-in types the trigger's SQL casts to.
CREATE DOMAIN public.timestamptz AS pg_catalog.timestamptz CHECK (public.hijack_note('type public.timestamptz'));
CREATE DOMAIN public.float8 AS pg_catalog.float8 CHECK (public.hijack_note('type public.float8'));

-- Tables named like the extension's, in public and in pg_temp; a statement
-- trigger on each notes any write (a read finds them empty).
CREATE FUNCTION public.hj_table_note() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM public.hijack_note(format('table %s.%s: %s',
          CASE WHEN TG_TABLE_SCHEMA LIKE 'pg\_temp\_%' THEN 'pg_temp' ELSE TG_TABLE_SCHEMA END, TG_TABLE_NAME, TG_OP)); RETURN NULL; END $$;
DO $$
DECLARE
    t text;
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['public', 'pg_temp'] LOOP
        FOREACH t IN ARRAY ARRAY['events', 'rejected', 'sessions', 'calls', 'call_outcomes',
                                 'participants', 'recordings', 'app_access'] LOOP
            EXECUTE format('CREATE TABLE %s.%I (app_id text, session_id text, started_at timestamptz, ended_at timestamptz,'
                           ' call_id text, conversation_id text, initiated_at timestamptz, linked_call_id text,'
                           ' outcome_id text, sent_at timestamptz, name text, joined_at timestamptz,'
                           ' participant_count integer, recording_count integer, idempotency_key bytea,'
                           ' payload jsonb, role_name regrole)', s, t);
            EXECUTE format('CREATE TRIGGER note BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s.%I'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION public.hj_table_note()', s, t);
        END LOOP;
    END LOOP;
END $$;
RESET ROLE;

-- The superuser adds its own, in pg_temp: functions and operators there are
-- never looked up unqualified, types and tables are.
CREATE FUNCTION pg_temp.length(s text) RETURNS integer LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.hijack_note('function pg_temp.length(text)'); RETURN pg_catalog.length(s); END $$;
CREATE FUNCTION pg_temp.hj_texteq(a text, b text) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.hijack_note('operator pg_temp.=(text,text)'); RETURN pg_catalog.texteq(a, b); END $$;
CREATE OPERATOR pg_temp.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_temp.hj_texteq);
CREATE DOMAIN pg_temp.timestamptz AS pg_catalog.timestamptz CHECK (public.hijack_note('type pg_temp.timestamptz'));
CREATE DOMAIN pg_temp.float8 AS pg_catalog.float8 CHECK (public.hijack_note('type pg_temp.float8'));

-- What is in place.
SELECT CASE WHEN p.pronamespace = 'public'::regnamespace THEN 'public' ELSE 'pg_temp' END AS schema,
       (SELECT CASE WHEN rolsuper THEN '(superuser)' ELSE rolname::text END FROM pg_roles WHERE oid = p.proowner) AS owner, p.prokind, count(*) AS functions
FROM pg_proc p
WHERE (p.pronamespace = 'public'::regnamespace AND p.proowner = 'regress_cc31_receiver'::regrole)
   OR p.pronamespace = pg_my_temp_schema()
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT CASE WHEN oprnamespace = 'public'::regnamespace THEN 'public' ELSE 'pg_temp' END AS schema,
       (SELECT CASE WHEN rolsuper THEN '(superuser)' ELSE rolname::text END FROM pg_roles WHERE oid = oprowner) AS owner, count(*) AS operators
FROM pg_operator WHERE oprnamespace IN ('public'::regnamespace, pg_my_temp_schema()) GROUP BY 1, 2 ORDER BY 1, 2;
SELECT CASE WHEN typnamespace = 'public'::regnamespace THEN 'public' ELSE 'pg_temp' END AS schema,
       (SELECT CASE WHEN rolsuper THEN '(superuser)' ELSE rolname::text END FROM pg_roles WHERE oid = typowner) AS owner, typname AS type
FROM pg_type WHERE typtype = 'd' AND typnamespace IN ('public'::regnamespace, pg_my_temp_schema())
ORDER BY 1, 2, 3;
SELECT CASE WHEN relnamespace = 'public'::regnamespace THEN 'public' ELSE 'pg_temp' END AS schema,
       (SELECT CASE WHEN rolsuper THEN '(superuser)' ELSE rolname::text END FROM pg_roles WHERE oid = relowner) AS owner, count(*) AS tables
FROM pg_class WHERE relkind = 'r' AND relname <> 'hijack_log'
  AND relnamespace IN ('public'::regnamespace, pg_my_temp_schema()) GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------
-- Control: under such a search_path, unqualified lookups are captured.
------------------------------------------------------------------------
SET search_path = public, pg_temp, pg_catalog;
SELECT length('abc') AS length_abc, 'a'::text = 'a'::text AS a_eq_a, 'a'::text < 'b'::text AS a_lt_b,
       make_interval(secs => 5) AS five_seconds, '2023-11-15'::timestamptz AS day,
       now() IS NOT NULL AS has_now, jsonb_build_array('a'::text, '{}'::jsonb) AS arr,
       '{"a": ["b"]}'::jsonb #>> '{a,0}' AS path, '["c"]'::jsonb ->> 0 AS elem,
       'end_event'::cometchat.fact_source > 'join_event'::cometchat.fact_source AS enum_gt,
       (SELECT count(*) FROM sessions) AS public_sessions;
SELECT max(b) AS max_b, min(t) AS min_t, count(DISTINCT s) AS names, sum(i) AS sum_i,
       bool_and(t <= t + make_interval(secs => i)) AS ordered
FROM (VALUES (1::bigint, '2023-11-15 09:00:00+00'::pg_catalog.timestamptz, 'x'::text, 1),
             (2::bigint, '2023-11-15 10:00:00+00'::pg_catalog.timestamptz, 'y'::text, 2)) v(b, t, s, i);
SET search_path = pg_temp, public, pg_catalog;
SELECT '2023-11-15'::timestamptz AS day, (SELECT count(*) FROM calls) AS temp_calls;
INSERT INTO participants (name) VALUES ('x');
DELETE FROM participants;
RESET search_path;
SELECT what, count(*) FROM public.hijack_log GROUP BY what ORDER BY what COLLATE "C";
DELETE FROM public.hijack_log;

------------------------------------------------------------------------
-- 1. The receiver ingests a call, with public and pg_temp ahead of
--    pg_catalog: INSERT, ingest(), ingest_raw(), duplicates, invalid.
------------------------------------------------------------------------
SET ROLE regress_cc31_receiver;
SET search_path = public, pg_temp, pg_catalog;
INSERT INTO cometchat.events (payload) VALUES (:'c1_init'), (:'c1_start'), (:'c1_join_u1'), (:'c1_join_u2');
INSERT INTO cometchat.events (payload) VALUES (:'c1_join_u2');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(:'c1_left_u2');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(:'c1_rejoin_u2');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(:'c1_rejoin_u2');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'c1_end');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest_raw(:'c1_rec');
SELECT status, event_id, problems, rejected_id FROM cometchat.ingest(:'invalid');
INSERT INTO cometchat.events (payload) VALUES (:'invalid');
-- Outcomes: one arrives after its call_initiated, the other before.
SELECT status, event_id FROM cometchat.ingest(:'c2_init');
SELECT status, event_id FROM cometchat.ingest(:'c2_busy');
SELECT status, event_id FROM cometchat.ingest_raw(:'c3_cancel');
SELECT status, event_id FROM cometchat.ingest_raw(:'c3_init');
RESET search_path;
RESET ROLE;
SELECT count(*) AS hijacked FROM public.hijack_log;

------------------------------------------------------------------------
-- 2. The receiver ingests the first meeting with pg_temp first.
------------------------------------------------------------------------
SET ROLE regress_cc31_receiver;
SET search_path = pg_temp, public, pg_catalog;
INSERT INTO cometchat.events (payload) VALUES (:'m1_join_ann'), (:'m1_start'), (:'m1_join_bob');
SELECT status, event_id FROM cometchat.ingest(:'m1_rec');
SELECT status, event_id FROM cometchat.ingest(:'m1_end');
SELECT status, event_id FROM cometchat.ingest_raw(:'m1_left_bob');
SELECT status, event_id FROM cometchat.ingest_raw(:'m1_left_bob');
RESET search_path;
RESET ROLE;
SELECT count(*) AS hijacked FROM public.hijack_log;

------------------------------------------------------------------------
-- 3. The superuser ingests the second meeting with pg_temp first, then
--    uses every other function of the extension under such paths.
------------------------------------------------------------------------
-- verify_in_steps() recomputes into temporary tables named as the
-- lifecycle tables and refuses to take a caller's (44_verify_steps): the
-- look-alikes of pg_temp step aside for it, and come back after.
CREATE FUNCTION pg_temp.step_aside(from_prefix text, to_prefix text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sessions', 'calls', 'call_outcomes', 'participants', 'recordings'] LOOP
        EXECUTE format('ALTER TABLE pg_temp.%I RENAME TO %I', from_prefix || t, to_prefix || t);
    END LOOP;
END $$;
SET search_path = pg_temp, public, pg_catalog;
INSERT INTO cometchat.events (payload) VALUES (:'m2_end'), (:'m2_join_ann');
SELECT status, event_id FROM cometchat.ingest(:'m2_start');
SELECT status, rejected_id FROM cometchat.ingest_raw('<html>502 Bad Gateway</html>');
-- (pg_catalog.count: an unqualified count(*) here would be public.count.)
SELECT pg_catalog.count(*) AS differences FROM cometchat.verify();
SELECT cometchat.rebuild() AS replayed;
SELECT pg_catalog.count(*) AS differences FROM cometchat.verify(since => '2023-11-15 09:30:00+00');
SELECT cometchat.rebuild(since => '2023-11-15 09:30:00+00') AS replayed_since;
CALL cometchat.rebuild_in_steps(step_events => 3);
SELECT pg_temp.step_aside('', 'lookalike_');
CALL cometchat.verify_in_steps(step_events => 3);
SELECT pg_temp.step_aside('lookalike_', '');
SELECT pg_catalog.count(*) AS rows FROM cometchat._lifecycle_rows();
SELECT pg_catalog.count(*) AS events FROM cometchat.timeline('app1', 'v1.us.app1.c2');
SELECT cometchat.app_visible('app1') AS visible;
SELECT pg_catalog.count(*) AS calls FROM cometchat.call_lifecycle;
SELECT (cometchat.classify(:'c1_init')).valid, cardinality(cometchat.validate(:'invalid')) AS problems,
       cometchat.idempotency_key(:'m2_start') IS NOT NULL AS has_key;
SET search_path = public, pg_temp, pg_catalog;
SELECT pg_catalog.count(*) AS differences FROM cometchat.verify();
SELECT cometchat.rebuild() AS replayed;
CALL cometchat.rebuild_in_steps(step_events => 3);
SELECT pg_temp.step_aside('', 'lookalike_');
CALL cometchat.verify_in_steps(step_events => 3);
SELECT pg_temp.step_aside('lookalike_', '');
SELECT status FROM cometchat.ingest(:'m2_start');
RESET search_path;
SELECT * FROM public.hijack_log;
-- Nothing was written to the look-alike tables.
SELECT (SELECT count(*) FROM public.sessions) + (SELECT count(*) FROM public.calls)
     + (SELECT count(*) FROM public.participants) + (SELECT count(*) FROM public.recordings)
     + (SELECT count(*) FROM public.call_outcomes) + (SELECT count(*) FROM public.events)
     + (SELECT count(*) FROM public.rejected) + (SELECT count(*) FROM pg_temp.sessions)
     + (SELECT count(*) FROM pg_temp.calls) + (SELECT count(*) FROM pg_temp.participants)
     + (SELECT count(*) FROM pg_temp.recordings) + (SELECT count(*) FROM pg_temp.call_outcomes) AS lookalike_rows;

------------------------------------------------------------------------
-- 4. The results are right.
------------------------------------------------------------------------
SELECT id, kind, session_id, call_id, occurred_at FROM cometchat.events ORDER BY id;
SELECT id, payload IS NOT NULL AS has_payload, raw_body, problems FROM cometchat.rejected ORDER BY id;
SELECT session_id, started_at, mode, ended_at, status, duration, participant_count, peak_participants, recording_count
FROM cometchat.sessions ORDER BY session_id, started_at;
SELECT session_id, call_id, caller, receiver, media, status, initiated_at, started_at, ended_at, outcome, outcome_at,
       duration, participant_count
FROM cometchat.calls ORDER BY session_id;
SELECT outcome_id, conversation_id, outcome, sent_at, linked_call_id FROM cometchat.call_outcomes ORDER BY outcome_id;
SELECT session_id, session_started_at, name, joined_at, left_at, left_at_from, audio_only, audio_only_from, platform
FROM cometchat.participants ORDER BY session_id, joined_at, name;
SELECT session_id, session_started_at, started_at, duration, recording_url, recording_date
FROM cometchat.recordings ORDER BY session_id, started_at;
SELECT * FROM cometchat.verify();

------------------------------------------------------------------------
-- 5. Every SECURITY DEFINER function of the extension has a fixed
--    search_path naming only pg_catalog (and pg_temp, last); so does every
--    function whose SQL text is parsed when it runs (LANGUAGE sql, plpgsql).
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.fixed_path(config text[]) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT EXISTS (SELECT 1 FROM unnest(config) c
                 WHERE c IN ('search_path=pg_catalog', 'search_path=pg_catalog, pg_temp',
                             'search_path="pg_catalog"', 'search_path="pg_catalog", "pg_temp"')) $$;
SELECT p.oid::regprocedure AS security_definer_without_fixed_search_path, p.proconfig
FROM pg_proc p
WHERE p.pronamespace = 'cometchat'::regnamespace AND p.prosecdef
  AND NOT coalesce(pg_temp.fixed_path(p.proconfig), false);
SELECT p.oid::regprocedure AS sql_function_without_fixed_search_path, l.lanname, p.proconfig
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'cometchat'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
  AND p.prokind <> 'p' AND NOT coalesce(pg_temp.fixed_path(p.proconfig), false);
-- A procedure that commits cannot fix its path (a SET clause forbids
-- COMMIT): it qualifies every name instead, and ran under both hostile
-- paths above with nothing noted.  These are all there are.
SELECT p.oid::regprocedure AS procedure_that_commits, p.proconfig
FROM pg_proc p
WHERE p.pronamespace = 'cometchat'::regnamespace AND p.prokind = 'p';
-- Nor does any function of the extension put a schema others can write to
-- on its path.
SELECT p.oid::regprocedure AS function, c AS setting
FROM pg_proc p, unnest(p.proconfig) c
WHERE p.pronamespace = 'cometchat'::regnamespace AND c LIKE 'search\_path=%'
  AND NOT pg_temp.fixed_path(ARRAY[c]);

------------------------------------------------------------------------
-- Clean up.
------------------------------------------------------------------------
DROP OWNED BY regress_cc31_receiver;
DROP ROLE regress_cc31_receiver;
DROP DOMAIN pg_temp.timestamptz;
DROP DOMAIN pg_temp.float8;
DROP OPERATOR pg_temp.= (text, text);
DROP FUNCTION pg_temp.hj_texteq(text, text);
DROP FUNCTION pg_temp.length(text);
DROP FUNCTION pg_temp.step_aside(text, text);
DROP FUNCTION public.hijack_note(text);
DROP TABLE public.hijack_log;
SELECT count(*) = :public_before AS public_as_before
FROM (SELECT oid FROM pg_proc WHERE pronamespace = 'public'::regnamespace
      UNION ALL SELECT oid FROM pg_operator WHERE oprnamespace = 'public'::regnamespace
      UNION ALL SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace
      UNION ALL SELECT oid FROM pg_type WHERE typnamespace = 'public'::regnamespace) o;

-- test/bench/bench.sql: the SQL side of the cometchat_webhooks benchmark
-- (test/bench/run, test/bench/scenarios.sh; test/scripts/bench_smoke.sh).
--
-- Not part of the extension.  Needs cometchat_webhooks, and the traffic
-- generator test/gen/stream.sql (schema cc_gen) loaded first.  (Re)creates
-- the schema bench:
--
--   bench.plain                 the baseline table: a bigserial key and a jsonb
--   bench.stream                the realistic stream (cc_gen.stream), preloaded
--   bench.dup_stream            the duplicate storm: every delivery made twice
--   bench.meeting_stream        one meeting with many participants
--   bench.pairs_stream          two-person calls, as many events as the meeting
--   bench.streams               per stream: payloads, distinct payloads and what
--                               the lifecycle tables must hold after ingesting it
--   bench.cursor                the sequence each single-row transaction takes
--                               its payload number from
--   bench.results, bench.memory, bench.failures   what the runs measured and found
--
--   bench.pair_calls(seed, first_event, n_events)   two-person ringing calls,
--       7 events each, generated on the fly (event e is event e % 7 of call e / 7)
--   bench.meeting(seed, n_participants)              one meeting: started, the
--       joins, the leaves, ended with every occupant
--   bench.reset()               empties the extension's tables and bench.plain
--   bench.check(stream, verify) what is wrong with the ledger and lifecycle
--                               tables after ingesting that stream ({} if nothing)
--   bench.feed(stream, target, run)  the duplicate-storm driver: one delivery
--                               per transaction, time spent per outcome
--   bench.summary               the table the benchmark prints
--
-- Every generator is a pure function of its arguments (hashes, never random()).

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
RESET client_min_messages;
CREATE SCHEMA bench;
COMMENT ON SCHEMA bench IS 'cometchat_webhooks benchmark (test/bench); not part of the extension';

CREATE TABLE bench.plain (id bigserial PRIMARY KEY, payload jsonb);

CREATE TABLE bench.stream (seq bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE bench.meeting_stream (seq bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE bench.pairs_stream (seq bigint PRIMARY KEY, payload jsonb NOT NULL);
-- repeat: an exact copy of a delivery with a smaller seq
CREATE TABLE bench.dup_stream (seq bigint PRIMARY KEY, payload jsonb NOT NULL,
                               repeat boolean NOT NULL);

CREATE TABLE bench.streams (
    name              text PRIMARY KEY,
    payloads          bigint NOT NULL,
    distinct_payloads bigint NOT NULL,
    avg_bytes         numeric,
    -- label -> [query returning one bigint, the value it must return]
    expected          jsonb NOT NULL DEFAULT '{}'
);

CREATE SEQUENCE bench.cursor;

CREATE TABLE bench.results (
    scenario int NOT NULL,
    variant  text NOT NULL,
    run      int NOT NULL,
    events   bigint,
    seconds  float8,
    value    float8,
    -- a statement cancelled after value seconds (scenario 2): no rate
    timed_out boolean NOT NULL DEFAULT false
);

CREATE TABLE bench.memory (
    at_events   bigint NOT NULL,
    name        text,
    ident       text,
    level       int,
    total_bytes bigint,
    used_bytes  bigint
);

CREATE TABLE bench.failures (
    scenario int NOT NULL,
    variant  text NOT NULL,
    run      int NOT NULL,
    problem  text NOT NULL
);

------------------------------------------------------------------------
-- Generators
------------------------------------------------------------------------

CREATE FUNCTION bench.h(seed int, purpose int, item bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8extended(item, seed::bigint * 1000003 + purpose) >> 1) & 9007199254740991 $$;

CREATE FUNCTION bench.person(k bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (ARRAY['Andrew', 'George', 'Maria', 'Priya', 'Chen', 'Fatima', 'Lucas', 'Sofia',
                  'Kenji', 'Amara', 'Noah', 'Elena', 'Omar', 'Hana', 'Mateo', 'Zoe',
                  'Ivan', 'Leila', 'Samuel', 'Yuki'])[1 + k % 20]
           || ' ' ||
           (ARRAY['Joseph', 'Alan', 'Garcia', 'Sharma', 'Wei', 'Khan', 'Silva', 'Rossi',
                  'Tanaka', 'Okafor', 'Smith', 'Petrova', 'Haddad', 'Kim', 'Lopez', 'Martin',
                  'Novak', 'Rahimi', 'Cohen', 'Sato'])[1 + (k / 20) % 20]
           || CASE WHEN k >= 400 THEN ' ' || (k / 400 + 1)::text ELSE '' END
$$;

CREATE FUNCTION bench._join(trig text, mode text, name text, joined bigint, audio boolean,
                            sid text, app_id text, region text, webhook text, k bigint)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'trigger', trig,
        'data', jsonb_build_object(
            'occupant', jsonb_build_object('joined_at', joined, 'audio_call', audio::text, 'name', name),
            'initial_config', jsonb_build_object(
                'is_video_muted', (audio OR k % 5 = 3)::text,
                'start_recording_on_call_start', 'false',
                'call_version', (ARRAY['2.3.0', '4.0.3', '4.1.0'])[1 + k % 3],
                'is_audio_muted', (k % 7 = 4)::text,
                'sdk', (ARRAY['react', 'javascript', 'android', 'ios', 'flutter', 'react-native'])[1 + k % 6],
                'mode', 'DEFAULT',
                'platform', (ARRAY['web', 'web', 'android', 'ios', 'android', 'ios'])[1 + k % 6],
                'is_audio_only', audio::text),
            'sessionId', sid),
        'type', mode, 'appId', app_id, 'region', region, 'webhook', webhook)
$$;

CREATE FUNCTION bench._leave(trig text, mode text, name text, joined bigint, left_at bigint,
                             audio boolean, sid text, app_id text, region text, webhook text)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'trigger', trig,
        'data', jsonb_build_object(
            'occupant', jsonb_build_object('joined_at', joined, 'audio_call', audio::text,
                                           'left_at', left_at, 'name', name),
            'sessionId', sid),
        'type', mode, 'appId', app_id, 'region', region, 'webhook', webhook)
$$;

-- Two-person (1-on-1) ringing calls, each answered and ended: event e is
-- event e % 7 of call e / 7 (call_initiated, call_started, two joins, two
-- leaves, call_ended with both occupants).  A call starts every 3 s, across 5
-- apps; every call has its own conversation and session id.  Any range of
-- events can be generated on its own (the memory scenario makes 1,000,000
-- this way, batch by batch).
CREATE FUNCTION bench.pair_calls(seed int, first_event bigint, n_events bigint)
    RETURNS TABLE (seq bigint, payload jsonb)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
WITH e AS (
    SELECT g AS seq, g / 7 AS c, (g % 7)::int AS sub
    FROM generate_series(first_event, first_event + n_events - 1) g
), c AS (
    SELECT e.*,
           substr(md5('bench app ' || seed || ' ' || (e.c % 5)), 1, 14) AS app_id,
           (ARRAY['us', 'eu', 'in'])[1 + (e.c % 5) % 3] AS region,
           'calls_webhook_' || (e.c % 5) AS webhook,
           'cometchat-uid-' || (2 * e.c + 1) AS ua,
           'cometchat-uid-' || (2 * e.c + 2) AS ub,
           bench.person(2 * e.c) AS na,
           bench.person(2 * e.c + 1) AS nb,
           1709510400 + e.c * 3 AS t0,
           3 + bench.h(seed, 1, e.c) % 30 AS ring,
           30 + bench.h(seed, 2, e.c) % 1800 AS talk,
           CASE WHEN bench.h(seed, 3, e.c) % 10 < 6 THEN 'audio' ELSE 'video' END AS media,
           bench.h(seed, 4, e.c) % 5 = 0 AS same_second
    FROM e
), d AS (
    SELECT c.*,
           'v1.' || region || '.' || app_id || '.' || t0 || md5('bench pair ' || seed || ' ' || c.c) AS sid,
           t0 + ring AS t_start,
           t0 + ring + CASE WHEN same_second THEN 0 ELSE 1 + bench.h(seed, 5, c.c) % 9 END AS t_join_b,
           t0 + ring + talk - bench.h(seed, 6, c.c) % 20 AS t_left_a,
           t0 + ring + talk AS t_end
    FROM c
)
SELECT d.seq,
       CASE d.sub
       WHEN 0 THEN jsonb_build_object(
           'trigger', 'call_initiated',
           'data', jsonb_build_object('call', jsonb_build_object(
               'id', (1000000 + 2 * d.c)::text,
               'conversationId', d.ua || '_user_' || d.ub,
               'sender', d.ua,
               'receiverType', 'user',
               'receiver', d.ub,
               'category', 'call',
               'type', d.media,
               'data', jsonb_build_object(
                   'action', 'initiated',
                   'entities', jsonb_build_object(
                       'by', jsonb_build_object(
                           'entity', jsonb_build_object('uid', d.ua, 'name', d.na,
                                                        'status', 'available', 'role', 'default',
                                                        'lastActiveAt', d.t0 - 60),
                           'entityType', 'user'),
                       'on', jsonb_build_object(
                           'entity', jsonb_build_object('sessionid', d.sid, 'status', 'initiated',
                                                        'type', d.media, 'initiatedAt', d.t0),
                           'entityType', 'call'))),
               'sentAt', d.t0,
               'updatedAt', d.t0)),
           'appId', d.app_id, 'region', d.region, 'webhook', d.webhook)
       WHEN 1 THEN jsonb_build_object(
           'trigger', 'call_started',
           'data', jsonb_build_object('created_at', d.t_start, 'sessionId', d.sid),
           'type', 'call', 'appId', d.app_id, 'region', d.region, 'webhook', d.webhook)
       WHEN 2 THEN bench._join('call_participant_joined', 'call', d.na, d.t_start, d.media = 'audio',
                               d.sid, d.app_id, d.region, d.webhook, d.c)
       WHEN 3 THEN bench._join('call_participant_joined', 'call', d.nb, d.t_join_b, d.media = 'audio',
                               d.sid, d.app_id, d.region, d.webhook, d.c + 1)
       WHEN 4 THEN bench._leave('call_participant_left', 'call', d.na, d.t_start, d.t_left_a,
                                d.media = 'audio', d.sid, d.app_id, d.region, d.webhook)
       WHEN 5 THEN bench._leave('call_participant_left', 'call', d.nb, d.t_join_b, d.t_end,
                                d.media = 'audio', d.sid, d.app_id, d.region, d.webhook)
       ELSE jsonb_build_object(
           'trigger', 'call_ended',
           'data', jsonb_build_object(
               'all_occupants', jsonb_build_array(
                   jsonb_build_object('joined_at', d.t_join_b, 'audio_call', (d.media = 'audio')::text,
                                      'left_at', d.t_end, 'name', d.nb),
                   jsonb_build_object('joined_at', d.t_start, 'audio_call', (d.media = 'audio')::text,
                                      'left_at', d.t_left_a, 'name', d.na)),
               'destroyed_at', d.t_end,
               'created_at', d.t_start,
               'sessionId', d.sid),
           'type', 'call', 'appId', d.app_id, 'region', d.region, 'webhook', d.webhook)
       END
FROM d
$$;

-- How many rows the lifecycle tables hold after events [0, n) of pair_calls.
CREATE FUNCTION bench.pair_calls_expected(n bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT jsonb_build_object(
        'calls', jsonb_build_array('SELECT count(*) FROM cometchat.calls', (n + 6) / 7),
        'ended two-person calls',
            jsonb_build_array('SELECT count(*) FROM cometchat.calls WHERE status = ''ended'' AND participant_count = 2',
                              n / 7),
        'sessions', jsonb_build_array('SELECT count(*) FROM cometchat.sessions', (n + 5) / 7),
        'sessions with peak 2',
            jsonb_build_array('SELECT count(*) FROM cometchat.sessions WHERE peak_participants = 2', n / 7),
        'participants', jsonb_build_array('SELECT count(*) FROM cometchat.participants',
                                          (n + 4) / 7 + (n + 3) / 7))
$$;

-- One meeting (a call session) with n participants: they join over its first
-- 10 minutes (several in the same second once n > 600), a tenth leave early,
-- everyone has left after an hour, when meeting_ended lists all n occupants.
CREATE FUNCTION bench._meeting_plan(seed int, n int)
    RETURNS TABLE (j int, name text, joined_at bigint, left_at bigint, audio boolean)
    LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT j, bench.person(j),
           1709629200 + (j::bigint * 600) / n AS joined_at,
           CASE WHEN j = n - 1 THEN 1709629200 + 3600
                WHEN bench.h(seed, 20, j) % 10 = 0
                    THEN 1709629200 + (j::bigint * 600) / n + 60 + bench.h(seed, 21, j) % 900
                ELSE 1709629200 + 1800 + bench.h(seed, 22, j) % 1800 END,
           bench.h(seed, 23, j) % 5 = 0
    FROM generate_series(0, n - 1) j
$$;

CREATE FUNCTION bench.meeting(seed int, n int)
    RETURNS TABLE (seq bigint, payload jsonb)
    LANGUAGE sql IMMUTABLE STRICT
    SET jit = off
AS $$
WITH a AS (
    SELECT substr(md5('bench app ' || seed || ' meeting'), 1, 14) AS app_id, 'eu' AS region,
           'calls_webhook_meet' AS webhook, 'all-hands-' || n AS sid,
           1709629200::bigint AS t_start, 1709629200::bigint + 3600 AS t_end
), p AS (
    SELECT * FROM bench._meeting_plan(seed, n)
), ev AS (
    SELECT a.t_start AS t, 0 AS tie, 0 AS j,
           jsonb_build_object('trigger', 'meeting_started',
                              'data', jsonb_build_object('created_at', a.t_start, 'sessionId', a.sid),
                              'type', 'meet', 'appId', a.app_id, 'region', a.region,
                              'webhook', a.webhook) AS payload
    FROM a
    UNION ALL
    SELECT p.joined_at, 1, p.j,
           bench._join('meeting_participant_joined', 'meet', p.name, p.joined_at, p.audio,
                       a.sid, a.app_id, a.region, a.webhook, p.j)
    FROM p, a
    UNION ALL
    SELECT p.left_at, 2, p.j,
           bench._leave('meeting_participant_left', 'meet', p.name, p.joined_at, p.left_at,
                        p.audio, a.sid, a.app_id, a.region, a.webhook)
    FROM p, a
    UNION ALL
    SELECT a.t_end, 3, 0,
           jsonb_build_object(
               'trigger', 'meeting_ended',
               'data', jsonb_build_object(
                   'all_occupants', (SELECT jsonb_agg(jsonb_build_object(
                                                'joined_at', p.joined_at, 'audio_call', p.audio::text,
                                                'left_at', p.left_at, 'name', p.name)
                                            ORDER BY p.left_at DESC, p.j) FROM p),
                   'destroyed_at', a.t_end,
                   'created_at', a.t_start,
                   'sessionId', a.sid),
               'type', 'meet', 'appId', a.app_id, 'region', a.region, 'webhook', a.webhook)
    FROM a
)
SELECT row_number() OVER (ORDER BY t, tie, j), payload FROM ev
$$;

-- What the lifecycle tables hold after the whole meeting.
CREATE FUNCTION bench.meeting_expected(seed int, n int) RETURNS jsonb
    LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT jsonb_build_object(
        'meeting participant_count',
            jsonb_build_array('SELECT coalesce(sum(participant_count), -1) FROM cometchat.sessions', n),
        'meeting peak_participants',
            jsonb_build_array('SELECT coalesce(sum(peak_participants), -1) FROM cometchat.sessions',
                              (SELECT max(k) FROM (
                                   SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS k
                                   FROM (SELECT joined_at AS t, 1 AS d FROM bench._meeting_plan(seed, n)
                                         UNION ALL
                                         SELECT left_at, -1 FROM bench._meeting_plan(seed, n)) e) x)),
        'sessions ended', jsonb_build_array(
            'SELECT count(*) FROM cometchat.sessions WHERE ended_at IS NOT NULL', 1),
        'participants', jsonb_build_array('SELECT count(*) FROM cometchat.participants', n),
        'participants with left_at', jsonb_build_array(
            'SELECT count(*) FROM cometchat.participants WHERE left_at IS NOT NULL', n))
$$;

------------------------------------------------------------------------
-- Loading the streams (not timed)
------------------------------------------------------------------------

-- The realistic stream: cc_gen.stream with its default 10% duplicate
-- deliveries and reordering window, across n_apps apps.
CREATE FUNCTION bench.load_stream(seed int, n_calls int, n_meetings int, n_apps int) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    TRUNCATE bench.stream;
    INSERT INTO bench.stream (seq, payload)
    SELECT s.seq, s.payload FROM cc_gen.stream(seed, n_calls, n_meetings, n_apps => n_apps) s;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM bench.streams WHERE name = 'stream';
    INSERT INTO bench.streams
    SELECT 'stream', count(*), count(DISTINCT payload), avg(length(payload::text)),
           jsonb_build_object(
               'calls', jsonb_build_array('SELECT count(*) FROM cometchat.calls',
                   (SELECT count(*) FROM cc_gen.expected_calls(seed, n_calls, n_meetings, n_apps => n_apps))),
               'sessions', jsonb_build_array('SELECT count(*) FROM cometchat.sessions',
                   (SELECT count(*) FROM cc_gen.expected_sessions(seed, n_calls, n_meetings, n_apps => n_apps))),
               'call_outcomes', jsonb_build_array('SELECT count(*) FROM cometchat.call_outcomes',
                   (SELECT count(*) FROM cc_gen.expected_outcomes(seed, n_calls, n_meetings, n_apps => n_apps))),
               'linked call_outcomes', jsonb_build_array(
                   'SELECT count(*) FROM cometchat.call_outcomes WHERE linked_call_id IS NOT NULL',
                   (SELECT count(*) FROM cc_gen.expected_outcomes(seed, n_calls, n_meetings, n_apps => n_apps))))
    FROM bench.stream;
    ANALYZE bench.stream;
    RETURN n;
END
$$;

-- The duplicate storm: cc_gen.stream with dup_rate 1, so every delivery is
-- made twice (the retry 10 or 30 s later, locally reordered): half of all
-- deliveries are repeats.
CREATE FUNCTION bench.load_dup_stream(seed int, n_calls int, n_meetings int, n_apps int) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    TRUNCATE bench.dup_stream;
    INSERT INTO bench.dup_stream (seq, payload, repeat)
    SELECT s.seq, s.payload,
           row_number() OVER (PARTITION BY s.payload ORDER BY s.seq) > 1
    FROM cc_gen.stream(seed, n_calls, n_meetings, 1.0, n_apps => n_apps) s;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM bench.streams WHERE name = 'dup_stream';
    INSERT INTO bench.streams
    SELECT 'dup_stream', count(*), count(*) FILTER (WHERE NOT repeat), avg(length(payload::text)),
           jsonb_build_object(
               'calls', jsonb_build_array('SELECT count(*) FROM cometchat.calls',
                   (SELECT count(*) FROM cc_gen.expected_calls(seed, n_calls, n_meetings, 1.0, n_apps => n_apps))),
               'sessions', jsonb_build_array('SELECT count(*) FROM cometchat.sessions',
                   (SELECT count(*) FROM cc_gen.expected_sessions(seed, n_calls, n_meetings, 1.0, n_apps => n_apps))))
    FROM bench.dup_stream;
    ANALYZE bench.dup_stream;
    RETURN n;
END
$$;

-- Scenario 3: the meeting and as many events of two-person calls.
CREATE FUNCTION bench.load_meeting_streams(seed int, n_participants int) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    TRUNCATE bench.meeting_stream, bench.pairs_stream;
    INSERT INTO bench.meeting_stream SELECT * FROM bench.meeting(seed, n_participants);
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO bench.pairs_stream SELECT seq + 1, payload FROM bench.pair_calls(seed, 0, n);
    DELETE FROM bench.streams WHERE name IN ('meeting_stream', 'pairs_stream');
    INSERT INTO bench.streams
    SELECT 'meeting_stream', count(*), count(DISTINCT payload), avg(length(payload::text)),
           bench.meeting_expected(seed, n_participants)
    FROM bench.meeting_stream;
    INSERT INTO bench.streams
    SELECT 'pairs_stream', count(*), count(DISTINCT payload), avg(length(payload::text)),
           bench.pair_calls_expected(n)
    FROM bench.pairs_stream;
    ANALYZE bench.meeting_stream, bench.pairs_stream;
    RETURN n;
END
$$;

------------------------------------------------------------------------
-- Between runs, and after each run
------------------------------------------------------------------------

-- Empties every data table of the extension (whatever tables it has today:
-- the ledger, the quarantine, the lifecycle tables) and the baseline table,
-- and rewinds the cursor.  The per-app security settings (app_access,
-- app_security) are left alone: they hold no data, and truncating the
-- switch would alter the tables.
CREATE FUNCTION bench.reset() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(c.oid::regclass::text, ', ') || ', bench.plain RESTART IDENTITY'
             FROM pg_class c
             JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
             JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
             WHERE e.extname = 'cometchat_webhooks' AND c.relkind IN ('r', 'p') AND d.deptype = 'e'
               AND c.relname NOT LIKE 'app\_%');
    PERFORM setval('bench.cursor', 1, false);
END
$$;

-- What is wrong after ingesting the stream named: the ledger must hold one
-- row per distinct payload, nothing may be quarantined, cometchat.verify()
-- must find nothing (when asked: it recomputes everything), and the
-- lifecycle tables must hold what the stream's generator says.
CREATE FUNCTION bench.check(stream text, with_verify boolean, ledger_rows bigint DEFAULT NULL)
    RETURNS text[]
    LANGUAGE plpgsql
AS $$
DECLARE
    m bench.streams;
    problems text[] := '{}';
    n bigint;
    want bigint;
    label text;
    spec jsonb;
BEGIN
    SELECT * INTO m FROM bench.streams WHERE name = stream;
    IF NOT FOUND AND ledger_rows IS NULL THEN
        RETURN ARRAY['no stream named ' || stream];
    END IF;
    want := coalesce(ledger_rows, m.distinct_payloads);
    SELECT count(*) INTO n FROM cometchat.events;
    IF n <> want THEN
        problems := problems || format('cometchat.events has %s rows, expected %s (distinct payloads)', n, want);
    END IF;
    SELECT count(*) INTO n FROM cometchat.rejected;
    IF n <> 0 THEN
        problems := problems || format('cometchat.rejected has %s rows, expected 0', n);
    END IF;
    IF with_verify THEN
        SELECT count(*) INTO n FROM cometchat.verify();
        IF n <> 0 THEN
            problems := problems || format('cometchat.verify() returned %s rows, expected 0', n);
        END IF;
    END IF;
    FOR label, spec IN SELECT key, value FROM jsonb_each(coalesce(m.expected, '{}')) LOOP
        EXECUTE spec->>0 INTO n;
        IF n IS DISTINCT FROM (spec->>1)::bigint THEN
            problems := problems || format('%s: %s, expected %s', label, n, spec->>1);
        END IF;
    END LOOP;
    RETURN problems;
END
$$;

CREATE FUNCTION bench.check_plain(stream text) RETURNS text[]
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
    want bigint;
BEGIN
    SELECT payloads INTO want FROM bench.streams WHERE name = stream;
    SELECT count(*) INTO n FROM bench.plain;
    IF n IS DISTINCT FROM want THEN
        RETURN ARRAY[format('bench.plain has %s rows, expected %s', n, want)];
    END IF;
    RETURN '{}';
END
$$;

-- Records what a check found; returns the number of problems.
CREATE FUNCTION bench.record(scenario int, variant text, run int, problems text[]) RETURNS int
    LANGUAGE sql
AS $$
    INSERT INTO bench.failures SELECT scenario, variant, run, p FROM unnest(problems) p;
    SELECT coalesce(cardinality(problems), 0);
$$;

------------------------------------------------------------------------
-- Scenario 4: the duplicate storm, one delivery per transaction
------------------------------------------------------------------------

-- Feeds bench.dup_stream in seq order through a plain INSERT into
-- cometchat.events (target 'events') or into bench.plain (target 'plain'),
-- one delivery per transaction, and adds up the time each delivery took
-- (INSERT and COMMIT) by what happened to it: stored (new) or skipped
-- (duplicate).  For the plain table nothing is skipped: its deliveries are
-- split by whether they repeat an earlier one.  Checks that the ledger
-- skipped exactly the repeats.
CREATE PROCEDURE bench.feed(target text, run int)
    LANGUAGE plpgsql
AS $$
DECLARE
    total bigint;
    p jsonb;
    rep boolean;
    stored bigint;
    t0 timestamptz;
    t1 timestamptz;
    new_n bigint := 0;
    dup_n bigint := 0;
    new_s float8 := 0;
    dup_s float8 := 0;
    wrong bigint := 0;
    tag text := CASE target WHEN 'events' THEN '' ELSE 'plain-' END;
BEGIN
    SELECT payloads INTO total FROM bench.streams WHERE name = 'dup_stream';
    COMMIT;
    FOR i IN 1 .. total LOOP
        SELECT d.payload, d.repeat INTO p, rep FROM bench.dup_stream d WHERE d.seq = i;
        t0 := clock_timestamp();
        IF target = 'events' THEN
            INSERT INTO cometchat.events (payload) VALUES (p);
            GET DIAGNOSTICS stored = ROW_COUNT;
        ELSE
            INSERT INTO bench.plain (payload) VALUES (p);
            stored := CASE WHEN rep THEN 0 ELSE 1 END;
        END IF;
        COMMIT;
        t1 := clock_timestamp();
        IF stored = 1 THEN
            new_n := new_n + 1;
            new_s := new_s + extract(epoch FROM t1 - t0);
        ELSE
            dup_n := dup_n + 1;
            dup_s := dup_s + extract(epoch FROM t1 - t0);
        END IF;
        IF (stored = 0) <> rep THEN
            wrong := wrong + 1;
        END IF;
    END LOOP;
    INSERT INTO bench.results VALUES (4, tag || 'new', run, new_n, new_s),
                                     (4, tag || 'dup', run, dup_n, dup_s);
    IF wrong > 0 THEN
        INSERT INTO bench.failures VALUES
            (4, target, run, format('%s deliveries were stored although they repeat an earlier one, or skipped although they do not', wrong));
    END IF;
    COMMIT;
END
$$;

------------------------------------------------------------------------
-- The table
------------------------------------------------------------------------

-- The median rate of a variant; when one of its runs timed out, the rate
-- that run stayed under (events / seconds allowed) instead.
CREATE FUNCTION bench.median_rate(sc int, v text) RETURNS float8
    LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN bool_or(timed_out) THEN min(events / value) FILTER (WHERE timed_out)
                ELSE percentile_cont(0.5) WITHIN GROUP (ORDER BY events / seconds) END
    FROM bench.results WHERE scenario = sc AND variant = v AND (seconds > 0 OR timed_out)
$$;

CREATE FUNCTION bench.timed_out(sc int, v text) RETURNS boolean
    LANGUAGE sql STABLE
AS $$ SELECT EXISTS (SELECT 1 FROM bench.results WHERE scenario = sc AND variant = v AND timed_out) $$;

-- Each run's rate of a variant divided by another's in the same run.  The
-- run measures the two back to back, so a change of the machine's speed
-- between runs (on the development machine, up to ±40% over minutes)
-- cancels out of the run's ratio.
CREATE FUNCTION bench.run_ratio_rows(sc int, v text, base text) RETURNS TABLE (run int, ratio float8)
    LANGUAGE sql STABLE
AS $$
    SELECT a.run, (a.events / a.seconds) / (b.events / b.seconds)
    FROM bench.results a
    JOIN bench.results b ON b.scenario = a.scenario AND b.run = a.run AND b.variant = base
    WHERE a.scenario = sc AND a.variant = v AND a.seconds > 0 AND b.seconds > 0
$$;

-- The median of those: what a target is held to (a ratio of two medians
-- could take them from different runs).  NULL when a run timed out (then
-- the caller shows the bound of the medians instead).
CREATE FUNCTION bench.median_ratio(sc int, v text, base text) RETURNS float8
    LANGUAGE sql STABLE
AS $$
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ratio)
    FROM bench.run_ratio_rows(sc, v, base)
    WHERE NOT bench.timed_out(sc, v) AND NOT bench.timed_out(sc, base)
$$;

-- Each run's ratio, for the record: 'r1 r2 r3'.
CREATE FUNCTION bench.run_ratios(sc int, v text, base text) RETURNS text
    LANGUAGE sql STABLE
AS $$ SELECT string_agg(to_char(ratio, 'FM990.000'), ' ' ORDER BY run) FROM bench.run_ratio_rows(sc, v, base) $$;

-- Below, a rate or ratio that is only a bound: '< ' in front.
CREATE FUNCTION bench.lt(bound boolean) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN bound THEN '< ' ELSE '' END $$;

CREATE FUNCTION bench.median_events(sc int, v text) RETURNS bigint
    LANGUAGE sql STABLE
AS $$ SELECT max(events) FROM bench.results WHERE scenario = sc AND variant = v $$;

CREATE FUNCTION bench.wrong(sc int, VARIADIC v text[]) RETURNS boolean
    LANGUAGE sql STABLE
AS $$ SELECT EXISTS (SELECT 1 FROM bench.failures f WHERE f.scenario = sc AND f.variant = ANY (v)) $$;

CREATE FUNCTION bench.fmt_rate(r float8) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN r IS NULL THEN '-' ELSE to_char(round(r), 'FM999,999,999') END $$;

CREATE FUNCTION bench.fmt_mb(b float8) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN b IS NULL THEN '-' ELSE to_char(b / 1048576.0, 'FM999,990.00') || ' MB' END $$;

-- result: PASS or MISS against the target; WRONG when a correctness check
-- of that figure failed (the figure means nothing then); '-' for reference rows.
CREATE FUNCTION bench.verdict(ok boolean, wrong boolean) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN wrong THEN 'WRONG' WHEN ok IS NULL THEN 'n/a' WHEN ok THEN 'PASS' ELSE 'MISS' END $$;

-- A row of scenario 2 (bulk): a variant against its plain baseline, with
-- the 0.25x target, or for information only.
CREATE FUNCTION bench.bulk_row(ord numeric, label text, variant text, baseline text, is_target boolean)
RETURNS TABLE (o numeric, scenario text, events bigint, ext text, plain text, ratio float8,
               target text, measured text, result text)
    LANGUAGE sql STABLE
AS $$
    SELECT ord, label, bench.median_events(2, variant),
           bench.lt(t) || bench.fmt_rate(e), bench.fmt_rate(p), q,
           CASE WHEN is_target THEN '>= 0.25x baseline' ELSE '(info)' END,
           bench.lt(t) || to_char(q, 'FM990.000') || 'x baseline'
               || CASE WHEN t THEN ' (TIMEOUT)' ELSE '' END,
           CASE WHEN is_target THEN bench.verdict(NOT t AND q >= 0.25, bench.wrong(2, variant, baseline))
                WHEN bench.wrong(2, variant, baseline) THEN 'WRONG' ELSE '-' END
    FROM (SELECT bench.median_rate(2, variant) AS e, bench.median_rate(2, baseline) AS p,
                 coalesce(bench.median_ratio(2, variant, baseline),
                          bench.median_rate(2, variant) / bench.median_rate(2, baseline)) AS q,
                 bench.timed_out(2, variant) AS t) x
$$;

CREATE VIEW bench.summary AS
WITH r AS (
    SELECT bench.median_rate(1, 'insert') AS s1_insert, bench.median_rate(1, 'ingest') AS s1_ingest,
           bench.median_rate(1, 'plain') AS s1_plain,
           bench.median_rate(3, 'meeting') AS s3_meeting, bench.median_rate(3, 'plain-meeting') AS s3_plain_meeting,
           bench.median_rate(3, 'pairs') AS s3_pairs, bench.median_rate(3, 'plain-pairs') AS s3_plain_pairs,
           bench.median_rate(4, 'new') AS s4_new, bench.median_rate(4, 'plain-new') AS s4_plain_new,
           bench.median_rate(4, 'dup') AS s4_dup, bench.median_rate(4, 'plain-dup') AS s4_plain_dup,
           (SELECT max(value / nullif(events, 0)) FROM bench.results WHERE scenario = 4 AND variant = 'dead') AS s4_dead,
           (SELECT max(value) FROM bench.results WHERE scenario = 4 AND variant = 'dead') AS s4_dead_total,
           (SELECT min(at_events) FROM bench.memory) AS m_first,
           (SELECT max(at_events) FROM bench.memory) AS m_last,
           (SELECT sum(total_bytes) FROM bench.memory WHERE at_events = (SELECT min(at_events) FROM bench.memory)) AS m_first_bytes,
           (SELECT sum(total_bytes) FROM bench.memory WHERE at_events = (SELECT max(at_events) FROM bench.memory)) AS m_last_bytes,
           (SELECT sum(used_bytes) FROM bench.memory WHERE at_events = (SELECT min(at_events) FROM bench.memory)) AS m_first_used,
           (SELECT sum(used_bytes) FROM bench.memory WHERE at_events = (SELECT max(at_events) FROM bench.memory)) AS m_last_used,
           (SELECT max(value) FROM bench.results WHERE scenario = 5 AND variant = 'rate') AS s5_rate,
           (SELECT max(value) FROM bench.results WHERE scenario = 0 AND variant = 'participants') AS participants,
           -- the targets' ratios: medians of each run's ratio (bench.median_ratio)
           bench.median_ratio(1, 'insert', 'plain') AS q1_insert, bench.median_ratio(1, 'ingest', 'plain') AS q1_ingest,
           bench.median_ratio(3, 'pairs', 'plain-pairs') AS q3_pairs,
           bench.median_ratio(3, 'meeting', 'plain-meeting') AS q3_meeting,
           bench.median_ratio(3, 'meeting', 'pairs') AS q3_meeting_pairs,
           bench.median_ratio(4, 'new', 'plain-new') AS q4_new, bench.median_ratio(4, 'dup', 'plain-dup') AS q4_dup,
           bench.median_ratio(4, 'dup', 'new') AS q4_dup_new
), rows AS (
    SELECT 1::numeric AS o, '1 single-row INSERT INTO cometchat.events' AS scenario, bench.median_events(1, 'insert') AS events,
           bench.fmt_rate(s1_insert) AS ext, bench.fmt_rate(s1_plain) AS plain, q1_insert AS ratio,
           '>= 0.50x baseline' AS target, to_char(q1_insert, 'FM990.00') || 'x baseline' AS measured,
           bench.verdict(q1_insert >= 0.5, bench.wrong(1, 'insert', 'plain')) AS result
    FROM r
    UNION ALL
    -- For information: the issue's single-row target is for a plain INSERT;
    -- ingest() is the same insert inside a function call (and SPI).
    SELECT 2, '1 single-row cometchat.ingest() (info)', bench.median_events(1, 'ingest'),
           bench.fmt_rate(s1_ingest), bench.fmt_rate(s1_plain), q1_ingest,
           '(info)', to_char(q1_ingest, 'FM990.00') || 'x baseline',
           CASE WHEN bench.wrong(1, 'ingest', 'plain') THEN 'WRONG' ELSE '-' END
    FROM r
    UNION ALL
    SELECT * FROM bench.bulk_row(3, '2 bulk INSERT ... SELECT (1 statement)', 'insert', 'plain-insert', true)
    UNION ALL
    SELECT * FROM bench.bulk_row(4, '2 bulk COPY FROM file', 'copy', 'plain-copy', true)
    UNION ALL
    -- For information: the same statement when the emptied tables were not
    -- vacuumed first.
    SELECT * FROM bench.bulk_row(4.5, '2 bulk INSERT, tables not vacuumed (info)', 'insert-fresh',
                                 'plain-insert', false)
    UNION ALL
    SELECT 5, '3 two-person calls (reference)', bench.median_events(3, 'pairs'),
           bench.fmt_rate(s3_pairs), bench.fmt_rate(s3_plain_pairs), q3_pairs,
           '-', '-', CASE WHEN bench.wrong(3, 'pairs', 'plain-pairs') THEN 'WRONG' ELSE '-' END
    FROM r
    UNION ALL
    SELECT 6, '3 one meeting, ' || coalesce(participants::bigint::text, '?') || ' participants',
           bench.median_events(3, 'meeting'),
           bench.fmt_rate(s3_meeting), bench.fmt_rate(s3_plain_meeting), q3_meeting,
           '>= 0.80x two-person', to_char(q3_meeting_pairs, 'FM990.00') || 'x two-person',
           bench.verdict(q3_meeting_pairs >= 0.8,
                         bench.wrong(3, 'meeting', 'plain-meeting', 'pairs', 'plain-pairs'))
    FROM r
    UNION ALL
    SELECT 7, '4 duplicate storm: new events (reference)', bench.median_events(4, 'new'),
           bench.fmt_rate(s4_new), bench.fmt_rate(s4_plain_new), q4_new,
           '-', '-', CASE WHEN bench.wrong(4, 'events', 'plain', 'dead') THEN 'WRONG' ELSE '-' END
    FROM r
    UNION ALL
    SELECT 8, '4 duplicate storm: duplicates skipped', bench.median_events(4, 'dup'),
           bench.fmt_rate(s4_dup), bench.fmt_rate(s4_plain_dup), q4_dup,
           '>= 2.00x new events', to_char(q4_dup_new, 'FM990.00') || 'x new events',
           bench.verdict(q4_dup_new >= 2, bench.wrong(4, 'events', 'plain', 'dead'))
    FROM r
    UNION ALL
    SELECT 9, '4 dead tuples in cometchat.events', bench.median_events(4, 'dup'),
           '-', '-', NULL,
           '0 per duplicate', coalesce(s4_dead_total::bigint::text, '?') || ' (' ||
               coalesce(to_char(s4_dead, 'FM990.000'), '?') || ' per duplicate)',
           bench.verdict(s4_dead = 0, bench.wrong(4, 'events', 'dead'))
    FROM r
    UNION ALL
    SELECT 10, '5 backend memory after ' || coalesce(to_char(m_first, 'FM999,999,999'), '?') || ' events',
           m_first, '-', '-', NULL, '-',
           bench.fmt_mb(m_first_bytes) || ' (' || bench.fmt_mb(m_first_used) || ' used)', '-'
    FROM r
    UNION ALL
    -- Flat: the used bytes grew by less than 1 MB (1 byte per event at
    -- 1,000,000).  total_bytes moves in whole blocks, which double in size.
    SELECT 11, '5 backend memory after ' || coalesce(to_char(m_last, 'FM999,999,999'), '?') || ' events',
           m_last, bench.fmt_rate(s5_rate), '-', NULL,
           'flat (used +< 1 MB)',
           bench.fmt_mb(m_last_bytes) || ' (' || bench.fmt_mb(m_last_used) || ' used, ' ||
               CASE WHEN m_last_used >= m_first_used THEN '+' ELSE '' END ||
               bench.fmt_mb(m_last_used - m_first_used) || ')',
           bench.verdict(m_last_used - m_first_used < 1048576, bench.wrong(5, 'memory'))
    FROM r
)
SELECT scenario, to_char(events, 'FM999,999,999') AS "events/run", ext AS "ext ev/s",
       plain AS "plain ev/s",
       coalesce(CASE WHEN ext LIKE '<%' THEN '< ' ELSE '' END
                || to_char(ratio, CASE WHEN ratio < 0.1 THEN 'FM0.000' ELSE 'FM990.00' END) || 'x', '-')
           AS "ext/plain",
       target, measured, result
FROM rows ORDER BY o;

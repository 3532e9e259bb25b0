-- test/fuzz/fuzz.sql: the seeded fuzz test of cometchat_webhooks, server side.
--
-- Loaded by test/scripts/fuzz.sh into the test database; it (re)creates the
-- schema cc_fuzz and nothing else.  Everything is generated inside the server
-- from the 14 seed payloads (test/fuzz/seeds.ndjson, the reference examples
-- with concrete values), deterministically from one seed: every random choice
-- is hashtextextended(tag, seed), never random().
--
--   cc_fuzz.generate(seed, max_inputs, deadline)
--                          fills cc_fuzz.gen (the mutants) and cc_fuzz.inputs
--                          (delivery order = id, entry point): the systematic
--                          mutants always, random ones up to max_inputs or
--                          the deadline
--   CALL cc_fuzz.run(deadline, batch)
--                          feeds the inputs not fed yet, in id order, through
--                          cometchat.ingest_raw / ingest / INSERT, one
--                          subtransaction each, committing every batch, until
--                          the deadline; records cc_fuzz.results
--   CALL cc_fuzz.run_one(id)   the same for one input (crash and hang triage)
--   cc_fuzz.failures()     every broken assertion, one row each
--
-- Every mutant body is text: a mutation puts the placeholder string
-- "@@FZ@@" at a JSON path, serializes, then replaces the placeholder by raw
-- JSON text (so "\u0000", "\ud800", 1e308, 9223372036854775808, duplicated
-- keys and 10,000-deep nesting reach cometchat.ingest_raw exactly as written).
-- A 1 MiB string is stored as a marker and expanded when the body is read
-- (cc_fuzz.body).

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS cc_fuzz CASCADE;
CREATE SCHEMA cc_fuzz;
SET search_path = cc_fuzz, public;

CREATE TABLE cc_fuzz.seed_lines (n serial PRIMARY KEY, line text NOT NULL);
CREATE TABLE cc_fuzz.seeds (n int PRIMARY KEY, trigger text NOT NULL, payload jsonb NOT NULL, body text NOT NULL);

-- Generated mutants, in generation order.
CREATE SEQUENCE cc_fuzz.gen_k;
CREATE TABLE cc_fuzz.gen (
    k        int PRIMARY KEY,
    seed_n   int,
    family   text NOT NULL,   -- seed, type, remove, empty, unicode, time, format, extra, array, dupkey, deep, wide, raw, dup,
                              -- random-json, random-raw
    op       text NOT NULL,   -- what was done, human readable
    body     text,            -- NULL only for the "SQL NULL body" inputs; read it through cc_fuzz.body()
    expect   text,            -- accepted / duplicate / rejected, or NULL: the oracle alone decides
    dup_of   int,             -- for family dup: the k it re-delivers
    via      text             -- forced entry point, or NULL
);

-- The inputs, in delivery order (their bodies stay in cc_fuzz.gen).
CREATE TABLE cc_fuzz.inputs (
    id      int PRIMARY KEY,
    k       int NOT NULL UNIQUE REFERENCES cc_fuzz.gen,
    seed_n  int,
    family  text NOT NULL,
    op      text NOT NULL,
    via     text NOT NULL CHECK (via IN ('raw', 'jsonb', 'insert')),  -- entry point; jsonb and insert fall back
    expect  text,                                                   -- to raw for a body that is not jsonb
    dup_of  int                -- id of the input it re-delivers
);

CREATE TABLE cc_fuzz.results (
    id          int PRIMARY KEY,
    status      text NOT NULL,   -- accepted, duplicate, rejected, or raised
    via         text NOT NULL,   -- the entry point used
    event_id    bigint,
    key         bytea,
    problems    text[],
    rejected_id bigint,
    sqlstate    text,
    errmsg      text,
    errcontext  text,
    ms          float8
);

------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------

-- A deterministic number in [0, n).
CREATE FUNCTION cc_fuzz.rnd(seed bigint, tag text, n int) RETURNS int
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT (((hashtextextended(tag, seed) % n) + n) % n)::int $$;

-- Text as jsonb, or NULL when it is not valid jsonb input.
CREATE FUNCTION cc_fuzz.try_jsonb(body text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN body::jsonb;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

-- "data.all_occupants[0].name" for {data,all_occupants,0,name}
CREATE FUNCTION cc_fuzz.pstr(path text[]) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT coalesce(nullif(string_agg(CASE WHEN e ~ '^[0-9]+$' THEN '[' || e || ']'
                                           WHEN o = 1 THEN e ELSE '.' || e END, '' ORDER BY o), ''), '(payload)')
    FROM unnest(path) WITH ORDINALITY u(e, o)
$$;

-- Every value of a document with its path (the root has path {}).
CREATE FUNCTION cc_fuzz.paths(doc jsonb) RETURNS TABLE (path text[], val jsonb)
    LANGUAGE sql IMMUTABLE STRICT AS $$
    WITH RECURSIVE t(path, val) AS (
        SELECT ARRAY[]::text[], doc
        UNION ALL
        SELECT t.path || c.k, c.v
        FROM t CROSS JOIN LATERAL (
            SELECT e.key AS k, e.value AS v
            FROM jsonb_each(CASE WHEN jsonb_typeof(t.val) = 'object' THEN t.val END) e
            UNION ALL
            SELECT (a.i - 1)::text, a.v
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.val) = 'array' THEN t.val END)
                 WITH ORDINALITY a(v, i)) c
    )
    SELECT path, val FROM t
$$;

-- The document with raw JSON text lit at path (the whole body for path {}).
CREATE FUNCTION cc_fuzz.put(doc jsonb, path text[], lit text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(path) = 0 THEN lit
                ELSE replace(jsonb_set(doc, path, '"@@FZ@@"', true)::text, '"@@FZ@@"', lit) END
$$;

-- The object at path written out by hand with key twice: first the bad
-- value then the real members (bad_first), or the other way round.  jsonb
-- keeps the last of duplicated keys.
CREATE FUNCTION cc_fuzz.dupkey(doc jsonb, path text[], key text, badlit text, bad_first boolean) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT cc_fuzz.put(doc, path,
        '{' || CASE WHEN bad_first THEN to_json(key)::text || ':' || badlit || ', ' || m
                    ELSE m || ', ' || to_json(key)::text || ':' || badlit END || '}')
    FROM (SELECT string_agg(to_json(e.key)::text || ': ' || e.value::text, ', ' ORDER BY e.key) AS m
          FROM jsonb_each(doc #> path) e) x
$$;

-- Makes a mutant its own: a fresh appId, so its idempotency key and its
-- lifecycle rows (sessions, calls, ...) are its own and only intended
-- duplicates happen; or, by_webhook, a fresh webhook only (a new key, the
-- same lifecycle rows as its seed).
CREATE FUNCTION cc_fuzz.uniq(doc jsonb, k int, by_webhook boolean) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(doc) <> 'object' THEN doc
                WHEN by_webhook THEN jsonb_set(doc, '{webhook}', to_jsonb('fz-' || k))
                ELSE jsonb_set(doc, '{appId}', to_jsonb(coalesce(doc ->> 'appId', '') || '-fz' || k)) END
$$;

-- The document's text with every key and every string value written as
-- \uXXXX escapes (the same document to a JSON parser).
CREATE FUNCTION cc_fuzz.escaped(doc jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text := doc::text;
    w text;
BEGIN
    FOR w IN SELECT DISTINCT x.w FROM (
                 SELECT path[cardinality(path)] AS w FROM cc_fuzz.paths(doc) WHERE cardinality(path) > 0
                 UNION SELECT val #>> '{}' FROM cc_fuzz.paths(doc) WHERE jsonb_typeof(val) = 'string') x
             WHERE x.w ~ '^[ -~]+$' AND x.w !~ '["\\]' ORDER BY 1 DESC LOOP
        t := replace(t, '"' || w || '"',
                     '"' || (SELECT string_agg('\u' || lpad(to_hex(ascii(c)), 4, '0'), '' ORDER BY o)
                             FROM regexp_split_to_table(w, '') WITH ORDINALITY r(c, o)) || '"');
    END LOOP;
    RETURN t;
END $$;

CREATE FUNCTION cc_fuzz.big() RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT '"@@FZ:1MiB@@"' $$;
CREATE FUNCTION cc_fuzz.body(stored text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN strpos(stored, '@@FZ:1MiB@@') > 0
                      THEN replace(stored, '@@FZ:1MiB@@', repeat('x', 1048576)) ELSE stored END $$;
CREATE FUNCTION cc_fuzz.long_text() RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT '"' || string_agg(md5(i::text), '' ORDER BY i) || '"' FROM generate_series(1, 100) i $$;  -- 3200 incompressible chars

-- Every other JSON type.
CREATE FUNCTION cc_fuzz.type_values() RETURNS TABLE (lit text, label text, kind text)
    LANGUAGE sql IMMUTABLE AS $$
    VALUES ('null', 'null', 'nonscalar'), ('true', 'true', 'bool'), ('false', 'false', 'bool'),
           ('0', '0', 'num'), ('-1', '-1', 'num'), ('1.5', '1.5', 'num'), ('1e308', '1e308', 'num'),
           ('9223372036854775808', '2^63', 'num'), ('-9223372036854775809', '-2^63-1', 'num'),
           ('""', '""', 'empty'), ('"x"', '"x"', 'str'), (cc_fuzz.big(), '1 MiB string', 'big'),
           ('[]', '[]', 'nonscalar'), ('{}', '{}', 'nonscalar'), ('[1,2]', '[1,2]', 'nonscalar'),
           ('{"a":1}', '{"a":1}', 'nonscalar')
$$;

-- Strings with unicode edge cases, as raw JSON text.  valid: the body stays
-- JSON; NULL: too long to have an expectation (index limits may apply).
CREATE FUNCTION cc_fuzz.unicode_values() RETURNS TABLE (lit text, label text, valid boolean)
    LANGUAGE sql IMMUTABLE AS $$
    VALUES ('"📞🎥 👩🏽‍💻🇮🇳"', 'emoji', true),
           ('"e\u0301\u0327 Z̷̢̛a̸l̶g̷o̵"', 'combining marks', true),
           ('"\u200f\u202eRTL \u0645\u0631\u062d\u0628\u0627\u202c\u200e"', 'RTL marks (escaped)', true),
           ('"‏שלום‎ مرحبا"', 'RTL (literal)', true),
           ('"\ufeff\u00a0\u2028\u2029\u200b"', 'BOM, NBSP, separators', true),
           ('"\ud83d\udcde"', 'surrogate pair escape', true),
           ('"\udbff\udfff"', 'U+10FFFF', true),
           ('"\u0001\u001f\t\n\"\\\/"', 'control-character escapes', true),
           ('" "', 'one space', true),
           ('"\u0000"', 'NUL escape', false),
           ('"a\u0000b"', 'embedded NUL escape', false),
           ('"\ud800"', 'lone high surrogate escape', false),
           ('"\udc00"', 'lone low surrogate escape', false),
           ('"\ud800\u0041"', 'high surrogate then A', false),
           ('"\x41"', 'invalid escape \x', false),
           (E'"a\nb"', 'raw newline in a string', false),
           (cc_fuzz.long_text(), '3200-char string', NULL)
$$;

-- Extreme numbers for timestamps: expect rejected, or NULL (the oracle alone).
CREATE FUNCTION cc_fuzz.time_values() RETURNS TABLE (lit text, label text, expect text)
    LANGUAGE sql IMMUTABLE AS $$
    VALUES ('-1696934199', 'negative', 'rejected'), ('0', 'zero', 'rejected'), ('-0', 'minus zero', 'rejected'),
           ('1e308', '1e308', 'rejected'), ('1696934199.5', 'fractional', 'rejected'),
           ('1696934199000', 'milliseconds', 'rejected'), ('1696934199000000', 'microseconds', 'rejected'),
           ('86400', 'far past (1970-01-02)', 'rejected'), ('32503680000', 'far future (year 3000)', 'rejected'),
           ('9223372036854775807', 'int64 max', 'rejected'), ('-9223372036854775808', 'int64 min', 'rejected'),
           ('1e-400', '1e-400', 'rejected'), ('+1696934199', 'plus sign', 'rejected'),
           ('01696934199', 'leading zero', 'rejected'), ('1e1000000', 'numeric overflow', 'rejected'),
           ('1696934199.0', 'whole number with .0', NULL), ('1.696934199e9', 'exponent form', NULL),
           ('1696934199e0', 'e0', NULL), ('946684800', '2000-01-01T00:00:00Z', NULL),
           ('946684799', '1999-12-31T23:59:59Z', NULL), ('4102444799', '2099-12-31T23:59:59Z', NULL),
           ('4102444800', '2100-01-01T00:00:00Z', NULL), ('"1696934199"', 'as a string', NULL),
           ('1696934198', 'one second earlier', NULL)
$$;

-- Values near the edge of a field's format, by field (a regular expression
-- on its path): expect accepted, rejected, or NULL (the oracle alone).
CREATE FUNCTION cc_fuzz.format_values(pname text) RETURNS TABLE (lit text, label text, expect text)
    LANGUAGE sql IMMUTABLE AS $$
    SELECT v.lit, v.label, v.expect FROM (VALUES
        ('^data\.call\.id$', '"0"', 'id "0"', NULL),
        ('^data\.call\.id$', '"00000000000000000000000000000052"', '32 digits', NULL),
        ('^data\.call\.id$', '"000000000000000000000000000000052"', '33 digits', NULL),
        ('^data\.call\.id$', '"99999999999999999999999999999999"', '32 nines', NULL),
        ('^data\.call\.id$', '999999999999999999', '18-digit number', NULL),
        ('^data\.call\.id$', '9999999999999999999', '19-digit number', NULL),
        ('^data\.call\.id$', '52.0', '52.0', NULL),
        ('^data\.call\.id$', '"-1"', '"-1"', 'rejected'),
        ('^data\.call\.id$', '"5 2"', '"5 2"', 'rejected'),
        ('^data\.call\.id$', '"５２"', 'fullwidth digits', 'rejected'),
        ('^data\.call\.id$', '"0x34"', 'hex', 'rejected'),
        ('^data\.startTime$', '"0001696937627"', 'leading zeros', NULL),
        ('^data\.startTime$', '" 1696937627"', 'leading blank', 'rejected'),
        ('^data\.startTime$', '"1696937627 "', 'trailing blank', 'rejected'),
        ('^data\.startTime$', '"+1696937627"', 'plus sign', 'rejected'),
        ('^data\.startTime$', '"１６９６９３７６２７"', 'fullwidth digits', 'rejected'),
        ('^data\.startTime$', '"1696937627.0"', 'decimal string', NULL),
        ('^data\.startTime$', '"1696937627000"', 'milliseconds string', 'rejected'),
        ('^data\.startTime$', '"999999999999999999"', '18 nines', 'rejected'),
        ('^data\.startTime$', '"9999999999999999999"', '19 nines', 'rejected'),
        ('^data\.startTime$', '"-1696937627"', 'negative string', 'rejected'),
        ('^data\.duration$', '"0"', '"0"', NULL),
        ('^data\.duration$', '"0.000000"', '"0.000000"', NULL),
        ('^data\.duration$', '"21"', '"21"', NULL),
        ('^data\.duration$', '21.433', 'a JSON number', NULL),
        ('^data\.duration$', '"86400.5"', 'a day', NULL),
        ('^data\.duration$', '"9999999999999"', '1e13 s', NULL),
        ('^data\.duration$', '"9223372036854775807.999999"', 'int64 max s', NULL),
        ('^data\.duration$', '"21.4330001234567890123456789012345678901"', '41 chars', NULL),
        ('^data\.duration$', '"-21.4"', 'negative', 'rejected'),
        ('^data\.duration$', '"21,4"', 'decimal comma', 'rejected'),
        ('^data\.duration$', '"1e3"', 'exponent', NULL),
        ('^data\.duration$', '"NaN"', 'NaN', 'rejected'),
        ('^data\.duration$', '"Infinity"', 'Infinity', 'rejected'),
        ('^data\.duration$', '".5"', '.5', NULL),
        ('^data\.recordingDate$', '"2024-02-29"', 'leap day', NULL),
        ('^data\.recordingDate$', '"2023-02-29"', 'no such day', 'rejected'),
        ('^data\.recordingDate$', '"2023-13-01"', 'month 13', 'rejected'),
        ('^data\.recordingDate$', '"0000-01-01"', 'year 0', NULL),
        ('^data\.recordingDate$', '"9999-12-31"', 'year 9999', NULL),
        ('^data\.recordingDate$', '"2023-10-10T00:00:00Z"', 'a timestamp', NULL),
        ('^data\.recordingDate$', '"20231010"', 'no dashes', NULL),
        ('^data\.recordingDate$', '"2023-1-1"', 'short parts', NULL),
        ('(audio_call|is_video_muted|start_recording_on_call_start|is_audio_muted|is_audio_only)$', '"TRUE"', '"TRUE"', NULL),
        ('(audio_call|is_video_muted|start_recording_on_call_start|is_audio_muted|is_audio_only)$', '"1"', '"1"', NULL),
        ('(audio_call|is_video_muted|start_recording_on_call_start|is_audio_muted|is_audio_only)$', '1', '1', NULL),
        ('(audio_call|is_video_muted|start_recording_on_call_start|is_audio_muted|is_audio_only)$', '"yes"', '"yes"', NULL),
        ('^data\.call\.receiverType$', '"group"', 'group', 'accepted'),
        ('^data\.call\.receiverType$', '"User"', 'User', NULL),
        ('^data\.call\.type$', '"video"', 'video', 'accepted'),
        ('^data\.call\.type$', '"AUDIO"', 'AUDIO', NULL),
        ('^data\.call\.type$', '"audio "', 'trailing blank', NULL),
        ('^data\.call\.category$', '"message"', 'message', 'rejected'),
        ('^data\.call\.data\.action$', '"ended"', 'ended', 'rejected'),
        ('^data\.call\.data\.action$', '"INITIATED"', 'upper case', NULL),
        ('^region$', '"eu"', 'eu', 'accepted'),
        ('^region$', '"in"', 'in', 'accepted'),
        ('^region$', '"other"', 'other', NULL),
        ('^type$', '"presenter"', 'presenter', NULL),
        ('^type$', '"CALL"', 'CALL', NULL),
        ('^trigger$', '"CALL_STARTED"', 'upper case', NULL),
        ('^trigger$', '" call_started"', 'leading blank', NULL),
        ('^trigger$', '"transcription_generated"', 'transcription_generated', NULL),
        ('^trigger$', '"call_started\u0000"', 'NUL escape', 'rejected'),
        ('^trigger$', '"unknown"', 'the word unknown', NULL),
        ('^data\.call\.data\.entities\.on\.entity\.sessionid$', '""', 'empty', NULL),
        ('^data\.call\.data\.entities\.on\.entity\.sessionid$', '"V1.US.31780434A95D45.1696934199AEFBA73A1E5938AD7A02F8E61EA1C9A287A08AEB"', 'upper case', 'accepted')
    ) v(p, lit, label, expect)
    WHERE pname ~ v.p
$$;

-- What the reference says about a field, for expectations beyond the
-- oracle (section 8 of shared/reference/cometchat-calling-webhooks.md):
--   req_text  required non-empty string      req_enum  required enum
--   req_id    data.call.id                   req_time  required unix seconds
--   req_obj   required object                req_arr   data.all_occupants
--   occ       an element of all_occupants    opt_time  optional unix seconds
--   opt_bool  optional string boolean        opt_obj   optional object
--   opt_any   optional, unchecked or any string (entity details, initial_config strings)
--   opt_fmt   optional with a format (recording duration and date)
--   start_time recording startTime           trigger, type, other: oracle only
CREATE FUNCTION cc_fuzz.field_class(trig text, path text[]) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p = '' THEN 'root'
        WHEN p = 'trigger' THEN 'trigger'
        WHEN p = 'type' THEN 'type'
        WHEN p IN ('appId', 'webhook', 'region') THEN 'req_text'
        WHEN p = 'data' THEN 'req_obj'
        -- message shape
        WHEN p = 'data.call' OR p = 'data.call.data' THEN 'req_obj'
        WHEN p IN ('data.call.conversationId', 'data.call.sender', 'data.call.receiver') THEN 'req_text'
        WHEN p IN ('data.call.receiverType', 'data.call.category', 'data.call.type', 'data.call.data.action') THEN 'req_enum'
        WHEN p = 'data.call.id' THEN 'req_id'
        WHEN p = 'data.call.sentAt' THEN 'req_time'
        WHEN p IN ('data.call.updatedAt', 'data.call.data.entities.on.entity.initiatedAt') THEN 'opt_time'
        WHEN p IN ('data.call.data.entities', 'data.call.data.entities.on', 'data.call.data.entities.on.entity') THEN 'opt_obj'
        WHEN p = 'data.call.data.entities.on.entity.sessionid' THEN 'other'
        WHEN p = 'data.call.data.entities.on.entity.type' THEN 'other'
        WHEN p LIKE 'data.call.data.entities.%' THEN 'opt_any'
        -- session shapes
        WHEN p = 'data.sessionId' THEN 'req_text'
        WHEN p IN ('data.created_at', 'data.destroyed_at', 'data.occupant.joined_at') THEN 'req_time'
        WHEN p = 'data.occupant.left_at' THEN 'req_time'
        WHEN p = 'data.occupant' THEN 'req_obj'
        WHEN p = 'data.occupant.name' THEN 'req_text'
        WHEN p = 'data.occupant.audio_call' THEN 'opt_bool'
        WHEN p = 'data.initial_config' THEN 'opt_obj'
        WHEN p ~ '^data\.initial_config\.(is_|start_)' THEN 'opt_bool'
        WHEN p LIKE 'data.initial_config.%' THEN 'opt_any'
        WHEN p = 'data.all_occupants' THEN 'req_arr'
        WHEN p ~ '^data\.all_occupants\[[0-9]+\]$' THEN 'occ'
        WHEN p ~ '^data\.all_occupants\[[0-9]+\]\.name$' THEN 'req_text'
        WHEN p ~ '^data\.all_occupants\[[0-9]+\]\.joined_at$' THEN 'req_time'
        WHEN p ~ '^data\.all_occupants\[[0-9]+\]\.left_at$' THEN 'opt_time'
        WHEN p ~ '^data\.all_occupants\[[0-9]+\]\.audio_call$' THEN 'opt_bool'
        WHEN p = 'data.recording_url' THEN 'req_text'
        WHEN p = 'data.startTime' THEN 'start_time'
        WHEN p IN ('data.duration', 'data.recordingDate') THEN 'opt_fmt'
        ELSE 'other' END
    FROM (SELECT coalesce(string_agg(CASE WHEN e ~ '^[0-9]+$' THEN '[' || e || ']'
                                          WHEN o = 1 THEN e ELSE '.' || e END, '' ORDER BY o), '') AS p
          FROM unnest(path) WITH ORDINALITY u(e, o)) x
$$;

-- Expectation for a field replaced by a value of some kind.
CREATE FUNCTION cc_fuzz.type_expect(cls text, kind text, lit text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN cls IN ('req_obj', 'occ', 'root') THEN 'rejected'
        WHEN cls = 'req_arr' THEN CASE WHEN lit = '[]' THEN 'accepted' ELSE 'rejected' END
        WHEN cls IN ('req_enum', 'req_time', 'type') THEN 'rejected'
        WHEN cls = 'start_time' THEN 'rejected'
        WHEN cls = 'req_id' THEN CASE WHEN lit = '0' THEN NULL ELSE 'rejected' END
        WHEN cls = 'req_text' THEN CASE WHEN kind = 'str' THEN 'accepted' WHEN kind = 'big' THEN NULL ELSE 'rejected' END
        WHEN cls = 'trigger' THEN CASE WHEN kind IN ('str', 'big') THEN NULL ELSE 'rejected' END
        WHEN cls = 'opt_time' THEN CASE WHEN kind IN ('num', 'empty', 'str', 'big', 'bool') THEN 'rejected' END
        WHEN cls = 'opt_bool' THEN CASE WHEN kind = 'bool' THEN 'accepted' END
        WHEN cls = 'opt_obj' THEN CASE WHEN lit IN ('{}', '{"a":1}') THEN 'accepted' END
        ELSE NULL END
$$;

-- Random structural mutation of a document: nops operations at random
-- paths of its seed (paths: chr(1)-joined), each a removal or a value from
-- one of the lists; returns raw text (the last value may leave invalid JSON).
CREATE FUNCTION cc_fuzz.random_json(seed bigint, tag text, doc jsonb, nops int, paths text[],
                                    types text[], times text[], unis text[], misc text[]) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    p text[];
    cur jsonb := doc;
    lits text[];
    what int;
    body text;
    parent text;
BEGIN
    FOR i IN 1 .. nops LOOP
        p := string_to_array(paths[1 + cc_fuzz.rnd(seed, tag || ':p' || i, cardinality(paths))], chr(1));
        what := cc_fuzz.rnd(seed, tag || ':w' || i, 10);
        -- the path must still lead somewhere after earlier operations
        parent := jsonb_typeof(cur #> p[1:cardinality(p) - 1]);
        CONTINUE WHEN parent IS NULL OR parent NOT IN ('object', 'array')
                      OR (parent = 'array' AND p[cardinality(p)] !~ '^[0-9]+$');
        IF what = 0 THEN
            cur := cur #- p;
            CONTINUE;
        END IF;
        lits := CASE WHEN what <= 4 THEN types WHEN what <= 6 THEN times WHEN what <= 8 THEN unis ELSE misc END;
        body := cc_fuzz.put(cur, p, lits[1 + cc_fuzz.rnd(seed, tag || ':v' || i, cardinality(lits))]);
        IF i = nops THEN
            RETURN body;
        END IF;
        cur := coalesce(cc_fuzz.try_jsonb(body), cur);
    END LOOP;
    RETURN cur::text;
END $$;

-- Random byte-level (character-level: text is always valid UTF-8)
-- truncations, splices and edits of raw text.
CREATE FUNCTION cc_fuzz.random_raw(seed bigint, tag text, body text, other text, nops int) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    b text := body;
    len int;
    a int;
    c int;
    what int;
    alphabet text[] := ARRAY['{', '}', '[', ']', '"', ':', ',', '\', ' ', '0', '9', '-', '.', 'e', 'x',
                             'null', 'true', '\u', '\ud800', '\u0000', E'\n', E'\t', 'é', '📞', '‏', '"a":1,',
                             '{"', '":"', '1e308', ',,', '/*', chr(127)];
    i int;
BEGIN
    FOR i IN 1 .. nops LOOP
        len := length(b);
        a := cc_fuzz.rnd(seed, tag || ':a' || i, len + 1);
        c := cc_fuzz.rnd(seed, tag || ':c' || i, len + 1);
        what := cc_fuzz.rnd(seed, tag || ':w' || i, 8);
        CASE what
            WHEN 0 THEN b := left(b, a);                                          -- truncate
            WHEN 1 THEN b := left(b, a) || substr(other, 1 + cc_fuzz.rnd(seed, tag || ':o' || i, length(other) + 1)); -- splice
            WHEN 2 THEN b := left(b, least(a, c)) || substr(b, greatest(a, c) + 1); -- delete a span
            WHEN 3 THEN b := left(b, a) || substr(b, least(a, c) + 1, abs(a - c) % 64) || substr(b, a + 1); -- repeat a span
            WHEN 4, 5 THEN b := left(b, a) || alphabet[1 + cc_fuzz.rnd(seed, tag || ':x' || i, cardinality(alphabet))]
                                || substr(b, a + 1);                             -- insert
            ELSE b := left(b, a) || alphabet[1 + cc_fuzz.rnd(seed, tag || ':x' || i, cardinality(alphabet))]
                      || substr(b, a + 2);                                        -- replace one character
        END CASE;
    END LOOP;
    RETURN b;
END $$;

------------------------------------------------------------------------
-- Generation
------------------------------------------------------------------------

CREATE FUNCTION cc_fuzz.add(seed_n int, family text, op text, body text, expect text,
                            dup_of int DEFAULT NULL, via text DEFAULT NULL, k int DEFAULT NULL)
    RETURNS int LANGUAGE sql AS $$
    INSERT INTO cc_fuzz.gen (k, seed_n, family, op, body, expect, dup_of, via)
    VALUES (coalesce(k, nextval('cc_fuzz.gen_k')::int), seed_n, family, op, body, expect, dup_of, via)
    RETURNING k
$$;

CREATE FUNCTION cc_fuzz.generate(seed bigint, max_inputs int, deadline timestamptz DEFAULT 'infinity') RETURNS int
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    s record;
    p record;
    t record;
    g record;
    k int;
    base jsonb;
    cls text;
    pname text;
    on_app boolean;
    parent text[];
    key text;
    e text;
    deep_a text := repeat('[', 10000) || '1' || repeat(']', 10000);
    deep_o text := repeat('{"a": ', 10000) || '1' || repeat('}', 10000);
    deep_a100k text := repeat('[', 100000) || repeat(']', 100000);
    cnt int;
    filled int;
    nseeds int;
    i int;
    s2 record;
    body text;
    doc jsonb;
BEGIN
    TRUNCATE cc_fuzz.gen, cc_fuzz.inputs, cc_fuzz.results;
    PERFORM setval('cc_fuzz.gen_k', 1, false);
    SELECT count(*) INTO nseeds FROM cc_fuzz.seeds;

    -- The 14 seeds, as received, first.
    FOR s IN SELECT * FROM cc_fuzz.seeds ORDER BY n LOOP
        PERFORM cc_fuzz.add(s.n, 'seed', 'seed ' || s.trigger || ' as in the reference', s.body, 'accepted');
    END LOOP;

    FOR s IN SELECT * FROM cc_fuzz.seeds ORDER BY n LOOP
        -- Every path, every mutation.
        FOR p IN SELECT * FROM cc_fuzz.paths(s.payload) ORDER BY path LOOP
            cls := cc_fuzz.field_class(s.trigger, p.path);
            pname := cc_fuzz.pstr(p.path);
            on_app := p.path[1] = 'appId';   -- then the webhook makes it unique

            -- replaced by every other JSON type
            FOR t IN SELECT * FROM cc_fuzz.type_values() LOOP
                CONTINUE WHEN t.kind <> 'big' AND t.lit::jsonb = p.val;
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'type', s.trigger || ': ' || pname || ' := ' || t.label,
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, t.lit),
                                    cc_fuzz.type_expect(cls, t.kind, t.lit), k => k);
            END LOOP;

            -- objects: extra keys (always fine), wrapped in an array
            IF jsonb_typeof(p.val) = 'object' THEN
                FOR t IN SELECT * FROM (VALUES ('fz_extra', '"x"'), ('fz_extra', 'null'),
                                               ('fz_extra', '{"nested": [1, {"b": null}], "c": 1e308, "d": -9223372036854775809}'),
                                               ('', '0'), ('🔑', '"🔓"'), ('SESSIONID', '"not the session"'),
                                               ('Trigger', '"call_busy"'), ('fz_' || repeat('k', 1000), '[]')) v(name, lit) LOOP
                    k := nextval('cc_fuzz.gen_k');
                    PERFORM cc_fuzz.add(s.n, 'extra', s.trigger || ': extra key ' || left(to_json(t.name)::text, 20) || ' := ' || t.lit || ' in ' || pname,
                                        cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path || t.name, t.lit),
                                        'accepted', k => k);
                END LOOP;
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'array', s.trigger || ': ' || pname || ' wrapped in an array',
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, '[' || (p.val)::text || ']'),
                                    CASE WHEN cls IN ('req_obj', 'occ') THEN 'rejected' END, k => k);
            END IF;

            CONTINUE WHEN cardinality(p.path) = 0;
            parent := p.path[1:cardinality(p.path) - 1];
            key := p.path[cardinality(p.path)];

            -- removed
            k := nextval('cc_fuzz.gen_k');
            PERFORM cc_fuzz.add(s.n, 'remove', s.trigger || ': ' || pname || ' removed',
                                (cc_fuzz.uniq(s.payload, k, on_app) #- p.path)::text,
                                CASE WHEN cls IN ('req_text', 'req_enum', 'req_id', 'req_time', 'req_obj', 'req_arr', 'start_time', 'trigger') THEN 'rejected'
                                     WHEN cls IN ('opt_time', 'opt_bool', 'opt_obj', 'opt_any', 'opt_fmt') THEN 'accepted' END,
                                k => k);

            -- emptied
            e := CASE jsonb_typeof(p.val) WHEN 'string' THEN '""' WHEN 'object' THEN '{}' WHEN 'array' THEN '[]'
                                          WHEN 'number' THEN '0' END;
            IF e IS NOT NULL AND e::jsonb <> p.val THEN
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'empty', s.trigger || ': ' || pname || ' emptied (' || e || ')',
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, e),
                                    CASE WHEN cls = 'opt_obj' OR cls = 'req_arr' THEN 'accepted'
                                         WHEN cls = 'opt_any' AND e IN ('{}', '""') THEN 'accepted'
                                         ELSE cc_fuzz.type_expect(cls, CASE e WHEN '""' THEN 'empty' WHEN '0' THEN 'num' ELSE 'nonscalar' END, e) END,
                                    k => k);
            END IF;

            -- strings: unicode edge cases
            IF jsonb_typeof(p.val) = 'string' THEN
                FOR t IN SELECT * FROM cc_fuzz.unicode_values() LOOP
                    k := nextval('cc_fuzz.gen_k');
                    PERFORM cc_fuzz.add(s.n, 'unicode', s.trigger || ': ' || pname || ' := ' || t.label,
                                        cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, t.lit),
                                        CASE WHEN t.valid IS NULL THEN NULL
                                             WHEN NOT t.valid THEN 'rejected'
                                             WHEN cls = 'req_text' THEN 'accepted'
                                             WHEN cls IN ('req_enum', 'req_id', 'req_time', 'start_time', 'type', 'opt_time') THEN 'rejected' END,
                                        k => k);
                END LOOP;
            END IF;

            -- timestamps: extreme numbers
            IF cls IN ('req_time', 'opt_time', 'start_time')
               OR (key IN ('lastActiveAt') AND jsonb_typeof(p.val) = 'number') THEN
                FOR t IN SELECT * FROM cc_fuzz.time_values() LOOP
                    k := nextval('cc_fuzz.gen_k');
                    PERFORM cc_fuzz.add(s.n, 'time', s.trigger || ': ' || pname || ' := ' || t.label || ' (' || t.lit || ')',
                                        cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, t.lit),
                                        CASE WHEN cls IN ('req_time', 'opt_time', 'start_time') THEN t.expect END,
                                        k => k);
                END LOOP;
                -- the start time of a recording arrives as a string of digits or an integer
                IF cls = 'start_time' THEN
                    k := nextval('cc_fuzz.gen_k');
                    PERFORM cc_fuzz.add(s.n, 'time', s.trigger || ': ' || pname || ' as a JSON integer',
                                        cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, p.val #>> '{}'),
                                        'accepted', k => k);
                END IF;
            END IF;

            -- the message id as a JSON number ("52" and 52 are one message)
            IF cls = 'req_id' THEN
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'type', s.trigger || ': ' || pname || ' as a JSON number',
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, p.val #>> '{}'),
                                    'accepted', k => k);
            END IF;

            -- string booleans as JSON booleans
            IF cls = 'opt_bool' AND jsonb_typeof(p.val) = 'string' THEN
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'type', s.trigger || ': ' || pname || ' as a JSON boolean',
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, p.val #>> '{}'),
                                    'accepted', k => k);
            END IF;

            -- values near the edge of the field's format
            FOR t IN SELECT * FROM cc_fuzz.format_values(pname) LOOP
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'format', s.trigger || ': ' || pname || ' := ' || t.label || ' (' || left(t.lit, 60) || ')',
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path, t.lit),
                                    -- the type and action must fit the trigger
                                    CASE WHEN t.expect = 'accepted' AND pname = 'type' THEN NULL ELSE t.expect END, k => k);
            END LOOP;

            -- all_occupants: one more element
            IF cls = 'req_arr' THEN
                k := nextval('cc_fuzz.gen_k');
                PERFORM cc_fuzz.add(s.n, 'extra', s.trigger || ': ' || pname || ' plus a valid occupant',
                                    cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path,
                                                (p.val || jsonb_build_array((p.val -> 0) || '{"name": "Zoë 📞"}'))::text),
                                    'accepted', k => k);
                FOR t IN SELECT * FROM (VALUES ('null'), ('[]'), ('"x"'), ('{}')) v(lit) LOOP
                    k := nextval('cc_fuzz.gen_k');
                    PERFORM cc_fuzz.add(s.n, 'extra', s.trigger || ': ' || pname || ' plus an element ' || t.lit,
                                        cc_fuzz.put(cc_fuzz.uniq(s.payload, k, on_app), p.path,
                                                    rtrim((p.val)::text, ']') || ', ' || t.lit || ']'),
                                        'rejected', k => k);
                END LOOP;
            END IF;

            -- duplicated keys in the raw text; the last one counts
            IF jsonb_typeof(s.payload #> parent) = 'object' THEN
                FOR t IN SELECT * FROM (VALUES ('"a"'), ('null'), ('{"a":1}')) v(lit) LOOP
                    k := nextval('cc_fuzz.gen_k');
                    base := cc_fuzz.uniq(s.payload, k, on_app);
                    PERFORM cc_fuzz.add(s.n, 'dupkey', s.trigger || ': ' || pname || ' twice, first ' || t.lit || ' then the real value',
                                        cc_fuzz.dupkey(base, parent, key, t.lit, true), 'accepted', k => k);
                    k := nextval('cc_fuzz.gen_k');
                    base := cc_fuzz.uniq(s.payload, k, on_app);
                    PERFORM cc_fuzz.add(s.n, 'dupkey', s.trigger || ': ' || pname || ' twice, first the real value then ' || t.lit,
                                        cc_fuzz.dupkey(base, parent, key, t.lit, false),
                                        cc_fuzz.type_expect(cls, CASE t.lit WHEN '"a"' THEN 'str' ELSE 'nonscalar' END, t.lit), k => k);
                END LOOP;
                k := nextval('cc_fuzz.gen_k');
                base := cc_fuzz.uniq(s.payload, k, on_app);
                PERFORM cc_fuzz.add(s.n, 'dupkey', s.trigger || ': ' || pname || ' twice, the same value',
                                    cc_fuzz.dupkey(base, parent, key, (base #> p.path)::text, false), 'accepted', k => k);
            END IF;
        END LOOP;

        -- the brief's example: {"trigger":"a","trigger":"call_started",...}
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        PERFORM cc_fuzz.add(s.n, 'dupkey', s.trigger || ': raw {"trigger":"a","trigger":"' || s.trigger || '",...}',
                            '{"trigger":"a",' || substr(base::text, 2), 'accepted', k => k);
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        PERFORM cc_fuzz.add(s.n, 'dupkey', s.trigger || ': raw {..., "trigger":"a"} (the bad one last)',
                            rtrim(base::text, '}') || ', "trigger":"a"}', NULL, k => k);

        -- deep nesting
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': extra key holding arrays nested 10,000 deep',
                            cc_fuzz.put(cc_fuzz.uniq(s.payload, k, false), '{fz_deep}', deep_a), 'accepted', k => k);
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': extra key in data holding objects nested 10,000 deep',
                            cc_fuzz.put(cc_fuzz.uniq(s.payload, k, false), '{data,fz_deep}', deep_o), 'accepted', k => k);
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': data wrapped in 10,000 arrays',
                            cc_fuzz.put(base, '{data}', repeat('[', 10000) || (base -> 'data')::text || repeat(']', 10000)),
                            'rejected', k => k);
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': data wrapped in 10,000 objects',
                            cc_fuzz.put(base, '{data}', repeat('{"data": ', 10000) || (base -> 'data')::text || repeat('}', 10000)),
                            'rejected', k => k);
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': whole payload wrapped in 10,000 arrays',
                            repeat('[', 10000) || cc_fuzz.uniq(s.payload, k, false)::text || repeat(']', 10000), 'rejected', k => k);
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': extra key holding arrays nested 100,000 deep (beyond the stack limit)',
                            cc_fuzz.put(cc_fuzz.uniq(s.payload, k, false), '{fz_deep}', deep_a100k), 'rejected', k => k);
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        PERFORM cc_fuzz.add(s.n, 'deep', s.trigger || ': a required string field holding arrays nested 10,000 deep',
                            cc_fuzz.put(base, CASE WHEN base ? 'type' OR s.trigger = 'recording_generated' THEN '{data,sessionId}'::text[] ELSE '{data,call,sender}'::text[] END, deep_a),
                            'rejected', k => k);

        -- the seed written with \u escapes, as a unique mutant and as a redelivery of the seed
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'raw', s.trigger || ': every key and string written as \u escapes',
                            cc_fuzz.escaped(cc_fuzz.uniq(s.payload, k, false)), 'accepted', k => k);
        PERFORM cc_fuzz.add(s.n, 'dup', s.trigger || ': the seed again, every key and string written as \u escapes',
                            cc_fuzz.escaped(s.payload), 'duplicate',
                            dup_of => (SELECT g.k FROM cc_fuzz.gen g WHERE g.family = 'seed' AND g.seed_n = s.n));

        -- wide: 10,000 extra keys; 1,000 occupants; 200 bad occupants
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        PERFORM cc_fuzz.add(s.n, 'wide', s.trigger || ': 10,000 extra keys at the top',
                            (base || (SELECT jsonb_object_agg('fz_' || i, i) FROM generate_series(1, 10000) i))::text,
                            'accepted', k => k);
        IF s.payload #> '{data,all_occupants}' IS NOT NULL THEN
            k := nextval('cc_fuzz.gen_k');
            base := cc_fuzz.uniq(s.payload, k, false);
            PERFORM cc_fuzz.add(s.n, 'wide', s.trigger || ': 1,000 occupants',
                                jsonb_set(base, '{data,all_occupants}',
                                          (SELECT jsonb_agg((base #> '{data,all_occupants,0}') || jsonb_build_object('name', 'p' || i,
                                                            'joined_at', (base #>> '{data,created_at}')::bigint + i % 7))
                                           FROM generate_series(1, 1000) i))::text,
                                'accepted', k => k);
            k := nextval('cc_fuzz.gen_k');
            base := cc_fuzz.uniq(s.payload, k, false);
            PERFORM cc_fuzz.add(s.n, 'wide', s.trigger || ': 200 occupants that are null (more problems than are listed)',
                                jsonb_set(base, '{data,all_occupants}', (SELECT jsonb_agg(NULL::int) FROM generate_series(1, 200)))::text,
                                'rejected', k => k);
        END IF;

        -- the whole body: other formatting, an array, garbage around it
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'raw', s.trigger || ': pretty-printed with CRLF and tabs',
                            E'\r\n\t ' || replace(jsonb_pretty(cc_fuzz.uniq(s.payload, k, false)), E'\n', E'\r\n\t') || E' \r\n', 'accepted', k => k);
        k := nextval('cc_fuzz.gen_k');
        PERFORM cc_fuzz.add(s.n, 'array', s.trigger || ': payload inside an array', '[' || cc_fuzz.uniq(s.payload, k, false)::text || ']', 'rejected', k => k);
        k := nextval('cc_fuzz.gen_k');
        base := cc_fuzz.uniq(s.payload, k, false);
        FOR t IN SELECT * FROM (VALUES
                (1, E'\ufeff' || base::text, 'a BOM before the body'),
                (2, base::text || ' x', 'trailing garbage'),
                (3, base::text || base::text, 'two bodies'),
                (4, rtrim(base::text, '}') || ',}', 'trailing comma'),
                (5, replace(base::text, '"', ''''), 'single quotes'),
                (6, '/* c */' || base::text, 'a comment'),
                (7, replace(base::text, ': ', ': NaN, "x": '), 'NaN'),
                (8, left(base::text, length(base::text) / 2), 'cut in half'),
                (9, base::text || chr(1), 'a trailing control character')) v(i, b, what) LOOP
            PERFORM cc_fuzz.add(s.n, 'raw', s.trigger || ': ' || t.what, t.b, 'rejected');
        END LOOP;
    END LOOP;

    -- Bodies that are no payload at all.
    FOR t IN SELECT * FROM (VALUES ('', 'empty body'), ('   ', 'blanks'), ('null', 'null'), ('true', 'true'),
                                   ('0', '0'), ('"x"', 'a string'), ('[]', '[]'), ('{}', '{}'), ('[{}]', '[{}]'),
                                   ('{"trigger": null}', 'null trigger'), ('{"trigger": "call_started"}', 'a trigger alone'),
                                   ('{"trigger": "x", "appId": "a", "webhook": "w"}', 'unknown trigger without data'),
                                   ('{"":""}', 'empty key'), ('{"trigger"', 'a fragment'),
                                   ('"\u0000"', 'NUL escape'), ('"\ud800"', 'lone surrogate')) v(b, what) LOOP
        PERFORM cc_fuzz.add(NULL, 'raw', 'body: ' || t.what, t.b, 'rejected');
    END LOOP;
    PERFORM cc_fuzz.add(NULL, 'raw', 'SQL NULL body via ingest_raw', NULL, 'rejected', via => 'raw');
    PERFORM cc_fuzz.add(NULL, 'raw', 'SQL NULL payload via ingest', NULL, 'rejected', via => 'jsonb');
    PERFORM cc_fuzz.add(NULL, 'raw', 'SQL NULL payload via INSERT', NULL, 'rejected', via => 'insert');
    -- A known, unknown trigger: well-formed, kept as kind unknown.
    PERFORM cc_fuzz.add(NULL, 'raw', 'body: unknown trigger with data',
                        '{"trigger": "transcription_generated", "data": {"sessionId": "s", "tid": "t"}, "appId": "a", "webhook": "w"}', NULL);

    -- Duplicate deliveries: a quarter of what should be accepted (all seeds),
    -- sent again later, as is or written differently, through any entry point.
    FOR g IN SELECT * FROM cc_fuzz.gen WHERE expect = 'accepted' ORDER BY k LOOP
        CONTINUE WHEN g.family <> 'seed' AND cc_fuzz.rnd(seed, 'dup:' || g.k, 4) <> 0;
        doc := g.body::jsonb;
        i := cc_fuzz.rnd(seed, 'dupkind:' || g.k, 6);
        body := CASE i WHEN 0 THEN g.body
                       WHEN 1 THEN doc::text
                       WHEN 2 THEN CASE WHEN g.family = 'deep' THEN doc::text ELSE jsonb_pretty(doc) END  -- not 10,000 levels of indentation
                       WHEN 3 THEN (doc || '{"fz_retry": 1}')::text
                       WHEN 4 THEN '{"fz_retry": "first", ' || substr(g.body, 2 + length(g.body) - length(ltrim(g.body, E' \t\r\n')))
                       ELSE g.body END;
        -- #5: the same message id with leading zeros, or the same recording
        -- start as an integer: the same key.
        IF i = 5 AND doc #> '{data,call,id}' IS NOT NULL AND jsonb_typeof(doc #> '{data,call,id}') = 'string'
           AND (doc #>> '{data,call,id}') ~ '^[0-9]{1,18}$' THEN
            body := jsonb_set(doc, '{data,call,id}', to_jsonb(('00' || (doc #>> '{data,call,id}'))))::text;
        ELSIF i = 5 AND jsonb_typeof(doc #> '{data,startTime}') = 'string' AND (doc #>> '{data,startTime}') ~ '^[0-9]{1,18}$' THEN
            body := jsonb_set(doc, '{data,startTime}', to_jsonb((doc #>> '{data,startTime}')::bigint))::text;
        ELSIF i = 5 THEN
            body := g.body;
        END IF;
        PERFORM cc_fuzz.add(g.seed_n, 'dup', 'redelivery #' || i || ' of k=' || g.k || ' (' || g.op || ')', body, 'duplicate', dup_of => g.k);
    END LOOP;

    -- Random filler up to max_inputs (or until the deadline; the i-th
    -- random input is the same however far it goes): structural and raw
    -- mutations of random seeds, all in the seeds' app so their lifecycle
    -- rows mix; a third keep the seed's webhook too, so mutants collide and
    -- deduplicate.
    SELECT count(*) INTO cnt FROM cc_fuzz.gen;
    filled := 0;
    WHILE cnt + filled < max_inputs AND clock_timestamp() < deadline LOOP
    INSERT INTO cc_fuzz.gen (k, seed_n, family, op, body, expect)
    WITH lists AS (
        SELECT (SELECT array_agg(t.lit ORDER BY t.label) FROM cc_fuzz.type_values() t WHERE t.kind <> 'big') AS types,
               (SELECT array_agg(t.lit ORDER BY t.label) FROM cc_fuzz.time_values() t) AS times,
               (SELECT array_agg(u.lit ORDER BY u.label) FROM cc_fuzz.unicode_values() u WHERE u.valid IS NOT NULL) AS unis,
               ARRAY['"call_started"', '"meeting_ended"', '"call"', '"meet"', '"initiated"', '"busy"',
                     '"user"', '"group"', '"video"', '"52"', '52', '"true"', '"false"', '"2023-02-29"',
                     '"2024-02-29"', '"21.433000"', '"1696937627"', '"-1"', '"0052"',
                     '"9999999999999999999999999999999999"', '"10000000000000"', '""'] AS misc
    ), sp AS (
        SELECT s.n, array_agg(array_to_string(x.path, chr(1)) ORDER BY x.path) AS paths
        FROM cc_fuzz.seeds s CROSS JOIN LATERAL cc_fuzz.paths(s.payload) x
        WHERE cardinality(x.path) > 0 GROUP BY s.n
    ), r AS (
        SELECT i, nextval('cc_fuzz.gen_k')::int AS k,
               1 + cc_fuzz.rnd(seed, 'rs:' || i, nseeds) AS s1,
               1 + cc_fuzz.rnd(seed, 'rs2:' || i, nseeds) AS s2,
               cc_fuzz.rnd(seed, 'ru:' || i, 3) = 0 AS keep_webhook,
               cc_fuzz.rnd(seed, 'rk:' || i, 2) = 0 AS structural,
               cc_fuzz.rnd(seed, 'rf:' || i, 3) AS fmt,
               1 + cc_fuzz.rnd(seed, 'rn:' || i, 3) AS nops
        FROM generate_series(filled + 1, least(filled + 2000, max_inputs - cnt)) i
    )
    SELECT r.k, s.n,
           CASE WHEN r.structural THEN 'random-json' ELSE 'random-raw' END,
           s.trigger || CASE WHEN r.structural THEN ': random structural mutation #' ELSE ': random raw edit #' END || r.i
                     || ' (' || r.nops || ' ops' || CASE WHEN r.keep_webhook THEN ', seed webhook' ELSE '' END || ')',
           CASE WHEN r.structural
                THEN cc_fuzz.random_json(seed, 'rj:' || r.i, b.doc, r.nops, sp.paths, l.types, l.times, l.unis, l.misc)
                ELSE cc_fuzz.random_raw(seed, 'rr:' || r.i,
                                        CASE r.fmt WHEN 0 THEN b.doc::text WHEN 1 THEN jsonb_pretty(b.doc)
                                             ELSE replace(s.body, '"test_webhook201"', to_json(b.doc ->> 'webhook')::text) END,
                                        s2.body, r.nops) END,
           NULL
    FROM r CROSS JOIN lists l
    JOIN cc_fuzz.seeds s ON s.n = r.s1
    JOIN cc_fuzz.seeds s2 ON s2.n = r.s2
    JOIN sp ON sp.n = r.s1
    CROSS JOIN LATERAL (SELECT CASE WHEN r.keep_webhook THEN s.payload ELSE cc_fuzz.uniq(s.payload, r.k, true) END AS doc) b;
    filled := least(filled + 2000, max_inputs - cnt);
    END LOOP;

    -- Delivery order: the seeds, then the systematic mutants shuffled, then
    -- the random ones shuffled (a feed stopped by its deadline misses random
    -- ones first); a redelivery comes 1 to 40 deliveries after its original.  Entry point: mostly
    -- ingest_raw; a tenth each ingest(jsonb) and INSERT (for bodies that are
    -- jsonb: the client parses them; others fall back to ingest_raw).
    INSERT INTO cc_fuzz.inputs (id, k, seed_n, family, op, via, expect, dup_of)
    WITH pos AS (
        SELECT g.k, CASE WHEN g.family = 'seed' THEN g.k::float8
                         ELSE CASE WHEN g.family LIKE 'random%' THEN 100000000 ELSE 1000000 END
                              + row_number() OVER (PARTITION BY g.family = 'seed', g.family LIKE 'random%'
                                                   ORDER BY hashtextextended('ord:' || g.k, seed), g.k) END AS pos
        FROM cc_fuzz.gen g WHERE g.family <> 'dup'
    ), allpos AS (
        SELECT pos.k, pos.pos FROM pos
        UNION ALL
        SELECT d.k, o.pos + 0.5 + cc_fuzz.rnd(seed, 'dpos:' || d.k, 40) FROM cc_fuzz.gen d JOIN pos o ON o.k = d.dup_of
    ), ordered AS (
        SELECT a.k, row_number() OVER (ORDER BY a.pos, a.k)::int AS id FROM allpos a
    )
    SELECT o.id, g.k, g.seed_n, g.family, g.op,
           coalesce(g.via, CASE WHEN g.family IN ('seed', 'raw', 'random-raw') OR g.body IS NULL THEN 'raw'
                                ELSE (ARRAY['jsonb', 'insert', 'raw', 'raw', 'raw', 'raw', 'raw', 'raw', 'raw', 'raw'])[1 + cc_fuzz.rnd(seed, 'via:' || g.k, 10)] END),
           g.expect, NULL
    FROM ordered o JOIN cc_fuzz.gen g ON g.k = o.k;
    UPDATE cc_fuzz.inputs d SET dup_of = o.id
    FROM cc_fuzz.gen g, cc_fuzz.inputs o
    WHERE g.k = d.k AND g.dup_of IS NOT NULL AND o.k = g.dup_of;

    RETURN (SELECT count(*) FROM cc_fuzz.inputs);
END $$;

------------------------------------------------------------------------
-- Running
------------------------------------------------------------------------

-- Feeds one input; never raises for what our code does (that is recorded).
CREATE FUNCTION cc_fuzz.feed(input_id int, via text, body text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    res record;
    p jsonb;
    ev_id bigint;
    ev_key bytea;
    rej_before bigint;
    rej record;
    t0 timestamptz := clock_timestamp();
    st text;
    msg text;
    ctx text;
BEGIN
    -- ingest(jsonb) and INSERT get what a client parsed; a body that is not
    -- jsonb could not be sent that way, so it goes through ingest_raw.
    IF via <> 'raw' AND body IS NOT NULL THEN
        p := cc_fuzz.try_jsonb(body);
        IF p IS NULL THEN
            via := 'raw';
        END IF;
    END IF;
    BEGIN
        IF via = 'raw' THEN
            SELECT * INTO STRICT res FROM cometchat.ingest_raw(body);
            INSERT INTO cc_fuzz.results (id, via, status, event_id, key, problems, rejected_id)
            VALUES (input_id, via, res.status::text, res.event_id, res.idempotency_key, res.problems, res.rejected_id);
        ELSIF via = 'jsonb' THEN
            SELECT * INTO STRICT res FROM cometchat.ingest(p);
            INSERT INTO cc_fuzz.results (id, via, status, event_id, key, problems, rejected_id)
            VALUES (input_id, via, res.status::text, res.event_id, res.idempotency_key, res.problems, res.rejected_id);
        ELSE
            SELECT coalesce(max(q.id), 0) INTO rej_before FROM cometchat.rejected q;
            INSERT INTO cometchat.events (payload) VALUES (p) RETURNING id, idempotency_key INTO ev_id, ev_key;
            IF ev_id IS NOT NULL THEN
                INSERT INTO cc_fuzz.results (id, via, status, event_id, key) VALUES (input_id, via, 'accepted', ev_id, ev_key);
            ELSE
                SELECT q.id, q.problems INTO rej FROM cometchat.rejected q WHERE q.id > rej_before ORDER BY q.id LIMIT 1;
                IF FOUND THEN
                    INSERT INTO cc_fuzz.results (id, via, status, problems, rejected_id) VALUES (input_id, via, 'rejected', rej.problems, rej.id);
                ELSE
                    ev_key := sha256(convert_to(cometchat.idempotency_key(p), 'UTF8'));
                    INSERT INTO cc_fuzz.results (id, via, status, event_id, key)
                    VALUES (input_id, via, 'duplicate', (SELECT e.id FROM cometchat.events e WHERE e.idempotency_key = ev_key), ev_key);
                END IF;
            END IF;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, ctx = PG_EXCEPTION_CONTEXT;
        INSERT INTO cc_fuzz.results (id, via, status, sqlstate, errmsg, errcontext) VALUES (input_id, via, 'raised', st, msg, ctx);
    END;
    UPDATE cc_fuzz.results SET ms = 1000 * extract(epoch FROM clock_timestamp() - t0) WHERE id = input_id;
END $$;

-- Feeds the inputs not fed yet, in id order, committing every batch, until
-- all are fed or the deadline has passed.
CREATE PROCEDURE cc_fuzz.run(deadline timestamptz, batch int DEFAULT 250)
    LANGUAGE plpgsql AS $$
DECLARE
    r record;
    next_id int;
    fed int;
BEGIN
    SELECT coalesce(max(x.id), 0) INTO next_id FROM cc_fuzz.results x;
    LOOP
        fed := 0;
        FOR r IN SELECT i.id, i.via, cc_fuzz.body(g.body) AS body FROM cc_fuzz.inputs i JOIN cc_fuzz.gen g ON g.k = i.k
                 WHERE i.id > next_id ORDER BY i.id LIMIT batch LOOP
            PERFORM cc_fuzz.feed(r.id, r.via, r.body);
            next_id := r.id;
            fed := fed + 1;
        END LOOP;
        COMMIT;
        EXIT WHEN fed = 0 OR clock_timestamp() > deadline;
    END LOOP;
END $$;

CREATE PROCEDURE cc_fuzz.run_one(input_id int)
    LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT i.id, i.via, cc_fuzz.body(g.body) AS body INTO STRICT r FROM cc_fuzz.inputs i JOIN cc_fuzz.gen g ON g.k = i.k WHERE i.id = input_id;
    PERFORM cc_fuzz.feed(r.id, r.via, r.body);
END $$;

------------------------------------------------------------------------
-- Assertions
------------------------------------------------------------------------

CREATE FUNCTION cc_fuzz.safe_validate(p jsonb) RETURNS text[]
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN cometchat.validate(p);
EXCEPTION WHEN OTHERS THEN
    RETURN ARRAY['cometchat.validate raised: ' || SQLSTATE || ' ' || SQLERRM];
END $$;

-- One row per broken assertion.  check_name: a short name; id: the input
-- (NULL for a global check).
CREATE FUNCTION cc_fuzz.failures() RETURNS TABLE (check_name text, id int, detail text)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n_inputs bigint;
    n_events bigint;
    n_rejected bigint;
    n_dup bigint;
    n_raised bigint;
BEGIN
    -- Everything about each fed input, computed in one pass: the body is
    -- parsed once, and only small facts are kept.
    CREATE TEMP TABLE fz_done ON COMMIT DROP AS
    SELECT i.id, i.family, i.op, i.expect, i.dup_of, r.via, r.status, r.event_id, r.key, r.problems,
           r.rejected_id, r.sqlstate, r.errmsg, r.errcontext,
           g.body IS NULL AS body_null,
           x.payload IS NOT NULL AS parses,
           CASE WHEN x.payload IS NOT NULL THEN cc_fuzz.safe_validate(x.payload) END AS problems_now,
           CASE WHEN x.payload IS NOT NULL THEN (cometchat.classify(x.payload)).valid END AS classify_valid,
           CASE WHEN x.payload IS NOT NULL THEN sha256(convert_to(cometchat.idempotency_key(x.payload), 'UTF8')) END AS key_now,
           e.id IS NOT NULL AS ev_exists,
           e.payload IS NOT DISTINCT FROM x.payload AS ev_same_payload,
           e.idempotency_key AS ev_key,
           q.id IS NOT NULL AS rej_exists,
           q.problems AS rej_problems,
           CASE WHEN x.payload IS NOT NULL THEN q.payload IS NOT DISTINCT FROM x.payload AND q.raw_body IS NULL
                WHEN g.body IS NOT NULL THEN q.raw_body IS NOT DISTINCT FROM g.body AND q.payload IS NULL
                ELSE q.raw_body IS NULL AND q.payload IS NULL END AS rej_as_sent
    FROM cc_fuzz.inputs i
    JOIN cc_fuzz.results r ON r.id = i.id
    CROSS JOIN LATERAL (SELECT cc_fuzz.body(g0.body) AS body FROM cc_fuzz.gen g0 WHERE g0.k = i.k OFFSET 0) g
    CROSS JOIN LATERAL (SELECT cc_fuzz.try_jsonb(g.body) AS payload OFFSET 0) x
    LEFT JOIN cometchat.events e ON e.id = r.event_id
    LEFT JOIN cometchat.rejected q ON q.id = r.rejected_id;
    CREATE INDEX ON fz_done (id);
    CREATE INDEX ON fz_done (event_id);
    ANALYZE fz_done;

    -- 1. Every input ends accepted, duplicate or rejected.
    RETURN QUERY SELECT 'raised', d.id, d.sqlstate || ': ' || d.errmsg
                        || coalesce(' [in: ' || left(split_part(d.errcontext, E'\n', 1), 300) || ']', '')
                 FROM fz_done d WHERE d.status NOT IN ('accepted', 'duplicate', 'rejected');

    -- 2. accepted (or duplicate) only when cometchat.validate() finds nothing.
    RETURN QUERY SELECT 'wrong acceptance', d.id,
                        d.status || ' although ' || CASE WHEN NOT d.parses THEN 'the body is not JSON'
                                                         ELSE 'validate() says ' || d.problems_now::text END
                 FROM fz_done d WHERE d.status IN ('accepted', 'duplicate')
                   AND (NOT d.parses OR cardinality(d.problems_now) > 0);

    -- 3. classify() and idempotency_key() agree with validate().
    RETURN QUERY SELECT 'classify/key disagree with validate', d.id,
                        format('validate %s, classify.valid %s, key digest %s', d.problems_now, d.classify_valid, d.key_now)
                 FROM fz_done d
                 WHERE d.parses AND d.status IN ('accepted', 'duplicate', 'rejected')
                   AND (d.classify_valid IS DISTINCT FROM (cardinality(d.problems_now) = 0)
                        OR (d.key_now IS NULL) = (cardinality(d.problems_now) = 0));

    -- 4. An accepted input is in the ledger, as sent, under its key, and
    --    every ledger row is one accepted input.
    RETURN QUERY SELECT 'lost payload', d.id,
                        CASE WHEN NOT d.ev_exists THEN 'accepted as event ' || coalesce(d.event_id::text, 'NULL') || ' but cometchat.events has no such row'
                             WHEN NOT d.ev_same_payload THEN 'event ' || d.event_id || ' holds another payload'
                             ELSE 'event ' || d.event_id || ' has key ' || encode(d.ev_key, 'hex') || ', returned ' || coalesce(encode(d.key, 'hex'), 'NULL')
                                  || ', computed ' || coalesce(encode(d.key_now, 'hex'), 'NULL') END
                 FROM fz_done d
                 WHERE d.status = 'accepted'
                   AND (NOT d.ev_exists OR NOT d.ev_same_payload OR d.ev_key IS DISTINCT FROM d.key OR d.ev_key IS DISTINCT FROM d.key_now);
    RETURN QUERY SELECT 'phantom event', NULL::int, 'cometchat.events row ' || e.id || ' was accepted for ' || coalesce(a.n, 0) || ' inputs'
                 FROM cometchat.events e
                 LEFT JOIN (SELECT a.event_id, count(*) AS n FROM fz_done a WHERE a.status = 'accepted' GROUP BY a.event_id) a
                        ON a.event_id = e.id
                 WHERE coalesce(a.n, 0) <> 1;

    -- 5. A duplicate names an event accepted earlier with the same key.
    RETURN QUERY SELECT 'bad duplicate', d.id,
                        'duplicate of event ' || coalesce(d.event_id::text, 'NULL') || ': ' ||
                        CASE WHEN NOT d.ev_exists THEN 'no such event'
                             WHEN d.ev_key IS DISTINCT FROM d.key OR d.ev_key IS DISTINCT FROM d.key_now THEN 'its key differs'
                             ELSE 'that event was not accepted before this input' END
                 FROM fz_done d
                 WHERE d.status = 'duplicate'
                   AND (NOT d.ev_exists OR d.ev_key IS DISTINCT FROM d.key OR d.ev_key IS DISTINCT FROM d.key_now
                        OR NOT EXISTS (SELECT 1 FROM fz_done a WHERE a.event_id = d.event_id AND a.status = 'accepted' AND a.id < d.id));

    -- 6. A rejected input has problems and is in the quarantine, as sent;
    --    every quarantine row is one rejected input.
    RETURN QUERY SELECT 'bad rejection', d.id,
                        CASE WHEN coalesce(cardinality(d.problems), 0) = 0 THEN 'rejected without problems'
                             WHEN NOT d.rej_exists THEN 'rejected_id ' || coalesce(d.rejected_id::text, 'NULL') || ' is not in cometchat.rejected'
                             WHEN d.rej_problems IS DISTINCT FROM d.problems THEN 'cometchat.rejected holds other problems'
                             WHEN d.parses AND cardinality(d.problems_now) = 0 THEN 'a valid payload was rejected (lost): ' || d.problems::text
                             ELSE 'the quarantined payload/raw_body is not the body as sent' END
                 FROM fz_done d
                 WHERE d.status = 'rejected'
                   AND (coalesce(cardinality(d.problems), 0) = 0 OR NOT d.rej_exists OR d.rej_problems IS DISTINCT FROM d.problems
                        OR (d.parses AND cardinality(d.problems_now) = 0) OR NOT d.rej_as_sent);
    -- More than 50 problems: the first 50, then "(and N more problems)" (README).
    RETURN QUERY SELECT 'problems cap', d.id, cardinality(d.problems) || ' problems, the last: ' || d.problems[cardinality(d.problems)]
                 FROM fz_done d
                 WHERE d.status = 'rejected'
                   AND (cardinality(d.problems) > 51
                        OR (cardinality(d.problems) = 51 AND d.problems[51] !~ '^\(and [0-9]+ more problems\)$'));
    RETURN QUERY SELECT 'phantom rejection', NULL::int, 'cometchat.rejected row ' || q.id || ' belongs to ' || coalesce(a.n, 0) || ' inputs'
                 FROM cometchat.rejected q
                 LEFT JOIN (SELECT a.rejected_id, count(*) AS n FROM fz_done a WHERE a.status = 'rejected' GROUP BY a.rejected_id) a
                        ON a.rejected_id = q.id
                 WHERE coalesce(a.n, 0) <> 1;

    -- 7. What the reference says must happen, happens (inputs that raised
    --    are reported above).
    RETURN QUERY SELECT 'expectation', d.id,
                        'expected ' || d.expect || ', got ' || d.status ||
                        CASE WHEN d.status = 'rejected' THEN ': ' || left(d.problems::text, 300)
                             WHEN d.expect = 'duplicate' THEN ' (event ' || coalesce(d.event_id::text, 'NULL') || '; the original, input '
                                  || coalesce(d.dup_of::text, '?') || ', got ' || coalesce(o.status, 'nothing') || ' event ' || coalesce(o.event_id::text, 'NULL') || ')'
                             ELSE '' END
                 FROM fz_done d LEFT JOIN fz_done o ON o.id = d.dup_of
                 WHERE d.expect IS NOT NULL AND d.status IN ('accepted', 'duplicate', 'rejected')
                   AND (d.status <> d.expect
                        OR (d.expect = 'duplicate' AND o.status = 'accepted' AND d.event_id IS DISTINCT FROM o.event_id));

    -- 8. Counts add up: every input fed left exactly one row, or was a
    --    duplicate (an input that raised left nothing: it is lost).
    SELECT count(*), count(*) FILTER (WHERE status = 'duplicate'),
           count(*) FILTER (WHERE status NOT IN ('accepted', 'duplicate', 'rejected'))
      INTO n_inputs, n_dup, n_raised FROM fz_done;
    SELECT count(*) INTO n_events FROM cometchat.events;
    SELECT count(*) INTO n_rejected FROM cometchat.rejected;
    IF n_events + n_rejected + n_dup <> n_inputs THEN
        RETURN QUERY SELECT 'counts', NULL::int,
            format('events %s + rejected %s + duplicates %s = %s, but %s inputs were fed (%s of them raised and left nothing)',
                   n_events, n_rejected, n_dup, n_events + n_rejected + n_dup, n_inputs, n_raised);
    END IF;

    -- 9. The lifecycle tables are what the ledger says.
    RETURN QUERY SELECT 'verify', NULL::int, v.table_name || ' ' || v.difference || ' ' || left(v.row_data::text, 400)
                 FROM cometchat.verify() v;

    -- 10. Nothing impossible was stored (with the input whose event made the row).
    RETURN QUERY SELECT 'lifecycle sanity',
                        (SELECT min(d.id) FROM cometchat.events e JOIN fz_done d ON d.event_id = e.id AND d.status = 'accepted'
                          WHERE e.app_id = r.app_id AND e.session_id = r.session_id AND e.kind = 'recording_generated'
                            AND e.occurred_at = r.started_at),
                        'a recording with a negative duration: ' || to_jsonb(r)::text
                 FROM cometchat.recordings r WHERE r.duration < interval '0';
    RETURN QUERY SELECT 'lifecycle sanity',
                        (SELECT min(d.id) FROM cometchat.events e JOIN fz_done d ON d.event_id = e.id AND d.status = 'accepted'
                          WHERE e.app_id = p.app_id AND e.session_id = p.session_id
                            AND e.payload #>> '{data,occupant,name}' = p.name),
                        'a participant who left before joining: ' || to_jsonb(p)::text
                 FROM cometchat.participants p WHERE p.left_at < p.joined_at;
    RETURN QUERY SELECT 'lifecycle sanity', NULL::int, 'a session that ended before it started: ' || to_jsonb(x)::text
                 FROM cometchat.sessions x WHERE x.ended_at < x.started_at;
    RETURN QUERY SELECT 'lifecycle sanity', NULL::int, 'a negative count: ' || to_jsonb(x)::text
                 FROM cometchat.sessions x WHERE x.participant_count < 0 OR x.recording_count < 0 OR x.peak_participants < 0;
END $$;

-- cometchat_webhooks 1.4 -> 1.5
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5'" to load this file. \quit

------------------------------------------------------------------------
-- 1.5: the ledger partitioned by event time, its upkeep and retirement
-- (issue 16)
--
-- The ledger becomes a table partitioned by cometchat.event_time(payload).
-- The table it was becomes its first partition, events_until_YYYYMMDD: the
-- range from MINVALUE to the start of next month (UTC), so it takes this
-- month's events until next month's partition (cometchat.create_partitions())
-- takes over, and is retired whole once that start is old enough.  Its rows
-- stay where they are, its unique key and indexes too (renamed as a
-- partition's; no index is rebuilt), except the few its range cannot hold:
-- those without a time (unknown triggers) and any dated after it, which
-- move to a new default partition, events_default.  Attaching it checks
-- every row against the range: one scan of the ledger under this update's
-- lock (measured in BENCHMARKS.md).  It leaves the extension, as every
-- partition but the default one does: pg_dump dumps it as a table of the
-- user's.  A partition may not have
-- an identity column of its own (17 and later refuse to attach one), so the
-- ledger's ids move to a new sequence of the same name on the partitioned
-- table, set to where the old one was.  Privileges granted on the ledger
-- move to the partitioned table, which receivers insert into.
------------------------------------------------------------------------
-- The ledger's partition key (1.5): the time an event happened, read from
-- the payload as the trigger reads it.  A receiver inserts the payload alone
-- and a row is routed before any trigger runs, so the key must follow from
-- the payload; for every stored event it equals occurred_at.
CREATE FUNCTION cometchat.event_time(payload jsonb) RETURNS timestamptz
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_event_time';
COMMENT ON FUNCTION cometchat.event_time(jsonb) IS 'when the event of a payload happened (cometchat.events.occurred_at, the ledger''s partition key); NULL for an invalid payload or an unknown trigger';

-- The keys and indexes every partition of the ledger has (see above).  They
-- are the partition's own, not inherited from partitioned indexes: pg_dump
-- restores a partition's indexes after its rows, but attaching it (before
-- its rows) would build a partitioned index's there at once, under the name
-- the dump's index then takes.  One row per key:
-- occurred_at is one of the key's parts (NULL only for an unknown trigger,
-- and then for every delivery of it), so the pair is unique exactly when the
-- key is; leading with the time keeps a load's probes and inserts at the
-- index's recent edge instead of spread over it.
CREATE FUNCTION cometchat._add_partition_keys(part regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id), '
                   'ADD CONSTRAINT %I UNIQUE NULLS NOT DISTINCT (occurred_at, idempotency_key)',
                   part, name || '_pkey', name || '_idempotency_key_key');
    -- One session id's events (cometchat.timeline): the id alone, whose
    -- rows share one deduplicated entry, costs a load far less than
    -- (session_id, app_id, occurred_at), nearly unique keys of ~100 bytes;
    -- timeline() filters the app and sorts the few rows of a session itself.
    EXECUTE format('CREATE INDEX %I ON %s (session_id)', name || '_session_id_idx', part);
    EXECUTE format('CREATE INDEX %I ON %s (call_id, app_id) WHERE call_id IS NOT NULL',
                   name || '_call_id_app_id_idx', part);
END
$$;
COMMENT ON FUNCTION cometchat._add_partition_keys(regclass) IS 'internal: gives a partition of the ledger its primary key on id, its unique key on (occurred_at, idempotency_key) and its indexes on session_id and call_id';

-- Where the ledger's ids were, for its new sequence (the old one goes with
-- the identity of the old table), and the old table's new name: carried
-- over in settings of this transaction.
SELECT set_config('cc_upgrade.events_id', s.last_value || ',' || s.is_called, true)
FROM cometchat.events_id_seq s;
SELECT set_config('cc_upgrade.upper', (date_trunc('month', now(), 'UTC') AT TIME ZONE 'UTC' + interval '1 month')::text, true),
       set_config('cc_upgrade.legacy',
                  'events_until_' || to_char(date_trunc('month', now(), 'UTC') AT TIME ZONE 'UTC' + interval '1 month', 'YYYYMMDD'),
                  true);

DROP POLICY app_rows ON cometchat.events;
DROP POLICY app_receive ON cometchat.events;
DROP TRIGGER events_ingest ON cometchat.events;
-- Out of the extension first: that takes them off its list of tables to dump.
ALTER EXTENSION cometchat_webhooks DROP SEQUENCE cometchat.events_id_seq;
ALTER EXTENSION cometchat_webhooks DROP TABLE cometchat.events;
ALTER TABLE cometchat.events ALTER COLUMN id DROP IDENTITY;
DO $rename$
DECLARE
    legacy text := current_setting('cc_upgrade.legacy');
    col name;
BEGIN
    EXECUTE format('ALTER TABLE cometchat.events RENAME TO %I', legacy);
    EXECUTE format('ALTER TABLE cometchat.%1$I RENAME CONSTRAINT events_pkey TO %2$I', legacy, legacy || '_pkey');
    EXECUTE format('ALTER TABLE cometchat.%1$I RENAME CONSTRAINT events_idempotency_key_key TO %2$I',
                   legacy, legacy || '_idempotency_key_key');
    EXECUTE format('ALTER INDEX cometchat.events_session RENAME TO %I', legacy || '_session_id_idx');
    EXECUTE format('ALTER INDEX cometchat.events_call RENAME TO %I', legacy || '_call_id_app_id_idx');
    FOR col IN SELECT a.attname FROM pg_attribute a
               WHERE a.attrelid = format('cometchat.%I', legacy)::regclass AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN cometchat.%I.%I IS NULL', legacy, col);
    END LOOP;
END
$rename$;

-- (The NOT NULL constraints are named as PostgreSQL 18 names them on a new
-- table, so that an update, where the old ledger keeps those names, names
-- them the same: PostgreSQL 18 would add a suffix.)
CREATE TABLE cometchat.events (
    id              bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT events_id_not_null NOT NULL,
    received_at     timestamptz CONSTRAINT events_received_at_not_null NOT NULL DEFAULT now(),
    payload         jsonb CONSTRAINT events_payload_not_null NOT NULL,
    -- Everything below is derived from payload by the C trigger; values a
    -- client supplies for these columns are overwritten.
    app_id          text CONSTRAINT events_app_id_not_null NOT NULL,
    region          text,
    webhook         text CONSTRAINT events_webhook_not_null NOT NULL,
    trigger         text CONSTRAINT events_trigger_not_null NOT NULL,
    kind            cometchat.event_kind CONSTRAINT events_kind_not_null NOT NULL,
    flow            cometchat.flow,
    session_id      text,
    call_id         text,
    occurred_at     timestamptz,
    idempotency_key bytea CONSTRAINT events_idempotency_key_not_null NOT NULL
) PARTITION BY RANGE (cometchat.event_time(payload));
COMMENT ON TABLE cometchat.events IS 'Ledger of accepted CometChat calling webhooks, one row per distinct event (see cometchat.idempotency_key); insert the body into payload, the trigger fills the other columns; append-only';
COMMENT ON COLUMN cometchat.events.id IS 'event id, in the order events were stored';
COMMENT ON COLUMN cometchat.events.received_at IS 'when the event was stored (the start of its transaction)';
COMMENT ON COLUMN cometchat.events.payload IS 'the webhook body as received';
COMMENT ON COLUMN cometchat.events.app_id IS 'the CometChat app (appId)';
COMMENT ON COLUMN cometchat.events.region IS 'the app''s region (region): us, eu, in, ...';
COMMENT ON COLUMN cometchat.events.webhook IS 'the webhook that delivered the event (webhook)';
COMMENT ON COLUMN cometchat.events.trigger IS 'the trigger as sent (trigger)';
COMMENT ON COLUMN cometchat.events.kind IS 'the trigger as a cometchat.event_kind: unknown for a trigger that is not documented';
COMMENT ON COLUMN cometchat.events.flow IS 'ringing (call_* events) or session (meeting_* events); NULL for recording_generated and unknown kinds';
COMMENT ON COLUMN cometchat.events.session_id IS 'the session the event belongs to (data.sessionId; for call_initiated the session it announces); NULL for busy, cancelled, rejected and unanswered';
COMMENT ON COLUMN cometchat.events.call_id IS 'the message id of call_initiated, busy, cancelled, rejected and unanswered (data.call.id)';
COMMENT ON COLUMN cometchat.events.occurred_at IS 'when the event happened, from its own time field (sentAt, created_at, joined_at, left_at, destroyed_at, startTime); NULL for unknown kinds';
COMMENT ON COLUMN cometchat.events.idempotency_key IS 'SHA-256 of the key text cometchat.idempotency_key(payload), unique with occurred_at; look an event up with cometchat.find_event()';

-- The default partition takes over the rows the old table's range cannot
-- hold (no trigger exists yet to run on them): found by occurred_at, which
-- the old table's unique key leads with, so without reading the ledger.
-- Then the old table is attached, which reads every row to check its range;
-- only if a row's time, read from its payload as this version reads it, is
-- not the occurred_at an earlier version stored, are the rows moved by the
-- partition key itself, both ways, and the table attached again.  Last the
-- default partition (small: little to check).
CREATE TABLE cometchat.events_default (LIKE cometchat.events INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION);
DO $split$
DECLARE
    legacy regclass := format('cometchat.%I', current_setting('cc_upgrade.legacy'))::regclass;
    upper timestamptz := current_setting('cc_upgrade.upper')::timestamptz;
    move constant text := 'WITH moved AS (DELETE FROM %1$s e WHERE %3$s RETURNING %4$s) '
                          'INSERT INTO %2$s (%4$s) SELECT %4$s FROM moved';
    columns constant text := 'id, received_at, payload, app_id, region, webhook, trigger, kind, flow, '
                             'session_id, call_id, occurred_at, idempotency_key';
    attach constant text := 'ALTER TABLE cometchat.events ATTACH PARTITION %s FOR VALUES FROM (MINVALUE) TO (%L)';
BEGIN
    EXECUTE format(move, legacy, 'cometchat.events_default',
                   format('e.occurred_at IS NULL OR e.occurred_at >= %L', upper), columns);
    BEGIN
        EXECUTE format(attach, legacy, upper);
    EXCEPTION WHEN check_violation THEN
        EXECUTE format(move, legacy, 'cometchat.events_default',
                       format('cometchat.event_time(e.payload) IS NULL OR cometchat.event_time(e.payload) >= %L', upper),
                       columns);
        EXECUTE format(move, 'cometchat.events_default', legacy,
                       format('cometchat.event_time(e.payload) < %L', upper), columns);
        EXECUTE format(attach, legacy, upper);
    END;
    ALTER TABLE cometchat.events ATTACH PARTITION cometchat.events_default DEFAULT;
    PERFORM cometchat._add_partition_keys('cometchat.events_default');
END
$split$;
COMMENT ON TABLE cometchat.events_default IS 'the ledger''s default partition: events without a time (unknown triggers), and events of a range that has no partition yet (cometchat.create_partitions() moves those out)';
SELECT pg_catalog.pg_extension_config_dump('cometchat.events_default', '');
SELECT setval('cometchat.events_id_seq', split_part(current_setting('cc_upgrade.events_id'), ',', 1)::bigint,
              split_part(current_setting('cc_upgrade.events_id'), ',', 2)::boolean);
SELECT pg_catalog.pg_extension_config_dump('cometchat.events_id_seq', '');

CREATE TRIGGER events_ingest
    BEFORE INSERT OR UPDATE ON cometchat.events
    FOR EACH ROW EXECUTE FUNCTION cometchat._events_trigger();
CREATE POLICY app_rows ON cometchat.events FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_receive ON cometchat.events FOR INSERT WITH CHECK (cometchat.app_visible(app_id));

DO $privileges$
DECLARE
    legacy regclass := format('cometchat.%I', current_setting('cc_upgrade.legacy'))::regclass;
    g record;
BEGIN
    IF (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = legacy) THEN
        ALTER TABLE cometchat.events ENABLE ROW LEVEL SECURITY;
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', legacy);
    END IF;
    -- What was granted on the ledger, granted on the partitioned one, and
    -- taken from the partition (fresh installs grant nothing on it).
    FOR g IN SELECT a.grantee, a.privilege_type, a.is_grantable
             FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = legacy AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON cometchat.events TO %s%s', g.privilege_type,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
                       CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        EXECUTE format('REVOKE %s ON %s FROM %s', g.privilege_type, legacy,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END);
    END LOOP;
    FOR g IN SELECT a.attname, x.grantee, x.privilege_type, x.is_grantable
             FROM pg_attribute a, aclexplode(a.attacl) x, pg_class c
             WHERE a.attrelid = legacy AND a.attacl IS NOT NULL
               AND c.oid = a.attrelid AND x.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s (%I) ON cometchat.events TO %s%s', g.privilege_type, g.attname,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
                       CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        EXECUTE format('REVOKE %s (%I) ON %s FROM %s', g.privilege_type, g.attname, legacy,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END);
    END LOOP;
END
$privileges$;

CREATE OR REPLACE VIEW cometchat.event_log WITH (security_barrier = true) AS
SELECT e.id AS event_id, e.received_at, e.app_id, e.region, e.webhook, e.trigger, e.kind, e.flow,
       e.session_id, e.call_id, e.occurred_at, e.idempotency_key,
       coalesce(e.payload #>> '{data,occupant,name}',
                e.payload #>> '{data,call,sender}',
                e.payload #>> '{data,recording_url}') AS detail
FROM cometchat.events e
WHERE (SELECT cometchat._sees_every_app()) OR cometchat.app_visible(e.app_id);

------------------------------------------------------------------------
-- Partitions of the ledger: upkeep and retirement (1.5)
--
-- cometchat.create_partitions() creates the ranges ahead of time and moves
-- out of the default partition the events of any range it creates;
-- cometchat.retire_partitions() detaches (and drops) the ranges older than a
-- given age.  Both take SHARE UPDATE EXCLUSIVE on the ledger first, so one
-- runs at a time, and receivers' inserts go on.  While they change the
-- partitions they hold inserts off for a moment (create_partitions() with
-- SHARE ROW EXCLUSIVE, retire_partitions() with the ACCESS EXCLUSIVE of a
-- detach), and each waits at most lock_wait for that lock.  Retiring a range
-- leaves the lifecycle tables as they are and records it in
-- cometchat.retired_partitions: cometchat.retired_before() is the horizon
-- before which the ledger is no longer complete, and rebuild() leaves the
-- lifecycle rows of what began before it as they are.
------------------------------------------------------------------------
CREATE TABLE cometchat.retired_partitions (
    partition_name text NOT NULL,
    range_from     timestamptz NOT NULL,
    range_to       timestamptz NOT NULL,
    retired_at     timestamptz NOT NULL DEFAULT now(),
    dropped        boolean NOT NULL,
    PRIMARY KEY (range_from, retired_at)
);
COMMENT ON TABLE cometchat.retired_partitions IS 'ranges of the ledger retired by cometchat.retire_partitions(): their events are gone from cometchat.events, their lifecycle rows kept';
COMMENT ON COLUMN cometchat.retired_partitions.partition_name IS 'the partition detached (a table of that name in schema cometchat, unless dropped)';
COMMENT ON COLUMN cometchat.retired_partitions.range_from IS 'the first event time it held';
COMMENT ON COLUMN cometchat.retired_partitions.range_to IS 'the event time its range ended at (exclusive)';
COMMENT ON COLUMN cometchat.retired_partitions.retired_at IS 'when it was retired';
COMMENT ON COLUMN cometchat.retired_partitions.dropped IS 'true when it was dropped; false when it was handed to the caller, detached, for archiving';
SELECT pg_catalog.pg_extension_config_dump('cometchat.retired_partitions', '');

-- The bounds of every partition, read from the catalog in UTC and ISO
-- whatever the session's settings.
CREATE FUNCTION cometchat.ledger_partitions()
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, is_default boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
    SET DateStyle = 'ISO, YMD'
AS $$
    SELECT c.relname::text,
           CASE b.m[1] WHEN 'MINVALUE' THEN '-infinity' ELSE trim(both '''' from b.m[1]) END::timestamptz,
           CASE b.m[2] WHEN 'MAXVALUE' THEN 'infinity' ELSE trim(both '''' from b.m[2]) END::timestamptz,
           b.m IS NULL
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                            '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS m) b
    WHERE i.inhparent = 'cometchat.events'::regclass
    ORDER BY b.m IS NULL, 2
$$;
COMMENT ON FUNCTION cometchat.ledger_partitions() IS 'the partitions of the ledger and the ranges of event times they hold (the default partition: events without a time, and those of ranges with no partition)';

-- The range of the given size (day, week or month, in UTC) a time falls in.
CREATE FUNCTION cometchat._partition_range(t timestamptz, size text, OUT range_from timestamptz, OUT range_to timestamptz)
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT date_trunc(size, t, 'UTC'),
           (date_trunc(size, t, 'UTC') AT TIME ZONE 'UTC' + ('1 ' || size)::interval) AT TIME ZONE 'UTC'
$$;
COMMENT ON FUNCTION cometchat._partition_range(timestamptz, text) IS 'internal: the range of a partition of the given size (day, week, month; in UTC) a time falls in';

CREATE FUNCTION cometchat.create_partitions(ahead interval DEFAULT '3 months', size text DEFAULT 'month',
                                            since timestamptz DEFAULT NULL,
                                            lock_wait interval DEFAULT '5 seconds')
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    dflt regclass := (SELECT p.partdefid::regclass FROM pg_partitioned_table p
                      WHERE p.partrelid = 'cometchat.events'::regclass AND p.partdefid <> 0);
    owner regrole := (SELECT c.relowner::regrole FROM pg_class c WHERE c.oid = 'cometchat.events'::regclass);
    columns text := (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a
                     WHERE a.attrelid = 'cometchat.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    saved text := current_setting('lock_timeout');
    missing text;
    nothing boolean;
    r record;
    part text;
BEGIN
    IF size IS NULL OR size NOT IN ('day', 'week', 'month') THEN
        RAISE EXCEPTION 'invalid partition size "%"', size
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A partition of the ledger holds the events of one day, week or month (in UTC).',
                  HINT = 'Pass size => ''day'', ''week'' or ''month''.';
    END IF;
    IF ahead IS NULL OR ahead < interval '0' THEN
        RAISE EXCEPTION 'invalid interval ahead "%"', ahead
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how far ahead of now to have partitions, e.g. ahead => ''3 months''.';
    END IF;
    IF since > now() THEN
        RAISE EXCEPTION 'invalid start of the partitions to create: it is in the future'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the time of the oldest event to import, e.g. since => ''2026-01-01''; ahead covers the future.';
    END IF;
    IF lock_wait IS NULL OR lock_wait < interval '0' THEN
        RAISE EXCEPTION 'invalid lock_wait "%"', lock_wait
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how long to wait for the ledger''s lock, e.g. lock_wait => ''5 seconds''.';
    END IF;
    -- The ranges to create: those from since (or now) to now + ahead, and
    -- those of the events waiting in the default partition, less any that
    -- overlaps a partition.
    missing := format($q$
        WITH wanted AS (
            SELECT (cometchat._partition_range(t, $1)).*
            FROM generate_series(coalesce($3, now()), now() + $2, ('1 ' || $1)::interval) t
            UNION
            SELECT (cometchat._partition_range(d.t, $1)).*
            FROM (SELECT DISTINCT date_trunc($1, e.occurred_at, 'UTC') AS t
                  FROM %s e WHERE e.occurred_at IS NOT NULL) d)
        SELECT w.* FROM wanted w
        WHERE NOT EXISTS (SELECT FROM cometchat.ledger_partitions() p
                          WHERE NOT p.is_default
                            AND p.range_from < w.range_to AND w.range_from < p.range_to)
        ORDER BY w.range_from$q$,
        coalesce(dflt::text, '(SELECT NULL::timestamptz AS occurred_at)'));
    -- One run at a time; receivers go on meanwhile.  Nothing to create (most
    -- runs): done, having held nobody up.
    LOCK TABLE cometchat.events IN SHARE UPDATE EXCLUSIVE MODE;
    EXECUTE 'SELECT NOT EXISTS (' || missing || ')' INTO nothing USING size, ahead, since;
    IF nothing THEN
        RETURN;
    END IF;
    -- A row PostgreSQL routed to the default partition just before a range
    -- is attached, and still waiting for the default partition's lock, would
    -- find it no longer takes the row (its constraint is checked again) and
    -- fail.  So wait for the inserts in progress and hold new ones off until
    -- commit (SHARE ROW EXCLUSIVE): for as long as creating the partitions
    -- and moving the default partition's rows of their ranges takes, which
    -- is milliseconds while it holds few.  A backfill in progress could make
    -- that wait long: wait at most lock_wait, then fail having done nothing.
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    LOCK TABLE cometchat.events IN SHARE ROW EXCLUSIVE MODE;
    IF dflt IS NOT NULL THEN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', dflt);
    END IF;
    PERFORM set_config('lock_timeout', saved, true);
    FOR r IN EXECUTE missing USING size, ahead, since
    LOOP
        part := 'events_p' || to_char(r.range_from AT TIME ZONE 'UTC', 'YYYYMMDD');
        EXECUTE format('CREATE TABLE cometchat.%I (LIKE cometchat.events INCLUDING DEFAULTS '
                       'INCLUDING STORAGE INCLUDING COMPRESSION)', part);
        EXECUTE format('ALTER TABLE cometchat.%I OWNER TO %s', part, owner);
        PERFORM cometchat._add_partition_keys(format('cometchat.%I', part)::regclass);
        moved := 0;
        IF dflt IS NOT NULL THEN
            EXECUTE format('WITH m AS (DELETE FROM %1$s e WHERE e.occurred_at >= %2$L AND e.occurred_at < %3$L '
                           'RETURNING %4$s) INSERT INTO cometchat.%5$I (%4$s) SELECT %4$s FROM m',
                           dflt, r.range_from, r.range_to, columns, part);
            GET DIAGNOSTICS moved = ROW_COUNT;
        END IF;
        EXECUTE format('ALTER TABLE cometchat.events ATTACH PARTITION cometchat.%I FOR VALUES FROM (%L) TO (%L)',
                       part, r.range_from, r.range_to);
        partition_name := part;
        range_from := r.range_from;
        range_to := r.range_to;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION cometchat.create_partitions(interval, text, timestamptz, interval) IS 'creates the partitions of the ledger from since (or now) to now + ahead (of a day, week or month each, in UTC), and those of the events waiting in the default partition, into which it moves them; returns what it created; waits at most lock_wait for the ledger''s lock';

CREATE FUNCTION cometchat.retired_before() RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT max(r.range_to) FROM cometchat.retired_partitions r $$;
COMMENT ON FUNCTION cometchat.retired_before() IS 'the retirement horizon: events that happened before it may have been retired from the ledger (NULL: none was)';

CREATE FUNCTION cometchat.retire_partitions(older_than interval, drop_them boolean DEFAULT true,
                                            lock_wait interval DEFAULT '5 seconds')
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, dropped boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    saved text := current_setting('lock_timeout');
BEGIN
    IF older_than IS NULL OR drop_them IS NULL THEN
        RAISE EXCEPTION 'cometchat.retire_partitions() needs an age'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Call it as cometchat.retire_partitions(''90 days'').';
    END IF;
    LOCK TABLE cometchat.events IN SHARE UPDATE EXCLUSIVE MODE;
    -- A rebuild in steps replays what it emptied from the ledger as it is.
    IF EXISTS (SELECT FROM cometchat.rebuild_progress) THEN
        RAISE EXCEPTION 'cannot retire partitions while cometchat.rebuild_in_steps() is unfinished'
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'It has not replayed every event of the ledger yet (cometchat.rebuild_progress).',
                  HINT = 'Let it finish, or CALL cometchat.rebuild_in_steps() again to resume it.';
    END IF;
    -- Detaching takes ACCESS EXCLUSIVE on the ledger for a moment, and
    -- inserts queue behind a waiting request: wait at most lock_wait.
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    FOR p IN SELECT l.partition_name, l.range_from, l.range_to
             FROM cometchat.ledger_partitions() l
             WHERE NOT l.is_default AND l.range_to <= now() - older_than
             ORDER BY l.range_from
    LOOP
        EXECUTE format('ALTER TABLE cometchat.events DETACH PARTITION cometchat.%I', p.partition_name);
        IF drop_them THEN
            EXECUTE format('DROP TABLE cometchat.%I', p.partition_name);
        END IF;
        INSERT INTO cometchat.retired_partitions (partition_name, range_from, range_to, dropped)
        VALUES (p.partition_name, p.range_from, p.range_to, drop_them);
        partition_name := p.partition_name;
        range_from := p.range_from;
        range_to := p.range_to;
        dropped := drop_them;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('lock_timeout', saved, true);
END
$$;
COMMENT ON FUNCTION cometchat.retire_partitions(interval, boolean, interval) IS 'detaches the partitions of the ledger whose range ended more than older_than ago, and drops them (or leaves them, detached, to the caller); lifecycle rows are kept; returns what it retired';

REVOKE ALL ON FUNCTION cometchat._add_partition_keys(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.create_partitions(interval, text, timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.retire_partitions(interval, boolean, interval) FROM PUBLIC;

-- After a retirement (1.5) the ledger lacks the events before the horizon
-- (cometchat.retired_before()).  rebuild() then recomputes only what began
-- at or after it: the session ids none of whose rows (session instances,
-- join intervals, recordings, their call) began before it, the calls
-- announced without a session id after it, the outcomes sent after it.  The
-- rest stays as it is; replaying the remaining events into it changes
-- nothing, as every merge ignores repeats.  Each NOT EXISTS is a plain
-- condition of its DELETE, so that it runs as one anti-join, not as a
-- subplan per row.  tables: the schema of the lifecycle tables (or of
-- verify_in_steps()'s copies of them).
CREATE FUNCTION cometchat._forget_since(horizon timestamptz,
                                        tables regnamespace DEFAULT 'cometchat')
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
    WITH kept AS MATERIALIZED (
             SELECT s.app_id, s.session_id FROM %1$s.sessions s WHERE s.started_at < $1
             UNION SELECT p.app_id, p.session_id FROM %1$s.participants p WHERE p.joined_at < $1
             UNION SELECT r.app_id, r.session_id FROM %1$s.recordings r WHERE r.started_at < $1
             UNION SELECT c.app_id, c.session_id FROM %1$s.calls c
                   WHERE c.session_id IS NOT NULL AND least(c.initiated_at, c.started_at, c.outcome_at) < $1),
         sessions AS (DELETE FROM %1$s.sessions s
                      WHERE NOT EXISTS (SELECT FROM kept k WHERE k.app_id = s.app_id AND k.session_id = s.session_id)),
         participants AS (DELETE FROM %1$s.participants p
                          WHERE NOT EXISTS (SELECT FROM kept k WHERE k.app_id = p.app_id AND k.session_id = p.session_id)),
         recordings AS (DELETE FROM %1$s.recordings r
                        WHERE NOT EXISTS (SELECT FROM kept k WHERE k.app_id = r.app_id AND k.session_id = r.session_id)),
         calls AS (DELETE FROM %1$s.calls c
                   WHERE c.session_id IS NOT NULL
                     AND NOT EXISTS (SELECT FROM kept k WHERE k.app_id = c.app_id AND k.session_id = c.session_id)),
         unlinked_calls AS (DELETE FROM %1$s.calls c
                            WHERE c.session_id IS NULL
                              AND coalesce(least(c.initiated_at, c.started_at, c.outcome_at) >= $1, true)),
         outcomes AS (DELETE FROM %1$s.call_outcomes o WHERE o.sent_at >= $1)
    SELECT$q$, tables) USING horizon;
END
$$;
COMMENT ON FUNCTION cometchat._forget_since(timestamptz, regnamespace) IS 'internal: deletes the lifecycle rows of what began at or after the retirement horizon, for cometchat.rebuild() and cometchat.verify_in_steps()';
REVOKE ALL ON FUNCTION cometchat._forget_since(timestamptz, regnamespace) FROM PUBLIC;

-- The replay takes bounds (1.5): since, and an id range for
-- rebuild_in_steps(); and the schema it writes into, for verify_in_steps().
DROP FUNCTION cometchat._replay();
-- Replays events of the ledger through the same merge rules the trigger
-- uses: all of them, those that happened at or after since, or those whose
-- ids are in (after_id, upto_id]; locked, each takes its ids' locks (or
-- claims) as a backfill's events do, so that live ingest may go on; tables,
-- into the lifecycle tables of another schema (verify_in_steps()'s copies).
CREATE FUNCTION cometchat._replay(since timestamptz DEFAULT NULL, after_id bigint DEFAULT NULL,
                                  upto_id bigint DEFAULT NULL, locked boolean DEFAULT false,
                                  tables regnamespace DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'cc_replay';
COMMENT ON FUNCTION cometchat._replay(timestamptz, bigint, bigint, boolean, regnamespace) IS 'internal: replays events of the ledger (all, those at or after since, or those of an id range) into the lifecycle tables (or those of another schema), for cometchat.rebuild(), cometchat.rebuild_in_steps() and cometchat.verify_in_steps()';

-- Empties what a recomputation recomputes: every lifecycle table, or,
-- with a horizon, the rows of what began at or after it.
CREATE FUNCTION cometchat._forget(horizon timestamptz) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF horizon IS NULL THEN
        TRUNCATE cometchat.sessions, cometchat.calls, cometchat.call_outcomes,
                 cometchat.participants, cometchat.recordings;
    ELSE
        PERFORM cometchat._forget_since(horizon);
    END IF;
END
$$;
COMMENT ON FUNCTION cometchat._forget(timestamptz) IS 'internal: empties the lifecycle tables (with a horizon, deletes the rows of what began at or after it), for cometchat.rebuild() and cometchat.rebuild_in_steps()';
REVOKE ALL ON FUNCTION cometchat._forget(timestamptz) FROM PUBLIC;

-- A recomputation in steps (rebuild_in_steps()) in progress, or left
-- unfinished: the lifecycle tables lack what it has not replayed yet.
CREATE TABLE cometchat.rebuild_progress (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    started_at      timestamptz NOT NULL DEFAULT now(),
    replayed_to     bigint NOT NULL,
    replay_until    bigint NOT NULL,
    events_replayed bigint NOT NULL DEFAULT 0,
    steps           integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE cometchat.rebuild_progress IS 'the cometchat.rebuild_in_steps() in progress or left unfinished (no row: none); run it again to finish';
COMMENT ON COLUMN cometchat.rebuild_progress.singleton IS 'always true: the table holds one row at most';
COMMENT ON COLUMN cometchat.rebuild_progress.started_at IS 'when it emptied the lifecycle tables';
COMMENT ON COLUMN cometchat.rebuild_progress.replayed_to IS 'the events with ids up to this one are replayed';
COMMENT ON COLUMN cometchat.rebuild_progress.replay_until IS 'the last id of the ledger when it began: later events were applied as they arrived';
COMMENT ON COLUMN cometchat.rebuild_progress.events_replayed IS 'events replayed so far';
COMMENT ON COLUMN cometchat.rebuild_progress.steps IS 'steps committed so far';

CREATE FUNCTION cometchat.rebuild(since timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    LOCK TABLE cometchat.events IN SHARE MODE;
    -- Without since, and before any retirement: everything.
    PERFORM cometchat._forget(greatest(since, cometchat.retired_before()));
    -- Recomputing everything finishes what a rebuild in steps left.
    IF since IS NULL THEN
        DELETE FROM cometchat.rebuild_progress;
    END IF;
    RETURN cometchat._replay(since => since);
END
$$;
COMMENT ON FUNCTION cometchat.rebuild(timestamptz) IS 'recomputes the lifecycle rows of what began at or after since (NULL: everything; after a retirement, at or after cometchat.retired_before() at the earliest) from the ledger; returns the number of events replayed';

CREATE OR REPLACE FUNCTION cometchat.rebuild() RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT cometchat.rebuild(NULL::timestamptz) $$;
COMMENT ON FUNCTION cometchat.rebuild() IS 'recomputes every lifecycle table from the ledger (after a retirement, what began at or after cometchat.retired_before()); returns the number of events replayed';

-- The last id of the next step of a recomputation in steps: the
-- step_events events after after_id, up to last_id (NULL: none left).
-- Raises on an invalid step_events, which the procedures check first.
CREATE FUNCTION cometchat._step_end(after_id bigint, last_id bigint, step_events integer)
    RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF step_events IS NULL OR step_events < 1 THEN
        RAISE EXCEPTION 'invalid step_events %', step_events
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how many events to replay per transaction, e.g. step_events => 1000000.';
    END IF;
    RETURN (SELECT max(s.id)
            FROM (SELECT e.id FROM cometchat.events e
                  WHERE e.id > after_id AND e.id <= last_id
                  ORDER BY e.id LIMIT step_events) s);
END
$$;
COMMENT ON FUNCTION cometchat._step_end(bigint, bigint, integer) IS 'internal: the last id of the next step of cometchat.rebuild_in_steps() and cometchat.verify_in_steps()';
REVOKE ALL ON FUNCTION cometchat._step_end(bigint, bigint, integer) FROM PUBLIC;

-- rebuild() in a transaction per step_events events, beside live ingest.
-- A procedure with transaction control takes no SET clause: every name is
-- qualified instead.  Step 0 empties the tables as rebuild() does and
-- notes the ledger's last id; the events up to it are then replayed in id
-- order, each step committed with its progress, each event under its ids'
-- locks as a backfill's, so a live event waits only for the step that
-- holds its call.  Events after that id were applied as they arrived; the
-- rules merge both, in whatever order.  Interrupted, it resumes where the
-- last committed step ended; two at once share the steps.
CREATE PROCEDURE cometchat.rebuild_in_steps(step_events integer DEFAULT 1000000,
                                            INOUT events_replayed bigint DEFAULT NULL,
                                            INOUT steps integer DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    done bigint;
    last_id bigint;
    upto bigint;
BEGIN
    -- (An invalid step_events raises before anything is done.)
    PERFORM cometchat._step_end(0, 0, step_events);
    LOCK TABLE cometchat.rebuild_progress IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT FROM cometchat.rebuild_progress) THEN
        LOCK TABLE cometchat.events IN SHARE MODE;
        PERFORM cometchat._forget(cometchat.retired_before());
        INSERT INTO cometchat.rebuild_progress (replayed_to, replay_until)
        SELECT 0, coalesce(pg_catalog.max(e.id), 0) FROM cometchat.events e;
    END IF;
    COMMIT;
    LOOP
        SELECT p.replayed_to, p.replay_until INTO done, last_id
        FROM cometchat.rebuild_progress p FOR UPDATE;
        EXIT WHEN NOT FOUND;
        upto := cometchat._step_end(done, last_id, step_events);
        IF upto IS NULL THEN
            DELETE FROM cometchat.rebuild_progress p
            RETURNING p.events_replayed, p.steps INTO events_replayed, steps;
            COMMIT;
            EXIT;
        END IF;
        UPDATE cometchat.rebuild_progress p
        SET replayed_to = upto,
            events_replayed = p.events_replayed OPERATOR(pg_catalog.+)
                              cometchat._replay(after_id => done, upto_id => upto, locked => true),
            steps = p.steps OPERATOR(pg_catalog.+) 1;
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE cometchat.rebuild_in_steps(integer, bigint, integer) IS 'rebuild() in one transaction per step_events events, beside live ingest and in memory bounded by a step; resumes one left unfinished (cometchat.rebuild_progress); returns the events replayed and the steps taken';
REVOKE ALL ON FUNCTION cometchat._replay(timestamptz, bigint, bigint, boolean, regnamespace) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.rebuild(timestamptz) FROM PUBLIC;
REVOKE ALL ON PROCEDURE cometchat.rebuild_in_steps(integer, bigint, integer) FROM PUBLIC;

------------------------------------------------------------------------
-- Ingest statistics and delivery lag (1.5)
--
-- The counters live in shared memory (src/ingest_stats.c): a duplicate
-- leaves no row, so they are the only record of CometChat's retries, and
-- counting one costs no write.  They need the library in
-- shared_preload_libraries; without it, reading them raises an error that
-- says so.  They are not durable: a restart starts them from zero.  The
-- view applies per-app security as event_log does.
------------------------------------------------------------------------
CREATE FUNCTION cometchat._ingest_stats(
    OUT app_id text, OUT kind text, OUT accepted bigint, OUT duplicate bigint,
    OUT rejected bigint, OUT since timestamptz)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'cc_ingest_stats';
COMMENT ON FUNCTION cometchat._ingest_stats() IS 'internal: this database''s ingest counters, from shared memory (cometchat.ingest_stats)';

CREATE VIEW cometchat.ingest_stats WITH (security_barrier = true) AS
SELECT s.app_id, s.kind, s.accepted, s.duplicate, s.rejected, s.since
FROM cometchat._ingest_stats() s
WHERE (SELECT cometchat._sees_every_app()) OR cometchat.app_visible(s.app_id);
COMMENT ON VIEW cometchat.ingest_stats IS 'Deliveries counted per app and event kind since the last reset or restart: accepted, duplicates and rejected, of committed transactions; needs cometchat_webhooks in shared_preload_libraries';
COMMENT ON COLUMN cometchat.ingest_stats.app_id IS 'the app (appId); NULL when the payload had none that could be read, and for the pairs past cometchat.stats_max';
COMMENT ON COLUMN cometchat.ingest_stats.kind IS 'the event kind (as cometchat.event_kind); NULL when the trigger could not be read';
COMMENT ON COLUMN cometchat.ingest_stats.accepted IS 'deliveries stored in the ledger';
COMMENT ON COLUMN cometchat.ingest_stats.duplicate IS 'deliveries of an event already stored (CometChat''s retries, a receiver''s resends): not stored again';
COMMENT ON COLUMN cometchat.ingest_stats.rejected IS 'deliveries quarantined in cometchat.rejected';
COMMENT ON COLUMN cometchat.ingest_stats.since IS 'when this row started counting: its first delivery after the last reset or server start';

CREATE FUNCTION cometchat.reset_ingest_stats() RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'cc_reset_ingest_stats';
COMMENT ON FUNCTION cometchat.reset_ingest_stats() IS 'forgets this database''s ingest counters (cometchat.ingest_stats); returns how many rows it removed';

-- Delivery lag: how long after it happened each event was stored, per app
-- and hour of arrival; a backlog shows as a growing lag.  Built on
-- event_log, so readers see their apps only.  It reads the whole ledger:
-- filter on hour to read less of the result, not of the ledger.
CREATE VIEW cometchat.delivery_lag WITH (security_barrier = true) AS
SELECT l.app_id,
       date_trunc('hour', l.received_at) AS hour,
       count(*) AS events,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.received_at - l.occurred_at) AS median_lag,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY l.received_at - l.occurred_at) AS p95_lag,
       max(l.received_at - l.occurred_at) AS max_lag
FROM cometchat.event_log l
WHERE l.occurred_at IS NOT NULL
GROUP BY l.app_id, date_trunc('hour', l.received_at);
COMMENT ON VIEW cometchat.delivery_lag IS 'Per app and hour of arrival: how many events were stored and how long after they happened (received_at - occurred_at); reads the whole ledger';
COMMENT ON COLUMN cometchat.delivery_lag.app_id IS 'the app';
COMMENT ON COLUMN cometchat.delivery_lag.hour IS 'the hour the events were stored in (received_at, truncated in the session''s time zone)';
COMMENT ON COLUMN cometchat.delivery_lag.events IS 'events stored in that hour (unknown kinds, which have no event time, left out)';
COMMENT ON COLUMN cometchat.delivery_lag.median_lag IS 'median of received_at - occurred_at';
COMMENT ON COLUMN cometchat.delivery_lag.p95_lag IS '95th percentile of received_at - occurred_at';
COMMENT ON COLUMN cometchat.delivery_lag.max_lag IS 'largest received_at - occurred_at';

REVOKE ALL ON FUNCTION cometchat._ingest_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.reset_ingest_stats() FROM PUBLIC;

-- verify() at any size (1.5)
--
-- verify() compares the maintained lifecycle tables with the recomputation
-- as relations (a temporary table of the maintained rows, a grouping that
-- spills to disk) instead of one jsonb value, which failed past 256 MB of
-- lifecycle rows.  verify(since) compares what began at or after since,
-- which rebuild(since) recomputes.  verify_in_steps() recomputes into
-- temporary copies of the tables, a transaction per step.
------------------------------------------------------------------------
DROP FUNCTION cometchat._lifecycle_rows();
-- The lifecycle tables as rows of jsonb, for comparison; tables: their
-- schema, prefix: that of their names (verify_in_steps()'s copies).
CREATE FUNCTION cometchat._lifecycle_rows(tables regnamespace DEFAULT 'cometchat',
                                          prefix text DEFAULT '')
    RETURNS TABLE (table_name text, row_data jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT 'sessions', to_jsonb(s) FROM %1$s.%2$I s
        UNION ALL SELECT 'calls', to_jsonb(c) FROM %1$s.%3$I c
        UNION ALL SELECT 'call_outcomes', to_jsonb(o) FROM %1$s.%4$I o
        UNION ALL SELECT 'participants', to_jsonb(p) FROM %1$s.%5$I p
        UNION ALL SELECT 'recordings', to_jsonb(r) FROM %1$s.%6$I r$q$,
        tables, prefix || 'sessions', prefix || 'calls', prefix || 'call_outcomes',
        prefix || 'participants', prefix || 'recordings');
END
$$;
COMMENT ON FUNCTION cometchat._lifecycle_rows(regnamespace, text) IS 'internal: every lifecycle row as jsonb, for cometchat.verify()';

-- The differences between the maintained rows (a table of _lifecycle_rows())
-- and the lifecycle tables of the schema recomputed, as verify() returns
-- them.  Each row is counted +1 when maintained, -1 when recomputed: a sum
-- above zero is a row that many times unexpected, below zero that many
-- times missing (EXCEPT ALL both ways); the grouping and the sort spill to
-- disk past work_mem, so memory does not grow with the ledger.
CREATE FUNCTION cometchat._differences(maintained regclass, recomputed regnamespace)
    RETURNS TABLE (table_name text, difference text, row_data jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT d.table_name, CASE WHEN d.n > 0 THEN 'unexpected' ELSE 'missing' END, d.row_data
        FROM (SELECT s.table_name, s.row_data, sum(s.n) AS n
              FROM (SELECT m.table_name, m.row_data, 1 AS n FROM %1$s m
                    UNION ALL
                    SELECT l.table_name, l.row_data, -1 FROM cometchat._lifecycle_rows($1) l) s
              GROUP BY s.table_name, s.row_data
              HAVING sum(s.n) <> 0) d,
             generate_series(1, abs(d.n)) g
        ORDER BY 1, 2, 3$q$, maintained) USING recomputed;
END
$$;
COMMENT ON FUNCTION cometchat._differences(regclass, regnamespace) IS 'internal: the differences between maintained lifecycle rows and those recomputed into a schema, for cometchat.verify() and cometchat.verify_in_steps()';

CREATE FUNCTION cometchat.verify(since timestamptz)
    RETURNS TABLE (table_name text, difference text, row_data jsonb)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    snapshot text;
    n int := 0;
BEGIN
    LOCK TABLE cometchat.events IN SHARE MODE;
    -- The maintained rows are copied to a temporary table (the recomputation
    -- empties the tables themselves), named as no temporary table of the
    -- session is: a caller's keeps its name and rows, and a second call in
    -- the same transaction takes the name again after this one dropped it.
    LOOP
        snapshot := 'cometchat_verify_' || n;
        EXIT WHEN pg_catalog.to_regclass('pg_temp.' || snapshot) IS NULL;
        n := n + 1;
    END LOOP;
    EXECUTE pg_catalog.format(
        'CREATE TEMPORARY TABLE pg_temp.%I ON COMMIT DROP AS
         SELECT l.table_name, l.row_data FROM cometchat._lifecycle_rows() l', snapshot);
    -- Recompute inside a subtransaction and roll it back: the maintained
    -- tables are left exactly as they were.  The rows returned stay (a
    -- function's result is no part of the subtransaction).
    BEGIN
        PERFORM cometchat.rebuild(since);
        RETURN QUERY
            SELECT d.table_name, d.difference, d.row_data
            FROM cometchat._differences(pg_catalog.format('pg_temp.%I', snapshot)::pg_catalog.regclass,
                                        'cometchat') d;
        RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'cometchat.verify rollback';
    EXCEPTION WHEN assert_failure THEN
        NULL;
    END;
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', snapshot);
END
$$;
COMMENT ON FUNCTION cometchat.verify(timestamptz) IS 'differences between the maintained lifecycle rows of what began at or after since (NULL: everything) and their recomputation from the ledger; no rows when consistent';

CREATE OR REPLACE FUNCTION cometchat.verify()
    RETURNS TABLE (table_name text, difference text, row_data jsonb)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT v.table_name, v.difference, v.row_data FROM cometchat.verify(NULL::timestamptz) v $$;
COMMENT ON FUNCTION cometchat.verify() IS 'differences between the maintained lifecycle tables and a recomputation from the ledger; no rows when consistent';

-- verify() in a transaction per step_events events, beside live ingest and
-- in memory bounded by a step.  It recomputes into copies of the lifecycle
-- tables in the session's temporary schema, which the store finds by their
-- names, since ingest goes on writing the tables themselves.  A procedure
-- with transaction control takes no SET clause: every name is qualified
-- instead.  Step 0 holds the ledger in SHARE mode, as verify() does
-- throughout, for as short a time as it can: it copies the maintained rows
-- as they are (cometchat_verify_m_*, turned into jsonb only at the end),
-- makes the empty copies to recompute into (after a retirement, with the
-- rows a recomputation keeps: _forget_since), and notes the ledger's last
-- id.  The steps replay the events up to it into the copies; the last
-- compares them with the maintained rows of step 0 and leaves the
-- differences in the temporary table cometchat_verify_differences.
-- Temporary tables of these names left by an interrupted run are its own
-- (their comment tells) and taken again; any other is an error.
CREATE PROCEDURE cometchat.verify_in_steps(step_events integer DEFAULT 1000000,
                                           INOUT differences bigint DEFAULT NULL,
                                           INOUT steps integer DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    -- 1 to 5: the copies recomputed into; 6 to 10: the maintained rows.
    made CONSTANT pg_catalog.text[] := ARRAY[
        'sessions', 'calls', 'call_outcomes', 'participants', 'recordings',
        'cometchat_verify_m_sessions', 'cometchat_verify_m_calls', 'cometchat_verify_m_call_outcomes',
        'cometchat_verify_m_participants', 'cometchat_verify_m_recordings',
        'cometchat_verify_maintained', 'cometchat_verify_differences'];
    mark CONSTANT pg_catalog.text := 'made by cometchat.verify_in_steps()';
    temp_schema pg_catalog.regnamespace;
    horizon pg_catalog.timestamptz;
    done bigint := 0;
    last_id bigint;
    upto bigint;
    t pg_catalog.text;
BEGIN
    -- (An invalid step_events raises before anything is done.)
    PERFORM cometchat._step_end(0, 0, step_events);
    FOREACH t IN ARRAY made LOOP
        IF pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', t)) IS NOT NULL THEN
            IF NOT coalesce(pg_catalog.obj_description(pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', t)),
                                                       'pg_class') OPERATOR(pg_catalog.=) mark, false) THEN
                RAISE EXCEPTION 'temporary table "%" already exists', t
                    USING ERRCODE = 'duplicate_table',
                          DETAIL = 'cometchat.verify_in_steps() recomputes into temporary tables named as the lifecycle tables.',
                          HINT = 'Drop the temporary table, or run it in another session.';
            END IF;
            EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', t);
        END IF;
    END LOOP;

    LOCK TABLE cometchat.events IN SHARE MODE;
    horizon := cometchat.retired_before();
    FOREACH t IN ARRAY made[1:5] LOOP
        EXECUTE pg_catalog.format('CREATE TEMPORARY TABLE pg_temp.%I AS TABLE cometchat.%I',
                                  pg_catalog.format('cometchat_verify_m_%s', t), t);
        EXECUTE pg_catalog.format('CREATE TEMPORARY TABLE pg_temp.%1$I (LIKE cometchat.%1$I INCLUDING ALL)', t);
        -- After a retirement, what a recomputation keeps: all, then less.
        IF horizon IS NOT NULL THEN
            EXECUTE (SELECT pg_catalog.format('INSERT INTO pg_temp.%1$I (%2$s) SELECT %2$s FROM cometchat.%1$I',
                                              t, pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', '
                                                                       ORDER BY a.attnum))
                     FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('cometchat.%I', t)::pg_catalog.regclass
                       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                       AND a.attgenerated OPERATOR(pg_catalog.=) '');
        END IF;
    END LOOP;
    FOREACH t IN ARRAY made[1:10] LOOP
        EXECUTE pg_catalog.format('COMMENT ON TABLE pg_temp.%I IS %L', t, mark);
    END LOOP;
    -- (The session has a temporary schema once it has made a temporary table.)
    temp_schema := pg_catalog.pg_my_temp_schema();
    IF horizon IS NOT NULL THEN
        PERFORM cometchat._forget_since(horizon, temp_schema);
    END IF;
    last_id := (SELECT pg_catalog.max(e.id) FROM cometchat.events e);
    steps := 0;
    COMMIT;

    LOOP
        upto := cometchat._step_end(done, last_id, step_events);
        EXIT WHEN upto IS NULL;
        PERFORM cometchat._replay(after_id => done, upto_id => upto, tables => temp_schema);
        done := upto;
        steps := steps OPERATOR(pg_catalog.+) 1;
        COMMIT;
    END LOOP;

    -- A retirement meanwhile took events the copies lack.
    IF pg_catalog.num_nulls(cometchat.retired_before(), horizon) OPERATOR(pg_catalog.=) 1
       OR cometchat.retired_before() OPERATOR(pg_catalog.<>) horizon THEN
        RAISE EXCEPTION 'partitions of the ledger were retired while cometchat.verify_in_steps() ran'
            USING ERRCODE = 'object_in_use',
                  HINT = 'Run it again.';
    END IF;
    EXECUTE 'CREATE TEMPORARY TABLE pg_temp.cometchat_verify_maintained AS
             SELECT l.table_name, l.row_data FROM cometchat._lifecycle_rows($1, ''cometchat_verify_m_'') l'
        USING temp_schema;
    EXECUTE 'CREATE TEMPORARY TABLE pg_temp.cometchat_verify_differences AS
             SELECT d.table_name, d.difference, d.row_data
             FROM cometchat._differences(''pg_temp.cometchat_verify_maintained'', $1) d'
        USING temp_schema;
    EXECUTE pg_catalog.format('COMMENT ON TABLE pg_temp.cometchat_verify_differences IS %L', mark);
    EXECUTE 'SELECT pg_catalog.count(*) FROM pg_temp.cometchat_verify_differences' INTO differences;
    FOREACH t IN ARRAY made[1:11] LOOP
        EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', t);
    END LOOP;
    COMMIT;
END
$$;
COMMENT ON PROCEDURE cometchat.verify_in_steps(integer, bigint, integer) IS 'verify() in one transaction per step_events events, beside live ingest and in memory bounded by a step; leaves the differences in the temporary table cometchat_verify_differences and returns how many and the steps taken';
REVOKE ALL ON FUNCTION cometchat.verify(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.verify() FROM PUBLIC;
REVOKE ALL ON PROCEDURE cometchat.verify_in_steps(integer, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._lifecycle_rows(regnamespace, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._differences(regclass, regnamespace) FROM PUBLIC;

-- Bulk loads claim their ids instead of holding 1,024 lock buckets
------------------------------------------------------------------------
-- Writers in progress take the buckets, later ones the id locks and claims
-- (lifecycle_locks.c): wait for those in progress, and hold new ones off
-- until this commits, so that the two schemes never run side by side.
LOCK TABLE cometchat.events IN SHARE MODE;

-- The ids a bulk load writes, each claimed by a row of its transaction
-- while it is in progress (lifecycle_locks.c): it stands for the id's
-- advisory lock, which a lock per id of a bulk load would overflow the
-- shared lock table with.  Deleted before commit, so it only ever holds rows
-- of transactions in progress; unlogged, since no claim outlives a crash.
CREATE UNLOGGED TABLE cometchat.lifecycle_claims (
    key bigint NOT NULL
);
CREATE INDEX lifecycle_claims_key ON cometchat.lifecycle_claims (key);
COMMENT ON TABLE cometchat.lifecycle_claims IS 'Internal: the lifecycle ids a bulk load in progress writes, one uncommitted row each (see README, Backfills); empty when none runs';
COMMENT ON COLUMN cometchat.lifecycle_claims.key IS 'a 64-bit hash of the app and the session id or conversation';

------------------------------------------------------------------------
-- Stale lifecycles (issue 15, section 4): last_event_at on sessions and
-- calls, the setting cometchat.stale_after, and a stale flag with an
-- estimated end in call_lifecycle and the new session_lifecycle.
------------------------------------------------------------------------

ALTER TABLE cometchat.sessions ADD COLUMN last_event_at timestamptz;
ALTER TABLE cometchat.calls ADD COLUMN last_event_at timestamptz;
COMMENT ON COLUMN cometchat.sessions.last_event_at IS 'the latest time the instance knows of: GREATEST of started_at, ended_at, its participants'' joined_at and left_at and its recordings'' started_at; cometchat.session_lifecycle calls the instance stale when it is active and this is older than cometchat.stale_after';
COMMENT ON COLUMN cometchat.calls.last_event_at IS 'the latest time (occurred_at) of its events: its call_initiated messages and its session''s call_* events; outcome events (busy, cancelled, rejected, unanswered) do not move it; cometchat.call_lifecycle calls the call stale when it is initiated or ongoing and this is older than cometchat.stale_after';

-- Filled as the lifecycle code keeps them.  An instance: the latest time of
-- its own row and of the rows that belong to it.
UPDATE cometchat.sessions s
   SET last_event_at = GREATEST(s.started_at, s.ended_at,
       (SELECT max(GREATEST(p.joined_at, p.left_at)) FROM cometchat.participants p
         WHERE p.app_id = s.app_id AND p.session_id = s.session_id
           AND p.session_started_at = s.started_at),
       (SELECT max(r.started_at) FROM cometchat.recordings r
         WHERE r.app_id = s.app_id AND r.session_id = s.session_id
           AND r.session_started_at = s.started_at));
-- A call: the latest occurred_at of its events in the ledger, its
-- call_initiated messages and its session's call_* events (outcome events
-- carry no session id and are left out).
UPDATE cometchat.calls c
   SET last_event_at = (SELECT max(e.occurred_at) FROM cometchat.events e
                         WHERE e.session_id = c.session_id AND e.app_id = c.app_id
                           AND e.kind IN ('call_initiated', 'call_started',
                                          'call_participant_joined',
                                          'call_participant_left', 'call_ended'))
 WHERE c.session_id IS NOT NULL;
UPDATE cometchat.calls c
   SET last_event_at = (SELECT max(e.occurred_at) FROM cometchat.events e
                         WHERE e.call_id = c.call_id AND e.app_id = c.app_id
                           AND e.kind = 'call_initiated' AND e.session_id IS NULL)
 WHERE c.session_id IS NULL;

-- The setting as an interval.  A C function: calling it loads the library,
-- which defines the setting, so a session that never loaded it reads the
-- default (or its own SET, checked then), never a placeholder string.
CREATE FUNCTION cometchat.stale_after() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'cc_stale_after';
COMMENT ON FUNCTION cometchat.stale_after() IS 'cometchat.stale_after as an interval: how long an open call or session instance may go without an event before the lifecycle views call it stale';

-- call_lifecycle gains last_event_at, stale and estimated_end, at its end.
CREATE OR REPLACE VIEW cometchat.call_lifecycle WITH (security_invoker = true) AS
SELECT c.app_id, c.session_id, c.call_id, c.conversation_id, c.caller, c.receiver,
       c.receiver_type, c.media, c.status, c.initiated_at, c.started_at, c.ended_at,
       c.outcome, c.outcome_at, c.duration, c.participant_count,
       s.peak_participants,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'name', p.name, 'joined_at', p.joined_at, 'left_at', p.left_at,
                        'audio_only', p.audio_only, 'platform', p.platform)
                    ORDER BY p.joined_at, p.name)
                 FROM cometchat.participants p
                 WHERE p.app_id = c.app_id AND p.session_id = c.session_id), '[]') AS participants,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'started_at', r.started_at, 'duration', r.duration,
                        'recording_url', r.recording_url)
                    ORDER BY r.started_at)
                 FROM cometchat.recordings r
                 WHERE r.app_id = c.app_id AND r.session_id = c.session_id), '[]') AS recordings,
       c.status IN ('ongoing', 'ended') AS answered,
       c.status IN ('busy', 'cancelled', 'unanswered') AS missed,
       c.last_event_at, x.stale,
       CASE WHEN c.ended_at IS NOT NULL THEN c.ended_at
            WHEN x.stale THEN c.last_event_at END AS estimated_end
FROM cometchat.calls c
LEFT JOIN LATERAL (SELECT s.peak_participants FROM cometchat.sessions s
                   WHERE s.app_id = c.app_id AND s.session_id = c.session_id
                   ORDER BY s.started_at LIMIT 1) s ON true
-- 1.5: open (initiated or ongoing) and silent for longer than the setting,
-- at the time of the statement: derived here, so the tables stay a function
-- of the ledger.
CROSS JOIN LATERAL (SELECT coalesce(c.status IN ('initiated', 'ongoing')
                                    AND c.last_event_at < statement_timestamp() - cometchat.stale_after(),
                                    false) AS stale) x;
COMMENT ON COLUMN cometchat.call_lifecycle.last_event_at IS 'as cometchat.calls.last_event_at';
COMMENT ON COLUMN cometchat.call_lifecycle.stale IS 'initiated or ongoing, and no event for longer than cometchat.stale_after (as of the statement''s start): its end (or outcome) was most likely lost';
COMMENT ON COLUMN cometchat.call_lifecycle.estimated_end IS 'ended_at when it ended; last_event_at when stale; NULL otherwise';

CREATE VIEW cometchat.session_lifecycle WITH (security_invoker = true) AS
SELECT s.app_id, s.session_id, s.started_at, s.mode, s.status, s.ended_at, s.duration,
       s.participant_count, s.peak_participants, s.recording_count, s.last_event_at,
       x.stale,
       CASE WHEN s.ended_at IS NOT NULL THEN s.ended_at
            WHEN x.stale THEN s.last_event_at END AS estimated_end
FROM cometchat.sessions s
CROSS JOIN LATERAL (SELECT coalesce(s.ended_at IS NULL
                                    AND s.last_event_at < statement_timestamp() - cometchat.stale_after(),
                                    false) AS stale) x;
COMMENT ON VIEW cometchat.session_lifecycle IS 'One row per session instance (cometchat.sessions), with whether it is stale (active, and silent for longer than cometchat.stale_after) and its estimated end; reads the tables with the querying role''s rights';
COMMENT ON COLUMN cometchat.session_lifecycle.app_id IS 'as cometchat.sessions.app_id';
COMMENT ON COLUMN cometchat.session_lifecycle.session_id IS 'as cometchat.sessions.session_id';
COMMENT ON COLUMN cometchat.session_lifecycle.started_at IS 'as cometchat.sessions.started_at';
COMMENT ON COLUMN cometchat.session_lifecycle.mode IS 'as cometchat.sessions.mode';
COMMENT ON COLUMN cometchat.session_lifecycle.status IS 'as cometchat.sessions.status';
COMMENT ON COLUMN cometchat.session_lifecycle.ended_at IS 'as cometchat.sessions.ended_at';
COMMENT ON COLUMN cometchat.session_lifecycle.duration IS 'as cometchat.sessions.duration';
COMMENT ON COLUMN cometchat.session_lifecycle.participant_count IS 'as cometchat.sessions.participant_count';
COMMENT ON COLUMN cometchat.session_lifecycle.peak_participants IS 'as cometchat.sessions.peak_participants';
COMMENT ON COLUMN cometchat.session_lifecycle.recording_count IS 'as cometchat.sessions.recording_count';
COMMENT ON COLUMN cometchat.session_lifecycle.last_event_at IS 'as cometchat.sessions.last_event_at';
COMMENT ON COLUMN cometchat.session_lifecycle.stale IS 'active, and no event for longer than cometchat.stale_after (as of the statement''s start): its end event was most likely lost';
COMMENT ON COLUMN cometchat.session_lifecycle.estimated_end IS 'ended_at when it ended; last_event_at when stale; NULL otherwise';

-- A reader reads session_lifecycle, ingest_stats and delivery_lag too.
CREATE OR REPLACE FUNCTION cometchat._privileges(uses text[])
    RETURNS TABLE (privilege text, object text)
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.privilege, p.object
    FROM (VALUES
        (1, 'receiver', 'USAGE', 'SCHEMA cometchat'),
        (2, 'receiver', 'INSERT (payload)', 'TABLE cometchat.events'),
        (3, 'receiver', 'EXECUTE', 'FUNCTION cometchat.ingest(jsonb)'),
        (4, 'receiver', 'EXECUTE', 'FUNCTION cometchat.ingest_raw(text)'),
        (5, 'receiver', 'EXECUTE', 'FUNCTION cometchat.ingest_bodies(regclass, name)'),
        (6, 'reader', 'USAGE', 'SCHEMA cometchat'),
        (7, 'reader', 'SELECT', 'TABLE cometchat.calls'),
        (8, 'reader', 'SELECT', 'TABLE cometchat.call_outcomes'),
        (9, 'reader', 'SELECT', 'TABLE cometchat.sessions'),
        (10, 'reader', 'SELECT', 'TABLE cometchat.participants'),
        (11, 'reader', 'SELECT', 'TABLE cometchat.recordings'),
        (12, 'reader', 'SELECT', 'TABLE cometchat.call_lifecycle'),
        (13, 'reader', 'SELECT', 'TABLE cometchat.event_log'),
        (14, 'payloads', 'SELECT', 'TABLE cometchat.events'),
        (15, 'payloads', 'SELECT', 'TABLE cometchat.rejected'),
        (16, 'reader', 'SELECT', 'TABLE cometchat.ingest_stats'),
        (17, 'reader', 'EXECUTE', 'FUNCTION cometchat._ingest_stats()'),
        (18, 'reader', 'SELECT', 'TABLE cometchat.delivery_lag'),
        (19, 'reader', 'SELECT', 'TABLE cometchat.session_lifecycle')
    ) AS p(n, use, privilege, object)
    WHERE p.use = ANY ($1)
    GROUP BY p.privilege, p.object
    ORDER BY min(p.n)
$$;

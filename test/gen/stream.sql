-- test/gen/stream.sql: a deterministic generator of CometChat calling webhook
-- traffic, for property tests and benchmarks of cometchat_webhooks.
--
-- Not part of the extension.  Load it into a database that has the extension
-- (or not: it only needs PostgreSQL 15):
--
--     psql -f test/gen/stream.sql            (or  \ir ../gen/stream.sql)
--
-- It (re)creates the schema cc_gen.  Entry points, all pure functions of their
-- arguments (the same arguments give the same rows, in any session):
--
--   cc_gen.stream(seed, n_calls, n_meetings, dup_rate = 0.1, reorder_window = 5, n_apps = 3)
--       -> (seq bigint, payload jsonb), in delivery order (ORDER BY seq)
--   cc_gen.expected_calls(same args)     -> one row per cometchat.calls row
--   cc_gen.expected_sessions(same args)  -> one row per cometchat.sessions row
--   cc_gen.expected_meetings(same args)  -> the mode 'meet' rows of it
--   cc_gen.expected_outcomes(same args)  -> one row per cometchat.call_outcomes row
--
-- Every random choice is a hash of (seed, purpose, item number)
-- (hashint8extended), never setseed()/random(): a row's content does not
-- depend on the order rows are computed in, and the whole generator is set
-- based (generate_series, window functions), about 300k payloads in a few
-- seconds.
--
-- The traffic, per the payload reference (shared/reference/
-- cometchat-calling-webhooks.md):
--   * n_apps apps (14-hex appId, region us/eu/in); app_no % 3 = 1 apps have two
--     webhooks, and every event of theirs is delivered once per webhook
--     (fan-out: same payload but the "webhook" value).
--   * ringing calls, 1-on-1 (conversationId "<uidA>_user_<uidB>", uids in
--     lexical order) and group (receiverType "group", conversationId
--     "group_<guid>").  Calls come in threads: 1..n calls in one conversation,
--     61..900 s apart (after the previous call is over), so the next call is
--     sometimes inside and sometimes outside the 300 s outcome window of the
--     previous one; an outcome always comes within 60 s of its own call.
--     Outcomes: answered -> call_started, joins, leaves, call_ended (2
--     participants 1-on-1, 2..6 in a group); answered and still ongoing (no
--     call_ended; only as the last call of its thread); busy and rejected
--     (1-on-1 only, sent by the callee: sender/receiver swapped); cancelled;
--     unanswered (45..60 s); still ringing (call_initiated only; last of its
--     thread).  About 7% of call_initiated carry no entities (the trimmed S7
--     form): such a call cannot be linked to its session.  A group
--     call_initiated also carries entities.for (the group).  Message ids
--     grow with time; the outcome of the call with id N has id N + 1.
--   * meetings (call sessions) in rooms whose session id is chosen by the app
--     ("standup-0", ...) and reused on different days, and by several apps;
--     1..10 participants, some rejoining (two join intervals, one name), some
--     meetings still running (the last use of their room only).
--   * same-second joins (two people joining in one second), lost leave events
--     (the end event's all_occupants still has them), lost joins (known from
--     their leave event, or with their leave lost too, only from
--     all_occupants), recording_generated
--     after the end of some calls and meetings (startTime and duration as
--     strings), exact duplicate deliveries (retries after 10 or 30 s) at
--     dup_rate, delivery jitter of up to 2 s, and a shuffle within each
--     window of reorder_window consecutive deliveries.
--
-- Limits: distinct 1-on-1 conversations are enumerated from 501 users per
-- app, 125250 threads (~280k calls) before conversations repeat; apps are
-- numbered 0..n_apps-1.

DO $drop$
DECLARE
    old text := current_setting('client_min_messages');
BEGIN
    IF to_regnamespace('cc_gen') IS NOT NULL THEN
        PERFORM set_config('client_min_messages', 'warning', true);
        EXECUTE 'DROP SCHEMA cc_gen CASCADE';
        PERFORM set_config('client_min_messages', old, true);
    END IF;
END
$drop$;

CREATE SCHEMA cc_gen;
COMMENT ON SCHEMA cc_gen IS 'test traffic generator for cometchat_webhooks (test/gen/stream.sql); not part of the extension';

------------------------------------------------------------------------
-- Randomness: hashes of (seed, purpose, item)
------------------------------------------------------------------------

-- Uniform in [0, 1): 53 bits of hashint8extended(item, seed and purpose).
CREATE FUNCTION cc_gen.u(seed int, purpose int, item bigint) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ((hashint8extended(item, seed::bigint * 1000003 + purpose) >> 11)
            & 9007199254740991)::float8 / 9007199254740992.0
$$;

-- Uniform integer in [lo, hi].
CREATE FUNCTION cc_gen.ri(seed int, purpose int, item bigint, lo int, hi int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT lo + floor(cc_gen.u(seed, purpose, item) * (hi - lo + 1))::int
$$;

------------------------------------------------------------------------
-- Apps and users
------------------------------------------------------------------------

CREATE FUNCTION cc_gen.apps(seed int, n_apps int)
    RETURNS TABLE (app_no int, app_id text, region text, webhooks text[])
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT a,
           substr(md5('cc_gen app ' || seed || ' ' || a), 1, 14),
           (ARRAY['us', 'eu', 'in'])[1 + a % 3],
           CASE WHEN a % 3 = 1
                THEN ARRAY['calls_webhook_' || a, 'analytics-export-' || a]
                ELSE ARRAY['calls_webhook_' || a] END
    FROM generate_series(0, n_apps - 1) a
$$;

-- User k (0..500) of an app: uid and display name (distinct for k < 1600).
CREATE FUNCTION cc_gen.uid(k int) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 'cometchat-uid-' || (k + 1)::text $$;

CREATE FUNCTION cc_gen.user_name(k int) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (ARRAY['Andrew', 'George', 'Maria', 'Priya', 'Chen', 'Fatima', 'Lucas', 'Sofia',
                  'Kenji', 'Amara', 'Noah', 'Elena', 'Omar', 'Hana', 'Mateo', 'Zoe',
                  'Ivan', 'Leila', 'Samuel', 'Yuki', 'Diego', 'Anika', 'Tom', 'Grace',
                  'Rahul', 'Nadia', 'Felix', 'Ines', 'Kwame', 'Mei', 'Oscar', 'Sara',
                  'Victor', 'Aisha', 'Hugo', 'Lena', 'Pedro', 'Ruth', 'Ali', 'Julia'])[1 + k % 40]
           || ' ' ||
           (ARRAY['Joseph', 'Alan', 'Garcia', 'Sharma', 'Wei', 'Khan', 'Silva', 'Rossi',
                  'Tanaka', 'Okafor', 'Smith', 'Petrova', 'Haddad', 'Kim', 'Lopez', 'Martin',
                  'Novak', 'Rahimi', 'Cohen', 'Sato', 'Fernandez', 'Gupta', 'Brown', 'Muller',
                  'Iyer', 'Aziz', 'Weber', 'Costa', 'Mensah', 'Lin', 'Berg', 'Levi',
                  'Dubois', 'Bello', 'Laurent', 'Fischer', 'Alves', 'Katz', 'Demir', 'Nowak'])[1 + (k / 40) % 40]
$$;

------------------------------------------------------------------------
-- The plan: ringing calls, media sessions, join intervals
------------------------------------------------------------------------

-- One row per ringing call.  kind: answered (ends), ongoing (answered, no
-- call_ended), busy, rejected, cancelled, unanswered, ringing (no outcome).
CREATE FUNCTION cc_gen._call_plan(seed int, n_calls int, n_apps int)
    RETURNS TABLE (c int, thread int, app_id text, region text, is_group boolean,
                   guid text, conversation_id text, caller_k int, callee_k int,
                   members int[], media text, linked boolean, kind text,
                   call_msg_id bigint, session_id text, t_init bigint,
                   t_outcome bigint, t_start bigint, t_end bigint, talk int,
                   n_parts int, n_rec int)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
WITH c0 AS (
    SELECT g AS c, (g = 0 OR cc_gen.u(seed, 1, g) < 0.45)::int AS new_thread
    FROM generate_series(0, n_calls - 1) g
), c1 AS (
    SELECT c, (sum(new_thread) OVER (ORDER BY c) - 1)::int AS t FROM c0
), c2 AS (
    SELECT c, t, c = max(c) OVER (PARTITION BY t) AS last_in_thread,
           floor(cc_gen.u(seed, 2, t) * n_apps)::int AS app_no,
           cc_gen.u(seed, 3, t) < 0.25 AS is_group,
           cc_gen.u(seed, 5, c) AS r
    FROM c1
), c3 AS (
    SELECT c2.*,
           CASE WHEN NOT is_group THEN
                    CASE WHEN r < 0.42 THEN 'answered' WHEN r < 0.47 THEN 'ongoing'
                         WHEN r < 0.55 THEN 'busy' WHEN r < 0.67 THEN 'rejected'
                         WHEN r < 0.81 THEN 'cancelled' WHEN r < 0.97 THEN 'unanswered'
                         ELSE 'ringing' END
                ELSE
                    CASE WHEN r < 0.52 THEN 'answered' WHEN r < 0.60 THEN 'ongoing'
                         WHEN r < 0.78 THEN 'cancelled' WHEN r < 0.97 THEN 'unanswered'
                         ELSE 'ringing' END
           END AS kind0
    FROM c2
), c4 AS (
    -- a call still in progress (ongoing, ringing) is the last of its thread
    SELECT c3.*,
           CASE WHEN kind0 = 'ongoing' AND NOT last_in_thread THEN 'answered'
                WHEN kind0 = 'ringing' AND NOT last_in_thread THEN 'unanswered'
                ELSE kind0 END AS kind
    FROM c3
), c5 AS (
    SELECT c4.*,
           -- seconds from call_initiated to the outcome, or to call_started
           CASE kind WHEN 'busy' THEN cc_gen.ri(seed, 10, c, 1, 4)
                     WHEN 'rejected' THEN cc_gen.ri(seed, 10, c, 3, 30)
                     WHEN 'cancelled' THEN cc_gen.ri(seed, 10, c, 2, 40)
                     WHEN 'unanswered' THEN cc_gen.ri(seed, 10, c, 45, 60)
                     WHEN 'ringing' THEN 60
                     ELSE cc_gen.ri(seed, 10, c, 3, 40) END AS ring,
           CASE WHEN kind IN ('answered', 'ongoing')
                THEN 30 + floor(cc_gen.u(seed, 11, c) ^ 2 * 1800)::int ELSE 0 END AS talk,
           cc_gen.ri(seed, 12, c, 61, 900) AS gap
    FROM c4
), c6 AS (
    SELECT c5.*,
           1709510400::bigint                                   -- 2024-03-04 00:00 UTC
           + floor(cc_gen.u(seed, 4, t) * 14 * 86400)::bigint
           + coalesce(sum(ring + talk + gap) OVER (PARTITION BY t ORDER BY c
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS t_init,
           t % 501 AS ka,
           ((t % 501) + 1 + (t / 501) % 250) % 501 AS kb,
           floor(cc_gen.u(seed, 7, c) * 8)::int AS ci
    FROM c5
), c7 AS (
    SELECT c6.*,
           CASE WHEN is_group THEN (ka + 7 * ci) % 501
                WHEN cc_gen.u(seed, 6, c) < 0.5 THEN ka ELSE kb END AS caller_k,
           CASE WHEN is_group THEN NULL
                WHEN cc_gen.u(seed, 6, c) < 0.5 THEN kb ELSE ka END AS callee_k,
           CASE WHEN is_group
                THEN (ARRAY['design', 'sales', 'support', 'eng', 'ops', 'marketing',
                            'family', 'friends'])[1 + t % 8] || '-team-' || t END AS guid
    FROM c6
)
SELECT c7.c, c7.t, a.app_id, a.region, c7.is_group, c7.guid,
       CASE WHEN c7.is_group THEN 'group_' || c7.guid
            ELSE least(cc_gen.uid(ka) COLLATE "C", cc_gen.uid(kb) COLLATE "C") || '_user_'
                 || greatest(cc_gen.uid(ka) COLLATE "C", cc_gen.uid(kb) COLLATE "C") END,
       c7.caller_k, c7.callee_k,
       CASE WHEN c7.is_group
            THEN ARRAY(SELECT (ka + 7 * ((ci + i) % 8)) % 501 FROM generate_series(0, 7) i)
            ELSE ARRAY[c7.caller_k, c7.callee_k] END,
       CASE WHEN cc_gen.u(seed, 8, c7.c) < 0.6 THEN 'audio' ELSE 'video' END,
       cc_gen.u(seed, 9, c7.c) >= 0.07,
       c7.kind,
       40000 + 2 * row_number() OVER (ORDER BY c7.t_init, c7.c),
       'v1.' || a.region || '.' || a.app_id || '.' || c7.t_init
           || md5('cc_gen session ' || seed || ' ' || c7.c)
           || substr(md5('cc_gen session tail ' || seed || ' ' || c7.c), 1, 8),
       c7.t_init,
       CASE WHEN c7.kind IN ('busy', 'rejected', 'cancelled', 'unanswered') THEN c7.t_init + c7.ring END,
       CASE WHEN c7.kind IN ('answered', 'ongoing') THEN c7.t_init + c7.ring END,
       CASE WHEN c7.kind = 'answered' THEN c7.t_init + c7.ring + c7.talk END,
       c7.talk,
       CASE WHEN c7.kind NOT IN ('answered', 'ongoing') THEN 0
            WHEN c7.is_group THEN cc_gen.ri(seed, 13, c7.c, 2, 6)
            ELSE 2 END,
       CASE WHEN c7.kind = 'answered' AND cc_gen.u(seed, 14, c7.c) < 0.15
            THEN 1 + (cc_gen.u(seed, 15, c7.c) < 0.2)::int ELSE 0 END
FROM c7 JOIN cc_gen.apps(seed, n_apps) a ON a.app_no = c7.app_no
$$;

-- One row per media session instance: the sessions of answered ringing calls
-- (mode call) and the meetings (mode meet).  t_end is NULL while it runs.
-- idx is the call or meeting number, kofs the offset of its hash purposes.
CREATE FUNCTION cc_gen._sessions(seed int, n_calls int, n_meetings int, n_apps int)
    RETURNS TABLE (mode text, idx int, kofs int, app_id text, region text, session_id text,
                   t_start bigint, t_end bigint, dur int, members int[], n_parts int,
                   audio boolean, partial_leave boolean, n_rec int)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
SELECT 'call', p.c, 0, p.app_id, p.region, p.session_id, p.t_start, p.t_end, p.talk,
       p.members, p.n_parts, p.media = 'audio', p.is_group, p.n_rec
FROM cc_gen._call_plan(seed, n_calls, n_apps) p
WHERE p.kind IN ('answered', 'ongoing')
UNION ALL
SELECT 'meet', m.m, 500, a.app_id, a.region,
       (ARRAY['standup', 'team-sync', 'office-hours', 'all-hands', 'design-review',
              'sales-demo', 'support-huddle', 'retro', 'planning', 'one-on-one'])
           [1 + (m.r / n_apps) % 10] || '-' || (m.r / n_apps / 10),
       m.t_start, CASE WHEN m.ongoing THEN NULL ELSE m.t_start + m.dur END, m.dur,
       ARRAY(SELECT (m.k0 + 7 * j) % 501 FROM generate_series(0, m.n_parts - 1) j),
       m.n_parts, cc_gen.u(seed, 527, m.m) < 0.2, true,
       CASE WHEN NOT m.ongoing AND cc_gen.u(seed, 528, m.m) < 0.25
            THEN 1 + (cc_gen.u(seed, 529, m.m) < 0.2)::int ELSE 0 END
FROM (
    SELECT g.m, g.m % g.n_rooms AS r,
           -- running now: only the last use of a room
           (g.m + g.n_rooms >= n_meetings AND cc_gen.u(seed, 521, g.m) < 0.06) AS ongoing,
           300 + floor(cc_gen.u(seed, 522, g.m) ^ 1.5 * 5400)::int AS dur,
           -- use u of a room is on day 2u or 2u+1, between 07:00 and 18:00 UTC
           1709510400::bigint
           + (2 * (g.m / g.n_rooms) + (cc_gen.u(seed, 523, g.m) < 0.5)::int) * 86400
           + 25200 + floor(cc_gen.u(seed, 524, g.m) * 39600)::bigint AS t_start,
           1 + floor(cc_gen.u(seed, 525, g.m) ^ 1.3 * 10)::int AS n_parts,
           floor(cc_gen.u(seed, 526, g.m) * 501)::int AS k0
    FROM (SELECT gs AS m, greatest(1, ceil(n_meetings / 3.0))::int AS n_rooms
          FROM generate_series(0, n_meetings - 1) gs) g
) m
JOIN cc_gen.apps(seed, n_apps) a ON a.app_no = m.r % n_apps
$$;

-- One row per join interval: participant j of a session, interval q (1 for a
-- rejoin).  left_at is NULL while the participant is still in.  join_sent and
-- leave_sent: whether the join and leave events are delivered at all.
CREATE FUNCTION cc_gen._intervals(seed int, n_calls int, n_meetings int, n_apps int)
    RETURNS TABLE (mode text, idx int, app_id text, region text, session_id text,
                   t_start bigint, t_end bigint, j int, q int, name text,
                   joined_at bigint, left_at bigint, join_sent boolean, leave_sent boolean,
                   audio boolean, sdk text, platform text, sdk_version text)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
WITH i0 AS (
    SELECT s.*, j, s.idx::bigint * 16 + j AS h,
           CASE WHEN j = 0 THEN 0
                WHEN cc_gen.u(seed, s.kofs + 30, s.idx::bigint * 16 + j) < 0.2 THEN 0
                ELSE 1 + floor(cc_gen.u(seed, s.kofs + 31, s.idx::bigint * 16 + j)
                               * CASE s.mode WHEN 'call' THEN 25 ELSE least(900, s.dur / 2) END)::int
           END AS off_raw
    FROM cc_gen._sessions(seed, n_calls, n_meetings, n_apps) s,
         generate_series(0, s.n_parts - 1) j
), i1 AS (
    -- sometimes the same second as the previous participant: same-second joins
    SELECT i0.*,
           t_start + CASE WHEN j >= 2 AND cc_gen.u(seed, kofs + 32, h) < 0.15
                          THEN lag(off_raw) OVER (PARTITION BY mode, idx ORDER BY j)
                          ELSE off_raw END AS joined_at
    FROM i0
), i2 AS (
    SELECT i1.*,
           CASE WHEN t_end IS NOT NULL THEN
                    CASE WHEN j = idx % n_parts THEN t_end          -- the last to leave
                         ELSE greatest(joined_at + 1, least(t_end,
                                CASE mode WHEN 'call'
                                     THEN t_end - floor(cc_gen.u(seed, kofs + 33, h) * 30)::bigint
                                     ELSE joined_at + 30 + floor(cc_gen.u(seed, kofs + 33, h) * dur)::bigint
                                END)) END
                WHEN partial_leave AND j >= 1 AND cc_gen.u(seed, kofs + 34, h) < 0.3
                    THEN joined_at + 10 + floor(cc_gen.u(seed, kofs + 35, h) * dur / 2)::bigint
           END AS left_at
    FROM i1
), iv AS (
    SELECT mode, idx, kofs, app_id, region, session_id, t_start, t_end, audio, h, j, members,
           0 AS q, joined_at, left_at
    FROM i2
    UNION ALL
    -- a rejoin: the same name, a second interval, in an ended meeting
    SELECT mode, idx, kofs, app_id, region, session_id, t_start, t_end, audio, h, j, members,
           1, j2, least(t_end, j2 + 30 + floor(cc_gen.u(seed, kofs + 38, h) * dur)::bigint)
    FROM (SELECT i2.*, left_at + 5 + floor(cc_gen.u(seed, kofs + 37, h)
                                           * least(300, (t_end - left_at) / 2))::bigint AS j2
          FROM i2
          WHERE mode = 'meet' AND t_end IS NOT NULL AND left_at <= t_end - 20
            AND cc_gen.u(seed, kofs + 36, h) < 0.08) x
)
SELECT mode, idx, app_id, region, session_id, t_start, t_end, j, q,
       cc_gen.user_name(members[j + 1]), joined_at, left_at,
       -- lost deliveries, in ended sessions only: 4% of joins (half of
       -- them with their leave: known only from all_occupants), 5% of leaves
       NOT (t_end IS NOT NULL AND cc_gen.u(seed, kofs + 39, h * 2 + q) < 0.04),
       left_at IS NOT NULL
       AND NOT (t_end IS NOT NULL AND cc_gen.u(seed, kofs + 40, h * 2 + q) < 0.05)
       AND NOT (t_end IS NOT NULL AND cc_gen.u(seed, kofs + 39, h * 2 + q) < 0.02),
       audio,
       (ARRAY['react', 'javascript', 'android', 'ios', 'flutter', 'react-native'])[1 + floor(cc_gen.u(seed, kofs + 41, h) * 6)::int],
       (ARRAY['web', 'web', 'android', 'ios', 'android', 'ios'])[1 + floor(cc_gen.u(seed, kofs + 41, h) * 6)::int],
       (ARRAY['2.3.0', '4.0.3', '4.1.0'])[1 + floor(cc_gen.u(seed, kofs + 42, h) * 3)::int]
FROM iv
$$;

------------------------------------------------------------------------
-- The stream
------------------------------------------------------------------------

CREATE FUNCTION cc_gen.stream(seed int, n_calls int, n_meetings int,
                              dup_rate float8 DEFAULT 0.1, reorder_window int DEFAULT 5,
                              n_apps int DEFAULT 3)
    RETURNS TABLE (seq bigint, payload jsonb)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
WITH cp AS MATERIALIZED (
    SELECT * FROM cc_gen._call_plan(seed, n_calls, n_apps)
), s AS MATERIALIZED (
    SELECT * FROM cc_gen._sessions(seed, n_calls, n_meetings, n_apps)
), iv AS MATERIALIZED (
    SELECT * FROM cc_gen._intervals(seed, n_calls, n_meetings, n_apps)
), wh AS MATERIALIZED (
    -- fan-out: every event is delivered once per webhook of its app
    SELECT a.app_id, w.webhook, w.wh
    FROM cc_gen.apps(seed, n_apps) a
    CROSS JOIN LATERAL unnest(a.webhooks) WITH ORDINALITY w(webhook, wh)
), ev AS (
    -- Every event, once per webhook (wh) of its app: ev_no (unique per
    -- event), wh, event time t, tie (the natural order within one second),
    -- body.  ev_no = family * 2^40 + idx * 256 + sub; family 0 ringing
    -- messages, 1 call sessions, 2 meetings.
    SELECT cp.c::bigint * 256 AS ev_no, w.wh, cp.t_init AS t, 0 AS tie,
           jsonb_build_object(
               'trigger', 'call_initiated',
               'data', jsonb_build_object('call', jsonb_build_object(
                   'id', cp.call_msg_id::text,
                   'conversationId', cp.conversation_id,
                   'sender', cc_gen.uid(cp.caller_k),
                   'receiverType', CASE WHEN cp.is_group THEN 'group' ELSE 'user' END,
                   'receiver', CASE WHEN cp.is_group THEN cp.guid ELSE cc_gen.uid(cp.callee_k) END,
                   'category', 'call',
                   'type', cp.media,
                   'data', CASE WHEN cp.linked THEN jsonb_build_object(
                               'action', 'initiated',
                               'entities', jsonb_build_object(
                                   'by', jsonb_build_object(
                                       'entity', jsonb_build_object(
                                           'uid', cc_gen.uid(cp.caller_k),
                                           'name', cc_gen.user_name(cp.caller_k),
                                           'status', 'available',
                                           'role', 'default',
                                           'lastActiveAt', cp.t_init - cc_gen.ri(seed, 16, cp.c, 0, 3600)),
                                       'entityType', 'user'),
                                   'on', jsonb_build_object(
                                       'entity', jsonb_build_object(
                                           'sessionid', cp.session_id,
                                           'status', 'initiated',
                                           'type', cp.media,
                                           'initiatedAt', cp.t_init),
                                       'entityType', 'call'))
                               || CASE WHEN cp.is_group THEN jsonb_build_object(
                                      'for', jsonb_build_object(
                                          'entity', jsonb_build_object(
                                              'guid', cp.guid,
                                              'name', initcap(replace(cp.guid, '-', ' ')),
                                              'type', 'public',
                                              'membersCount', 8),
                                          'entityType', 'group'))
                                  ELSE '{}'::jsonb END)
                           ELSE jsonb_build_object('action', 'initiated') END,
                   'sentAt', cp.t_init,
                   'updatedAt', cp.t_init)),
               'appId', cp.app_id,
               'region', cp.region,
               'webhook', w.webhook) AS body
    FROM cp JOIN wh w ON w.app_id = cp.app_id
    UNION ALL
    -- busy and rejected are sent by the callee, cancelled and unanswered by the caller
    SELECT cp.c::bigint * 256 + 1, w.wh, cp.t_outcome, 1,
           jsonb_build_object(
               'trigger', 'call_' || cp.kind,
               'data', jsonb_build_object('call', jsonb_build_object(
                   'id', (cp.call_msg_id + 1)::text,
                   'conversationId', cp.conversation_id,
                   'sender', CASE WHEN cp.kind IN ('busy', 'rejected') THEN cc_gen.uid(cp.callee_k)
                                  ELSE cc_gen.uid(cp.caller_k) END,
                   'receiverType', CASE WHEN cp.is_group THEN 'group' ELSE 'user' END,
                   'receiver', CASE WHEN cp.is_group THEN cp.guid
                                    WHEN cp.kind IN ('busy', 'rejected') THEN cc_gen.uid(cp.caller_k)
                                    ELSE cc_gen.uid(cp.callee_k) END,
                   'category', 'call',
                   'type', cp.media,
                   'data', jsonb_build_object('action', cp.kind),
                   'sentAt', cp.t_outcome,
                   'updatedAt', cp.t_outcome)),
               'appId', cp.app_id,
               'region', cp.region,
               'webhook', w.webhook)
    FROM cp JOIN wh w ON w.app_id = cp.app_id
    WHERE cp.kind IN ('busy', 'rejected', 'cancelled', 'unanswered')
    UNION ALL
    SELECT (CASE s.mode WHEN 'call' THEN 1::bigint ELSE 2 END) * 1099511627776 + s.idx::bigint * 256 + 2,
           w.wh, s.t_start, 2,
           jsonb_build_object(
               'trigger', CASE s.mode WHEN 'call' THEN 'call_started' ELSE 'meeting_started' END,
               'data', jsonb_build_object('created_at', s.t_start, 'sessionId', s.session_id),
               'type', s.mode,
               'appId', s.app_id,
               'region', s.region,
               'webhook', w.webhook)
    FROM s JOIN wh w ON w.app_id = s.app_id
    UNION ALL
    SELECT (CASE iv.mode WHEN 'call' THEN 1::bigint ELSE 2 END) * 1099511627776 + iv.idx::bigint * 256 + (16 + (iv.j * 2 + iv.q) * 2),
           w.wh, iv.joined_at, 3,
           jsonb_build_object(
               'trigger', CASE iv.mode WHEN 'call' THEN 'call_participant_joined'
                                       ELSE 'meeting_participant_joined' END,
               'data', jsonb_build_object(
                   'occupant', jsonb_build_object(
                       'joined_at', iv.joined_at,
                       'audio_call', iv.audio::text,
                       'name', iv.name),
                   'initial_config', jsonb_build_object(
                       'is_video_muted', (iv.audio OR iv.j % 5 = 3)::text,
                       'start_recording_on_call_start', 'false',
                       'call_version', iv.sdk_version,
                       'is_audio_muted', (iv.j % 7 = 4)::text,
                       'sdk', iv.sdk,
                       'mode', 'DEFAULT',
                       'platform', iv.platform,
                       'is_audio_only', iv.audio::text),
                   'sessionId', iv.session_id),
               'type', iv.mode,
               'appId', iv.app_id,
               'region', iv.region,
               'webhook', w.webhook)
    FROM iv JOIN wh w ON w.app_id = iv.app_id
    WHERE iv.join_sent
    UNION ALL
    SELECT (CASE iv.mode WHEN 'call' THEN 1::bigint ELSE 2 END) * 1099511627776 + iv.idx::bigint * 256 + (17 + (iv.j * 2 + iv.q) * 2),
           w.wh, iv.left_at, 4,
           jsonb_build_object(
               'trigger', CASE iv.mode WHEN 'call' THEN 'call_participant_left'
                                       ELSE 'meeting_participant_left' END,
               'data', jsonb_build_object(
                   'occupant', jsonb_build_object(
                       'joined_at', iv.joined_at,
                       'audio_call', iv.audio::text,
                       'left_at', iv.left_at,
                       'name', iv.name),
                   'sessionId', iv.session_id),
               'type', iv.mode,
               'appId', iv.app_id,
               'region', iv.region,
               'webhook', w.webhook)
    FROM iv JOIN wh w ON w.app_id = iv.app_id
    WHERE iv.leave_sent
    UNION ALL
    SELECT (CASE s.mode WHEN 'call' THEN 1::bigint ELSE 2 END) * 1099511627776 + s.idx::bigint * 256 + 3,
           w.wh, s.t_end, 5,
           jsonb_build_object(
               'trigger', CASE s.mode WHEN 'call' THEN 'call_ended' ELSE 'meeting_ended' END,
               'data', jsonb_build_object(
                   'all_occupants', o.occupants,
                   'destroyed_at', s.t_end,
                   'created_at', s.t_start,
                   'sessionId', s.session_id),
               'type', s.mode,
               'appId', s.app_id,
               'region', s.region,
               'webhook', w.webhook)
    FROM s JOIN wh w ON w.app_id = s.app_id
    JOIN (SELECT iv.mode, iv.idx,
                 jsonb_agg(jsonb_build_object('joined_at', iv.joined_at,
                                              'audio_call', iv.audio::text,
                                              'left_at', iv.left_at,
                                              'name', iv.name)
                           ORDER BY iv.left_at DESC, iv.j, iv.q) AS occupants
          FROM iv WHERE iv.t_end IS NOT NULL
          GROUP BY iv.mode, iv.idx) o ON o.mode = s.mode AND o.idx = s.idx
    WHERE s.t_end IS NOT NULL
    UNION ALL
    -- delivered 2..32 minutes after the end; startTime is within the session
    SELECT (CASE r.mode WHEN 'call' THEN 1::bigint ELSE 2 END) * 1099511627776 + r.idx::bigint * 256 + (4 + r.n),
           w.wh, r.t_end + 120 + cc_gen.ri(seed, r.kofs + 50, r.h, 0, 1800), 6,
           jsonb_build_object(
               'trigger', 'recording_generated',
               'data', jsonb_build_object(
                   'recordingDate', to_char(to_timestamp(r.start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                   -- a recording ends before the next one of the session starts
                   'duration', round((1 + cc_gen.u(seed, r.kofs + 51, r.h)
                                          * greatest(0, r.slot_end - r.start_time - 1))::numeric, 6)::text,
                   'startTime', r.start_time::text,
                   'sessionId', r.session_id,
                   'recording_url', 'https://recordings-' || r.region || '.cometchat.io/'
                                    || r.app_id || '/' || r.session_id || '/' || r.start_time
                                    || '_' || substr(md5(r.session_id || r.start_time), 1, 12) || '.mp4'),
               'appId', r.app_id,
               'region', r.region,
               'webhook', w.webhook)
    FROM (SELECT s.*, n, s.idx::bigint * 4 + n AS h,
                 s.t_start + floor((n + cc_gen.u(seed, s.kofs + 52, s.idx::bigint * 4 + n))
                                   * (s.t_end - s.t_start) / s.n_rec)::bigint AS start_time,
                 s.t_start + (n + 1) * (s.t_end - s.t_start) / s.n_rec AS slot_end
          FROM s, generate_series(0, s.n_rec - 1) n
          WHERE s.t_end IS NOT NULL) r
    JOIN wh w ON w.app_id = r.app_id
), dd AS (
    -- up to 2 s of delivery jitter; a duplicate is a retry 10 or 30 s later
    SELECT d.body AS payload, d.t + 2 * cc_gen.u(seed, 60, d.ev_no * 2 + d.wh) AS dt,
           d.tie, d.ev_no, d.wh, 0 AS copy
    FROM ev d
    UNION ALL
    SELECT d.body,
           d.t + CASE WHEN cc_gen.u(seed, 61, d.ev_no * 2 + d.wh) < 0.6 THEN 10 ELSE 30 END
               + 2 * cc_gen.u(seed, 62, d.ev_no * 2 + d.wh),
           d.tie, d.ev_no, d.wh, 1
    FROM ev d
    WHERE cc_gen.u(seed, 63, d.ev_no * 2 + d.wh) < dup_rate
), p AS (
    SELECT dd.payload, row_number() OVER (ORDER BY dd.dt, dd.tie, dd.ev_no, dd.wh, dd.copy) AS p
    FROM dd
)
-- local reordering: shuffle each window of reorder_window deliveries
SELECT row_number() OVER (ORDER BY (p.p - 1) / greatest(reorder_window, 1),
                                   cc_gen.u(seed, 64, p.p), p.p),
       p.payload
FROM p
$$;

------------------------------------------------------------------------
-- What the lifecycle tables must say once the whole stream is in
------------------------------------------------------------------------

-- One row per cometchat.calls row.  A linked call: its session id and its
-- call_initiated message id.  An unlinked call (call_initiated without
-- entities): its message id only; if it was answered, its session events make
-- a second row, with the session id and no message id.
CREATE FUNCTION cc_gen.expected_calls(seed int, n_calls int, n_meetings int,
                                      dup_rate float8 DEFAULT 0.1, reorder_window int DEFAULT 5,
                                      n_apps int DEFAULT 3)
    RETURNS TABLE (app_id text, session_id text, call_id text, status text,
                   participant_count int)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
WITH cp AS MATERIALIZED (SELECT * FROM cc_gen._call_plan(seed, n_calls, n_apps))
SELECT cp.app_id, cp.session_id, cp.call_msg_id::text,
       CASE cp.kind WHEN 'answered' THEN 'ended' WHEN 'ringing' THEN 'initiated' ELSE cp.kind END,
       cp.n_parts
FROM cp WHERE cp.linked
UNION ALL
SELECT cp.app_id, NULL, cp.call_msg_id::text,
       CASE WHEN cp.kind IN ('answered', 'ongoing', 'ringing') THEN 'initiated' ELSE cp.kind END,
       0
FROM cp WHERE NOT cp.linked
UNION ALL
SELECT cp.app_id, cp.session_id, NULL,
       CASE cp.kind WHEN 'answered' THEN 'ended' ELSE 'ongoing' END,
       cp.n_parts
FROM cp WHERE NOT cp.linked AND cp.kind IN ('answered', 'ongoing')
$$;

-- One row per cometchat.call_outcomes row, linked to its own call.
CREATE FUNCTION cc_gen.expected_outcomes(seed int, n_calls int, n_meetings int,
                                         dup_rate float8 DEFAULT 0.1, reorder_window int DEFAULT 5,
                                         n_apps int DEFAULT 3)
    RETURNS TABLE (app_id text, outcome_id text, conversation_id text, outcome text,
                   sent_at timestamptz, linked_call_id text)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
SELECT cp.app_id, (cp.call_msg_id + 1)::text, cp.conversation_id, cp.kind,
       to_timestamp(cp.t_outcome), cp.call_msg_id::text
FROM cc_gen._call_plan(seed, n_calls, n_apps) cp
WHERE cp.kind IN ('busy', 'rejected', 'cancelled', 'unanswered')
$$;

-- One row per cometchat.sessions row.  peak: most participants present at
-- once, intervals [joined_at, left_at) (a leave and a join in the same
-- second do not overlap); NULL while the session runs.
CREATE FUNCTION cc_gen.expected_sessions(seed int, n_calls int, n_meetings int,
                                         dup_rate float8 DEFAULT 0.1, reorder_window int DEFAULT 5,
                                         n_apps int DEFAULT 3)
    RETURNS TABLE (app_id text, session_id text, started_at timestamptz, mode text,
                   ended_at timestamptz, participant_count int, peak_participants int,
                   recording_count int)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
WITH iv AS MATERIALIZED (
    SELECT * FROM cc_gen._intervals(seed, n_calls, n_meetings, n_apps)
), pk AS (
    SELECT mode, idx, max(n)::int AS peak
    FROM (SELECT mode, idx, sum(d) OVER (PARTITION BY mode, idx ORDER BY t, d
                                         ROWS UNBOUNDED PRECEDING) AS n
          FROM (SELECT mode, idx, joined_at AS t, 1 AS d FROM iv
                UNION ALL
                SELECT mode, idx, left_at, -1 FROM iv) e) x
    GROUP BY mode, idx
), pc AS (
    SELECT mode, idx, count(DISTINCT name)::int AS n FROM iv GROUP BY mode, idx
)
SELECT s.app_id, s.session_id, to_timestamp(s.t_start), s.mode, to_timestamp(s.t_end),
       coalesce(pc.n, 0), CASE WHEN s.t_end IS NOT NULL THEN coalesce(pk.peak, 0) END, s.n_rec
FROM cc_gen._sessions(seed, n_calls, n_meetings, n_apps) s
LEFT JOIN pc ON pc.mode = s.mode AND pc.idx = s.idx
LEFT JOIN pk ON pk.mode = s.mode AND pk.idx = s.idx
$$;

CREATE FUNCTION cc_gen.expected_meetings(seed int, n_calls int, n_meetings int,
                                         dup_rate float8 DEFAULT 0.1, reorder_window int DEFAULT 5,
                                         n_apps int DEFAULT 3)
    RETURNS TABLE (app_id text, session_id text, started_at timestamptz,
                   ended_at timestamptz, participant_count int, peak_participants int,
                   recording_count int)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET jit = off
AS $$
SELECT e.app_id, e.session_id, e.started_at, e.ended_at, e.participant_count,
       e.peak_participants, e.recording_count
FROM cc_gen.expected_sessions(seed, n_calls, n_meetings, dup_rate, reorder_window, n_apps) e
WHERE e.mode = 'meet'
$$;

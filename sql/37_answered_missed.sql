-- Missed and answered calls, named: cometchat.call_lifecycle says for each
-- call whether it was answered (ongoing, ended) or missed (busy, cancelled,
-- unanswered: nobody picked up, and the callee did not decline); a rejected
-- call (declined) and one still ringing are neither.  "A day" of calls is a
-- day of the session's time zone: the same calls counted in UTC and in New
-- York fall on different days.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all

-- One call of every status, 2023-11-15 (UTC), the last one late in the
-- evening in New York, already the next day in UTC.
SELECT pg_temp.feed(
  -- ended
  pg_temp.initiated('601', 'a_user_b', 'a', 'b', 1700038800, 'v1.us.app1.c1'),
  pg_temp.started('call_started', 'v1.us.app1.c1', 1700038805),
  pg_temp.joined('call_participant_joined', 'v1.us.app1.c1', 'a', 1700038805),
  pg_temp.ended('call_ended', 'v1.us.app1.c1', 1700038805, 1700039105),
  -- ongoing: someone joined, no end yet
  pg_temp.initiated('611', 'a_user_c', 'a', 'c', 1700042400, 'v1.us.app1.c2'),
  pg_temp.joined('call_participant_joined', 'v1.us.app1.c2', 'c', 1700042404),
  -- busy, cancelled, rejected, unanswered
  pg_temp.initiated('621', 'a_user_d', 'a', 'd', 1700046000, 'v1.us.app1.c3'),
  pg_temp.outcome('busy', '622', 'a_user_d', 'd', 'a', 1700046002),
  pg_temp.initiated('631', 'a_user_e', 'a', 'e', 1700049600, 'v1.us.app1.c4'),
  pg_temp.outcome('cancelled', '632', 'a_user_e', 'a', 'e', 1700049620),
  pg_temp.initiated('641', 'a_user_f', 'a', 'f', 1700053200, 'v1.us.app1.c5'),
  pg_temp.outcome('rejected', '642', 'a_user_f', 'f', 'a', 1700053205),
  pg_temp.initiated('651', 'a_user_g', 'a', 'g', 1700056800, 'v1.us.app1.c6'),
  pg_temp.outcome('unanswered', '652', 'a_user_g', 'a', 'g', 1700056845),
  -- still ringing (no outcome arrived), 22:00 in New York, 03:00 UTC the next day
  pg_temp.initiated('661', 'a_user_h', 'a', 'h', 1700103600, 'v1.us.app1.c7'));

SELECT call_id, status, answered, missed FROM cometchat.call_lifecycle ORDER BY call_id;
-- The rule, status by status.
SELECT status, bool_and(answered) AS answered, bool_and(missed) AS missed
FROM cometchat.call_lifecycle GROUP BY status ORDER BY status;

-- A day's calls, in the session's time zone.
SET TIME ZONE 'UTC';
SELECT initiated_at::date AS day, count(*) AS calls, count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE missed) AS missed
FROM cometchat.call_lifecycle GROUP BY 1 ORDER BY 1;
SET TIME ZONE 'America/New_York';
SELECT initiated_at::date AS day, count(*) AS calls, count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE missed) AS missed
FROM cometchat.call_lifecycle GROUP BY 1 ORDER BY 1;
-- The same day named with its zone, whatever the session's.
SET TIME ZONE 'UTC';
SELECT count(*) AS calls_new_york_2023_11_15
FROM cometchat.call_lifecycle
WHERE initiated_at >= '2023-11-15 00:00 America/New_York' AND initiated_at < '2023-11-16 00:00 America/New_York';

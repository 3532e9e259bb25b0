-- Users' own row triggers on the lifecycle tables, which the extension
-- writes through the executor's single-row insert and update (src/store.c):
-- BEFORE and AFTER, INSERT and UPDATE, UPDATE OF a plain and of a generated
-- column, a SECURITY DEFINER function with a SET clause (whose cached state
-- must outlive the event that first called it), over several events of one
-- transaction and over several transactions, and through rebuild() and
-- verify(), which run inside a SELECT (no statement of their own for AFTER
-- triggers to be queued in).  Every major runs this; an assertion-enabled
-- server catches what a production build would only do on a bad day.
\set ECHO none
\i test/sql/lifecycle_prelude.sql
\set ECHO all
CREATE ROLE regress_trigger_owner;
CREATE TABLE public.trigger_log (n serial, tbl text, tg text, status text);
GRANT INSERT ON public.trigger_log TO regress_trigger_owner;
GRANT USAGE ON SEQUENCE public.trigger_log_n_seq TO regress_trigger_owner;
CREATE FUNCTION public.log_row() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog SET work_mem = '8MB' AS $$
BEGIN
    INSERT INTO public.trigger_log (tbl, tg, status)
    VALUES (TG_TABLE_NAME, lower(TG_WHEN || ' ' || TG_OP) || coalesce(' ' || TG_ARGV[0], ''),
            to_jsonb(NEW) ->> 'status');
    RETURN NEW;
END $$;
ALTER FUNCTION public.log_row() OWNER TO regress_trigger_owner;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['calls', 'sessions', 'participants', 'recordings', 'call_outcomes'] LOOP
        EXECUTE format('CREATE TRIGGER user_bi BEFORE INSERT ON cometchat.%I FOR EACH ROW EXECUTE FUNCTION public.log_row()', t);
        EXECUTE format('CREATE TRIGGER user_ai AFTER INSERT ON cometchat.%I FOR EACH ROW EXECUTE FUNCTION public.log_row()', t);
        EXECUTE format('CREATE TRIGGER user_bu BEFORE UPDATE ON cometchat.%I FOR EACH ROW EXECUTE FUNCTION public.log_row()', t);
        EXECUTE format('CREATE TRIGGER user_au AFTER UPDATE ON cometchat.%I FOR EACH ROW EXECUTE FUNCTION public.log_row()', t);
    END LOOP;
END $$;
CREATE TRIGGER user_au_of_caller AFTER UPDATE OF caller ON cometchat.calls
    FOR EACH ROW EXECUTE FUNCTION public.log_row('of caller');
CREATE TRIGGER user_au_of_status AFTER UPDATE OF status ON cometchat.calls
    FOR EACH ROW EXECUTE FUNCTION public.log_row('of status');

-- 1. A whole call in one transaction: one store, several events.
BEGIN;
SELECT pg_temp.feed(pg_temp.initiated('101', 'a_user_b', 'a', 'b', 1700038800, 'S1'));
SELECT pg_temp.feed(pg_temp.started('call_started', 'S1', 1700038805));
SELECT pg_temp.feed(pg_temp.joined('call_participant_joined', 'S1', 'Ann', 1700038806),
                    pg_temp.joined('call_participant_joined', 'S1', 'Bob', 1700038807));
SELECT pg_temp.feed(pg_temp.recording('S1', 1700038808, '30.5', 'https://r/1.mp4'));
COMMIT;
-- 2. The rest in transactions of their own.
SELECT pg_temp.feed(pg_temp.left('call_participant_left', 'S1', 'Ann', 1700038806, 1700038850));
SELECT pg_temp.feed(pg_temp.ended('call_ended', 'S1', 1700038805, 1700038900));
SELECT pg_temp.feed(pg_temp.outcome('busy', '102', 'a_user_c', 'c', 'a', 1700039000));
SELECT tbl, tg, count(*), string_agg(DISTINCT status, ',') AS statuses
FROM public.trigger_log GROUP BY tbl, tg ORDER BY tbl, tg;
-- Every BEFORE has its AFTER.
SELECT tbl, count(*) FILTER (WHERE tg LIKE 'before%') = count(*) FILTER (WHERE tg IN ('after insert', 'after update')) AS balanced
FROM public.trigger_log GROUP BY tbl ORDER BY tbl;
SELECT status, participant_count FROM cometchat.calls;

-- 3. rebuild() and verify() replay the ledger inside a SELECT: the triggers
--    fire there too, once per row written, and nothing is left out of step.
TRUNCATE public.trigger_log;
SELECT cometchat.rebuild() AS replayed;
SELECT tbl, tg, count(*) FROM public.trigger_log GROUP BY tbl, tg ORDER BY tbl, tg;
SELECT * FROM cometchat.verify();
SELECT status, participant_count FROM cometchat.calls;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['calls', 'sessions', 'participants', 'recordings', 'call_outcomes'] LOOP
        EXECUTE format('DROP TRIGGER user_bi ON cometchat.%I', t);
        EXECUTE format('DROP TRIGGER user_ai ON cometchat.%I', t);
        EXECUTE format('DROP TRIGGER user_bu ON cometchat.%I', t);
        EXECUTE format('DROP TRIGGER user_au ON cometchat.%I', t);
    END LOOP;
END $$;
DROP TRIGGER user_au_of_caller ON cometchat.calls;
DROP TRIGGER user_au_of_status ON cometchat.calls;
DROP FUNCTION public.log_row();
DROP TABLE public.trigger_log;
DROP ROLE regress_trigger_owner;

-- cometchat_webhooks 1.4 -> 1.5
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5'" to load this file. \quit

------------------------------------------------------------------------
-- verify() at any size (1.5)
--
-- verify() compares the maintained lifecycle tables with the recomputation
-- as relations (a temporary table of the maintained rows, a grouping that
-- spills to disk) instead of one jsonb value, which failed past 256 MB of
-- lifecycle rows.  rebuild() is unchanged in SQL; its replay (C) now
-- applies the ledger batch by batch.
------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION cometchat.verify()
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
    -- function's result is no part of the subtransaction).  Each row is
    -- counted +1 when maintained, -1 when recomputed: a sum above zero is a
    -- row that many times unexpected, below zero that many times missing
    -- (EXCEPT ALL both ways); the grouping and the sort spill to disk past
    -- work_mem, so memory does not grow with the ledger.
    BEGIN
        PERFORM cometchat.rebuild();
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT d.table_name, CASE WHEN d.n > 0 THEN ''unexpected'' ELSE ''missing'' END, d.row_data
             FROM (SELECT s.table_name, s.row_data, pg_catalog.sum(s.n) AS n
                   FROM (SELECT m.table_name, m.row_data, 1 AS n FROM pg_temp.%I m
                         UNION ALL
                         SELECT l.table_name, l.row_data, -1 FROM cometchat._lifecycle_rows() l) s
                   GROUP BY s.table_name, s.row_data
                   HAVING pg_catalog.sum(s.n) OPERATOR(pg_catalog.<>) 0) d,
                  pg_catalog.generate_series(1, pg_catalog.abs(d.n)) g
             ORDER BY 1, 2, 3', snapshot);
        RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'cometchat.verify rollback';
    EXCEPTION WHEN assert_failure THEN
        NULL;
    END;
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', snapshot);
END
$$;
COMMENT ON FUNCTION cometchat.verify() IS 'differences between the maintained lifecycle tables and a recomputation from the ledger; no rows when consistent';
REVOKE ALL ON FUNCTION cometchat.verify() FROM PUBLIC;

-- Every object a user reads carries a comment, so that \df+, \d+ and \dT+
-- answer questions without the README: each function, table, view and type
-- of schema cometchat, and each column of its tables, views and composite
-- types.  (Sequences, indexes and constraints are not read by users; the
-- columns of a partition are those of its partitioned table, commented there.)
-- A new object without a comment shows up here.
SELECT 'function' AS kind, p.oid::regprocedure::text AS object
FROM pg_proc p
WHERE p.pronamespace = 'cometchat'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'v', 'p')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'type', t.oid::regtype::text
FROM pg_type t
WHERE t.typnamespace = 'cometchat'::regnamespace
  AND (t.typtype = 'e' OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  AND obj_description(t.oid, 'pg_type') IS NULL
UNION ALL
SELECT 'column', c.oid::regclass::text || '.' || a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'v', 'p', 'c')
  AND NOT c.relispartition AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1, 2;

-- What is covered: objects and columns with a comment, by kind.
SELECT kind, count(*) AS commented
FROM (SELECT 'function' AS kind FROM pg_proc p
      WHERE p.pronamespace = 'cometchat'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NOT NULL
      UNION ALL
      SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END FROM pg_class c
      WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p', 'v')
        AND obj_description(c.oid, 'pg_class') IS NOT NULL
      UNION ALL
      SELECT 'type' FROM pg_type t
      WHERE t.typnamespace = 'cometchat'::regnamespace AND t.typtype IN ('e', 'c')
        AND obj_description(t.oid, 'pg_type') IS NOT NULL
      UNION ALL
      SELECT 'column' FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'c')
        AND col_description(c.oid, a.attnum) IS NOT NULL) x
GROUP BY kind ORDER BY kind;

-- As \d+ cometchat.call_outcomes and \df+ cometchat.ingest show them.
SELECT a.attname AS column, col_description(a.attrelid, a.attnum) AS description
FROM pg_attribute a
WHERE a.attrelid = 'cometchat.call_outcomes'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT obj_description('cometchat.ingest(jsonb)'::regprocedure, 'pg_proc') AS ingest;

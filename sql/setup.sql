--
-- setup: install pgrepl into the regression database and pin what the
-- install script creates.
--
-- The temporary instance preloads pgrepl (see regress.conf), so CREATE
-- EXTENSION only has to add the SQL objects.
--
CREATE EXTENSION pgrepl;

SELECT extname, extversion, extnamespace::regnamespace AS schema,
       extrelocatable
FROM pg_extension
WHERE extname = 'pgrepl';

-- Every member object of the extension, in a stable order.
SELECT pg_describe_object(classid, objid, objsubid) COLLATE "C" AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgrepl')
  AND deptype = 'e'
ORDER BY object;

-- Nothing in the schema is left out of the extension.
SELECT o.object AS not_an_extension_member
FROM (SELECT 'pg_class'::regclass AS classid, c.oid AS objid,
             c.oid::regclass::text AS object
      FROM pg_class c
      WHERE c.relnamespace = 'pgrepl'::regnamespace
        AND c.relkind <> 'i'
      UNION ALL
      SELECT 'pg_proc'::regclass, p.oid, p.oid::regprocedure::text
      FROM pg_proc p
      WHERE p.pronamespace = 'pgrepl'::regnamespace) AS o
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = o.classid AND d.objid = o.objid
                    AND d.refclassid = 'pg_extension'::regclass
                    AND d.deptype = 'e')
ORDER BY o.object COLLATE "C";

-- Every object carries a comment.
SELECT pg_describe_object(classid, objid, objsubid) COLLATE "C"
           AS object_without_comment
FROM pg_depend d
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgrepl')
  AND deptype = 'e'
  AND obj_description(objid, classid::regclass::name) IS NULL
ORDER BY object_without_comment;

-- The properties of every function: result, volatility, strictness,
-- parallel safety, security and pinned settings.
SELECT p.oid::regprocedure AS function,
       pg_get_function_result(p.oid) AS result,
       p.provolatile AS volatile,
       p.proisstrict AS strict,
       p.proparallel AS parallel,
       p.prosecdef AS security_definer,
       p.proconfig AS config,
       l.lanname AS language
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'pgrepl'::regnamespace
ORDER BY p.proname;

-- The tables that hold the cluster's membership and history, column by
-- column, with their constraints.
SELECT c.relname AS "table", a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS "default",
       a.attidentity AS identity
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'pgrepl'::regnamespace
  AND c.relkind = 'r'
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;

SELECT conrelid::regclass AS "table", conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE connamespace = 'pgrepl'::regnamespace
ORDER BY conrelid::regclass::text COLLATE "C", conname COLLATE "C";

-- pg_dump keeps their rows, and the position of the sequence that numbers
-- the events, so that a restored database goes on numbering after the last
-- event rather than colliding with it.
SELECT cfg::regclass AS dumped_with_data, cond AS condition
FROM pg_extension e,
     unnest(e.extconfig, e.extcondition) AS u(cfg, cond)
WHERE e.extname = 'pgrepl'
ORDER BY cfg::regclass::text COLLATE "C";

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

WITH "cohortops_source" AS (
SELECT q.user_id AS v FROM (SELECT user_id FROM analytics.churn) q
),
"t2" AS NOT MATERIALIZED (
  SELECT
    *
  FROM "cohortops"."members_churn_risk_1a2b3c4d" AS "t0"
), "t5" AS MATERIALIZED (
  SELECT
    CASE
      WHEN (
        "t4"."v" IS NULL
      ) OR (
        "t4"."v" = ''
      )
      THEN 1
      WHEN LENGTH("t4"."v") > 255
      THEN 2
      WHEN NOT (
        "t4"."plain"
      ) AND "t4"."v" ~ '[--  ]'
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS "reason",
    "t4"."v" AS "id"
  FROM (
    SELECT
      "t1"."v" ~ '^[!-~]([ -~]*[!-~])?$' AS "plain",
      CASE
        WHEN "t1"."v" ~ '^[!-~]([ -~]*[!-~])?$'
        THEN "t1"."v"
        ELSE REGEXP_REPLACE(
          REGEXP_REPLACE("t1"."v", '^[ 	
             ​    　﻿]+', '', 'g'),
          '[ 	
             ​    　﻿]+$',
          '',
          'g'
        )
      END AS "v"
    FROM "cohortops_source" AS "t1"
  ) AS "t4"
), "t10" AS NOT MATERIALIZED (
  SELECT
    "t6"."id"
  FROM "t5" AS "t6"
  WHERE
    "t6"."reason" IS NULL
)
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      COALESCE("t8"."reason", 0) + 100 AS "kind",
      CAST(NULL AS VARCHAR) AS "id",
      "t8"."n"
    FROM (
      SELECT
        "t6"."reason",
        COUNT(*) AS "n"
      FROM "t5" AS "t6"
      GROUP BY
        1
    ) AS "t8"
  ) AS "t14"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      5 AS "kind",
      CAST(NULL AS VARCHAR) AS "id",
      "t17"."n"
    FROM (
      SELECT
        COUNT(DISTINCT "t11"."id") AS "n"
      FROM "t10" AS "t11"
    ) AS "t17"
  ) AS "t20"
) AS "t21"
UNION ALL
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      6 AS "kind",
      "t7"."id",
      "t7"."n"
    FROM (
      SELECT
        COUNT(*) AS "n",
        CAST(SUM(LENGTH("t3"."id")) AS VARCHAR) || ':' || COALESCE(MIN("t3"."id"), '') || ':' || COALESCE(MAX("t3"."id"), '') AS "id"
      FROM "t2" AS "t3"
    ) AS "t7"
  ) AS "t9"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        1 AS "kind",
        "t12"."id",
        1 AS "n"
      FROM (
        SELECT
          *
        FROM "t10" AS "t11"
        EXCEPT
        SELECT
          *
        FROM "t2" AS "t3"
      ) AS "t12"
    ) AS "t15"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        2 AS "kind",
        "t13"."id",
        1 AS "n"
      FROM (
        SELECT
          *
        FROM "t2" AS "t3"
        EXCEPT
        SELECT
          *
        FROM "t10" AS "t11"
      ) AS "t13"
    ) AS "t16"
  ) AS "t18"
) AS "t19"

WITH "cohortops_source" AS (
SELECT q.user_id AS v FROM (SELECT user_id FROM analytics.churn) q
),
"t2" AS (
  SELECT
    *
  FROM "cohortops"."members_churn_risk_1a2b3c4d" AS "t0"
), "t8" AS (
  SELECT
    CASE
      WHEN (
        "t6"."v" IS NULL
      ) OR (
        "t6"."v" = ''
      )
      THEN 1
      WHEN LENGTH("t6"."v") > 255
      THEN 2
      WHEN NOT (
        "t6"."plain"
      ) AND REGEXP_LIKE("t6"."v", '[--  ]')
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS "reason",
    "t6"."v" AS "id"
  FROM (
    SELECT
      "t4"."plain",
      CASE
        WHEN "t4"."plain"
        THEN "t4"."v"
        ELSE REGEXP_REPLACE(
          REGEXP_REPLACE("t4"."v", '^[ 	
             ​    　﻿]+', ''),
          '[ 	
             ​    　﻿]+$',
          ''
        )
      END AS "v"
    FROM (
      SELECT
        "t1"."v",
        NOT (
          REGEXP_LIKE("t1"."v", '[^ -~]')
        )
        AND NOT (
          STARTS_WITH("t1"."v", ' ')
        )
        AND NOT (
          SUBSTRING("t1"."v", -LENGTH(' ')) = ' '
        )
        AND (
          "t1"."v" <> ''
        ) AS "plain"
      FROM "cohortops_source" AS "t1"
    ) AS "t4"
  ) AS "t6"
), "t11" AS (
  SELECT
    "t9"."id"
  FROM "t8" AS "t9"
  WHERE
    "t9"."reason" IS NULL
)
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      COALESCE("t10"."reason", 0) + 100 AS "kind",
      CAST(NULL AS VARCHAR) AS "id",
      "t10"."n"
    FROM (
      SELECT
        "t9"."reason",
        COUNT(*) AS "n"
      FROM "t8" AS "t9"
      GROUP BY
        1
    ) AS "t10"
  ) AS "t15"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      5 AS "kind",
      CAST(NULL AS VARCHAR) AS "id",
      "t18"."n"
    FROM (
      SELECT
        COUNT(DISTINCT "t12"."id") AS "n"
      FROM "t11" AS "t12"
    ) AS "t18"
  ) AS "t21"
) AS "t22"
UNION ALL
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      6 AS "kind",
      "t5"."id",
      "t5"."n"
    FROM (
      SELECT
        COUNT(*) AS "n",
        CONCAT(
          CONCAT(
            CONCAT(CONCAT(CAST(SUM(LENGTH("t3"."id")) AS VARCHAR), ':'), COALESCE(MIN("t3"."id"), '')),
            ':'
          ),
          COALESCE(MAX("t3"."id"), '')
        ) AS "id"
      FROM "t2" AS "t3"
    ) AS "t5"
  ) AS "t7"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        1 AS "kind",
        "t13"."id",
        1 AS "n"
      FROM (
        SELECT
          *
        FROM "t11" AS "t12"
        EXCEPT
        SELECT
          *
        FROM "t2" AS "t3"
      ) AS "t13"
    ) AS "t16"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        2 AS "kind",
        "t14"."id",
        1 AS "n"
      FROM (
        SELECT
          *
        FROM "t2" AS "t3"
        EXCEPT
        SELECT
          *
        FROM "t11" AS "t12"
      ) AS "t14"
    ) AS "t17"
  ) AS "t19"
) AS "t20"

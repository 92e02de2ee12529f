SELECT
  *
FROM (
  SELECT
    "t3"."pos",
    CASE
      WHEN (
        "t3"."v" IS NULL
      ) OR (
        "t3"."v" = ''
      )
      THEN 1
      WHEN LENGTH("t3"."v") > 255
      THEN 2
      WHEN NOT (
        "t3"."plain"
      ) AND "t3"."v" ~ '[--  ]'
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS "reason",
    "t3"."v" AS "id"
  FROM (
    SELECT
      "t2"."pos",
      "t2"."plain",
      CASE
        WHEN "t2"."plain"
        THEN "t2"."v"
        ELSE REGEXP_REPLACE(
          REGEXP_REPLACE("t2"."v", '^[ 	
             ​    　﻿]+', '', 'g'),
          '[ 	
             ​    　﻿]+$',
          '',
          'g'
        )
      END AS "v"
    FROM (
      SELECT
        "t1"."pos",
        "t1"."v",
        NOT (
          "t1"."v" ~ '([^ -~]|^ | $)'
        ) AND (
          "t1"."v" <> ''
        ) AS "plain"
      FROM (
        SELECT
          "t0"."v",
          (
            ROW_NUMBER() OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1
          ) + 1 AS "pos"
        FROM "cohortops_source" AS "t0"
        OFFSET 0
      ) AS "t1"
      OFFSET 0
    ) AS "t2"
    OFFSET 0
  ) AS "t3"
  OFFSET 0
) AS "t4"
WHERE
  NOT "t4"."reason" IS NULL
ORDER BY
  "t4"."pos" ASC
LIMIT 100

WITH `cohortops_source` AS (
SELECT q.user_id AS v FROM (SELECT user_id FROM analytics.churn) q
),
`t2` AS (
  SELECT
    *
  FROM `cohortops`.`members_churn_risk_1a2b3c4d` AS `t0`
)
SELECT
  *
FROM (
  SELECT
    `t12`.`kind`,
    `t12`.`id`,
    COUNT(*) AS `n`
  FROM (
    SELECT
      CAST(CASE
        WHEN `t11`.`reason` IS NULL
        THEN 2
        WHEN `t11`.`reason` <> 0
        THEN CAST(`t11`.`reason` AS INT) + 100
        WHEN `t4`.`id` IS NULL
        THEN 1
        ELSE 100
      END AS INT) AS `kind`,
      CASE
        WHEN `t11`.`reason` IS NULL
        THEN `t4`.`id`
        WHEN `t11`.`reason` <> 0
        THEN CAST(NULL AS STRING)
        WHEN `t4`.`id` IS NULL
        THEN `t11`.`id`
        ELSE CAST(NULL AS STRING)
      END AS `id`
    FROM (
      SELECT
        COALESCE(`t9`.`reason`, 0) AS `reason`,
        CASE WHEN `t9`.`reason` IS NULL THEN `t9`.`id` ELSE CAST(NULL AS STRING) END AS `id`
      FROM (
        SELECT
          CASE
            WHEN (
              `t6`.`v` IS NULL
            ) OR (
              `t6`.`v` = ''
            )
            THEN 1
            WHEN LENGTH(`t6`.`v`) > 255
            THEN 2
            WHEN NOT (
              `t6`.`plain`
            ) AND `t6`.`v` RLIKE '[--  ]'
            THEN 3
            ELSE CAST(NULL AS SMALLINT)
          END AS `reason`,
          `t6`.`v` AS `id`
        FROM (
          SELECT
            `t5`.`plain`,
            CASE
              WHEN `t5`.`plain`
              THEN `t5`.`v`
              ELSE REGEXP_REPLACE(
                REGEXP_REPLACE(`t5`.`v`, '^[ \t\n\r\v\f             ​    　﻿]+', ''),
                '[ \t\n\r\v\f             ​    　﻿]+$',
                ''
              )
            END AS `v`
          FROM (
            SELECT
              `t1`.`v`,
              NOT (
                `t1`.`v` RLIKE '([^ -~]|^ | $)'
              ) AND (
                `t1`.`v` <> ''
              ) AS `plain`
            FROM `cohortops_source` AS `t1`
          ) AS `t5`
        ) AS `t6`
      ) AS `t9`
    ) AS `t11`
    FULL OUTER JOIN `t2` AS `t4`
      ON `t11`.`id` = `t4`.`id`
  ) AS `t12`
  GROUP BY
    1,
    2
) AS `t13`
UNION ALL
SELECT
  *
FROM (
  SELECT
    6 AS `kind`,
    `t7`.`id`,
    `t7`.`n`
  FROM (
    SELECT
      COUNT(*) AS `n`,
      CONCAT(
        CONCAT(
          CONCAT(CONCAT(CAST(SUM(LENGTH(`t3`.`id`)) AS STRING), ':'), COALESCE(MIN(`t3`.`id`), '')),
          ':'
        ),
        COALESCE(MAX(`t3`.`id`), '')
      ) AS `id`
    FROM `t2` AS `t3`
  ) AS `t7`
) AS `t8`

WITH `t4` AS (
  SELECT
    *
  FROM `cohortops`.`members_churn_risk_1a2b3c4d` AS `t1`
), `t9` AS (
  SELECT
    CASE
      WHEN (
        `t7`.`v` IS NULL
      ) OR (
        `t7`.`v` = ''
      )
      THEN 1
      WHEN LENGTH(`t7`.`v`) > 255
      THEN 2
      WHEN `t7`.`v` RLIKE '[--  ]'
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS `reason`,
    `t7`.`v` AS `id`
  FROM (
    SELECT
      REGEXP_REPLACE(
        REGEXP_REPLACE(CAST(`t2`.`v` AS STRING), '^[ \t\n\r\v\f             ​    　﻿]+', ''),
        '[ \t\n\r\v\f             ​    　﻿]+$',
        ''
      ) AS `v`
    FROM `cohortops_source` AS `t2`
  ) AS `t7`
), `t14` AS (
  SELECT
    `t10`.`id`
  FROM `t9` AS `t10`
  WHERE
    `t10`.`reason` IS NULL
)
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      4 AS `kind`,
      `t6`.`id`,
      1 AS `n`
    FROM `t4` AS `t6`
    LEFT SEMI JOIN `cohortops_delta` AS `t3`
      ON `t6`.`id` = `t3`.`id`
  ) AS `t8`
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        1 AS `kind`,
        `t16`.`id`,
        1 AS `n`
      FROM (
        SELECT
          *
        FROM `t14` AS `t15`
        EXCEPT
        SELECT
          *
        FROM `t4` AS `t5`
      ) AS `t16`
    ) AS `t20`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        2 AS `kind`,
        `t17`.`id`,
        1 AS `n`
      FROM (
        SELECT
          *
        FROM `t4` AS `t5`
        EXCEPT
        SELECT
          *
        FROM `t14` AS `t15`
      ) AS `t17`
    ) AS `t21`
  ) AS `t23`
) AS `t24`
UNION ALL
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        COALESCE(`t12`.`reason`, 0) + 100 AS `kind`,
        CAST(NULL AS STRING) AS `id`,
        `t12`.`n`
      FROM (
        SELECT
          `t10`.`reason`,
          COUNT(*) AS `n`
        FROM `t9` AS `t10`
        GROUP BY
          1
      ) AS `t12`
    ) AS `t19`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        5 AS `kind`,
        CAST(NULL AS STRING) AS `id`,
        `t22`.`n`
      FROM (
        SELECT
          COUNT(DISTINCT `t15`.`id`) AS `n`
        FROM `t14` AS `t15`
      ) AS `t22`
    ) AS `t25`
  ) AS `t27`
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        6 AS `kind`,
        `t11`.`id`,
        `t11`.`n`
      FROM (
        SELECT
          COUNT(*) AS `n`,
          CONCAT(
            CONCAT(
              CONCAT(CONCAT(CAST(SUM(LENGTH(`t5`.`id`)) AS STRING), ':'), COALESCE(MIN(`t5`.`id`), '')),
              ':'
            ),
            COALESCE(MAX(`t5`.`id`), '')
          ) AS `id`
        FROM `t4` AS `t5`
      ) AS `t11`
    ) AS `t13`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        3 AS `kind`,
        `t28`.`id`,
        1 AS `n`
      FROM (
        SELECT DISTINCT
          *
        FROM (
          SELECT
            `t18`.`id`
          FROM `t14` AS `t18`
          LEFT SEMI JOIN `cohortops_delta` AS `t3`
            ON `t18`.`id` = `t3`.`id`
        ) AS `t26`
      ) AS `t28`
    ) AS `t29`
  ) AS `t30`
) AS `t31`

WITH `t3` AS (
  SELECT
    *
  FROM `cohortops`.`members_churn_risk_1a2b3c4d` AS `t0`
)
SELECT
  *
FROM (
  SELECT
    `t16`.`kind`,
    `t16`.`id`,
    COUNT(*) AS `n`
  FROM (
    SELECT
      CAST(CASE
        WHEN `t15`.`reason` IS NULL
        THEN 2
        WHEN `t15`.`reason` <> 0
        THEN CAST(`t15`.`reason` AS INT) + 100
        WHEN `t15`.`id_right` IS NULL
        THEN 1
        WHEN `t15`.`hit`
        THEN 3
        ELSE 100
      END AS INT) AS `kind`,
      CASE
        WHEN `t15`.`reason` IS NULL
        THEN `t15`.`id_right`
        WHEN `t15`.`reason` <> 0
        THEN CAST(NULL AS STRING)
        WHEN `t15`.`id_right` IS NULL
        THEN `t15`.`id`
        WHEN `t15`.`hit`
        THEN `t15`.`id`
        ELSE CAST(NULL AS STRING)
      END AS `id`
    FROM (
      SELECT
        `t14`.`reason`,
        `t14`.`id`,
        `t14`.`id_right`,
        `t14`.`id` IN (
          SELECT
            *
          FROM `cohortops_delta` AS `t1`
        ) AS `hit`
      FROM (
        SELECT
          `t13`.`reason`,
          `t13`.`id`,
          `t6`.`id` AS `id_right`
        FROM (
          SELECT
            COALESCE(`t11`.`reason`, 0) AS `reason`,
            CASE WHEN `t11`.`reason` IS NULL THEN `t11`.`id` ELSE CAST(NULL AS STRING) END AS `id`
          FROM (
            SELECT
              CASE
                WHEN (
                  `t8`.`v` IS NULL
                ) OR (
                  `t8`.`v` = ''
                )
                THEN 1
                WHEN LENGTH(`t8`.`v`) > 255
                THEN 2
                WHEN NOT (
                  `t8`.`plain`
                ) AND `t8`.`v` RLIKE '[--  ]'
                THEN 3
                ELSE CAST(NULL AS SMALLINT)
              END AS `reason`,
              `t8`.`v` AS `id`
            FROM (
              SELECT
                `t7`.`plain`,
                CASE
                  WHEN `t7`.`plain`
                  THEN `t7`.`v`
                  ELSE REGEXP_REPLACE(
                    REGEXP_REPLACE(`t7`.`v`, '^[ \t\n\r\v\f             ​    　﻿]+', ''),
                    '[ \t\n\r\v\f             ​    　﻿]+$',
                    ''
                  )
                END AS `v`
              FROM (
                SELECT
                  CAST(`t2`.`v` AS STRING) AS `v`,
                  NOT (
                    CAST(`t2`.`v` AS STRING) RLIKE '([^ -~]|^ | $)'
                  )
                  AND (
                    CAST(`t2`.`v` AS STRING) <> ''
                  ) AS `plain`
                FROM `cohortops_source` AS `t2`
              ) AS `t7`
            ) AS `t8`
          ) AS `t11`
        ) AS `t13`
        FULL OUTER JOIN `t3` AS `t6`
          ON `t13`.`id` = `t6`.`id`
      ) AS `t14`
    ) AS `t15`
  ) AS `t16`
  GROUP BY
    1,
    2
) AS `t17`
UNION ALL
SELECT
  *
FROM (
  SELECT
    6 AS `kind`,
    `t9`.`id`,
    `t9`.`n`
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
    FROM `t3` AS `t5`
  ) AS `t9`
) AS `t10`

WITH `t4` AS (
  SELECT
    *
  FROM `cohortops`.`members_churn_risk_1a2b3c4d` AS `t1`
), `t12` AS (
  SELECT
    CASE
      WHEN (
        `t10`.`v` IS NULL
      ) OR (
        `t10`.`v` = ''
      )
      THEN 1
      WHEN LENGTH(`t10`.`v`) > 255
      THEN 2
      WHEN NOT (
        `t10`.`plain`
      ) AND `t10`.`v` RLIKE '[--  ]'
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS `reason`,
    `t10`.`v` AS `id`
  FROM (
    SELECT
      `t8`.`plain`,
      CASE
        WHEN `t8`.`plain`
        THEN `t8`.`v`
        ELSE REGEXP_REPLACE(
          REGEXP_REPLACE(`t8`.`v`, '^[ \t\n\r\v\f             ​    　﻿]+', ''),
          '[ \t\n\r\v\f             ​    　﻿]+$',
          ''
        )
      END AS `v`
    FROM (
      SELECT
        CAST(`t2`.`v` AS STRING) AS `v`,
        NOT (
          CAST(`t2`.`v` AS STRING) RLIKE '[^ -~]'
        )
        AND NOT (
          STARTSWITH(CAST(`t2`.`v` AS STRING), ' ')
        )
        AND NOT (
          ENDSWITH(CAST(`t2`.`v` AS STRING), ' ')
        )
        AND (
          CAST(`t2`.`v` AS STRING) <> ''
        ) AS `plain`
      FROM `cohortops_source` AS `t2`
    ) AS `t8`
  ) AS `t10`
), `t15` AS (
  SELECT
    `t13`.`id`
  FROM `t12` AS `t13`
  WHERE
    `t13`.`reason` IS NULL
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
  ) AS `t7`
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        1 AS `kind`,
        `t17`.`id`,
        1 AS `n`
      FROM (
        SELECT
          *
        FROM `t15` AS `t16`
        EXCEPT
        SELECT
          *
        FROM `t4` AS `t5`
      ) AS `t17`
    ) AS `t21`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        2 AS `kind`,
        `t18`.`id`,
        1 AS `n`
      FROM (
        SELECT
          *
        FROM `t4` AS `t5`
        EXCEPT
        SELECT
          *
        FROM `t15` AS `t16`
      ) AS `t18`
    ) AS `t22`
  ) AS `t24`
) AS `t25`
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
        COALESCE(`t14`.`reason`, 0) + 100 AS `kind`,
        CAST(NULL AS STRING) AS `id`,
        `t14`.`n`
      FROM (
        SELECT
          `t13`.`reason`,
          COUNT(*) AS `n`
        FROM `t12` AS `t13`
        GROUP BY
          1
      ) AS `t14`
    ) AS `t20`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        5 AS `kind`,
        CAST(NULL AS STRING) AS `id`,
        `t23`.`n`
      FROM (
        SELECT
          COUNT(DISTINCT `t16`.`id`) AS `n`
        FROM `t15` AS `t16`
      ) AS `t23`
    ) AS `t26`
  ) AS `t28`
  UNION ALL
  SELECT
    *
  FROM (
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
        FROM `t4` AS `t5`
      ) AS `t9`
    ) AS `t11`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        3 AS `kind`,
        `t29`.`id`,
        1 AS `n`
      FROM (
        SELECT DISTINCT
          *
        FROM (
          SELECT
            `t19`.`id`
          FROM `t15` AS `t19`
          LEFT SEMI JOIN `cohortops_delta` AS `t3`
            ON `t19`.`id` = `t3`.`id`
        ) AS `t27`
      ) AS `t29`
    ) AS `t30`
  ) AS `t31`
) AS `t32`

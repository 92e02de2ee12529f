SELECT
  *
FROM (
  SELECT
    `t3`.`pos`,
    CASE
      WHEN (
        `t3`.`v` IS NULL
      ) OR (
        `t3`.`v` = ''
      )
      THEN 1
      WHEN LENGTH(`t3`.`v`) > 255
      THEN 2
      WHEN NOT (
        `t3`.`plain`
      ) AND REGEXP_LIKE(`t3`.`v`, '[--  ]')
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS `reason`,
    `t3`.`v` AS `id`
  FROM (
    SELECT
      `t2`.`pos`,
      `t2`.`plain`,
      CASE
        WHEN `t2`.`plain`
        THEN `t2`.`v`
        ELSE REGEXP_REPLACE(
          REGEXP_REPLACE(`t2`.`v`, '^[ \t\n\r\v\f             ​    　﻿]+', ''),
          '[ \t\n\r\v\f             ​    　﻿]+$',
          ''
        )
      END AS `v`
    FROM (
      SELECT
        `t1`.`pos`,
        `t1`.`v`,
        NOT (
          REGEXP_LIKE(`t1`.`v`, '([^ -~]|^ | $)')
        ) AND (
          `t1`.`v` <> ''
        ) AS `plain`
      FROM (
        SELECT
          `t0`.`v`,
          (
            ROW_NUMBER() OVER (ORDER BY NULL) - 1
          ) + 1 AS `pos`
        FROM `cohortops_source` AS `t0`
      ) AS `t1`
    ) AS `t2`
  ) AS `t3`
) AS `t4`
WHERE
  `t4`.`reason` IS NOT NULL
ORDER BY
  `t4`.`pos` ASC NULLS LAST
LIMIT 100

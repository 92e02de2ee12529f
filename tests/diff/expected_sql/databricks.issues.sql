SELECT
  *
FROM (
  SELECT
    `t2`.`pos`,
    CASE
      WHEN (
        `t2`.`v` IS NULL
      ) OR (
        `t2`.`v` = ''
      )
      THEN 1
      WHEN LENGTH(`t2`.`v`) > 255
      THEN 2
      WHEN NOT (
        `t2`.`plain`
      ) AND REGEXP_LIKE(`t2`.`v`, '[--  ]')
      THEN 3
      ELSE CAST(NULL AS SMALLINT)
    END AS `reason`,
    `t2`.`v` AS `id`
  FROM (
    SELECT
      `t1`.`pos`,
      REGEXP_LIKE(`t1`.`v`, '^[!-~]([ -~]*[!-~])?$') AS `plain`,
      CASE
        WHEN REGEXP_LIKE(`t1`.`v`, '^[!-~]([ -~]*[!-~])?$')
        THEN `t1`.`v`
        ELSE REGEXP_REPLACE(
          REGEXP_REPLACE(`t1`.`v`, '^[ \t\n\r\v\f             ​    　﻿]+', ''),
          '[ \t\n\r\v\f             ​    　﻿]+$',
          ''
        )
      END AS `v`
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
WHERE
  `t3`.`reason` IS NOT NULL
ORDER BY
  `t3`.`pos` ASC NULLS LAST
LIMIT 100

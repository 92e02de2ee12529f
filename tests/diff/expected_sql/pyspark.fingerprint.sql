SELECT
  COUNT(*) AS `n`,
  CONCAT(
    CONCAT(
      CONCAT(CONCAT(CAST(SUM(LENGTH(`t0`.`id`)) AS STRING), ':'), COALESCE(MIN(`t0`.`id`), '')),
      ':'
    ),
    COALESCE(MAX(`t0`.`id`), '')
  ) AS `id`
FROM `cohortops`.`members_churn_risk_1a2b3c4d` AS `t0`

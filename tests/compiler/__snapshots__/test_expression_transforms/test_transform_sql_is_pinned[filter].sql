SELECT
  *
FROM input
WHERE
  "status" <> 'deleted' AND "amount" >= 0

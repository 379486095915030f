SELECT
  *,
  CONCAT("first_name", ' ', "last_name") AS "full_name",
  CASE WHEN "amount" > 1000 THEN 'big' ELSE 'small' END AS "size",
  "a" / "b" AS "ratio",
  DATE_TRUNC('MONTH', "created_at") AS "month"
FROM input

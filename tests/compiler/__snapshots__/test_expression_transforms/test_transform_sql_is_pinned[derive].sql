SELECT
  *,
  COALESCE(CAST("first_name" AS TEXT), '') || ' ' || COALESCE(CAST("last_name" AS TEXT), '') AS "full_name",
  CASE WHEN "amount" > 1000 THEN 'big' ELSE 'small' END AS "size",
  "a" / "b" AS "ratio",
  DATE_TRUNC('MONTH', "created_at") AS "month"
FROM input

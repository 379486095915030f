SELECT
  *
  REPLACE (CASE WHEN "email" IS NULL THEN NULL ELSE SHA256($salt || CAST("email" AS TEXT)) END AS "email")
FROM input

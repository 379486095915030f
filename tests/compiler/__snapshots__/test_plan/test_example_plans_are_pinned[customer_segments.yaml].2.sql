CREATE OR REPLACE TEMPORARY TABLE "_recipec_stage" AS
WITH "_recipec_source" AS (
  SELECT
    *
  FROM READ_CSV('recipes/data/customers*.csv', delim = ',', header = TRUE, nullstr = ['', 'NA'])
), "_recipec_step_0" AS (
  SELECT
    *
  FROM "_recipec_source"
  WHERE
    "active" AND "balance" >= 0
), "_recipec_step_1" AS (
  SELECT
    *,
    COALESCE(CAST("fname" AS TEXT), '') || ' ' || COALESCE(CAST("lname" AS TEXT), '') AS "full_name",
    YEAR("created_at") AS "signup_year",
    CASE WHEN "balance" > 1000 THEN 'high' WHEN "balance" > 100 THEN 'mid' ELSE 'low' END AS "segment"
  FROM "_recipec_step_0"
), "_recipec_step_2" AS (
  SELECT
    *
  FROM "_recipec_step_1"
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "updated_at" DESC) = 1
), "_recipec_step_3" AS (
  SELECT
    *
    REPLACE (CASE
      WHEN "email" IS NULL
      THEN NULL
      ELSE SHA256(GETVARIABLE('step_3_salt') || CAST("email" AS TEXT))
    END AS "email")
  FROM "_recipec_step_2"
), "_recipec_step_4" AS (
  SELECT
    id,
    full_name,
    email,
    signup_year,
    segment,
    balance
  FROM "_recipec_step_3"
)
SELECT
  *
FROM "_recipec_step_4"
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY "id") = 1

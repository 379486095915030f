CREATE OR REPLACE TEMPORARY TABLE "_recipec_stage" AS
WITH "_recipec_source" AS (
  SELECT
    *
  FROM "_recipec_batches"
  WHERE
    $watermark IS NULL OR "updated_at" >= $watermark
), "_recipec_step_0" AS (
  SELECT
    *
    RENAME ("login" AS "username")
  FROM "_recipec_source"
)
SELECT
  *
FROM "_recipec_step_0"
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "updated_at" DESC) = 1

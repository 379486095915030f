CREATE OR REPLACE TEMPORARY TABLE "_recipec_stage" AS
WITH "_recipec_source" AS (
  SELECT
    "id",
    "customer_id",
    "amount",
    "status",
    "updated_at"
  FROM "_recipec_source_db_93feff52f8ac"."public"."orders"
  WHERE
    $watermark IS NULL
    OR "updated_at" >= (
      CAST($watermark AS TIMESTAMPTZ) - INTERVAL 5 MINUTE
    )
)
SELECT
  *
FROM "_recipec_source"
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "updated_at" DESC) = 1

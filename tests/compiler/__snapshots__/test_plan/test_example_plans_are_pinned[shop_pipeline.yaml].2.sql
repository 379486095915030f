CREATE OR REPLACE TEMPORARY TABLE "_recipec_stage" AS
WITH "_recipec_source" AS (
  SELECT
    *
  FROM READ_CSV('recipes/data/customers*.csv', delim = ',', header = TRUE, nullstr = ['', 'NA'])
  WHERE
    "updated_at" >= $watermark
), "_recipec_step_0" AS (
  SELECT
    *
    RENAME ("fname" AS "first_name", "lname" AS "last_name")
  FROM "_recipec_source"
), "_recipec_step_1" AS (
  SELECT
    *
    REPLACE (CAST("age" AS BIGINT) AS "age", CAST("created_at" AS TIMESTAMP) AS "created_at", CAST("balance" AS DECIMAL(12, 2)) AS "balance")
  FROM "_recipec_step_0"
), "_recipec_step_2" AS (
  SELECT
    *,
    'shop_pipeline' AS "loaded_by"
  FROM "_recipec_step_1"
)
SELECT
  *
FROM "_recipec_step_2"
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "updated_at" DESC) = 1
CREATE OR REPLACE TEMPORARY TABLE "_recipec_stage" AS
WITH "_recipec_source" AS (
  SELECT
    *
  FROM READ_CSV('recipes/data/shop_orders.csv')
  WHERE
    $watermark IS NULL OR "updated_at" >= $watermark
)
SELECT
  *
FROM "_recipec_source"
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY "order_id" ORDER BY "updated_at" DESC) = 1
CREATE OR REPLACE TEMPORARY VIEW "_recipec_stage" AS
WITH "_recipec_source" AS (
  SELECT
    *
  FROM READ_CSV('recipes/data/shop_order_items.csv')
)
SELECT
  *
FROM "_recipec_source"

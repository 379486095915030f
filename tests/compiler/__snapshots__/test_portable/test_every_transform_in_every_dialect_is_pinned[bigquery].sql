-- transform[0] rename_columns
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`note` AS `remark`
FROM `input` AS `input`;

-- transform[1] cast
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  CAST(`input`.`amount` AS FLOAT64) AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`remark` AS `remark`
FROM `input` AS `input`;

-- transform[2] add_column
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`remark` AS `remark`,
  'crm' AS `origin`
FROM `input` AS `input`;

-- transform[3] filter
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`remark` AS `remark`,
  `input`.`origin` AS `origin`
FROM `input` AS `input`
WHERE
  NOT (
    `input`.`status` IN ('deleted', 'spam')
  )
  AND `input`.`amount` BETWEEN 0 AND 1e6;

-- transform[4] derive
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`remark` AS `remark`,
  `input`.`origin` AS `origin`,
  COALESCE(CAST(`input`.`fname` AS STRING), '') || ' ' || COALESCE(CAST(`input`.`lname` AS STRING), '') AS `full_name`,
  TIMESTAMP_TRUNC(`input`.`created_at`, MONTH) AS `month`,
  CASE WHEN MOD(`input`.`amount`, 100) = 0 THEN 'round' ELSE 'other' END AS `tier`
FROM `input` AS `input`;

-- transform[5] drop_columns
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`origin` AS `origin`,
  `input`.`full_name` AS `full_name`,
  `input`.`month` AS `month`,
  `input`.`tier` AS `tier`
FROM `input` AS `input`;

-- transform[6] deduplicate
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  `input`.`email` AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`origin` AS `origin`,
  `input`.`full_name` AS `full_name`,
  `input`.`month` AS `month`,
  `input`.`tier` AS `tier`
FROM `input` AS `input`
QUALIFY
  ROW_NUMBER() OVER (
    PARTITION BY `input`.`id`
    ORDER BY `input`.`created_at` DESC, `input`.`amount` ASC NULLS LAST
  ) = 1;

-- transform[7] hash_columns
SELECT
  `input`.`id` AS `id`,
  `input`.`fname` AS `fname`,
  `input`.`lname` AS `lname`,
  CASE
    WHEN `input`.`email` IS NULL
    THEN NULL
    ELSE SHA256(@step_7_salt || CAST(`input`.`email` AS STRING))
  END AS `email`,
  `input`.`amount` AS `amount`,
  `input`.`status` AS `status`,
  `input`.`created_at` AS `created_at`,
  `input`.`origin` AS `origin`,
  `input`.`full_name` AS `full_name`,
  `input`.`month` AS `month`,
  `input`.`tier` AS `tier`
FROM `input` AS `input`;

-- transform[8] sql
SELECT
  `input`.`id` AS `id`,
  `input`.`full_name` AS `full_name`,
  `input`.`email` AS `email`,
  `input`.`tier` AS `tier`,
  `input`.`month` AS `month`
FROM `input` AS `input`;

-- transform[9] select_columns
SELECT
  `input`.`id` AS `id`,
  `input`.`email` AS `email`,
  `input`.`tier` AS `tier`,
  `input`.`full_name` AS `full_name`
FROM `input` AS `input`;
SELECT
  *
FROM input
WHERE
  NOT (
    "my col" IN ('a', 'b')
  ) OR "x" IS NULL

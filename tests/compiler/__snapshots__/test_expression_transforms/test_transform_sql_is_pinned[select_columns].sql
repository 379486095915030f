SELECT
  "c",
  "a",
  "select"
FROM input
